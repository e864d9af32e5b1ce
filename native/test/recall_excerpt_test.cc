// Excerpts: best window, length limit in code points, UTF-8 safe cuts, word boundaries.
#include <string>
#include <vector>

#include "../src/recall/excerpt.h"
#include "../src/recall/index.h"
#include "../src/recall/utf8.h"
#include "recall_harness.h"

using claw::recall::BuildExcerpt;
using claw::recall::ExcerptScratch;
using claw::recall::Index;
using claw::recall::QueryOptions;
using claw::recall::Tokenizer;

namespace {

size_t CodePoints(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

std::string Excerpt(std::string_view body, std::vector<std::string_view> terms, size_t max_chars,
                    size_t present = 0) {
  Tokenizer tok;
  ExcerptScratch scratch;
  std::string out;
  BuildExcerpt(body, terms, present, max_chars, &tok, &scratch, &out);
  return out;
}

std::string Filler(int words, const char* word = "lorem") {
  std::string s;
  for (int i = 0; i < words; ++i) s += std::string(i ? " " : "") + word + std::to_string(i % 10);
  return s;
}

bool StartsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
bool EndsWith(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.substr(s.size() - p.size()) == p;
}

}  // namespace

RECALL_TEST(excerpt_short_body_is_returned_whole) {
  CHECK_EQ(Excerpt("A short body.", {"body"}, 40), "A short body.");
  CHECK_EQ(Excerpt("A short body.", {"body"}, 13), "A short body.");  // exactly fits
  CHECK_EQ(Excerpt("A short body.", {"body"}, 0), "");
  CHECK_EQ(Excerpt("", {"body"}, 10), "");
}

RECALL_TEST(excerpt_centres_on_the_match_and_marks_cuts) {
  const std::string body = Filler(40) + " the needle sits here " + Filler(40);
  const std::string ex = Excerpt(body, {"needle"}, 60);
  CHECK(ex.find("needle") != std::string::npos);
  CHECK(StartsWith(ex, "\xE2\x80\xA6"));  // "…" where the start is cut
  CHECK(EndsWith(ex, "\xE2\x80\xA6"));    // and where the end is cut
  CHECK(CodePoints(ex) <= 60);
  CHECK(CodePoints(ex) >= 50);  // the room is used
  // Context before the match: about a third of the spare room.
  const size_t at = ex.find("needle");
  CHECK(at > 10 && at < 40);
  // Cuts fall between words: the first word after "…" and the last before "…" are whole.
  const std::string inner = ex.substr(3, ex.size() - 6);
  CHECK(inner.front() != ' ' && inner.back() != ' ');
  CHECK(body.find(" " + inner + " ") != std::string::npos);
}

RECALL_TEST(excerpt_prefers_window_with_most_distinct_terms) {
  // "alpha" alone early; "alpha" and "omega" together late: the later window wins.
  const std::string body = "alpha " + Filler(60) + " here alpha and omega meet " + Filler(30);
  const std::string ex = Excerpt(body, {"alpha", "omega"}, 50);
  CHECK(ex.find("alpha and omega") != std::string::npos);
  // With `present` = 1 the first window holding one term is enough: scanning stops early.
  const std::string early = Excerpt(body, {"alpha", "omega"}, 50, 1);
  CHECK(StartsWith(early, "alpha"));
  // Most matches when distinct counts tie.
  const std::string body2 = "beta " + Filler(30) + " beta x beta y beta " + Filler(30);
  const std::string ex2 = Excerpt(body2, {"beta"}, 30);
  CHECK(ex2.find("beta x beta y beta") != std::string::npos);
}

RECALL_TEST(excerpt_without_match_is_body_start) {
  const std::string body = Filler(50);
  const std::string ex = Excerpt(body, {"absent"}, 40);
  CHECK(StartsWith(ex, "lorem0 lorem1"));
  CHECK(EndsWith(ex, "\xE2\x80\xA6"));
  CHECK(CodePoints(ex) <= 40);
  CHECK_EQ(Excerpt(body, {}, 40), ex);
}

RECALL_TEST(excerpt_folds_terms_like_the_index) {
  const std::string body = Filler(30) + " Les Crèmes Brûlées sont bonnes " + Filler(30);
  const std::string ex = Excerpt(body, {"creme"}, 40);  // "Crèmes" → creme (accent + plural)
  CHECK(ex.find("Crèmes") != std::string::npos);
}

// Every cut lands on a code point boundary, for many widths and match positions, in text mixing
// 1-, 2-, 3- and 4-byte characters; the limit counts code points, "…" included.
RECALL_TEST(excerpt_utf8_boundaries_exhaustive) {
  const char* pieces[] = {"ж", "東", "😀", "é", "a", " ", "мир", " ", "𝔘𝔫𝔦", " "};
  std::string body;
  for (int i = 0; i < 120; ++i) body += pieces[i % 10];
  body += " target ";
  for (int i = 0; i < 120; ++i) body += pieces[(i * 7) % 10];
  REQUIRE(claw::recall::IsValidUtf8(body));
  int checked = 0;
  for (size_t max = 1; max <= 90; ++max) {
    for (const char* term : {"target", "мир", "absent", "ж"}) {
      const std::string ex = Excerpt(body, {term}, max);
      CHECK(claw::recall::IsValidUtf8(ex));
      CHECK(CodePoints(ex) <= max);
      CHECK(!ex.empty());
      ++checked;
    }
  }
  CHECK_EQ(checked, 360);
  const std::string ex = Excerpt(body, {"target"}, 20);
  CHECK(ex.find("target") != std::string::npos);
}

RECALL_TEST(excerpt_tiny_limits_and_long_tokens) {
  const std::string body = Filler(20) + " supercalifragilisticexpialidocious " + Filler(20);
  const std::string ex = Excerpt(body, {"supercalifragilisticexpialidocious"}, 12);
  CHECK(CodePoints(ex) <= 12);
  CHECK(ex.find("supercal") != std::string::npos);  // the window is cut inside the long match
  CHECK_EQ(CodePoints(Excerpt(body, {"lorem3"}, 1)), 1u);
  CHECK_EQ(CodePoints(Excerpt(body, {"lorem3"}, 2)), 2u);
}

RECALL_TEST(excerpt_through_index_search) {
  Index idx;
  const std::string body = Filler(80) + " deploy the canary first " + Filler(80);
  idx.Upsert("ops.md", "# Deploying\n" + body + "\n");
  idx.Upsert("title-only.md", "# Canary\n" + Filler(80) + "\n");
  QueryOptions q;
  q.excerpt_chars = 48;
  const auto hits = idx.Search("canary", q);
  REQUIRE(hits.size() == 2);
  for (const auto& h : hits) {
    CHECK(CodePoints(h.excerpt) <= 48);
    if (h.path == "ops.md") CHECK(h.excerpt.find("canary") != std::string::npos);
    if (h.path == "title-only.md") CHECK(StartsWith(h.excerpt, "lorem0"));  // no body match
  }
  q.excerpt_chars = 0;
  for (const auto& h : idx.Search("canary", q)) CHECK(h.excerpt.empty());
}
