// Pure negotiation rules and their explanations (see negotiate.h). No I/O, no globals.
#include "negotiate.h"

#include <cstdio>
#include <cstring>

#include "claw/plugin.h"

namespace claw {
namespace {

// U+2013 EN DASH between the ends of a range, as in "3–4".
constexpr const char *kDash = "\xE2\x80\x93";

const char *or_default(const char *s, const char *fallback) noexcept {
  return (s != nullptr && s[0] != '\0') ? s : fallback;
}

// A party whose name and version are escaped for a one-line message (escape_for_log).
class SafeParty {
 public:
  explicit SafeParty(const Party &p) noexcept {
    party_.name =
        p.name == nullptr ? nullptr : (escape_for_log(p.name, name_, sizeof name_), name_);
    party_.version = p.version == nullptr
                         ? nullptr
                         : (escape_for_log(p.version, version_, sizeof version_), version_);
  }
  const Party &party() const noexcept { return party_; }

 private:
  char name_[256];
  char version_[128];
  Party party_;
};

// "the host claw-host 1.2.0" / "the host claw-host" / "the host". Escapes the party's strings.
void format_party(const Party &raw, const char *role, char *buf, size_t len) noexcept {
  const SafeParty safe(raw);
  const Party &p = safe.party();
  if (p.name != nullptr && p.name[0] != '\0') {
    if (p.version != nullptr && p.version[0] != '\0')
      std::snprintf(buf, len, "%s %s %s", role, p.name, p.version);
    else
      std::snprintf(buf, len, "%s %s", role, p.name);
  } else {
    std::snprintf(buf, len, "%s", role);
  }
}

// "1.0–1.2" or "1.0" when the range is a single version.
void format_abi_range(const AbiRange &r, char *buf, size_t len) noexcept {
  if (r.minor_min == r.minor_max)
    std::snprintf(buf, len, "%u.%u", r.major, r.minor_min);
  else
    std::snprintf(buf, len, "%u.%u%s%u.%u", r.major, r.minor_min, kDash, r.major, r.minor_max);
}

// "3–4" or "3".
void format_range(uint32_t lo, uint32_t hi, char *buf, size_t len) noexcept {
  if (lo == hi)
    std::snprintf(buf, len, "%u", lo);
  else
    std::snprintf(buf, len, "%u%s%u", lo, kDash, hi);
}

size_t finish(int n) noexcept { return n < 0 ? 0 : static_cast<size_t>(n); }

// Length of the valid UTF-8 sequence at s (2-4 bytes), its code point in *cp, or 0.
size_t utf8_sequence(const unsigned char *s, uint32_t *cp) noexcept {
  const unsigned char c = s[0];
  size_t n;
  uint32_t v;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2, v = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3, v = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4, v = c & 0x07;
  } else {
    return 0;
  }
  for (size_t i = 1; i < n; ++i) {
    if ((s[i] & 0xC0) != 0x80) return 0;  // also stops at the NUL
    v = (v << 6) | (s[i] & 0x3F);
  }
  if ((n == 3 && (v < 0x800 || (v >= 0xD800 && v <= 0xDFFF))) ||
      (n == 4 && (v < 0x10000 || v > 0x10FFFF)))
    return 0;
  *cp = v;
  return n;
}

struct StatusEntry {
  int32_t code;
  const char *name;
  const char *message;
};

constexpr StatusEntry kStatus[] = {
    {CLAW_OK, "CLAW_OK", "success"},
    {CLAW_E_INVALID_ARG, "CLAW_E_INVALID_ARG",
     "invalid argument (a required pointer was NULL or a range had min > max)"},
    {CLAW_E_STRUCT_SIZE, "CLAW_E_STRUCT_SIZE",
     "struct_size is smaller than the ABI 1.0 layout of that struct"},
    {CLAW_E_ABI_MAJOR, "CLAW_E_ABI_MAJOR", "host and plugin ABI major versions differ"},
    {CLAW_E_ABI_TOO_OLD, "CLAW_E_ABI_TOO_OLD",
     "the plugin's ABI is too old for the host: upgrade the plugin"},
    {CLAW_E_ABI_TOO_NEW, "CLAW_E_ABI_TOO_NEW",
     "the plugin's ABI is too new for the host: upgrade the host"},
    {CLAW_E_PROTOCOL_MISMATCH, "CLAW_E_PROTOCOL_MISMATCH",
     "no agent-protocol version both the plugin and the agent accept"},
    {CLAW_E_NOT_INITIALIZED, "CLAW_E_NOT_INITIALIZED",
     "the plugin is not initialized (no claw_init reference held)"},
    {CLAW_E_INTERNAL, "CLAW_E_INTERNAL", "internal error in the plugin (a bug: please report it)"},
};

constexpr int32_t kCodes[] = {CLAW_OK,
                              CLAW_E_INVALID_ARG,
                              CLAW_E_STRUCT_SIZE,
                              CLAW_E_ABI_MAJOR,
                              CLAW_E_ABI_TOO_OLD,
                              CLAW_E_ABI_TOO_NEW,
                              CLAW_E_PROTOCOL_MISMATCH,
                              CLAW_E_NOT_INITIALIZED,
                              CLAW_E_INTERNAL};

static_assert(sizeof(kCodes) / sizeof(kCodes[0]) == sizeof(kStatus) / sizeof(kStatus[0]),
              "every status code has a name and a message");

}  // namespace

