#include "excerpt.h"

#include <array>
#include <cstring>

namespace claw {
namespace recall {

namespace {

bool IsContinuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// Moves `pos` forward by up to `k` code points.
size_t Advance(std::string_view s, size_t pos, size_t k) {
  while (k > 0 && pos < s.size()) {
    ++pos;
    while (pos < s.size() && IsContinuation(s[pos])) ++pos;
    --k;
  }
  return pos;
}

// Moves `pos` back by up to `k` code points.
size_t Back(std::string_view s, size_t pos, size_t k) {
  while (k > 0 && pos > 0) {
    --pos;
    while (pos > 0 && IsContinuation(s[pos])) --pos;
    --k;
  }
  return pos;
}

// Code points in s[b, e), counting at most `limit + 1`.
size_t CountCodePoints(std::string_view s, size_t b, size_t e, size_t limit) {
  size_t n = 0;
  for (size_t i = b; i < e && n <= limit; ++i) {
    if (!IsContinuation(s[i])) ++n;
  }
  return n;
}

struct Window {
  size_t distinct = 0, count = 0, begin = 0, end = 0;
};

Window BestWindow(std::string_view body, const std::vector<std::string_view>& terms, size_t present,
                  size_t budget, Tokenizer* tokenizer, ExcerptScratch* scratch) {
  const size_t nterms = terms.size() < kMaxExcerptTerms ? terms.size() : kMaxExcerptTerms;
  std::array<uint32_t, kMaxExcerptTerms> counts{};
  auto& m = scratch->matches;
  m.clear();
  size_t head = 0;
  size_t distinct = 0;
  Window best;
  char buf[kMaxTokenBytes + 4];
  tokenizer->RunRaw(body, [&](std::string_view raw, size_t b, size_t e) {
    // Folding a plural keeps the first byte and drops at most two: most tokens can be ruled out
    // before the stop-word check and the plural folding.
    bool candidate = false;
    for (uint32_t t = 0; t < nterms && !candidate; ++t) {
      candidate = raw[0] == terms[t][0] && raw.size() >= terms[t].size() &&
                  raw.size() <= terms[t].size() + 2;
    }
    if (!candidate) return true;
    size_t len = raw.size();
    std::memcpy(buf, raw.data(), len);
    if (!tokenizer->FinishToken(buf, &len)) return true;
    const std::string_view tok(buf, len);
    uint32_t t = 0;
    while (t < nterms && terms[t] != tok) ++t;
    if (t == nterms) return true;
    m.push_back({b, e, t});
    if (counts[t]++ == 0) ++distinct;
    while (head + 1 < m.size() && e - m[head].begin > budget) {
      if (--counts[m[head].term] == 0) --distinct;
      ++head;
    }
    const size_t count = m.size() - head;
    if (distinct > best.distinct || (distinct == best.distinct && count > best.count)) {
      best = Window{distinct, count, m[head].begin, e};
    }
    return present == 0 || best.distinct < present;
  });
  return best;
}

}  // namespace

void BuildExcerpt(std::string_view body, const std::vector<std::string_view>& terms, size_t present,
                  size_t max_chars, Tokenizer* tokenizer, ExcerptScratch* scratch,
                  std::string* out) {
  out->clear();
  if (max_chars == 0 || body.empty()) return;
  if (CountCodePoints(body, 0, body.size(), max_chars) <= max_chars) {
    out->assign(body.data(), body.size());
    return;
  }
  const bool ellipses = max_chars > 2;
  const size_t avail = ellipses ? max_chars - 2 : max_chars;

  Window w;
  if (!terms.empty()) w = BestWindow(body, terms, present, avail, tokenizer, scratch);
  size_t start = 0;
  size_t end = 0;
  if (w.count == 0) {
    end = Advance(body, 0, avail);
  } else {
    const size_t span = CountCodePoints(body, w.begin, w.end, avail);
    if (span >= avail) {
      start = w.begin;
      end = Advance(body, start, avail);
    } else {
      start = Back(body, w.begin, (avail - span) / 3);
      end = Advance(body, start, avail);
      if (end == body.size()) {  // room left at the end: spend it before the match
        start = Back(body, start, avail - CountCodePoints(body, start, end, avail));
      }
      if (start > 0 && body[start - 1] != ' ') {  // begin at a word start
        const size_t sp = body.find(' ', start);
        if (sp != std::string_view::npos && sp < w.begin) start = sp + 1;
      }
    }
  }
  if (end < body.size() && body[end] != ' ' && end > start) {  // end at a word end
    const size_t sp = body.rfind(' ', end - 1);
    const size_t keep = w.count == 0 ? start : w.end;
    if (sp != std::string_view::npos && sp > keep && sp > start) end = sp;
  }
  while (start < end && body[start] == ' ') ++start;
  while (end > start && body[end - 1] == ' ') --end;
  if (ellipses && start > 0) out->append(kEllipsis.data(), kEllipsis.size());
  out->append(body.data() + start, end - start);
  if (ellipses && end < body.size()) out->append(kEllipsis.data(), kEllipsis.size());
}

}  // namespace recall
}  // namespace claw
