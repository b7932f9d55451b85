// SPDX-License-Identifier: GPL-2.0-only
/**
 * `open` and `fcntl` constants, with the x86-64 Linux values
 * (`asm-generic/fcntl.h`, as glibc's `<fcntl.h>` exposes them).
 *
 * @module
 */

// Access modes and open flags
/** `O_ACCMODE`: mask of the access mode. */
export const O_ACCMODE = 0o3;
/** `O_RDONLY`: open for reading. */
export const O_RDONLY = 0o0;
/** `O_WRONLY`: open for writing. */
export const O_WRONLY = 0o1;
/** `O_RDWR`: open for reading and writing. */
export const O_RDWR = 0o2;
/** `O_CREAT`: create the file if it does not exist. */
export const O_CREAT = 0o100;
/** `O_EXCL`: with `O_CREAT`, fail if the file exists. */
export const O_EXCL = 0o200;
/** `O_NOCTTY`: do not make a terminal the controlling one. */
export const O_NOCTTY = 0o400;
/** `O_TRUNC`: truncate to length 0. */
export const O_TRUNC = 0o1000;
/** `O_APPEND`: every write appends. */
export const O_APPEND = 0o2000;
/** `O_NONBLOCK`: non-blocking I/O. */
export const O_NONBLOCK = 0o4000;
/** `O_NDELAY`: the old name of `O_NONBLOCK`. */
export const O_NDELAY: number = O_NONBLOCK;
/** `O_DSYNC`: writes wait for the data to reach the device. */
export const O_DSYNC = 0o10000;
/** `FASYNC`: signal-driven I/O (`O_ASYNC`). */
export const FASYNC = 0o20000;
/** `O_ASYNC`: signal-driven I/O. */
export const O_ASYNC: number = FASYNC;
/** `O_DIRECT`: bypass the page cache. */
export const O_DIRECT = 0o40000;
/** `O_DIRECTORY`: fail unless the path is a directory. */
export const O_DIRECTORY = 0o200000;
/** `O_NOFOLLOW`: do not follow a final symbolic link. */
export const O_NOFOLLOW = 0o400000;
/** `O_NOATIME`: do not update the access time. */
export const O_NOATIME = 0o1000000;
/** `O_CLOEXEC`: close the fd on exec. */
export const O_CLOEXEC = 0o2000000;
/** `O_SYNC`: writes wait for data and metadata. */
export const O_SYNC = 0o4010000;
/** `O_RSYNC`: reads synchronised as `O_SYNC` writes are. */
export const O_RSYNC: number = O_SYNC;
/** `O_PATH`: a path-only fd, without I/O. */
export const O_PATH = 0o10000000;
/** `O_TMPFILE`: an unnamed temporary file in the given directory. */
export const O_TMPFILE = 0o20200000;

// fcntl commands and arguments
/** `F_DUPFD`: duplicate to the lowest fd >= arg. */
export const F_DUPFD = 0;
/** `F_GETFD`: read the fd flags. */
export const F_GETFD = 1;
/** `F_SETFD`: set the fd flags. */
export const F_SETFD = 2;
/** `F_GETFL`: read the file status flags. */
export const F_GETFL = 3;
/** `F_SETFL`: set the file status flags. */
export const F_SETFL = 4;
/** `F_GETLK`: test a record lock. */
export const F_GETLK = 5;
/** `F_SETLK`: set a record lock. */
export const F_SETLK = 6;
/** `F_SETLKW`: set a record lock, waiting. */
export const F_SETLKW = 7;
/** `F_SETOWN`: set the owner of signal-driven I/O. */
export const F_SETOWN = 8;
/** `F_GETOWN`: read the owner of signal-driven I/O. */
export const F_GETOWN = 9;
/** `F_SETSIG`: set the signal of signal-driven I/O. */
export const F_SETSIG = 10;
/** `F_GETSIG`: read the signal of signal-driven I/O. */
export const F_GETSIG = 11;
/** `F_OFD_GETLK`: test an open file description lock. */
export const F_OFD_GETLK = 36;
/** `F_OFD_SETLK`: set an open file description lock. */
export const F_OFD_SETLK = 37;
/** `F_OFD_SETLKW`: set an open file description lock, waiting. */
export const F_OFD_SETLKW = 38;
/** `F_LINUX_SPECIFIC_BASE`: first Linux-specific command. */
export const F_LINUX_SPECIFIC_BASE = 1024;
/** `F_SETLEASE`: set a lease. */
export const F_SETLEASE = 1024;
/** `F_GETLEASE`: read the lease. */
export const F_GETLEASE = 1025;
/** `F_NOTIFY`: directory change notification. */
export const F_NOTIFY = 1026;
/** `F_DUPFD_CLOEXEC`: `F_DUPFD`, with `FD_CLOEXEC` set. */
export const F_DUPFD_CLOEXEC = 1030;
/** `F_SETPIPE_SZ`: set the pipe capacity. */
export const F_SETPIPE_SZ = 1031;
/** `F_GETPIPE_SZ`: read the pipe capacity. */
export const F_GETPIPE_SZ = 1032;
/** `F_ADD_SEALS`: add seals to a memfd. */
export const F_ADD_SEALS = 1033;
/** `F_GET_SEALS`: read the seals of a memfd. */
export const F_GET_SEALS = 1034;
/** `F_SEAL_SEAL`: no more seals can be added. */
export const F_SEAL_SEAL = 0x0001;
/** `F_SEAL_SHRINK`: the file cannot shrink. */
export const F_SEAL_SHRINK = 0x0002;
/** `F_SEAL_GROW`: the file cannot grow. */
export const F_SEAL_GROW = 0x0004;
/** `F_SEAL_WRITE`: the file cannot be written. */
export const F_SEAL_WRITE = 0x0008;
/** `F_SEAL_FUTURE_WRITE`: no new writable mappings or writes. */
export const F_SEAL_FUTURE_WRITE = 0x0010;
/** `F_SEAL_EXEC`: the exec bits cannot change. */
export const F_SEAL_EXEC = 0x0020;
/** `FD_CLOEXEC`: `F_GETFD`/`F_SETFD` flag: close on exec. */
export const FD_CLOEXEC = 1;
/** `F_RDLCK`: a read lock. */
export const F_RDLCK = 0;
/** `F_WRLCK`: a write lock. */
export const F_WRLCK = 1;
/** `F_UNLCK`: unlock. */
export const F_UNLCK = 2;

// *at() arguments
/** `AT_FDCWD`: the current directory, as a directory fd. */
export const AT_FDCWD: number = -100;
/** `AT_SYMLINK_NOFOLLOW`: do not follow a final symbolic link. */
export const AT_SYMLINK_NOFOLLOW = 0x100;
/** `AT_REMOVEDIR`: `unlinkat` removes a directory. */
export const AT_REMOVEDIR = 0x200;
/** `AT_SYMLINK_FOLLOW`: follow a final symbolic link. */
export const AT_SYMLINK_FOLLOW = 0x400;
/** `AT_EMPTY_PATH`: an empty path names the fd itself. */
export const AT_EMPTY_PATH = 0x1000;
