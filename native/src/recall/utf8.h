// UTF-8 decoding and the character folding used by the recall tokenizer.
//
// Everything here is pure, allocation-free and safe on arbitrary bytes: the decoder never reads
// past the end it is given, and every malformed sequence (truncated, overlong, surrogate, above
// U+10FFFF, stray continuation byte) decodes as an error.
#ifndef CLAW_RECALL_UTF8_H_
#define CLAW_RECALL_UTF8_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace claw {
namespace recall {

constexpr char32_t kInvalidCodePoint = 0xFFFFFFFFu;

struct Decoded {
  char32_t cp;   // kInvalidCodePoint for a malformed sequence
  uint32_t len;  // bytes consumed, 1..4
};

// Decodes the code point starting at s[0]; n >= 1 is the number of readable bytes. A malformed
// sequence consumes its maximal subpart (Unicode §3.9 / WHATWG): the longest prefix that could
// start a valid sequence, at least one byte — so "\xE2\x82" is one error, "\xED\xA0\x80" three.
inline Decoded DecodeUtf8(const unsigned char* s, size_t n) {
  const unsigned char b0 = s[0];
  if (b0 < 0x80) return {b0, 1};
  uint32_t need;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the next byte
  char32_t cp;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 1;
    cp = b0 & 0x1Fu;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 2;
    cp = b0 & 0x0Fu;
    if (b0 == 0xE0) lo = 0xA0;  // no overlongs
    if (b0 == 0xED) hi = 0x9F;  // no surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 3;
    cp = b0 & 0x07u;
    if (b0 == 0xF0) lo = 0x90;  // no overlongs
    if (b0 == 0xF4) hi = 0x8F;  // not above U+10FFFF
  } else {
    return {kInvalidCodePoint, 1};  // continuation byte, C0/C1, F5..FF
  }
  for (uint32_t k = 1; k <= need; ++k) {
    if (k >= n || s[k] < lo || s[k] > hi) return {kInvalidCodePoint, k};
    lo = 0x80;
    hi = 0xBF;
    cp = (cp << 6) | (s[k] & 0x3Fu);
  }
  return {cp, need + 1};
}

// Writes the UTF-8 encoding of a valid scalar value into out[0..3]; returns the byte count.
uint32_t EncodeUtf8(char32_t cp, char* out);

// Appends `in` to `out` with every malformed sequence replaced by U+FFFD, so `out` is valid UTF-8.
void AppendSanitizedUtf8(std::string_view in, std::string* out);

// True when `s` is entirely valid UTF-8.
bool IsValidUtf8(std::string_view s);

// Byte length of the longest prefix of valid UTF-8 `s` holding at most `max_bytes` bytes that does
// not end inside a code point.
size_t Utf8PrefixWithin(std::string_view s, size_t max_bytes);

// How the tokenizer treats a code point.
enum class CharKind : uint8_t {
  kSeparator = 0,  // ends a token (punctuation, space, symbol, control, invalid byte)
  kWord = 1,       // letter or digit: part of a token, appended in folded form
  kMark = 2,       // combining mark, soft hyphen, zero-width joiner: ignored, does not end a token
  kIdeograph = 3,  // Han/kana/etc.: a token of its own (unigram), ends any token around it
};

// A folded character: the kind plus the bytes (UTF-8, at most 4) a token gets for it.
struct Folded {
  CharKind kind;
  uint8_t len;
  char bytes[4];
};

// Case and accent folding of one code point. Coverage (see docs/readme/recall-engine.md):
// ASCII; Latin-1 Supplement and Latin Extended-A folded to ASCII base letters (ß→ss, æ→ae, œ→oe,
// þ→th, ĳ→ij, ł→l, đ→d ...); a few Latin Extended-B letters (pinyin ǎ ǐ ǒ ǔ ǖ..., Vietnamese ơ ư,
// Romanian ș ț); Greek lower-cased with tonos/dialytika removed and final sigma → σ; Cyrillic
// lower-cased (U+0400–U+04FF) with ё/ѐ→е and ѝ→и; fullwidth ASCII → ASCII; superscript ¹²³ and
// ª º → 1 2 3 a o. Other letters are kept as they are (no case folding).
Folded FoldCodePoint(char32_t cp);

// ASCII fast path tables: kind of each byte < 0x80 and its lower-case form.
extern const uint8_t kAsciiKind[128];
extern const char kAsciiLower[128];

}  // namespace recall
}  // namespace claw

#endif  // CLAW_RECALL_UTF8_H_
