/*
 * claw/plugin.h: the claw plugin ABI (C, usable from C99/C11 and C++).
 *
 * This header is the whole contract between a claw-runtime (the "host") and a claw plugin such as
 * claw-byterover. A host implementer codes against this file alone.
 *
 * ---------------------------------------------------------------------------------------------
 * How a host loads a plugin
 * ---------------------------------------------------------------------------------------------
 *   1. dlopen(path, RTLD_NOW | RTLD_LOCAL) the plain shared library (libclaw_byterover.so).
 *      The Node addon (claw_byterover.node) exports the same entry points but also references
 *      Node-API functions (napi_*) that only the `node` executable provides: outside Node it loads
 *      only with RTLD_LAZY (and not with LD_BIND_NOW=1). Prefer the plain .so.
 *   2. dlsym("claw_abi_info") and call it. It is side-effect free, may be called any number of
 *      times from any thread, before or after claw_init, and never fails. Check
 *      `abi_major == CLAW_ABI_MAJOR` and the minor range before calling in.
 *   3. dlsym("claw_init"), fill a claw_host_info, zero a claw_plugin_info, set both struct_size
 *      fields to sizeof, and call claw_init(&host, &plugin). 0 (CLAW_OK) means the plugin is usable
 *      through plugin.funcs at version plugin.abi_major.plugin.abi_minor. A negative value is one
 * of the CLAW_E_* codes below; claw_strerror() names it, and the plugin has already written one
 *      line through host.log explaining the refusal and what to upgrade.
 *   4. When done, call plugin.funcs->shutdown() once per successful claw_init, then dlclose.
 *
 * ---------------------------------------------------------------------------------------------
 * Versioning rules
 * ---------------------------------------------------------------------------------------------
 *  - The ABI version is MAJOR.MINOR. Each side supports one major and a contiguous minor range.
 *  - Majors must be equal. A major bump means an incompatible change (a field removed, moved,
 *    retyped, or a function's meaning changed).
 *  - Within a major, growth is append-only: a new minor may add fields at the END of a struct or
 *    entries at the END of the function table, never anything else. Each such addition is marked
 *    "since 1.N" below. Every struct starts with `uint32_t struct_size` (the size the writer
 *    compiled with), so an old reader can skip what it does not know and a new reader can tell an
 *    old writer's struct is shorter. The plugin copies at most min(host struct_size, its own
 *    sizeof) bytes of a host struct into zeroed storage (missing fields read as 0/NULL), and writes
 * at most `struct_size` bytes into a struct the host owns.
 *  - Negotiation (the Vulkan loader's negotiate-down rule): agreed minor = min(host max, plugin
 * max); refused when the agreed minor is below either side's minimum.
 *  - Optional features are extensions looked up by string id, "<vendor>.<name>/<version>"
 *    (e.g. "claw.byterover.recall/1"), in both directions (CLAP's model). An unknown id yields
 *    NULL; a new extension never needs an ABI bump.
 *
 * ---------------------------------------------------------------------------------------------
 * Threading
 * ---------------------------------------------------------------------------------------------
 *  - claw_abi_info, claw_strerror: any thread, any time, lock-free, no side effects.
 *  - claw_init and funcs->shutdown: any thread, concurrently; they are reference-counted under one
 *    internal lock. N successful claw_init calls need N shutdown calls; only the last one releases.
 *  - Function-table entries: any thread, between a successful claw_init and the matching shutdown,
 *    unless the entry says otherwise.
 *  - The host's callbacks (log, get_extension) may be called by the plugin from any thread from
 *    inside claw_init, and, for the first successful initializer's host_info, until the last
 *    shutdown returns. They must be thread-safe.
 *
 * The core ABI does not allocate on the host's behalf: every pointer it returns points to static
 * storage owned by the plugin and valid until the library is unloaded (dlclose). An extension may
 * hand out objects the host must release through that extension; its header says which (e.g. the
 * recall extension's indexes and results objects).
 *
 * ---------------------------------------------------------------------------------------------
 * Extensions this plugin provides (funcs->get_extension)
 * ---------------------------------------------------------------------------------------------
 *   "claw.byterover.recall/1"  const claw_recall_v1 *  context-tree recall: a BM25F full-text index
 *                              over markdown notes. Defined and documented in claw/recall.h
 *                              (included below). Since ABI 1.0.
 */
#ifndef CLAW_PLUGIN_H
#define CLAW_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Export macro ----------------------------------------------------------------------------
 * The plugin is compiled with -fvisibility=hidden; CLAW_EXPORT gives an entry point default
 * visibility so it lands in the dynamic symbol table (the linker version script native/exports.map
 * then tags it CLAW_1.0). Hosts may ignore this macro. Defining CLAW_TEST_NO_EXPORT (tests only)
 * compiles the entry points hidden, reproducing the "undefined symbol: claw_init" failure. */
