// Markdown parsing: frontmatter, title fallbacks, headings, fences, inline markup.
#include <string>

#include "../src/recall/markdown.h"
#include "../src/recall/utf8.h"
#include "recall_harness.h"

using claw::recall::ParsedDoc;
using claw::recall::ParseMarkdown;
using claw::recall::TitleSource;

namespace {

ParsedDoc Parse(std::string_view md, std::string_view path = "notes/file-name.md") {
  ParsedDoc d;
  ParseMarkdown(path, md, &d);
  return d;
}

std::string Tags(const ParsedDoc& d) {
  std::string j;
  for (const std::string& t : d.tags) j += (j.empty() ? "" : "|") + t;
  return j;
}

}  // namespace

RECALL_TEST(markdown_frontmatter_title_and_tags) {
  ParsedDoc d = Parse(
      "---\ntitle: Deploy guide\ntags: [ops, 'k8s', \"helm, charts\"]\nauthor: x\n---\n# Ignored "
      "H1\nBody text.\n");
  CHECK(d.has_frontmatter);
  CHECK_EQ(d.title, "Deploy guide");
  CHECK(d.title_source == TitleSource::kFrontmatter);
  CHECK_EQ(Tags(d), "ops|k8s|helm, charts");
  CHECK_EQ(d.headings, "Ignored H1");
  CHECK_EQ(d.body, "Body text.");

  d = Parse(
      "---\ntitle: \"Say \\\"hi\\\" \\u00e9\"\ntags:\n  - alpha\n  - \"beta gamma\"\nkeywords: "
      "one, two\n---\nx");
  CHECK_EQ(d.title, "Say \"hi\" \xC3\xA9");
  CHECK_EQ(Tags(d), "alpha|beta gamma|one|two");

  d = Parse("---\ntitle: 'It''s here' # comment\ntags: solo\n---\n");
  CHECK_EQ(d.title, "It's here");
  CHECK_EQ(Tags(d), "solo");

  d = Parse("---\ntitle: plain # trailing comment\n---\n");
  CHECK_EQ(d.title, "plain");

  d = Parse("---\ntitle: >\n  A folded\n  long title\ntags:\n- a\n- b\n...\nrest");
  CHECK_EQ(d.title, "A folded long title");
  CHECK_EQ(Tags(d), "a|b");
  CHECK_EQ(d.body, "rest");
}

RECALL_TEST(markdown_frontmatter_edge_cases) {
  // Not closed: no frontmatter; the --- line is a thematic break and the rest is body.
  ParsedDoc d = Parse("---\ntitle: Nope\nbody line\n");
  CHECK(!d.has_frontmatter);
  CHECK_EQ(d.title, "file-name");
  CHECK(d.title_source == TitleSource::kFileName);
  CHECK_EQ(d.body, "title: Nope body line");

  // CRLF line endings and a BOM.
  d = Parse("\xEF\xBB\xBF---\r\ntitle: Windows\r\ntags: [a]\r\n---\r\n# Head\r\nText\r\n");
  CHECK(d.has_frontmatter);
  CHECK_EQ(d.title, "Windows");
  CHECK_EQ(d.headings, "Head");
  CHECK_EQ(d.body, "Text");

  // Empty title falls back to the first H1.
  d = Parse("---\ntitle: \"\"\n---\n## Two\n# One\n# Other\n");
  CHECK_EQ(d.title, "One");
  CHECK(d.title_source == TitleSource::kHeading);
  CHECK_EQ(d.headings, "Two\nOne\nOther");

  // Frontmatter must start on the first line.
  d = Parse("\n---\ntitle: Late\n---\n");
  CHECK(!d.has_frontmatter);

  // Unclosed flow list and odd escapes do not break anything.
  d = Parse("---\ntags: [a, \"b\ntitle: \"\\x41\\uD800\\q\n---\n");
  CHECK(d.has_frontmatter);
  CHECK(claw::recall::IsValidUtf8(d.title));
  CHECK_EQ(d.title, "A\xEF\xBF\xBDq");
}

