// Unit tests of the C entry points (native/src/plugin.cc) linked straight into the test binary:
// struct-size handling in both directions (every size from 0 to past the plugin's sizeof, in heap
// blocks of exactly that size so AddressSanitizer sees any byte read or written beyond it), NULL
// arguments, refusals and their single log line, reference counting, and concurrent init/shutdown.
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "claw/plugin.h"
#include "core_check.h"
#include "extensions.h"
#include "plugin_state.h"

namespace {

struct LogCapture {
  std::mutex lock;
  std::vector<std::pair<int32_t, std::string>> lines;
  size_t errors() {
    std::lock_guard<std::mutex> g(lock);
    size_t n = 0;
    for (auto &l : lines) n += l.first == CLAW_LOG_ERROR;
    return n;
  }
  std::string last() {
    std::lock_guard<std::mutex> g(lock);
    return lines.empty() ? std::string() : lines.back().second;
  }
};

void capture_log(void *user, int32_t level, const char *message) {
  auto *cap = static_cast<LogCapture *>(user);
  std::lock_guard<std::mutex> g(cap->lock);
  cap->lines.emplace_back(level, message);
}

claw_host_info make_host(LogCapture *cap, uint32_t minor_min = 0,
                         uint32_t minor_max = CLAW_ABI_MINOR, uint32_t major = CLAW_ABI_MAJOR) {
  claw_host_info h;
  std::memset(&h, 0, sizeof h);
  h.struct_size = sizeof h;
  h.abi_major = major;
  h.abi_minor_min = minor_min;
  h.abi_minor_max = minor_max;
  h.host_name = "core-tests";
  h.host_version = "9.9.9";
  h.capabilities = CLAW_CAP_AGENT_PROTOCOL;
  h.user_data = cap;
  h.log = cap != nullptr ? capture_log : nullptr;
  return h;
}

claw_plugin_info make_out() {
  claw_plugin_info p;
  std::memset(&p, 0, sizeof p);
  p.struct_size = sizeof p;
  return p;
}

// Releases every reference a failed test may have left, so cases stay independent.
void drain() {
  for (int i = 0; i < 100000 && claw::reference_count() > 0; ++i) {
    claw_plugin_info p = make_out();
    claw_host_info h = make_host(nullptr);
    if (claw_init(&h, &p) == CLAW_OK) {
      p.funcs->shutdown();
      p.funcs->shutdown();
    }
  }
}

// The function table, reachable without a live reference (it is static).
const claw_plugin_funcs *funcs() {
  claw_host_info h = make_host(nullptr);
  claw_plugin_info p = make_out();
  if (claw_init(&h, &p) != CLAW_OK) return nullptr;
  p.funcs->shutdown();
  return p.funcs;
}

}  // namespace

CLAW_TEST(abi_info_is_static_complete_and_side_effect_free) {
  const claw_abi_descriptor *d = claw_abi_info();
  CHECK(d != nullptr);
  CHECK(d == claw_abi_info());
  CHECK_EQ(d->struct_size, static_cast<uint32_t>(sizeof(claw_abi_descriptor)));
  CHECK_EQ(d->abi_major, CLAW_ABI_MAJOR);
  CHECK(d->abi_minor_min <= d->abi_minor_max);
  CHECK_EQ(d->abi_minor_max, CLAW_ABI_MINOR);
  CHECK_STR_EQ(d->plugin_name, "claw-byterover");
  CHECK(d->plugin_version != nullptr && d->plugin_version[0] != '\0');
  CHECK(d->build_git_revision != nullptr && d->build_git_revision[0] != '\0');
  CHECK(d->build_compiler != nullptr && std::strncmp(d->build_compiler, "clang ", 6) == 0);
  CHECK_STR_EQ(d->build_flavor, "shared-library");
  CHECK(d->build_napi_version >= 1 && d->build_napi_version <= 9);
  CHECK_EQ(d->agent_protocol_min, CLAW_AGENT_PROTOCOL_MIN);
  CHECK_EQ(d->agent_protocol_max, CLAW_AGENT_PROTOCOL_MAX);
  CHECK_EQ(d->capabilities, CLAW_CAP_AGENT_PROTOCOL | CLAW_CAP_THREAD_SAFE);
  CHECK_EQ(claw::reference_count(), 0u);
}