#if defined(CLAW_TEST_NO_EXPORT)
#define CLAW_EXPORT
#elif defined(_WIN32)
#define CLAW_EXPORT __declspec(dllexport)
#else
#define CLAW_EXPORT __attribute__((visibility("default")))
#endif

/* ---- ABI version of THIS header --------------------------------------------------------------
 * A host compiled against this header speaks CLAW_ABI_MAJOR.CLAW_ABI_MINOR (and may accept older
 * minors down to whatever it still supports). Since 1.0. */
#define CLAW_ABI_MAJOR 1u
#define CLAW_ABI_MINOR 0u

/* ---- Status codes ----------------------------------------------------------------------------
 * Stable: a code's value and meaning never change within ABI major 1; new codes are only added.
 * Every function returning int32_t returns CLAW_OK (0) or a negative CLAW_E_* code, unless it says
 * it returns a count. claw_strerror(code) gives a one-line English description. */
#define CLAW_OK 0
/** A required pointer was NULL, or a range had min > max. */
#define CLAW_E_INVALID_ARG (-1)
/** A struct's struct_size is smaller than the ABI 1.0 minimum for that struct. */
#define CLAW_E_STRUCT_SIZE (-2)
/** Host and plugin ABI majors differ: nothing can be agreed. */
#define CLAW_E_ABI_MAJOR (-3)
/** The plugin's ABI is too old for the host (host minimum minor > plugin maximum):
 *  upgrade claw-byterover. */
#define CLAW_E_ABI_TOO_OLD (-4)
/** The plugin's ABI is too new for the host (plugin minimum minor > host maximum):
 *  upgrade the host, or install an older claw-byterover. */
#define CLAW_E_ABI_TOO_NEW (-5)
/** No agent-protocol version both the plugin and the agent accept. */
#define CLAW_E_PROTOCOL_MISMATCH (-6)
/** shutdown (or a function-table entry) called with no claw_init outstanding. Harmless: nothing
 *  was done. */
#define CLAW_E_NOT_INITIALIZED (-7)
/** An internal invariant failed (a bug: please report it). */
#define CLAW_E_INTERNAL (-8)

/* ---- Log levels (claw_host_info.log) ---------------------------------------------------------*/
#define CLAW_LOG_ERROR 0
#define CLAW_LOG_WARN 1
#define CLAW_LOG_INFO 2
#define CLAW_LOG_DEBUG 3

/* ---- Capability bits -------------------------------------------------------------------------
 * One 64-bit space shared by host and plugin; claw_init returns the intersection. Unknown bits
 * are ignored (and never returned). Since 1.0. */
/** The side can negotiate and speak the OpenClaw Gateway agent protocol (funcs->
 *  negotiate_agent_protocol on the plugin side; an agent link on the host side). */
#define CLAW_CAP_AGENT_PROTOCOL (UINT64_C(1) << 0)
/** Every function the side exposes may be called from any thread concurrently. */
#define CLAW_CAP_THREAD_SAFE (UINT64_C(1) << 1)

/* ---- Agent protocol --------------------------------------------------------------------------
 * The OpenClaw Gateway WebSocket protocol versions this plugin speaks (the Gateway accepts 3-4
 * from nodes). Reported by claw_abi_info and used by funcs->negotiate_agent_protocol. */
#define CLAW_AGENT_PROTOCOL_MIN 3u
#define CLAW_AGENT_PROTOCOL_MAX 4u

/* =============================================================================================
 * claw_abi_info(): what the plugin is, before calling into it
 * =========================================================================================== */

/** Static description of the plugin and its ABI. Returned by claw_abi_info(); owned by the plugin,
 *  immutable, valid until dlclose. All strings are NUL-terminated UTF-8, never NULL. */