RECALL_TEST(markdown_title_falls_back_to_file_name) {
  CHECK_EQ(Parse("no heading here", "dir/sub/My Note.md").title, "My Note");
  CHECK_EQ(Parse("", "C:\\notes\\win.markdown").title, "win");
  CHECK_EQ(Parse("", "archive.tar.gz").title, "archive.tar.gz");
  CHECK_EQ(Parse("", ".hidden").title, ".hidden");
  CHECK_EQ(Parse("text", "bad\xFFname.md").title, "bad\xEF\xBF\xBDname");
}

RECALL_TEST(markdown_headings) {
  ParsedDoc d =
      Parse("#hashtag is text\n####### seven is text\n   ### Indented ok ###\n## C#\n#\nPara\n");
  CHECK_EQ(d.headings, "Indented ok\nC#");
  CHECK_EQ(d.body, "#hashtag is text ####### seven is text Para");
  CHECK_EQ(d.title, "file-name");

  d = Parse("Big Title\n=========\nintro\n\nSection\n-------\nmore\n- item\n---\n");
  CHECK_EQ(d.title, "Big Title");
  CHECK_EQ(d.headings, "Big Title\nSection");
  CHECK_EQ(d.body, "intro more item");

  d = Parse("# **Bold** [link](http://x) `code`\n");
  CHECK_EQ(d.title, "Bold link code");
}

RECALL_TEST(markdown_fenced_code) {
  // A closing fence is at least as long as the opening one: ~~~ does not close ~~~~.
  ParsedDoc d = Parse(
      "Intro\n```bash\n# not a heading\necho hi\n```\n~~~~\n## also not\n~~~\n~~~~~\n# Real\n");
  CHECK_EQ(d.headings, "Real");
  CHECK_EQ(d.body, "Intro # not a heading echo hi ## also not ~~~");
  d = Parse("```\nunclosed fence\n# still code\n");
  CHECK_EQ(d.headings, "");
  CHECK_EQ(d.body, "unclosed fence # still code");
}

RECALL_TEST(markdown_inline_markup_is_removed) {
  ParsedDoc d = Parse(
      "Some **bold** and _em_ and __strong__ with snake_case_name kept.\n"
      "A [link text](https://example.com/a_(b)) and ![alt text](img.png \"t\") and [ref][1].\n"
      "Auto <https://x.y/z> and <b>html</b> <!-- hidden --> ~~gone~~ \\*literal\\*.\n"
      "> quoted line\n"
      "1. first\n"
      "- [x] done task\n"
      "| a | b |\n"
      "|---|:-:|\n"
      "***\n"
      "[1]: https://example.com\n"
      "<!-- multi\nline comment -->after\n");
  CHECK_EQ(
      d.body,
      "Some bold and em and strong with snake_case_name kept. A link text and alt text and "
      "ref. Auto https://x.y/z and html gone *literal*. quoted line first done task a b after");
}

RECALL_TEST(markdown_invalid_utf8_becomes_replacement_characters) {
  ParsedDoc d = Parse("---\ntitle: T\xFF\n---\nbody \xC3 end \xED\xA0\x80!");
  CHECK(claw::recall::IsValidUtf8(d.title));
  CHECK(claw::recall::IsValidUtf8(d.body));
  CHECK_EQ(d.title, "T\xEF\xBF\xBD");
  CHECK_EQ(d.body, "body \xEF\xBF\xBD end \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD!");
}

RECALL_TEST(markdown_empty_and_whitespace_only) {
  ParsedDoc d = Parse("");
  CHECK_EQ(d.body, "");
  CHECK_EQ(d.headings, "");
  d = Parse("\n\n   \n\t\n");
  CHECK_EQ(d.body, "");
  d = Parse("---\n---\n");
  CHECK(d.has_frontmatter);
  CHECK_EQ(d.body, "");
}
