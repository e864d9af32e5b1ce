// Unit tests of the pure negotiation rules (native/src/negotiate.*): the ABI negotiate-down rule
// and the agent-protocol pick, checked exhaustively over small ranges against an independent
// definition (the highest version inside both ranges), plus the explanations and the status-code
// tables.
#include <cstring>
#include <string>

#include "claw/plugin.h"
#include "core_check.h"
#include "negotiate.h"

using claw::AbiOutcome;
using claw::AbiRange;
using claw::Party;
using claw::ProtocolOutcome;

namespace {

// Independent definition: the agreed minor is the highest minor inside both ranges; with no common
// minor, TOO_OLD when the plugin stops below the host's minimum, TOO_NEW when the host stops below
// the plugin's minimum.
AbiOutcome reference_abi(const AbiRange &p, const AbiRange &h) {
  if (p.minor_min > p.minor_max) return {CLAW_E_INTERNAL, 0, 0};
  if (h.minor_min > h.minor_max) return {CLAW_E_INVALID_ARG, 0, 0};
  if (p.major != h.major) return {CLAW_E_ABI_MAJOR, 0, 0};
  bool found = false;
  uint32_t best = 0;
  for (uint32_t m = 0; m <= 16; ++m) {
    if (m >= p.minor_min && m <= p.minor_max && m >= h.minor_min && m <= h.minor_max) {
      found = true;
      best = m;
    }
  }
  if (found) return {CLAW_OK, p.major, best};
  if (p.minor_max < h.minor_min) return {CLAW_E_ABI_TOO_OLD, 0, 0};
  return {CLAW_E_ABI_TOO_NEW, 0, 0};
}

std::string explain(const AbiOutcome &o, const AbiRange &p, const AbiRange &h, const Party &hp) {
  char buf[512];
  const Party pp = {"claw-byterover", "0.1.0"};
  const size_t n = claw::explain_abi(o, p, pp, h, hp, buf, sizeof buf);
  if (n != std::strlen(buf))
    claw_test::fail(__FILE__, __LINE__, "explain_abi length differs from the text");
  return buf;
}

}  // namespace

CLAW_TEST(abi_negotiation_matches_the_highest_common_minor_exhaustively) {
  int cases = 0;
  for (uint32_t pmaj = 0; pmaj <= 2; ++pmaj)
    for (uint32_t hmaj = 0; hmaj <= 2; ++hmaj)
      for (uint32_t pmin = 0; pmin <= 5; ++pmin)
        for (uint32_t pmax = 0; pmax <= 5; ++pmax)
          for (uint32_t hmin = 0; hmin <= 5; ++hmin)
            for (uint32_t hmax = 0; hmax <= 5; ++hmax) {
              const AbiRange p = {pmaj, pmin, pmax}, h = {hmaj, hmin, hmax};
              const AbiOutcome got = claw::negotiate_abi(p, h), want = reference_abi(p, h);
              ++cases;
              if (got.code != want.code ||
                  (want.code == CLAW_OK && (got.major != want.major || got.minor != want.minor))) {
                char what[160];
                std::snprintf(what, sizeof what,
                              "plugin %u.%u-%u host %u.%u-%u: got %d %u.%u, want %d %u.%u", pmaj,
                              pmin, pmax, hmaj, hmin, hmax, got.code, got.major, got.minor,
                              want.code, want.major, want.minor);
                claw_test::fail(__FILE__, __LINE__, what);
                return;
              }
            }
  CHECK_EQ(cases, 3 * 3 * 6 * 6 * 6 * 6);
}

CLAW_TEST(abi_negotiation_handles_extreme_minors) {
  const AbiRange p = {1, 0, UINT32_MAX};
  AbiOutcome o = claw::negotiate_abi(p, {1, UINT32_MAX, UINT32_MAX});
  CHECK_EQ(o.code, CLAW_OK);
  CHECK_EQ(o.minor, UINT32_MAX);
  o = claw::negotiate_abi({1, 0, 0}, {1, UINT32_MAX, UINT32_MAX});
  CHECK_EQ(o.code, CLAW_E_ABI_TOO_OLD);
  o = claw::negotiate_abi({UINT32_MAX, 0, 0}, {0, 0, 0});
  CHECK_EQ(o.code, CLAW_E_ABI_MAJOR);
}