AbiOutcome negotiate_abi(const AbiRange &plugin, const AbiRange &host) noexcept {
  if (plugin.minor_min > plugin.minor_max) return {CLAW_E_INTERNAL, 0, 0};
  if (host.minor_min > host.minor_max) return {CLAW_E_INVALID_ARG, 0, 0};
  if (host.major != plugin.major) return {CLAW_E_ABI_MAJOR, 0, 0};
  const uint32_t agreed = plugin.minor_max < host.minor_max ? plugin.minor_max : host.minor_max;
  // Below the host's minimum: the host needs something newer than the plugin has.
  if (agreed < host.minor_min) return {CLAW_E_ABI_TOO_OLD, 0, 0};
  // Below the plugin's minimum: the plugin no longer serves a host this old.
  if (agreed < plugin.minor_min) return {CLAW_E_ABI_TOO_NEW, 0, 0};
  return {CLAW_OK, plugin.major, agreed};
}

namespace {

// Writes escaped pieces of s while they fit in limit bytes; *complete when all of s was written.
size_t escape_pieces(const unsigned char *s, char *out, size_t limit, bool *complete) noexcept {
  size_t w = 0;
  size_t i = 0;
  while (s[i] != '\0') {
    char piece[12];
    size_t len = 0;
    size_t take = 1;
    const unsigned char c = s[i];
    uint32_t cp = 0;
    if (c == '\\') {
      len = static_cast<size_t>(std::snprintf(piece, sizeof piece, "\\\\"));
    } else if (c == '\n') {
      len = static_cast<size_t>(std::snprintf(piece, sizeof piece, "\\n"));
    } else if (c == '\r') {
      len = static_cast<size_t>(std::snprintf(piece, sizeof piece, "\\r"));
    } else if (c == '\t') {
      len = static_cast<size_t>(std::snprintf(piece, sizeof piece, "\\t"));
    } else if (c < 0x20 || c == 0x7F) {
      len = static_cast<size_t>(std::snprintf(piece, sizeof piece, "\\x%02x", c));
    } else if (c < 0x80) {
      piece[0] = static_cast<char>(c);
      len = 1;
    } else if ((take = utf8_sequence(s + i, &cp)) == 0) {
      take = 1;
      len = static_cast<size_t>(std::snprintf(piece, sizeof piece, "\\x%02x", c));
    } else if (cp <= 0x9F || cp == 0x2028 || cp == 0x2029) {
      len = static_cast<size_t>(std::snprintf(piece, sizeof piece, "\\u%04x", cp));
    } else {
      for (size_t k = 0; k < take; ++k) piece[k] = static_cast<char>(s[i + k]);
      len = take;
    }
    if (w + len > limit) break;
    if (out != nullptr) std::memcpy(out + w, piece, len);
    w += len;
    i += take;
  }
  *complete = s[i] == '\0';
  return w;
}

}  // namespace

