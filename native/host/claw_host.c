/*
 * claw-host: the reference claw-runtime. It loads a claw plugin the way a native host should
 * (dlopen -> claw_abi_info -> claw_init -> function table -> shutdown -> dlclose), prints what was
 * negotiated, and when anything fails says why in words a user can act on, with a distinct exit
 * code per failure (see usage() and docs/readme/native.md).
 *
 * It also drives the host side of the ABI test matrix (test/native/host-matrix.test.ts): NULL
 * arguments, struct sizes smaller and larger than the plugin knows, init/shutdown twice, N threads
 * initializing at once, and repeated load/unload cycles (for leak checks under valgrind).
 *
 * Plain C11 + POSIX + glibc (dlopen, dlinfo); depends only on native/include/claw/plugin.h.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "claw/plugin.h"

#define CLAW_HOST_NAME "claw-host"
#define CLAW_HOST_VERSION "1.0.0"

/* ---- Exit codes (documented in usage() and docs/readme/native.md; stable) ------------------ */
enum {
  EXIT_OK_ = 0,
  EXIT_INTERNAL = 1,       /* claw-host itself failed (out of memory, thread creation, ...) */
  EXIT_USAGE = 2,          /* bad command line */
  EXIT_NOT_FOUND = 3,      /* the plugin file does not exist or cannot be read */
  EXIT_MISSING_DEP = 4,    /* a shared library the plugin depends on cannot be found */
  EXIT_NODE_ADDON_NOW = 5, /* a Node addon loaded with RTLD_NOW: napi_* symbols are unresolvable */
  EXIT_UNDEFINED_SYM = 6,  /* another symbol the plugin needs is not provided by anything loaded */
  EXIT_NOT_LOADABLE = 7,   /* not a shared object for this machine (bad ELF, wrong arch/class) */
  EXIT_NO_ENTRY = 8,       /* claw_abi_info / claw_init not exported by the file */
  EXIT_BAD_DESCRIPTOR = 9, /* claw_abi_info returned NULL or a truncated descriptor */
  EXIT_ABI_MAJOR = 10,     /* claw_init: CLAW_E_ABI_MAJOR */
  EXIT_ABI_TOO_OLD = 11,   /* claw_init: CLAW_E_ABI_TOO_OLD (upgrade the plugin) */
  EXIT_ABI_TOO_NEW = 12,   /* claw_init: CLAW_E_ABI_TOO_NEW (upgrade the host) */
  EXIT_STRUCT_SIZE = 13,   /* claw_init: CLAW_E_STRUCT_SIZE */
  EXIT_INVALID_ARG = 14,   /* claw_init: CLAW_E_INVALID_ARG */
  EXIT_PROTOCOL = 15,      /* agent protocol: CLAW_E_PROTOCOL_MISMATCH */
  EXIT_INIT_OTHER = 16,    /* claw_init: any other negative code */
  EXIT_CONTRACT = 17       /* the plugin broke the ABI contract (wrote past struct_size, bad
                              reference counting, threads saw different tables, ...) */
};

/* ---- Options ------------------------------------------------------------------------------ */
typedef struct options {
  const char *plugin;
  uint32_t abi_major, abi_minor_min, abi_minor_max;
  bool lazy;
  bool json;
  long struct_size; /* -1: sizeof(claw_host_info) */
  long out_size;    /* -1: sizeof(claw_plugin_info) */
  bool null_host, null_out;
  uint64_t caps;
  bool agent;
  uint32_t agent_min, agent_max;
  const char *extension;
  bool init_twice, shutdown_twice;
  int threads;
  long cycles;
  const char *host_name, *host_version;
  bool quiet_log;
} options;

/* A copy of the descriptor's strings, taken while the library is loaded. */
typedef struct abi_copy {
  bool have;
  claw_abi_descriptor d;
  char name[128], version[64], rev[64], compiler[64], flavor[64];
} abi_copy;

static void copy_abi(abi_copy *c, const claw_abi_descriptor *d) {
  memset(c, 0, sizeof *c);
  if (d == NULL) return;
  c->have = true;
  c->d = *d;
  snprintf(c->name, sizeof c->name, "%s", d->plugin_name);
  snprintf(c->version, sizeof c->version, "%s", d->plugin_version);
  snprintf(c->rev, sizeof c->rev, "%s", d->build_git_revision);
  snprintf(c->compiler, sizeof c->compiler, "%s", d->build_compiler);
  snprintf(c->flavor, sizeof c->flavor, "%s", d->build_flavor);
}

/* ---- Collected result, printed once at the end ------------------------------------------- */
#define MAX_LOG 64
#define MAX_NOTES 32
typedef struct result {
  int exit_code;
  const char *stage;      /* "load", "symbols", "abi_info", "init", "agent", "checks", "done" */
  char error[1024];       /* one line: what failed */
  char *notes[MAX_NOTES]; /* diagnosis / hint lines */
  int note_count;
  abi_copy abi;     /* copied from claw_abi_info() while the library is loaded */
  bool init_called; /* claw_init was reached (status/code are meaningful) */
  int32_t init_status;
  bool negotiated;
  claw_plugin_info info; /* what claw_init wrote (copied) */
  uint32_t info_written;
  bool agent_done;
  int32_t agent_status;
  uint32_t agent_version;
  char agent_explain[256];
  bool extension_done;
  bool extension_found;
  char checks[1024]; /* summary of twice/threads/shutdown checks */
  long cycles_done;
} result;

