// libFuzzer target: arbitrary claw_host_info bytes and sizes into claw_init, and whatever a host
// can do with the function table afterwards.
//
// Build and run (scripts/abi-build.sh does the build):
//   scripts/abi-build.sh --out build-fuzz fuzz
//   build-fuzz/claw_init_fuzz -runs=20000 NEW_CORPUS_DIR native/fuzz/corpus/claw_init
//
// What the input decides (missing bytes read as 0):
//   byte 0      flags: NULL host, NULL out, log callback, host get_extension callback, host_name,
//               host_version, a second nested claw_init, use the function table
//   bytes 1-4   claw_host_info.struct_size as the host claims it (may lie: 0, 3, 17, 4 GiB...)
//   bytes 5-6   claw_plugin_info.struct_size the host passes (0..65535)
//   bytes 7-10  agent-protocol range for negotiate_agent_protocol; byte 11 its buffer length
//   then        the raw bytes of claw_host_info (abi_major, minors, capabilities, ... and the
//               pointer fields), then the text for host_name / host_version / an extension id.
//
// The host block is allocated with exactly min(claimed size, sizeof(claw_host_info)) bytes and the
// plugin block with exactly the size the host passes, so AddressSanitizer reports any byte the
// plugin reads or writes past what the host said. Pointer fields that lie wholly inside the host's
// struct_size get valid values (NULL or a real callback / string, per the flags): a host that
// passes a wild pointer is broken, not the plugin. A pointer field the struct_size cuts in two
// keeps the fuzzer's bytes: the plugin must not use a field the host did not provide in full.
//
// Besides memory errors it checks the contract (plugin.h) and traps on a violation: the status is
// what the negotiation rule predicts; a refusal writes exactly one error line (when the host can be
// logged to) and leaves the plugin struct untouched; success writes min(host's, plugin's sizeof)
// bytes, nothing after them; every log line is one non-empty NUL-terminated line; explanations fit
// the buffer; every init is matched by a shutdown that reports the right remaining count.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "claw/plugin.h"

