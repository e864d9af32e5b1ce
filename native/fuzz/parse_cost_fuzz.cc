// Cost oracle for the parsers that see remote or user text: every parser must do work linear in
// its input. A parser is quadratic when some construct left open makes it scan the rest of the
// input again and again (`[a](` repeated, `<a ` repeated, ...); one such note at the 1,000,000-
// character curate limit froze the bridge for ~90 s (issue 13).
//
// Work is counted, not timed, so the verdict does not depend on how busy the machine is:
//   - every edge executed in the parser code: the engine sources are compiled with
//     -fsanitize-coverage=trace-pc-guard and __sanitizer_cov_trace_pc_guard below counts calls;
//   - every byte scanned by the libc scanning functions the parsers reach (memchr, memrchr,
//     memcmp, bcmp, strlen, memmem), interposed below: a scan done by std::string_view::find is
//     invisible to the edge counter otherwise.
// This file itself is compiled without coverage, so its own loops are not counted.
//
// Build (test/native/parse-cost.test.ts does this):
//   clang++ -std=c++17 -O1 -fsanitize-coverage=trace-pc-guard -c native/src/recall/{utf8,tokenizer,
//     markdown,excerpt,index}.cc ; clang++ -std=c++17 -O1 -c native/fuzz/parse_cost_fuzz.cc ;
//   clang++ *.o -ldl -pthread -o parse_cost_fuzz
//
// Modes:
//   parse_cost_fuzz table [MAX_BYTES]      every generator of kGenerators × every parser of
//                                           kParsers at 4 sizes up to MAX_BYTES (default 262144)
//   parse_cost_fuzz corpus FILE...          each file is a unit (see corpus/parse_cost/): repeated
//                                           up to 256 KiB, then checked like a generator
//   parse_cost_fuzz fuzz RUNS SEED [DIR]    random units built from the fragments of kFragments
//                                           and random bytes, repeated to 64 KiB; a unit over the
//                                           bound is written to DIR (the finding) and fails the run
// Every mode prints one line per check and a summary `worst: W work/byte (generator, parser)`;
// exit status 0 when every check is within the bound, 1 otherwise.
//
// The oracle, for one input shape at sizes n1 < n2 (n2 = 16 × n1):
//   work(n2) / n2 <= kMaxWorkPerByte          (an absolute bound per byte)
//   (work(n2) / n2) / (work(n1) / n1) <= kMaxGrowth   (linear: the per-byte cost does not grow)
//
// Extending it (the v4 HTML parser, a new construct): add a parser to kParsers (a function taking
// the input) and generators to kGenerators ({name, prefix, unit, suffix}: the input is prefix +
// unit repeated + suffix). Fragments for the random mode go to kFragments.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "../src/recall/excerpt.h"
#include "../src/recall/html.h"
#include "../src/recall/index.h"
#include "../src/recall/markdown.h"
#include "../src/recall/tokenizer.h"

// ---- the work counter --------------------------------------------------------------------------

// Defined in parse_cost_libc.c (C, so the libc prototypes do not clash with C++'s overloads).
extern "C" {
extern uint64_t claw_cost_work;
extern int claw_cost_counting;
void claw_cost_resolve(void);
void __sanitizer_cov_trace_pc_guard_init(uint32_t* start, uint32_t* stop) {
  for (uint32_t* g = start; g < stop; ++g) *g = 1;
}
void __sanitizer_cov_trace_pc_guard(uint32_t*) { ++claw_cost_work; }
}

