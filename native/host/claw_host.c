/*
 * claw-host: the reference claw-runtime. It loads a claw plugin the way a native host should
 * (dlopen -> claw_abi_info -> claw_init -> function table -> shutdown -> dlclose), prints what was
 * negotiated, and when anything fails says why in words a user can act on, with a distinct exit
 * code per failure (see usage() and docs/readme/native.md).
 *
 * The shared parts (diagnosis, structs, report, options) are in host_common.c; the ABI test
 * matrix (NULL arguments, struct sizes, init/shutdown twice, threads, load/unload cycles) is driven
 * by native/test/claw_host_matrix.c, a test artifact built beside this host.
 *
 * Plain C11 + POSIX + glibc (dlopen); depends only on native/include/claw/plugin.h.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "host_common.h"

/* One run: load, claw_init with this host's structs, use the table, shutdown, unload. */
static void run(host_result *r, const host_options *o, const char *path) {
  host_plugin p;
  if (!host_load(r, o, path, &p)) return;

  const uint32_t host_size = (uint32_t)sizeof(claw_host_info);
  claw_host_info *host = host_make_host(o, host_size);
  if (host == NULL) {
    host_fail(r, EXIT_INTERNAL, "init", "%s: out of memory", host_program);
  } else {
    const claw_plugin_funcs *funcs =
        host_call_init(r, &p, host, host_size, (uint32_t)sizeof(claw_plugin_info), false);
    free(host);
    host_use_table(r, o, funcs);
    if (funcs != NULL) host_final_shutdown(r, funcs);
  }
  dlclose(p.handle);
}

static void usage(FILE *out) {
  fprintf(out,
          "usage: claw-host <plugin> [options]\n"
          "Loads a claw plugin (dlopen -> claw_abi_info -> claw_init -> shutdown -> dlclose) and "
          "reports.\n"
          "\n");
  host_common_usage(out);
  fprintf(out, "\n%s", host_exit_codes_usage);
}

int main(int argc, char **argv) {
  host_options o;
  host_options_init(&o);
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      usage(stdout);
      return EXIT_OK_;
    }
    int parsed = host_parse_common(&o, argc, argv, &i);
    if (parsed < 0) return EXIT_USAGE;
    if (parsed == 0) return host_usage_error("unknown option '%s'", argv[i]);
  }
  if (o.plugin == NULL) {
    usage(stderr);
    return EXIT_USAGE;
  }

  host_log_echo(!o.json);
  host_result r;
  host_result_init(&r);
  char path[PATH_MAX + 2];
  host_resolve_path(&r, &o, path, sizeof path);
  if (r.exit_code == 0) run(&r, &o, path);
  host_print(&r, &o);
  host_result_free(&r);
  return r.exit_code;
}