CLAW_TEST(init_negotiates_and_fills_plugin_info) {
  LogCapture cap;
  claw_host_info h = make_host(&cap);
  h.capabilities = ~UINT64_C(0);
  claw_plugin_info p = make_out();
  CHECK_EQ(claw_init(&h, &p), CLAW_OK);
  CHECK_EQ(p.struct_size, static_cast<uint32_t>(sizeof p));
  CHECK_EQ(p.abi_major, CLAW_ABI_MAJOR);
  CHECK_EQ(p.abi_minor, CLAW_ABI_MINOR);
  CHECK_EQ(p.reserved0, 0u);
  CHECK_EQ(p.capabilities, CLAW_CAP_AGENT_PROTOCOL | CLAW_CAP_THREAD_SAFE);  // intersection
  CHECK(p.abi == claw_abi_info());
  CHECK(p.funcs != nullptr);
  CHECK_EQ(p.funcs->struct_size, static_cast<uint32_t>(sizeof(claw_plugin_funcs)));
  CHECK_EQ(cap.errors(), 0u);
  CHECK_EQ(claw::reference_count(), 1u);
  CHECK_EQ(p.funcs->shutdown(), 0);

  h.capabilities = 0;
  p = make_out();
  CHECK_EQ(claw_init(&h, &p), CLAW_OK);
  CHECK_EQ(p.capabilities, UINT64_C(0));
  CHECK_EQ(p.funcs->shutdown(), 0);
  drain();
}

CLAW_TEST(null_arguments_are_refused_without_a_reference) {
  CHECK_EQ(claw_init(nullptr, nullptr), CLAW_E_INVALID_ARG);
  claw_plugin_info p = make_out();
  const claw_plugin_info before = p;
  CHECK_EQ(claw_init(nullptr, &p), CLAW_E_INVALID_ARG);
  CHECK_EQ(std::memcmp(&p, &before, sizeof p), 0);

  LogCapture cap;
  claw_host_info h = make_host(&cap);
  CHECK_EQ(claw_init(&h, nullptr), CLAW_E_INVALID_ARG);
  CHECK_EQ(cap.errors(), 1u);
  CHECK_CONTAINS(cap.last().c_str(), "called claw_init with out");
  CHECK_CONTAINS(cap.last().c_str(), "NULL");
  CHECK_CONTAINS(cap.last().c_str(), "host core-tests 9.9.9");
  CHECK_EQ(claw::reference_count(), 0u);

  // A NULL log callback is allowed: refusals are then silent.
  h = make_host(nullptr);
  CHECK_EQ(claw_init(&h, nullptr), CLAW_E_INVALID_ARG);
}

CLAW_TEST(every_refusal_logs_exactly_one_error_line_and_leaves_out_untouched) {
  struct Case {
    uint32_t major, lo, hi;
    int32_t code;
    const char *says;
  } cases[] = {
      {CLAW_ABI_MAJOR + 1, 0, 0, CLAW_E_ABI_MAJOR, "requires ABI 2.0"},
      {0, 0, 5, CLAW_E_ABI_MAJOR,
       "requires ABI 0.0\xE2\x80\x93"
       "0.5"},
      {CLAW_ABI_MAJOR, CLAW_ABI_MINOR + 1, CLAW_ABI_MINOR + 3, CLAW_E_ABI_TOO_OLD,
       "upgrade claw-byterover"},
      {CLAW_ABI_MAJOR, 3, 1, CLAW_E_INVALID_ARG,
       "invalid ABI range 1.3\xE2\x80\x93"
       "1.1"},
  };
  for (const Case &c : cases) {
    LogCapture cap;
    claw_host_info h = make_host(&cap, c.lo, c.hi, c.major);
    claw_plugin_info p = make_out();
    p.abi_minor = 0xDEADBEEF;
    const claw_plugin_info before = p;
    CHECK_EQ(claw_init(&h, &p), c.code);
    CHECK_EQ(std::memcmp(&p, &before, sizeof p), 0);
    CHECK_EQ(cap.lines.size(), 1u);
    CHECK_EQ(cap.errors(), 1u);
    CHECK_CONTAINS(cap.last().c_str(), c.says);
    if (c.code != CLAW_E_INVALID_ARG) CHECK_CONTAINS(cap.last().c_str(), "plugin claw-byterover");
    CHECK_CONTAINS(cap.last().c_str(), "host core-tests 9.9.9");
    CHECK(cap.last().find('\n') == std::string::npos);
    CHECK_EQ(claw::reference_count(), 0u);
  }
}

