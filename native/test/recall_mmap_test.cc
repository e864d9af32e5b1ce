// Index bytes read in place (index.cc "persistence", persist.h): the structural checks of
// Index::Deserialize, which run after the file checksum has passed, so a file crafted with a valid
// checksum (or an engine bug) is what they face. Every bit position of the header and a spread of
// positions across the records, codes, slots, free lists, postings and blob is flipped in a saved
// index: the bytes are refused (the index stays empty) or, when the flip leaves a consistent index
// (a term frequency, a body byte), served — then searched, changed (copy on write), saved and
// loaded again without a fault (this file also runs under AddressSanitizer + UBSan). Flips of a
// count, a posting's document or a dictionary slot are always refused. Also: unaligned or borrowed
// bytes, and a mapped file's release.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "../src/recall/index.h"
#include "../src/recall/persist.h"
#include "recall_harness.h"

using claw::recall::Hit;
using claw::recall::Index;
using claw::recall::LoadIndexFile;
using claw::recall::PersistStatus;
using claw::recall::QueryOptions;
using claw::recall::SaveIndexFile;
using claw::recall::Status;

namespace {

const char* const kWords[] = {"cache",  "redis", "postgres", "deploy",  "rollback", "token",
                              "signed", "queue", "retry",    "latency", "index",    "search",
                              "tree",   "note",  "sqlite",   "mmap",    "chunk",    "posting"};

std::string Note(std::mt19937* rng, int i) {
  std::string s = "---\ntitle: Note " + std::to_string(i) + "\ntags: [t" + std::to_string(i % 5) +
                  "]\n---\n# Heading " + std::to_string(i) + "\n\n";
  for (int w = 0; w < 25; ++w) s += std::string(kWords[(*rng)() % 18]) + " ";
  return s + "\n";
}

std::string Topic(int i) {
  return "<bv-topic path=\"t/" + std::to_string(i) + "\" title=\"Topic " + std::to_string(i) +
         "\"><bv-fact id=\"bve-" + std::to_string(10000000 + i) +
         "\">cache token signed</bv-fact><bv-rule>retry queue latency</bv-rule></bv-topic>";
}

// A small index with free document slots and free term ids, serialized.
std::string SmallIndexBytes() {
  std::mt19937 rng(3);
  Index idx;
  for (int i = 0; i < 24; ++i) idx.Upsert("n/" + std::to_string(i) + ".md", Note(&rng, i));
  for (int i = 0; i < 3; ++i) idx.Upsert("t/" + std::to_string(i) + ".html", Topic(i));
  idx.Upsert("rare.md", "# Rare\n\nzymurgy quixotic");
  idx.Remove("rare.md");                                                         // frees term ids
  for (int i = 0; i < 24; i += 5) idx.Remove("n/" + std::to_string(i) + ".md");  // free slots
  std::string out;
  REQUIRE(idx.Serialize(&out) == Status::kOk);
  return out;
}

const std::vector<std::string> kQueries = {"cache redis", "token signed", "retry queue latency",
                                           "heading 7",   "note",         "mmap chunk posting"};

// A served index must stay usable: searched, changed, saved and served again.
void Exercise(Index* idx) {
  QueryOptions q;
  q.k = 50;
  for (const std::string& query : kQueries) idx->Search(query, q);
  std::mt19937 rng(5);
  for (int i = 0; i < 24; i += 3) idx->Remove("n/" + std::to_string(i) + ".md");
  for (int i = 1; i < 24; i += 4) idx->Upsert("n/" + std::to_string(i) + ".md", Note(&rng, i));
  idx->Upsert("t/1.html", Topic(7));
  idx->Upsert("new.md", Note(&rng, 99));
  for (const std::string& query : kQueries) idx->Search(query, q);
  std::string again;
  CHECK(idx->Serialize(&again) == Status::kOk);
  Index reloaded;
  CHECK(reloaded.Deserialize(again) == Status::kOk);
  CHECK_EQ(reloaded.GetStats().documents, idx->GetStats().documents);
  CHECK_EQ(reloaded.GetStats().postings, idx->GetStats().postings);
}

}  // namespace