namespace {

using namespace claw::recall;

// ---- parsers -----------------------------------------------------------------------------------

struct Parser {
  const char* name;
  void (*run)(std::string_view input);
};

void RunMarkdown(std::string_view input) {
  ParsedDoc d;
  ParseMarkdown("notes/cost.md", input, &d);
}

// The whole indexing path: markdown, tokenizer, postings.
void RunIndex(std::string_view input) {
  Index idx;
  idx.Upsert("notes/cost.md", input);
}

// Excerpts over the input as a body, with query terms taken from the input (the worst case for
// the window: every token a candidate).
void RunExcerpt(std::string_view input) {
  Tokenizer tok;
  std::vector<std::string> owned;
  tok.Run(input.substr(0, 4096), [&](std::string_view t, size_t, size_t) {
    owned.emplace_back(t);
    return owned.size() < kMaxExcerptTerms;
  });
  owned.emplace_back("zzzznotpresent");
  std::vector<std::string_view> terms(owned.begin(), owned.end());
  ExcerptScratch scratch;
  std::string out;
  BuildExcerpt(input, terms, 0, 280, &tok, &scratch, &out);
}

// The v4 <bv-topic> parser (html.h).
void RunHtml(std::string_view input) {
  ParsedTopic t;
  ParseTopicHtml(input, &t);
}

const Parser kParsers[] = {
    {"markdown", RunMarkdown},
    {"index", RunIndex},
    {"excerpt", RunExcerpt},
    {"html", RunHtml},
};

// ---- generators --------------------------------------------------------------------------------

struct Generator {
  const char* name;
  const char* prefix;
  const char* unit;  // repeated until the input reaches the size
  const char* suffix;
};

// Every construct that opens something and may be left unclosed, alone and in the shapes that
// made the parsers rescan (issue 13's probes first).
const Generator kGenerators[] = {
    {"link-open-paren", "", "[a](", ""},
    {"image-open-paren", "", "![x](", ""},
    {"link-dest-unclosed", "", "[a](b", ""},
    {"link-ref-open", "", "[a][", ""},
    {"html-tag-unclosed", "", "<a ", ""},
    {"autolink-unclosed", "", "<http://", ""},
    {"comment-open-per-line", "", "<!-- a\n", ""},
    {"comment-open", "", "<!--", ""},
    {"comment-unclosed-lines", "<!--\n", "text text\n", ""},
    {"bracket-open", "", "[", ""},
    {"bracket-close-paren", "[", "](", ""},
    {"nested-paren", "[a](", "(", ""},
    {"nested-bracket", "[a][", "[", ""},
    {"close-paren-runs", "", "[a]((((", ""},
    {"mixed-link", "", "[a](<b [c][d ![e](f ", ""},
    {"less-than", "", "<", ""},
    {"less-slash", "", "</", ""},
    {"backslash", "", "\\", ""},
    {"backslash-punct", "", "\\[", ""},
    {"backticks", "", "`", ""},
    {"stars", "", "*", ""},
    {"underscores", "", "a_", ""},
    {"tildes", "", "~~", ""},
    {"pipes", "", "|", ""},
    {"bang", "", "!", ""},
    {"fence-unclosed", "```\n", "code [a]( <b\n", ""},
    {"fence-lines", "", "```\n", ""},
    {"tilde-fence-lines", "", "~~~~\n", ""},
    {"atx-headings", "", "# [a](\n", ""},
    {"atx-closing", "", "# a ###### #\n", ""},
    {"setext-pairs", "", "a\n---\n", ""},
    {"setext-eq", "", "a\n=\n", ""},
    {"blockquotes", "", "> ", ""},
    {"list-markers", "", "- [ ] ", ""},
    {"ordered-list", "", "1. ", ""},
    {"table-rows", "", "| a | b |\n|---|---|\n", ""},
    {"link-ref-defs", "", "[a]: b\n", ""},
    {"link-ref-def-long", "[", "a", "]: b\n"},
    {"long-line-words", "", "word ", ""},
    {"long-token", "", "a", ""},
    {"newlines", "", "\n", ""},
    {"crlf", "", "\r\n", ""},
    {"invalid-utf8", "", "\xC3\x28\xE2\x82", ""},
    {"frontmatter-unclosed", "---\n", "title: a\n", ""},
    {"frontmatter-title-cont", "---\ntitle: a\n", "  b\n", "---\nbody\n"},
    {"frontmatter-tags-flow", "---\ntags: [", "a, \"b, ", "\n---\n"},
    {"frontmatter-quote-open", "---\ntitle: \"", "a\\x", "\n---\n"},
    {"frontmatter-block-list", "---\ntags:\n", "  - a\n", "---\n"},
    {"frontmatter-comment", "---\ntitle: ", "a #", "\n---\n"},
    {"frontmatter-keys", "---\n", "title: a\ntags: b, c\n", "---\n"},
    // HTML (the v4 <bv-topic> format): open tags, attributes, entities, comments left open.
    {"html-topic-open", "<bv-topic>", "<bv-section ", ""},
    {"html-attr-quote-open", "<bv-topic><bv-rule a=\"", "x ", ""},
    {"html-attr-names", "<bv-topic><bv-rule ", "a b=c ", ""},
    {"html-entity-open", "<bv-topic>", "&#", ""},
    {"html-entity-names", "<bv-topic>", "&amp", ""},
    {"html-nested", "", "<bv-topic><bv-section><bv-rule>", ""},
    {"html-close-tags", "<bv-topic>", "</bv-section>", ""},
    {"html-comment-open", "<bv-topic>", "<!-- <bv-rule>", ""},
    {"html-cdata-open", "<bv-topic>", "<![CDATA[", ""},
    {"html-script-open", "<bv-topic><script>", "<bv-rule>", ""},
    // The <bv-topic> parser's own constructs (issue 11): end tags searched through a deep stack,
    // single-quoted values and end tags left open, duplicate attributes, numeric references,
    // element runs, elements nested past the depth limit.
    {"html-deep-stray-ends",
     "<bv-topic><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><"
     "p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><"
     "p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><"
     "p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><"
     "p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><"
     "p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><"
     "p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><"
     "p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><"
     "p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><"
     "p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p><p>",
     "</x>", ""},
    {"html-deep-bottom-match", "<bv-topic>", "<i><p><p><p></i>", ""},
    {"html-attr-single-open", "<bv-topic><bv-fact a='", "x ", ""},
    {"html-dup-attrs", "<bv-topic><bv-fact ", "a=\"1\" ", ">"},
    {"html-numeric-refs", "<bv-topic><bv-task>", "&#x1F600;&#65;&#;&#x;", ""},
    {"html-end-tag-open", "<bv-topic>", "</bv-fact ", ""},
    {"html-decl-open", "<bv-topic>", "<!x", ""},
    {"html-element-runs", "<bv-topic>", "<bv-fact subject=\"s\" category=\"other\">t</bv-fact>",
     "</bv-topic>"},
    {"html-elements-nested", "<bv-topic>", "<bv-bug><bv-fix>", ""},
};

// Pieces for the random mode: every generator's unit, plus separators.
std::vector<std::string> Fragments() {
  std::vector<std::string> f;
  for (const Generator& g : kGenerators) {
    f.emplace_back(g.prefix);
    f.emplace_back(g.unit);
  }
  for (const char* s : {"\n", " ", "]", ")", ">", "-->", "---\n", ":", "\"", "'", "#", "a", "\t"})
    f.emplace_back(s);
  return f;
}

// ---- the oracle --------------------------------------------------------------------------------

// Bounds, calibrated on the linear parsers: the worst generator measures well under half of
// kMaxWorkPerByte, and the per-byte cost stays flat (growth ~1.0) between 16 KiB and 256 KiB.
constexpr double kMaxWorkPerByte = 100;
constexpr double kMaxGrowth = 1.5;

std::string Build(std::string_view prefix, std::string_view unit, std::string_view suffix,
                  size_t size) {
  std::string s(prefix);
  if (unit.empty()) unit = " ";
  while (s.size() + suffix.size() < size) s.append(unit);
  s.append(suffix);
  return s;
}

uint64_t Measure(const Parser& p, const std::string& input) {
  claw_cost_work = 0;
  claw_cost_counting = 1;
  p.run(input);
  claw_cost_counting = 0;
  return claw_cost_work;
}

struct Worst {
  double per_byte = 0;
  std::string what;
};

// Checks one input shape with one parser at sizes small and 16 × small.
bool Check(const char* name, const Parser& p, std::string_view prefix, std::string_view unit,
           std::string_view suffix, size_t big, Worst* worst, bool quiet = false) {
  const size_t small = big / 16;
  const std::string a = Build(prefix, unit, suffix, small);
  const std::string b = Build(prefix, unit, suffix, big);
  const double wa = static_cast<double>(Measure(p, a)) / static_cast<double>(a.size());
  const double wb = static_cast<double>(Measure(p, b)) / static_cast<double>(b.size());
  const double growth = wa > 0 ? wb / wa : 1;
  const bool ok = wb <= kMaxWorkPerByte && growth <= kMaxGrowth;
  if (wb > worst->per_byte) {
    worst->per_byte = wb;
    worst->what = std::string(name) + ", " + p.name;
  }
  if (!ok || !quiet) {
    std::printf("%s %-24s %-9s %8zu B: %7.1f work/byte (%7zu B: %7.1f), growth %.2f\n",
                ok ? "ok  " : "FAIL", name, p.name, b.size(), wb, a.size(), wa, growth);
  }
  return ok;
}

int Table(size_t big) {
  Worst worst;
  int failed = 0;
  for (const Generator& g : kGenerators) {
    for (const Parser& p : kParsers) {
      if (!Check(g.name, p, g.prefix, g.unit, g.suffix, big, &worst)) ++failed;
    }
  }
  std::printf("worst: %.1f work/byte (%s); bound %.0f, growth bound %.2f; %d failed\n",
              worst.per_byte, worst.what.c_str(), kMaxWorkPerByte, kMaxGrowth, failed);
  return failed == 0 ? 0 : 1;
}

bool ReadFile(const char* path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  out->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return true;
}

int Corpus(int argc, char** argv) {
  Worst worst;
  int failed = 0;
  for (int i = 0; i < argc; ++i) {
    std::string unit;
    if (!ReadFile(argv[i], &unit)) {
      std::fprintf(stderr, "parse_cost_fuzz: cannot read %s\n", argv[i]);
      return 2;
    }
    const char* base = std::strrchr(argv[i], '/');
    for (const Parser& p : kParsers) {
      if (!Check(base ? base + 1 : argv[i], p, "", unit, "", 262144, &worst)) ++failed;
    }
  }
  std::printf("replayed %d units; worst: %.1f work/byte (%s); %d failed\n", argc, worst.per_byte,
              worst.what.c_str(), failed);
  return failed == 0 ? 0 : 1;
}

int Fuzz(long runs, unsigned seed, const char* dir) {
  std::mt19937 rng(seed);
  const std::vector<std::string> frags = Fragments();
  Worst worst;
  int failed = 0;
  for (long r = 0; r < runs; ++r) {
    std::string unit;
    const int pieces = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < pieces; ++k) {
      if (rng() % 5 == 0) {
        unit.push_back(static_cast<char>(rng() & 0xFF));
      } else {
        unit += frags[rng() % frags.size()];
      }
    }
    const Parser& p = kParsers[rng() % (sizeof(kParsers) / sizeof(kParsers[0]))];
    if (!Check("random", p, "", unit, "", 65536, &worst, true)) {
      ++failed;
      if (dir) {
        char path[4096];
        std::snprintf(path, sizeof(path), "%s/cost-%u-%ld", dir, seed, r);
        if (FILE* f = std::fopen(path, "wb")) {
          std::fwrite(unit.data(), 1, unit.size(), f);
          std::fclose(f);
          std::printf("finding written to %s\n", path);
        }
      }
    }
  }
  std::printf("fuzzed %ld units (seed %u); worst: %.1f work/byte (%s); %d failed\n", runs, seed,
              worst.per_byte, worst.what.c_str(), failed);
  return failed == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  claw_cost_resolve();
  // Self-test: the counter must see work (coverage compiled in) and scans (interposition works).
  {
    const std::string probe(4096, 'x');
    claw_cost_work = 0;
    claw_cost_counting = 1;
    RunMarkdown(probe);
    const volatile void* hit = std::memchr(probe.data(), 'y', probe.size());
    (void)hit;
    claw_cost_counting = 0;
    if (claw_cost_work < probe.size() * 2) {
      std::fprintf(stderr,
                   "parse_cost_fuzz: the work counter saw %llu units for 8 KiB of scanning: build "
                   "the engine with -fsanitize-coverage=trace-pc-guard\n",
                   static_cast<unsigned long long>(claw_cost_work));
      return 2;
    }
  }
  const std::string mode = argc > 1 ? argv[1] : "table";
  if (mode == "table") return Table(argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 262144);
  if (mode == "corpus") return Corpus(argc - 2, argv + 2);
  if (mode == "fuzz" && argc > 3) {
    return Fuzz(std::strtol(argv[2], nullptr, 10),
                static_cast<unsigned>(std::strtoul(argv[3], nullptr, 10)),
                argc > 4 ? argv[4] : nullptr);
  }
  std::fprintf(
      stderr, "usage: parse_cost_fuzz table [MAX_BYTES] | corpus FILE... | fuzz RUNS SEED [DIR]\n");
  return 2;
}
