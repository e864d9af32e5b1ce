// Runner for the native unit tests: `core_tests [SUBSTRING]` runs every CLAW_TEST whose name
// contains SUBSTRING (all when omitted) and ends with "N passed, N failed". Exit 0 only when no
// case failed and at least one ran.
#include <cstdio>
#include <cstring>
#include <string>

#include "core_check.h"

namespace claw_test {

namespace {
int g_case_failures = 0;
}

std::vector<Case> &registry() {
  static std::vector<Case> cases;
  return cases;
}

void fail(const char *file, int line, const std::string &what) {
  ++g_case_failures;
  std::fprintf(stderr, "    %s:%d: failed: %s\n", file, line, what.c_str());
}

}  // namespace claw_test

int main(int argc, char **argv) {
  const char *filter = argc > 1 ? argv[1] : nullptr;
  int passed = 0, failed = 0;
  for (const claw_test::Case &c : claw_test::registry()) {
    if (filter != nullptr && std::strstr(c.name, filter) == nullptr) continue;
    claw_test::g_case_failures = 0;
    c.fn();
    if (claw_test::g_case_failures == 0) {
      ++passed;
      std::printf("ok   %s\n", c.name);
    } else {
      ++failed;
      std::printf("FAIL %s (%d failed checks)\n", c.name, claw_test::g_case_failures);
    }
    std::fflush(stdout);
  }
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 && passed > 0 ? 0 : 1;
}
