// SPDX-License-Identifier: GPL-2.0-only
/**
 * Linux errno values (`asm-generic/errno-base.h` and `asm-generic/errno.h`,
 * which x86 uses unchanged), the aliases glibc adds, and the glibc message
 * and name of each, so that failures print as a C selftest prints them.
 *
 * The syscall layer returns `-1` and leaves one of these in `errno`, as libc
 * does; the simulated kernel returns them negated, as the kernel does.
 *
 * @module
 */

/** `EPERM` (1): the caller lacks the privilege or the object forbids the operation. */
export const EPERM = 1;
/** `ENOENT` (2): a path component or the named object does not exist. */
export const ENOENT = 2;
/** `ESRCH` (3): no process or thread has that id. */
export const ESRCH = 3;
/** `EINTR` (4): a signal arrived before the call could finish (KVM_RUN returns it too). */
export const EINTR = 4;
/** `EIO` (5): a low-level I/O failure; KVM also returns it once a VM is marked dead (KVM_BUG_ON). */
export const EIO = 5;
/** `ENXIO` (6): the device or address behind the file is not there. */
export const ENXIO = 6;
/** `E2BIG` (7): the argument vector or a size passed in is over the limit (KVM: too many CPUID entries or MSRs). */
export const E2BIG = 7;
/** `ENOEXEC` (8): the file is not in a format exec can load. */
export const ENOEXEC = 8;
/** `EBADF` (9): the fd is not open or not open for this access. */
export const EBADF = 9;
/** `ECHILD` (10): wait found no child to reap. */
export const ECHILD = 10;
/** `EAGAIN` (11): nothing available yet; retry (also a non-blocking fd that would block). */
export const EAGAIN = 11;
/** `ENOMEM` (12): the kernel could not allocate memory. */
export const ENOMEM = 12;
/** `EACCES` (13): file or object permissions refuse the access. */
export const EACCES = 13;
/** `EFAULT` (14): a user pointer passed to the kernel is not mapped as needed. */
export const EFAULT = 14;
/** `ENOTBLK` (15): a block device was expected. */
export const ENOTBLK = 15;
/** `EBUSY` (16): the object is in use and cannot be changed now. */
export const EBUSY = 16;
/** `EEXIST` (17): the object is already there (KVM: an overlapping memslot, a duplicate vCPU id). */
export const EEXIST = 17;
/** `EXDEV` (18): a link or rename would cross file systems. */
export const EXDEV = 18;
/** `ENODEV` (19): the device or the operation for it does not exist. */
export const ENODEV = 19;
/** `ENOTDIR` (20): a path component is not a directory. */
export const ENOTDIR = 20;
/** `EISDIR` (21): a directory where a file was needed. */
export const EISDIR = 21;
/** `EINVAL` (22): an argument is malformed or out of range (KVM's most common refusal). */
export const EINVAL = 22;
/** `ENFILE` (23): the system-wide open file table is full. */
export const ENFILE = 23;
/** `EMFILE` (24): this process has reached RLIMIT_NOFILE. */
export const EMFILE = 24;
/** `ENOTTY` (25): the fd does not implement that ioctl. */
export const ENOTTY = 25;
/** `ETXTBSY` (26): a running executable cannot be written, or a written file executed. */
export const ETXTBSY = 26;
/** `EFBIG` (27): the file would grow past its size limit. */
export const EFBIG = 27;
/** `ENOSPC` (28): the file system or a fixed-size table is full. */
export const ENOSPC = 28;
/** `ESPIPE` (29): the fd cannot be positioned (a pipe, socket or FIFO). */
export const ESPIPE = 29;
/** `EROFS` (30): the file system is mounted read-only. */
export const EROFS = 30;
/** `EMLINK` (31): the inode already has the maximum number of hard links. */
export const EMLINK = 31;
/** `EPIPE` (32): writing to a pipe or socket whose reader has gone. */
export const EPIPE = 32;
/** `EDOM` (33): a math function's input is outside where it is defined. */
export const EDOM = 33;
/** `ERANGE` (34): a result does not fit its type. */
export const ERANGE = 34;

