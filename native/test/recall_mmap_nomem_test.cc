// Allocation failure on a loaded (mapped) index: LoadIndexFile and the copy-on-write changes of a
// loaded index, each allocation failing in turn. This file replaces the global operator new for the
// whole test binary; it fails only while a test here has armed it (one thread, small inputs: the
// checksum and the load checks stay on the calling thread). Each load must return kOk or
// kNoMemory and leave the index empty and unmapped; each change that throws std::bad_alloc (the
// C facade and the addon turn it into RECALL_NO_MEMORY) must leave an index that, once the failed
// change is made again (index.h: upserting or removing the document again restores it), answers
// like a fresh build of the same contents and saves bytes that load again.
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <new>
#include <string>
#include <vector>

#include "../src/recall/index.h"
#include "../src/recall/persist.h"
#include "fail_alloc.h"
#include "recall_harness.h"

using claw_test::g_countdown;
using claw_test::g_injected;

using claw::recall::DocumentInput;
using claw::recall::Index;
using claw::recall::LoadIndexFile;
using claw::recall::PersistStatus;
using claw::recall::QueryOptions;
using claw::recall::SaveIndexFile;
using claw::recall::Status;

namespace {

const char* const kNomemWords[] = {"cache", "redis",  "postgres", "deploy", "rollback",
                                   "token", "signed", "queue",    "retry",  "latency"};

std::string NomemNote(int i) {
  std::string s = "# Note " + std::to_string(i) + "\n\n";
  for (int w = 0; w < 12; ++w) s += std::string(kNomemWords[(i * 7 + w * 3) % 10]) + " ";
  return s + "uniq" + std::to_string(i) + "\n";
}

std::string NomemTopic(int i) {
  return "<bv-topic title=\"T" + std::to_string(i) + "\"><bv-fact id=\"f" + std::to_string(i) +
         "\">cache token uniq" + std::to_string(i) +
         "</bv-fact><bv-rule>retry queue</bv-rule></bv-topic>";
}

std::string Answers(const Index& idx) {
  static const char* const kQueries[] = {"cache",        "token signed",   "retry queue",
                                         "uniq3 uniq12", "uniq7 rollback", "note"};
  QueryOptions q;
  q.k = 50;
  std::string s;
  for (const char* query : kQueries) {
    for (const auto& h : idx.Search(query, q)) {
      char score[32];
      std::snprintf(score, sizeof score, "%.9g", h.score);
      s += h.path + "|" + score + "|" + h.excerpt + "|" + h.element_id + "\n";
    }
  }
  return s;
}

struct Change {
  int kind;  // 0 upsert, 1 remove, 2 batch of loaded and new documents
  std::string path, text;
};

void Apply(Index* idx, std::map<std::string, std::string>* want, const Change& c) {
  if (c.kind == 0) {
    idx->Upsert(c.path, c.text);
    (*want)[c.path] = c.text;
  } else if (c.kind == 1) {
    idx->Remove(c.path);
    want->erase(c.path);
  } else {
    std::vector<std::string> paths, texts;
    for (int i = 10; i < 16; ++i) {
      paths.push_back("n/" + std::to_string(i) + ".md");
      texts.push_back(NomemNote(300 + i));
    }
    paths.push_back("new/b.md");
    texts.push_back(NomemNote(400));
    std::vector<DocumentInput> docs;
    for (size_t i = 0; i < paths.size(); ++i) docs.push_back(DocumentInput{paths[i], texts[i]});
    if (idx->UpsertBatch(docs.data(), docs.size(), 1) == Status::kNoMemory) throw std::bad_alloc();
    for (size_t i = 0; i < paths.size(); ++i) (*want)[paths[i]] = texts[i];
  }
}

}  // namespace

