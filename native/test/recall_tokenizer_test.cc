// Tokenizer: case and accent folding, separators, stop words, plural folding, invalid UTF-8.
#include <cstdint>
#include <string>
#include <vector>

#include "../src/recall/tokenizer.h"
#include "../src/recall/utf8.h"
#include "recall_harness.h"

using claw::recall::Tokenizer;
using claw::recall::TokenizerOptions;

namespace {

struct Tok {
  std::string text;
  size_t begin, end;
};

std::vector<Tok> Tokens(std::string_view text, TokenizerOptions o = TokenizerOptions()) {
  std::vector<Tok> out;
  Tokenizer t(o);
  t.Run(text, [&](std::string_view s, size_t b, size_t e) {
    out.push_back({std::string(s), b, e});
    return true;
  });
  return out;
}

std::string Joined(std::string_view text, TokenizerOptions o = TokenizerOptions()) {
  std::string j;
  for (const Tok& t : Tokens(text, o)) j += (j.empty() ? "" : "|") + t.text;
  return j;
}

TokenizerOptions Raw() {
  TokenizerOptions o;
  o.stop_words = false;
  o.plural_folding = false;
  return o;
}

}  // namespace

RECALL_TEST(tokenizer_ascii_case_and_separators) {
  CHECK_EQ(Joined("Hello, WORLD! MiXeD"), "hello|world|mixed");
  CHECK_EQ(Joined("snake_case-name/path.md v1.2 x86_64", Raw()),
           "snake|case|name|path|md|v1|2|x86|64");
  CHECK_EQ(Joined("  \t\n  "), "");
  CHECK_EQ(Joined(""), "");
  const std::vector<Tok> t = Tokens("  Alpha  beta");
  REQUIRE(t.size() == 2);
  CHECK_EQ(t[0].begin, 2u);
  CHECK_EQ(t[0].end, 7u);
  CHECK_EQ(t[1].begin, 9u);
  CHECK_EQ(t[1].end, 13u);
}

RECALL_TEST(tokenizer_latin_accent_folding) {
  // Latin-1 Supplement.
  CHECK_EQ(Joined("Crème Brûlée ÅNGSTRÖM Øre Straße Æsir Þing Ñandú façade naïve", Raw()),
           "creme|brulee|angstrom|ore|strasse|aesir|thing|nandu|facade|naive");
  // Latin Extended-A.
  CHECK_EQ(Joined("Łódź Dvořák Œuvre Şişli Ĳssel ŽŮĚŘ Ğüzel", Raw()),
           "lodz|dvorak|oeuvre|sisli|ijssel|zuer|guzel");
  // A few Latin Extended-B and Latin Extended Additional (Vietnamese, pinyin, Romanian).
  CHECK_EQ(Joined("Tiếng Việt ǎǐǒǔ Ștefan Țară", Raw()), "tieng|viet|aiou|stefan|tara");
  // Decomposed (NFD) text folds like precomposed: e + U+0300 COMBINING GRAVE.
  CHECK_EQ(Joined("Cre\xCC\x80me"), "creme");
  // Byte ranges cover the original text, combining marks included.
  const std::vector<Tok> t = Tokens("Cre\xCC\x80me!");
  REQUIRE(t.size() == 1);
  CHECK_EQ(t[0].begin, 0u);
  CHECK_EQ(t[0].end, 7u);
  // Fullwidth ASCII, superscripts, soft hyphen inside a word.
  CHECK_EQ(Joined("ＡＢＣ ｄｅｆ x²", Raw()), "abc|def|x2");
  CHECK_EQ(Joined("co\xC2\xADoperate"), "cooperate");
}

