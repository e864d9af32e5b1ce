/*
 * LD_PRELOAD shim for fsx.test.ts: fsync(2)/fdatasync(2) of a DIRECTORY fails with the errno named
 * by CLAW_DIR_FSYNC_ERRNO (EINVAL default; ENOTSUP, EISDIR, EIO), as on file systems that cannot
 * fsync a directory (some network, FUSE and virtual file systems answer EINVAL). Files fsync
 * normally.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int wanted_errno(void) {
  const char *e = getenv("CLAW_DIR_FSYNC_ERRNO");
  if (e == NULL || strcmp(e, "EINVAL") == 0) return EINVAL;
  if (strcmp(e, "ENOTSUP") == 0) return ENOTSUP;
  if (strcmp(e, "EISDIR") == 0) return EISDIR;
  return EIO;
}

static int is_dir(int fd) {
  struct stat st;
  return fstat(fd, &st) == 0 && S_ISDIR(st.st_mode);
}

int fsync(int fd) {
  static int (*real)(int);
  if (is_dir(fd)) {
    errno = wanted_errno();
    return -1;
  }
  if (real == NULL) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
  return real(fd);
}

int fdatasync(int fd) {
  static int (*real)(int);
  if (is_dir(fd)) {
    errno = wanted_errno();
    return -1;
  }
  if (real == NULL) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
  return real(fd);
}

static int link_refused(void) {
  const char *e = getenv("CLAW_LINK_ERRNO");
  if (e != NULL && strcmp(e, "EPERM") == 0) {
    errno = EPERM;
    return 1;
  }
  return 0;
}

int link(const char *from, const char *to) {
  static int (*real)(const char *, const char *);
  if (link_refused()) return -1;
  if (real == NULL) real = (int (*)(const char *, const char *))dlsym(RTLD_NEXT, "link");
  return real(from, to);
}

int linkat(int fromfd, const char *from, int tofd, const char *to, int flags) {
  static int (*real)(int, const char *, int, const char *, int);
  if (link_refused()) return -1;
  if (real == NULL)
    real = (int (*)(int, const char *, int, const char *, int))dlsym(RTLD_NEXT, "linkat");
  return real(fromfd, from, tofd, to, flags);
}
