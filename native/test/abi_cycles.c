/*
 * abi_cycles: load/init/shutdown/unload the plugin N times, the way a claw-runtime would, so that
 * valgrind (or ASan's leak checker) can prove a full cycle leaves nothing behind.
 *
 *   abi_cycles <libclaw_byterover.so> [cycles=1000]
 *
 * Each cycle: dlopen(RTLD_NOW | RTLD_LOCAL) -> claw_abi_info -> claw_init -> funcs->get_extension
 * -> funcs->negotiate_agent_protocol -> funcs->shutdown -> dlclose, then dlopen(RTLD_NOLOAD) to
 * confirm the library really left the process (a library that cannot be unloaded, e.g. because of
 * STB_GNU_UNIQUE symbols, would hide leaks behind "still reachable"). Every cycle also checks the
 * answers, so a cycle that "passes" did real work.
 *
 * Prints one line per failure and a summary: "abi_cycles: N cycles, N unloaded, N log lines".
 * Exit status: 0 all good; 1 a check failed; 2 usage.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "claw/plugin.h"

typedef const claw_abi_descriptor *(*abi_info_fn)(void);
typedef int32_t (*init_fn)(const claw_host_info *, claw_plugin_info *);

static unsigned long g_log_lines;

static void host_log(void *user_data, int32_t level, const char *message) {
  (void)user_data;
  (void)level;
  if (message != NULL && message[0] != '\0') g_log_lines++;
}

#define FAIL(...)                                  \
  do {                                             \
    fprintf(stderr, "abi_cycles: cycle %lu: ", i); \
    fprintf(stderr, __VA_ARGS__);                  \
    fputc('\n', stderr);                           \
    return 1;                                      \
  } while (0)

static int one_cycle(const char *path, unsigned long i, int *unloaded) {
  void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (lib == NULL) FAIL("dlopen: %s", dlerror());

  abi_info_fn abi_info = (abi_info_fn)dlsym(lib, "claw_abi_info");
  init_fn init = (init_fn)dlsym(lib, "claw_init");
  if (abi_info == NULL || init == NULL) FAIL("dlsym: %s", dlerror());

  const claw_abi_descriptor *d = abi_info();
  if (d == NULL || d->struct_size < sizeof(uint32_t) * 4 || d->abi_major != CLAW_ABI_MAJOR)
    FAIL("claw_abi_info returned an unexpected descriptor");

  claw_host_info host;
  memset(&host, 0, sizeof host);
  host.struct_size = sizeof host;
  host.abi_major = CLAW_ABI_MAJOR;
  host.abi_minor_min = 0;
  host.abi_minor_max = CLAW_ABI_MINOR;
  host.host_name = "abi_cycles";
  host.host_version = "1.0.0";
  host.capabilities = CLAW_CAP_AGENT_PROTOCOL;
  host.log = host_log;

  claw_plugin_info out;
  memset(&out, 0, sizeof out);
  out.struct_size = sizeof out;
  int32_t rc = init(&host, &out);
  if (rc != CLAW_OK) FAIL("claw_init returned %d", (int)rc);
  if (out.funcs == NULL || out.abi != d || out.abi_major != CLAW_ABI_MAJOR)
    FAIL("claw_init filled claw_plugin_info unexpectedly");

  /* Exercise the table: an unknown extension is NULL; protocol 3-4 agrees on 4. */
  if (out.funcs->get_extension("claw.abi-cycles.unknown/1") != NULL)
    FAIL("get_extension returned non-NULL for an unknown id");
  uint32_t version = 0;
  char explain[128];
  rc = out.funcs->negotiate_agent_protocol(3, 4, &version, explain, sizeof explain);
  if (rc != CLAW_OK || version != 4)
    FAIL("negotiate_agent_protocol(3, 4) gave %d / %u", (int)rc, version);

  rc = out.funcs->shutdown();
  if (rc != 0) FAIL("shutdown returned %d, expected 0 references left", (int)rc);

  if (dlclose(lib) != 0) FAIL("dlclose: %s", dlerror());
  void *again = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
  if (again == NULL) {
    (*unloaded)++;
  } else {
    dlclose(again);
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: %s <libclaw_byterover.so> [cycles=1000]\n", argv[0]);
    return 2;
  }
  unsigned long cycles = argc == 3 ? strtoul(argv[2], NULL, 10) : 1000;
  int unloaded = 0;
  for (unsigned long i = 0; i < cycles; i++) {
    if (one_cycle(argv[1], i, &unloaded) != 0) return 1;
  }
  printf("abi_cycles: %lu cycles, %d unloaded, %lu log lines\n", cycles, unloaded, g_log_lines);
  return 0;
}
