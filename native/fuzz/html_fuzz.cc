// libFuzzer target over the ByteRover v4 topic path: ParseTopicHtml (html.h), and the index on a
// `.html` document (element spans, best element, excerpts, warnings, signals).
//
//   clang++ -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -Inative/src \
//     native/fuzz/html_fuzz.cc native/src/recall/{utf8,tokenizer,markdown,html,excerpt,index}.cc \
//     -o html_fuzz
//   ./html_fuzz -runs=50000 /tmp/new-corpus native/fuzz/corpus/html
//
// Input: byte 0 = flags (bit 0 set signals, bit 1 search before the second upsert), then the HTML,
// then optionally a NUL and the query (without a NUL the query is the last 24 bytes of the HTML).
// Built with -DHTML_FUZZ_STANDALONE it gets a main() that replays the files given on the command
// line (test/native/html-fuzz.test.ts replays the committed corpus under g++ sanitizers that way).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "../src/recall/html.h"
#include "../src/recall/index.h"
#include "../src/recall/utf8.h"

namespace {

using namespace claw::recall;

#define FUZZ_ASSERT(cond)                                                                   \
  do {                                                                                      \
    if (!(cond)) {                                                                          \
      std::fprintf(stderr, "html_fuzz: invariant failed: %s (line %d)\n", #cond, __LINE__); \
      std::abort();                                                                         \
    }                                                                                       \
  } while (0)

void CheckParsed(std::string_view html) {
  ParsedTopic t;
  ParseTopicHtml(html, &t);
  FUZZ_ASSERT(t.warnings.size() <= kMaxHtmlWarnings);
  bool not_a_topic = false;
  for (const HtmlWarning& w : t.warnings) {
    FUZZ_ASSERT(!w.code.empty() && !w.reason.empty() && w.offset <= html.size());
    FUZZ_ASSERT(IsValidUtf8(w.reason));
    not_a_topic = not_a_topic || w.code == "HTML_NOT_A_TOPIC";
  }
  FUZZ_ASSERT(t.is_topic || not_a_topic || t.warnings.size() == kMaxHtmlWarnings);
  if (!t.is_topic) FUZZ_ASSERT(t.attrs.empty() && t.elements.empty());
  for (const HtmlAttr& a : t.attrs) FUZZ_ASSERT(IsValidUtf8(a.name) && IsValidUtf8(a.value));
  for (const TopicElement& e : t.elements) {
    FUZZ_ASSERT(e.kind != ElementKind::kUnknown);
    FUZZ_ASSERT(e.offset < html.size());
    FUZZ_ASSERT(IsValidUtf8(e.text) && IsValidUtf8(e.id));
    FUZZ_ASSERT(e.text.empty() || (e.text.front() != ' ' || e.kind == ElementKind::kTopic));
    FUZZ_ASSERT(e.text.empty() || e.text.back() != ' ');
    FUZZ_ASSERT(e.text.find("  ") == std::string::npos);
  }
  // Deterministic: a second parse gives the same result.
  ParsedTopic again;
  ParseTopicHtml(html, &again);
  FUZZ_ASSERT(again.elements.size() == t.elements.size() &&
              again.warnings.size() == t.warnings.size());
  for (size_t i = 0; i < t.elements.size(); ++i)
    FUZZ_ASSERT(again.elements[i].text == t.elements[i].text);
}

void CheckIndexed(std::string_view html, std::string_view query, uint8_t flags) {
  Index idx;
  FUZZ_ASSERT(idx.Upsert("t/fuzz.html", html) == Status::kOk);
  FUZZ_ASSERT(idx.Upsert("t/other.html",
                         "<bv-topic path=\"t/other\" title=\"O\"><bv-fact "
                         "subject=\"s\" category=\"other\">other words</bv-fact>"
                         "</bv-topic>") == Status::kOk);
  if (flags & 1) {
    Signals s;
    s.importance = 75;
    s.recency = 0.5;
    s.maturity = Maturity::kCore;
    FUZZ_ASSERT(idx.SetSignals("t/fuzz.html", &s) == Status::kOk);
  }
  QueryOptions q;
  q.k = 5;
  q.excerpt_chars = 60;
  auto search = [&] {
    for (const Hit& h : idx.Search(query, q)) {
      FUZZ_ASSERT(h.score > 0);
      FUZZ_ASSERT(IsValidUtf8(h.excerpt) && IsValidUtf8(h.title) && IsValidUtf8(h.element_id));
      if (!h.element_type.empty()) {
        FUZZ_ASSERT(ElementKindFromName(h.element_type) != ElementKind::kUnknown);
      } else {
        FUZZ_ASSERT(h.element_id.empty());
      }
    }
  };
  search();
  const size_t warned = idx.TakeWarnings().size();
  ParsedTopic t;
  ParseTopicHtml(html, &t);
  // ByteRover's <bv-index> listing is skipped without warnings (index.h).
  const size_t lead = html.find_first_not_of(" \t\r\n");
  const std::string_view head = lead == std::string_view::npos ? "" : html.substr(lead);
  const bool listing = head.substr(0, 9) == "<bv-index" &&
                       (head.size() == 9 || head[9] == '>' || head[9] == ' ' || head[9] == '\n');
  FUZZ_ASSERT(warned == (listing ? 0 : t.warnings.size()));
  if (flags & 2) search();
  FUZZ_ASSERT(idx.Upsert("t/fuzz.html", html) == Status::kOk);
  FUZZ_ASSERT(idx.TakeWarnings().empty());  // same content: told once
  search();
  FUZZ_ASSERT(idx.Contains("t/fuzz.html") == t.is_topic);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t flags = data[0];
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  std::string_view html = rest, query;
  const size_t nul = rest.find('\0');
  if (nul != std::string_view::npos) {
    html = rest.substr(0, nul);
    query = rest.substr(nul + 1);
  } else {
    query = rest.substr(rest.size() > 24 ? rest.size() - 24 : 0);
  }
  CheckParsed(html);
  CheckIndexed(html, query, flags);
  return 0;
}

#ifdef HTML_FUZZ_STANDALONE
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
