// stat/fstat/fstatat without glibc's 2.33 symbols.
//
// Built against glibc ≥ 2.33, a call to stat(), fstat() or fstatat() binds stat64@GLIBC_2.33 (and
// friends), so a prebuild made on a current distribution would refuse to load on any older glibc,
// breaking the GLIBC_2.17 ceiling the prebuilds promise (test/native/symbols.test.ts,
// prebuild.test.ts). These wrappers issue the system calls directly; on the Linux architectures we
// ship (x86_64, aarch64) the kernel's `struct stat` for newfstatat/fstat has glibc's layout.
// Elsewhere they are the libc functions.
#ifndef CLAW_RECALL_SYS_STAT_H_
#define CLAW_RECALL_SYS_STAT_H_

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__linux__) && (defined(__x86_64__) || defined(__aarch64__))
#include <sys/syscall.h>
#define CLAW_RECALL_RAW_STAT 1
#endif

namespace claw {
namespace recall {

// fstatat(dirfd, path, st, flags): 0, or -1 with errno set.
inline int SysFstatat(int dirfd, const char* path, struct stat* st, int flags) {
#ifdef CLAW_RECALL_RAW_STAT
  return static_cast<int>(::syscall(SYS_newfstatat, dirfd, path, st, flags));
#else
  return ::fstatat(dirfd, path, st, flags);
#endif
}

// fstat(fd, st): 0, or -1 with errno set.
inline int SysFstat(int fd, struct stat* st) {
#ifdef CLAW_RECALL_RAW_STAT
  return static_cast<int>(::syscall(SYS_fstat, fd, st));
#else
  return ::fstat(fd, st);
#endif
}

// stat(path, st) (follows symlinks): 0, or -1 with errno set.
inline int SysStat(const char* path, struct stat* st) { return SysFstatat(AT_FDCWD, path, st, 0); }

}  // namespace recall
}  // namespace claw

#endif  // CLAW_RECALL_SYS_STAT_H_