static pthread_mutex_t g_log_lock = PTHREAD_MUTEX_INITIALIZER;
static char *g_log[MAX_LOG];
static int g_log_level[MAX_LOG];
static int g_log_count;
static bool g_log_echo; /* echo plugin log lines to stderr as they arrive (human mode) */

static void note(result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(result *r, const char *fmt, ...) {
  if (r->note_count >= MAX_NOTES) return;
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  r->notes[r->note_count++] = strdup(buf);
}

static void fail(result *r, int code, const char *stage, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void fail(result *r, int code, const char *stage, const char *fmt, ...) {
  r->exit_code = code;
  r->stage = stage;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->error, sizeof r->error, fmt, ap);
  va_end(ap);
}

static const char *level_name(int32_t level) {
  switch (level) {
    case CLAW_LOG_ERROR:
      return "error";
    case CLAW_LOG_WARN:
      return "warn";
    case CLAW_LOG_INFO:
      return "info";
    case CLAW_LOG_DEBUG:
      return "debug";
    default:
      return "unknown";
  }
}

/* The host's log callback: thread-safe, copies the line. */
static void host_log(void *user_data, int32_t level, const char *message) {
  (void)user_data;
  pthread_mutex_lock(&g_log_lock);
  if (g_log_count < MAX_LOG) {
    g_log[g_log_count] = strdup(message ? message : "(null)");
    g_log_level[g_log_count] = level;
    g_log_count++;
  }
  if (g_log_echo)
    fprintf(stderr, "plugin log [%s]: %s\n", level_name(level), message ? message : "(null)");
  pthread_mutex_unlock(&g_log_lock);
}

/* The host's extension lookup: this reference host offers none. */
static const void *host_get_extension(void *user_data, const char *id) {
  (void)user_data;
  (void)id;
  return NULL;
}

static void clear_log(void) {
  pthread_mutex_lock(&g_log_lock);
  for (int i = 0; i < g_log_count; i++) free(g_log[i]);
  g_log_count = 0;
  pthread_mutex_unlock(&g_log_lock);
}

/* ---- ELF inspection (for diagnoses; reads the file, never executes it) --------------------- */
/* ---- Load-failure diagnosis --------------------------------------------------------------
 * claw-host stays the small reference host: it classifies a failure from what the dynamic loader
 * says (dlerror, dlsym) into an exit code and the next step. Reading the file itself (which symbol
 * is hidden or mangled, which dependency ld.so cannot find and where it looked, the file's
 * architecture, glibc ceilings) is done once, in TypeScript, by `claw-byterover doctor --plugin
 * <file>` (lib/doctor/elf.ts, lib/doctor/native-file.ts), which also runs claw-host and quotes it.
 */
static void doctor_hint(result *r, const char *path) {
  note(r,
       "for the file's own account (symbols, dependencies, architecture): claw-byterover doctor "
       "--plugin %s",
       path);
}

static void diagnose_missing_entry(result *r, const char *path, const char *symbol) {
  note(r,
       "%s is not exported by %s: it is hidden (not marked CLAW_EXPORT / not listed in "
       "native/exports.map), "
       "compiled as C++ without extern \"C\" (claw/plugin.h declares the entry points extern "
       "\"C\"), or this "
       "is not a claw plugin",
       symbol, path);
  note(r, "check with: nm -D --defined-only %s | grep claw_", path);
  doctor_hint(r, path);
}

static char *dirname_of(const char *path, char *buf, size_t len) {
  snprintf(buf, len, "%s", path);
  char *slash = strrchr(buf, '/');
  if (slash == NULL)
    snprintf(buf, len, ".");
  else if (slash == buf)
    buf[1] = '\0';
  else
    *slash = '\0';
  return buf;
}

/* Where the plain library usually sits relative to a .node build (for the RTLD_NOW advice). */
static void suggest_plain_library(result *r, const char *path) {
  char dir[PATH_MAX], candidate[PATH_MAX + 64];
  dirname_of(path, dir, sizeof dir);
  const char *rel[] = {"libclaw_byterover.so", "lib.target/libclaw_byterover.so",
                       "../lib/libclaw_byterover.so"};
  for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
    snprintf(candidate, sizeof candidate, "%s/%s", dir, rel[i]);
    if (access(candidate, R_OK) == 0) {
      note(r, "the plain library is right there: claw-host %s --now", candidate);
      return;
    }
  }
}

