// Persisted index files (persist.h) and the tree walk (walk.h): a loaded index answers exactly as
// the one saved (markdown and v4 topics, after removals and updates, and after further changes on
// both sides); torn, truncated, bit-flipped, foreign-version and other-options files are refused,
// never served; the walk's rules.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "../src/recall/index.h"
#include "../src/recall/persist.h"
#include "../src/recall/walk.h"
#include "recall_harness.h"

using claw::recall::FileStamp;
using claw::recall::Hit;
using claw::recall::Index;
using claw::recall::LoadIndexFile;
using claw::recall::LoadReport;
using claw::recall::Options;
using claw::recall::PersistStatus;
using claw::recall::QueryOptions;
using claw::recall::SaveIndexFile;
using claw::recall::Status;
using claw::recall::WalkOptions;
using claw::recall::WalkResult;
using claw::recall::WalkTree;

namespace {

std::string TempDir() {
  char tmpl[] = "/tmp/claw-persist-XXXXXX";
  const char* d = ::mkdtemp(tmpl);
  return d ? d : "/tmp";
}

const char* const kTopic = R"(<bv-topic path="auth/jwt" title="JWT design" keywords="jwt,tokens">
<bv-fact id="bve-11111111" subject="signing">Tokens are signed with ES256 keys rotated weekly.</bv-fact>
<bv-decision id="bve-22222222">Refresh tokens rotate on every use.</bv-decision>
</bv-topic>)";

std::string Note(std::mt19937* rng, int i) {
  static const char* const words[] = {"cache", "redis",  "postgres", "deploy", "rollback",
                                      "token", "signed", "queue",    "retry",  "latency",
                                      "index", "search", "tree",     "note",   "sqlite"};
  std::string s = "---\ntitle: Note " + std::to_string(i) + "\ntags: [t" + std::to_string(i % 7) +
                  "]\n---\n# Heading " + std::to_string(i) + "\n\n";
  for (int w = 0; w < 60; ++w) s += std::string(words[(*rng)() % 15]) + " ";
  return s + "\n";
}

const std::vector<std::string> kQueries = {"cache redis",         "postgres deploy", "token signed",
                                           "retry latency queue", "rollback",        "jwt rotate",
                                           "search tree note",    "sqlite index",    "heading 7"};

void ExpectSame(const Index& a, const Index& b) {
  QueryOptions q;
  q.k = 25;
  q.excerpt_chars = 80;
  for (const std::string& query : kQueries) {
    const std::vector<Hit> ha = a.Search(query, q);
    const std::vector<Hit> hb = b.Search(query, q);
    REQUIRE(ha.size() == hb.size());
    for (size_t i = 0; i < ha.size(); ++i) {
      CHECK_EQ(ha[i].path, hb[i].path);
      CHECK_NEAR(ha[i].score, hb[i].score, 1e-12);
      CHECK_EQ(ha[i].title, hb[i].title);
      CHECK_EQ(ha[i].excerpt, hb[i].excerpt);
      CHECK_EQ(ha[i].element_id, hb[i].element_id);
    }
  }
  CHECK_EQ(a.GetStats().documents, b.GetStats().documents);
  CHECK_EQ(a.GetStats().terms, b.GetStats().terms);
  CHECK_EQ(a.GetStats().postings, b.GetStats().postings);
}

std::string ReadFile(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

void WriteFile(const std::string& p, const std::string& s) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f.write(s.data(), static_cast<std::streamsize>(s.size()));
}

}  // namespace

RECALL_TEST(persist_round_trip_equals_the_saved_index_and_keeps_updating_alike) {
  std::mt19937 rng(7);
  Index built;
  for (int i = 0; i < 300; ++i) built.Upsert("n/" + std::to_string(i) + ".md", Note(&rng, i));
  built.Upsert("auth/jwt.html", kTopic);
  for (int i = 0; i < 300; i += 7) built.Remove("n/" + std::to_string(i) + ".md");  // free slots
  for (int i = 1; i < 300; i += 11) built.Upsert("n/" + std::to_string(i) + ".md", Note(&rng, i));
  const std::string dir = TempDir();
  const std::string file = dir + "/index.clawrix";
  REQUIRE(SaveIndexFile(file, built, "{\"manifest\":1}") == PersistStatus::kOk);
  Index loaded;
  std::string meta;
  REQUIRE(LoadIndexFile(file, &loaded, &meta) == PersistStatus::kOk);
  CHECK_EQ(meta, "{\"manifest\":1}");
  ExpectSame(built, loaded);
  // The same changes on both keep them equal (free slots and term ids reused alike).
  for (int i = 0; i < 40; ++i) {
    const std::string p = "n/" + std::to_string(rng() % 320) + ".md";
    if (i % 3 == 0) {
      CHECK(built.Remove(p) == loaded.Remove(p));
    } else {
      const std::string text = Note(&rng, i + 1000);
      CHECK(built.Upsert(p, text) == Status::kOk);
      CHECK(loaded.Upsert(p, text) == Status::kOk);
    }
  }
  ExpectSame(built, loaded);
  // Loading into an index that holds documents is refused.
  std::string meta2;
  CHECK(LoadIndexFile(file, &loaded, &meta2) == PersistStatus::kNotEmpty);
  std::remove(file.c_str());
  ::rmdir(dir.c_str());
}