typedef struct claw_abi_descriptor {
  /** sizeof(claw_abi_descriptor) as the plugin compiled it. Read a field only if
   *  offsetof(field) + sizeof(field) <= struct_size. Since 1.0. */
  uint32_t struct_size;
  /** The ABI major the plugin implements (1). Since 1.0. */
  uint32_t abi_major;
  /** Lowest ABI minor the plugin still accepts from a host. Since 1.0. */
  uint32_t abi_minor_min;
  /** Highest ABI minor the plugin implements. Since 1.0. */
  uint32_t abi_minor_max;
  /** Plugin name, "claw-byterover". Since 1.0. */
  const char *plugin_name;
  /** Plugin version (semver of the npm package it was built from, e.g. "0.1.0"). Since 1.0. */
  const char *plugin_version;
  /** Git revision the binary was built from (short hash), or "unknown". Since 1.0. */
  const char *build_git_revision;
  /** Compiler that built it, e.g. "gcc 12.2.0" or "clang 14.0.6". Since 1.0. */
  const char *build_compiler;
  /** Which face this binary is: "shared-library" (libclaw_byterover.so, no Node-API references)
   *  or "node-addon" (claw_byterover.node). Since 1.0. */
  const char *build_flavor;
  /** The Node-API version the addon face is built for (NAPI_VERSION), also reported by the plain
   *  library so a host can tell the two apart from one build. Since 1.0. */
  uint32_t build_napi_version;
  /** Lowest agent-protocol (OpenClaw Gateway) version the plugin speaks. Since 1.0. */
  uint32_t agent_protocol_min;
  /** Highest agent-protocol version the plugin speaks. Since 1.0. */
  uint32_t agent_protocol_max;
  /** Capability bits the plugin offers (CLAW_CAP_*), before intersection. Since 1.0. */
  uint64_t capabilities;
} claw_abi_descriptor;

/** Returns the plugin's static descriptor. Never NULL, never fails, no side effects (no
 *  allocation, no lock, no logging). Thread: any. Since 1.0. */
CLAW_EXPORT const claw_abi_descriptor *claw_abi_info(void);

/* =============================================================================================
 * claw_init(): negotiation and the function table
 * =========================================================================================== */

/** Log callback the host provides. `message` is one line, no trailing newline, NUL-terminated,
 *  valid only during the call (copy it to keep it). `level` is CLAW_LOG_*. Thread: any (see
 *  Threading above). */
typedef void (*claw_log_fn)(void *user_data, int32_t level, const char *message);

/** Host extension lookup: returns the host's extension struct for `id` (e.g. "claw.host.foo/1")
 *  or NULL when the host does not have it. The returned pointer is owned by the host and must stay
 *  valid until the last shutdown. Thread: any. */
typedef const void *(*claw_host_get_extension_fn)(void *user_data, const char *id);

/** What the host tells the plugin. Owned by the host; the plugin copies it during claw_init. The
 *  pointers inside (strings, callbacks, user_data) of the first successful initializer must stay
 *  valid until the last shutdown returns. */
typedef struct claw_host_info {
  /** sizeof(claw_host_info) as the host compiled it. Must be >= CLAW_HOST_INFO_MIN_SIZE (the
   *  four version fields); anything after what the host provides reads as 0/NULL, anything beyond
   *  what the plugin knows is ignored. Since 1.0. */
  uint32_t struct_size;
  /** Host's ABI major (CLAW_ABI_MAJOR). Since 1.0. */
  uint32_t abi_major;
  /** Lowest ABI minor the host accepts. Since 1.0. */
  uint32_t abi_minor_min;
  /** Highest ABI minor the host implements (usually CLAW_ABI_MINOR). Must be >= abi_minor_min.
   *  Since 1.0. */
  uint32_t abi_minor_max;
  /** Host name for messages, e.g. "claw-host", or NULL. Since 1.0. */
  const char *host_name;
  /** Host version for messages, e.g. "1.0.0", or NULL. Since 1.0. */
  const char *host_version;
  /** Capability bits the host offers (CLAW_CAP_*). Since 1.0. */
  uint64_t capabilities;
  /** Opaque pointer passed back as the first argument of log and get_extension. Since 1.0. */
  void *user_data;
  /** Where the plugin writes log lines, or NULL to discard them. Every refusal in claw_init writes
   *  exactly one CLAW_LOG_ERROR line here naming both sides' versions and what to upgrade.
   *  Since 1.0. */
  claw_log_fn log;
  /** Host extension lookup, or NULL when the host has none. Since 1.0. */
  claw_host_get_extension_fn get_extension;
} claw_host_info;

/** Minimum claw_host_info.struct_size: struct_size + abi_major + abi_minor_min + abi_minor_max. */
#define CLAW_HOST_INFO_MIN_SIZE \
  ((uint32_t)(offsetof(claw_host_info, abi_minor_max) + sizeof(uint32_t)))

/** The plugin's function table. Static, owned by the plugin, valid until dlclose; entries are
 *  callable between a successful claw_init and its matching shutdown. */