CLAW_TEST(abi_explanations_name_both_sides_and_what_to_upgrade) {
  const AbiRange plugin = {1, 0, 2};
  const Party host = {"claw-host", "1.2.0"};

  AbiRange h = {1, 1, 4};
  std::string s = explain(claw::negotiate_abi(plugin, h), plugin, h, host);
  CHECK_STR_EQ(s.c_str(),
               "claw ABI 1.2 agreed: plugin claw-byterover 0.1.0 speaks ABI 1.0\xE2\x80\x93"
               "1.2, host claw-host 1.2.0 accepts ABI 1.1\xE2\x80\x93"
               "1.4");

  h = {1, 3, 4};
  s = explain(claw::negotiate_abi(plugin, h), plugin, h, host);
  CHECK_CONTAINS(s.c_str(),
                 "claw ABI mismatch: plugin claw-byterover 0.1.0 speaks ABI 1.0\xE2\x80\x93"
                 "1.2");
  CHECK_CONTAINS(s.c_str(),
                 "host claw-host 1.2.0 requires ABI 1.3\xE2\x80\x93"
                 "1.4");
  CHECK_CONTAINS(s.c_str(), "upgrade claw-byterover");

  const AbiRange newer_plugin = {1, 3, 5};
  h = {1, 0, 2};
  s = explain(claw::negotiate_abi(newer_plugin, h), newer_plugin, h, host);
  CHECK_CONTAINS(s.c_str(), "upgrade claw-host to ABI 1.3 or later");

  h = {2, 0, 0};
  s = explain(claw::negotiate_abi(plugin, h), plugin, h, host);
  CHECK_CONTAINS(s.c_str(), "requires ABI 2.0");
  CHECK_CONTAINS(s.c_str(), "built for ABI 2");

  // An anonymous host is still described.
  h = {1, 5, 3};
  s = explain(claw::negotiate_abi(plugin, h), plugin, h, {nullptr, nullptr});
  CHECK_CONTAINS(s.c_str(),
                 "host sent an invalid ABI range 1.5\xE2\x80\x93"
                 "1.3");
}

CLAW_TEST(explanations_truncate_like_snprintf) {
  const AbiRange p = {1, 0, 0}, h = {2, 0, 0};
  const AbiOutcome o = claw::negotiate_abi(p, h);
  const Party pp = {"claw-byterover", "0.1.0"}, hp = {"claw-host", "1.0.0"};
  char full[512];
  const size_t n = claw::explain_abi(o, p, pp, h, hp, full, sizeof full);
  CHECK(n > 20);
  CHECK_EQ(claw::explain_abi(o, p, pp, h, hp, nullptr, 0), n);
  for (size_t len = 1; len < 24; ++len) {
    char small[24];
    std::memset(small, 'x', sizeof small);
    CHECK_EQ(claw::explain_abi(o, p, pp, h, hp, small, len), n);
    CHECK_EQ(std::strlen(small), len - 1);
    CHECK_EQ(std::memcmp(small, full, len - 1), 0);
    if (len < sizeof small) CHECK_EQ(small[len], 'x');  // nothing written past len
  }
  // Very long party names are cut, never overflow.
  std::string huge(4000, 'n');
  const Party big = {huge.c_str(), huge.c_str()};
  char line[512];
  const size_t m = claw::explain_abi(o, p, big, h, big, line, sizeof line);
  CHECK(m >= std::strlen(line));
  CHECK_EQ(std::strlen(line), sizeof line - 1);
  CHECK(claw::explain_struct_size(claw::StructKind::HostInfo, 3, 16, big, big, line, sizeof line) >
        0);
  CHECK(claw::explain_null_arg(huge.c_str(), big, big, line, sizeof line) > 0);
  CHECK_EQ(std::strlen(line), sizeof line - 1);
}

