// Concurrent readers while writers update: every search sees a consistent index, writers finish.
// Built with -fsanitize=thread as well (see test/native/recall-core.test.ts).
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "../src/recall/index.h"
#include "../src/recall/shared_mutex.h"
#include "../src/recall/utf8.h"
#include "recall_harness.h"

using claw::recall::DocumentInput;
using claw::recall::Hit;
using claw::recall::Index;
using claw::recall::QueryOptions;
using claw::recall::Status;

namespace {

std::string StableDoc(int i) {
  return "# Stable " + std::to_string(i) +
         "\nThe anchor paragraph stays the same in every stable note.\n";
}

std::string HotDoc(int i, int rev) {
  std::string md = "---\ntitle: Hot " + std::to_string(i) + "\ntags: [churn]\n---\n";
  for (int w = 0; w < 20 + (rev % 50); ++w)
    md += "churn word" + std::to_string((rev + w) % 97) + " ";
  md += "ünïcode rev" + std::to_string(rev) + "\n";
  return md;
}

}  // namespace

RECALL_TEST(concurrency_readers_see_consistent_results_during_updates) {
  Index idx;
  for (int i = 0; i < 200; ++i) idx.Upsert("stable/" + std::to_string(i) + ".md", StableDoc(i));
  // All stable notes score the same for "anchor", so the top 10 is the 10 smallest paths.
  QueryOptions q;
  q.k = 10;
  q.excerpt_chars = 40;
  std::vector<std::string> expected;
  for (const Hit& h : idx.Search("anchor", q)) expected.push_back(h.path);
  REQUIRE(expected.size() == 10);
  CHECK_EQ(expected[0], "stable/0.md");
  CHECK_EQ(expected[1], "stable/1.md");
  CHECK_EQ(expected[2], "stable/10.md");

  std::atomic<int> writers_left{2};
  std::atomic<int> bad{0};
  std::atomic<long> reads{0};
  auto reader = [&](int id) {
    long n = 0;
    while (writers_left.load() > 0 || n < 20) {
      std::vector<std::string> got;
      idx.SearchVisit("anchor", q,
                      [&](const claw::recall::HitView& h) { got.emplace_back(h.path); });
      if (got != expected) ++bad;
      QueryOptions hq;
      hq.k = 25;
      hq.excerpt_chars = 30 + id;
      idx.SearchVisit("churn ünïcode", hq, [&](const claw::recall::HitView& h) {
        if (h.path.substr(0, 4) != "hot/" || !(h.score > 0)) ++bad;
        if (!claw::recall::IsValidUtf8(h.excerpt) || h.title.substr(0, 4) != "Hot ") ++bad;
      });
      const auto st = idx.GetStats();
      if (st.documents < 200 || st.documents > 260) ++bad;
      ++n;
    }
    reads += n;
  };
  auto writer = [&](int seed) {
    for (int rev = 0; rev < 1500; ++rev) {
      const int i = (rev * 7 + seed) % 50;
      const std::string path = "hot/" + std::to_string(i) + ".md";
      if (rev % 5 == 4) {
        const Status st = idx.Remove(path);
        if (st != Status::kOk && st != Status::kNotFound) ++bad;
      } else if (idx.Upsert(path, HotDoc(i, rev)) != Status::kOk) {
        ++bad;
      }
    }
    std::vector<std::string> paths, bodies;
    for (int i = 50; i < 60; ++i) {
      paths.push_back("hot/" + std::to_string(i) + ".md");
      bodies.push_back(HotDoc(i, seed));
    }
    std::vector<DocumentInput> in;
    for (size_t i = 0; i < paths.size(); ++i) in.push_back({paths[i], bodies[i]});
    if (idx.UpsertBatch(in.data(), in.size(), 2) != Status::kOk) ++bad;
    --writers_left;
  };
  std::vector<std::thread> threads;
  for (int r = 0; r < 3; ++r) threads.emplace_back(reader, r);
  threads.emplace_back(writer, 0);
  threads.emplace_back(writer, 3);
  for (std::thread& t : threads) t.join();
  CHECK_EQ(bad.load(), 0);
  CHECK(reads.load() >= 60);
  // After the storm the index is exactly what a single writer would have built.
  std::vector<std::string> after;
  for (const Hit& h : idx.Search("anchor", q)) after.push_back(h.path);
  CHECK_EQ(after, expected);
  const auto st = idx.GetStats();
  CHECK(st.documents >= 210 && st.documents <= 260);
  CHECK(st.doc_slots <= 260);
}

