// Excerpts: a window of a document body around its best match for a query.
#ifndef CLAW_RECALL_EXCERPT_H_
#define CLAW_RECALL_EXCERPT_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer.h"

namespace claw {
namespace recall {

constexpr size_t kMaxExcerptTerms = 64;  // query terms beyond this are not looked for in excerpts
constexpr std::string_view kEllipsis = "\xE2\x80\xA6";  // U+2026, counts as one character

// Reusable buffers, so building an excerpt allocates nothing once warm.
struct ExcerptScratch {
  struct Match {
    size_t begin, end;
    uint32_t term;
  };
  std::vector<Match> matches;
};

// Writes into `out` (replacing its contents) an excerpt of `body` (valid UTF-8, single-spaced) of
// at most `max_chars` Unicode code points, counting the "…" added where the body is cut.
//
// The window is the span of body tokens, no longer than `max_chars` bytes, that holds the most
// distinct query terms, then the most matches, earliest first; scanning stops at the first window
// holding `present` distinct terms (the number known to occur in the body; 0 = unknown). About a
// third of the room left is spent on context before the first match, and cuts snap to spaces when
// one is near. With no match the excerpt is the start of the body. `terms` are folded query terms
// (as the tokenizer emits them), at most kMaxExcerptTerms are used.
void BuildExcerpt(std::string_view body, const std::vector<std::string_view>& terms, size_t present,
                  size_t max_chars, Tokenizer* tokenizer, ExcerptScratch* scratch,
                  std::string* out);

}  // namespace recall
}  // namespace claw

#endif  // CLAW_RECALL_EXCERPT_H_
