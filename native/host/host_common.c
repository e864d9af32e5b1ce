/*
 * Shared by claw-host (native/host/claw_host.c) and the ABI test-matrix driver
 * (native/test/claw_host_matrix.c): see host_common.h.
 */
#define _GNU_SOURCE
#include "host_common.h"

#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *host_program = CLAW_HOST_NAME;

const char host_exit_codes_usage[] =
    "exit codes: 0 ok, 1 host internal error, 2 usage, 3 plugin file not found,\n"
    "  4 dependent library missing, 5 Node addon loaded with RTLD_NOW (napi_* unresolved),\n"
    "  6 other undefined symbol, 7 not a loadable shared object for this machine,\n"
    "  8 claw_abi_info/claw_init not exported, 9 bad claw_abi_info descriptor,\n"
    "  10 CLAW_E_ABI_MAJOR, 11 CLAW_E_ABI_TOO_OLD, 12 CLAW_E_ABI_TOO_NEW, 13 CLAW_E_STRUCT_SIZE,\n"
    "  14 CLAW_E_INVALID_ARG, 15 CLAW_E_PROTOCOL_MISMATCH, 16 other claw_init failure,\n"
    "  17 the plugin broke the ABI contract\n";

void host_result_init(host_result *r) {
  memset(r, 0, sizeof *r);
  r->host_struct_size = (long)sizeof(claw_host_info);
  r->cycles = 1;
}

void host_note(host_result *r, const char *fmt, ...) {
  if (r->note_count >= HOST_MAX_NOTES) return;
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  r->notes[r->note_count++] = strdup(buf);
}

void host_fail(host_result *r, int code, const char *stage, const char *fmt, ...) {
  r->exit_code = code;
  r->stage = stage;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->error, sizeof r->error, fmt, ap);
  va_end(ap);
}

/* ---- The plugin log ----------------------------------------------------------------------- */
#define MAX_LOG 64
static pthread_mutex_t g_log_lock = PTHREAD_MUTEX_INITIALIZER;
static char *g_log[MAX_LOG];
static int g_log_level[MAX_LOG];
static int g_log_count;
static bool g_log_echo;

void host_log_echo(bool echo) { g_log_echo = echo; }

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

void host_clear_log(void) {
  pthread_mutex_lock(&g_log_lock);
  for (int i = 0; i < g_log_count; i++) free(g_log[i]);
  g_log_count = 0;
  pthread_mutex_unlock(&g_log_lock);
}

/* ---- Load-failure diagnosis --------------------------------------------------------------
 * claw-host stays the small reference host: it classifies a failure from what the dynamic loader
 * says (dlerror, dlsym) into an exit code and the next step. Reading the file itself (which symbol
 * is hidden or mangled, which dependency ld.so cannot find and where it looked, the file's
 * architecture, glibc ceilings) is done once, in TypeScript, by `claw-byterover doctor --plugin
 * <file>` (lib/doctor/elf.ts, lib/doctor/native-file.ts), which also runs claw-host and quotes it.
 */
static void doctor_hint(host_result *r, const char *path) {
  host_note(
      r,
      "for the file's own account (symbols, dependencies, architecture): claw-byterover doctor "
      "--plugin %s",
      path);
}

static void diagnose_missing_entry(host_result *r, const char *path, const char *symbol) {
  host_note(r,
            "%s is not exported by %s: it is hidden (not marked CLAW_EXPORT / not listed in "
            "native/exports.map), "
            "compiled as C++ without extern \"C\" (claw/plugin.h declares the entry points extern "
            "\"C\"), or this "
            "is not a claw plugin",
            symbol, path);
  host_note(r, "check with: nm -D --defined-only %s | grep claw_", path);
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
static void suggest_plain_library(host_result *r, const char *path) {
  char dir[PATH_MAX], candidate[PATH_MAX + 64];
  dirname_of(path, dir, sizeof dir);
  const char *rel[] = {"libclaw_byterover.so", "lib.target/libclaw_byterover.so",
                       "../lib/libclaw_byterover.so"};
  for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
    snprintf(candidate, sizeof candidate, "%s/%s", dir, rel[i]);
    if (access(candidate, R_OK) == 0) {
      host_note(r, "the plain library is right there: claw-host %s --now", candidate);
      return;
    }
  }
}