RECALL_TEST(mmap_crafted_index_bytes_are_refused_or_served_safely) {
  const std::string good = SmallIndexBytes();
  {
    Index idx;
    REQUIRE(idx.Deserialize(good) == Status::kOk);
    Exercise(&idx);
  }
  uint64_t counts[16];
  std::memcpy(counts, good.data(), sizeof counts);
  const size_t ndocs = counts[0], nterms = counts[1], nelems = counts[2], nposts = counts[3];
  const size_t nslots = counts[7];
  auto pad8 = [](size_t n) { return (n + 7) & ~size_t{7}; };
  const size_t docs_at = 128;
  const size_t terms_at = pad8(docs_at + 96 * ndocs + 20 * nelems);
  const size_t slots_at = terms_at + 32 * nterms;
  const size_t free_at = slots_at + 8 * nslots;
  const size_t posts_at = pad8(pad8(free_at + 4 * counts[5]) + 4 * counts[6]);
  const size_t blob_at = pad8(pad8(posts_at + 8 * nposts + counts[14]) + counts[15]);
  REQUIRE(blob_at < good.size());
  REQUIRE(counts[5] > 0);  // free document slots
  REQUIRE(counts[6] > 0);  // free term ids

  std::mt19937 rng(20261207);
  size_t refused = 0, served = 0;
  auto flip = [&](size_t pos, int bit) {
    std::string b = good;
    b[pos] = static_cast<char>(b[pos] ^ (1 << bit));
    Index idx;
    const Status st = idx.Deserialize(b);
    if (st != Status::kOk) {
      CHECK(st == Status::kInvalidArgument);
      CHECK_EQ(idx.GetStats().doc_slots, uint64_t{0});
      CHECK_EQ(idx.GetStats().documents, uint64_t{0});
      ++refused;
      return false;
    }
    ++served;
    Exercise(&idx);
    return true;
  };
  // The header: every count, total and sum (all but the generation, bytes 80..87) is checked.
  for (size_t pos = 0; pos < 128; ++pos) {
    const bool ok = flip(pos, static_cast<int>(rng() % 8));
    if (pos < 80 || pos >= 88) CHECK(!ok);
  }
  // Records, element spans, slots, free lists: every byte, one random bit each.
  for (size_t pos = docs_at; pos < posts_at; ++pos) flip(pos, static_cast<int>(rng() % 8));
  // Dictionary slots and free lists always: a slot names one live term under its hash.
  for (size_t pos = slots_at; pos < posts_at; pos += 3) CHECK(!flip(pos, 0));
  // A posting's document (its first 4 bytes): order, range and the codes' pairs catch it.
  for (size_t k = 0; k < nposts; k += 7) CHECK(!flip(posts_at + 8 * k + (k % 3), 1));
  // Term frequencies, codes, paths and the blob (texts): refused or served, never a fault.
  for (size_t pos = posts_at + 4; pos < good.size(); pos += 13)
    flip(pos, static_cast<int>(rng() % 8));
  // Truncated or extended bytes.
  for (size_t cut : {size_t{0}, size_t{64}, size_t{127}, blob_at, good.size() - 8}) {
    Index idx;
    CHECK(idx.Deserialize(good.substr(0, cut)) == Status::kInvalidArgument);
  }
  {
    Index idx;
    CHECK(idx.Deserialize(good + std::string(8, '\0')) == Status::kInvalidArgument);
  }
  CHECK(refused > 0);
  CHECK(served > 0);
  std::printf("    %zu flips refused, %zu served (consistent)\n", refused, served);
}

