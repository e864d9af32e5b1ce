/*
 * claw-host-matrix: the host side of the ABI test matrix (test/native/host-matrix.test.ts,
 * valgrind.test.ts). It is claw-host (native/host/claw_host.c, sharing native/host/host_common.c)
 * plus what a real host never does on purpose: NULL arguments, struct sizes smaller and larger
 * than the plugin knows, init/shutdown twice, N threads initializing at once, and repeated
 * load/unload cycles (for leak checks under valgrind). It names itself "claw-host" to the plugin,
 * so the plugin's messages read as they do for the reference host. A test artifact: built by
 * binding.gyp and CMakeLists.txt when native/test is present, never shipped.
 *
 * Plain C11 + POSIX + glibc (dlopen, pthreads); depends only on native/include/claw/plugin.h.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "host_common.h"

typedef struct matrix_options {
  long struct_size; /* -1: sizeof(claw_host_info) */
  long out_size;    /* -1: sizeof(claw_plugin_info) */
  bool null_host, null_out;
  bool init_twice, shutdown_twice;
  int threads;
  long cycles;
} matrix_options;

typedef struct thread_job {
  claw_init_fn init;
  const host_options *o;
  pthread_barrier_t *barrier;
  int32_t status;
  const claw_plugin_funcs *funcs;
  int32_t remaining; /* what shutdown returned */
} thread_job;

static void *thread_init(void *arg) {
  thread_job *j = arg;
  claw_host_info *h = host_make_host(j->o, (uint32_t)sizeof(claw_host_info));
  claw_plugin_info out;
  memset(&out, 0, sizeof out);
  out.struct_size = sizeof out;
  pthread_barrier_wait(j->barrier);
  j->status = h ? j->init(h, &out) : CLAW_E_INTERNAL;
  j->funcs = j->status == CLAW_OK ? out.funcs : NULL;
  free(h);
  pthread_barrier_wait(j->barrier); /* everyone holds a reference before anyone releases */
  j->remaining = j->funcs ? j->funcs->shutdown() : CLAW_E_NOT_INITIALIZED;
  return NULL;
}

/* N threads: concurrent claw_init, then concurrent shutdown. Checks one table for all, and that
 * the N shutdowns returned N-1..0 each exactly once (the reference count is atomic). */
static void run_threads(host_result *r, const host_options *o, int n, claw_init_fn init) {
  thread_job *jobs = calloc((size_t)n, sizeof *jobs);
  pthread_t *tids = calloc((size_t)n, sizeof *tids);
  pthread_barrier_t barrier;
  if (jobs == NULL || tids == NULL || pthread_barrier_init(&barrier, NULL, (unsigned)n) != 0) {
    host_fail(r, EXIT_INTERNAL, "checks", "%s: cannot set up %d threads", host_program, n);
    free(jobs);
    free(tids);
    return;
  }
  int started = 0;
  for (int i = 0; i < n; i++) {
    jobs[i].init = init;
    jobs[i].o = o;
    jobs[i].barrier = &barrier;
    if (pthread_create(&tids[i], NULL, thread_init, &jobs[i]) != 0) break;
    started++;
  }
  if (started != n) {
    /* Threads already started wait on the barrier forever; this is fatal for the run. */
    fprintf(stderr, "%s: could not start %d threads (started %d)\n", host_program, n, started);
    exit(EXIT_INTERNAL);
  }
  for (int i = 0; i < n; i++) pthread_join(tids[i], NULL);
  pthread_barrier_destroy(&barrier);

  int ok = 0;
  bool same_table = true;
  unsigned char *seen = calloc((size_t)n, 1);
  bool counts_ok = seen != NULL;
  for (int i = 0; i < n; i++) {
    if (jobs[i].status == CLAW_OK) ok++;
    if (jobs[i].funcs != jobs[0].funcs) same_table = false;
    if (counts_ok) {
      if (jobs[i].remaining < 0 || jobs[i].remaining >= n || seen[jobs[i].remaining])
        counts_ok = false;
      else
        seen[jobs[i].remaining] = 1;
    }
  }
  free(seen);
  r->init_called = true;
  if (ok != n) {
    int32_t code = CLAW_OK;
    for (int i = 0; i < n; i++)
      if (jobs[i].status != CLAW_OK) code = jobs[i].status;
    r->init_status = code;
    host_fail(r, host_exit_for_init(code), "init",
              "%d of %d concurrent claw_init calls failed (%s)", n - ok, n, host_status_name(code));
  } else if (!same_table) {
    host_fail(r, EXIT_CONTRACT, "checks",
              "concurrent claw_init calls returned different function tables");
  } else if (!counts_ok) {
    host_fail(r, EXIT_CONTRACT, "checks",
              "the %d concurrent shutdowns did not return %d..0 each exactly once: the reference "
              "count is not atomic",
              n, n - 1);
  } else {
    snprintf(r->checks, sizeof r->checks,
             "%d threads: %d concurrent claw_init calls succeeded with one function table; the %d "
             "shutdowns "
             "returned %d..0 each exactly once",
             n, n, n, n - 1);
    r->negotiated = true;
  }
  free(jobs);
  free(tids);
}