RECALL_TEST(tokenizer_greek_and_cyrillic_lowercase) {
  CHECK_EQ(Joined("ΑΘΗΝΑ Αθήνα αθηνα"), "αθηνα|αθηνα|αθηνα");
  CHECK_EQ(Joined("ΟΔΟΣ οδός"), "οδοσ|οδοσ");  // final sigma ς → σ, tonos removed
  CHECK_EQ(Joined("Ϊ ΰ"), "ι|υ");
  CHECK_EQ(Joined("МОСКВА Москва москва"), "москва|москва|москва");
  CHECK_EQ(Joined("Ёлка ёлка ЕЛКА"), "елка|елка|елка");
  CHECK_EQ(Joined("ЇЖАК Ґанок Ѣ"), "їжак|ґанок|ѣ");
  CHECK_EQ(Joined("ԱՐԵՎ"), "արեվ");  // Armenian capitals
}

RECALL_TEST(tokenizer_ideographs_are_unigrams) {
  const std::vector<Tok> t = Tokens("東京タワー and 漢字");
  REQUIRE(t.size() == 7);
  CHECK_EQ(t[0].text, "東");
  CHECK_EQ(t[0].begin, 0u);
  CHECK_EQ(t[0].end, 3u);
  CHECK_EQ(t[4].text, "ー");
  CHECK_EQ(t[5].text, "漢");
  // Emoji and symbols separate words.
  CHECK_EQ(Joined("rocket🚀launch → done ✓ ok"), "rocket|launch|done|ok");
}

RECALL_TEST(tokenizer_stop_words) {
  CHECK_EQ(Joined("The quick and the dead"), "quick|dead");
  CHECK_EQ(Joined("The quick and the dead", Raw()), "the|quick|and|the|dead");
  CHECK_EQ(Joined("don't stop; it's fine"), "stop|fine");
  CHECK_EQ(Joined("THE AND OF"), "");  // folded before the stop-word check
  CHECK(claw::recall::IsStopWord("the"));
  CHECK(claw::recall::IsStopWord("yourselves"));
  CHECK(!claw::recall::IsStopWord("cache"));
  CHECK(!claw::recall::IsStopWord(""));
}

RECALL_TEST(tokenizer_plural_folding) {
  TokenizerOptions stem;
  stem.stop_words = false;
  CHECK_EQ(Joined("queries notes tokens caches", stem), "query|note|token|cache");
  CHECK_EQ(Joined("boxes fixes crashes classes processes", stem), "box|fix|crash|class|process");
  CHECK_EQ(Joined("status class bus gas series trees", stem), "status|class|bus|gas|sery|tree");
  CHECK_EQ(Joined("aies eies goes", stem), "aie|eie|goe");  // Harman's exceptions, as documented
  CHECK_EQ(Joined("queries", Raw()), "queries");
  CHECK_EQ(Joined("ΑΣΣ", stem), "ασσ");  // non-ASCII endings are never touched
}

RECALL_TEST(tokenizer_truncates_long_tokens_on_code_point_boundary) {
  const std::vector<Tok> a = Tokens(std::string(200, 'a'));
  REQUIRE(a.size() == 1);
  CHECK_EQ(a[0].text.size(), claw::recall::kMaxTokenBytes);
  CHECK_EQ(a[0].end, 200u);
  std::string zh;
  for (int i = 0; i < 40; ++i) zh += "\xD0\xB6";  // ж: 2 bytes
  zh += "X";
  const std::vector<Tok> z = Tokens(zh);
  REQUIRE(z.size() == 1);
  CHECK_EQ(z[0].text.size(), 64u);
  CHECK(claw::recall::IsValidUtf8(z[0].text));
  std::string mixed = std::string(63, 'b') + "\xD0\xB6" + "c";  // ж would straddle the limit
  const std::vector<Tok> m = Tokens(mixed);
  REQUIRE(m.size() == 1);
  CHECK_EQ(m[0].text, std::string(63, 'b'));
}

