// The extern "C" entry points of the claw plugin ABI (claw/plugin.h): thin wrappers that copy the
// host's structs into zeroed storage, delegate every decision to negotiate.cc, log one line per
// refusal through the host's callback, and keep the reference count.
//
// Built into both faces: libclaw_byterover.so (CLAW_BUILD_FLAVOR "shared-library") and
// claw_byterover.node (CLAW_BUILD_FLAVOR "node-addon"). Nothing here knows about Node.
#include "plugin_state.h"

#include <cstddef>
#include <cstdio>
#include <cstring>
#include <pthread.h>

#include "claw/plugin.h"
#include "extensions.h"
#include "negotiate.h"

// ---- Build information (set by binding.gyp / CMakeLists.txt; the fallbacks keep a bare compile
// working) ----------------------------------------------------------------------------------------
#ifndef CLAW_PLUGIN_VERSION
#define CLAW_PLUGIN_VERSION "0.0.0-dev"
#endif
#ifndef CLAW_GIT_REVISION
#define CLAW_GIT_REVISION "unknown"
#endif
#ifndef CLAW_BUILD_FLAVOR
#define CLAW_BUILD_FLAVOR "shared-library"
#endif
#ifndef CLAW_NAPI_VERSION
#define CLAW_NAPI_VERSION 8
#endif
// The ABI minor range this build serves. Overridable only so tests can build a scratch plugin that
// behaves like a future release (e.g. one that dropped 1.0); release builds use the defaults.
#ifndef CLAW_PLUGIN_ABI_MINOR_MIN
#define CLAW_PLUGIN_ABI_MINOR_MIN 0
#endif
#ifndef CLAW_PLUGIN_ABI_MINOR_MAX
#define CLAW_PLUGIN_ABI_MINOR_MAX CLAW_ABI_MINOR
#endif

#define CLAW_STR2(x) #x
#define CLAW_STR(x) CLAW_STR2(x)
#if defined(__clang__)
#define CLAW_COMPILER                                                            \
  "clang " CLAW_STR(__clang_major__) "." CLAW_STR(__clang_minor__) "." CLAW_STR( \
      __clang_patchlevel__)
#elif defined(__GNUC__)
#define CLAW_COMPILER \
  "gcc " CLAW_STR(__GNUC__) "." CLAW_STR(__GNUC_MINOR__) "." CLAW_STR(__GNUC_PATCHLEVEL__)
#else
#define CLAW_COMPILER "unknown"
#endif

namespace {

constexpr uint64_t kPluginCapabilities = CLAW_CAP_AGENT_PROTOCOL | CLAW_CAP_THREAD_SAFE;

constexpr claw_abi_descriptor kDescriptor = {
    sizeof(claw_abi_descriptor), CLAW_ABI_MAJOR,          CLAW_PLUGIN_ABI_MINOR_MIN,
    CLAW_PLUGIN_ABI_MINOR_MAX,   "claw-byterover",        CLAW_PLUGIN_VERSION,
    CLAW_GIT_REVISION,           CLAW_COMPILER,           CLAW_BUILD_FLAVOR,
    CLAW_NAPI_VERSION,           CLAW_AGENT_PROTOCOL_MIN, CLAW_AGENT_PROTOCOL_MAX,
    kPluginCapabilities,
};

constexpr claw::AbiRange kPluginRange = {CLAW_ABI_MAJOR, CLAW_PLUGIN_ABI_MINOR_MIN,
                                         CLAW_PLUGIN_ABI_MINOR_MAX};
constexpr claw::Party kPluginParty = {"claw-byterover", CLAW_PLUGIN_VERSION};

// Reference count and the first successful initializer's host info, under one lock. A plain
// pthread mutex (statically initialized, never fails for a default mutex) keeps the core free of
// libstdc++: the .so depends on libc alone.
pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

class Guard {
 public:
  Guard() noexcept { pthread_mutex_lock(&g_lock); }
  ~Guard() { pthread_mutex_unlock(&g_lock); }
  Guard(const Guard &) = delete;
  Guard &operator=(const Guard &) = delete;
};
uint32_t g_refs = 0;
claw_host_info g_host;  // zero-initialized (static storage)

void log_line(const claw_host_info &host, int32_t level, const char *line) noexcept {
  if (host.log != nullptr) host.log(host.user_data, level, line);
}

const void *plugin_get_extension(const char *id) { return claw::find_extension(id); }

int32_t plugin_shutdown(void) {
  Guard guard;
  if (g_refs == 0) return CLAW_E_NOT_INITIALIZED;
  --g_refs;
  if (g_refs == 0) std::memset(&g_host, 0, sizeof g_host);
  return static_cast<int32_t>(g_refs);
}

int32_t plugin_negotiate_agent_protocol(uint32_t agent_min, uint32_t agent_max,
                                        uint32_t *out_version, char *explain_buf, size_t buf_len) {
  const bool can_explain = explain_buf != nullptr && buf_len > 0;
  if (out_version == nullptr) {
    if (can_explain) std::snprintf(explain_buf, buf_len, "invalid argument: out_version is NULL");
    return CLAW_E_INVALID_ARG;
  }
  const claw::ProtocolOutcome o = claw::negotiate_agent_protocol(
      CLAW_AGENT_PROTOCOL_MIN, CLAW_AGENT_PROTOCOL_MAX, agent_min, agent_max);
  if (can_explain) {
    claw::explain_agent_protocol(o, CLAW_AGENT_PROTOCOL_MIN, CLAW_AGENT_PROTOCOL_MAX, agent_min,
                                 agent_max, kPluginParty.name, explain_buf, buf_len);
  }
  *out_version = o.version;
  return o.code;
}

constexpr claw_plugin_funcs kFuncs = {
    sizeof(claw_plugin_funcs),
    plugin_get_extension,
    plugin_shutdown,
    plugin_negotiate_agent_protocol,
};

}  // namespace