RECALL_TEST(persist_refuses_torn_flipped_foreign_and_other_option_files) {
  std::mt19937 rng(11);
  Index built;
  for (int i = 0; i < 120; ++i) built.Upsert("n/" + std::to_string(i) + ".md", Note(&rng, i));
  const std::string dir = TempDir();
  const std::string file = dir + "/index.clawrix";
  const std::string bad = dir + "/bad.clawrix";
  REQUIRE(SaveIndexFile(file, built, "meta") == PersistStatus::kOk);
  const std::string good = ReadFile(file);
  REQUIRE(good.size() > 100);
  auto load = [&](const std::string& bytes, const Options& o = Options()) {
    WriteFile(bad, bytes);
    Index idx(o);
    std::string meta;
    const PersistStatus st = LoadIndexFile(bad, &idx, &meta);
    if (st != PersistStatus::kOk) CHECK_EQ(idx.GetStats().documents, uint64_t{0});
    return st;
  };
  CHECK(load(good) == PersistStatus::kOk);
  // Truncated anywhere (a torn write): header, meta, index, the last byte.
  for (size_t cut :
       {size_t{0}, size_t{7}, size_t{47}, size_t{48}, size_t{60}, good.size() / 2, good.size() - 1})
    CHECK(load(good.substr(0, cut)) == PersistStatus::kCorrupt);
  // One flipped bit at many places: never served.
  for (int i = 0; i < 200; ++i) {
    std::string b = good;
    const size_t at = rng() % b.size();
    b[at] = static_cast<char>(b[at] ^ (1 << (rng() % 8)));
    const PersistStatus st = load(b);
    CHECK(st == PersistStatus::kCorrupt || st == PersistStatus::kVersion ||
          st == PersistStatus::kOptions);
  }
  // Appended bytes.
  CHECK(load(good + std::string(8, '\0')) == PersistStatus::kCorrupt);
  // Another format version.
  std::string v = good;
  v[8] = static_cast<char>(claw::recall::kPersistFormat - 1);  // the previous format
  CHECK(load(v) == PersistStatus::kVersion);
  // Other tokenizer options: the terms would differ.
  Options o;
  o.tokenizer.plural_folding = false;
  CHECK(load(good, o) == PersistStatus::kOptions);
  // No file.
  Index idx;
  std::string meta;
  CHECK(LoadIndexFile(dir + "/none", &idx, &meta) == PersistStatus::kMissing);
  std::remove(file.c_str());
  std::remove(bad.c_str());
  ::rmdir(dir.c_str());
}

// A file replaced by renaming (a new inode), as our writers and an attacker's copy do.
void ReplaceFile(const std::string& p, const std::string& s) {
  WriteFile(p + ".new", s);
  REQUIRE(std::rename((p + ".new").c_str(), p.c_str()) == 0);
}

// Where the posting array starts in a saved file (persist.h header, index.cc Layout).
size_t PostingsAt(const std::string& f) {
  auto u64 = [&](size_t at) {
    uint64_t v = 0;
    std::memcpy(&v, f.data() + at, 8);
    return static_cast<size_t>(v);
  };
  auto pad8 = [](size_t n) { return (n + 7) & ~size_t{7}; };
  const size_t index = 48 + pad8(u64(24));
  const size_t ndocs = u64(index), nterms = u64(index + 8), nelems = u64(index + 16);
  const size_t nfree_docs = u64(index + 40), nfree_terms = u64(index + 48),
               nslots = u64(index + 56);
  size_t off = 128 + 96 * ndocs;
  off = pad8(off + 20 * nelems);
  off += 32 * nterms + 8 * nslots;
  off = pad8(off + 4 * nfree_docs);
  off = pad8(off + 4 * nfree_terms);
  return index + off;
}