// Host structs of every size from 0 to 64 bytes past the plugin's sizeof, each in a heap block of
// exactly that size (ASan reports a read past it). The host is zeroed and filled only with whole
// fields that fit, as an older host would.
CLAW_TEST(host_info_of_every_size_is_read_within_its_bounds) {
  for (uint32_t size = 0; size <= sizeof(claw_host_info) + 64; ++size) {
    LogCapture cap;
    claw_host_info full = make_host(&cap);
    full.struct_size = size;
    const size_t alloc = size < sizeof(uint32_t) ? sizeof(uint32_t) : size;
    unsigned char *block = static_cast<unsigned char *>(std::malloc(alloc));
    std::memset(block, 0xA5, alloc);  // beyond the plugin's sizeof: bytes it must ignore
    std::memset(block, 0, alloc < sizeof full ? alloc : sizeof full);
    // Copy whole fields only (a real older host's struct ends on a field boundary).
    size_t usable = 0;
    const size_t ends[] = {
        offsetof(claw_host_info, abi_major),     offsetof(claw_host_info, abi_minor_min),
        offsetof(claw_host_info, abi_minor_max), offsetof(claw_host_info, host_name),
        offsetof(claw_host_info, host_version),  offsetof(claw_host_info, capabilities),
        offsetof(claw_host_info, user_data),     offsetof(claw_host_info, log),
        offsetof(claw_host_info, get_extension), sizeof(claw_host_info)};
    for (size_t e : ends)
      if (e <= alloc) usable = e;
    std::memcpy(block, &full, usable);
    std::memcpy(block, &size, sizeof size);

    claw_plugin_info p = make_out();
    const int32_t rc = claw_init(reinterpret_cast<const claw_host_info *>(block), &p);
    if (size < CLAW_HOST_INFO_MIN_SIZE) {
      CHECK_EQ(rc, CLAW_E_STRUCT_SIZE);
      CHECK_EQ(cap.lines.size(), 0u);  // the log callback lies beyond what the host provided
    } else {
      CHECK_EQ(rc, CLAW_OK);
      CHECK_EQ(cap.errors(), 0u);
      if (rc == CLAW_OK) {
        CHECK_EQ(p.abi_minor, CLAW_ABI_MINOR);
        // Capabilities the host did not provide read as 0.
        const bool has_caps = size >= offsetof(claw_host_info, capabilities) + sizeof(uint64_t);
        CHECK_EQ(p.capabilities, has_caps ? CLAW_CAP_AGENT_PROTOCOL : UINT64_C(0));
        CHECK_EQ(p.funcs->shutdown(), 0);
      }
    }
    std::free(block);
  }
  CHECK_EQ(claw::reference_count(), 0u);
}

// Plugin-info structs of every size, in heap blocks of exactly that size plus a guard region the
// plugin must not touch: it writes min(host size, its sizeof) bytes and reports that in
// struct_size.
CLAW_TEST(plugin_info_of_every_size_is_written_within_its_bounds) {
  const uint32_t known = sizeof(claw_plugin_info);
  for (uint32_t size = 0; size <= known + 64; ++size) {
    LogCapture cap;
    claw_host_info h = make_host(&cap);
    const size_t alloc = (size < sizeof(uint32_t) ? sizeof(uint32_t) : size);
    unsigned char *block = static_cast<unsigned char *>(std::malloc(alloc));
    std::memset(block, 0xCC, alloc);
    std::memcpy(block, &size, sizeof size);
    std::vector<unsigned char> before(block, block + alloc);

    const int32_t rc = claw_init(&h, reinterpret_cast<claw_plugin_info *>(block));
    if (size < CLAW_PLUGIN_INFO_MIN_SIZE) {
      CHECK_EQ(rc, CLAW_E_STRUCT_SIZE);
      CHECK_EQ(std::memcmp(block, before.data(), alloc), 0);
      CHECK_EQ(cap.errors(), 1u);
      CHECK_CONTAINS(cap.last().c_str(), "claw_plugin_info of");
    } else {
      CHECK_EQ(rc, CLAW_OK);
      claw_plugin_info p;
      std::memset(&p, 0, sizeof p);
      std::memcpy(&p, block, alloc < known ? alloc : known);
      const uint32_t written = size < known ? size : known;
      CHECK_EQ(p.struct_size, written);
      // Bytes past what the plugin knows are the host's: untouched.
      for (size_t i = known; i < alloc; ++i) CHECK_EQ(block[i], static_cast<unsigned char>(0xCC));
      if (rc == CLAW_OK) CHECK_EQ(p.funcs->shutdown(), 0);
    }
    std::free(block);
  }
  CHECK_EQ(claw::reference_count(), 0u);
}