CLAW_TEST(agent_protocol_picks_the_highest_common_version_exhaustively) {
  for (uint32_t pmin = 0; pmin <= 7; ++pmin)
    for (uint32_t pmax = 0; pmax <= 7; ++pmax)
      for (uint32_t amin = 0; amin <= 7; ++amin)
        for (uint32_t amax = 0; amax <= 7; ++amax) {
          const ProtocolOutcome o = claw::negotiate_agent_protocol(pmin, pmax, amin, amax);
          if (pmin > pmax || amin > amax) {
            CHECK_EQ(o.code, CLAW_E_INVALID_ARG);
            continue;
          }
          uint32_t best = 0;
          bool found = false;
          for (uint32_t v = 0; v <= 7; ++v)
            if (v >= pmin && v <= pmax && v >= amin && v <= amax) found = true, best = v;
          CHECK_EQ(o.code, found ? CLAW_OK : CLAW_E_PROTOCOL_MISMATCH);
          CHECK_EQ(o.version, found ? best : 0u);
        }
}

CLAW_TEST(agent_protocol_explanations) {
  char buf[256];
  auto say = [&](uint32_t amin, uint32_t amax) {
    const ProtocolOutcome o = claw::negotiate_agent_protocol(3, 4, amin, amax);
    claw::explain_agent_protocol(o, 3, 4, amin, amax, "claw-byterover", buf, sizeof buf);
    return std::string(buf);
  };
  CHECK_STR_EQ(say(5, 6).c_str(),
               "plugin speaks 3\xE2\x80\x93"
               "4, agent requires 5\xE2\x80\x93"
               "6: upgrade claw-byterover");
  CHECK_STR_EQ(say(3, 4).c_str(),
               "plugin speaks 3\xE2\x80\x93"
               "4, agent accepts 3\xE2\x80\x93"
               "4: using protocol 4");
  CHECK_STR_EQ(say(1, 3).c_str(),
               "plugin speaks 3\xE2\x80\x93"
               "4, agent accepts 1\xE2\x80\x93"
               "3: using protocol 3");
  CHECK_CONTAINS(say(1, 2).c_str(),
                 "upgrade the agent to one that accepts protocol 3\xE2\x80\x93"
                 "4");
  CHECK_CONTAINS(say(6, 5).c_str(),
                 "invalid agent protocol range 6\xE2\x80\x93"
                 "5");
  CHECK_STR_EQ(say(4, 4).c_str(),
               "plugin speaks 3\xE2\x80\x93"
               "4, agent accepts 4: using protocol 4");
}

CLAW_TEST(status_codes_have_stable_names_and_messages) {
  const int32_t *codes = nullptr;
  const size_t n = claw::status_codes(&codes);
  CHECK_EQ(n, 9u);
  const char *names[] = {"CLAW_OK",
                         "CLAW_E_INVALID_ARG",
                         "CLAW_E_STRUCT_SIZE",
                         "CLAW_E_ABI_MAJOR",
                         "CLAW_E_ABI_TOO_OLD",
                         "CLAW_E_ABI_TOO_NEW",
                         "CLAW_E_PROTOCOL_MISMATCH",
                         "CLAW_E_NOT_INITIALIZED",
                         "CLAW_E_INTERNAL"};
  for (size_t i = 0; i < n && i < 9; ++i) {
    CHECK_EQ(codes[i], -static_cast<int32_t>(i));  // 0, -1, -2, ... in order, no gaps
    CHECK_STR_EQ(claw::status_name(codes[i]), names[i]);
    const char *msg = claw::status_message(codes[i]);
    CHECK(msg != nullptr && std::strcmp(msg, "unknown claw status code") != 0);
    CHECK_STR_EQ(claw_strerror(codes[i]), msg);
  }
  CHECK(claw::status_name(1) == nullptr);
  CHECK(claw::status_name(-9) == nullptr);
  CHECK_STR_EQ(claw_strerror(INT32_MIN), "unknown claw status code");
  CHECK_STR_EQ(claw_strerror(42), "unknown claw status code");
  CHECK_EQ(claw::status_codes(nullptr), n);
}