/** `EDEADLK` (35): granting the lock would deadlock. */
export const EDEADLK = 35;
/** `ENAMETOOLONG` (36): a path or one of its components exceeds the length limit. */
export const ENAMETOOLONG = 36;
/** `ENOLCK` (37): the record-lock table is exhausted. */
export const ENOLCK = 37;
/** `ENOSYS` (38): the system call is not implemented. */
export const ENOSYS = 38;
/** `ENOTEMPTY` (39): the directory still has entries. */
export const ENOTEMPTY = 39;
/** `ELOOP` (40): symbolic link resolution went too deep. */
export const ELOOP = 40;
/** `EWOULDBLOCK`: the same value as `EAGAIN`. */
export const EWOULDBLOCK: number = EAGAIN;
/** `ENOMSG` (42): a message queue holds nothing of the requested type. */
export const ENOMSG = 42;
/** `EIDRM` (43): the IPC object was removed while in use. */
export const EIDRM = 43;
/** `ECHRNG` (44): legacy STREAMS/driver error: channel out of range. */
export const ECHRNG = 44;
/** `EL2NSYNC` (45): legacy STREAMS/driver error: level 2 out of sync. */
export const EL2NSYNC = 45;
/** `EL3HLT` (46): legacy STREAMS/driver error: level 3 stopped. */
export const EL3HLT = 46;
/** `EL3RST` (47): legacy STREAMS/driver error: level 3 restarted. */
export const EL3RST = 47;
/** `ELNRNG` (48): legacy STREAMS/driver error: link number out of range. */
export const ELNRNG = 48;
/** `EUNATCH` (49): legacy STREAMS/driver error: no protocol driver attached. */
export const EUNATCH = 49;
/** `ENOCSI` (50): legacy STREAMS/driver error: CSI structure missing. */
export const ENOCSI = 50;
/** `EL2HLT` (51): legacy STREAMS/driver error: level 2 stopped. */
export const EL2HLT = 51;
/** `EBADE` (52): legacy error: bad exchange. */
export const EBADE = 52;
/** `EBADR` (53): legacy error: bad request descriptor. */
export const EBADR = 53;
/** `EXFULL` (54): legacy error: exchange is full. */
export const EXFULL = 54;
/** `ENOANO` (55): legacy error: anode missing. */
export const ENOANO = 55;
/** `EBADRQC` (56): legacy error: bad request code. */
export const EBADRQC = 56;
/** `EBADSLT` (57): legacy error: bad slot. */
export const EBADSLT = 57;
/** `EDEADLOCK`: the same value as `EDEADLK`. */
export const EDEADLOCK: number = EDEADLK;
/** `EBFONT` (59): legacy error: malformed font file. */
export const EBFONT = 59;
/** `ENOSTR` (60): STREAMS: the device is not a stream. */
export const ENOSTR = 60;
/** `ENODATA` (61): no data or attribute to return (e.g. a missing xattr). */
export const ENODATA = 61;
/** `ETIME` (62): STREAMS: the ioctl timer ran out. */
export const ETIME = 62;
/** `ENOSR` (63): STREAMS: resources exhausted. */
export const ENOSR = 63;
/** `ENONET` (64): the host is not attached to a network. */
export const ENONET = 64;
/** `ENOPKG` (65): the needed package is absent. */
export const ENOPKG = 65;
/** `EREMOTE` (66): the object lives on a remote machine. */
export const EREMOTE = 66;
/** `ENOLINK` (67): the link to a remote object is gone. */
export const ENOLINK = 67;
/** `EADV` (68): RFS advertise failure (obsolete). */
export const EADV = 68;
/** `ESRMNT` (69): RFS srmount failure (obsolete). */
export const ESRMNT = 69;
/** `ECOMM` (70): sending failed with a communication error. */
export const ECOMM = 70;
/** `EPROTO` (71): the protocol state machine hit an error. */
export const EPROTO = 71;
/** `EMULTIHOP` (72): the operation would need more than one hop. */
export const EMULTIHOP = 72;
/** `EDOTDOT` (73): RFS-specific failure (obsolete). */
export const EDOTDOT = 73;
/** `EBADMSG` (74): a message is malformed. */
export const EBADMSG = 74;
/** `EOVERFLOW` (75): a value does not fit the type the interface returns. */
export const EOVERFLOW = 75;
/** `ENOTUNIQ` (76): the network name is not unique. */
export const ENOTUNIQ = 76;
/** `EBADFD` (77): the fd is open but in a state that forbids this. */
export const EBADFD = 77;
/** `EREMCHG` (78): the remote address changed. */
export const EREMCHG = 78;
/** `ELIBACC` (79): a shared library the program needs cannot be opened. */
export const ELIBACC = 79;
/** `ELIBBAD` (80): a shared library is damaged. */
export const ELIBBAD = 80;
/** `ELIBSCN` (81): a.out binaries: the .lib section is damaged. */
export const ELIBSCN = 81;
/** `ELIBMAX` (82): more shared libraries than the loader supports. */
export const ELIBMAX = 82;
/** `ELIBEXEC` (83): a shared library was passed to exec. */
export const ELIBEXEC = 83;
/** `EILSEQ` (84): a byte sequence is not a valid character. */
export const EILSEQ = 84;
/** `ERESTART` (85): kernel-internal restart request that leaked out. */
export const ERESTART = 85;
/** `ESTRPIPE` (86): STREAMS pipe failure. */
export const ESTRPIPE = 86;
/** `EUSERS` (87): the user table is full. */
export const EUSERS = 87;
/** `ENOTSOCK` (88): a socket call on an fd that is no socket. */
export const ENOTSOCK = 88;
/** `EDESTADDRREQ` (89): a send needs a destination address. */
export const EDESTADDRREQ = 89;
/** `EMSGSIZE` (90): the message exceeds what the socket can carry. */
export const EMSGSIZE = 90;
/** `EPROTOTYPE` (91): the protocol does not fit the socket type. */
export const EPROTOTYPE = 91;
/** `ENOPROTOOPT` (92): the socket option or protocol level is unknown. */
export const ENOPROTOOPT = 92;
/** `EPROTONOSUPPORT` (93): the protocol is not available. */
export const EPROTONOSUPPORT = 93;
/** `ESOCKTNOSUPPORT` (94): the socket type is not available. */
export const ESOCKTNOSUPPORT = 94;
/** `EOPNOTSUPP` (95): the object does not offer that operation. */
export const EOPNOTSUPP = 95;
/** `EPFNOSUPPORT` (96): the protocol family is not available. */
export const EPFNOSUPPORT = 96;
/** `EAFNOSUPPORT` (97): the address family does not fit the protocol. */
export const EAFNOSUPPORT = 97;
/** `EADDRINUSE` (98): the local address is taken. */
export const EADDRINUSE = 98;
/** `EADDRNOTAVAIL` (99): the address is not local to this host. */
export const EADDRNOTAVAIL = 99;
/** `ENETDOWN` (100): the network interface is down. */
export const ENETDOWN = 100;
/** `ENETUNREACH` (101): no route to the network. */
export const ENETUNREACH = 101;
/** `ENETRESET` (102): the network reset the connection. */
export const ENETRESET = 102;
/** `ECONNABORTED` (103): the connection was aborted locally. */
export const ECONNABORTED = 103;
/** `ECONNRESET` (104): the peer reset the connection. */
export const ECONNRESET = 104;
/** `ENOBUFS` (105): socket buffer space ran out. */
export const ENOBUFS = 105;
/** `EISCONN` (106): the socket is connected already. */
export const EISCONN = 106;
/** `ENOTCONN` (107): the socket has no connection. */
export const ENOTCONN = 107;
/** `ESHUTDOWN` (108): sending on a socket shut down for writing. */
export const ESHUTDOWN = 108;
/** `ETOOMANYREFS` (109): too many references to splice. */
export const ETOOMANYREFS = 109;
/** `ETIMEDOUT` (110): the connection or operation timed out. */
export const ETIMEDOUT = 110;
/** `ECONNREFUSED` (111): the peer refused the connection. */
export const ECONNREFUSED = 111;
/** `EHOSTDOWN` (112): the remote host is down. */
export const EHOSTDOWN = 112;
/** `EHOSTUNREACH` (113): no route to the remote host. */
export const EHOSTUNREACH = 113;
/** `EALREADY` (114): a non-blocking operation on this object is already under way. */
export const EALREADY = 114;
/** `EINPROGRESS` (115): a non-blocking operation started and will finish later. */
export const EINPROGRESS = 115;
/** `ESTALE` (116): an NFS file handle no longer refers to a file. */
export const ESTALE = 116;
/** `EUCLEAN` (117): the file system needs fsck. */
export const EUCLEAN = 117;
/** `ENOTNAM` (118): XENIX: not a named type file. */
export const ENOTNAM = 118;
/** `ENAVAIL` (119): XENIX: no semaphores left. */
export const ENAVAIL = 119;
/** `EISNAM` (120): XENIX: the file is a named type file. */
export const EISNAM = 120;
/** `EREMOTEIO` (121): an I/O error on the remote side. */
export const EREMOTEIO = 121;
/** `EDQUOT` (122): the user's disk quota is used up. */
export const EDQUOT = 122;
/** `ENOMEDIUM` (123): the drive has no medium. */
export const ENOMEDIUM = 123;
/** `EMEDIUMTYPE` (124): the medium is of the wrong kind. */
export const EMEDIUMTYPE = 124;
/** `ECANCELED` (125): the operation was cancelled. */
export const ECANCELED = 125;
/** `ENOKEY` (126): the key is not in the keyring. */
export const ENOKEY = 126;
/** `EKEYEXPIRED` (127): the key's lifetime is over. */
export const EKEYEXPIRED = 127;
/** `EKEYREVOKED` (128): the key was revoked. */
export const EKEYREVOKED = 128;
/** `EKEYREJECTED` (129): the key was refused by the service. */
export const EKEYREJECTED = 129;
/** `EOWNERDEAD` (130): a robust mutex's owner exited holding it. */
export const EOWNERDEAD = 130;
/** `ENOTRECOVERABLE` (131): the robust mutex state cannot be recovered. */
export const ENOTRECOVERABLE = 131;
/** `ERFKILL` (132): an RF-kill switch blocks the operation. */
export const ERFKILL = 132;
/** `EHWPOISON` (133): the memory page has a hardware error (machine check). */
export const EHWPOISON = 133;
/** `ENOTSUP`: glibc spells `EOPNOTSUPP` this way too. */
export const ENOTSUP: number = EOPNOTSUPP;

