// Memory stays bounded under 10,000 update cycles of the same documents (and of moving paths).
#include <cstdio>
#include <string>
#include <vector>

#include "../src/recall/index.h"
#include "recall_harness.h"

using claw::recall::Index;
using claw::recall::Stats;

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define RECALL_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define RECALL_SANITIZED 1
#endif
#endif
#ifndef RECALL_SANITIZED
#define RECALL_SANITIZED 0
#endif

namespace {

struct Rng {
  uint64_t x = 0x5DEECE66Dull;
  uint64_t operator()(uint64_t n) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x % n;
  }
};

// A note of 50..300 words from a 5,000-word vocabulary plus 5 words unique to this revision.
std::string Revision(Rng& rnd, int doc, int rev) {
  std::string md = "---\ntitle: Note " + std::to_string(doc) + "\ntags: [t" +
                   std::to_string(rnd(50)) + "]\n---\n## Section w" + std::to_string(rnd(5000)) +
                   "\n";
  const int words = 50 + static_cast<int>(rnd(251));
  for (int w = 0; w < words; ++w)
    md += "w" + std::to_string(rnd(5000)) + (w % 12 == 11 ? ".\n" : " ");
  for (int u = 0; u < 5; ++u) md += " unique" + std::to_string(rev) + "x" + std::to_string(u);
  return md + "\n";
}

}  // namespace

RECALL_TEST(memory_bounded_after_10000_updates_of_the_same_documents) {
  Index idx;
  Rng rnd;
  constexpr int kDocs = 100;
  constexpr int kCycles = 10000;
  Stats warm;
  uint64_t max_bytes = 0;
  uint64_t max_term_slots = 0;
  long rss_warm = 0;
  for (int cycle = 0; cycle < kCycles; ++cycle) {
    const int doc = cycle % kDocs;
    REQUIRE(idx.Upsert("notes/" + std::to_string(doc) + ".md", Revision(rnd, doc, cycle)) ==
            claw::recall::Status::kOk);
    if (cycle == 1000) {
      warm = idx.GetStats();
      rss_warm = recall_test::ResidentKiB();
    }
    if (cycle > 1000 && cycle % 250 == 0) {
      const Stats s = idx.GetStats();
      if (s.bytes > max_bytes) max_bytes = s.bytes;
      if (s.term_slots > max_term_slots) max_term_slots = s.term_slots;
    }
  }
  const Stats end = idx.GetStats();
  std::printf(
      "    warm: %llu bytes, %llu terms, %llu term slots; end: %llu bytes, %llu terms, "
      "%llu term slots; max %llu bytes\n",
      (unsigned long long)warm.bytes, (unsigned long long)warm.terms,
      (unsigned long long)warm.term_slots, (unsigned long long)end.bytes,
      (unsigned long long)end.terms, (unsigned long long)end.term_slots,
      (unsigned long long)max_bytes);
  CHECK_EQ(end.documents, 100u);
  CHECK_EQ(end.doc_slots, 100u);
  // 50,000 revision-unique words went through the index; only the live ones (5 per note) remain
  // and freed term ids were reused: slots stay near the live vocabulary (<= 5,000 + 50 tags +
  // 100 titles + 500 unique), never approaching 50,000.
  CHECK(end.terms <= 5000 + 50 + 100 + 500 + 10);
  CHECK(max_term_slots <= 5000 + 50 + 100 + 500 + 10 + 600);
  // The heap footprint after 9,000 more cycles stays within 15% of the warm footprint.
  CHECK(max_bytes <= warm.bytes + warm.bytes * 15 / 100);
  CHECK(end.bytes <= warm.bytes + warm.bytes * 15 / 100);
  if (!RECALL_SANITIZED && rss_warm > 0) {
    const long rss_end = recall_test::ResidentKiB();
    std::printf("    resident: %ld KiB at cycle 1000, %ld KiB at the end\n", rss_warm, rss_end);
    CHECK(rss_end - rss_warm < 8 * 1024);
  }
}

RECALL_TEST(memory_bounded_when_paths_move) {
  // Remove a note and add one at a new path, 10,000 times: slots and the path map stay bounded.
  Index idx;
  Rng rnd;
  for (int i = 0; i < 100; ++i) idx.Upsert("p/" + std::to_string(i) + ".md", Revision(rnd, i, i));
  const Stats start = idx.GetStats();
  for (int i = 100; i < 10100; ++i) {
    REQUIRE(idx.Remove("p/" + std::to_string(i - 100) + ".md") == claw::recall::Status::kOk);
    REQUIRE(idx.Upsert("p/" + std::to_string(i) + ".md", Revision(rnd, i, i)) ==
            claw::recall::Status::kOk);
  }
  const Stats end = idx.GetStats();
  CHECK_EQ(end.documents, 100u);
  CHECK_EQ(end.doc_slots, 100u);
  CHECK(end.bytes <= start.bytes + start.bytes / 4);
  CHECK(!idx.Contains("p/0.md"));
  CHECK(idx.Contains("p/10099.md"));
  CHECK_EQ(idx.Search("unique10099x3").size(), 1u);
  CHECK(idx.Search("unique5000x3").empty());
}
