// A tiny test harness for the recall engine's native tests (no external framework).
//
//   RECALL_TEST(name) { CHECK(cond); CHECK_EQ(a, b); CHECK_NEAR(a, b, eps); REQUIRE(cond); }
//
// CHECK* record a failure and continue; REQUIRE stops the current test. recall_main.cc runs every
// registered test, or those whose name contains one of the command-line arguments.
#ifndef CLAW_RECALL_TEST_HARNESS_H_
#define CLAW_RECALL_TEST_HARNESS_H_

#include <cmath>
#include <cstdio>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace recall_test {

struct TestCase {
  const char* name;
  const char* file;
  void (*fn)();
};

inline std::vector<TestCase>& Registry() {
  static std::vector<TestCase> tests;
  return tests;
}

inline int& Failures() {
  static int failures = 0;
  return failures;
}

struct Registrar {
  Registrar(const char* name, const char* file, void (*fn)()) {
    Registry().push_back({name, file, fn});
  }
};

struct RequireFailed {};

template <class T>
std::string Show(const T& v) {
  std::ostringstream os;
  os << v;
  return os.str();
}
inline std::string Show(const std::string& v) { return "\"" + v + "\""; }
inline std::string Show(std::string_view v) { return "\"" + std::string(v) + "\""; }
inline std::string Show(const char* v) { return v ? "\"" + std::string(v) + "\"" : "(null)"; }
inline std::string Show(const std::vector<std::string>& v) {
  std::string s = "[";
  for (const std::string& e : v) s += (s.size() > 1 ? ", " : "") + Show(e);
  return s + "]";
}

// Resident set size of this process in KiB (Linux /proc/self/statm), or -1.
inline long ResidentKiB() {
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return -1;
  long pages = 0, resident = 0;
  const int n = std::fscanf(f, "%ld %ld", &pages, &resident);
  std::fclose(f);
  return n == 2 ? resident * 4 : -1;
}

inline void Fail(const char* file, int line, const std::string& what) {
  ++Failures();
  std::fprintf(stderr, "  FAILED %s:%d: %s\n", file, line, what.c_str());
}

}  // namespace recall_test

#define RECALL_TEST(name)                                                   \
  static void name();                                                       \
  static ::recall_test::Registrar name##_registrar(#name, __FILE__, &name); \
  static void name()

#define CHECK(cond)                                                           \
  do {                                                                        \
    if (!(cond)) ::recall_test::Fail(__FILE__, __LINE__, "CHECK(" #cond ")"); \
  } while (0)

#define REQUIRE(cond)                                                \
  do {                                                               \
    if (!(cond)) {                                                   \
      ::recall_test::Fail(__FILE__, __LINE__, "REQUIRE(" #cond ")"); \
      throw ::recall_test::RequireFailed{};                          \
    }                                                                \
  } while (0)

#define CHECK_EQ(a, b)                                                                       \
  do {                                                                                       \
    const auto va_ = (a);                                                                    \
    const auto vb_ = (b);                                                                    \
    if (!(va_ == vb_)) {                                                                     \
      ::recall_test::Fail(__FILE__, __LINE__,                                                \
                          "CHECK_EQ(" #a ", " #b "): " + ::recall_test::Show(va_) + " vs " + \
                              ::recall_test::Show(vb_));                                     \
    }                                                                                        \
  } while (0)

#define CHECK_NEAR(a, b, eps)                                                                  \
  do {                                                                                         \
    const double va_ = (a);                                                                    \
    const double vb_ = (b);                                                                    \
    if (!(std::fabs(va_ - vb_) <= (eps))) {                                                    \
      ::recall_test::Fail(__FILE__, __LINE__,                                                  \
                          "CHECK_NEAR(" #a ", " #b "): " + ::recall_test::Show(va_) + " vs " + \
                              ::recall_test::Show(vb_));                                       \
    }                                                                                          \
  } while (0)

#endif  // CLAW_RECALL_TEST_HARNESS_H_
