#include "utf8.h"

#include <cstring>

namespace claw {
namespace recall {

namespace {

constexpr uint8_t S = static_cast<uint8_t>(CharKind::kSeparator);
constexpr uint8_t W = static_cast<uint8_t>(CharKind::kWord);

Folded Ascii(const char* s) {
  Folded f{CharKind::kWord, 0, {0, 0, 0, 0}};
  const size_t n = std::strlen(s);
  f.len = static_cast<uint8_t>(n);
  std::memcpy(f.bytes, s, n);
  return f;
}

Folded Ascii1(char c) { return Folded{CharKind::kWord, 1, {c, 0, 0, 0}}; }

Folded Kind(CharKind k) { return Folded{k, 0, {0, 0, 0, 0}}; }

Folded Cp(char32_t cp) {
  Folded f{CharKind::kWord, 0, {0, 0, 0, 0}};
  f.len = static_cast<uint8_t>(EncodeUtf8(cp, f.bytes));
  return f;
}

// U+00C0..U+00DF and U+00E0..U+00FF share base letters except at the last slot (ß / ÿ).
const char* const kLatin1Letters[32] = {
    "a", "a", "a", "a", "a", "a", "ae", "c",     "e", "e", "e", "e", "i", "i", "i",  "i",
    "d", "n", "o", "o", "o", "o", "o",  nullptr, "o", "u", "u", "u", "u", "y", "th", nullptr};

// Latin Extended-A (U+0100..U+017F): runs of code points sharing one ASCII base, in order.
struct Run {
  char32_t first;
  const char* base;
};
const Run kLatinExtA[] = {{0x100, "a"}, {0x106, "c"}, {0x10E, "d"},  {0x112, "e"},  {0x11C, "g"},
                          {0x124, "h"}, {0x128, "i"}, {0x132, "ij"}, {0x134, "j"},  {0x136, "k"},
                          {0x139, "l"}, {0x143, "n"}, {0x14C, "o"},  {0x152, "oe"}, {0x154, "r"},
                          {0x15A, "s"}, {0x162, "t"}, {0x168, "u"},  {0x174, "w"},  {0x176, "y"},
                          {0x179, "z"}, {0x17F, "s"}};

// Latin Extended Additional: base letter of each upper/lower pair U+1E00..U+1E95 and
// U+1EA0..U+1EF9 (Vietnamese). The three last pairs (U+1EFA..U+1EFF) are only lower-cased.
const char kLatinExtAdd1[] =
    "abbbcdddddeeeeefghhhhhiikkkllllmmmnnnnoooopprrrrssssstttt"
    "uuuuuvvwwwwwxxyzzz";
const char kLatinExtAdd2[] = "aaaaaaaaaaaaeeeeeeeeiioooooooooooouuuuuuuyyyy";
static_assert(sizeof(kLatinExtAdd1) - 1 == (0x1E96 - 0x1E00) / 2, "U+1E00..U+1E95 pairs");
static_assert(sizeof(kLatinExtAdd2) - 1 == (0x1EFA - 0x1EA0) / 2, "U+1EA0..U+1EF9 pairs");

// Code points >= U+02B0 that are not plain letters/digits. Sorted, non-overlapping; anything not
// listed is a letter (kWord).
struct Range {
  char32_t lo, hi;
  CharKind kind;
};
constexpr CharKind kS = CharKind::kSeparator;
constexpr CharKind kM = CharKind::kMark;
constexpr CharKind kI = CharKind::kIdeograph;
const Range kRanges[] = {
    {0x02B0, 0x02FF, kS},   {0x0300, 0x036F, kM},   {0x0374, 0x0375, kS},   {0x037E, 0x037E, kS},
    {0x0384, 0x0385, kS},   {0x0387, 0x0387, kS},   {0x0482, 0x0482, kS},   {0x0483, 0x0489, kM},
    {0x055A, 0x055F, kS},   {0x0589, 0x058A, kS},   {0x0591, 0x05BD, kM},   {0x05BE, 0x05BE, kS},
    {0x05BF, 0x05BF, kM},   {0x05C0, 0x05C0, kS},   {0x05C1, 0x05C2, kM},   {0x05C3, 0x05C3, kS},
    {0x05C4, 0x05C5, kM},   {0x05C6, 0x05C6, kS},   {0x05C7, 0x05C7, kM},   {0x05F3, 0x05F4, kS},
    {0x0600, 0x0605, kS},   {0x0609, 0x060D, kS},   {0x0610, 0x061A, kM},   {0x061B, 0x061F, kS},
    {0x064B, 0x065F, kM},   {0x066A, 0x066D, kS},   {0x0670, 0x0670, kM},   {0x06D4, 0x06D4, kS},
    {0x06D6, 0x06ED, kM},   {0x0964, 0x0965, kS},   {0x0E3F, 0x0E3F, kS},   {0x1AB0, 0x1AFF, kM},
    {0x1DC0, 0x1DFF, kM},   {0x2000, 0x200B, kS},   {0x200C, 0x200D, kM},   {0x200E, 0x205F, kS},
    {0x2060, 0x2064, kM},   {0x2065, 0x20CF, kS},   {0x20D0, 0x20FF, kM},   {0x2100, 0x2BFF, kS},
    {0x2E00, 0x2E7F, kS},   {0x2E80, 0x2FDF, kI},   {0x2FF0, 0x303F, kS},   {0x3040, 0x312F, kI},
    {0x3190, 0x31FF, kI},   {0x3200, 0x33FF, kS},   {0x3400, 0x4DBF, kI},   {0x4DC0, 0x4DFF, kS},
    {0x4E00, 0x9FFF, kI},   {0xA000, 0xA4CF, kI},   {0xD800, 0xF8FF, kS},   {0xF900, 0xFAFF, kI},
    {0xFE00, 0xFE0F, kM},   {0xFE10, 0xFE1F, kS},   {0xFE20, 0xFE2F, kM},   {0xFE30, 0xFE6F, kS},
    {0xFEFF, 0xFEFF, kM},   {0xFF00, 0xFF00, kS},   {0xFF5F, 0xFF64, kS},   {0xFFE0, 0xFFFF, kS},
    {0x1D100, 0x1D1FF, kS}, {0x1F000, 0x1FBFF, kS}, {0x20000, 0x3FFFF, kI}, {0xE0000, 0xE0FFF, kM},
    {0xF0000, 0x10FFFF, kS}};

CharKind RangeKind(char32_t cp) {
  size_t lo = 0, hi = sizeof(kRanges) / sizeof(kRanges[0]);
  while (lo < hi) {  // first range with hi >= cp
    const size_t mid = (lo + hi) / 2;
    if (kRanges[mid].hi < cp) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  if (lo < sizeof(kRanges) / sizeof(kRanges[0]) && kRanges[lo].lo <= cp) return kRanges[lo].kind;
  return CharKind::kWord;
}

char32_t GreekFold(char32_t cp) {
  switch (cp) {
    case 0x386:
    case 0x3AC:
      return 0x3B1;  // ά → α
    case 0x388:
    case 0x3AD:
      return 0x3B5;  // έ → ε
    case 0x389:
    case 0x3AE:
      return 0x3B7;  // ή → η
    case 0x38A:
    case 0x390:
    case 0x3AA:
    case 0x3AF:
    case 0x3CA:
      return 0x3B9;  // ί ΐ ϊ → ι
    case 0x38C:
    case 0x3CC:
      return 0x3BF;  // ό → ο
    case 0x38E:
    case 0x3AB:
    case 0x3B0:
    case 0x3CB:
    case 0x3CD:
      return 0x3C5;  // ύ ΰ ϋ → υ
    case 0x38F:
    case 0x3CE:
      return 0x3C9;  // ώ → ω
    case 0x3C2:
      return 0x3C3;  // final ς → σ
    default:
      break;
  }
  if (cp >= 0x391 && cp <= 0x3A9) return cp + 0x20;
  return cp;
}

char32_t CyrillicFold(char32_t cp) {
  if (cp >= 0x400 && cp <= 0x40F) {
    cp += 0x50;
  } else if (cp >= 0x410 && cp <= 0x42F) {
    cp += 0x20;
  } else if ((cp >= 0x460 && cp <= 0x481) || (cp >= 0x48A && cp <= 0x4BF) ||
             (cp >= 0x4D0 && cp <= 0x52F)) {
    cp |= 1;
  } else if (cp >= 0x4C1 && cp <= 0x4CE) {
    if (cp & 1) cp += 1;
  } else if (cp == 0x4C0) {
    cp = 0x4CF;
  }
  if (cp == 0x450 || cp == 0x451) return 0x435;  // ѐ ё → е
  if (cp == 0x45D) return 0x438;                 // ѝ → и
  return cp;
}

Folded FoldLatinExtB(char32_t cp) {
  switch (cp) {
    case 0x180:
      return Ascii("b");
    case 0x1A0:
    case 0x1A1:
      return Ascii("o");
    case 0x1AF:
    case 0x1B0:
      return Ascii("u");
    case 0x1CD:
    case 0x1CE:
      return Ascii("a");
    case 0x1CF:
    case 0x1D0:
      return Ascii("i");
    case 0x1D1:
    case 0x1D2:
      return Ascii("o");
    case 0x218:
    case 0x219:
      return Ascii("s");
    case 0x21A:
    case 0x21B:
      return Ascii("t");
    default:
      break;
  }
  if (cp >= 0x1D3 && cp <= 0x1DC) return Ascii("u");
  return Cp(cp);
}

Folded FoldLatinExtAdditional(char32_t cp) {
  if (cp < 0x1E96) return Ascii1(kLatinExtAdd1[(cp - 0x1E00) / 2]);
  if (cp >= 0x1EA0 && cp < 0x1EFA) return Ascii1(kLatinExtAdd2[(cp - 0x1EA0) / 2]);
  switch (cp) {
    case 0x1E96:
      return Ascii("h");
    case 0x1E97:
      return Ascii("t");
    case 0x1E98:
      return Ascii("w");
    case 0x1E99:
      return Ascii("y");
    case 0x1E9A:
      return Ascii("a");
    case 0x1E9B:
    case 0x1E9C:
    case 0x1E9D:
      return Ascii("s");
    case 0x1E9E:
      return Ascii("ss");
    default:
      break;
  }
  if (cp >= 0x1EFA) return Cp(cp | 1);
  return Cp(cp);
}

}  // namespace

const uint8_t kAsciiKind[128] = {
    S, S, S, S, S, S, S, S, S, S, S, S, S, S, S, S,  // 0x00
    S, S, S, S, S, S, S, S, S, S, S, S, S, S, S, S,  // 0x10
    S, S, S, S, S, S, S, S, S, S, S, S, S, S, S, S,  // 0x20  space and punctuation
    W, W, W, W, W, W, W, W, W, W, S, S, S, S, S, S,  // 0x30  digits
    S, W, W, W, W, W, W, W, W, W, W, W, W, W, W, W,  // 0x40  @ A-O
    W, W, W, W, W, W, W, W, W, W, W, S, S, S, S, S,  // 0x50  P-Z [ \ ] ^ _
    S, W, W, W, W, W, W, W, W, W, W, W, W, W, W, W,  // 0x60  ` a-o
    W, W, W, W, W, W, W, W, W, W, W, S, S, S, S, S,  // 0x70  p-z { | } ~ DEL
};

const char kAsciiLower[128] = {
    0,   1,    2,   3,   4,   5,   6,   7,   8,   9,   10,  11,  12,  13,  14,  15,  16,   17,  18,
    19,  20,   21,  22,  23,  24,  25,  26,  27,  28,  29,  30,  31,  ' ', '!', '"', '#',  '$', '%',
    '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/', '0', '1', '2', '3', '4', '5', '6',  '7', '8',
    '9', ':',  ';', '<', '=', '>', '?', '@', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i',  'j', 'k',
    'l', 'm',  'n', 'o', 'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', '[', '\\', ']', '^',
    '_', '`',  'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o',  'p', 'q',
    'r', 's',  't', 'u', 'v', 'w', 'x', 'y', 'z', '{', '|', '}', '~', 127,
};

uint32_t EncodeUtf8(char32_t cp, char* out) {
  if (cp < 0x80) {
    out[0] = static_cast<char>(cp);
    return 1;
  }
  if (cp < 0x800) {
    out[0] = static_cast<char>(0xC0 | (cp >> 6));
    out[1] = static_cast<char>(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = static_cast<char>(0xE0 | (cp >> 12));
    out[1] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out[2] = static_cast<char>(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = static_cast<char>(0xF0 | (cp >> 18));
  out[1] = static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
  out[2] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
  out[3] = static_cast<char>(0x80 | (cp & 0x3F));
  return 4;
}

void AppendSanitizedUtf8(std::string_view in, std::string* out) {
  const auto* s = reinterpret_cast<const unsigned char*>(in.data());
  const size_t n = in.size();
  size_t i = 0;
  while (i < n) {
    size_t j = i;
    while (j < n && s[j] < 0x80) ++j;  // ASCII run
    out->append(in.data() + i, j - i);
    i = j;
    while (i < n && s[i] >= 0x80) {
      const Decoded d = DecodeUtf8(s + i, n - i);
      if (d.cp == kInvalidCodePoint) {
        out->append("\xEF\xBF\xBD", 3);  // U+FFFD
      } else {
        out->append(in.data() + i, d.len);
      }
      i += d.len;
    }
  }
}

bool IsValidUtf8(std::string_view in) {
  const auto* s = reinterpret_cast<const unsigned char*>(in.data());
  size_t i = 0;
  while (i < in.size()) {
    while (i + 8 <= in.size()) {  // skip ASCII eight bytes at a time
      uint64_t w;
      std::memcpy(&w, s + i, 8);
      if (w & 0x8080808080808080ull) break;
      i += 8;
    }
    if (i >= in.size()) break;
    if (s[i] < 0x80) {
      ++i;
      continue;
    }
    const Decoded d = DecodeUtf8(s + i, in.size() - i);
    if (d.cp == kInvalidCodePoint) return false;
    i += d.len;
  }
  return true;
}

size_t Utf8PrefixWithin(std::string_view s, size_t max_bytes) {
  if (s.size() <= max_bytes) return s.size();
  size_t i = max_bytes;
  while (i > 0 && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) --i;
  return i;
}

Folded FoldCodePoint(char32_t cp) {
  if (cp < 0x80) {
    Folded f{static_cast<CharKind>(kAsciiKind[cp]), 0, {0, 0, 0, 0}};
    if (f.kind == CharKind::kWord) {
      f.len = 1;
      f.bytes[0] = kAsciiLower[cp];
    }
    return f;
  }
  if (cp < 0xC0) {
    switch (cp) {
      case 0xAA:
        return Ascii("a");
      case 0xBA:
        return Ascii("o");
      case 0xB2:
        return Ascii("2");
      case 0xB3:
        return Ascii("3");
      case 0xB9:
        return Ascii("1");
      case 0xB5:
        return Cp(0x3BC);  // micro sign → Greek mu
      case 0xAD:
        return Kind(CharKind::kMark);  // soft hyphen
      default:
        return Kind(CharKind::kSeparator);
    }
  }
  if (cp < 0x100) {
    if (cp == 0xDF) return Ascii("ss");
    if (cp == 0xFF) return Ascii("y");
    const char* base = kLatin1Letters[cp & 0x1F];
    return base ? Ascii(base) : Kind(CharKind::kSeparator);  // × ÷
  }
  if (cp < 0x180) {
    size_t i = sizeof(kLatinExtA) / sizeof(kLatinExtA[0]);
    while (i > 0 && kLatinExtA[i - 1].first > cp) --i;
    return Ascii(kLatinExtA[i - 1].base);
  }
  if (cp < 0x250) return FoldLatinExtB(cp);
  if (cp < 0x2B0) return Cp(cp);                                        // IPA extensions
  if (cp >= 0xFF01 && cp <= 0xFF5E) return FoldCodePoint(cp - 0xFEE0);  // fullwidth ASCII
  const CharKind kind = RangeKind(cp);
  if (kind != CharKind::kWord) {
    if (kind == CharKind::kIdeograph) {
      Folded f = Cp(cp);
      f.kind = CharKind::kIdeograph;
      return f;
    }
    return Kind(kind);
  }
  if (cp >= 0x370 && cp < 0x400) return Cp(GreekFold(cp));
  if (cp >= 0x400 && cp < 0x530) return Cp(CyrillicFold(cp));
  if (cp >= 0x531 && cp <= 0x556) return Cp(cp + 0x30);  // Armenian capitals
  if (cp >= 0x1E00 && cp <= 0x1EFF) return FoldLatinExtAdditional(cp);
  return Cp(cp);
}

}  // namespace recall
}  // namespace claw
