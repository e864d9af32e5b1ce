// The recall tokenizer: UTF-8 text → folded terms with their byte ranges in the input.
//
// A token is a maximal run of letters/digits (CharKind::kWord, see utf8.h); combining marks inside
// a run are dropped without ending it; every other character ends it. Each character of a Han/kana/
// Yi run is a token of its own. Tokens are case- and accent-folded, English stop words are dropped,
// and (optionally) an English plural is reduced with Harman's S-stemmer. A folded token is cut at
// kMaxTokenBytes on a code point boundary. Malformed UTF-8 bytes are separators.
#ifndef CLAW_RECALL_TOKENIZER_H_
#define CLAW_RECALL_TOKENIZER_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "utf8.h"

namespace claw {
namespace recall {

constexpr size_t kMaxTokenBytes = 64;

struct TokenizerOptions {
  bool stop_words = true;      // drop English stop words (see kStopWords in tokenizer.cc)
  bool plural_folding = true;  // Harman S-stemmer: queries→query, notes→note, caches→cache
};

// True for a folded token in the English stop word list.
bool IsStopWord(std::string_view folded);

// Harman's S-stemmer on a folded token of at least 4 bytes, plus one rule for
// "-xes"/"-shes"/"-sses":
//   "-ies" (not "-eies"/"-aies") → "-y"            queries → query
//   else "-xes", "-shes", "-sses" → drop "es"       boxes → box, crashes → crash, classes → class
//   else "-es" (not "-aes"/"-ees"/"-oes") → "-e"    notes → note, caches → cache
//   else "-s" (not "-us"/"-ss") → drop "s"          tokens → token (status, class unchanged)
// Returns the new length (the bytes are changed in place).
size_t FoldPlural(char* s, size_t n);

// The hash used for terms: 8 bytes at a time with multiply–xorshift mixing (splitmix64 constants).
inline uint32_t HashTerm(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t n = s.size();
  uint64_t h = 0x9E3779B97F4A7C15ull ^ n;
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    h = (h ^ w) * 0xBF58476D1CE4E5B9ull;
    h ^= h >> 31;
    p += 8;
    n -= 8;
  }
  if (n > 0) {
    uint64_t w = 0;
    for (size_t i = 0; i < n; ++i) w |= static_cast<uint64_t>(p[i]) << (8 * i);
    h = (h ^ w) * 0x94D049BB133111EBull;
    h ^= h >> 29;
  }
  h *= 0xBF58476D1CE4E5B9ull;
  return static_cast<uint32_t>(h ^ (h >> 32));
}

class Tokenizer {
 public:
  explicit Tokenizer(TokenizerOptions opts = TokenizerOptions()) : opts_(opts) {}

  const TokenizerOptions& options() const { return opts_; }

  // Calls sink(std::string_view term, size_t begin, size_t end) for each term, in order; `term` is
  // valid only during the call; [begin, end) are the bytes of `text` it came from. The sink returns
  // false to stop early. Never reads outside `text`.
  template <class Sink>
  void Run(std::string_view text, Sink&& sink) {
    RunImpl<true>(text, sink);
  }

  // Like Run, but tokens come folded only: stop words are not dropped and plurals not folded.
  // FinishToken() applies both afterwards (what Run does), e.g. only for tokens worth it.
  template <class Sink>
  void RunRaw(std::string_view text, Sink&& sink) {
    RunImpl<false>(text, sink);
  }

  // Applies stop words and plural folding to buf[0..*len) in place; false when the token is a stop
  // word. buf must hold *len bytes; the length only shrinks.
  bool FinishToken(char* buf, size_t* len) const {
    if (opts_.stop_words && IsStopWord(std::string_view(buf, *len))) return false;
    if (opts_.plural_folding) *len = FoldPlural(buf, *len);
    return true;
  }

 private:
  static constexpr size_t kNone = static_cast<size_t>(-1);

  template <bool kFinish, class Sink>
  void RunImpl(std::string_view text, Sink& sink) {
    const auto* s = reinterpret_cast<const unsigned char*>(text.data());
    const size_t n = text.size();
    size_t len = 0;
    size_t start = kNone;
    size_t end = 0;
    bool full = false;
    auto flush = [&]() -> bool {
      if (start == kNone) return true;
      size_t m = len;
      const size_t b = start;
      start = kNone;
      len = 0;
      full = false;
      if (kFinish && !FinishToken(buf_, &m)) return true;
      return sink(std::string_view(buf_, m), b, end);
    };
    size_t i = 0;
    while (i < n) {
      const unsigned char c = s[i];
      if (c < 0x80) {
        if (kAsciiKind[c] == static_cast<uint8_t>(CharKind::kWord)) {
          if (start == kNone) start = i;
          if (!full) {
            if (len < kMaxTokenBytes) {
              buf_[len++] = kAsciiLower[c];
            } else {
              full = true;
            }
          }
          end = i + 1;
        } else if (!flush()) {
          return;
        }
        ++i;
        continue;
      }
      const Decoded d = DecodeUtf8(s + i, n - i);
      const Folded f = d.cp == kInvalidCodePoint ? Folded{CharKind::kSeparator, 0, {0, 0, 0, 0}}
                                                 : FoldCodePoint(d.cp);
      switch (f.kind) {
        case CharKind::kWord:
          if (start == kNone) start = i;
          if (!full) {
            if (len + f.len <= kMaxTokenBytes) {
              std::memcpy(buf_ + len, f.bytes, f.len);
              len += f.len;
            } else {
              full = true;
            }
          }
          end = i + d.len;
          break;
        case CharKind::kMark:
          if (start != kNone) end = i + d.len;
          break;
        case CharKind::kSeparator:
          if (!flush()) return;
          break;
        case CharKind::kIdeograph:
          if (!flush()) return;
          if (!sink(std::string_view(f.bytes, f.len), i, i + d.len)) return;
          break;
      }
      i += d.len;
    }
    flush();
  }

  TokenizerOptions opts_;
  char buf_[kMaxTokenBytes + 4] = {};
};

}  // namespace recall
}  // namespace claw

#endif  // CLAW_RECALL_TOKENIZER_H_