size_t escape_for_log(const char *in, char *out, size_t cap) noexcept {
  if (cap == 0) return 0;
  const auto *s = reinterpret_cast<const unsigned char *>(in == nullptr ? "" : in);
  bool complete = false;
  size_t w = escape_pieces(s, nullptr, cap - 1, &complete);
  if (complete) {
    escape_pieces(s, out, cap - 1, &complete);
  } else {
    constexpr size_t kEllipsis = 3;  // "..." after the last whole piece that fits before it
    w = cap - 1 < kEllipsis ? 0 : escape_pieces(s, out, cap - 1 - kEllipsis, &complete);
    if (cap - 1 >= kEllipsis) {
      std::memcpy(out + w, "...", kEllipsis);
      w += kEllipsis;
    }
  }
  out[w] = '\0';
  return w;
}

size_t explain_abi(const AbiOutcome &outcome, const AbiRange &plugin, const Party &plugin_party,
                   const AbiRange &host, const Party &host_party, char *buf, size_t len) noexcept {
  char pr[48], hr[48], pp[160], hp[160];
  format_abi_range(plugin, pr, sizeof pr);
  format_abi_range(host, hr, sizeof hr);
  format_party(plugin_party, "plugin", pp, sizeof pp);
  format_party(host_party, "host", hp, sizeof hp);
  const SafeParty safe_plugin(plugin_party), safe_host(host_party);
  const char *plugin_name = or_default(safe_plugin.party().name, "the plugin");
  const char *host_name = or_default(safe_host.party().name, "the host");
  int n = 0;
  switch (outcome.code) {
    case CLAW_OK:
      n = std::snprintf(buf, len, "claw ABI %u.%u agreed: %s speaks ABI %s, %s accepts ABI %s",
                        outcome.major, outcome.minor, pp, pr, hp, hr);
      break;
    case CLAW_E_INVALID_ARG:
      n = std::snprintf(buf, len,
                        "claw ABI refused: %s sent an invalid ABI range %u.%u%s%u.%u "
                        "(abi_minor_min > abi_minor_max): fix the host's claw_host_info",
                        hp, host.major, host.minor_min, kDash, host.major, host.minor_max);
      break;
    case CLAW_E_ABI_MAJOR:
      if (host.major > plugin.major)
        n = std::snprintf(buf, len,
                          "claw ABI mismatch: %s speaks ABI %s, %s requires ABI %s: "
                          "upgrade %s to a release built for ABI %u",
                          pp, pr, hp, hr, plugin_name, host.major);
      else
        n = std::snprintf(buf, len,
                          "claw ABI mismatch: %s speaks ABI %s, %s requires ABI %s: "
                          "upgrade %s to one that speaks ABI %u, or install a %s built for ABI %u",
                          pp, pr, hp, hr, host_name, plugin.major, plugin_name, host.major);
      break;
    case CLAW_E_ABI_TOO_OLD:
      n = std::snprintf(buf, len,
                        "claw ABI mismatch: %s speaks ABI %s, %s requires ABI %s: upgrade %s", pp,
                        pr, hp, hr, plugin_name);
      break;
    case CLAW_E_ABI_TOO_NEW:
      n = std::snprintf(buf, len,
                        "claw ABI mismatch: %s speaks ABI %s, %s requires ABI %s: "
                        "upgrade %s to ABI %u.%u or later, or install an older %s",
                        pp, pr, hp, hr, host_name, plugin.major, plugin.minor_min, plugin_name);
      break;
    default:
      n = std::snprintf(buf, len,
                        "claw ABI negotiation failed (%s): %s speaks ABI %s, %s requires ABI %s",
                        or_default(status_name(outcome.code), "unknown status"), pp, pr, hp, hr);
      break;
  }
  return finish(n);
}