CLAW_TEST(init_and_shutdown_are_reference_counted) {
  LogCapture first_cap, second_cap;
  claw_host_info first = make_host(&first_cap);
  first.host_name = "first";
  claw_host_info second = make_host(&second_cap);
  second.host_name = "second";
  claw_plugin_info p1 = make_out(), p2 = make_out();
  claw_host_info copy;

  CHECK(claw::initializer_host(&copy) == nullptr);
  CHECK_EQ(claw_init(&first, &p1), CLAW_OK);
  CHECK_EQ(claw_init(&second, &p2), CLAW_OK);
  CHECK_EQ(claw::reference_count(), 2u);
  CHECK(p1.funcs == p2.funcs);
  // The first successful initializer's host info is the one kept.
  CHECK(claw::initializer_host(&copy) == &copy);
  CHECK_STR_EQ(copy.host_name, "first");
  CHECK(copy.user_data == &first_cap);

  CHECK_EQ(p2.funcs->shutdown(), 1);
  CHECK_EQ(claw::reference_count(), 1u);
  CHECK(claw::initializer_host(&copy) != nullptr);
  CHECK_EQ(p1.funcs->shutdown(), 0);
  CHECK(claw::initializer_host(&copy) == nullptr);
  // A second shutdown is harmless and says so.
  CHECK_EQ(p1.funcs->shutdown(), CLAW_E_NOT_INITIALIZED);
  CHECK_EQ(p1.funcs->shutdown(), CLAW_E_NOT_INITIALIZED);
  CHECK_EQ(claw::reference_count(), 0u);

  // And the plugin can be initialized again afterwards, by a different host.
  CHECK_EQ(claw_init(&second, &p2), CLAW_OK);
  CHECK(claw::initializer_host(&copy) != nullptr);
  CHECK_STR_EQ(copy.host_name, "second");
  CHECK_EQ(p2.funcs->shutdown(), 0);
  CHECK_EQ(first_cap.errors() + second_cap.errors(), 0u);
}

CLAW_TEST(concurrent_init_and_shutdown_from_eight_threads) {
  constexpr int kThreads = 8;
  constexpr int kRounds = 2000;
  std::atomic<int> failures{0};
  std::atomic<int> ready{0};
  std::mutex m;
  std::condition_variable cv;
  int holders = 0;
  bool release = false;
  uint32_t peak_seen = 0;

  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      LogCapture cap;
      claw_host_info h = make_host(&cap);
      char name[16];
      std::snprintf(name, sizeof name, "thread-%d", t);
      h.host_name = name;
      ready.fetch_add(1);
      while (ready.load() < kThreads) std::this_thread::yield();
      // Phase 1: hammer init/shutdown pairs; every pair must succeed.
      for (int r = 0; r < kRounds; ++r) {
        claw_plugin_info p = make_out();
        if (claw_init(&h, &p) != CLAW_OK) {
          failures.fetch_add(1);
          continue;
        }
        uint32_t v = 0;
        if (p.funcs->negotiate_agent_protocol(3, 4, &v, nullptr, 0) != CLAW_OK || v != 4)
          failures.fetch_add(1);
        if (p.funcs->shutdown() < 0) failures.fetch_add(1);
      }
      // Phase 2: every thread holds one reference at the same time.
      claw_plugin_info p = make_out();
      if (claw_init(&h, &p) != CLAW_OK) failures.fetch_add(1);
      {
        std::unique_lock<std::mutex> lk(m);
        ++holders;
        if (holders == kThreads) {
          peak_seen = claw::reference_count();
          release = true;
          cv.notify_all();
        }
        cv.wait(lk, [&] { return release; });
      }
      if (p.funcs == nullptr || p.funcs->shutdown() < 0) failures.fetch_add(1);
      if (cap.errors() != 0) failures.fetch_add(1);
    });
  }
  for (auto &th : threads) th.join();
  CHECK_EQ(failures.load(), 0);
  CHECK_EQ(peak_seen, static_cast<uint32_t>(kThreads));
  CHECK_EQ(claw::reference_count(), 0u);
  const claw_plugin_funcs *f = funcs();
  CHECK(f != nullptr);
  if (f != nullptr) CHECK_EQ(f->shutdown(), CLAW_E_NOT_INITIALIZED);
}

