// Incremental add / update / remove without rebuilding, batches, and input checks.
#include <map>
#include <string>
#include <vector>

#include "../src/recall/index.h"
#include "recall_harness.h"

using claw::recall::DocumentInput;
using claw::recall::Hit;
using claw::recall::Index;
using claw::recall::Options;
using claw::recall::QueryOptions;
using claw::recall::Status;

namespace {

std::vector<std::string> Paths(const std::vector<Hit>& hits) {
  std::vector<std::string> p;
  for (const Hit& h : hits) p.push_back(h.path);
  return p;
}

void ExpectSameResults(const Index& a, const Index& b, const std::vector<std::string>& queries) {
  QueryOptions q;
  q.k = 50;
  q.excerpt_chars = 60;
  for (const std::string& query : queries) {
    const std::vector<Hit> ha = a.Search(query, q);
    const std::vector<Hit> hb = b.Search(query, q);
    REQUIRE(ha.size() == hb.size());
    for (size_t i = 0; i < ha.size(); ++i) {
      CHECK_EQ(ha[i].path, hb[i].path);
      CHECK_NEAR(ha[i].score, hb[i].score, 1e-12);
      CHECK_EQ(ha[i].title, hb[i].title);
      CHECK_EQ(ha[i].excerpt, hb[i].excerpt);
    }
  }
}

}  // namespace

RECALL_TEST(index_add_update_remove) {
  Index idx;
  bool replaced = true;
  CHECK(idx.Upsert("notes/db.md", "# Database\nWe use postgres for storage.", &replaced) ==
        Status::kOk);
  CHECK(!replaced);
  CHECK(idx.Upsert("notes/cache.md", "# Cache\nRedis holds sessions.") == Status::kOk);
  CHECK(idx.Contains("notes/db.md"));
  CHECK_EQ(Paths(idx.Search("postgres")), std::vector<std::string>{"notes/db.md"});
  const uint64_t gen = idx.GetStats().generation;

  // Update: the old words disappear, the new ones are found, the title changes.
  CHECK(idx.Upsert("notes/db.md", "# Datastore\nWe moved to sqlite.", &replaced) == Status::kOk);
  CHECK(replaced);
  CHECK(idx.Search("postgres").empty());
  const std::vector<Hit> moved = idx.Search("sqlite");
  REQUIRE(moved.size() == 1);
  CHECK_EQ(moved[0].title, "Datastore");
  CHECK_EQ(idx.GetStats().documents, 2u);
  CHECK_EQ(idx.GetStats().generation, gen + 1);

  // Remove.
  CHECK(idx.Remove("notes/db.md") == Status::kOk);
  CHECK(!idx.Contains("notes/db.md"));
  CHECK(idx.Search("sqlite").empty());
  CHECK(idx.Remove("notes/db.md") == Status::kNotFound);
  CHECK(idx.Remove("never.md") == Status::kNotFound);
  CHECK_EQ(idx.GetStats().documents, 1u);
  CHECK_EQ(Paths(idx.Search("redis session")), std::vector<std::string>{"notes/cache.md"});

  // The freed slot is reused; the terms of the removed document are gone.
  const auto before = idx.GetStats();
  CHECK(idx.Upsert("notes/new.md", "Fresh words only.") == Status::kOk);
  const auto after = idx.GetStats();
  CHECK_EQ(after.doc_slots, before.doc_slots);
  CHECK_EQ(after.documents, 2u);
  CHECK_EQ(Paths(idx.Search("fresh")), std::vector<std::string>{"notes/new.md"});

  // Everything removed: empty index, no terms or postings left.
  CHECK(idx.Remove("notes/new.md") == Status::kOk);
  CHECK(idx.Remove("notes/cache.md") == Status::kOk);
  const auto empty = idx.GetStats();
  CHECK_EQ(empty.documents, 0u);
  CHECK_EQ(empty.terms, 0u);
  CHECK_EQ(empty.postings, 0u);
  CHECK(idx.Search("redis").empty());
}

RECALL_TEST(index_stats_count_terms_and_postings) {
  Index idx;
  idx.Upsert("a.md", "# Alpha beta\nbeta gamma gamma");  // terms: alpha beta gamma
  idx.Upsert("b.md", "gamma delta");                     // terms: gamma delta (title "b")
  const auto st = idx.GetStats();
  CHECK_EQ(st.documents, 2u);
  CHECK_EQ(st.terms, 5u);     // alpha beta gamma delta b
  CHECK_EQ(st.postings, 6u);  // a: alpha beta gamma; b: gamma delta b
  CHECK(st.bytes > 0);
}