/* Classifies a dlopen failure into an exit code and a diagnosis. */
static void diagnose_dlopen(result *r, const options *o, const char *path, const char *err) {
  const char *undef = strstr(err, "undefined symbol: ");
  if (undef != NULL) {
    char sym[256];
    snprintf(sym, sizeof sym, "%s", undef + strlen("undefined symbol: "));
    sym[strcspn(sym, " \t\n,(")] = '\0';
    if ((strncmp(sym, "napi_", 5) == 0 || strncmp(sym, "node_api_", 9) == 0) && !o->lazy) {
      fail(r, EXIT_NODE_ADDON_NOW, "load", "cannot load %s with RTLD_NOW: undefined symbol: %s",
           path, sym);
      note(r,
           "this is a Node addon (.node): its Node-API functions (napi_*) are provided only by the "
           "node "
           "executable, and RTLD_NOW (or LD_BIND_NOW=1, or a host linked -z now) insists on "
           "resolving "
           "them at load time");
      note(r,
           "fix: load it with RTLD_LAZY (claw-host --lazy): nothing on the claw_init path calls "
           "Node-API; "
           "or, better, load the plain shared library libclaw_byterover.so, which has no Node-API "
           "references");
      suggest_plain_library(r, path);
    } else if (strncmp(sym, "napi_", 5) == 0 || strncmp(sym, "node_api_", 9) == 0) {
      fail(r, EXIT_NODE_ADDON_NOW, "load",
           "cannot load %s even with RTLD_LAZY: undefined symbol: %s", path, sym);
      note(r,
           "this Node addon takes the address of %s (a data relocation, bound at load time "
           "whatever the "
           "RTLD mode), so it cannot load outside node at all",
           sym);
      note(r,
           "fix: load the plain shared library libclaw_byterover.so instead (no Node-API "
           "references)");
      suggest_plain_library(r, path);
    } else {
      fail(r, EXIT_UNDEFINED_SYM, "load", "cannot load %s: undefined symbol: %s", path, sym);
      note(r,
           "the plugin references %s but nothing loaded provides it: it was linked against a "
           "library "
           "or version this machine lacks (see: ldd -r %s)",
           sym, path);
      if (!o->lazy)
        note(r, "RTLD_LAZY (--lazy) would defer the failure to the first call, not fix it");
    }
    return;
  }
  const char *cannot = strstr(err, ": cannot open shared object file");
  char dep[512] = "";
  if (cannot != NULL) {
    size_t len = (size_t)(cannot - err);
    if (len >= sizeof dep) len = sizeof dep - 1;
    memcpy(dep, err, len);
    dep[len] = '\0';
  }
  /* "<name>: cannot open shared object file: ..." names a dependency; when it names the plugin
   * itself (which exists: checked before dlopen), glibc rejected the file, e.g. another machine. */
  if (cannot != NULL && strcmp(dep, path) != 0 && strcmp(dep, o->plugin) != 0) {
    fail(r, EXIT_MISSING_DEP, "load", "cannot load %s: a library it depends on is missing: %s",
         path, dep);
    note(r, "see what else ld.so cannot find: ldd %s", path);
    note(r, "fix: install the package that provides %s, or add its directory to LD_LIBRARY_PATH",
         dep);
    return;
  }
  fail(r, EXIT_NOT_LOADABLE, "load", "cannot load %s: %s", path, err);
  note(r,
       "%s is not a shared library this host can load: check that it is the plugin built for this "
       "machine (file %s)",
       path, path);
  doctor_hint(r, path);
}

/* ---- Negotiation helpers ------------------------------------------------------------------ */
typedef int32_t (*claw_init_fn)(const claw_host_info *, claw_plugin_info *);
typedef const claw_abi_descriptor *(*claw_abi_info_fn)(void);
typedef const char *(*claw_strerror_fn)(int32_t);

static const char *status_name(int32_t code) {
  switch (code) {
    case CLAW_OK:
      return "CLAW_OK";
    case CLAW_E_INVALID_ARG:
      return "CLAW_E_INVALID_ARG";
    case CLAW_E_STRUCT_SIZE:
      return "CLAW_E_STRUCT_SIZE";
    case CLAW_E_ABI_MAJOR:
      return "CLAW_E_ABI_MAJOR";
    case CLAW_E_ABI_TOO_OLD:
      return "CLAW_E_ABI_TOO_OLD";
    case CLAW_E_ABI_TOO_NEW:
      return "CLAW_E_ABI_TOO_NEW";
    case CLAW_E_PROTOCOL_MISMATCH:
      return "CLAW_E_PROTOCOL_MISMATCH";
    case CLAW_E_NOT_INITIALIZED:
      return "CLAW_E_NOT_INITIALIZED";
    case CLAW_E_INTERNAL:
      return "CLAW_E_INTERNAL";
    default:
      return "CLAW_E_UNKNOWN";
  }
}

static int exit_for_init(int32_t code) {
  switch (code) {
    case CLAW_E_ABI_MAJOR:
      return EXIT_ABI_MAJOR;
    case CLAW_E_ABI_TOO_OLD:
      return EXIT_ABI_TOO_OLD;
    case CLAW_E_ABI_TOO_NEW:
      return EXIT_ABI_TOO_NEW;
    case CLAW_E_STRUCT_SIZE:
      return EXIT_STRUCT_SIZE;
    case CLAW_E_INVALID_ARG:
      return EXIT_INVALID_ARG;
    default:
      return EXIT_INIT_OTHER;
  }
}

#define GUARD_BYTE 0xA5
#define GUARD_TAIL 64

/* Host struct buffer: `claimed` bytes declared, at least sizeof bytes allocated (zeroed), any
 * bytes past sizeof(claw_host_info) filled with a pattern the plugin must ignore. */
static claw_host_info *make_host(const options *o, uint32_t claimed) {
  size_t alloc = claimed > sizeof(claw_host_info) ? claimed : sizeof(claw_host_info);
  unsigned char *buf = calloc(1, alloc);
  if (buf == NULL) return NULL;
  claw_host_info h;
  memset(&h, 0, sizeof h);
  h.struct_size = claimed;
  h.abi_major = o->abi_major;
  h.abi_minor_min = o->abi_minor_min;
  h.abi_minor_max = o->abi_minor_max;
  h.host_name = o->host_name;
  h.host_version = o->host_version;
  h.capabilities = o->caps;
  h.user_data = NULL;
  h.log = host_log;
  h.get_extension = host_get_extension;
  memcpy(buf, &h, sizeof h);
  if (alloc > sizeof h) memset(buf + sizeof h, GUARD_BYTE, alloc - sizeof h);
  return (claw_host_info *)buf;
}

