// Ranking: BM25F scores on a tiny corpus, computed by hand from the formula in index.h.
#include <cmath>
#include <string>
#include <vector>

#include "../src/recall/index.h"
#include "recall_harness.h"

using claw::recall::Hit;
using claw::recall::Index;
using claw::recall::Options;
using claw::recall::QueryOptions;

namespace {

// The corpus. Tokens per field after folding, stop words and plural folding:
//
// a.md   "# Cache design\nThe cache stores rendered pages."
//        title    (first H1)  cache design                              len 2
//        headings             cache design                              len 2
//        body                 cache store rendered page  ("the" dropped) len 4
// b.md   "---\ntitle: Paging\n---\n## Eviction\nPages leave the cache when memory runs low.
//         Eviction frees memory."
//        title                paging                                    len 1
//        headings             eviction                                  len 1
//        body                 page leave cache memory run low eviction free memory   len 9
//                             ("frees": "-ees" is kept by the "-es" rule, then "-s" drops → free)
// notes/c.md  "Memory notes."  (no frontmatter, no H1: the title is the file name "c")
//        title                c                                         len 1
//        headings             —                                         len 0
//        body                 memory note                               len 2
//
// N = 3; avg title = (2+1+1)/3 = 4/3; avg headings = (2+1+0)/3 = 1; avg body = (4+9+2)/3 = 5.
// Defaults: k1 = 1.2, b = 0.75 in every field, weights title 3, headings 2, body 1.
// norm_f(d) = 1 − b + b·len_f(d)/avg_f = 0.25 + 0.75·len_f(d)/avg_f.
// sat(x)    = x·(k1+1)/(k1+x) = 2.2x/(1.2+x).
const char* const kA = "# Cache design\nThe cache stores rendered pages.\n";
const char* const kB =
    "---\ntitle: Paging\n---\n## Eviction\nPages leave the cache when memory runs low. Eviction "
    "frees memory.\n";
const char* const kC = "Memory notes.\n";

void Load(Index* idx) {
  REQUIRE(idx->Upsert("a.md", kA) == claw::recall::Status::kOk);
  REQUIRE(idx->Upsert("b.md", kB) == claw::recall::Status::kOk);
  REQUIRE(idx->Upsert("notes/c.md", kC) == claw::recall::Status::kOk);
}

// idf for df = 2 of N = 3: ln(1 + (3 − 2 + 0.5)/(2 + 0.5)) = ln(1 + 1.5/2.5) = ln(1.6)
const double kIdf2 = std::log(1.6);  // 0.47000362924573563
// idf for df = 1: ln(1 + (3 − 1 + 0.5)/(1 + 0.5)) = ln(1 + 2.5/1.5) = ln(8/3)
const double kIdf1 = std::log(8.0 / 3.0);  // 0.9808292530117263

double Sat(double x) { return x * 2.2 / (1.2 + x); }

}  // namespace

RECALL_TEST(ranking_hand_computed_single_term) {
  Index idx;
  Load(&idx);
  const auto st = idx.GetStats();
  CHECK_EQ(st.documents, 3u);
  CHECK_NEAR(st.avg_title_tokens, 4.0 / 3.0, 1e-12);
  CHECK_NEAR(st.avg_headings_tokens, 1.0, 1e-12);
  CHECK_NEAR(st.avg_body_tokens, 5.0, 1e-12);

  // "cache": df = 2 (a, b).
  // a: title tf 1, len 2: norm = 0.25 + 0.75·2/(4/3) = 0.25 + 1.125 = 1.375 → 3·1/1.375 = 2.181818…
  //    headings tf 1, len 2: norm = 0.25 + 0.75·2/1 = 1.75            → 2·1/1.75  = 1.142857…
  //    body tf 1, len 4:     norm = 0.25 + 0.75·4/5 = 0.85            → 1·1/0.85  = 1.176470…
  //    tf~ = 4.501145912910618; score = ln(1.6)·2.2·4.5011459/(1.2 + 4.5011459) =
  //    0.8163658470996039
  // b: body tf 1, len 9: norm = 0.25 + 0.75·9/5 = 1.6 → tf~ = 0.625
  //    score = ln(1.6)·2.2·0.625/1.825 = 0.35411232340432136
  const std::vector<Hit> hits = idx.Search("cache");
  REQUIRE(hits.size() == 2);
  CHECK_EQ(hits[0].path, "a.md");
  CHECK_EQ(hits[1].path, "b.md");
  const double a_tf = 3.0 / 1.375 + 2.0 / 1.75 + 1.0 / 0.85;
  CHECK_NEAR(a_tf, 4.501145912910618, 1e-12);
  CHECK_NEAR(hits[0].score, kIdf2 * Sat(a_tf), 1e-12);
  CHECK_NEAR(hits[0].score, 0.8163658470996039, 1e-12);
  CHECK_NEAR(hits[1].score, kIdf2 * Sat(0.625), 1e-12);
  CHECK_NEAR(hits[1].score, 0.35411232340432136, 1e-12);
  CHECK_EQ(hits[0].title, "Cache design");
  CHECK_EQ(hits[1].title, "Paging");

  // "memory": df = 2 (b, c).
  // b: body tf 2, len 9 → tf~ = 2/1.6 = 1.25; score = ln(1.6)·2.2·1.25/2.45 = 0.5275550940513358
  // c: body tf 1, len 2: norm = 0.25 + 0.75·2/5 = 0.55 → tf~ = 1.818181…
  //    score = ln(1.6)·2.2·1.8181818/3.0181818 = 0.6228963761088063 (the shorter note wins)
  const std::vector<Hit> mem = idx.Search("Memory");
  REQUIRE(mem.size() == 2);
  CHECK_EQ(mem[0].path, "notes/c.md");
  CHECK_NEAR(mem[0].score, 0.6228963761088063, 1e-12);
  CHECK_EQ(mem[0].title, "c");
  CHECK_EQ(mem[1].path, "b.md");
  CHECK_NEAR(mem[1].score, 0.5275550940513358, 1e-12);

  // "eviction": df = 1 (b). headings tf 1, len 1: norm = 0.25 + 0.75·1/1 = 1 → 2·1/1 = 2;
  // body tf 1 → 0.625; tf~ = 2.625; score = ln(8/3)·2.2·2.625/3.825 = 1.480859852586332
  const std::vector<Hit> ev = idx.Search("evictions");  // plural folds to the same term
  REQUIRE(ev.size() == 1);
  CHECK_NEAR(ev[0].score, kIdf1 * Sat(2.625), 1e-12);
  CHECK_NEAR(ev[0].score, 1.480859852586332, 1e-12);
}

