// Runs the recall engine's native tests: `recall_tests [name-substring ...]`.
#include <cstdio>
#include <cstring>

#include "recall_harness.h"

int main(int argc, char** argv) {
  int ran = 0;
  for (const auto& t : recall_test::Registry()) {
    bool wanted = argc < 2;
    for (int i = 1; i < argc; ++i) wanted = wanted || std::strstr(t.name, argv[i]) != nullptr;
    if (!wanted) continue;
    const int before = recall_test::Failures();
    std::fprintf(stderr, "[ RUN  ] %s\n", t.name);
    try {
      t.fn();
    } catch (const recall_test::RequireFailed&) {
    }
    ++ran;
    std::fprintf(stderr, "[ %s ] %s\n", recall_test::Failures() == before ? " OK " : "FAIL",
                 t.name);
  }
  std::printf("%d tests, %d failed checks\n", ran, recall_test::Failures());
  if (ran == 0) {
    std::printf("no test matched\n");
    return 2;
  }
  return recall_test::Failures() == 0 ? 0 : 1;
}
