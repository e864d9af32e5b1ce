// A minimal test harness for the native unit tests (native/test/core_*.cc). No dependencies, so the
// tests build with nothing but a compiler under any sanitizer. Each CLAW_TEST registers a case;
// core_main.cc runs them (optionally filtered by a substring) and ends with the line
// "N passed, N failed" that CI readers understand. A failed CHECK records the failure and lets the
// case go on, so one run shows every broken expectation.
#ifndef CLAW_CORE_CHECK_H
#define CLAW_CORE_CHECK_H

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

namespace claw_test {

struct Case {
  const char *name;
  void (*fn)();
};

std::vector<Case> &registry();
void fail(const char *file, int line, const std::string &what);

struct Register {
  Register(const char *name, void (*fn)()) { registry().push_back({name, fn}); }
};

inline std::string show(const char *s) {
  return s == nullptr ? "NULL" : "\"" + std::string(s) + "\"";
}
inline std::string show(char *s) { return show(static_cast<const char *>(s)); }
inline std::string show(const std::string &s) { return "\"" + s + "\""; }
inline std::string show(const void *p) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%p", p);
  return buf;
}
inline std::string show(bool b) { return b ? "true" : "false"; }
template <typename T>
typename std::enable_if<std::is_integral<T>::value || std::is_enum<T>::value, std::string>::type
show(T v) {
  if (std::is_signed<T>::value) return std::to_string(static_cast<long long>(v));
  return std::to_string(static_cast<unsigned long long>(v));
}

template <typename A, typename B>
void check_eq(const A &a, const B &b, const char *as, const char *bs, const char *file, int line) {
  if (!(a == b))
    fail(file, line, std::string(as) + " == " + bs + "  (" + show(a) + " vs " + show(b) + ")");
}

inline void check_str_eq(const char *a, const char *b, const char *as, const char *bs,
                         const char *file, int line) {
  if (a == nullptr || b == nullptr || std::strcmp(a, b) != 0)
    fail(file, line, std::string(as) + " == " + bs + "  (" + show(a) + " vs " + show(b) + ")");
}

inline void check_contains(const char *hay, const char *needle, const char *hs, const char *file,
                           int line) {
  if (hay == nullptr || std::strstr(hay, needle) == nullptr)
    fail(file, line, std::string(hs) + " contains " + show(needle) + "  (got " + show(hay) + ")");
}

}  // namespace claw_test

#define CLAW_TEST(name)                                                    \
  static void name();                                                      \
  static const claw_test::Register claw_test_register_##name(#name, name); \
  static void name()

#define CHECK(cond)                                                       \
  do {                                                                    \
    if (!(cond)) claw_test::fail(__FILE__, __LINE__, "CHECK(" #cond ")"); \
  } while (0)
#define CHECK_EQ(a, b) claw_test::check_eq((a), (b), #a, #b, __FILE__, __LINE__)
#define CHECK_STR_EQ(a, b) claw_test::check_str_eq((a), (b), #a, #b, __FILE__, __LINE__)
#define CHECK_CONTAINS(hay, needle) \
  claw_test::check_contains((hay), (needle), #hay, __FILE__, __LINE__)

#endif  // CLAW_CORE_CHECK_H