RECALL_TEST(tokenizer_invalid_utf8_is_a_separator) {
  CHECK_EQ(Joined("ab\xFF"
                  "cd"),
           "ab|cd");
  CHECK_EQ(Joined("ab\xC3"), "ab");               // truncated 2-byte sequence at the end
  CHECK_EQ(Joined("ab\xE2\x82"), "ab");           // truncated 3-byte sequence at the end
  CHECK_EQ(Joined("x\xC0\xAFq"), "x|q");          // overlong '/'
  CHECK_EQ(Joined("x\xED\xA0\x80q"), "x|q");      // UTF-16 surrogate
  CHECK_EQ(Joined("x\xF4\x90\x80\x80q"), "x|q");  // above U+10FFFF
  CHECK_EQ(Joined("x\x80\x80q"), "x|q");          // stray continuation bytes
  CHECK_EQ(Joined("\xC3\xA9t\xC3\xA9"), "ete");   // valid é around ASCII
  using claw::recall::DecodeUtf8;
  const unsigned char emoji[] = {0xF0, 0x9F, 0x98, 0x80};
  CHECK_EQ(DecodeUtf8(emoji, 4).cp, static_cast<char32_t>(0x1F600));
  CHECK_EQ(DecodeUtf8(emoji, 4).len, 4u);
  CHECK_EQ(DecodeUtf8(emoji, 3).cp, claw::recall::kInvalidCodePoint);  // never reads byte 4
  CHECK_EQ(DecodeUtf8(emoji, 3).len, 3u);  // one error for the truncated sequence
  // Maximal subparts: a truncated sequence is one error, a surrogate's three bytes are three.
  const unsigned char cut[] = {0xE2, 0x82, 'a'};
  CHECK_EQ(DecodeUtf8(cut, 3).len, 2u);
  std::string fixed;
  claw::recall::AppendSanitizedUtf8(
      "a\xFF"
      "b\xE2\x82"
      "c\xED\xA0\x80",
      &fixed);
  CHECK_EQ(fixed,
           "a\xEF\xBF\xBD"
           "b\xEF\xBF\xBD"
           "c\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  CHECK_EQ(claw::recall::Utf8PrefixWithin("a\xD0\xB6", 2), 1u);
  CHECK_EQ(claw::recall::Utf8PrefixWithin("a\xD0\xB6", 3), 3u);
}

// Random bytes (biased towards UTF-8 lead and continuation bytes): tokens are valid UTF-8, at most
// kMaxTokenBytes long, and their ranges lie inside the input, in order. Sanitizers watch reads.
RECALL_TEST(tokenizer_random_bytes_keep_invariants) {
  uint64_t state = 0x9E3779B97F4A7C15ull;
  auto next = [&state]() {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  const unsigned char alphabet[] = {'a',  'Z',  '0',  ' ',  '-',  0xC3, 0xA9, 0xCE,
                                    0x91, 0xE2, 0x80, 0xA6, 0xF0, 0x9F, 0x98, 0xFF,
                                    0xED, 0xA0, 0xE6, 0x9D, 0xB1, 0xCC};
  int checked = 0;
  for (int round = 0; round < 4000; ++round) {
    std::string s(next() % 96, '\0');
    for (char& c : s) c = static_cast<char>(alphabet[next() % sizeof(alphabet)]);
    for (TokenizerOptions o : {TokenizerOptions(), Raw()}) {
      size_t last_end = 0;
      Tokenizer t(o);
      t.Run(s, [&](std::string_view tok, size_t b, size_t e) {
        CHECK(!tok.empty());
        CHECK(tok.size() <= claw::recall::kMaxTokenBytes);
        CHECK(claw::recall::IsValidUtf8(tok));
        CHECK(b < e && e <= s.size() && b >= last_end);
        last_end = e;
        ++checked;
        return true;
      });
    }
  }
  CHECK(checked > 1000);
}

RECALL_TEST(tokenizer_sink_can_stop_early) {
  int seen = 0;
  Tokenizer t;
  t.Run("one two three four", [&](std::string_view, size_t, size_t) { return ++seen < 2; });
  CHECK_EQ(seen, 2);
}