RECALL_TEST(mmap_unaligned_or_borrowed_bytes_serve_alike) {
  const std::string good = SmallIndexBytes();
  Index copy;
  REQUIRE(copy.Deserialize(good) == Status::kOk);
  CHECK_EQ(copy.GetStats().mapped_bytes, uint64_t{0});
  // Borrowed, aligned: served in place; the index owns the owner until nothing refers to it.
  struct Owner : claw::recall::BytesOwner {
    std::vector<uint64_t> words;
    bool* gone = nullptr;
    ~Owner() override { *gone = true; }
  };
  bool gone = false, gone2 = false;
  std::unique_ptr<Owner> owner(new Owner);
  owner->gone = &gone;
  owner->words.resize(good.size() / 8 + 1);
  std::memcpy(owner->words.data(), good.data(), good.size());
  const std::string_view in_place(reinterpret_cast<const char*>(owner->words.data()), good.size());
  Index borrowed;
  REQUIRE(borrowed.Deserialize(in_place, std::move(owner), true) == Status::kOk);
  CHECK_EQ(borrowed.GetStats().mapped_bytes, uint64_t{good.size()});
  CHECK(!gone);
  // Unaligned: copied (the owner given is let go at once).
  std::string shifted = " " + good;
  std::unique_ptr<Owner> owner2(new Owner);
  owner2->gone = &gone2;
  Index unaligned;
  REQUIRE(unaligned.Deserialize(std::string_view(shifted).substr(1), std::move(owner2), true) ==
          Status::kOk);
  CHECK(gone2);
  CHECK_EQ(unaligned.GetStats().mapped_bytes, uint64_t{0});
  QueryOptions q;
  q.k = 30;
  for (const std::string& query : kQueries) {
    const std::vector<Hit> a = copy.Search(query, q);
    const std::vector<Hit> b = borrowed.Search(query, q);
    const std::vector<Hit> c = unaligned.Search(query, q);
    REQUIRE(a.size() == b.size());
    REQUIRE(a.size() == c.size());
    for (size_t i = 0; i < a.size(); ++i) {
      CHECK_EQ(a[i].path, b[i].path);
      CHECK_EQ(a[i].score, b[i].score);
      CHECK_EQ(a[i].excerpt, b[i].excerpt);
      CHECK_EQ(a[i].element_id, b[i].element_id);
      CHECK_EQ(a[i].path, c[i].path);
    }
  }
  // Once every loaded document is gone, the owner is released.
  for (int i = 0; i < 24; ++i) borrowed.Remove("n/" + std::to_string(i) + ".md");
  for (int i = 0; i < 3; ++i) borrowed.Remove("t/" + std::to_string(i) + ".html");
  CHECK_EQ(borrowed.GetStats().documents, uint64_t{0});
  CHECK_EQ(borrowed.GetStats().mapped_bytes, uint64_t{0});
  CHECK(gone);
}

RECALL_TEST(mmap_loaded_file_is_unmapped_with_the_index) {
  char tmpl[] = "/tmp/claw-mmap-XXXXXX";
  const char* dir = ::mkdtemp(tmpl);
  REQUIRE(dir != nullptr);
  const std::string file = std::string(dir) + "/index.clawrix";
  std::mt19937 rng(9);
  {
    Index built;
    for (int i = 0; i < 50; ++i) built.Upsert("n/" + std::to_string(i) + ".md", Note(&rng, i));
    REQUIRE(SaveIndexFile(file, built, "meta") == PersistStatus::kOk);
  }
  auto mapped = [&] {
    FILE* f = std::fopen("/proc/self/maps", "r");
    if (f == nullptr) return false;
    char line[4096];
    bool found = false;
    while (std::fgets(line, sizeof line, f) != nullptr)
      if (std::strstr(line, file.c_str()) != nullptr) found = true;
    std::fclose(f);
    return found;
  };
  {
    Index idx;
    std::string meta;
    REQUIRE(LoadIndexFile(file, &idx, &meta) == PersistStatus::kOk);
    CHECK_EQ(meta, "meta");
    CHECK(idx.GetStats().mapped_bytes > 0);
    CHECK(mapped());
  }
  CHECK(!mapped());
  {
    // An index with no document: nothing refers to the file, so it is let go right away (the
    // manifest was copied out before).
    Index empty;
    REQUIRE(SaveIndexFile(file, empty, "empty manifest") == PersistStatus::kOk);
    Index idx;
    std::string meta;
    REQUIRE(LoadIndexFile(file, &idx, &meta) == PersistStatus::kOk);
    CHECK_EQ(meta, "empty manifest");
    CHECK_EQ(idx.GetStats().mapped_bytes, uint64_t{0});
    CHECK(!mapped());
    CHECK(idx.Upsert("a.md", "# A\n\nalpha") == Status::kOk);
    CHECK_EQ(idx.Search("alpha").size(), size_t{1});
  }
  std::remove(file.c_str());
  ::rmdir(dir);
}

RECALL_TEST(mmap_crafted_generation_still_refreshes_norms) {
  // The generation is not checked (any value is consistent), so a crafted one must not make the
  // first search skip computing the per-document norms (~0 was the "never computed" mark: a
  // loaded generation of ~0 - 1 became ~0 and searches read an empty norm table).
  const std::string good = SmallIndexBytes();
  Index plain;
  REQUIRE(plain.Deserialize(good) == Status::kOk);
  QueryOptions q;
  q.k = 30;
  for (uint64_t generation : {~uint64_t{0} - 1, ~uint64_t{0}, uint64_t{0}}) {
    std::string b = good;
    std::memcpy(&b[80], &generation, 8);
    Index idx;
    REQUIRE(idx.Deserialize(b) == Status::kOk);
    for (const std::string& query : kQueries) {
      const std::vector<Hit> got = idx.Search(query, q);
      const std::vector<Hit> want = plain.Search(query, q);
      REQUIRE(got.size() == want.size());
      for (size_t i = 0; i < got.size(); ++i) {
        CHECK_EQ(got[i].path, want[i].path);
        CHECK_EQ(got[i].score, want[i].score);
      }
    }
    Exercise(&idx);
  }
}

