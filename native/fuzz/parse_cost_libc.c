/* The libc half of the cost oracle (parse_cost_fuzz.cc): the scanning functions the parsers reach,
 * interposed so that the bytes they scan count as work. Each forwards to the real function (found
 * with dlsym(RTLD_NEXT)); while the real ones are being looked up, byte loops stand in. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>
#include <stdint.h>

uint64_t claw_cost_work = 0;
int claw_cost_counting = 0;

typedef void* (*memchr_fn)(const void*, int, size_t);
typedef int (*memcmp_fn)(const void*, const void*, size_t);
typedef size_t (*strlen_fn)(const char*);
typedef void* (*memmem_fn)(const void*, size_t, const void*, size_t);

static memchr_fn real_memchr, real_memrchr;
static memcmp_fn real_memcmp, real_bcmp;
static strlen_fn real_strlen;
static memmem_fn real_memmem;
static int resolved = 0;

static size_t slow_strlen(const char* s) {
  const volatile char* p = s;
  size_t n = 0;
  while (p[n]) ++n;
  return n;
}
static int slow_memcmp(const void* a, const void* b, size_t n) {
  const volatile unsigned char* x = a;
  const volatile unsigned char* y = b;
  for (size_t i = 0; i < n; ++i)
    if (x[i] != y[i]) return x[i] < y[i] ? -1 : 1;
  return 0;
}
static void* slow_memchr(const void* s, int c, size_t n) {
  const volatile unsigned char* p = s;
  for (size_t i = 0; i < n; ++i)
    if (p[i] == (unsigned char)c) return (void*)(p + i);
  return NULL;
}
static void* slow_memrchr(const void* s, int c, size_t n) {
  const volatile unsigned char* p = s;
  for (size_t i = n; i > 0; --i)
    if (p[i - 1] == (unsigned char)c) return (void*)(p + i - 1);
  return NULL;
}

void claw_cost_resolve(void) {
  real_memchr = (memchr_fn)dlsym(RTLD_NEXT, "memchr");
  real_memrchr = (memchr_fn)dlsym(RTLD_NEXT, "memrchr");
  real_memcmp = (memcmp_fn)dlsym(RTLD_NEXT, "memcmp");
  real_bcmp = (memcmp_fn)dlsym(RTLD_NEXT, "bcmp");
  real_strlen = (strlen_fn)dlsym(RTLD_NEXT, "strlen");
  real_memmem = (memmem_fn)dlsym(RTLD_NEXT, "memmem");
  resolved = real_memchr && real_memrchr && real_memcmp && real_bcmp && real_strlen && real_memmem;
}

void* memchr(const void* s, int c, size_t n) {
  void* r = resolved ? real_memchr(s, c, n) : slow_memchr(s, c, n);
  if (claw_cost_counting) claw_cost_work += r ? (size_t)((const char*)r - (const char*)s) + 1 : n;
  return r;
}
void* memrchr(const void* s, int c, size_t n) {
  void* r = resolved ? real_memrchr(s, c, n) : slow_memrchr(s, c, n);
  if (claw_cost_counting) claw_cost_work += r ? n - (size_t)((const char*)r - (const char*)s) : n;
  return r;
}
int memcmp(const void* a, const void* b, size_t n) {
  if (claw_cost_counting) claw_cost_work += n;
  return resolved ? real_memcmp(a, b, n) : slow_memcmp(a, b, n);
}
int bcmp(const void* a, const void* b, size_t n) {
  if (claw_cost_counting) claw_cost_work += n;
  return resolved ? real_bcmp(a, b, n) : slow_memcmp(a, b, n);
}
size_t strlen(const char* s) {
  const size_t n = resolved ? real_strlen(s) : slow_strlen(s);
  if (claw_cost_counting) claw_cost_work += n + 1;
  return n;
}
void* memmem(const void* h, size_t hn, const void* nd, size_t nn) {
  if (claw_cost_counting) claw_cost_work += hn + nn;
  if (resolved) return real_memmem(h, hn, nd, nn);
  if (nn == 0) return (void*)h;
  for (size_t i = 0; i + nn <= hn; ++i)
    if (slow_memcmp((const char*)h + i, nd, nn) == 0) return (void*)((const char*)h + i);
  return NULL;
}