/** The highest errno the kernel defines. */
export const EMAXERRNO: number = EHWPOISON;

// Canonical name and glibc message of each value; aliases map to the first name.
const table: ReadonlyMap<number, readonly [string, string]> = new Map([
  [EPERM, ["EPERM", "Operation not permitted"]],
  [ENOENT, ["ENOENT", "No such file or directory"]],
  [ESRCH, ["ESRCH", "No such process"]],
  [EINTR, ["EINTR", "Interrupted system call"]],
  [EIO, ["EIO", "Input/output error"]],
  [ENXIO, ["ENXIO", "No such device or address"]],
  [E2BIG, ["E2BIG", "Argument list too long"]],
  [ENOEXEC, ["ENOEXEC", "Exec format error"]],
  [EBADF, ["EBADF", "Bad file descriptor"]],
  [ECHILD, ["ECHILD", "No child processes"]],
  [EAGAIN, ["EAGAIN", "Resource temporarily unavailable"]],
  [ENOMEM, ["ENOMEM", "Cannot allocate memory"]],
  [EACCES, ["EACCES", "Permission denied"]],
  [EFAULT, ["EFAULT", "Bad address"]],
  [ENOTBLK, ["ENOTBLK", "Block device required"]],
  [EBUSY, ["EBUSY", "Device or resource busy"]],
  [EEXIST, ["EEXIST", "File exists"]],
  [EXDEV, ["EXDEV", "Invalid cross-device link"]],
  [ENODEV, ["ENODEV", "No such device"]],
  [ENOTDIR, ["ENOTDIR", "Not a directory"]],
  [EISDIR, ["EISDIR", "Is a directory"]],
  [EINVAL, ["EINVAL", "Invalid argument"]],
  [ENFILE, ["ENFILE", "Too many open files in system"]],
  [EMFILE, ["EMFILE", "Too many open files"]],
  [ENOTTY, ["ENOTTY", "Inappropriate ioctl for device"]],
  [ETXTBSY, ["ETXTBSY", "Text file busy"]],
  [EFBIG, ["EFBIG", "File too large"]],
  [ENOSPC, ["ENOSPC", "No space left on device"]],
  [ESPIPE, ["ESPIPE", "Illegal seek"]],
  [EROFS, ["EROFS", "Read-only file system"]],
  [EMLINK, ["EMLINK", "Too many links"]],
  [EPIPE, ["EPIPE", "Broken pipe"]],
  [EDOM, ["EDOM", "Numerical argument out of domain"]],
  [ERANGE, ["ERANGE", "Numerical result out of range"]],
  [EDEADLK, ["EDEADLK", "Resource deadlock avoided"]],
  [ENAMETOOLONG, ["ENAMETOOLONG", "File name too long"]],
  [ENOLCK, ["ENOLCK", "No locks available"]],
  [ENOSYS, ["ENOSYS", "Function not implemented"]],
  [ENOTEMPTY, ["ENOTEMPTY", "Directory not empty"]],
  [ELOOP, ["ELOOP", "Too many levels of symbolic links"]],
  [ENOMSG, ["ENOMSG", "No message of desired type"]],
  [EIDRM, ["EIDRM", "Identifier removed"]],
  [ECHRNG, ["ECHRNG", "Channel number out of range"]],
  [EL2NSYNC, ["EL2NSYNC", "Level 2 not synchronized"]],
  [EL3HLT, ["EL3HLT", "Level 3 halted"]],
  [EL3RST, ["EL3RST", "Level 3 reset"]],
  [ELNRNG, ["ELNRNG", "Link number out of range"]],
  [EUNATCH, ["EUNATCH", "Protocol driver not attached"]],
  [ENOCSI, ["ENOCSI", "No CSI structure available"]],
  [EL2HLT, ["EL2HLT", "Level 2 halted"]],
  [EBADE, ["EBADE", "Invalid exchange"]],
  [EBADR, ["EBADR", "Invalid request descriptor"]],
  [EXFULL, ["EXFULL", "Exchange full"]],
  [ENOANO, ["ENOANO", "No anode"]],
  [EBADRQC, ["EBADRQC", "Invalid request code"]],
  [EBADSLT, ["EBADSLT", "Invalid slot"]],
  [EBFONT, ["EBFONT", "Bad font file format"]],
  [ENOSTR, ["ENOSTR", "Device not a stream"]],
  [ENODATA, ["ENODATA", "No data available"]],
  [ETIME, ["ETIME", "Timer expired"]],
  [ENOSR, ["ENOSR", "Out of streams resources"]],
  [ENONET, ["ENONET", "Machine is not on the network"]],
  [ENOPKG, ["ENOPKG", "Package not installed"]],
  [EREMOTE, ["EREMOTE", "Object is remote"]],
  [ENOLINK, ["ENOLINK", "Link has been severed"]],
  [EADV, ["EADV", "Advertise error"]],
  [ESRMNT, ["ESRMNT", "Srmount error"]],
  [ECOMM, ["ECOMM", "Communication error on send"]],
  [EPROTO, ["EPROTO", "Protocol error"]],
  [EMULTIHOP, ["EMULTIHOP", "Multihop attempted"]],
  [EDOTDOT, ["EDOTDOT", "RFS specific error"]],
  [EBADMSG, ["EBADMSG", "Bad message"]],
  [EOVERFLOW, ["EOVERFLOW", "Value too large for defined data type"]],
  [ENOTUNIQ, ["ENOTUNIQ", "Name not unique on network"]],
  [EBADFD, ["EBADFD", "File descriptor in bad state"]],
  [EREMCHG, ["EREMCHG", "Remote address changed"]],
  [ELIBACC, ["ELIBACC", "Can not access a needed shared library"]],
  [ELIBBAD, ["ELIBBAD", "Accessing a corrupted shared library"]],
  [ELIBSCN, ["ELIBSCN", ".lib section in a.out corrupted"]],
  [ELIBMAX, ["ELIBMAX", "Attempting to link in too many shared libraries"]],
  [ELIBEXEC, ["ELIBEXEC", "Cannot exec a shared library directly"]],
  [EILSEQ, ["EILSEQ", "Invalid or incomplete multibyte or wide character"]],
  [ERESTART, ["ERESTART", "Interrupted system call should be restarted"]],
  [ESTRPIPE, ["ESTRPIPE", "Streams pipe error"]],
  [EUSERS, ["EUSERS", "Too many users"]],
  [ENOTSOCK, ["ENOTSOCK", "Socket operation on non-socket"]],
  [EDESTADDRREQ, ["EDESTADDRREQ", "Destination address required"]],
  [EMSGSIZE, ["EMSGSIZE", "Message too long"]],
  [EPROTOTYPE, ["EPROTOTYPE", "Protocol wrong type for socket"]],
  [ENOPROTOOPT, ["ENOPROTOOPT", "Protocol not available"]],
  [EPROTONOSUPPORT, ["EPROTONOSUPPORT", "Protocol not supported"]],
  [ESOCKTNOSUPPORT, ["ESOCKTNOSUPPORT", "Socket type not supported"]],
  [EOPNOTSUPP, ["EOPNOTSUPP", "Operation not supported"]],
  [EPFNOSUPPORT, ["EPFNOSUPPORT", "Protocol family not supported"]],
  [EAFNOSUPPORT, ["EAFNOSUPPORT", "Address family not supported by protocol"]],
  [EADDRINUSE, ["EADDRINUSE", "Address already in use"]],
  [EADDRNOTAVAIL, ["EADDRNOTAVAIL", "Cannot assign requested address"]],
  [ENETDOWN, ["ENETDOWN", "Network is down"]],
  [ENETUNREACH, ["ENETUNREACH", "Network is unreachable"]],
  [ENETRESET, ["ENETRESET", "Network dropped connection on reset"]],
  [ECONNABORTED, ["ECONNABORTED", "Software caused connection abort"]],
  [ECONNRESET, ["ECONNRESET", "Connection reset by peer"]],
  [ENOBUFS, ["ENOBUFS", "No buffer space available"]],
  [EISCONN, ["EISCONN", "Transport endpoint is already connected"]],
  [ENOTCONN, ["ENOTCONN", "Transport endpoint is not connected"]],
  [ESHUTDOWN, ["ESHUTDOWN", "Cannot send after transport endpoint shutdown"]],
  [ETOOMANYREFS, ["ETOOMANYREFS", "Too many references: cannot splice"]],
  [ETIMEDOUT, ["ETIMEDOUT", "Connection timed out"]],
  [ECONNREFUSED, ["ECONNREFUSED", "Connection refused"]],
  [EHOSTDOWN, ["EHOSTDOWN", "Host is down"]],
  [EHOSTUNREACH, ["EHOSTUNREACH", "No route to host"]],
  [EALREADY, ["EALREADY", "Operation already in progress"]],
  [EINPROGRESS, ["EINPROGRESS", "Operation now in progress"]],
  [ESTALE, ["ESTALE", "Stale file handle"]],
  [EUCLEAN, ["EUCLEAN", "Structure needs cleaning"]],
  [ENOTNAM, ["ENOTNAM", "Not a XENIX named type file"]],
  [ENAVAIL, ["ENAVAIL", "No XENIX semaphores available"]],
  [EISNAM, ["EISNAM", "Is a named type file"]],
  [EREMOTEIO, ["EREMOTEIO", "Remote I/O error"]],
  [EDQUOT, ["EDQUOT", "Disk quota exceeded"]],
  [ENOMEDIUM, ["ENOMEDIUM", "No medium found"]],
  [EMEDIUMTYPE, ["EMEDIUMTYPE", "Wrong medium type"]],
  [ECANCELED, ["ECANCELED", "Operation canceled"]],
  [ENOKEY, ["ENOKEY", "Required key not available"]],
  [EKEYEXPIRED, ["EKEYEXPIRED", "Key has expired"]],
  [EKEYREVOKED, ["EKEYREVOKED", "Key has been revoked"]],
  [EKEYREJECTED, ["EKEYREJECTED", "Key was rejected by service"]],
  [EOWNERDEAD, ["EOWNERDEAD", "Owner died"]],
  [ENOTRECOVERABLE, ["ENOTRECOVERABLE", "State not recoverable"]],
  [ERFKILL, ["ERFKILL", "Operation not possible due to RF-kill"]],
  [EHWPOISON, ["EHWPOISON", "Memory page has hardware error"]],
]);

/**
 * `strerror(errnum)` as glibc words it ("Invalid argument"); unknown values
 * read "Unknown error N", as glibc prints them.
 */
export function strerror(errnum: number): string {
  if (errnum === 0) return "Success";
  return table.get(errnum)?.[1] ?? `Unknown error ${errnum}`;
}

/**
 * `strerrorname_np(errnum)`: the symbolic name ("EINVAL"), or `undefined`
 * for a value Linux does not define. Shared values give the first name
 * (`EAGAIN`, `EDEADLK`, `EOPNOTSUPP`), as glibc does.
 */
export function strerrorname_np(errnum: number): string | undefined {
  return table.get(errnum)?.[0];
}