RECALL_TEST(concurrency_writer_is_not_starved_by_readers) {
  // Readers search back to back without pause; a writer must still get through each update.
  Index idx;
  for (int i = 0; i < 100; ++i) idx.Upsert("n/" + std::to_string(i) + ".md", StableDoc(i));
  std::atomic<bool> stop{false};
  std::atomic<int> started{0};
  std::atomic<long> reads{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 4; ++r) {
    readers.emplace_back([&] {
      idx.Search("anchor stable");
      ++reads;
      ++started;
      while (!stop.load()) {
        idx.Search("anchor stable");
        ++reads;
      }
    });
  }
  while (started.load() < 4) std::this_thread::yield();  // every reader is now searching in a loop
  for (int rev = 0; rev < 300; ++rev) idx.Upsert("n/w.md", HotDoc(1, rev));
  stop = true;
  for (std::thread& t : readers) t.join();
  CHECK_EQ(idx.Search("rev299").size(), 1u);
  CHECK(reads.load() >= 4);
}

RECALL_TEST(concurrency_lock_excludes_writers_from_readers) {
  claw::recall::WriterPreferringMutex mu;
  int shared_value = 0;  // written under the exclusive lock, read under the shared lock
  std::atomic<int> inconsistent{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        mu.lock_shared();
        const int a = shared_value;
        const int b = shared_value;
        if (a != b || a % 2 != 0) ++inconsistent;
        mu.unlock_shared();
      }
    });
  }
  threads.emplace_back([&] {
    for (int i = 0; i < 2000; ++i) {
      mu.lock();
      ++shared_value;  // odd only while the exclusive lock is held
      ++shared_value;
      mu.unlock();
    }
  });
  for (std::thread& t : threads) t.join();
  CHECK_EQ(inconsistent.load(), 0);
  CHECK_EQ(shared_value, 4000);
  CHECK(mu.try_lock());
  CHECK(!mu.try_lock_shared());
  mu.unlock();
  CHECK(mu.try_lock_shared());
  CHECK(!mu.try_lock());
  mu.unlock_shared();
}

// A loaded index (Deserialize: the bytes read in place, checked on several threads) serves
// searches while a writer copies loaded documents and terms on write: re-upserting loaded notes
// with the same text and churning others never changes what the readers see.
RECALL_TEST(concurrency_loaded_index_serves_searches_during_copy_on_write) {
  std::vector<std::string> paths, texts;
  for (int i = 0; i < 4000; ++i) {
    std::string md = StableDoc(i);
    for (int k = 0; k < 70; ++k) md += " w" + std::to_string((i * 7 + k) % 500);
    paths.push_back("stable/" + std::to_string(i) + ".md");
    texts.push_back(md + "\n");
  }
  std::vector<DocumentInput> batch;
  for (size_t i = 0; i < paths.size(); ++i) batch.push_back({paths[i], texts[i]});
  std::string bytes;
  {
    Index built;
    REQUIRE(built.UpsertBatch(batch.data(), batch.size(), 2) == Status::kOk);
    REQUIRE(built.GetStats().postings >= (uint64_t{1} << 18));  // checked on several threads
    REQUIRE(built.Serialize(&bytes) == Status::kOk);
  }
  Index idx;
  REQUIRE(idx.Deserialize(bytes) == Status::kOk);
  QueryOptions q;
  q.k = 10;
  q.excerpt_chars = 40;
  std::vector<std::string> expected;
  for (const Hit& h : idx.Search("anchor", q)) expected.push_back(h.path);
  REQUIRE(expected.size() == 10);
  std::atomic<bool> writing{true};
  std::atomic<int> bad{0};
  auto reader = [&] {
    long n = 0;
    while (writing.load() || n < 20) {
      std::vector<std::string> got;
      idx.SearchVisit("anchor", q,
                      [&](const claw::recall::HitView& h) { got.emplace_back(h.path); });
      if (got != expected) ++bad;
      idx.Search("w7 w42 churn", q);
      ++n;
    }
  };
  std::thread r1(reader), r2(reader);
  for (int rev = 0; rev < 60; ++rev) {
    const size_t i = static_cast<size_t>(rev * 61) % paths.size();
    idx.Upsert(paths[i], texts[i]);  // a loaded document and its terms get their own copies
    idx.Upsert("hot/" + std::to_string(rev % 7) + ".md", HotDoc(rev % 7, rev));
    if (rev % 5 == 4) idx.Remove("hot/" + std::to_string(rev % 7) + ".md");
  }
  writing = false;
  r1.join();
  r2.join();
  CHECK_EQ(bad.load(), 0);
  uint64_t hot = 0;
  for (int i = 0; i < 7; ++i) hot += idx.Contains("hot/" + std::to_string(i) + ".md") ? 1 : 0;
  CHECK_EQ(idx.GetStats().documents, uint64_t{4000} + hot);
}
