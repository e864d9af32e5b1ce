// ByteRover v4 topic files (`<topic path>.html`, one `<bv-topic>` root) → attributes, elements,
// and the fields the recall index scores.
//
// The vocabulary (ByteRover skill 4.x, vocabulary.md): a root `<bv-topic>` with attributes
// (path, title, summary, keywords, tags, related, visibility, createdat, updatedat, id, ...),
// holding the 18 element kinds bv-reason, bv-task, bv-changes, bv-files, bv-flow, bv-timestamp,
// bv-author, bv-pattern, bv-structure, bv-dependencies, bv-highlights, bv-rule, bv-examples,
// bv-diagram, bv-fact, bv-decision, bv-bug, bv-fix (each with an optional `id="bve-xxxxxxxx"` and
// its own attributes); inside them `<p>`, `<ul>/<ol>/<li>`, `<strong>`, `<code>` and similar
// markup.
//
// The parser is one left-to-right pass: time and memory linear in the input (nesting is tracked
// up to kMaxHtmlDepth levels; deeper tags are treated as text-less markup with one warning), never
// throws on any input, and reports malformed input as warnings (code + reason + byte offset), at
// most kMaxHtmlWarnings per file. Character references: the XML five, &nbsp; and a few common
// named ones, decimal and hex numeric references (invalid code points → U+FFFD); an unknown
// named reference is kept literally. Output strings are valid UTF-8 (malformed bytes → U+FFFD).
// Whitespace runs collapse to one space; block tags (p, li, br, div, bv-*) separate words.
#ifndef CLAW_RECALL_HTML_H_
#define CLAW_RECALL_HTML_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace claw {
namespace recall {

constexpr size_t kMaxHtmlDepth = 256;
constexpr size_t kMaxHtmlWarnings = 16;

// The 19 element kinds of the vocabulary, bv-topic first. kUnknown: not a bv-* element name.
enum class ElementKind : uint8_t {
  kTopic = 0,
  kReason,
  kTask,
  kChanges,
  kFiles,
  kFlow,
  kTimestamp,
  kAuthor,
  kPattern,
  kStructure,
  kDependencies,
  kHighlights,
  kRule,
  kExamples,
  kDiagram,
  kFact,
  kDecision,
  kBug,
  kFix,
  kUnknown,
};
constexpr int kElementKinds = 19;

// "bv-topic", "bv-reason", ... ("" for kUnknown).
const char* ElementKindName(ElementKind kind);
// The kind of a lowercase tag name ("bv-fact" → kFact), kUnknown otherwise.
ElementKind ElementKindFromName(std::string_view name);

struct HtmlAttr {
  std::string name;   // lowercased
  std::string value;  // entities decoded, valid UTF-8
};

struct TopicElement {
  ElementKind kind = ElementKind::kUnknown;
  std::string id;               // the `id` attribute ("" when absent)
  std::vector<HtmlAttr> attrs;  // every attribute, id included, in source order
  std::string text;             // the element's text content (nested markup removed)
  size_t offset = 0;            // byte offset of the start tag in the input
};

// Warning codes (stable): HTML_NOT_A_TOPIC (no <bv-topic> root: the file is not a topic),
// HTML_ROOT (text or tags before the root, or a second root), HTML_CONTENT_AFTER_ROOT,
// HTML_UNCLOSED_ELEMENT (an element still open at the end), HTML_MISMATCHED_END_TAG,
// HTML_UNTERMINATED_TAG, HTML_UNTERMINATED_COMMENT, HTML_UNKNOWN_ELEMENT (a bv-* name outside
// the vocabulary), HTML_NESTED_ELEMENT (a bv-* element inside another one: its text is kept as
// its own element), HTML_BAD_ATTRIBUTE (unquoted / malformed attribute syntax),
// HTML_DUPLICATE_ATTRIBUTE (the first one wins), HTML_TOO_DEEP, HTML_INVALID_UTF8,
// HTML_TOO_MANY_WARNINGS (the last one kept when more were found).
struct HtmlWarning {
  std::string code;
  std::string reason;  // a sentence naming what was expected and what was found
  size_t offset = 0;   // byte offset in the input
};

struct ParsedTopic {
  bool is_topic = false;               // a <bv-topic> root was found
  std::vector<HtmlAttr> attrs;         // the <bv-topic> attributes
  std::vector<TopicElement> elements;  // bv-* elements in document order (text directly inside
                                       // bv-topic, if any, is one kTopic element, listed first)
  std::vector<HtmlWarning> warnings;

  // The value of a topic attribute (nullptr when absent).
  const std::string* Attr(std::string_view name) const;
  void Clear();
};

// Parses one topic file (any bytes) into `out` (cleared first). Never throws except std::bad_alloc.
void ParseTopicHtml(std::string_view html, ParsedTopic* out);

// True for a tree-relative path (forward slashes) that holds a topic: ends in ".html", is not
// `index.html` at any level, and lies under no `.brv/` folder (archived migrations) nor a hidden
// folder. `_manifest.json` and other non-.html files are false.
bool IsTopicPath(std::string_view rel_path);

}  // namespace recall
}  // namespace claw

#endif  // CLAW_RECALL_HTML_H_
