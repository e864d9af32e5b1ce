/*
 * bench/load driver: times N load cycles of a shared library in one process and prints the mean
 * nanoseconds per cycle. Compiled by bench/load.ts at bench time.
 *
 *   driver plugin <lib> <n> [now|lazy]  dlopen -> claw_abi_info -> claw_init -> shutdown -> dlclose
 *   driver trivial <lib> <n>            dlopen -> dlsym("trivial_value") -> call -> dlclose
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "claw/plugin.h"

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int plugin_cycle(const char *lib, int mode) {
  void *h = dlopen(lib, mode | RTLD_LOCAL);
  if (h == NULL) {
    fprintf(stderr, "dlopen: %s\n", dlerror());
    return 1;
  }
  const claw_abi_descriptor *(*abi_info)(void) = (const claw_abi_descriptor *(*)(void))dlsym(h, "claw_abi_info");
  int32_t (*init)(const claw_host_info *, claw_plugin_info *) =
      (int32_t(*)(const claw_host_info *, claw_plugin_info *))dlsym(h, "claw_init");
  if (abi_info == NULL || init == NULL || abi_info()->abi_major != CLAW_ABI_MAJOR) {
    fprintf(stderr, "not a claw ABI %u plugin\n", CLAW_ABI_MAJOR);
    return 1;
  }
  claw_host_info host;
  memset(&host, 0, sizeof host);
  host.struct_size = sizeof host;
  host.abi_major = CLAW_ABI_MAJOR;
  host.abi_minor_min = 0;
  host.abi_minor_max = CLAW_ABI_MINOR;
  claw_plugin_info out;
  memset(&out, 0, sizeof out);
  out.struct_size = sizeof out;
  int32_t st = init(&host, &out);
  if (st != CLAW_OK || out.funcs->shutdown() != 0) {
    fprintf(stderr, "claw_init/shutdown failed: %d\n", st);
    return 1;
  }
  dlclose(h);
  return 0;
}

static int trivial_cycle(const char *lib) {
  void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
  if (h == NULL) {
    fprintf(stderr, "dlopen: %s\n", dlerror());
    return 1;
  }
  int (*fn)(void) = (int (*)(void))dlsym(h, "trivial_value");
  if (fn == NULL || fn() != 42) {
    fprintf(stderr, "trivial_value missing\n");
    return 1;
  }
  dlclose(h);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: driver plugin|trivial <lib> <n> [now|lazy]\n");
    return 2;
  }
  const int plugin = strcmp(argv[1], "plugin") == 0;
  const char *lib = argv[2];
  const long n = strtol(argv[3], NULL, 10);
  const int mode = argc > 4 && strcmp(argv[4], "lazy") == 0 ? RTLD_LAZY : RTLD_NOW;
  /* One warm-up cycle (page cache, first-time symbol lookups in libc). */
  if (plugin ? plugin_cycle(lib, mode) : trivial_cycle(lib)) return 1;
  const uint64_t t0 = now_ns();
  for (long i = 0; i < n; i++)
    if (plugin ? plugin_cycle(lib, mode) : trivial_cycle(lib)) return 1;
  const uint64_t t1 = now_ns();
  printf("%.1f\n", (double)(t1 - t0) / (double)n);
  return 0;
}
