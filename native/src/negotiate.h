// Pure negotiation rules for the claw plugin ABI and the agent protocol, and the one-line
// explanations of their outcomes. No I/O, no globals, no allocation: every function depends only on
// its arguments and writes text only into the caller's buffer. Used by plugin.cc (the C ABI) and
// addon.cc (Node-API), so both faces give the same answers and the same words.
#ifndef CLAW_NEGOTIATE_H
#define CLAW_NEGOTIATE_H

#include <cstddef>
#include <cstdint>

namespace claw {

// A side's supported ABI: one major and a contiguous minor range [minor_min, minor_max].
struct AbiRange {
  uint32_t major;
  uint32_t minor_min;
  uint32_t minor_max;
};

// Who a side is, for messages. Either field may be null (printed as "the host" / "unknown").
struct Party {
  const char *name;
  const char *version;
};

// Writes `in` (NUL-terminated, may be NULL → "") into out[0..cap) as one printable line: control
// characters become \n, \r, \t or \xNN (ESC is \x1b), a backslash \\, C1 controls and U+2028/
// U+2029 \u0085-style, bytes that are not UTF-8 \xNN; other UTF-8 is kept. Cut at an escape
// boundary when it does not fit (ending in "..."). Always NUL-terminates when cap > 0; returns the
// bytes written. Every host- or network-supplied string goes through it before it enters a log
// line or an explanation (the explain_* functions below do it for both parties' name and version).
size_t escape_for_log(const char *in, char *out, size_t cap) noexcept;

struct AbiOutcome {
  int32_t code;    // CLAW_OK or CLAW_E_INVALID_ARG / CLAW_E_ABI_MAJOR / _TOO_OLD / _TOO_NEW
  uint32_t major;  // agreed major (valid when code == CLAW_OK)
  uint32_t minor;  // agreed minor (valid when code == CLAW_OK)
};

// Vulkan-style negotiate-down: majors equal; minor = min(plugin.minor_max, host.minor_max);
// refused when that is below either side's minimum. A host range with min > max is INVALID_ARG.
// When the plugin's own range is malformed (a build error), INTERNAL.
AbiOutcome negotiate_abi(const AbiRange &plugin, const AbiRange &host) noexcept;

// One line explaining `outcome` in terms of both sides' versions and, for a refusal, what to
// upgrade. Writes at most len bytes including the NUL (truncating); returns the length the full
// line would have (snprintf semantics). buf may be null when len == 0.
size_t explain_abi(const AbiOutcome &outcome, const AbiRange &plugin, const Party &plugin_party,
                   const AbiRange &host, const Party &host_party, char *buf, size_t len) noexcept;

// Which struct a size check is about.
enum class StructKind { HostInfo, PluginInfo };

// Explanation of CLAW_E_STRUCT_SIZE: the host's struct is `got` bytes, the plugin needs `need`.
size_t explain_struct_size(StructKind kind, uint32_t got, uint32_t need, const Party &plugin_party,
                           const Party &host_party, char *buf, size_t len) noexcept;

// Explanation of CLAW_E_INVALID_ARG in claw_init (which argument was NULL).
size_t explain_null_arg(const char *what, const Party &plugin_party, const Party &host_party,
                        char *buf, size_t len) noexcept;

struct ProtocolOutcome {
  int32_t code;      // CLAW_OK, CLAW_E_PROTOCOL_MISMATCH, or CLAW_E_INVALID_ARG (min > max)
  uint32_t version;  // agreed protocol version when code == CLAW_OK, else 0
};

// Picks the highest agent-protocol version both the plugin [plugin_min, plugin_max] and the agent
// [agent_min, agent_max] accept.
ProtocolOutcome negotiate_agent_protocol(uint32_t plugin_min, uint32_t plugin_max,
                                         uint32_t agent_min, uint32_t agent_max) noexcept;

// E.g. "plugin speaks 3–4, agent requires 5–6: upgrade claw-byterover". snprintf semantics.
size_t explain_agent_protocol(const ProtocolOutcome &outcome, uint32_t plugin_min,
                              uint32_t plugin_max, uint32_t agent_min, uint32_t agent_max,
                              const char *plugin_name, char *buf, size_t len) noexcept;

// Stable symbolic name of a status code ("CLAW_OK", "CLAW_E_ABI_MAJOR", ...), or null for an
// unknown code. Used by the Node-API face so codes cross as identifiers, not prose.
const char *status_name(int32_t code) noexcept;

// One-line English description of a status code (claw_strerror).
const char *status_message(int32_t code) noexcept;

// Every defined status code, in numeric order from CLAW_OK downwards; returns how many.
size_t status_codes(const int32_t **out) noexcept;

}  // namespace claw

#endif  // CLAW_NEGOTIATE_H
