// Allocation-failure injection for native test drivers: this header replaces the replaceable global
// operator new / new[] (and the matching deletes) with versions that make one chosen allocation
// throw std::bad_alloc (the nothrow forms return nullptr). Include it from exactly one translation
// unit of a binary. Used by native/test/recall_mmap_nomem_test.cc and by the C++ claw-runtime of
// test/native/fixtures/recall_nomem_driver.cc (linked with -rdynamic, so a loaded plugin's
// allocations bind to it too).
//
//   g_countdown = n;   // armed: the n-th allocation from now (1-based) fails, once
//   g_countdown = 0;   // disarmed
//   g_injected         // failures injected so far
#ifndef CLAW_TEST_FAIL_ALLOC_H_
#define CLAW_TEST_FAIL_ALLOC_H_

#include <atomic>
#include <cstdlib>
#include <new>

namespace claw_test {

inline std::atomic<long> g_countdown{0};  // > 0: armed; the allocation that brings it to 0 fails
inline std::atomic<long> g_injected{0};

inline void* Allocate(std::size_t n) {
  if (g_countdown.load(std::memory_order_relaxed) > 0 && g_countdown.fetch_sub(1) == 1) {
    g_injected.fetch_add(1);
    throw std::bad_alloc();
  }
  void* p = std::malloc(n == 0 ? 1 : n);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

}  // namespace claw_test

void* operator new(std::size_t n) { return claw_test::Allocate(n); }
void* operator new[](std::size_t n) { return claw_test::Allocate(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return claw_test::Allocate(n);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return claw_test::Allocate(n);
  } catch (...) {
    return nullptr;
  }
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

#endif  // CLAW_TEST_FAIL_ALLOC_H_