static void append_check(host_result *r, const char *text) {
  snprintf(r->checks + strlen(r->checks), sizeof r->checks - strlen(r->checks), "%s%s",
           r->checks[0] ? "; " : "", text);
}

/* The threads variant of a cycle, then (--shutdown-twice) one more reference taken and released
 * plus an extra shutdown that must be a harmless no-op. */
static void run_threads_cycle(host_result *r, const host_options *o, const matrix_options *m,
                              const host_plugin *p) {
  run_threads(r, o, m->threads, p->init);
  if (r->exit_code != 0 || !m->shutdown_twice) return;
  claw_host_info *h = host_make_host(o, (uint32_t)sizeof(claw_host_info));
  claw_plugin_info out;
  memset(&out, 0, sizeof out);
  out.struct_size = sizeof out;
  int32_t st = h ? p->init(h, &out) : CLAW_E_INTERNAL;
  free(h);
  if (st == CLAW_OK) {
    int32_t a = out.funcs->shutdown(), b = out.funcs->shutdown();
    if (a != 0 || b != CLAW_E_NOT_INITIALIZED)
      host_fail(r, EXIT_CONTRACT, "checks",
                "after the threads, shutdown returned %d then %d (expected 0 then %d)", a, b,
                CLAW_E_NOT_INITIALIZED);
  }
}

/* One full cycle: dlopen, claw_abi_info, claw_init (+ checks), shutdown, dlclose. */
static void run_cycle(host_result *r, const host_options *o, const matrix_options *m,
                      const char *path) {
  host_plugin p;
  if (!host_load(r, o, path, &p)) return;
  if (m->threads > 0) {
    run_threads_cycle(r, o, m, &p);
    dlclose(p.handle);
    return;
  }

  const uint32_t host_size =
      m->struct_size < 0 ? (uint32_t)sizeof(claw_host_info) : (uint32_t)m->struct_size;
  const uint32_t out_size =
      m->out_size < 0 ? (uint32_t)sizeof(claw_plugin_info) : (uint32_t)m->out_size;
  claw_host_info *host = m->null_host ? NULL : host_make_host(o, host_size);
  if (!m->null_host && host == NULL) {
    host_fail(r, EXIT_INTERNAL, "init", "%s: out of memory", host_program);
    dlclose(p.handle);
    return;
  }
  /* A refused claw_init or an incomplete table leaves funcs NULL and r->exit_code set: every step
   * below is then skipped. */
  const claw_plugin_funcs *funcs = host_call_init(r, &p, host, host_size, out_size, m->null_out);

  if (r->exit_code == 0 && m->init_twice) {
    claw_plugin_info again;
    memset(&again, 0, sizeof again);
    again.struct_size = sizeof again;
    int32_t st2 = p.init(host, &again);
    if (st2 != CLAW_OK) {
      host_fail(r, host_exit_for_init(st2), "init", "second claw_init failed: %s (%d)",
                host_status_name(st2), st2);
    } else if (again.funcs != funcs) {
      host_fail(r, EXIT_CONTRACT, "checks", "second claw_init returned a different function table");
    } else {
      int32_t first = funcs->shutdown();
      if (first != 1) {
        host_fail(r, EXIT_CONTRACT, "checks",
                  "after two claw_init calls, the first shutdown returned %d (expected 1)", first);
        funcs->shutdown();
      }
    }
  }
  free(host);

  host_use_table(r, o, funcs);

  if (funcs != NULL) {
    host_final_shutdown(r, funcs);
    if (m->shutdown_twice) {
      int32_t extra = funcs->shutdown();
      if (extra != CLAW_E_NOT_INITIALIZED && r->exit_code == 0)
        host_fail(r, EXIT_CONTRACT, "checks", "an extra shutdown returned %d (expected %s)", extra,
                  "CLAW_E_NOT_INITIALIZED");
      else if (r->exit_code == 0)
        append_check(r, "extra shutdown returned CLAW_E_NOT_INITIALIZED (harmless no-op)");
    }
    if (m->init_twice && r->exit_code == 0)
      append_check(r, "init twice: same function table, shutdown returned 1 then 0");
  }
  dlclose(p.handle);
}