namespace {

struct Reader {
  const uint8_t *data;
  size_t size;
  size_t pos = 0;
  uint8_t u8() { return pos < size ? data[pos++] : 0; }
  uint16_t u16() { return static_cast<uint16_t>(u8() | (u8() << 8)); }
  uint32_t u32() { return static_cast<uint32_t>(u16()) | (static_cast<uint32_t>(u16()) << 16); }
  void bytes(void *out, size_t n) {
    auto *o = static_cast<uint8_t *>(out);
    for (size_t i = 0; i < n; ++i) o[i] = u8();
  }
  // The next NUL-terminated string (up to 300 bytes, or the rest of the input).
  std::string text() {
    std::string s;
    while (pos < size && s.size() < 300) {
      const char c = static_cast<char>(data[pos++]);
      if (c == '\0') break;
      s.push_back(c);
    }
    return s;
  }
};

struct LogState {
  int lines = 0;
  int errors = 0;
};

void fuzz_log(void *user, int32_t level, const char *message) {
  auto *st = static_cast<LogState *>(user);
  if (message == nullptr) __builtin_trap();
  const size_t n = std::strlen(message);  // ASan: must be NUL-terminated in bounds
  if (n == 0 || message[n - 1] == '\n') __builtin_trap();
  if (level < CLAW_LOG_ERROR || level > CLAW_LOG_DEBUG) __builtin_trap();
  if (st != nullptr) {
    ++st->lines;
    st->errors += level == CLAW_LOG_ERROR;
  }
}

const void *fuzz_host_extension(void *, const char *id) {
  if (id != nullptr) (void)std::strlen(id);
  return nullptr;
}

void check(bool ok) {
  if (!ok) __builtin_trap();
}

enum : uint8_t {
  kNullHost = 1u << 0,
  kNullOut = 1u << 1,
  kLog = 1u << 2,
  kHostExtension = 1u << 3,
  kHostName = 1u << 4,
  kHostVersion = 1u << 5,
  kNested = 1u << 6,
  kUseFuncs = 1u << 7,
};

// Sets a pointer field of the host block when the whole field lies inside `avail` bytes.
template <typename T>
void set_field(uint8_t *block, size_t avail, size_t offset, T value) {
  if (offset + sizeof(T) <= avail) std::memcpy(block + offset, &value, sizeof(T));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  Reader in{data, size};
  const uint8_t flags = in.u8();
  const uint32_t claimed = in.u32();
  const uint16_t out_size = in.u16();
  const uint32_t agent_min = in.u16(), agent_max = in.u16();
  const uint8_t explain_len = in.u8();

  // The host block: exactly what the plugin may read, min(claimed, its sizeof), at least the
  // 4-byte struct_size itself.
  const size_t readable = claimed < sizeof(claw_host_info) ? claimed : sizeof(claw_host_info);
  const size_t host_alloc = readable < sizeof(uint32_t) ? sizeof(uint32_t) : readable;
  auto *host_block = static_cast<uint8_t *>(std::malloc(host_alloc));
  in.bytes(host_block, host_alloc);
  std::memcpy(host_block, &claimed, sizeof claimed);

  const std::string host_name = in.text();
  const std::string host_version = in.text();
  const std::string ext_id = in.text();
  LogState log_state;
  const size_t avail = claimed < host_alloc ? claimed : host_alloc;  // whole fields the host gave
  set_field(host_block, avail, offsetof(claw_host_info, host_name),
            (flags & kHostName) ? host_name.c_str() : static_cast<const char *>(nullptr));
  set_field(host_block, avail, offsetof(claw_host_info, host_version),
            (flags & kHostVersion) ? host_version.c_str() : static_cast<const char *>(nullptr));
  set_field(host_block, avail, offsetof(claw_host_info, user_data),
            static_cast<void *>(&log_state));
  set_field(host_block, avail, offsetof(claw_host_info, log),
            (flags & kLog) ? fuzz_log : static_cast<claw_log_fn>(nullptr));
  set_field(host_block, avail, offsetof(claw_host_info, get_extension),
            (flags & kHostExtension) ? fuzz_host_extension
                                     : static_cast<claw_host_get_extension_fn>(nullptr));

  // What the host "said", as whole fields (for predicting the outcome).
  claw_host_info said;
  std::memset(&said, 0, sizeof said);
  std::memcpy(&said, host_block, host_alloc < sizeof said ? host_alloc : sizeof said);
  const bool log_reachable =
      (flags & kLog) && avail >= offsetof(claw_host_info, log) + sizeof(claw_log_fn);

  // The plugin block: exactly out_size bytes (at least its struct_size field), filled with a
  // pattern the plugin must leave alone beyond what it may write.
  const size_t out_alloc = out_size < sizeof(uint32_t) ? sizeof(uint32_t) : out_size;
  auto *out_block = static_cast<uint8_t *>(std::malloc(out_alloc));
  std::memset(out_block, 0xCC, out_alloc);
  const uint32_t out_claim = out_size;
  std::memcpy(out_block, &out_claim, sizeof out_claim);
  const std::vector<uint8_t> out_before(out_block, out_block + out_alloc);

  const claw_host_info *host_arg =
      (flags & kNullHost) ? nullptr : reinterpret_cast<claw_host_info *>(host_block);
  claw_plugin_info *out_arg =
      (flags & kNullOut) ? nullptr : reinterpret_cast<claw_plugin_info *>(out_block);

  const int32_t rc = claw_init(host_arg, out_arg);

  // The rule, restated: the plugin serves ABI 1.[abi_minor_min..abi_minor_max] of its descriptor.
  const claw_abi_descriptor *d = claw_abi_info();
  int32_t want;
  if (host_arg == nullptr)
    want = CLAW_E_INVALID_ARG;
  else if (claimed < CLAW_HOST_INFO_MIN_SIZE)
    want = CLAW_E_STRUCT_SIZE;
  else if (out_arg == nullptr)
    want = CLAW_E_INVALID_ARG;
  else if (out_claim < CLAW_PLUGIN_INFO_MIN_SIZE)
    want = CLAW_E_STRUCT_SIZE;
  else if (said.abi_minor_min > said.abi_minor_max)
    want = CLAW_E_INVALID_ARG;
  else if (said.abi_major != d->abi_major)
    want = CLAW_E_ABI_MAJOR;
  else if (d->abi_minor_max < said.abi_minor_min)
    want = CLAW_E_ABI_TOO_OLD;
  else if (said.abi_minor_max < d->abi_minor_min)
    want = CLAW_E_ABI_TOO_NEW;
  else
    want = CLAW_OK;
  // Both an invalid range and a different major: either refusal is right.
  const bool either =
      rc == CLAW_E_ABI_MAJOR && want == CLAW_E_INVALID_ARG && said.abi_major != d->abi_major;
  check(rc == want || either);

  const size_t known = sizeof(claw_plugin_info);
  if (rc != CLAW_OK) {
    check(std::memcmp(out_block, out_before.data(), out_alloc) == 0);
    const bool can_log = host_arg != nullptr && claimed >= CLAW_HOST_INFO_MIN_SIZE && log_reachable;
    check(log_state.errors == (can_log ? 1 : 0));
  } else {
    check(log_state.errors == 0);
    claw_plugin_info p;
    std::memset(&p, 0, sizeof p);
    std::memcpy(&p, out_block, out_alloc < known ? out_alloc : known);
    const size_t written = out_claim < known ? out_claim : known;
    check(p.struct_size == written);
    for (size_t i = written; i < out_alloc; ++i) check(out_block[i] == 0xCC);
    check(p.abi_major == d->abi_major);
    const uint32_t agreed =
        said.abi_minor_max < d->abi_minor_max ? said.abi_minor_max : d->abi_minor_max;
    check(p.abi_minor == agreed);
    const bool caps_given = avail >= offsetof(claw_host_info, capabilities) + sizeof(uint64_t);
    check(p.capabilities == ((caps_given ? said.capabilities : 0) & d->capabilities));
    check(p.funcs != nullptr && p.abi == d);
    const claw_plugin_funcs *f = p.funcs;

    int32_t held = 1;
    if (flags & kNested) {
      claw_plugin_info again;
      std::memset(&again, 0, sizeof again);
      again.struct_size = sizeof again;
      check(claw_init(host_arg, &again) == CLAW_OK);
      held = 2;
    }
    if (flags & kUseFuncs) {
      // Explanation buffer of exactly explain_len bytes (none when 0).
      char *buf = explain_len ? static_cast<char *>(std::malloc(explain_len)) : nullptr;
      uint32_t version = 12345;
      const int32_t prc =
          f->negotiate_agent_protocol(agent_min, agent_max, &version, buf, explain_len);
      if (agent_min > agent_max) {
        check(prc == CLAW_E_INVALID_ARG);
      } else {
        const uint32_t top = agent_max < d->agent_protocol_max ? agent_max : d->agent_protocol_max;
        const bool ok = top >= agent_min && top >= d->agent_protocol_min;
        check(prc == (ok ? CLAW_OK : CLAW_E_PROTOCOL_MISMATCH));
        check(version == (ok ? top : 0u));
      }
      if (buf != nullptr) {
        check(std::memchr(buf, '\0', explain_len) != nullptr);
        std::free(buf);
      }
      check(f->negotiate_agent_protocol(agent_min, agent_max, nullptr, nullptr, 0) ==
            CLAW_E_INVALID_ARG);
      const void *ext = f->get_extension(ext_id.c_str());
      check(ext == f->get_extension(ext_id.c_str()));
      check(f->get_extension(nullptr) == nullptr);
      check(claw_strerror(prc) != nullptr);
    }
    while (held > 0) check(f->shutdown() == --held);
    check(f->shutdown() == CLAW_E_NOT_INITIALIZED);
  }
  check(claw_strerror(rc) != nullptr);

  std::free(out_block);
  std::free(host_block);
  return 0;
}