RECALL_TEST(mmap_a_fifo_at_the_index_path_is_refused_without_blocking) {
  // A foreign file at the index path is refused, never waited on: opening a FIFO for reading
  // blocked until a writer came (a load that never returned).
  char tmpl[] = "/tmp/claw-mmap-fifo-XXXXXX";
  const char* dir = ::mkdtemp(tmpl);
  REQUIRE(dir != nullptr);
  const std::string fifo = std::string(dir) + "/index.clawrix";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  Index idx;
  std::string meta;
  int err = 0;
  CHECK(LoadIndexFile(fifo, &idx, &meta, &err) == PersistStatus::kIo);
  CHECK_EQ(err, EINVAL);
  CHECK_EQ(idx.GetStats().doc_slots, uint64_t{0});
  std::remove(fifo.c_str());
  ::rmdir(dir);
}

RECALL_TEST(mmap_crafted_duplicate_term_text_is_refused) {
  // Two live term ids with the same text (each with its own postings, every other check
  // consistent, the dictionary rebuilt so both are reachable): a query would find one of them and
  // miss the other's documents. Refused like any other inconsistent index.
  Index built;
  built.Upsert("a.md", "# A\n\nzymurgy alpha");
  built.Upsert("b.md", "# B\n\nquixote beta");
  std::string b;
  REQUIRE(built.Serialize(&b) == Status::kOk);
  uint64_t h[16];
  std::memcpy(h, b.data(), sizeof h);
  const size_t ndocs = h[0], nterms = h[1], nelems = h[2], nposts = h[3], nslots = h[7];
  auto pad8 = [](size_t n) { return (n + 7) & ~size_t{7}; };
  const size_t terms_at = pad8(128 + 96 * ndocs + 20 * nelems);
  const size_t slots_at = terms_at + 32 * nterms;
  const size_t free_at = slots_at + 8 * nslots;
  const size_t posts_at = pad8(pad8(free_at + 4 * h[5]) + 4 * h[6]);
  const size_t blob_at = pad8(pad8(posts_at + 8 * nposts + h[14]) + h[15]);
  struct TermRec {
    uint64_t text_off, post_first;
    uint32_t text_len, post_count, hash, reserved;
  };
  auto rec = [&](size_t t) {
    TermRec r;
    std::memcpy(&r, &b[terms_at + 32 * t], sizeof r);
    return r;
  };
  size_t a = nterms, q = nterms;
  for (size_t t = 0; t < nterms; ++t) {
    const TermRec r = rec(t);
    const std::string text = b.substr(blob_at + r.text_off, r.text_len);
    if (text == "zymurgy") a = t;
    if (text == "quixote") q = t;
  }
  REQUIRE(a < nterms && q < nterms);
  // quixote becomes a second zymurgy: same text, same hash.
  TermRec rq = rec(q);
  const TermRec ra = rec(a);
  std::memcpy(&b[blob_at + rq.text_off], "zymurgy", 7);
  rq.hash = ra.hash;
  std::memcpy(&b[terms_at + 32 * q], &rq, sizeof rq);
  // The dictionary rebuilt by linear probing, term ids in order (every term reachable).
  std::vector<uint32_t> slot(2 * nslots, 0);
  for (size_t t = 0; t < nterms; ++t) {
    const TermRec r = rec(t);
    if (r.post_count == 0) continue;
    size_t i = r.hash & (nslots - 1);
    while (slot[2 * i] != 0) i = (i + 1) & (nslots - 1);
    slot[2 * i] = static_cast<uint32_t>(t + 1);
    slot[2 * i + 1] = r.hash;
  }
  std::memcpy(&b[slots_at], slot.data(), 8 * nslots);
  Index idx;
  const Status st = idx.Deserialize(b);
  if (st == Status::kOk) {
    std::printf("    served: \"zymurgy\" finds %zu of 2 documents\n", idx.Search("zymurgy").size());
  }
  CHECK(st == Status::kInvalidArgument);
  CHECK_EQ(idx.GetStats().doc_slots, uint64_t{0});
}
