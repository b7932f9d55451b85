// SPDX-License-Identifier: GPL-2.0-only
/**
 * Machine-code programs for the raw-code tests (`sim/raw_code_test.ts`):
 * each was assembled with GNU as (Intel syntax) and linked at 0x1000
 * (`ld -Ttext=0x1000 --oformat binary`); the source is kept beside the bytes.
 * Each reports values with OUT to ports 0x10.. and ends with HLT.
 *
 * @module
 */

/** Decodes a hex string. */
export function hex(s: string): Uint8Array {
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/**
 * A real-mode program: stack, CALL/RET, LOOP, REP STOSB/MOVSW, IN,
 * MUL/DIV/IDIV, shifts and rotates with flags, INT n through the IVT and IRET,
 * #DE through the IVT, a segment load and a far JMP that changes CS.
 *
 * ```asm
 * .intel_syntax noprefix
 * .code16
 * .globl _start
 * _start:
 *   mov sp, 0x8000
 *   mov word ptr [0x21*4], offset handler
 *   mov word ptr [0x21*4+2], 0
 *   mov word ptr [0*4], offset de_handler
 *   mov word ptr [0*4+2], 0
 *   mov ax, 0x1234
 *   mov bx, 0xf678
 *   add ax, bx
 *   pushf
 *   pop cx
 *   mov dx, 0x10
 *   out dx, ax
 *   mov ax, cx
 *   and ax, 0x8d5
 *   out dx, ax
 *   push ax
 *   push bx
 *   pop si
 *   pop di
 *   call sub1
 *   mov cx, 5
 *   xor ax, ax
 * 1: add ax, cx
 *   loop 1b
 *   out 0x11, ax
 *   mov di, 0x3000
 *   mov al, 0xab
 *   mov cx, 16
 *   cld
 *   rep stosb
 *   mov si, 0x3000
 *   mov di, 0x3100
 *   mov cx, 8
 *   mov word ptr [0x3004], 0x5a5a
 *   rep movsw
 *   mov ax, [0x3104]
 *   out 0x12, ax
 *   in al, 0x13
 *   mov bl, al
 *   mov ax, 1000
 *   mov cx, 77
 *   mul cx
 *   out 0x16, ax
 *   mov ax, dx
 *   out 0x16, ax
 *   mov ax, 50000
 *   xor dx, dx
 *   mov cx, 7
 *   div cx
 *   out 0x17, ax
 *   mov ax, dx
 *   out 0x17, ax
 *   mov ax, -300
 *   cwd
 *   mov cx, 7
 *   idiv cx
 *   out 0x17, ax
 *   mov ax, 0x8421
 *   shl ax, 3
 *   sar ax, 2
 *   rol ax, 5
 *   stc
 *   rcr ax, 1
 *   pushf
 *   out 0x18, ax
 *   pop ax
 *   and ax, 0x801
 *   out 0x18, ax
 *   int 0x21
 *   out 0x15, ax
 *   xor cx, cx
 *   mov ax, 7
 *   div cl
 *   out 0x19, ax
 *   mov ax, 0x100
 *   mov es, ax
 *   mov word ptr es:[0x10], 0x4444
 *   mov ax, [0x1010]
 *   out 0x1a, ax
 *   ljmp 0x0100, offset far_target - 0x1000
 * far_target:
 *   mov ax, cs
 *   out 0x1b, ax
 *   mov ax, 0
 *   mov ds, ax
 *   mov es, ax
 *   lea bx, [bx+si+0x10]
 *   movzx ecx, bl
 *   movsx edx, bl
 *   bsf ax, bx
 *   bt bx, 3
 *   setc al
 *   xchg al, ah
 *   cmp ax, bx
 *   hlt
 * sub1:
 *   inc si
 *   ret
 * handler:
 *   push ax
 *   mov al, 0x77
 *   out 0x14, al
 *   pop ax
 *   xor ax, 0x1111
 *   iret
 * de_handler:
 *   mov ax, 0xdede
 *   out 0x1c, ax
 *   push bp
 *   mov bp, sp
 *   add word ptr [bp+2], 2
 *   pop bp
 *   iret
 * ```
 */
export const REAL16: { mode: "real" | "prot32" | "long"; bytes: Uint8Array } = {
  mode: "real",
  bytes: hex(
    "bc0080c7068400f110c70686000000c7060000fb10c70602000000b83412bb78f601d89c59ba1000ef89c825d508ef50" +
      "535e5fe8b900b9050031c001c8e2fce711bf0030b0abb91000fcf3aabe0030bf0031b90800c70604305a5af3a5a10431" +
      "e712e41388c3b8e803b94d00f7e1e71689d0e716b850c331d2b90700f7f1e71789d0e717b8d4fe99b90700f7f9e717b8" +
      "2184c1e003c1f802c1c005f9d1d89ce71858250108e718cd21e71531c9b80700f6f1e719b800018ec026c70610004444" +
      "a11010e71aeaca0000018cc8e71bb800008ed88ec08d5810660fb6cb660fbed30fbcc30fbae3030f92c086e039d8f446" +
      "c350b077e61458351111cfb8dedee71c5589e5834602025dcf",
  ),
};

/**
 * A 32-bit protected-mode program (paging off): LGDT and a far JMP that
 * reloads CS from the GDT, segment loads, LIDT and 32-bit interrupt gates
 * written by the program, ALU flags, IMUL/DIV, #DE through the IDT (the
 * handler leaves through a JMP: KVM's emulator has no protected-mode IRET),
 * PUSHAD/POPAD, an MMIO write and read, REP MOVSB, BSWAP.
 *
 * ```asm
 * .intel_syntax noprefix
 * .code32
 * .globl _start
 * _start:
 *   mov esp, 0x9000
 *   lgdt [gdtr]
 *   ljmp 0x08, offset next
 * next:
 *   mov ax, 0x10
 *   mov ds, ax
 *   mov es, ax
 *   mov ss, ax
 *   lidt [idtr]
 *   /* IDT gates: 0 (#DE), 14 (#PF), 0x30 * /
 *   mov eax, offset de_handler
 *   mov ebx, 0
 *   call set_gate
 *   mov eax, offset pf_handler
 *   mov ebx, 14
 *   call set_gate
 *   mov eax, offset int_handler
 *   mov ebx, 0x30
 *   call set_gate
 *   mov eax, 0x89abcdef
 *   mov ecx, 0x12345678
 *   sub eax, ecx
 *   pushfd
 *   out 0x10, eax
 *   pop eax
 *   and eax, 0x8d5
 *   out 0x10, eax
 *   imul eax, ecx, -3
 *   out 0x11, eax
 *   mov edx, 0
 *   mov eax, 1000000
 *   mov ebx, 3
 *   div ebx
 *   out 0x11, eax
 *   mov eax, edx
 *   out 0x11, eax
 *   xor ebx, ebx
 *   div ebx
 * after_div:
 *   out 0x12, eax
 *   mov eax, 0x3030
 * after_int:
 *   out 0x13, eax
 *   pushad
 *   popad
 *   /* MMIO with paging off: GPA 0x200000 has no memslot * /
 *   mov dword ptr [0x200000], 0x11223344
 *   mov ax, [0x200006]
 *   out 0x15, eax
 *   mov esi, 0x3000
 *   mov edi, 0x3100
 *   mov dword ptr [esi], 0xcafef00d
 *   mov ecx, 4
 *   rep movsb
 *   mov eax, [0x3100]
 *   bswap eax
 *   out 0x18, eax
 *   cmp eax, 0
 *   hlt
 *
 * set_gate:
 *   lea edi, [idt + ebx*8]
 *   mov [edi], ax
 *   mov word ptr [edi+2], 0x08
 *   mov word ptr [edi+4], 0x8e00
 *   shr eax, 16
 *   mov [edi+6], ax
 *   ret
 *
 * de_handler:
 *   push eax
 *   mov eax, 0xde
 *   out 0x20, eax
 *   pop eax
 *   add esp, 12
 *   jmp after_div
 * pf_handler:
 *   push eax
 *   mov eax, cr2
 *   out 0x21, eax
 *   mov eax, [esp+4]
 *   out 0x22, eax
 *   mov dword ptr [0x21000 + 0x50*4], 0x50003
 *   invlpg [0x50000]
 *   pop eax
 *   add esp, 16
 *   hlt
 * int_handler:
 *   mov eax, 0x3030
 *   add esp, 12
 *   jmp after_int
 *
 * .align 8
 * gdt:
 *   .quad 0
 *   .quad 0x00cf9b000000ffff
 *   .quad 0x00cf93000000ffff
 * gdt_end:
 * gdtr:
 *   .word gdt_end - gdt - 1
 *   .long gdt
 * .align 8
 * idtr:
 *   .word 0x30*8 + 7
 *   .long idt
 * .align 8
 * idt:
 *   .fill 0x31*8, 1, 0
 * ```
 */
export const PROT32: { mode: "real" | "prot32" | "long"; bytes: Uint8Array } = {
  mode: "prot32",
  bytes: hex(
    "bc009000000f011540110000ea13100000080066b810008ed88ec08ed00f011d48110000b8e7100000bb00000000e896" +
      "000000b8f5100000bb0e000000e887000000b817110000bb30000000e878000000b8efcdab89b97856341229c89ce710" +
      "5825d5080000e7106bc1fde711ba00000000b840420f00bb03000000f7f3e71189d0e71131dbf7f3e712b830300000e7" +
      "136061c705000020004433221166a106002000e715be00300000bf00310000c7060df0fecab904000000f3a4a1003100" +
      "000fc8e71883f800f48d3cdd5011000066890766c74702080066c74704008ec1e81066894706c350b8de000000e72058" +
      "83c40ceb93500f20d0e7218b442404e722c70540110200030005000f013d000005005883c410f4b83030000083c40ce9" +
      "6bffffff8d7426000000000000000000ffff0000009bcf00ffff00000093cf0017002811000066908701501100006690" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "0000000000000000",
  ),
};

/**
 * The 32-bit program with paging: 32-bit paging with a #PF handler that maps
 * the page and IRETs (the access is retried), MMIO through the page tables,
 * then PAE paging with a remapped page, MMIO again and REP MOVSB.
 *
 * ```asm
 * .intel_syntax noprefix
 * .code32
 * .globl _start
 * _start:
 *   mov esp, 0x9000
 *   lgdt [gdtr]
 *   ljmp 0x08, offset next
 * next:
 *   mov ax, 0x10
 *   mov ds, ax
 *   mov es, ax
 *   mov ss, ax
 *   lidt [idtr]
 *   /* IDT gates: 0 (#DE), 14 (#PF), 0x30 * /
 *   mov eax, offset de_handler
 *   mov ebx, 0
 *   call set_gate
 *   mov eax, offset pf_handler
 *   mov ebx, 14
 *   call set_gate
 *   mov eax, offset int_handler
 *   mov ebx, 0x30
 *   call set_gate
 *   mov eax, 0x89abcdef
 *   mov ecx, 0x12345678
 *   sub eax, ecx
 *   pushfd
 *   out 0x10, eax
 *   pop eax
 *   and eax, 0x8d5
 *   out 0x10, eax
 *   imul eax, ecx, -3
 *   out 0x11, eax
 *   mov edx, 0
 *   mov eax, 1000000
 *   mov ebx, 3
 *   div ebx
 *   out 0x11, eax
 *   mov eax, edx
 *   out 0x11, eax
 *   xor ebx, ebx
 *   div ebx
 * after_div:
 *   out 0x12, eax
 *   mov eax, 0x3030
 * after_int:
 *   out 0x13, eax
 *   pushad
 *   popad
 *   /* 32-bit paging: PD 0x20000, PT 0x21000 identity for 4 MiB, page 0x50000 absent * /
 *   mov edi, 0x21000
 *   mov eax, 3
 *   mov ecx, 1024
 * 1: stosd
 *   add eax, 0x1000
 *   loop 1b
 *   mov dword ptr [0x21000 + 0x50*4], 0
 *   mov dword ptr [0x20000], 0x21003
 *   mov eax, 0x20000
 *   mov cr3, eax
 *   mov eax, cr0
 *   or eax, 0x80000000
 *   mov cr0, eax
 * retry_pf:
 *   mov eax, [0x50000]
 *   out 0x14, eax
 *   /* MMIO: GPA 0x200000 has no memslot * /
 *   mov dword ptr [0x200000], 0x11223344
 *   mov eax, [0x200004]
 *   out 0x15, eax
 *   /* PAE: paging off, PDPT 0x22000 -> PD 0x23000 -> PT 0x24000 (8-byte entries) * /
 *   mov eax, cr0
 *   and eax, 0x7fffffff
 *   mov cr0, eax
 *   mov edi, 0x24000
 *   mov eax, 3
 *   mov ecx, 512
 * 2: mov [edi], eax
 *   mov dword ptr [edi+4], 0
 *   add edi, 8
 *   add eax, 0x1000
 *   loop 2b
 *   mov dword ptr [0x24000 + 0x50*8], 0x60003
 *   mov dword ptr [0x23000], 0x24003
 *   mov dword ptr [0x23004], 0
 *   mov dword ptr [0x22000], 0x23001
 *   mov dword ptr [0x22004], 0
 *   mov eax, cr4
 *   or eax, 0x20
 *   mov cr4, eax
 *   mov eax, 0x22000
 *   mov cr3, eax
 *   mov eax, cr0
 *   or eax, 0x80000000
 *   mov cr0, eax
 *   mov dword ptr [0x60000], 0xcafef00d
 *   mov eax, [0x50000]
 *   out 0x16, eax
 *   mov eax, [0x1ff000]
 *   out 0x17, eax
 *   mov esi, 0x60000
 *   mov edi, 0x61000
 *   mov ecx, 4
 *   rep movsb
 *   mov eax, [0x61000]
 *   bswap eax
 *   out 0x18, eax
 *   cmp eax, 0
 *   hlt
 *
 * set_gate:
 *   lea edi, [idt + ebx*8]
 *   mov [edi], ax
 *   mov word ptr [edi+2], 0x08
 *   mov word ptr [edi+4], 0x8e00
 *   shr eax, 16
 *   mov [edi+6], ax
 *   ret
 *
 * de_handler:
 *   push eax
 *   mov eax, 0xde
 *   out 0x20, eax
 *   pop eax
 *   add esp, 12
 *   jmp after_div
 * pf_handler:
 *   push eax
 *   mov eax, cr2
 *   out 0x21, eax
 *   mov eax, [esp+4]
 *   out 0x22, eax
 *   mov dword ptr [0x21000 + 0x50*4], 0x50003
 *   invlpg [0x50000]
 *   pop eax
 *   add esp, 4
 *   iretd
 * int_handler:
 *   mov eax, 0x3030
 *   add esp, 12
 *   jmp after_int
 *
 * .align 8
 * gdt:
 *   .quad 0
 *   .quad 0x00cf9b000000ffff
 *   .quad 0x00cf93000000ffff
 * gdt_end:
 * gdtr:
 *   .word gdt_end - gdt - 1
 *   .long gdt
 * .align 8
 * idtr:
 *   .word 0x30*8 + 7
 *   .long idt
 * .align 8
 * idt:
 *   .fill 0x31*8, 1, 0
 * ```
 */
export const PAGING32: { mode: "real" | "prot32" | "long"; bytes: Uint8Array } = {
  mode: "prot32",
  bytes: hex(
    "bc009000000f011510120000ea13100000080066b810008ed88ec08ed00f011d18120000b8b8110000bb00000000e867" +
      "010000b8c9110000bb0e000000e858010000b8eb110000bb30000000e849010000b8efcdab89b97856341229c89ce710" +
      "5825d5080000e7106bc1fde711ba00000000b840420f00bb03000000f7f3e71189d0e71131dbf7f3e712b830300000e7" +
      "136061bf00100200b803000000b900040000ab0500100000e2f8c7054011020000000000c7050000020003100200b800" +
      "0002000f22d80f20c00d000000800f22c0a100000500e714c7050000200044332211a104002000e7150f20c025ffffff" +
      "7f0f22c0bf00400200b803000000b9000200008907c747040000000083c7080500100000e2edc7058042020003000600" +
      "c7050030020003400200c7050430020000000000c7050020020001300200c70504200200000000000f20e083c8200f22" +
      "e0b8002002000f22d80f20c00d000000800f22c0c705000006000df0fecaa100000500e716a100f01f00e717be000006" +
      "00bf00100600b904000000f3a4a1001006000fc8e71883f800f48d3cdd2012000066890766c74702080066c74704008e" +
      "c1e81066894706c350b8de000000e7205883c40ce9bffeffff500f20d0e7218b442404e722c70540110200030005000f" +
      "013d000005005883c404cfb83030000083c40ce997feffff0000000000000000ffff0000009bcf00ffff00000093cf00" +
      "1700f8110000669087012012000066900000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000",
  ),
};

/**
 * td_boot's path: from 32-bit protected mode, paging off, CR4.PAE, CR3,
 * EFER.LME through WRMSR, CR0.PG (IA-32e mode), a far JMP to a 64-bit code
 * segment; then a far return (RETFQ) to 32-bit compatibility mode.
 *
 * ```asm
 * .intel_syntax noprefix
 * .code32
 * .globl _start
 * _start:
 *   /* td_boot-like: 32-bit flat protected mode, paging off, to 64-bit mode * /
 *   lgdt [gdtr]
 *   mov eax, 0x20
 *   mov cr4, eax
 *   mov eax, 0x80000
 *   mov cr3, eax
 *   mov ecx, 0xc0000080
 *   rdmsr
 *   or eax, 0x100
 *   wrmsr
 *   mov eax, cr0
 *   or eax, 0x80000000
 *   mov cr0, eax
 *   ljmp 0x18, offset long_entry
 * .code64
 * long_entry:
 *   mov ax, 0x10
 *   mov ds, ax
 *   mov ss, ax
 *   mov rsp, 0x9000
 *   mov ecx, 0xc0000080
 *   rdmsr
 *   out 0x10, eax
 *   mov rax, 0x1122334455667788
 *   push rax
 *   pop rbx
 *   shr rbx, 16
 *   mov eax, ebx
 *   out 0x11, eax
 *   lea rax, [rip + back32]
 *   push 0x08
 *   push rax
 *   retfq
 * .code32
 * back32:
 *   mov eax, 0x32323232
 *   out 0x12, eax
 *   cmp eax, 1
 *   hlt
 * .align 8
 * gdt:
 *   .quad 0
 *   .quad 0x00cf9b000000ffff
 *   .quad 0x00cf93000000ffff
 *   .quad 0x00af9b000000ffff
 * gdt_end:
 * gdtr:
 *   .word gdt_end - gdt - 1
 *   .long gdt
 * ```
 */
export const BOOT64: { mode: "real" | "prot32" | "long"; bytes: Uint8Array } = {
  mode: "prot32",
  bytes: hex(
    "0f0115a0100000b8200000000f22e0b8000008000f22d8b9800000c00f320d000100000f300f20c00d000000800f22c0" +
      "ea37100000180066b810008ed88ed048c7c400900000b9800000c00f32e71048b88877665544332211505b48c1eb1089" +
      "d8e711488d05050000006a085048cbb832323232e71283f801f4660f1f4400000000000000000000ffff0000009bcf00" +
      "ffff00000093cf00ffff0000009baf001f0080100000",
  ),
};

/**
 * A 64-bit program: REX forms, 64-bit immediates, RIP-relative addressing,
 * MOVSXD, CQO/IDIV, MUL, LOCK CMPXCHG/XADD/BTS, SHLD, BSR, PUSH/POP forms,
 * CPUID, RDMSR, REP STOSQ, STD/LODSQ, REPE SCASQ, CALL/RET, OUT/IN with DX.
 *
 * ```asm
 * .intel_syntax noprefix
 * .code64
 * .globl _start
 * _start:
 *   mov rsp, 0x9000
 *   mov rax, 0x123456789abcdef0
 *   mov rbx, rax
 *   shr rbx, 4
 *   add rax, rbx
 *   pushfq
 *   out 0x10, eax
 *   shr rax, 32
 *   out 0x10, eax
 *   pop rax
 *   and eax, 0x8d5
 *   out 0x10, eax
 *   mov r8, -5
 *   movsxd r9, r8d
 *   mov r10d, -1
 *   lea r11, [rip + data]
 *   mov r12, [r11]
 *   mov eax, r12d
 *   out 0x11, eax
 *   mov rax, r12
 *   cqo
 *   mov rcx, 12345
 *   idiv rcx
 *   out 0x12, eax
 *   mov eax, edx
 *   out 0x12, eax
 *   mov rax, 0xfedcba9876543210
 *   mov rcx, 0x1000000
 *   mul rcx
 *   out 0x13, eax
 *   mov eax, edx
 *   out 0x13, eax
 *   mov rax, 7
 *   lock cmpxchg [r11], r10
 *   mov eax, [r11]
 *   out 0x14, eax
 *   mov rax, [r11]
 *   lock cmpxchg [r11], r9
 *   mov eax, [r11]
 *   out 0x14, eax
 *   mov rcx, 3
 *   lock xadd [r11+8], rcx
 *   mov eax, ecx
 *   out 0x15, eax
 *   mov rax, [r11+8]
 *   out 0x15, eax
 *   bts qword ptr [r11+8], 40
 *   setc al
 *   out 0x16, al
 *   mov rax, [r11+8]
 *   shr rax, 32
 *   out 0x16, eax
 *   mov rdx, 0x8000000000000001
 *   mov rax, 0x4000000000000000
 *   shld rax, rdx, 3
 *   out 0x17, eax
 *   shr rax, 32
 *   out 0x17, eax
 *   bsr rax, rdx
 *   out 0x17, eax
 *   push 0x1234
 *   pop rbx
 *   push rbx
 *   push qword ptr [rsp]
 *   pop rcx
 *   pop rdx
 *   movzx esi, cx
 *   mov eax, esi
 *   out 0x18, eax
 *   xor eax, eax
 *   cpuid
 *   xor ebx, ebx
 *   mov ecx, 0xc0000080
 *   rdmsr
 *   out 0x1a, eax
 *   mov rdi, r11
 *   add rdi, 32
 *   mov rcx, 4
 *   mov rax, 0x0102030405060708
 *   rep stosq
 *   mov rsi, rdi
 *   sub rsi, 8
 *   std
 *   lodsq
 *   cld
 *   out 0x1b, eax
 *   mov rcx, 4
 *   lea rdi, [r11+32]
 *   repe scasq
 *   mov eax, ecx
 *   out 0x1c, eax
 *   call func
 *   out 0x1d, eax
 *   mov rdx, 0x1e
 *   mov ax, 0x55aa
 *   out dx, ax
 *   in eax, dx
 *   out 0x1f, eax
 *   cmp r9, r8
 *   sete al
 *   movzx eax, al
 *   hlt
 * func:
 *   mov eax, 0xf00d
 *   ret
 * .align 8
 * data:
 *   .quad 0x0000000700000007
 *   .quad 0x10
 * ```
 */
export const LONG64: { mode: "real" | "prot32" | "long"; bytes: Uint8Array } = {
  mode: "long",
  bytes: hex(
    "48c7c40090000048b8f0debc9a785634124889c348c1eb044801d89ce71048c1e820e7105825d5080000e71049c7c0fb" +
      "ffffff4d63c841baffffffff4c8d1d2d0100004d8b234489e0e7114c89e0489948c7c13930000048f7f9e71289d0e712" +
      "48b81032547698badcfe48c7c10000000148f7e1e71389d0e71348c7c007000000f04d0fb113418b03e714498b03f04d" +
      "0fb10b418b03e71448c7c103000000f0490fc14b0889c8e715498b4308e715490fba6b08280f92c0e616498b430848c1" +
      "e820e71648ba010000000000008048b80000000000000040480fa4d003e71748c1e820e717480fbdc2e7176834120000" +
      "5b53ff3424595a0fb7f189f0e71831c00fa231dbb9800000c00f32e71a4c89df4883c72048c7c10400000048b8080706" +
      "0504030201f348ab4889fe4883ee08fd48adfce71b48c7c104000000498d7b20f348af89c8e71ce81c000000e71d48c7" +
      "c21e00000066b8aa5566efede71f4d39c10f94c00fb6c0f4b80df00000c3669007000000070000001000000000000000",
  ),
};
/**
 * 64-bit exceptions through an IDT the program writes (after LGDT/LIDT and a
 * far return that reloads CS): #UD (UD2, and LOCK on a NOP) skipped by its
 * handler, #GP for a non-canonical address with error code 0, #PF with CR2 and
 * the error code, #DE; handlers return with IRETQ. (INT3 and INT n are left
 * out: the PVM host cannot run them, see docs/fidelity.md.)
 *
 * ```asm
 * .intel_syntax noprefix
 * .code64
 * .globl _start
 * _start:
 *   mov rsp, 0x9000
 *   lgdt [rip + gdtr]
 *   lidt [rip + idtr]
 *   /* reload CS through a far return and the data segments * /
 *   lea rax, [rip + 1f]
 *   push 0x08
 *   push rax
 *   retfq
 * 1:
 *   mov ax, 0x10
 *   mov ds, ax
 *   mov es, ax
 *   mov ss, ax
 *   /* gates: #DE 0, #BP 3, #UD 6, #GP 13, #PF 14, 0x80 * /
 *   mov ebx, 0
 *   lea rax, [rip + h_de]
 *   call set_gate
 *   mov ebx, 3
 *   lea rax, [rip + h_bp]
 *   call set_gate
 *   mov ebx, 6
 *   lea rax, [rip + h_ud]
 *   call set_gate
 *   mov ebx, 13
 *   lea rax, [rip + h_gp]
 *   call set_gate
 *   mov ebx, 14
 *   lea rax, [rip + h_pf]
 *   call set_gate
 *   mov ebx, 0x80
 *   lea rax, [rip + h_80]
 *   call set_gate
 *   ud2
 *   out 0x10, al
 *   nop
 *   out 0x11, al
 *   mov rax, 0x8000000000000000
 *   mov rbx, [rax]
 *   out 0x12, al
 *   mov rax, 0x40000000
 *   mov rbx, [rax]
 *   out 0x13, al
 *   mov eax, 0x8080
 *   out 0x14, eax
 *   xor ecx, ecx
 *   mov eax, 10
 *   div ecx
 *   out 0x15, eax
 *   mov eax, 0x1234
 *   .byte 0xf0, 0x90
 *   out 0x16, al
 *   hlt
 *
 * h_ud:
 *   mov eax, 6
 *   out 0x20, eax
 *   add qword ptr [rsp], 2
 *   iretq
 * h_bp:
 *   mov eax, [rsp]
 *   out 0x21, eax
 *   iretq
 * h_gp:
 *   mov eax, [rsp]
 *   out 0x22, eax
 *   add rsp, 8
 *   add qword ptr [rsp], 3
 *   iretq
 * h_pf:
 *   mov rax, cr2
 *   out 0x23, eax
 *   shr rax, 32
 *   out 0x23, eax
 *   mov eax, [rsp]
 *   out 0x24, eax
 *   add rsp, 8
 *   add qword ptr [rsp], 3
 *   iretq
 * h_80:
 *   mov eax, 0x8080
 *   iretq
 * h_de:
 *   mov eax, [rsp + 8]
 *   out 0x25, eax
 *   add qword ptr [rsp], 2
 *   mov eax, 0xde
 *   iretq
 *
 * set_gate:
 *   shl rbx, 4
 *   lea rdi, [rip + idt]
 *   add rdi, rbx
 *   mov [rdi], ax
 *   mov word ptr [rdi + 2], 0x08
 *   mov word ptr [rdi + 4], 0x8e00
 *   shr rax, 16
 *   mov [rdi + 6], ax
 *   shr rax, 16
 *   mov [rdi + 8], eax
 *   mov dword ptr [rdi + 12], 0
 *   ret
 *
 * .align 8
 * gdt:
 *   .quad 0
 *   .quad 0x00af9b000000ffff
 *   .quad 0x00cf93000000ffff
 * gdt_end:
 * gdtr:
 *   .word gdt_end - gdt - 1
 *   .quad gdt
 * .align 8
 * idtr:
 *   .word 256*16 - 1
 *   .quad idt
 * .align 16
 * idt:
 *   .fill 256*16, 1, 0
 * ```
 */
export const EXC64: { mode: "real" | "prot32" | "long"; bytes: Uint8Array } = {
  mode: "long",
  bytes: hex(
    "48c7c4009000000f01156a0100000f011d73010000488d05050000006a085048cb66b810008ed88ec08ed0bb00000000" +
      "488d05df000000e8ec000000bb03000000488d0595000000e8db000000bb06000000488d0576000000e8ca000000bb0d" +
      "000000488d057a000000e8b9000000bb0e000000488d0579000000e8a8000000bb80000000488d0583000000e8970000" +
      "000f0be61090e61148b80000000000000080488b18e61248c7c000000040488b18e613b880800000e71431c9b80a0000" +
      "00f7f1e715b834120000f090e616f4b806000000e720488304240248cf8b0424e72148cf8b0424e7224883c408488304" +
      "240348cf0f20d0e72348c1e820e7238b0424e7244883c408488304240348cfb88080000048cf8b442408e72548830424" +
      "02b8de00000048cf48c1e304488d3d6d0000004801df66890766c74702080066c74704008e48c1e8106689470648c1e8" +
      "10894708c7470c00000000c30f1f40000000000000000000ffff0000009baf00ffff00000093cf001700601100000000" +
      "0000660f1f440000ff0fa01100000000000066662e0f1f8400000000000f1f0000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
  ),
};
/**
 * 32-bit privilege change: LTR of a 32-bit TSS, IRETD to CPL 3, an OUT there
 * (IOPL 0) raises #GP(0), delivered through a 32-bit gate onto the ring-0
 * stack of the TSS (ESP0/SS0) with the old SS:ESP in the frame.
 *
 * ```asm
 * .intel_syntax noprefix
 * .code32
 * .globl _start
 * _start:
 *   mov esp, 0x9000
 *   lgdt [gdtr]
 *   ljmp 0x08, offset next
 * next:
 *   mov ax, 0x10
 *   mov ds, ax
 *   mov es, ax
 *   mov ss, ax
 *   lidt [idtr]
 *   mov eax, offset gp_handler
 *   mov [idt + 13*8], ax
 *   mov word ptr [idt + 13*8 + 2], 0x08
 *   mov word ptr [idt + 13*8 + 4], 0x8e00
 *   shr eax, 16
 *   mov [idt + 13*8 + 6], ax
 *   mov eax, offset tss
 *   mov [gdt + 0x28 + 2], ax
 *   shr eax, 16
 *   mov [gdt + 0x28 + 4], al
 *   mov [gdt + 0x28 + 7], ah
 *   mov dword ptr [tss + 4], 0x8800
 *   mov dword ptr [tss + 8], 0x10
 *   mov ax, 0x28
 *   ltr ax
 *   push 0x23
 *   push 0x7000
 *   push 0x2
 *   push 0x1b
 *   push offset user
 *   iretd
 * user:
 *   mov ax, cs
 *   and eax, 3
 *   out 0x10, al
 *   hlt
 * gp_handler:
 *   mov eax, [esp]
 *   out 0x20, eax
 *   mov eax, [esp + 4]
 *   sub eax, offset user
 *   out 0x21, eax
 *   mov eax, [esp + 8]
 *   out 0x21, eax
 *   mov eax, [esp + 16]
 *   out 0x22, eax
 *   mov eax, [esp + 20]
 *   out 0x22, eax
 *   mov eax, esp
 *   out 0x23, eax
 *   mov ax, ss
 *   out 0x23, eax
 *   mov ax, cs
 *   out 0x23, eax
 *   hlt
 * .align 8
 * gdt:
 *   .quad 0
 *   .quad 0x00cf9b000000ffff
 *   .quad 0x00cf93000000ffff
 *   .quad 0x00cffb000000ffff
 *   .quad 0x00cff3000000ffff
 *   .quad 0x0000890000000067
 * gdt_end:
 * gdtr:
 *   .word gdt_end - gdt - 1
 *   .long gdt
 * .align 8
 * idtr:
 *   .word 14*8 - 1
 *   .long idt
 * .align 8
 * idt:
 *   .fill 14*8, 1, 0
 * .align 8
 * tss:
 *   .fill 0x68, 1, 0
 * ```
 */
export const RING3: { mode: "real" | "prot32" | "long"; bytes: Uint8Array } = {
  mode: "prot32",
  bytes: hex(
    "bc009000000f011500110000ea13100000080066b810008ed88ec08ed00f011d08110000b89810000066a37811000066" +
      "c7057a110000080066c7057c110000008ec1e81066a37e110000b88011000066a3fa100000c1e810a2fc1000008825ff" +
      "100000c7058411000000880000c705881100001000000066b828000f00d86a2368007000006a026a1b688f100000cf66" +
      "8cc883e003e610f48b0424e7208b4424042d8f100000e7218b442408e7218b442410e7228b442414e72289e0e723668c" +
      "d0e723668cc8e723f48db426000000000000000000000000ffff0000009bcf00ffff00000093cf00ffff000000fbcf00" +
      "ffff000000f3cf0067000000008900002f00d010000066906f0010110000669000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "0000000000000000",
  ),
};
/**
 * From real mode to 32-bit protected mode: LGDT with a 16-bit operand, MOV
 * CR0.PE, a far JMP to a 32-bit code segment, segment loads, a stack and
 * memory in the new mode.
 *
 * ```asm
 * .intel_syntax noprefix
 * .code16
 * .globl _start
 * _start:
 *   cli
 *   lgdt [gdtr]
 *   mov eax, cr0
 *   or al, 1
 *   mov cr0, eax
 *   ljmp 0x08, offset prot
 * .code32
 * prot:
 *   mov ax, 0x10
 *   mov ds, ax
 *   mov es, ax
 *   mov ss, ax
 *   mov esp, 0x9000
 *   mov eax, cr0
 *   out 0x10, eax
 *   push 0x12345678
 *   pop ebx
 *   mov eax, ebx
 *   out 0x11, eax
 *   mov dword ptr [0x3000], 0xabcdef01
 *   mov eax, [0x3000]
 *   cmp eax, 0
 *   hlt
 * .align 8
 * gdt:
 *   .quad 0
 *   .quad 0x00cf9b000000ffff
 *   .quad 0x00cf93000000ffff
 * gdt_end:
 * gdtr:
 *   .word gdt_end - gdt - 1
 *   .long gdt
 * ```
 */
export const REAL2PROT: { mode: "real" | "prot32" | "long"; bytes: Uint8Array } = {
  mode: "real",
  bytes: hex(
    "fa0f011660100f20c00c010f22c0ea1310080066b810008ed88ec08ed0bc009000000f20c0e71068785634125b89d8e7" +
      "11c7050030000001efcdaba10030000083f800f48d7426000000000000000000ffff0000009bcf00ffff00000093cf00" +
      "170048100000",
  ),
};
/**
 * 32-bit paging with CR4.PSE: a 4 MiB page aliasing the first 4 MiB, the
 * accessed and dirty bits it gets, and a write to a read-only page with CR0.WP
 * (#PF with error code P|W and CR2).
 *
 * ```asm
 * .intel_syntax noprefix
 * .code32
 * .globl _start
 * _start:
 *   mov esp, 0x9000
 *   lgdt [gdtr]
 *   ljmp 0x08, offset 1f
 * 1:
 *   mov ax, 0x10
 *   mov ds, ax
 *   mov ss, ax
 *   lidt [idtr]
 *   mov eax, offset pf_handler
 *   mov [idt + 14*8], ax
 *   mov word ptr [idt + 14*8 + 2], 0x08
 *   mov word ptr [idt + 14*8 + 4], 0x8e00
 *   shr eax, 16
 *   mov [idt + 14*8 + 6], ax
 *   /* PD at 0x20000: PDE 0 -> PT 0x21000 (identity, 4 KiB), PDE 1 -> 4 MiB page at GPA 0 (PS) * /
 *   mov edi, 0x21000
 *   mov eax, 3
 *   mov ecx, 1024
 * 2: stosd
 *   add eax, 0x1000
 *   loop 2b
 *   mov dword ptr [0x21000 + 0x50*4], 0x50001   /* read-only page * /
 *   mov dword ptr [0x20000], 0x21003
 *   mov dword ptr [0x20004], 0x00000083          /* 4 MiB, RW, at 0 * /
 *   mov eax, cr4
 *   or eax, 0x10                                 /* PSE * /
 *   mov cr4, eax
 *   mov eax, 0x20000
 *   mov cr3, eax
 *   mov eax, cr0
 *   or eax, 0x80010000                           /* PG | WP * /
 *   mov cr0, eax
 *   mov eax, [0x450000]                          /* the alias of 0x50000 * /
 *   out 0x10, eax
 *   mov dword ptr [0x403000], 0x77665544         /* write through the 4 MiB page * /
 *   mov eax, [0x3000]
 *   out 0x11, eax
 *   mov eax, [0x20004]                           /* PDE: A and D now set * /
 *   out 0x12, eax
 *   mov dword ptr [0x50000], 1                   /* read-only with CR0.WP: #PF(P|W) * /
 * after:
 *   mov eax, [0x21000 + 0x50*4]                  /* PTE: A set, D clear * /
 *   out 0x14, eax
 *   cmp eax, 0
 *   hlt
 * pf_handler:
 *   mov eax, [esp]
 *   out 0x13, eax
 *   mov eax, cr2
 *   out 0x13, eax
 *   add esp, 16
 *   jmp after
 * .align 8
 * gdt:
 *   .quad 0
 *   .quad 0x00cf9b000000ffff
 *   .quad 0x00cf93000000ffff
 * gdt_end:
 * gdtr:
 *   .word gdt_end - gdt - 1
 *   .long gdt
 * .align 8
 * idtr:
 *   .word 15*8 - 1
 *   .long idt
 * .align 8
 * idt:
 *   .fill 15*8, 1, 0
 * ```
 */
export const PSE32: { mode: "real" | "prot32" | "long"; bytes: Uint8Array } = {
  mode: "prot32",
  bytes: hex(
    "bc009000000f0115f8100000ea13100000080066b810008ed88ed00f011d00110000b8cd10000066a37811000066c705" +
      "7a110000080066c7057c110000008ec1e81066a37e110000bf00100200b803000000b900040000ab0500100000e2f8c7" +
      "054011020001000500c7050000020003100200c70504000200830000000f20e083c8100f22e0b8000002000f22d80f20" +
      "c00d000001800f22c0a100004500e710c7050030400044556677a100300000e711a104000200e712c705000005000100" +
      "0000a140110200e71483f800f48b0424e7130f20d0e71383c410ebe68d7426000000000000000000ffff0000009bcf00" +
      "ffff00000093cf001700e010000066907700081100006690000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
  ),
};