size_t explain_struct_size(StructKind kind, uint32_t got, uint32_t need, const Party &plugin_party,
                           const Party &host_party, char *buf, size_t len) noexcept {
  char pp[160], hp[160];
  format_party(plugin_party, "plugin", pp, sizeof pp);
  format_party(host_party, "host", hp, sizeof hp);
  const char *which = kind == StructKind::HostInfo ? "claw_host_info" : "claw_plugin_info";
  return finish(std::snprintf(buf, len,
                              "claw ABI refused: %s passed a %s of %u bytes, %s needs at least %u "
                              "(the ABI 1.0 layout): rebuild %s against claw/plugin.h",
                              hp, which, got, pp, need,
                              or_default(SafeParty(host_party).party().name, "the host")));
}

size_t explain_null_arg(const char *what, const Party &plugin_party, const Party &host_party,
                        char *buf, size_t len) noexcept {
  char pp[160], hp[160];
  format_party(plugin_party, "plugin", pp, sizeof pp);
  format_party(host_party, "host", hp, sizeof hp);
  return finish(
      std::snprintf(buf, len,
                    "claw ABI refused: %s called claw_init with %s = NULL (%s): pass a zeroed "
                    "claw_plugin_info with struct_size set",
                    hp, or_default(what, "an argument"), pp));
}

ProtocolOutcome negotiate_agent_protocol(uint32_t plugin_min, uint32_t plugin_max,
                                         uint32_t agent_min, uint32_t agent_max) noexcept {
  if (agent_min > agent_max || plugin_min > plugin_max) return {CLAW_E_INVALID_ARG, 0};
  const uint32_t agreed = plugin_max < agent_max ? plugin_max : agent_max;
  if (agreed < plugin_min || agreed < agent_min) return {CLAW_E_PROTOCOL_MISMATCH, 0};
  return {CLAW_OK, agreed};
}

size_t explain_agent_protocol(const ProtocolOutcome &outcome, uint32_t plugin_min,
                              uint32_t plugin_max, uint32_t agent_min, uint32_t agent_max,
                              const char *plugin_name, char *buf, size_t len) noexcept {
  char pr[32], ar[32];
  format_range(plugin_min, plugin_max, pr, sizeof pr);
  format_range(agent_min, agent_max, ar, sizeof ar);
  const char *name = or_default(plugin_name, "the plugin");
  int n = 0;
  switch (outcome.code) {
    case CLAW_OK:
      n = std::snprintf(buf, len, "plugin speaks %s, agent accepts %s: using protocol %u", pr, ar,
                        outcome.version);
      break;
    case CLAW_E_PROTOCOL_MISMATCH:
      if (agent_min > plugin_max)
        n = std::snprintf(buf, len, "plugin speaks %s, agent requires %s: upgrade %s", pr, ar,
                          name);
      else
        n = std::snprintf(buf, len,
                          "plugin speaks %s, agent requires %s: upgrade the agent to one that "
                          "accepts protocol %s",
                          pr, ar, pr);
      break;
    case CLAW_E_INVALID_ARG:
      n = std::snprintf(
          buf, len, "invalid agent protocol range %u%s%u: the minimum must not exceed the maximum",
          agent_min, kDash, agent_max);
      break;
    default:
      n = std::snprintf(buf, len, "agent protocol negotiation failed (%s)",
                        or_default(status_name(outcome.code), "unknown status"));
      break;
  }
  return finish(n);
}

const char *status_name(int32_t code) noexcept {
  for (const StatusEntry &e : kStatus)
    if (e.code == code) return e.name;
  return nullptr;
}

const char *status_message(int32_t code) noexcept {
  for (const StatusEntry &e : kStatus)
    if (e.code == code) return e.message;
  return "unknown claw status code";
}

size_t status_codes(const int32_t **out) noexcept {
  if (out != nullptr) *out = kCodes;
  return sizeof(kCodes) / sizeof(kCodes[0]);
}

}  // namespace claw
