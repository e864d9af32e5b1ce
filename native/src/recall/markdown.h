// Markdown → the fields the recall index scores: title, tags, headings and body.
//
// Understood: an optional YAML frontmatter block (first line `---`, closed by `---` or `...`) of
// which `title` (plain, 'single' or "double" quoted, or a | / > block scalar) and `tags` /
// `keywords` (flow list `[a, b]`, block list `- a`, or a comma-separated string) are read; ATX
// headings (`#`..`######`, optional closing #s) and setext headings (`===` / `---` underlines);
// fenced code blocks (``` or ~~~; the fence lines are dropped, the code kept as body text).
// Markup noise is removed from body and heading text: emphasis and code-span markers, link and
// image destinations (the link text / alt text is kept), HTML tags and comments, blockquote and
// list markers, task boxes, table pipes and delimiter rows, thematic breaks, link reference
// definitions and backslash escapes. Whitespace runs collapse to one space.
// Title: frontmatter `title`, else the first H1, else the file name without its extension.
// All output strings are valid UTF-8 (malformed input bytes become U+FFFD).
#ifndef CLAW_RECALL_MARKDOWN_H_
#define CLAW_RECALL_MARKDOWN_H_

#include <string>
#include <string_view>
#include <vector>

namespace claw {
namespace recall {

enum class TitleSource { kFrontmatter, kHeading, kFileName };

struct ParsedDoc {
  std::string title;
  TitleSource title_source = TitleSource::kFileName;
  std::vector<std::string> tags;
  std::string headings;  // heading texts, one per line ('\n'-separated)
  std::string body;      // plain text, single spaces, no headings
  bool has_frontmatter = false;

  void Clear();
};

// Parses `markdown` (any bytes) into `out` (cleared first). `path` only serves the file-name title.
void ParseMarkdown(std::string_view path, std::string_view markdown, ParsedDoc* out);

}  // namespace recall
}  // namespace claw

#endif  // CLAW_RECALL_MARKDOWN_H_
