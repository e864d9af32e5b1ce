/*
 * The parts of a claw host that claw-host (native/host/claw_host.c, the reference host) and the
 * ABI test-matrix driver (native/test/claw_host_matrix.c) share: the exit codes, the plugin log
 * callback, the load-failure diagnosis, building the structs claw_init reads and writes, checking
 * what it wrote, using the function table, the report (text or JSON) and the common options.
 *
 * Plain C11 + POSIX + glibc (dlopen); depends only on native/include/claw/plugin.h.
 */
#ifndef CLAW_HOST_COMMON_H
#define CLAW_HOST_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "claw/plugin.h"

#define CLAW_HOST_NAME "claw-host"
#define CLAW_HOST_VERSION "1.0.0"

/* ---- Exit codes (documented in usage and docs/readme/native.md; stable) ------------------- */
enum {
  EXIT_OK_ = 0,
  EXIT_INTERNAL = 1,       /* the host itself failed (out of memory, thread creation, ...) */
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

/* The usage lines for the exit codes above (both programs print them). */
extern const char host_exit_codes_usage[];

/* ---- Options every host run has ------------------------------------------------------------- */
typedef struct host_options {
  const char *plugin;
  uint32_t abi_major, abi_minor_min, abi_minor_max;
  bool lazy;
  bool json;
  uint64_t caps;
  bool agent;
  uint32_t agent_min, agent_max;
  const char *extension;
  const char *host_name, *host_version;
} host_options;

/* A copy of the descriptor's strings, taken while the library is loaded. */
typedef struct abi_copy {
  bool have;
  claw_abi_descriptor d;
  char name[128], version[64], rev[64], compiler[64], flavor[64];
} abi_copy;

/* ---- Collected result, printed once at the end ------------------------------------------- */
#define HOST_MAX_NOTES 32
typedef struct host_result {
  int exit_code;
  const char *stage; /* "load", "symbols", "abi_info", "init", "agent", "checks", "done" */
  char error[1024];  /* one line: what failed */
  char *notes[HOST_MAX_NOTES]; /* diagnosis / hint lines */
  int note_count;
  abi_copy abi;     /* copied from claw_abi_info() while the library is loaded */
  bool init_called; /* claw_init was reached (status/code are meaningful) */
  int32_t init_status;
  bool negotiated;
  bool hide_negotiated;  /* several concurrent inits: no single claw_plugin_info to show */
  claw_plugin_info info; /* what claw_init wrote (copied) */
  uint32_t info_written;
  bool agent_done;
  int32_t agent_status;
  uint32_t agent_version;
  char agent_explain[256];
  bool extension_done;
  bool extension_found;
  long host_struct_size; /* the claw_host_info.struct_size declared (reported under "host") */
  char checks[1024];     /* test driver: summary of the extra checks */
  long cycles;           /* test driver: cycles requested (reported when > 1) */
  long cycles_done;
} host_result;

void host_result_init(host_result *r);
void host_note(host_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void host_fail(host_result *r, int code, const char *stage, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- The plugin log (thread-safe) --------------------------------------------------------- */
void host_log_echo(bool echo); /* echo plugin log lines to stderr as they arrive (human mode) */
void host_clear_log(void);

/* ---- Loading ------------------------------------------------------------------------------- */
typedef int32_t (*claw_init_fn)(const claw_host_info *, claw_plugin_info *);
typedef const char *(*claw_strerror_fn)(int32_t);

typedef struct host_plugin {
  void *handle;
  claw_init_fn init;
  claw_strerror_fn strerr;
} host_plugin;

/* The path to dlopen for o->plugin (a bare file name that exists here means that file); records
 * EXIT_NOT_FOUND in r when it cannot be read. */
void host_resolve_path(host_result *r, const host_options *o, char *path, size_t len);
/* dlopen + dlsym(claw_abi_info, claw_init, claw_strerror) + claw_abi_info (copied into r->abi).
 * On failure records the exit code and diagnosis in r, leaves nothing loaded and returns false. */
bool host_load(host_result *r, const host_options *o, const char *path, host_plugin *p);

/* ---- claw_init ---------------------------------------------------------------------------- */
const char *host_status_name(int32_t code);
int host_exit_for_init(int32_t code);
/* claw_host_info with `claimed` bytes declared, at least sizeof allocated (zeroed), any bytes past
 * sizeof(claw_host_info) filled with a guard pattern the plugin must ignore. free() it. */
claw_host_info *host_make_host(const host_options *o, uint32_t claimed);
/* claw_plugin_info buffer of max(claimed, sizeof) + a guard tail, pattern-filled past `claimed`. */
unsigned char *host_make_out(uint32_t claimed, size_t *alloc_out);
bool host_guard_intact(const unsigned char *buf, size_t from, size_t to);
/* Records a refused claw_init (status st) in r, with the struct-size hint and the guard check. */
void host_init_refused(host_result *r, const host_plugin *p, int32_t st, uint32_t host_size,
                       const unsigned char *outbuf, uint32_t out_size, size_t out_alloc);
/* After a successful claw_init: copies what was written into r and checks the guard, the written
 * size and the function table. Returns the table, or NULL when it is incomplete. */
const claw_plugin_funcs *host_accept_init(host_result *r, const unsigned char *outbuf,
                                          uint32_t out_size, size_t out_alloc);
/* One claw_init with `host` (NULL allowed) and a fresh guarded claw_plugin_info declaring out_size
 * bytes (NULL instead when null_out): records the status, then the refusal (host_init_refused) or
 * what was written (host_accept_init). Returns the function table, or NULL when there is none. */
const claw_plugin_funcs *host_call_init(host_result *r, const host_plugin *p,
                                        const claw_host_info *host, uint32_t host_size,
                                        uint32_t out_size, bool null_out);
/* --extension and --agent through the function table. */
void host_use_table(host_result *r, const host_options *o, const claw_plugin_funcs *funcs);
/* The last shutdown: must leave no reference. */
void host_final_shutdown(host_result *r, const claw_plugin_funcs *funcs);

/* ---- Output ------------------------------------------------------------------------------- */
void host_print(const host_result *r, const host_options *o);
void host_result_free(host_result *r);

/* ---- Command line ------------------------------------------------------------------------- */
extern const char *host_program; /* name in messages: "claw-host" */
void host_options_init(host_options *o);
bool host_parse_long(const char *s, long lo, long hi, long *out);
int host_usage_error(const char *fmt, const char *arg);
/* Parses argv[*i] when it is a common option (consuming its value). Returns 1 when it was one,
 * 0 when it is not a common option, or -1 after a usage error was printed (exit EXIT_USAGE). */
int host_parse_common(host_options *o, int argc, char **argv, int *i);
/* Usage lines of the common options. */
void host_common_usage(FILE *out);

#endif