static void usage(FILE *out) {
  fprintf(out,
          "usage: claw-host-matrix <plugin> [options]\n"
          "claw-host plus the host side of the ABI test matrix (a test tool, not shipped).\n"
          "\n");
  host_common_usage(out);
  fprintf(out,
          "  --struct-size N     claw_host_info.struct_size to declare (smaller/larger than sizeof "
          "%zu)\n"
          "  --out-size N        claw_plugin_info.struct_size to declare (sizeof %zu)\n"
          "  --null-host         call claw_init(NULL, out)\n"
          "  --null-out          call claw_init(host, NULL)\n"
          "  --init-twice        claw_init twice (same table, shutdown returns 1 then 0)\n"
          "  --shutdown-twice    one extra shutdown after the last (must be a harmless no-op)\n"
          "  --threads N         N threads call claw_init at once, then shutdown at once\n"
          "  --cycles N          repeat the whole load..unload cycle N times\n"
          "\n%s",
          sizeof(claw_host_info), sizeof(claw_plugin_info), host_exit_codes_usage);
}

/* Parses argv[*i] when it is a matrix option: 1 parsed, 0 not one, -1 usage error printed. */
static int parse_matrix(matrix_options *m, int argc, char **argv, int *i) {
  const char *a = argv[*i];
  const char *v = *i + 1 < argc ? argv[*i + 1] : NULL;
  bool value = strcmp(a, "--struct-size") == 0 || strcmp(a, "--out-size") == 0 ||
               strcmp(a, "--threads") == 0 || strcmp(a, "--cycles") == 0;
  if (value) {
    if (v == NULL) return (host_usage_error("%s needs a value", a), -1);
    (*i)++;
  }
  long n;
  if (strcmp(a, "--struct-size") == 0) {
    if (!host_parse_long(v, 0, 1 << 20, &m->struct_size))
      return (host_usage_error("--struct-size expects 0..1048576, got '%s'", v), -1);
  } else if (strcmp(a, "--out-size") == 0) {
    if (!host_parse_long(v, 0, 1 << 20, &m->out_size))
      return (host_usage_error("--out-size expects 0..1048576, got '%s'", v), -1);
  } else if (strcmp(a, "--threads") == 0) {
    if (!host_parse_long(v, 1, 256, &n))
      return (host_usage_error("--threads expects 1..256, got '%s'", v), -1);
    m->threads = (int)n;
  } else if (strcmp(a, "--cycles") == 0) {
    if (!host_parse_long(v, 1, 100000000, &m->cycles))
      return (host_usage_error("--cycles expects 1..100000000, got '%s'", v), -1);
  } else if (strcmp(a, "--null-host") == 0) {
    m->null_host = true;
  } else if (strcmp(a, "--null-out") == 0) {
    m->null_out = true;
  } else if (strcmp(a, "--init-twice") == 0) {
    m->init_twice = true;
  } else if (strcmp(a, "--shutdown-twice") == 0) {
    m->shutdown_twice = true;
  } else {
    return 0;
  }
  return 1;
}

int main(int argc, char **argv) {
  host_program = "claw-host-matrix";
  host_options o;
  host_options_init(&o);
  matrix_options m = {.struct_size = -1, .out_size = -1, .cycles = 1};
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      usage(stdout);
      return EXIT_OK_;
    }
    int parsed = parse_matrix(&m, argc, argv, &i);
    if (parsed == 0) parsed = host_parse_common(&o, argc, argv, &i);
    if (parsed < 0) return EXIT_USAGE;
    if (parsed == 0) return host_usage_error("unknown option '%s'", argv[i]);
  }
  if (o.plugin == NULL) {
    usage(stderr);
    return EXIT_USAGE;
  }
  if (m.threads > 0 &&
      (m.null_host || m.null_out || m.struct_size >= 0 || m.out_size >= 0 || m.init_twice))
    return host_usage_error(
        "%s",
        "--threads cannot be combined with --null-*, --struct-size, --out-size or --init-twice");

  host_log_echo(!o.json);
  host_result r;
  host_result_init(&r);
  if (m.struct_size >= 0) r.host_struct_size = m.struct_size;
  r.cycles = m.cycles;
  r.hide_negotiated = m.threads > 0;
  char path[PATH_MAX + 2];
  host_resolve_path(&r, &o, path, sizeof path);
  for (long c = 0; r.exit_code == 0 && c < m.cycles; c++) {
    if (c > 0) {
      /* Keep only the last cycle's plugin log lines and checks. */
      host_clear_log();
      r.checks[0] = '\0';
    }
    run_cycle(&r, &o, &m, path);
    r.cycles_done = c + 1;
  }
  host_print(&r, &o);
  host_result_free(&r);
  return r.exit_code;
}