// A random sequence of upserts and removes ends in the same state as a fresh index built from the
// surviving documents: same hits, same scores, same excerpts.
RECALL_TEST(index_incremental_equals_rebuild) {
  uint64_t x = 0xC0FFEEull;
  auto rnd = [&x](uint64_t n) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x % n;
  };
  const char* vocab[] = {"cache",   "memory",  "token", "index",   "query",  "Vector", "posting",
                         "ranking", "excerpt", "title", "heading", "note",   "café",   "Straße",
                         "sync",    "push",    "pull",  "commit",  "branch", "outbox"};
  auto make_doc = [&]() {
    std::string md;
    if (rnd(2))
      md += "---\ntitle: " + std::string(vocab[rnd(20)]) + " " + vocab[rnd(20)] + "\n---\n";
    const int sections = 1 + static_cast<int>(rnd(3));
    for (int s = 0; s < sections; ++s) {
      md += "## " + std::string(vocab[rnd(20)]) + "\n";
      const int words = 3 + static_cast<int>(rnd(30));
      for (int w = 0; w < words; ++w)
        md += std::string(vocab[rnd(20)]) + (rnd(7) == 0 ? ". " : " ");
      md += "\n\n";
    }
    return md;
  };
  Index live;
  std::map<std::string, std::string> state;
  for (int op = 0; op < 3000; ++op) {
    const std::string path = "t/" + std::to_string(rnd(120)) + ".md";
    if (rnd(4) == 0) {
      const Status st = live.Remove(path);
      CHECK(st == (state.erase(path) ? Status::kOk : Status::kNotFound));
    } else {
      const std::string md = make_doc();
      bool replaced = false;
      CHECK(live.Upsert(path, md, &replaced) == Status::kOk);
      CHECK_EQ(replaced, state.count(path) == 1);
      state[path] = md;
    }
  }
  Index fresh;
  for (const auto& kv : state) fresh.Upsert(kv.first, kv.second);
  const auto a = live.GetStats();
  const auto b = fresh.GetStats();
  CHECK_EQ(a.documents, state.size());
  CHECK_EQ(a.documents, b.documents);
  CHECK_EQ(a.terms, b.terms);
  CHECK_EQ(a.postings, b.postings);
  CHECK(a.doc_slots <= 120);
  ExpectSameResults(live, fresh,
                    {"cache", "memory token", "cafe", "strasse sync", "notes", "heading excerpt",
                     "vector ranking posting", "outbox commit branch pull push"});
}

RECALL_TEST(index_batch_equals_sequential) {
  std::vector<std::string> paths, bodies;
  for (int i = 0; i < 700; ++i) {
    paths.push_back("b/" + std::to_string(i % 650) + ".md");  // 50 duplicates: the later one wins
    bodies.push_back("# Doc " + std::to_string(i) + "\nshared words plus unique" +
                     std::to_string(i) + (i % 3 ? " fizz" : " buzz") + "\n");
  }
  std::vector<DocumentInput> in;
  for (size_t i = 0; i < paths.size(); ++i) in.push_back({paths[i], bodies[i]});
  Index seq;
  for (const DocumentInput& d : in) seq.Upsert(d.path, d.markdown);
  for (unsigned threads : {1u, 3u, 0u}) {
    Index batch;
    CHECK(batch.UpsertBatch(in.data(), in.size(), threads) == Status::kOk);
    CHECK_EQ(batch.GetStats().documents, 650u);
    CHECK_EQ(batch.GetStats().postings, seq.GetStats().postings);
    ExpectSameResults(seq, batch, {"shared", "fizz", "buzz", "unique699", "unique10", "doc"});
  }
  CHECK(seq.Search("unique10").size() == 0);  // b/10.md was replaced by document 660
  CHECK(seq.Search("unique660").size() == 1);
}

RECALL_TEST(index_rejects_bad_input_without_changes) {
  Options o;
  o.max_document_bytes = 64;
  Index idx(o);
  CHECK(idx.Upsert("", "x") == Status::kInvalidArgument);
  CHECK(idx.Upsert(std::string_view("a\0b", 3), "x") == Status::kInvalidArgument);
  CHECK(idx.Upsert(std::string(5000, 'p'), "x") == Status::kInvalidArgument);
  CHECK(idx.Upsert("big.md", std::string(65, 'x')) == Status::kTooLarge);
  CHECK(idx.Upsert("ok.md", std::string(64, 'x')) == Status::kOk);
  CHECK(idx.Remove("") == Status::kInvalidArgument);
  const std::string big(100, 'y');
  const DocumentInput batch[] = {{"one.md", "one"}, {"two.md", big}, {"three.md", "three"}};
  size_t bad = 99;
  CHECK(idx.UpsertBatch(batch, 3, 2, &bad) == Status::kTooLarge);
  CHECK_EQ(bad, 1u);
  CHECK(!idx.Contains("one.md"));  // nothing applied
  CHECK_EQ(idx.GetStats().documents, 1u);
  CHECK(idx.UpsertBatch(nullptr, 0, 1) == Status::kOk);
  CHECK_EQ(std::string(claw::recall::StatusName(Status::kNotFound)), "RECALL_NOT_FOUND");
  CHECK_EQ(std::string(claw::recall::StatusName(Status::kTooLarge)), "RECALL_DOCUMENT_TOO_LARGE");
}

RECALL_TEST(index_paths_are_opaque_bytes) {
  Index idx;
  CHECK(idx.Upsert("dir/ünïcödé name.md", "alpha") == Status::kOk);
  CHECK(idx.Upsert("dir/bad\xFF.md", "alpha beta") == Status::kOk);
  const std::vector<Hit> hits = idx.Search("alpha");
  REQUIRE(hits.size() == 2);
  CHECK(idx.Contains("dir/bad\xFF.md"));
  CHECK(idx.Remove("dir/ünïcödé name.md") == Status::kOk);
  CHECK_EQ(idx.Search("alpha")[0].path, "dir/bad\xFF.md");    // returned as given
  CHECK_EQ(idx.Search("alpha")[0].title, "bad\xEF\xBF\xBD");  // the title is made valid UTF-8
}

RECALL_TEST(index_search_callback_may_search_again) {
  Index idx;
  idx.Upsert("a.md", "alpha beta");
  idx.Upsert("b.md", "beta gamma");
  size_t inner_total = 0;
  std::vector<std::string> outer;
  QueryOptions q;
  idx.SearchVisit("beta", q, [&](const claw::recall::HitView& h) {
    outer.emplace_back(h.path);
    inner_total += idx.Search("gamma").size();  // nested search on the same thread
    outer.back() += "|" + std::string(h.excerpt);
  });
  CHECK_EQ(outer.size(), 2u);
  CHECK_EQ(inner_total, 2u);
  CHECK_EQ(outer[0], "a.md|alpha beta");
}