/* Plugin-info buffer of max(claimed, sizeof) + GUARD_TAIL bytes, pattern-filled past `claimed`. */
static unsigned char *make_out(uint32_t claimed, size_t *alloc_out) {
  size_t alloc =
      (claimed > sizeof(claw_plugin_info) ? claimed : sizeof(claw_plugin_info)) + GUARD_TAIL;
  unsigned char *buf = malloc(alloc);
  if (buf == NULL) return NULL;
  memset(buf, 0, alloc);
  memset(buf + claimed, GUARD_BYTE, alloc - claimed);
  memcpy(buf, &claimed, sizeof claimed);
  *alloc_out = alloc;
  return buf;
}

static bool guard_intact(const unsigned char *buf, size_t from, size_t to) {
  for (size_t i = from; i < to; i++)
    if (buf[i] != GUARD_BYTE) return false;
  return true;
}

typedef struct thread_job {
  claw_init_fn init;
  const options *o;
  pthread_barrier_t *barrier;
  int32_t status;
  const claw_plugin_funcs *funcs;
  int32_t remaining; /* what shutdown returned */
} thread_job;

static void *thread_init(void *arg) {
  thread_job *j = arg;
  claw_host_info *h = make_host(j->o, (uint32_t)sizeof(claw_host_info));
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
static void run_threads(result *r, const options *o, claw_init_fn init) {
  const int n = o->threads;
  thread_job *jobs = calloc((size_t)n, sizeof *jobs);
  pthread_t *tids = calloc((size_t)n, sizeof *tids);
  pthread_barrier_t barrier;
  if (jobs == NULL || tids == NULL || pthread_barrier_init(&barrier, NULL, (unsigned)n) != 0) {
    fail(r, EXIT_INTERNAL, "checks", "claw-host: cannot set up %d threads", n);
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
    fprintf(stderr, "claw-host: could not start %d threads (started %d)\n", n, started);
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
    fail(r, exit_for_init(code), "init", "%d of %d concurrent claw_init calls failed (%s)", n - ok,
         n, status_name(code));
  } else if (!same_table) {
    fail(r, EXIT_CONTRACT, "checks",
         "concurrent claw_init calls returned different function tables");
  } else if (!counts_ok) {
    fail(r, EXIT_CONTRACT, "checks",
         "the %d concurrent shutdowns did not return %d..0 each exactly once: the reference count "
         "is not atomic",
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

/* One full cycle: dlopen, claw_abi_info, claw_init (+ checks), shutdown, dlclose. */
static void run_cycle(result *r, const options *o, const char *path) {
  dlerror();
  void *handle = dlopen(path, (o->lazy ? RTLD_LAZY : RTLD_NOW) | RTLD_LOCAL);
  if (handle == NULL) {
    const char *err = dlerror();
    diagnose_dlopen(r, o, o->plugin, err ? err : "unknown dlopen error");
    return;
  }

  claw_abi_info_fn abi_info = (claw_abi_info_fn)dlsym(handle, "claw_abi_info");
  claw_init_fn init = (claw_init_fn)dlsym(handle, "claw_init");
  claw_strerror_fn strerr = (claw_strerror_fn)dlsym(handle, "claw_strerror");
  if (abi_info == NULL || init == NULL) {
    /* claw_init is the one a host cannot do without: name it first when both are missing. */
    const char *missing = init == NULL ? "claw_init" : "claw_abi_info";
    fail(r, EXIT_NO_ENTRY, "symbols", "%s loaded, but dlsym failed: undefined symbol: %s",
         o->plugin, missing);
    diagnose_missing_entry(r, o->plugin, missing);
    if (init == NULL && abi_info == NULL) note(r, "claw_abi_info is missing too (same cause)");
    dlclose(handle);
    return;
  }

  const claw_abi_descriptor *d = abi_info();
  if (d == NULL ||
      d->struct_size < offsetof(claw_abi_descriptor, capabilities) + sizeof(uint64_t)) {
    fail(r, EXIT_BAD_DESCRIPTOR, "abi_info", "claw_abi_info returned %s",
         d == NULL ? "NULL" : "a descriptor shorter than the ABI 1.0 layout");
    dlclose(handle);
    return;
  }
  copy_abi(&r->abi, d);

  if (o->threads > 0) {
    run_threads(r, o, init);
    if (r->exit_code == 0 && o->shutdown_twice) {
      /* All N references were released; one more shutdown must be a harmless no-op. Needs the
       * table, so take and release one more reference first. */
      claw_host_info *h = make_host(o, (uint32_t)sizeof(claw_host_info));
      claw_plugin_info out;
      memset(&out, 0, sizeof out);
      out.struct_size = sizeof out;
      int32_t st = h ? init(h, &out) : CLAW_E_INTERNAL;
      free(h);
      if (st == CLAW_OK) {
        int32_t a = out.funcs->shutdown(), b = out.funcs->shutdown();
        if (a != 0 || b != CLAW_E_NOT_INITIALIZED)
          fail(r, EXIT_CONTRACT, "checks",
               "after the threads, shutdown returned %d then %d (expected 0 then %d)", a, b,
               CLAW_E_NOT_INITIALIZED);
      }
    }
    dlclose(handle);
    return;
  }

  const uint32_t host_size =
      o->struct_size < 0 ? (uint32_t)sizeof(claw_host_info) : (uint32_t)o->struct_size;
  const uint32_t out_size =
      o->out_size < 0 ? (uint32_t)sizeof(claw_plugin_info) : (uint32_t)o->out_size;
  claw_host_info *host = o->null_host ? NULL : make_host(o, host_size);
  size_t out_alloc = 0;
  unsigned char *outbuf = o->null_out ? NULL : make_out(out_size, &out_alloc);
  if ((!o->null_host && host == NULL) || (!o->null_out && outbuf == NULL)) {
    fail(r, EXIT_INTERNAL, "init", "claw-host: out of memory");
    free(host);
    free(outbuf);
    dlclose(handle);
    return;
  }

  int32_t st = init(host, (claw_plugin_info *)outbuf);
  r->init_called = true;
  r->init_status = st;
  if (st != CLAW_OK) {
    fail(r, exit_for_init(st), "init", "claw_init refused: %s (%d): %s", status_name(st), st,
         strerr ? strerr(st) : "");
    if (st == CLAW_E_STRUCT_SIZE && host_size < CLAW_HOST_INFO_MIN_SIZE)
      note(r,
           "claw_host_info.struct_size %u is below CLAW_HOST_INFO_MIN_SIZE %u, so the plugin "
           "cannot read even "
           "the version fields (nor the log callback)",
           host_size, (unsigned)CLAW_HOST_INFO_MIN_SIZE);
    if (outbuf != NULL && !guard_intact(outbuf, out_size, out_alloc))
      fail(r, EXIT_CONTRACT, "checks",
           "claw_init failed but wrote past claw_plugin_info.struct_size (%u)", out_size);
    free(host);
    free(outbuf);
    dlclose(handle);
    return;
  }

  memcpy(&r->info, outbuf, sizeof r->info < out_alloc ? sizeof r->info : out_alloc);
  r->info_written = r->info.struct_size;
  r->negotiated = true;
  const claw_plugin_funcs *funcs = r->info.funcs;
  if (!guard_intact(outbuf, out_size, out_alloc)) {
    fail(r, EXIT_CONTRACT, "checks",
         "the plugin wrote past claw_plugin_info.struct_size (%u bytes)", out_size);
  } else if (r->info_written > out_size) {
    fail(r, EXIT_CONTRACT, "checks",
         "the plugin reports writing %u bytes into a %u-byte claw_plugin_info", r->info_written,
         out_size);
  } else if (funcs == NULL ||
             funcs->struct_size <
                 offsetof(claw_plugin_funcs, negotiate_agent_protocol) + sizeof(void *) ||
             funcs->shutdown == NULL || funcs->get_extension == NULL) {
    fail(r, EXIT_CONTRACT, "checks", "the plugin returned an incomplete function table");
    funcs = NULL;
  }
  free(outbuf);

  if (r->exit_code == 0 && o->init_twice) {
    claw_plugin_info again;
    memset(&again, 0, sizeof again);
    again.struct_size = sizeof again;
    int32_t st2 = init(host, &again);
    if (st2 != CLAW_OK) {
      fail(r, exit_for_init(st2), "init", "second claw_init failed: %s (%d)", status_name(st2),
           st2);
    } else if (again.funcs != funcs) {
      fail(r, EXIT_CONTRACT, "checks", "second claw_init returned a different function table");
    } else {
      int32_t first = funcs->shutdown();
      if (first != 1) {
        fail(r, EXIT_CONTRACT, "checks",
             "after two claw_init calls, the first shutdown returned %d (expected 1)", first);
        funcs->shutdown();
      }
    }
  }
  free(host);

  if (r->exit_code == 0 && funcs != NULL && o->extension != NULL) {
    r->extension_done = true;
    r->extension_found = funcs->get_extension(o->extension) != NULL;
  }

  if (r->exit_code == 0 && funcs != NULL && o->agent) {
    r->agent_done = true;
    r->agent_status = funcs->negotiate_agent_protocol(o->agent_min, o->agent_max, &r->agent_version,
                                                      r->agent_explain, sizeof r->agent_explain);
    if (r->agent_status != CLAW_OK)
      fail(r, r->agent_status == CLAW_E_PROTOCOL_MISMATCH ? EXIT_PROTOCOL : EXIT_INVALID_ARG,
           "agent", "agent protocol refused: %s (%d): %s", status_name(r->agent_status),
           r->agent_status, r->agent_explain);
  }

  if (funcs != NULL) {
    int32_t last = funcs->shutdown();
    if (last != 0 && r->exit_code == 0)
      fail(r, EXIT_CONTRACT, "checks",
           "the final shutdown returned %d (expected 0 references left)", last);
    if (o->shutdown_twice) {
      int32_t extra = funcs->shutdown();
      if (extra != CLAW_E_NOT_INITIALIZED && r->exit_code == 0)
        fail(r, EXIT_CONTRACT, "checks", "an extra shutdown returned %d (expected %s)", extra,
             "CLAW_E_NOT_INITIALIZED");
      else if (r->exit_code == 0)
        snprintf(r->checks + strlen(r->checks), sizeof r->checks - strlen(r->checks),
                 "%sextra shutdown returned CLAW_E_NOT_INITIALIZED (harmless no-op)",
                 r->checks[0] ? "; " : "");
    }
    if (o->init_twice && r->exit_code == 0)
      snprintf(r->checks + strlen(r->checks), sizeof r->checks - strlen(r->checks),
               "%sinit twice: same function table, shutdown returned 1 then 0",
               r->checks[0] ? "; " : "");
  }
  dlclose(handle);
}

/* ---- Output ------------------------------------------------------------------------------- */
static void json_str(FILE *out, const char *s) {
  fputc('"', out);
  for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
    switch (*p) {
      case '"':
        fputs("\\\"", out);
        break;
      case '\\':
        fputs("\\\\", out);
        break;
      case '\n':
        fputs("\\n", out);
        break;
      case '\r':
        fputs("\\r", out);
        break;
      case '\t':
        fputs("\\t", out);
        break;
      default:
        if (*p < 0x20)
          fprintf(out, "\\u%04x", *p);
        else
          fputc(*p, out);
    }
  }
  fputc('"', out);
}

static void print_json(const result *r, const options *o, const abi_copy *a) {
  FILE *out = stdout;
  fprintf(out, "{\"ok\":%s,\"exitCode\":%d,\"plugin\":", r->exit_code == 0 ? "true" : "false",
          r->exit_code);
  json_str(out, o->plugin);
  fprintf(out, ",\"mode\":\"%s\",\"stage\":", o->lazy ? "lazy" : "now");
  json_str(out, r->stage ? r->stage : "done");
  fprintf(out,
          ",\"host\":{\"abiMajor\":%u,\"abiMinorMin\":%u,\"abiMinorMax\":%u,\"structSize\":%ld,"
          "\"capabilities\":%" PRIu64 "}",
          o->abi_major, o->abi_minor_min, o->abi_minor_max,
          o->struct_size < 0 ? (long)sizeof(claw_host_info) : o->struct_size, o->caps);
  if (a->have) {
    fprintf(out,
            ",\"abiInfo\":{\"structSize\":%u,\"abiMajor\":%u,\"abiMinorMin\":%u,\"abiMinorMax\":%u,"
            "\"pluginName\":",
            a->d.struct_size, a->d.abi_major, a->d.abi_minor_min, a->d.abi_minor_max);
    json_str(out, a->name);
    fputs(",\"pluginVersion\":", out);
    json_str(out, a->version);
    fputs(",\"gitRevision\":", out);
    json_str(out, a->rev);
    fputs(",\"compiler\":", out);
    json_str(out, a->compiler);
    fputs(",\"flavor\":", out);
    json_str(out, a->flavor);
    fprintf(out,
            ",\"napiVersion\":%u,\"agentProtocolMin\":%u,\"agentProtocolMax\":%u,\"capabilities\":"
            "%" PRIu64 "}",
            a->d.build_napi_version, a->d.agent_protocol_min, a->d.agent_protocol_max,
            a->d.capabilities);
  }
  if (r->init_called) {
    fprintf(out, ",\"status\":%d,\"code\":", r->init_status);
    json_str(out, status_name(r->init_status));
  }
  if (r->negotiated && o->threads == 0)
    fprintf(out,
            ",\"negotiated\":{\"abiMajor\":%u,\"abiMinor\":%u,\"capabilities\":%" PRIu64
            ",\"structSize\":%u}",
            r->info.abi_major, r->info.abi_minor, r->info.capabilities, r->info_written);
  if (r->agent_done) {
    fprintf(out, ",\"agent\":{\"status\":%d,\"code\":", r->agent_status);
    json_str(out, status_name(r->agent_status));
    fprintf(out, ",\"version\":%u,\"message\":", r->agent_version);
    json_str(out, r->agent_explain);
    fputc('}', out);
  }
  if (r->extension_done) {
    fputs(",\"extension\":{\"id\":", out);
    json_str(out, o->extension);
    fprintf(out, ",\"found\":%s}", r->extension_found ? "true" : "false");
  }
  if (r->checks[0]) {
    fputs(",\"checks\":", out);
    json_str(out, r->checks);
  }
  if (o->cycles > 1) fprintf(out, ",\"cycles\":%ld", r->cycles_done);
  fputs(",\"log\":[", out);
  for (int i = 0; i < g_log_count; i++) {
    fprintf(out, "%s{\"level\":\"%s\",\"message\":", i ? "," : "", level_name(g_log_level[i]));
    json_str(out, g_log[i]);
    fputc('}', out);
  }
  fputs("]", out);
  if (r->exit_code != 0) {
    fputs(",\"error\":", out);
    json_str(out, r->error);
  }
  fputs(",\"diagnosis\":[", out);
  for (int i = 0; i < r->note_count; i++) {
    if (i) fputc(',', out);
    json_str(out, r->notes[i]);
  }
  fputs("]}\n", out);
}

static void print_human(const result *r, const options *o, const abi_copy *a) {
  if (a->have) {
    printf("plugin:      %s (loaded with %s)\n", o->plugin, o->lazy ? "RTLD_LAZY" : "RTLD_NOW");
    printf(
        "abi info:    %s %s (git %s, %s, %s, Node-API %u), ABI %u.%u-%u.%u, agent protocol %u-%u\n",
        a->name, a->version, a->rev, a->compiler, a->flavor, a->d.build_napi_version,
        a->d.abi_major, a->d.abi_minor_min, a->d.abi_major, a->d.abi_minor_max,
        a->d.agent_protocol_min, a->d.agent_protocol_max);
    printf("host:        %s %s, ABI %u.%u-%u.%u, capabilities 0x%" PRIx64 "\n", o->host_name,
           o->host_version, o->abi_major, o->abi_minor_min, o->abi_major, o->abi_minor_max,
           o->caps);
  }
  if (r->negotiated && o->threads == 0)
    printf("negotiated:  ABI %u.%u, capabilities 0x%" PRIx64
           " (plugin wrote %u bytes of claw_plugin_info)\n",
           r->info.abi_major, r->info.abi_minor, r->info.capabilities, r->info_written);
  if (r->extension_done)
    printf("extension:   %s %s\n", o->extension,
           r->extension_found ? "found" : "not provided (NULL)");
  if (r->agent_done && r->agent_status == CLAW_OK)
    printf("agent:       protocol %u (%s)\n", r->agent_version, r->agent_explain);
  if (r->checks[0]) printf("checks:      %s\n", r->checks);
  if (o->cycles > 1) printf("cycles:      %ld load/init/shutdown/unload cycles\n", r->cycles_done);
  if (r->exit_code != 0) {
    fprintf(stderr, "claw-host: %s\n", r->error);
    for (int i = 0; i < r->note_count; i++) fprintf(stderr, "  %s\n", r->notes[i]);
    fprintf(stderr, "claw-host: exit %d\n", r->exit_code);
  } else {
    printf("ok\n");
  }
}

/* ---- Command line ------------------------------------------------------------------------- */
static void usage(FILE *out) {
  fprintf(out,
          "usage: claw-host <plugin> [options]\n"
          "Loads a claw plugin (dlopen -> claw_abi_info -> claw_init -> shutdown -> dlclose) and "
          "reports.\n"
          "\n"
          "  --abi M.m[-M.m]     ABI range this host offers (default %u.0-%u.%u)\n"
          "  --now | --lazy      dlopen with RTLD_NOW (default) or RTLD_LAZY\n"
          "  --json              one JSON object on stdout instead of text\n"
          "  --struct-size N     claw_host_info.struct_size to declare (smaller/larger than sizeof "
          "%zu)\n"
          "  --out-size N        claw_plugin_info.struct_size to declare (sizeof %zu)\n"
          "  --null-host         call claw_init(NULL, out)\n"
          "  --null-out          call claw_init(host, NULL)\n"
          "  --caps N            host capability bits (default 0x3)\n"
          "  --agent MIN-MAX     also negotiate the agent protocol through the function table\n"
          "  --extension ID      also look up a plugin extension by id\n"
          "  --init-twice        claw_init twice (same table, shutdown returns 1 then 0)\n"
          "  --shutdown-twice    one extra shutdown after the last (must be a harmless no-op)\n"
          "  --threads N         N threads call claw_init at once, then shutdown at once\n"
          "  --cycles N          repeat the whole load..unload cycle N times\n"
          "  --host-name S, --host-version S   how the host names itself in the plugin's messages\n"
          "\n"
          "exit codes: 0 ok, 1 claw-host internal error, 2 usage, 3 plugin file not found,\n"
          "  4 dependent library missing, 5 Node addon loaded with RTLD_NOW (napi_* unresolved),\n"
          "  6 other undefined symbol, 7 not a loadable shared object for this machine,\n"
          "  8 claw_abi_info/claw_init not exported, 9 bad claw_abi_info descriptor,\n"
          "  10 CLAW_E_ABI_MAJOR, 11 CLAW_E_ABI_TOO_OLD, 12 CLAW_E_ABI_TOO_NEW, 13 "
          "CLAW_E_STRUCT_SIZE,\n"
          "  14 CLAW_E_INVALID_ARG, 15 CLAW_E_PROTOCOL_MISMATCH, 16 other claw_init failure,\n"
          "  17 the plugin broke the ABI contract\n",
          CLAW_ABI_MAJOR, CLAW_ABI_MAJOR, CLAW_ABI_MINOR, sizeof(claw_host_info),
          sizeof(claw_plugin_info));
}

static bool parse_u32(const char *s, uint32_t *out) {
  if (s == NULL || *s == '\0') return false;
  char *end = NULL;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 0);
  if (errno != 0 || *end != '\0' || v > UINT32_MAX || s[0] == '-') return false;
  *out = (uint32_t)v;
  return true;
}

static bool parse_long(const char *s, long lo, long hi, long *out) {
  if (s == NULL || *s == '\0') return false;
  char *end = NULL;
  errno = 0;
  long v = strtol(s, &end, 0);
  if (errno != 0 || *end != '\0' || v < lo || v > hi) return false;
  *out = v;
  return true;
}

/* "M.m" -> major, minor */
static bool parse_version(const char *s, uint32_t *major, uint32_t *minor) {
  char buf[128];
  snprintf(buf, sizeof buf, "%s", s);
  char *dot = strchr(buf, '.');
  if (dot == NULL) return false;
  *dot = '\0';
  return parse_u32(buf, major) && parse_u32(dot + 1, minor);
}

static bool parse_abi(const char *s, options *o) {
  char buf[128];
  snprintf(buf, sizeof buf, "%s", s);
  char *dash = strchr(buf, '-');
  uint32_t ma1, mi1, ma2, mi2;
  if (dash == NULL) {
    if (!parse_version(buf, &ma1, &mi1)) return false;
    ma2 = ma1;
    mi2 = mi1;
  } else {
    *dash = '\0';
    if (!parse_version(buf, &ma1, &mi1) || !parse_version(dash + 1, &ma2, &mi2)) return false;
  }
  if (ma1 != ma2) return false;
  o->abi_major = ma1;
  o->abi_minor_min = mi1;
  o->abi_minor_max = mi2;
  return true;
}

static bool parse_pair(const char *s, uint32_t *lo, uint32_t *hi) {
  char buf[64];
  snprintf(buf, sizeof buf, "%s", s);
  char *dash = strchr(buf, '-');
  if (dash == NULL) return parse_u32(buf, lo) && parse_u32(buf, hi);
  *dash = '\0';
  return parse_u32(buf, lo) && parse_u32(dash + 1, hi);
}

static int usage_error(const char *fmt, const char *arg) {
  fprintf(stderr, "claw-host: ");
  fprintf(stderr, fmt, arg);
  fprintf(stderr, "\n(run claw-host --help for usage)\n");
  return EXIT_USAGE;
}

int main(int argc, char **argv) {
  options o;
  memset(&o, 0, sizeof o);
  o.abi_major = CLAW_ABI_MAJOR;
  o.abi_minor_min = 0;
  o.abi_minor_max = CLAW_ABI_MINOR;
  o.struct_size = -1;
  o.out_size = -1;
  o.caps = CLAW_CAP_AGENT_PROTOCOL | CLAW_CAP_THREAD_SAFE;
  o.cycles = 1;
  o.host_name = CLAW_HOST_NAME;
  o.host_version = CLAW_HOST_VERSION;

  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEED_VALUE()                                          \
  do {                                                        \
    if (v == NULL) return usage_error("%s needs a value", a); \
    i++;                                                      \
  } while (0)
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      usage(stdout);
      return EXIT_OK_;
    } else if (strcmp(a, "--abi") == 0) {
      NEED_VALUE();
      if (!parse_abi(v, &o))
        return usage_error("--abi expects M.m or M.m-M.m with one major, got '%s'", v);
    } else if (strcmp(a, "--now") == 0) {
      o.lazy = false;
    } else if (strcmp(a, "--lazy") == 0) {
      o.lazy = true;
    } else if (strcmp(a, "--json") == 0) {
      o.json = true;
    } else if (strcmp(a, "--struct-size") == 0) {
      NEED_VALUE();
      if (!parse_long(v, 0, 1 << 20, &o.struct_size))
        return usage_error("--struct-size expects 0..1048576, got '%s'", v);
    } else if (strcmp(a, "--out-size") == 0) {
      NEED_VALUE();
      if (!parse_long(v, 0, 1 << 20, &o.out_size))
        return usage_error("--out-size expects 0..1048576, got '%s'", v);
    } else if (strcmp(a, "--null-host") == 0) {
      o.null_host = true;
    } else if (strcmp(a, "--null-out") == 0) {
      o.null_out = true;
    } else if (strcmp(a, "--caps") == 0) {
      NEED_VALUE();
      char *end = NULL;
      errno = 0;
      o.caps = strtoull(v, &end, 0);
      if (errno != 0 || *end != '\0' || v[0] == '-')
        return usage_error("--caps expects a number, got '%s'", v);
    } else if (strcmp(a, "--agent") == 0) {
      NEED_VALUE();
      if (!parse_pair(v, &o.agent_min, &o.agent_max))
        return usage_error("--agent expects MIN-MAX, got '%s'", v);
      o.agent = true;
    } else if (strcmp(a, "--extension") == 0) {
      NEED_VALUE();
      o.extension = v;
    } else if (strcmp(a, "--init-twice") == 0) {
      o.init_twice = true;
    } else if (strcmp(a, "--shutdown-twice") == 0) {
      o.shutdown_twice = true;
    } else if (strcmp(a, "--threads") == 0) {
      NEED_VALUE();
      long n;
      if (!parse_long(v, 1, 256, &n)) return usage_error("--threads expects 1..256, got '%s'", v);
      o.threads = (int)n;
    } else if (strcmp(a, "--cycles") == 0) {
      NEED_VALUE();
      if (!parse_long(v, 1, 100000000, &o.cycles))
        return usage_error("--cycles expects 1..100000000, got '%s'", v);
    } else if (strcmp(a, "--host-name") == 0) {
      NEED_VALUE();
      o.host_name = v;
    } else if (strcmp(a, "--host-version") == 0) {
      NEED_VALUE();
      o.host_version = v;
    } else if (a[0] == '-' && a[1] != '\0') {
      return usage_error("unknown option '%s'", a);
    } else if (o.plugin == NULL) {
      o.plugin = a;
    } else {
      return usage_error("unexpected argument '%s' (one plugin path only)", a);
    }
#undef NEED_VALUE
  }
  if (o.plugin == NULL) {
    usage(stderr);
    return EXIT_USAGE;
  }
  if (o.threads > 0 &&
      (o.null_host || o.null_out || o.struct_size >= 0 || o.out_size >= 0 || o.init_twice))
    return usage_error(
        "%s",
        "--threads cannot be combined with --null-*, --struct-size, --out-size or --init-twice");

  g_log_echo = !o.json;
  result r;
  memset(&r, 0, sizeof r);

  /* A bare file name that exists here means that file, not a library-path search. */
  char path[PATH_MAX + 2];
  if (strchr(o.plugin, '/') == NULL && access(o.plugin, F_OK) == 0)
    snprintf(path, sizeof path, "./%s", o.plugin);
  else
    snprintf(path, sizeof path, "%s", o.plugin);
  if (strchr(path, '/') != NULL && access(path, R_OK) != 0) {
    fail(&r, EXIT_NOT_FOUND, "load", "cannot read plugin %s: %s", o.plugin, strerror(errno));
    note(&r,
         "check the path; the build puts the plain library at "
         "build/Release/lib.target/libclaw_byterover.so "
         "and the Node addon at build/Release/claw_byterover.node");
  }

  for (long c = 0; r.exit_code == 0 && c < o.cycles; c++) {
    if (c > 0) {
      /* Keep only the last cycle's plugin log lines and checks. */
      clear_log();
      r.checks[0] = '\0';
    }
    run_cycle(&r, &o, path);
    r.cycles_done = c + 1;
  }

  if (o.json)
    print_json(&r, &o, &r.abi);
  else
    print_human(&r, &o, &r.abi);
  fflush(stdout);
  for (int i = 0; i < r.note_count; i++) free(r.notes[i]);
  clear_log();
  return r.exit_code;
}