typedef struct claw_plugin_funcs {
  /** sizeof(claw_plugin_funcs) as the plugin compiled it: call an entry only if it lies within
   *  struct_size (and is non-NULL). Since 1.0. */
  uint32_t struct_size;

  /** Plugin extension lookup by string id ("<vendor>.<name>/<version>", e.g.
   *  "claw.byterover.recall/1", CLAW_RECALL_EXTENSION_ID). Returns the extension's static struct
   *  (owned by the plugin, valid until dlclose; cast it to the type the extension's header names,
   *  e.g. const claw_recall_v1 *) or NULL for an unknown id or a NULL id. Ids are compared
   *  byte for byte. Side-effect free. Thread: any. Since 1.0. */
  const void *(*get_extension)(const char *id);

  /** Releases one reference taken by a successful claw_init. Returns the number of references
   *  still held (>= 0; 0 means the plugin is fully shut down and may be dlclose'd), or
   *  CLAW_E_NOT_INITIALIZED when no reference was held (nothing is done, so a second shutdown is
   *  harmless). Thread: any, concurrently with claw_init/shutdown. Since 1.0. */
  int32_t (*shutdown)(void);

  /** Agent-protocol negotiation (OpenClaw Gateway protocol). Given the range the agent accepts
   *  [agent_min, agent_max], picks the highest version both speak into *out_version and returns
   *  CLAW_OK, or returns CLAW_E_PROTOCOL_MISMATCH (leaving *out_version 0). Either way, when
   *  explain_buf is non-NULL and buf_len > 0, writes a NUL-terminated one-line explanation (e.g.
   *  "plugin speaks 3-4, agent requires 5-6: upgrade claw-byterover"), truncated to buf_len - 1
   *  bytes. CLAW_E_INVALID_ARG when out_version is NULL or agent_min > agent_max. Pure: no state,
   *  no logging. Thread: any. Since 1.0. */
  int32_t (*negotiate_agent_protocol)(uint32_t agent_min, uint32_t agent_max, uint32_t *out_version,
                                      char *explain_buf, size_t buf_len);
} claw_plugin_funcs;

/** What the plugin tells the host. Owned by the host; zero it, set struct_size, pass it to
 *  claw_init. On CLAW_OK the plugin has written the fields below, never more than the host's
 *  struct_size bytes, and set struct_size to the number of bytes it wrote. On failure the struct is
 *  left untouched. */
typedef struct claw_plugin_info {
  /** In: sizeof(claw_plugin_info) as the host compiled it, >= CLAW_PLUGIN_INFO_MIN_SIZE.
   *  Out: bytes the plugin wrote (min of the host's and the plugin's sizeof). Since 1.0. */
  uint32_t struct_size;
  /** Agreed ABI major (== CLAW_ABI_MAJOR). Since 1.0. */
  uint32_t abi_major;
  /** Agreed ABI minor: min(host max, plugin max). Since 1.0. */
  uint32_t abi_minor;
  /** Reserved, written as 0. Since 1.0. */
  uint32_t reserved0;
  /** host capabilities & plugin capabilities. Since 1.0. */
  uint64_t capabilities;
  /** The function table (static, owned by the plugin). Since 1.0. */
  const claw_plugin_funcs *funcs;
  /** Same pointer claw_abi_info() returns, for convenience. Since 1.0. */
  const claw_abi_descriptor *abi;
} claw_plugin_info;

/** Minimum claw_plugin_info.struct_size: every ABI 1.0 field (a host can't use the plugin without
 *  the function table). Fixed at the 1.0 layout: later minors append fields past it. */
#define CLAW_PLUGIN_INFO_MIN_SIZE \
  ((uint32_t)(offsetof(claw_plugin_info, abi) + sizeof(const claw_abi_descriptor *)))

/** Negotiates the ABI with the host and takes one reference on the plugin.
 *
 *  host: read-only, at most min(host->struct_size, sizeof(claw_host_info)) bytes are read.
 *  out:  written only on success, at most out->struct_size bytes.
 *
 *  Returns CLAW_OK, or (logging one line through host->log when the host gave one):
 *    CLAW_E_INVALID_ARG   host or out is NULL, or host->abi_minor_min > host->abi_minor_max
 *                         (NULL host: nothing can be logged);
 *    CLAW_E_STRUCT_SIZE   host->struct_size < CLAW_HOST_INFO_MIN_SIZE or
 *                         out->struct_size < CLAW_PLUGIN_INFO_MIN_SIZE;
 *    CLAW_E_ABI_MAJOR / CLAW_E_ABI_TOO_OLD / CLAW_E_ABI_TOO_NEW   no common version.
 *  A failed call takes no reference. Thread: any, concurrently (see Threading). Since 1.0. */
CLAW_EXPORT int32_t claw_init(const claw_host_info *host, claw_plugin_info *out);

/** One-line English description of a CLAW_OK / CLAW_E_* code ("unknown claw status code" for any
 *  other value). Static string, never NULL. Thread: any. Since 1.0. */
CLAW_EXPORT const char *claw_strerror(int32_t code);

#ifdef __cplusplus
} /* extern "C" */
#endif

/* The extensions' own headers (each stands alone and can also be included directly). */
#include "recall.h"

#endif /* CLAW_PLUGIN_H */