CLAW_TEST(function_table_agent_protocol_and_extensions) {
  const claw_plugin_funcs *f = funcs();
  CHECK(f != nullptr);
  if (f == nullptr) return;
  uint32_t v = 99;
  char buf[128];
  CHECK_EQ(f->negotiate_agent_protocol(5, 6, &v, buf, sizeof buf), CLAW_E_PROTOCOL_MISMATCH);
  CHECK_EQ(v, 0u);
  CHECK_STR_EQ(buf,
               "plugin speaks 3\xE2\x80\x93"
               "4, agent requires 5\xE2\x80\x93"
               "6: upgrade claw-byterover");
  CHECK_EQ(f->negotiate_agent_protocol(3, 4, &v, buf, sizeof buf), CLAW_OK);
  CHECK_EQ(v, 4u);
  CHECK_EQ(f->negotiate_agent_protocol(3, 4, nullptr, buf, sizeof buf), CLAW_E_INVALID_ARG);
  CHECK_CONTAINS(buf, "out_version is NULL");
  CHECK_EQ(f->negotiate_agent_protocol(4, 3, &v, buf, sizeof buf), CLAW_E_INVALID_ARG);
  // Tiny and absent buffers: NUL-terminated within buf_len, nothing written past it.
  char one[2] = {'x', 'y'};
  CHECK_EQ(f->negotiate_agent_protocol(5, 6, &v, one, 1), CLAW_E_PROTOCOL_MISMATCH);
  CHECK_EQ(one[0], '\0');
  CHECK_EQ(one[1], 'y');
  CHECK_EQ(f->negotiate_agent_protocol(3, 3, &v, nullptr, 0), CLAW_OK);
  CHECK_EQ(v, 3u);

  CHECK(f->get_extension(nullptr) == nullptr);
  CHECK(f->get_extension("") == nullptr);
  CHECK(f->get_extension("claw.byterover.nonexistent/1") == nullptr);
  for (unsigned i = 0; i < claw::extension_count(); ++i) {
    const char *id = claw::extension_id(i);
    CHECK(id != nullptr);
    CHECK(f->get_extension(id) != nullptr);
    CHECK(f->get_extension(id) == claw::find_extension(id));
  }
  CHECK(claw::extension_id(claw::extension_count()) == nullptr);
}

// Proof that the sanitizers are live in this binary: with CLAW_CORE_SELFCHECK set, this case does
// the bug it names, and the sanitizer must stop the run (test/native/sanitizers.test.ts checks
// the report). Without the variable it does nothing.
CLAW_TEST(sanitizer_self_check) {
  const char *what = std::getenv("CLAW_CORE_SELFCHECK");
  if (what == nullptr) return;
  volatile int sink = 0;
  if (std::strcmp(what, "heap-overflow") == 0) {
    const size_t n = sizeof(claw_host_info) - 1;
    volatile char *block = static_cast<volatile char *>(std::malloc(n));
    sink = block[n];  // one byte past the block
    std::free(const_cast<char *>(block));
  } else if (std::strcmp(what, "signed-overflow") == 0) {
    volatile int32_t big = INT32_MAX;
    sink = big + 1;
  } else if (std::strcmp(what, "data-race") == 0) {
    static uint32_t shared = 0;  // unsynchronized on purpose
    std::thread a([] {
      for (int i = 0; i < 100000; ++i) shared = shared + 1;
    });
    std::thread b([] {
      for (int i = 0; i < 100000; ++i) shared = shared + 1;
    });
    a.join();
    b.join();
    sink = static_cast<int>(shared);
  }
  (void)sink;
  CHECK(false);  // reached only when the sanitizer did not stop the run
}