RECALL_TEST(mmap_nomem_load_and_copy_on_write_fail_cleanly) {
  char tmpl[] = "/tmp/claw-mmap-nomem-XXXXXX";
  const char* dir = ::mkdtemp(tmpl);
  REQUIRE(dir != nullptr);
  const std::string file = std::string(dir) + "/index.clawrix";
  std::map<std::string, std::string> base;
  for (int i = 0; i < 20; ++i) base["n/" + std::to_string(i) + ".md"] = NomemNote(i);
  for (int i = 0; i < 4; ++i) base["t/" + std::to_string(i) + ".html"] = NomemTopic(i);
  {
    Index built;
    for (const auto& kv : base) built.Upsert(kv.first, kv.second);
    REQUIRE(SaveIndexFile(file, built, "meta") == PersistStatus::kOk);
  }

  // Loading: every allocation fails in turn.
  long n = 0, load_no_memory = 0;
  for (;; ++n) {
    Index idx;
    std::string meta;
    g_injected = 0;
    g_countdown = n + 1;  // allocation n (0-based) fails
    const PersistStatus st = LoadIndexFile(file, &idx, &meta);
    g_countdown = 0;
    if (g_injected == 0) {
      CHECK(st == PersistStatus::kOk);
      break;
    }
    CHECK(st == PersistStatus::kNoMemory || st == PersistStatus::kOk);
    if (st != PersistStatus::kOk) {
      ++load_no_memory;
      CHECK_EQ(idx.GetStats().doc_slots, uint64_t{0});
      CHECK_EQ(idx.GetStats().mapped_bytes, uint64_t{0});
      CHECK(LoadIndexFile(file, &idx, &meta) == PersistStatus::kOk);
      CHECK_EQ(meta, "meta");
    }
  }
  CHECK(load_no_memory > 10);

  // Changes of a loaded index: replaced, removed, re-added and new documents, a batch.
  const std::vector<Change> changes = {
      {0, "n/3.md", NomemNote(103)},   {1, "n/5.md", ""},   {0, "t/1.html", NomemTopic(101)},
      {0, "new/a.md", NomemNote(200)}, {1, "t/2.html", ""}, {2, "", ""},
      {0, "n/5.md", NomemNote(105)},   {1, "n/7.md", ""},   {0, "n/9.md", NomemNote(7)},
      {0, "n/12.md", NomemNote(12)},   {1, "new/b.md", ""}, {0, "new/c.md", NomemNote(500)}};
  std::map<std::string, std::string> final_contents = base;
  {
    Index scratch;
    for (const Change& c : changes) Apply(&scratch, &final_contents, c);
  }
  std::string expected;
  {
    Index fresh;
    for (const auto& kv : final_contents) fresh.Upsert(kv.first, kv.second);
    expected = Answers(fresh);
  }
  long threw = 0;
  const int failures_before = recall_test::Failures();
  for (n = 0;; ++n) {
    Index idx;
    std::string meta;
    REQUIRE(LoadIndexFile(file, &idx, &meta) == PersistStatus::kOk);
    std::map<std::string, std::string> want = base;
    g_injected = 0;
    g_countdown = n + 1;  // allocation n (0-based) fails
    size_t k = 0;
    for (; k < changes.size(); ++k) {
      try {
        Apply(&idx, &want, changes[k]);
      } catch (const std::bad_alloc&) {
        ++threw;
        break;
      }
    }
    g_countdown = 0;
    if (g_injected == 0) break;
    for (; k < changes.size(); ++k) Apply(&idx, &want, changes[k]);  // the failed one again
    const std::string got = Answers(idx);
    CHECK(got == expected);
    std::string bytes;
    CHECK(idx.Serialize(&bytes) == Status::kOk);
    Index again;
    const Status st = again.Deserialize(bytes);
    CHECK(st == Status::kOk);
    if (st == Status::kOk) CHECK(Answers(again) == expected);
    if (recall_test::Failures() > failures_before) {
      std::printf("    first failure with allocation %ld failing\n", n);
      break;
    }
  }
  CHECK(threw > 100);
  std::printf("    load and changes swept, %ld changes threw\n", threw);

  // A batch of more than one chunk on two threads: an allocation failing while the main thread
  // applies a chunk (copying loaded postings) and the helper prepares the next one. Before, the
  // bad_alloc unwound past the helper's joinable std::thread: std::terminate, the host aborted.
  std::vector<std::string> paths, texts;
  std::map<std::string, std::string> batch_contents = base;
  for (int i = 0; i < 300; ++i) {
    paths.push_back(i < 20 ? "n/" + std::to_string(i) + ".md" : "b/" + std::to_string(i) + ".md");
    texts.push_back(NomemNote(600 + i));
    batch_contents[paths.back()] = texts.back();
  }
  std::vector<DocumentInput> batch;
  for (size_t i = 0; i < paths.size(); ++i) batch.push_back(DocumentInput{paths[i], texts[i]});
  std::string batch_expected;
  {
    Index fresh;
    for (const auto& kv : batch_contents) fresh.Upsert(kv.first, kv.second);
    batch_expected = Answers(fresh);
  }
  long batch_failed = 0;
  for (n = 0;; n += 41) {
    Index idx;
    std::string meta;
    REQUIRE(LoadIndexFile(file, &idx, &meta) == PersistStatus::kOk);
    g_injected = 0;
    g_countdown = n + 1;  // allocation n (0-based) fails
    Status st = Status::kOk;
    try {
      st = idx.UpsertBatch(batch.data(), batch.size(), 2);
    } catch (const std::bad_alloc&) {
      st = Status::kNoMemory;
    }
    g_countdown = 0;
    if (g_injected == 0) {
      CHECK(st == Status::kOk);
      CHECK(Answers(idx) == batch_expected);
      break;
    }
    CHECK(st == Status::kOk || st == Status::kNoMemory);
    if (st != Status::kOk) ++batch_failed;
    CHECK(idx.UpsertBatch(batch.data(), batch.size(), 2) == Status::kOk);
    CHECK(Answers(idx) == batch_expected);
  }
  CHECK(batch_failed > 10);
  std::printf("    batch swept, %ld failed\n", batch_failed);
  std::remove(file.c_str());
  ::rmdir(dir);
}