RECALL_TEST(ranking_hand_computed_multi_term_sums) {
  Index idx;
  Load(&idx);
  // "cache memory": per-term scores add up.
  // b = 0.35411232340432136 + 0.5275550940513358 = 0.8816674174556571 > a = 0.8163658470996039
  //   > c = 0.6228963761088063.
  const std::vector<Hit> hits = idx.Search("the CACHE and memory?");
  REQUIRE(hits.size() == 3);
  CHECK_EQ(hits[0].path, "b.md");
  CHECK_NEAR(hits[0].score, 0.8816674174556571, 1e-12);
  CHECK_EQ(hits[1].path, "a.md");
  CHECK_NEAR(hits[1].score, 0.8163658470996039, 1e-12);
  CHECK_EQ(hits[2].path, "notes/c.md");
  CHECK_NEAR(hits[2].score, 0.6228963761088063, 1e-12);
  // Repeating a term does not count it twice.
  const std::vector<Hit> twice = idx.Search("cache cache caches");
  REQUIRE(twice.size() == 2);
  CHECK_NEAR(twice[0].score, 0.8163658470996039, 1e-12);
  // The title field: "paging" only in b's title, len 1: norm = 0.25 + 0.75·1/(4/3) = 0.8125;
  // tf~ = 3/0.8125 = 3.6923077; score = ln(8/3)·2.2·3.6923077/4.8923077 = 1.6285466842458853
  const std::vector<Hit> paging = idx.Search("paging");
  REQUIRE(paging.size() == 1);
  CHECK_NEAR(paging[0].score, kIdf1 * Sat(3.0 / 0.8125), 1e-12);
  CHECK_NEAR(paging[0].score, 1.6285466842458853, 1e-12);
}

RECALL_TEST(ranking_custom_weights_and_parameters) {
  Options o;
  o.k1 = 2.0;
  o.title = {0.0, 0.75};    // title ignored
  o.headings = {1.0, 0.0};  // no length normalization: norm = 1
  o.body = {1.0, 1.0};      // full normalization: norm = len/avg
  Index idx(o);
  Load(&idx);
  // "cache", a: headings 1·1/1 = 1; body 1·1/(4/5) = 1.25; tf~ = 2.25
  //   score = ln(1.6)·2.25·3/(2 + 2.25) = 0.7464763523314625
  // b: body 1/(9/5) = 0.5555…; score = ln(1.6)·0.5555556·3/2.5555556 = 0.30652410602982766
  const std::vector<Hit> hits = idx.Search("cache");
  REQUIRE(hits.size() == 2);
  CHECK_NEAR(hits[0].score, kIdf2 * 2.25 * 3.0 / 4.25, 1e-12);
  CHECK_NEAR(hits[0].score, 0.7464763523314625, 1e-12);
  CHECK_NEAR(hits[1].score, kIdf2 * (5.0 / 9.0) * 3.0 / (2.0 + 5.0 / 9.0), 1e-12);
  CHECK_NEAR(hits[1].score, 0.30652410602982766, 1e-12);
  // A title-only term scores 0 and is not a hit.
  CHECK(idx.Search("paging").empty());
  CHECK(claw::recall::ValidateOptions(o) == claw::recall::Status::kOk);
  Options bad;
  bad.body.b = 1.5;
  CHECK(claw::recall::ValidateOptions(bad) == claw::recall::Status::kInvalidArgument);
  bad = Options();
  bad.k1 = std::nan("");
  CHECK(claw::recall::ValidateOptions(bad) == claw::recall::Status::kInvalidArgument);
  bad = Options();
  bad.title.weight = -1;
  CHECK(claw::recall::ValidateOptions(bad) == claw::recall::Status::kInvalidArgument);
}