/* Classifies a dlopen failure into an exit code and a diagnosis. */
static void diagnose_dlopen(host_result *r, const host_options *o, const char *path,
                            const char *err) {
  const char *undef = strstr(err, "undefined symbol: ");
  if (undef != NULL) {
    char sym[256];
    snprintf(sym, sizeof sym, "%s", undef + strlen("undefined symbol: "));
    sym[strcspn(sym, " \t\n,(")] = '\0';
    if ((strncmp(sym, "napi_", 5) == 0 || strncmp(sym, "node_api_", 9) == 0) && !o->lazy) {
      host_fail(r, EXIT_NODE_ADDON_NOW, "load",
                "cannot load %s with RTLD_NOW: undefined symbol: %s", path, sym);
      host_note(
          r,
          "this is a Node addon (.node): its Node-API functions (napi_*) are provided only by the "
          "node "
          "executable, and RTLD_NOW (or LD_BIND_NOW=1, or a host linked -z now) insists on "
          "resolving "
          "them at load time");
      host_note(
          r,
          "fix: load it with RTLD_LAZY (claw-host --lazy): nothing on the claw_init path calls "
          "Node-API; "
          "or, better, load the plain shared library libclaw_byterover.so, which has no Node-API "
          "references");
      suggest_plain_library(r, path);
    } else if (strncmp(sym, "napi_", 5) == 0 || strncmp(sym, "node_api_", 9) == 0) {
      host_fail(r, EXIT_NODE_ADDON_NOW, "load",
                "cannot load %s even with RTLD_LAZY: undefined symbol: %s", path, sym);
      host_note(r,
                "this Node addon takes the address of %s (a data relocation, bound at load time "
                "whatever the "
                "RTLD mode), so it cannot load outside node at all",
                sym);
      host_note(r,
                "fix: load the plain shared library libclaw_byterover.so instead (no Node-API "
                "references)");
      suggest_plain_library(r, path);
    } else {
      host_fail(r, EXIT_UNDEFINED_SYM, "load", "cannot load %s: undefined symbol: %s", path, sym);
      host_note(r,
                "the plugin references %s but nothing loaded provides it: it was linked against a "
                "library "
                "or version this machine lacks (see: ldd -r %s)",
                sym, path);
      if (!o->lazy)
        host_note(r, "RTLD_LAZY (--lazy) would defer the failure to the first call, not fix it");
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
    host_fail(r, EXIT_MISSING_DEP, "load", "cannot load %s: a library it depends on is missing: %s",
              path, dep);
    host_note(r, "see what else ld.so cannot find: ldd %s", path);
    host_note(r,
              "fix: install the package that provides %s, or add its directory to LD_LIBRARY_PATH",
              dep);
    return;
  }
  host_fail(r, EXIT_NOT_LOADABLE, "load", "cannot load %s: %s", path, err);
  host_note(
      r,
      "%s is not a shared library this host can load: check that it is the plugin built for this "
      "machine (file %s)",
      path, path);
  doctor_hint(r, path);
}

void host_resolve_path(host_result *r, const host_options *o, char *path, size_t len) {
  if (strchr(o->plugin, '/') == NULL && access(o->plugin, F_OK) == 0)
    snprintf(path, len, "./%s", o->plugin);
  else
    snprintf(path, len, "%s", o->plugin);
  if (strchr(path, '/') != NULL && access(path, R_OK) != 0) {
    host_fail(r, EXIT_NOT_FOUND, "load", "cannot read plugin %s: %s", o->plugin, strerror(errno));
    host_note(r,
              "check the path; the build puts the plain library at "
              "build/Release/lib.target/libclaw_byterover.so "
              "and the Node addon at build/Release/claw_byterover.node");
  }
}

typedef const claw_abi_descriptor *(*claw_abi_info_fn)(void);

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

bool host_load(host_result *r, const host_options *o, const char *path, host_plugin *p) {
  memset(p, 0, sizeof *p);
  dlerror();
  void *handle = dlopen(path, (o->lazy ? RTLD_LAZY : RTLD_NOW) | RTLD_LOCAL);
  if (handle == NULL) {
    const char *err = dlerror();
    diagnose_dlopen(r, o, o->plugin, err ? err : "unknown dlopen error");
    return false;
  }

  claw_abi_info_fn abi_info = (claw_abi_info_fn)dlsym(handle, "claw_abi_info");
  claw_init_fn init = (claw_init_fn)dlsym(handle, "claw_init");
  claw_strerror_fn strerr = (claw_strerror_fn)dlsym(handle, "claw_strerror");
  if (abi_info == NULL || init == NULL) {
    /* claw_init is the one a host cannot do without: name it first when both are missing. */
    const char *missing = init == NULL ? "claw_init" : "claw_abi_info";
    host_fail(r, EXIT_NO_ENTRY, "symbols", "%s loaded, but dlsym failed: undefined symbol: %s",
              o->plugin, missing);
    diagnose_missing_entry(r, o->plugin, missing);
    if (init == NULL && abi_info == NULL) host_note(r, "claw_abi_info is missing too (same cause)");
    dlclose(handle);
    return false;
  }

  const claw_abi_descriptor *d = abi_info();
  if (d == NULL ||
      d->struct_size < offsetof(claw_abi_descriptor, capabilities) + sizeof(uint64_t)) {
    host_fail(r, EXIT_BAD_DESCRIPTOR, "abi_info", "claw_abi_info returned %s",
              d == NULL ? "NULL" : "a descriptor shorter than the ABI 1.0 layout");
    dlclose(handle);
    return false;
  }
  copy_abi(&r->abi, d);
  p->handle = handle;
  p->init = init;
  p->strerr = strerr;
  return true;
}

/* ---- claw_init ---------------------------------------------------------------------------- */
const char *host_status_name(int32_t code) {
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

int host_exit_for_init(int32_t code) {
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

claw_host_info *host_make_host(const host_options *o, uint32_t claimed) {
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

unsigned char *host_make_out(uint32_t claimed, size_t *alloc_out) {
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

bool host_guard_intact(const unsigned char *buf, size_t from, size_t to) {
  for (size_t i = from; i < to; i++)
    if (buf[i] != GUARD_BYTE) return false;
  return true;
}

void host_init_refused(host_result *r, const host_plugin *p, int32_t st, uint32_t host_size,
                       const unsigned char *outbuf, uint32_t out_size, size_t out_alloc) {
  host_fail(r, host_exit_for_init(st), "init", "claw_init refused: %s (%d): %s",
            host_status_name(st), st, p->strerr ? p->strerr(st) : "");
  if (st == CLAW_E_STRUCT_SIZE && host_size < CLAW_HOST_INFO_MIN_SIZE)
    host_note(r,
              "claw_host_info.struct_size %u is below CLAW_HOST_INFO_MIN_SIZE %u, so the plugin "
              "cannot read even "
              "the version fields (nor the log callback)",
              host_size, (unsigned)CLAW_HOST_INFO_MIN_SIZE);
  if (outbuf != NULL && !host_guard_intact(outbuf, out_size, out_alloc))
    host_fail(r, EXIT_CONTRACT, "checks",
              "claw_init failed but wrote past claw_plugin_info.struct_size (%u)", out_size);
}

const claw_plugin_funcs *host_accept_init(host_result *r, const unsigned char *outbuf,
                                          uint32_t out_size, size_t out_alloc) {
  memcpy(&r->info, outbuf, sizeof r->info < out_alloc ? sizeof r->info : out_alloc);
  r->info_written = r->info.struct_size;
  r->negotiated = true;
  const claw_plugin_funcs *funcs = r->info.funcs;
  if (!host_guard_intact(outbuf, out_size, out_alloc)) {
    host_fail(r, EXIT_CONTRACT, "checks",
              "the plugin wrote past claw_plugin_info.struct_size (%u bytes)", out_size);
  } else if (r->info_written > out_size) {
    host_fail(r, EXIT_CONTRACT, "checks",
              "the plugin reports writing %u bytes into a %u-byte claw_plugin_info",
              r->info_written, out_size);
  } else if (funcs == NULL ||
             funcs->struct_size <
                 offsetof(claw_plugin_funcs, negotiate_agent_protocol) + sizeof(void *) ||
             funcs->shutdown == NULL || funcs->get_extension == NULL) {
    host_fail(r, EXIT_CONTRACT, "checks", "the plugin returned an incomplete function table");
    funcs = NULL;
  }
  return funcs;
}

const claw_plugin_funcs *host_call_init(host_result *r, const host_plugin *p,
                                        const claw_host_info *host, uint32_t host_size,
                                        uint32_t out_size, bool null_out) {
  size_t out_alloc = 0;
  unsigned char *outbuf = null_out ? NULL : host_make_out(out_size, &out_alloc);
  if (!null_out && outbuf == NULL) {
    host_fail(r, EXIT_INTERNAL, "init", "%s: out of memory", host_program);
    return NULL;
  }
  int32_t st = p->init(host, (claw_plugin_info *)outbuf);
  r->init_called = true;
  r->init_status = st;
  const claw_plugin_funcs *funcs = NULL;
  if (st != CLAW_OK)
    host_init_refused(r, p, st, host_size, outbuf, out_size, out_alloc);
  else
    funcs = host_accept_init(r, outbuf, out_size, out_alloc);
  free(outbuf);
  return funcs;
}

void host_use_table(host_result *r, const host_options *o, const claw_plugin_funcs *funcs) {
  if (r->exit_code == 0 && funcs != NULL && o->extension != NULL) {
    r->extension_done = true;
    r->extension_found = funcs->get_extension(o->extension) != NULL;
  }

  if (r->exit_code == 0 && funcs != NULL && o->agent) {
    r->agent_done = true;
    r->agent_status = funcs->negotiate_agent_protocol(o->agent_min, o->agent_max, &r->agent_version,
                                                      r->agent_explain, sizeof r->agent_explain);
    if (r->agent_status != CLAW_OK)
      host_fail(r, r->agent_status == CLAW_E_PROTOCOL_MISMATCH ? EXIT_PROTOCOL : EXIT_INVALID_ARG,
                "agent", "agent protocol refused: %s (%d): %s", host_status_name(r->agent_status),
                r->agent_status, r->agent_explain);
  }
}

void host_final_shutdown(host_result *r, const claw_plugin_funcs *funcs) {
  int32_t last = funcs->shutdown();
  if (last != 0 && r->exit_code == 0)
    host_fail(r, EXIT_CONTRACT, "checks",
              "the final shutdown returned %d (expected 0 references left)", last);
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

static void print_json(const host_result *r, const host_options *o) {
  const abi_copy *a = &r->abi;
  FILE *out = stdout;
  fprintf(out, "{\"ok\":%s,\"exitCode\":%d,\"plugin\":", r->exit_code == 0 ? "true" : "false",
          r->exit_code);
  json_str(out, o->plugin);
  fprintf(out, ",\"mode\":\"%s\",\"stage\":", o->lazy ? "lazy" : "now");
  json_str(out, r->stage ? r->stage : "done");
  fprintf(out,
          ",\"host\":{\"abiMajor\":%u,\"abiMinorMin\":%u,\"abiMinorMax\":%u,\"structSize\":%ld,"
          "\"capabilities\":%" PRIu64 "}",
          o->abi_major, o->abi_minor_min, o->abi_minor_max, r->host_struct_size, o->caps);
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
    json_str(out, host_status_name(r->init_status));
  }
  if (r->negotiated && !r->hide_negotiated)
    fprintf(out,
            ",\"negotiated\":{\"abiMajor\":%u,\"abiMinor\":%u,\"capabilities\":%" PRIu64
            ",\"structSize\":%u}",
            r->info.abi_major, r->info.abi_minor, r->info.capabilities, r->info_written);
  if (r->agent_done) {
    fprintf(out, ",\"agent\":{\"status\":%d,\"code\":", r->agent_status);
    json_str(out, host_status_name(r->agent_status));
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
  if (r->cycles > 1) fprintf(out, ",\"cycles\":%ld", r->cycles_done);
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

static void print_human(const host_result *r, const host_options *o) {
  const abi_copy *a = &r->abi;
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
  if (r->negotiated && !r->hide_negotiated)
    printf("negotiated:  ABI %u.%u, capabilities 0x%" PRIx64
           " (plugin wrote %u bytes of claw_plugin_info)\n",
           r->info.abi_major, r->info.abi_minor, r->info.capabilities, r->info_written);
  if (r->extension_done)
    printf("extension:   %s %s\n", o->extension,
           r->extension_found ? "found" : "not provided (NULL)");
  if (r->agent_done && r->agent_status == CLAW_OK)
    printf("agent:       protocol %u (%s)\n", r->agent_version, r->agent_explain);
  if (r->checks[0]) printf("checks:      %s\n", r->checks);
  if (r->cycles > 1) printf("cycles:      %ld load/init/shutdown/unload cycles\n", r->cycles_done);
  if (r->exit_code != 0) {
    fprintf(stderr, "%s: %s\n", host_program, r->error);
    for (int i = 0; i < r->note_count; i++) fprintf(stderr, "  %s\n", r->notes[i]);
    fprintf(stderr, "%s: exit %d\n", host_program, r->exit_code);
  } else {
    printf("ok\n");
  }
}

void host_print(const host_result *r, const host_options *o) {
  if (o->json)
    print_json(r, o);
  else
    print_human(r, o);
  fflush(stdout);
}

void host_result_free(host_result *r) {
  for (int i = 0; i < r->note_count; i++) free(r->notes[i]);
  r->note_count = 0;
  host_clear_log();
}

/* ---- Command line ------------------------------------------------------------------------- */
static bool parse_u32(const char *s, uint32_t *out) {
  if (s == NULL || *s == '\0') return false;
  char *end = NULL;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 0);
  if (errno != 0 || *end != '\0' || v > UINT32_MAX || s[0] == '-') return false;
  *out = (uint32_t)v;
  return true;
}

bool host_parse_long(const char *s, long lo, long hi, long *out) {
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

static bool parse_abi(const char *s, host_options *o) {
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

int host_usage_error(const char *fmt, const char *arg) {
  fprintf(stderr, "%s: ", host_program);
  fprintf(stderr, fmt, arg);
  fprintf(stderr, "\n(run %s --help for usage)\n", host_program);
  return EXIT_USAGE;
}

void host_options_init(host_options *o) {
  memset(o, 0, sizeof *o);
  o->abi_major = CLAW_ABI_MAJOR;
  o->abi_minor_min = 0;
  o->abi_minor_max = CLAW_ABI_MINOR;
  o->caps = CLAW_CAP_AGENT_PROTOCOL | CLAW_CAP_THREAD_SAFE;
  o->host_name = CLAW_HOST_NAME;
  o->host_version = CLAW_HOST_VERSION;
}

void host_common_usage(FILE *out) {
  fprintf(
      out,
      "  --abi M.m[-M.m]     ABI range this host offers (default %u.0-%u.%u)\n"
      "  --now | --lazy      dlopen with RTLD_NOW (default) or RTLD_LAZY\n"
      "  --json              one JSON object on stdout instead of text\n"
      "  --caps N            host capability bits (default 0x3)\n"
      "  --agent MIN-MAX     also negotiate the agent protocol through the function table\n"
      "  --extension ID      also look up a plugin extension by id\n"
      "  --host-name S, --host-version S   how the host names itself in the plugin's messages\n",
      CLAW_ABI_MAJOR, CLAW_ABI_MAJOR, CLAW_ABI_MINOR);
}

int host_parse_common(host_options *o, int argc, char **argv, int *i) {
  const char *a = argv[*i];
  const char *v = *i + 1 < argc ? argv[*i + 1] : NULL;
#define NEED_VALUE()                                                     \
  do {                                                                   \
    if (v == NULL) return (host_usage_error("%s needs a value", a), -1); \
    (*i)++;                                                              \
  } while (0)
  if (strcmp(a, "--abi") == 0) {
    NEED_VALUE();
    if (!parse_abi(v, o))
      return (host_usage_error("--abi expects M.m or M.m-M.m with one major, got '%s'", v), -1);
  } else if (strcmp(a, "--now") == 0) {
    o->lazy = false;
  } else if (strcmp(a, "--lazy") == 0) {
    o->lazy = true;
  } else if (strcmp(a, "--json") == 0) {
    o->json = true;
  } else if (strcmp(a, "--caps") == 0) {
    NEED_VALUE();
    char *end = NULL;
    errno = 0;
    o->caps = strtoull(v, &end, 0);
    if (errno != 0 || *end != '\0' || v[0] == '-')
      return (host_usage_error("--caps expects a number, got '%s'", v), -1);
  } else if (strcmp(a, "--agent") == 0) {
    NEED_VALUE();
    if (!parse_pair(v, &o->agent_min, &o->agent_max))
      return (host_usage_error("--agent expects MIN-MAX, got '%s'", v), -1);
    o->agent = true;
  } else if (strcmp(a, "--extension") == 0) {
    NEED_VALUE();
    o->extension = v;
  } else if (strcmp(a, "--host-name") == 0) {
    NEED_VALUE();
    o->host_name = v;
  } else if (strcmp(a, "--host-version") == 0) {
    NEED_VALUE();
    o->host_version = v;
  } else if (a[0] == '-' && a[1] != '\0') {
    return 0;
  } else if (o->plugin == NULL) {
    o->plugin = a;
  } else {
    return (host_usage_error("unexpected argument '%s' (one plugin path only)", a), -1);
  }
#undef NEED_VALUE
  return 1;
}
