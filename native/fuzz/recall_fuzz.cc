// libFuzzer target over the recall engine's byte-facing path: markdown + frontmatter parsing, the
// tokenizer, indexing, search and excerpts, and the C facade's caller-buffer search.
//
//   clang++ -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined \
//     native/fuzz/recall_fuzz.cc native/src/recall/*.cc -o recall_fuzz
//   ./recall_fuzz -runs=50000 /tmp/new-corpus native/fuzz/corpus/recall
//
// Input layout: byte 0 = excerpt length, byte 1 = flags (bit 0 keep stop words, bit 1 no plural
// folding, bit 2 search first), then the markdown, then optionally a NUL and the query (without
// a NUL the query is the last 40 bytes of the markdown).
// Built with -DRECALL_FUZZ_STANDALONE it gets a main() that replays files given on the command line
// (used to run the seed corpus under g++ sanitizers when clang is not installed).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "../src/recall/index.h"
#include "../src/recall/markdown.h"
#include "../src/recall/recall_c.h"
#include "../src/recall/tokenizer.h"
#include "../src/recall/utf8.h"

namespace {

using namespace claw::recall;

#define FUZZ_ASSERT(cond)                                                                     \
  do {                                                                                        \
    if (!(cond)) {                                                                            \
      std::fprintf(stderr, "recall_fuzz: invariant failed: %s (line %d)\n", #cond, __LINE__); \
      std::abort();                                                                           \
    }                                                                                         \
  } while (0)

size_t CodePoints(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

void CheckTokens(std::string_view text, const TokenizerOptions& o) {
  Tokenizer tok(o);
  size_t last_end = 0;
  tok.Run(text, [&](std::string_view t, size_t b, size_t e) {
    FUZZ_ASSERT(!t.empty() && t.size() <= kMaxTokenBytes);
    FUZZ_ASSERT(IsValidUtf8(t));
    FUZZ_ASSERT(b < e && e <= text.size() && b >= last_end);
    last_end = e;
    return true;
  });
}

void CheckParsed(std::string_view md) {
  ParsedDoc d;
  ParseMarkdown("dir/fuzz.md", md, &d);
  FUZZ_ASSERT(IsValidUtf8(d.title) && IsValidUtf8(d.body) && IsValidUtf8(d.headings));
  for (const std::string& t : d.tags) FUZZ_ASSERT(IsValidUtf8(t));
  FUZZ_ASSERT(d.body.empty() || (d.body.front() != ' ' && d.body.back() != ' '));
  FUZZ_ASSERT(d.body.find("  ") == std::string::npos);
  FUZZ_ASSERT(!d.title.empty());  // frontmatter title, else first H1, else "fuzz"
}

void Search(const Index& idx, std::string_view query, uint32_t excerpt_chars) {
  QueryOptions q;
  q.k = 5;
  q.excerpt_chars = excerpt_chars;
  double last = 1e300;
  idx.SearchVisit(query, q, [&](const HitView& h) {
    FUZZ_ASSERT(h.score > 0 && h.score <= last);
    last = h.score;
    FUZZ_ASSERT(IsValidUtf8(h.title) && IsValidUtf8(h.excerpt));
    FUZZ_ASSERT(CodePoints(h.excerpt) <= excerpt_chars);
  });
}

void CheckCFacade(std::string_view md, std::string_view query, uint32_t excerpt_chars) {
  claw_recall_index* idx = nullptr;
  FUZZ_ASSERT(claw_recall_create(nullptr, &idx) == CLAW_RECALL_OK);
  const int st = claw_recall_upsert(idx, "c.md", 4, md.data(), md.size(), nullptr);
  FUZZ_ASSERT(st == CLAW_RECALL_OK);
  claw_recall_query q{};
  q.struct_size = sizeof(q);
  q.k = 3;
  q.text = query.data();
  q.text_len = query.size();
  q.excerpt_chars = excerpt_chars;
  claw_recall_hit hits[3];
  char text[96];
  claw_recall_search_info info{};
  info.struct_size = sizeof(info);
  const int r =
      claw_recall_search_into(idx, &q, hits, sizeof(hits[0]), 3, text, sizeof(text), &info);
  FUZZ_ASSERT(r == CLAW_RECALL_OK || r == CLAW_RECALL_E_BUFFER_TOO_SMALL);
  FUZZ_ASSERT(info.hit_count <= 1);
  if (r == CLAW_RECALL_OK && info.hit_count == 1) {
    FUZZ_ASSERT(hits[0].excerpt[hits[0].excerpt_len] == '\0');
  }
  claw_recall_destroy(idx);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const uint32_t excerpt_chars = data[0];
  const uint8_t flags = data[1];
  const std::string_view rest(reinterpret_cast<const char*>(data + 2), size - 2);
  const size_t nul = rest.find('\0');
  const std::string_view md = nul == std::string_view::npos ? rest : rest.substr(0, nul);
  const std::string_view query = nul == std::string_view::npos
                                     ? rest.substr(rest.size() > 40 ? rest.size() - 40 : 0)
                                     : rest.substr(nul + 1);

  Options opts;
  opts.tokenizer.stop_words = (flags & 1) == 0;
  opts.tokenizer.plural_folding = (flags & 2) == 0;
  CheckTokens(rest, opts.tokenizer);
  CheckParsed(md);

  Index idx(opts);
  if (flags & 4) Search(idx, query, excerpt_chars);
  FUZZ_ASSERT(idx.Upsert("a.md", md) == Status::kOk);
  FUZZ_ASSERT(idx.Upsert("b/q.md", query) == Status::kOk);
  Search(idx, query, excerpt_chars);
  Search(idx, md.substr(0, 64), excerpt_chars);
  FUZZ_ASSERT(idx.Upsert("a.md", query) == Status::kOk);  // update in place
  Search(idx, md.substr(md.size() / 2), excerpt_chars);
  FUZZ_ASSERT(idx.Remove("a.md") == Status::kOk);
  FUZZ_ASSERT(idx.Remove("b/q.md") == Status::kOk);
  const Stats st = idx.GetStats();
  FUZZ_ASSERT(st.documents == 0 && st.terms == 0 && st.postings == 0);
  Search(idx, query, excerpt_chars);

  // A batch (with a duplicate path: the later one wins) ends where sequential upserts end.
  Index batch(opts);
  const DocumentInput docs[] = {{"a.md", md}, {"b/q.md", query}, {"a.md", rest}};
  FUZZ_ASSERT(batch.UpsertBatch(docs, 3, 1) == Status::kOk);
  Index seq(opts);
  for (const DocumentInput& d : docs) FUZZ_ASSERT(seq.Upsert(d.path, d.markdown) == Status::kOk);
  const Stats bs = batch.GetStats();
  const Stats ss = seq.GetStats();
  FUZZ_ASSERT(bs.documents == 2 && bs.terms == ss.terms && bs.postings == ss.postings);

  CheckCFacade(md, query, excerpt_chars);
  return 0;
}

#ifdef RECALL_FUZZ_STANDALONE
#include <fstream>
#include <iterator>
#include <vector>

int main(int argc, char** argv) {
  int ran = 0;
  for (int i = 1; i < argc; ++i) {
    std::ifstream in(argv[i], std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "cannot read %s\n", argv[i]);
      return 2;
    }
    const std::vector<char> bytes((std::istreambuf_iterator<char>(in)),
                                  std::istreambuf_iterator<char>());
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    ++ran;
  }
  std::printf("replayed %d inputs\n", ran);
  return ran > 0 ? 0 : 2;
}
#endif