// Checked once (persist.h): the first load of a file cross-checks it and records it; a load of
// the same file skips the cross-checks (and answers the same); a file written since, a torn
// record, or the record of another file: checked in full again. A crafted file (its checksum
// right, a posting naming a document past the end) is refused whenever it is not the very file
// recorded.
RECALL_TEST(persist_checks_a_file_in_full_once_then_by_its_record) {
  std::mt19937 rng(5);
  Index built;
  for (int i = 0; i < 90; ++i) built.Upsert("n/" + std::to_string(i) + ".md", Note(&rng, i));
  const std::string dir = TempDir();
  const std::string file = dir + "/index.clawrix";
  const std::string record = file + claw::recall::kCheckedSuffix;
  REQUIRE(SaveIndexFile(file, built, "m") == PersistStatus::kOk);
  auto load = [&](const std::string& path, Index* into) {
    LoadReport r;
    std::string meta;
    CHECK(LoadIndexFile(path, into, &meta, nullptr, &r) == PersistStatus::kOk);
    return r;
  };
  Index first;
  LoadReport r = load(file, &first);
  CHECK(r.cross_checked);
  CHECK(r.recorded);
  CHECK(ReadFile(record).size() == 72);
  Index second;
  r = load(file, &second);
  CHECK(!r.cross_checked);
  CHECK(!r.recorded);
  ExpectSame(built, second);
  // Saved again: another file (a new inode), checked in full and recorded.
  REQUIRE(SaveIndexFile(file, built, "m") == PersistStatus::kOk);
  Index third;
  r = load(file, &third);
  CHECK(r.cross_checked);
  CHECK(r.recorded);
  // A torn or garbled record: checked in full, recorded again.
  for (const std::string& junk : {std::string("CLAWRIXC"), std::string(72, '\0'), std::string()}) {
    WriteFile(record, junk);
    Index idx;
    r = load(file, &idx);
    CHECK(r.cross_checked);
    CHECK(r.recorded);
  }
  // The record of another file with the same bytes: checked in full.
  const std::string other = dir + "/other.clawrix";
  WriteFile(other, ReadFile(file));
  WriteFile(other + claw::recall::kCheckedSuffix, ReadFile(record));
  Index copy;
  r = load(other, &copy);
  CHECK(r.cross_checked);
  // A crafted file: the first posting names a document past the end, the checksum recomputed.
  std::string crafted = ReadFile(file);
  const size_t posts = PostingsAt(crafted);
  REQUIRE(posts + 8 <= crafted.size());
  const uint32_t past_end = 0x7FFFFFF0u;
  std::memcpy(&crafted[posts], &past_end, 4);
  const uint64_t sum = claw::recall::ChecksumBody(
      reinterpret_cast<const uint8_t*>(crafted.data()) + 48, crafted.size() - 48);
  std::memcpy(&crafted[40], &sum, 8);
  ReplaceFile(file, crafted);
  Index refused;
  std::string meta;
  CHECK(LoadIndexFile(file, &refused, &meta) == PersistStatus::kCorrupt);
  CHECK_EQ(refused.GetStats().documents, uint64_t{0});
  for (const std::string& f : {file, record, other, other + claw::recall::kCheckedSuffix})
    std::remove(f.c_str());
  CHECK(::rmdir(dir.c_str()) == 0);  // nothing else was left behind (no record temp file)
}

RECALL_TEST(walk_lists_reads_and_skips_by_the_tree_rules) {
  const std::string dir = TempDir();
  const std::string root = dir + "/tree";
  ::mkdir(root.c_str(), 0755);
  ::mkdir((root + "/a").c_str(), 0755);
  ::mkdir((root + "/.git").c_str(), 0755);
  WriteFile(root + "/a/one.md", "# One\n");
  WriteFile(root + "/a/TWO.MD", "# Two\n");
  WriteFile(root + "/a/skip.txt", "no");
  WriteFile(root + "/.git/x.md", "# hidden");
  WriteFile(root + "/.dot.md", "# dot");
  WriteFile(root + "/big.md", std::string(100, 'x'));
  CHECK(::symlink((root + "/a/one.md").c_str(), (root + "/link.md").c_str()) == 0);
  CHECK(::symlink((root + "/a").c_str(), (root + "/linkdir").c_str()) == 0);
  WalkOptions o;
  o.max_file_bytes = 50;
  o.threads = 3;
  const WalkResult r = WalkTree(root, o);
  CHECK_EQ(r.error, 0);
  REQUIRE(r.files.size() == 3);
  CHECK_EQ(r.files[0].path, "a/TWO.MD");
  CHECK_EQ(r.files[1].path, "a/one.md");
  CHECK_EQ(r.files[1].content, "# One\n");
  CHECK(r.files[1].read);
  CHECK_EQ(r.files[2].path, "big.md");
  CHECK(r.files[2].too_large);
  CHECK(!r.files[2].read);
  // Known stamps are not read again.
  const FileStamp one = r.files[1].stamp;
  const WalkResult r2 = WalkTree(
      root, o, [&](std::string_view p, const FileStamp& s) { return p == "a/one.md" && s == one; });
  REQUIRE(r2.files.size() == 3);
  CHECK(!r2.files[1].read);
  CHECK(r2.files[0].read);
  CHECK_EQ(WalkTree(dir + "/missing", o).files.size(), size_t{0});
  CHECK_EQ(WalkTree(root + "/a/one.md", o).error, ENOTDIR);
  std::system(("rm -rf '" + dir + "'").c_str());
}