namespace claw {

const claw_host_info *initializer_host(claw_host_info *copy) noexcept {
  Guard guard;
  if (g_refs == 0) return nullptr;
  *copy = g_host;
  return copy;
}

uint32_t reference_count() noexcept {
  Guard guard;
  return g_refs;
}

AbiRange plugin_abi_range() noexcept { return kPluginRange; }

}  // namespace claw

extern "C" {

CLAW_EXPORT const claw_abi_descriptor *claw_abi_info(void) { return &kDescriptor; }

CLAW_EXPORT const char *claw_strerror(int32_t code) { return claw::status_message(code); }

CLAW_EXPORT int32_t claw_init(const claw_host_info *host_in, claw_plugin_info *out) {
  if (host_in == nullptr) return CLAW_E_INVALID_ARG;  // nobody to log to

  // Read the fixed prefix first to learn the host's size, then at most min(sizes) into zeroed
  // storage: fields an older host lacks read as 0/NULL; fields a newer host added are ignored.
  uint32_t host_size = 0;
  std::memcpy(&host_size, host_in, sizeof host_size);
  claw_host_info host;
  std::memset(&host, 0, sizeof host);
  const size_t readable = host_size < CLAW_HOST_INFO_MIN_SIZE ? sizeof host_size
                          : host_size < sizeof host           ? host_size
                                                              : sizeof host;
  // Whole fields only: a struct_size that cuts a field in two provides none of that field (a half
  // pointer would otherwise be dereferenced). When the struct grows, append its new end here.
  static constexpr size_t kFieldEnds[] = {CLAW_HOST_INFO_MIN_SIZE,
                                          offsetof(claw_host_info, host_version),
                                          offsetof(claw_host_info, capabilities),
                                          offsetof(claw_host_info, user_data),
                                          offsetof(claw_host_info, log),
                                          offsetof(claw_host_info, get_extension),
                                          sizeof(claw_host_info)};
  static_assert(kFieldEnds[sizeof kFieldEnds / sizeof kFieldEnds[0] - 1] == sizeof(claw_host_info),
                "kFieldEnds must end at sizeof(claw_host_info): list every field end");
  size_t whole = sizeof host_size;
  for (size_t end : kFieldEnds)
    if (end <= readable) whole = end;
  std::memcpy(&host, host_in, whole);
  const claw::Party host_party = {host.host_name, host.host_version};

  char line[512];
  if (host_size < CLAW_HOST_INFO_MIN_SIZE) {
    // Too small to even hold the version fields; its log callback is out of reach too.
    return CLAW_E_STRUCT_SIZE;
  }
  if (out == nullptr) {
    claw::explain_null_arg("out", kPluginParty, host_party, line, sizeof line);
    log_line(host, CLAW_LOG_ERROR, line);
    return CLAW_E_INVALID_ARG;
  }
  const uint32_t out_size = out->struct_size;
  if (out_size < CLAW_PLUGIN_INFO_MIN_SIZE) {
    claw::explain_struct_size(claw::StructKind::PluginInfo, out_size, CLAW_PLUGIN_INFO_MIN_SIZE,
                              kPluginParty, host_party, line, sizeof line);
    log_line(host, CLAW_LOG_ERROR, line);
    return CLAW_E_STRUCT_SIZE;
  }

  const claw::AbiRange host_range = {host.abi_major, host.abi_minor_min, host.abi_minor_max};
  const claw::AbiOutcome outcome = claw::negotiate_abi(kPluginRange, host_range);
  if (outcome.code != CLAW_OK) {
    claw::explain_abi(outcome, kPluginRange, kPluginParty, host_range, host_party, line,
                      sizeof line);
    log_line(host, CLAW_LOG_ERROR, line);
    return outcome.code;
  }

  {
    Guard guard;
    if (g_refs == UINT32_MAX) return CLAW_E_INTERNAL;
    if (g_refs++ == 0) g_host = host;
  }

  claw_plugin_info result;
  std::memset(&result, 0, sizeof result);
  const uint32_t written =
      out_size < sizeof result ? out_size : static_cast<uint32_t>(sizeof result);
  result.struct_size = written;
  result.abi_major = outcome.major;
  result.abi_minor = outcome.minor;
  result.capabilities = host.capabilities & kPluginCapabilities;
  result.funcs = &kFuncs;
  result.abi = &kDescriptor;
  std::memcpy(out, &result, written);
  return CLAW_OK;
}

}  // extern "C"