RECALL_TEST(ranking_title_match_beats_body_match) {
  Index idx;
  idx.Upsert("body.md", "# Other\nThe deployment pipeline runs nightly and deploys kubernetes.\n");
  idx.Upsert("title.md",
             "---\ntitle: Kubernetes\n---\nSome unrelated words about weather today.\n");
  idx.Upsert("none.md", "# Nothing\nCompletely different content here.\n");
  const std::vector<Hit> hits = idx.Search("kubernetes");
  REQUIRE(hits.size() == 2);
  CHECK_EQ(hits[0].path, "title.md");
  CHECK_EQ(hits[1].path, "body.md");
  // Tags count as title words.
  idx.Upsert("tagged.md", "---\ntags: [weather]\n---\nNothing else.\n");
  const std::vector<Hit> w = idx.Search("weather");
  REQUIRE(w.size() == 2);
  CHECK_EQ(w[0].path, "tagged.md");
}

RECALL_TEST(ranking_ties_break_by_path_and_k_limits) {
  Index idx;
  for (const char* p : {"d.md", "b.md", "c.md", "a.md"}) idx.Upsert(p, "same words exactly\n");
  QueryOptions q;
  q.k = 3;
  const std::vector<Hit> hits = idx.Search("words", q);
  REQUIRE(hits.size() == 3);
  CHECK_EQ(hits[0].path, "a.md");
  CHECK_EQ(hits[1].path, "b.md");
  CHECK_EQ(hits[2].path, "c.md");
  CHECK_EQ(hits[0].score, hits[2].score);
  q.k = 0;
  CHECK(idx.Search("words", q).empty());
  q.k = 100;
  CHECK_EQ(idx.Search("words", q).size(), 4u);
  CHECK(idx.Search("the and of").empty());  // stop words only
  CHECK(idx.Search("").empty());
  CHECK(idx.Search("absent").empty());
  for (const Hit& h : idx.Search("words exactly", q)) CHECK(h.score > 0 && std::isfinite(h.score));
}

RECALL_TEST(ranking_top_k_matches_full_sort) {
  // The heap-based top-k returns the same order as sorting every match.
  Index idx;
  uint32_t x = 12345;
  auto rnd = [&x]() { return x = x * 1103515245u + 12345u, (x >> 16) & 0x7FFF; };
  const char* words[] = {"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"};
  size_t matching = 0;
  for (int d = 0; d < 300; ++d) {
    std::string md = "# Note " + std::to_string(d) + "\n";
    const int n = 5 + static_cast<int>(rnd() % 40);
    bool match = false;
    for (int i = 0; i < n; ++i) {
      const uint32_t w = rnd() % 8;
      match = match || w == 2 || w == 7;
      md += std::string(words[w]) + " ";
    }
    matching += match ? 1 : 0;
    idx.Upsert("n/" + std::to_string(d) + ".md", md);
  }
  QueryOptions all;
  all.k = 1000;
  all.excerpt_chars = 0;
  const std::vector<Hit> full = idx.Search("gamma theta", all);
  CHECK_EQ(full.size(), matching);
  for (uint32_t k : {1u, 5u, 17u, 64u}) {
    QueryOptions q;
    q.k = k;
    q.excerpt_chars = 0;
    const std::vector<Hit> top = idx.Search("gamma theta", q);
    REQUIRE(top.size() == std::min<size_t>(k, full.size()));
    for (size_t i = 0; i < top.size(); ++i) {
      CHECK_EQ(top[i].path, full[i].path);
      CHECK_EQ(top[i].score, full[i].score);
    }
  }
  for (size_t i = 1; i < full.size(); ++i) {
    CHECK(full[i - 1].score > full[i].score ||
          (full[i - 1].score == full[i].score && full[i - 1].path < full[i].path));
  }
}

RECALL_TEST(ranking_uses_the_first_64_distinct_query_terms) {
  Index idx;
  idx.Upsert("first.md", "word0 only");
  idx.Upsert("last.md", "word64 only");
  std::string query;
  for (int i = 0; i <= 64; ++i)
    query += "word" + std::to_string(i) + " word0 ";  // repeats do not count
  const std::vector<Hit> hits = idx.Search(query);
  REQUIRE(hits.size() == 1);
  CHECK_EQ(hits[0].path, "first.md");  // word64 is the 65th distinct term: not looked up
  CHECK_EQ(idx.Search("word64").size(), 1u);
}
