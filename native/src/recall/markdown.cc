#include "markdown.h"

#include <cstddef>
#include <cstdint>
#include <vector>

#include "utf8.h"

namespace claw {
namespace recall {

namespace {

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}
bool IsAsciiAlnum(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool IsAsciiPunct(char c) {
  return (c >= '!' && c <= '/') || (c >= ':' && c <= '@') || (c >= '[' && c <= '`') ||
         (c >= '{' && c <= '~');
}

std::string_view TrimLeft(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && IsSpace(s[i])) ++i;
  return s.substr(i);
}
std::string_view TrimRight(std::string_view s) {
  size_t n = s.size();
  while (n > 0 && IsSpace(s[n - 1])) --n;
  return s.substr(0, n);
}
std::string_view Trim(std::string_view s) { return TrimRight(TrimLeft(s)); }

size_t Indent(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
  return i;
}

// Splits text into lines without their '\n' / "\r\n".
class Lines {
 public:
  explicit Lines(std::string_view text) : text_(text) {}
  bool Next(std::string_view* line) {
    if (pos_ >= text_.size()) return false;
    const size_t nl = text_.find('\n', pos_);
    const size_t end = nl == std::string_view::npos ? text_.size() : nl;
    std::string_view l = text_.substr(pos_, end - pos_);
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    *line = l;
    pos_ = nl == std::string_view::npos ? text_.size() : nl + 1;
    return true;
  }
  bool Peek(std::string_view* line) const {
    Lines copy = *this;
    return copy.Next(line);
  }
  size_t pos() const { return pos_; }

 private:
  std::string_view text_;
  size_t pos_ = 0;
};

// Collects text; whitespace runs are collapsed to one space (and trimmed) by Finish(), in one pass
// over the finished string, so runs of ordinary text are appended with a single copy.
class TextSink {
 public:
  explicit TextSink(std::string* out) : out_(out) {}
  void Space() { out_->push_back(' '); }
  void Char(char c) { out_->push_back(c); }
  void Run(std::string_view s) { out_->append(s.data(), s.size()); }
  void Text(std::string_view s) { out_->append(s.data(), s.size()); }
  // The last character written ('\0'-like ' ' when none).
  char Last() const { return out_->empty() ? ' ' : out_->back(); }
  void Finish() { CollapseWhitespace(out_); }

  static void CollapseWhitespace(std::string* s) {
    char* p = &(*s)[0];
    size_t w = 0;
    bool pending = false;
    for (size_t r = 0; r < s->size(); ++r) {
      const char c = p[r];
      if (IsSpace(c)) {
        pending = w > 0;
        continue;
      }
      if (pending) p[w++] = ' ';
      pending = false;
      p[w++] = c;
    }
    s->resize(w);
  }

 private:
  std::string* out_;
};

// Characters CleanInline looks at.
bool IsInlineSpecial(char c) {
  switch (c) {
    case '\\':
    case '`':
    case '*':
    case '~':
    case '_':
    case '|':
    case '!':
    case '[':
    case ']':
    case '<':
      return true;
    default:
      return false;
  }
}

// Where each `(` / `[` of a line closes (its balanced `)` / `]`), computed once per line in one
// pass with a stack, so that an unclosed destination (`[a](` repeated) is not rescanned to the end
// of the line at every `](`: CleanInline stays linear in the line (issue 13).
class Closers {
 public:
  explicit Closers(std::string_view s) : s_(s) {}
  // The index of the bracket closing s[i] (a '(' or '['), or npos when it is never closed.
  size_t Close(size_t i) {
    if (!built_) Build();
    const uint32_t c = close_[i];
    return c == kNone ? std::string_view::npos : c;
  }

 private:
  static constexpr uint32_t kNone = 0xFFFFFFFFu;
  void Build() {
    built_ = true;
    close_.assign(s_.size(), kNone);
    std::vector<uint32_t> parens, brackets;
    for (size_t j = 0; j < s_.size(); ++j) {
      switch (s_[j]) {
        case '(':
          parens.push_back(static_cast<uint32_t>(j));
          break;
        case '[':
          brackets.push_back(static_cast<uint32_t>(j));
          break;
        case ')':
          if (!parens.empty()) {
            close_[parens.back()] = static_cast<uint32_t>(j);
            parens.pop_back();
          }
          break;
        case ']':
          if (!brackets.empty()) {
            close_[brackets.back()] = static_cast<uint32_t>(j);
            brackets.pop_back();
          }
          break;
        default:
          break;
      }
    }
  }
  std::string_view s_;
  bool built_ = false;
  std::vector<uint32_t> close_;
};

// Removes inline markup from one line. `in_comment` carries an open HTML comment across lines.
// Linear in the line: every scan ahead either consumes what it scanned or is answered from a
// result computed once (Closers, the next '>').
void CleanInline(std::string_view s, TextSink* out, bool* in_comment) {
  size_t i = 0;
  const size_t n = s.size();
  int bracket_depth = 0;
  Closers closers(s);
  size_t next_gt = 0;  // the first '>' after the last lookup (npos: none left on the line)
  bool next_gt_known = false;
  while (i < n) {
    if (*in_comment) {
      const size_t close = s.find("-->", i);
      if (close == std::string_view::npos) return;
      *in_comment = false;
      i = close + 3;
      out->Space();
      continue;
    }
    const char c = s[i];
    switch (c) {
      case '\\':
        if (i + 1 < n && IsAsciiPunct(s[i + 1])) {
          out->Char(s[i + 1]);
          i += 2;
        } else {
          out->Char(c);
          ++i;
        }
        continue;
      case '`':
      case '*':
        ++i;
        continue;
      case '~':
        if (i + 1 < n && s[i + 1] == '~') {
          i += 2;
        } else {
          out->Char(c);
          ++i;
        }
        continue;
      case '_': {
        const bool inside = IsAsciiAlnum(out->Last()) && i + 1 < n && IsAsciiAlnum(s[i + 1]);
        if (inside) out->Char(c);
        ++i;
        continue;
      }
      case '|':
        out->Space();
        ++i;
        continue;
      case '!':
        if (i + 1 < n && s[i + 1] == '[') {
          ++i;  // image: keep the alt text like a link text
          continue;
        }
        out->Char(c);
        ++i;
        continue;
      case '[':
        ++bracket_depth;
        ++i;
        continue;
      case ']':
        if (bracket_depth > 0) {
          --bracket_depth;
          ++i;
          if (i < n && (s[i] == '(' || s[i] == '[')) {  // skip the destination or reference
            const size_t j = closers.Close(i);
            if (j != std::string_view::npos) i = j + 1;
          }
          continue;
        }
        out->Char(c);
        ++i;
        continue;
      case '<': {
        if (s.compare(i, 4, "<!--") == 0) {
          *in_comment = true;
          i += 4;
          continue;
        }
        if (!next_gt_known || (next_gt != std::string_view::npos && next_gt <= i)) {
          next_gt = s.find('>', i + 1);
          next_gt_known = true;
        }
        const size_t close = next_gt;
        const bool tagish = i + 1 < n && (s[i + 1] == '/' || (s[i + 1] >= 'a' && s[i + 1] <= 'z') ||
                                          (s[i + 1] >= 'A' && s[i + 1] <= 'Z'));
        if (tagish && close != std::string_view::npos) {
          const std::string_view inner = s.substr(i + 1, close - i - 1);
          const bool autolink = inner.find(' ') == std::string_view::npos &&
                                (inner.find(':') != std::string_view::npos ||
                                 inner.find('@') != std::string_view::npos);
          out->Space();
          if (autolink) out->Text(inner);
          out->Space();
          i = close + 1;
          continue;
        }
        out->Char(c);
        ++i;
        continue;
      }
      default: {
        size_t j = i + 1;  // a run of ordinary characters goes out in one piece
        while (j < n && !IsInlineSpecial(s[j])) ++j;
        out->Run(s.substr(i, j - i));
        i = j;
      }
    }
  }
}

// ---- YAML frontmatter (the subset used by notes) -------------------------------------------

void AppendCodePointOrReplacement(uint32_t cp, std::string* out) {
  char buf[4];
  if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) cp = 0xFFFD;
  out->append(buf, EncodeUtf8(cp, buf));
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Parses a quoted scalar starting at s[0] (a quote); returns the bytes consumed.
size_t ParseQuoted(std::string_view s, std::string* out) {
  const char q = s[0];
  size_t i = 1;
  while (i < s.size()) {
    const char c = s[i];
    if (q == '\'' && c == '\'') {
      if (i + 1 < s.size() && s[i + 1] == '\'') {
        out->push_back('\'');
        i += 2;
        continue;
      }
      return i + 1;
    }
    if (q == '"' && c == '"') return i + 1;
    if (q == '"' && c == '\\' && i + 1 < s.size()) {
      const char e = s[i + 1];
      i += 2;
      switch (e) {
        case 'n':
        case 't':
        case 'r':
          out->push_back(' ');
          break;
        case 'x':
        case 'u':
        case 'U': {
          const size_t digits = e == 'x' ? 2 : e == 'u' ? 4 : 8;
          uint32_t cp = 0;
          size_t k = 0;
          for (; k < digits && i + k < s.size(); ++k) {
            const int h = HexValue(s[i + k]);
            if (h < 0) break;
            cp = (cp << 4) | static_cast<uint32_t>(h);
          }
          if (k == digits) {
            AppendCodePointOrReplacement(cp, out);
            i += k;
          }
          break;
        }
        default:
          out->push_back(e);
          break;
      }
      continue;
    }
    out->push_back(c);
    ++i;
  }
  return s.size();
}

// A plain scalar: up to a " #" comment.
std::string_view PlainScalar(std::string_view v) {
  for (size_t i = 1; i < v.size(); ++i) {
    if (v[i] == '#' && IsSpace(v[i - 1])) return Trim(v.substr(0, i));
  }
  return Trim(v);
}

void ParseScalar(std::string_view v, std::string* out) {
  v = Trim(v);
  if (v.empty()) return;
  if (v[0] == '"' || v[0] == '\'') {
    ParseQuoted(v, out);
  } else {
    const std::string_view plain = PlainScalar(v);
    out->append(plain.data(), plain.size());
  }
}

void AddTag(std::string_view raw, std::vector<std::string>* tags) {
  std::string t;
  ParseScalar(raw, &t);
  const std::string_view trimmed = Trim(t);
  if (!trimmed.empty()) tags->emplace_back(trimmed);
}

// `[a, "b, c", d]`
void ParseFlowList(std::string_view v, std::vector<std::string>* tags) {
  size_t i = 1;  // after '['
  size_t start = i;
  while (i < v.size()) {
    const char c = v[i];
    if (c == '"' || c == '\'') {
      std::string scratch;
      i += ParseQuoted(v.substr(i), &scratch);
      continue;
    }
    if (c == ',' || c == ']') {
      AddTag(v.substr(start, i - start), tags);
      if (c == ']') return;
      start = i + 1;
    }
    ++i;
  }
  AddTag(v.substr(start), tags);  // unclosed list: take what is there
}

struct Frontmatter {
  std::string title;
  bool has_title = false;
};

// Continuation lines of a key: indented lines (or blank ones) after it.
template <class F>
void ForContinuation(Lines* lines, F&& f) {
  std::string_view next;
  while (lines->Peek(&next) && (Trim(next).empty() || Indent(next) > 0 || next[0] == '-')) {
    lines->Next(&next);
    f(next);
  }
}

void ParseFrontmatter(std::string_view block, Frontmatter* fm, std::vector<std::string>* tags) {
  Lines lines(block);
  std::string_view line;
  while (lines.Next(&line)) {
    if (line.empty() || IsSpace(line[0]) || line[0] == '#' || line[0] == '-') continue;
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view key = Trim(line.substr(0, colon));
    const std::string_view value = Trim(line.substr(colon + 1));
    const bool is_title = key == "title";
    const bool is_tags = key == "tags" || key == "keywords";
    if (!is_title && !is_tags) continue;
    if (is_title) {
      fm->title.clear();
      fm->has_title = true;
      const bool block_scalar = !value.empty() && (value[0] == '|' || value[0] == '>');
      if (!block_scalar) ParseScalar(value, &fm->title);
      ForContinuation(&lines, [&](std::string_view l) {  // block or multi-line plain scalar
        const std::string_view part = Trim(l);
        fm->title.push_back(' ');
        fm->title.append(part.data(), part.size());
      });
      continue;
    }
    if (!value.empty() && value[0] == '[') {
      ParseFlowList(value, tags);
    } else if (!value.empty()) {
      std::string joined;
      ParseScalar(value, &joined);
      size_t start = 0;
      for (size_t i = 0; i <= joined.size(); ++i) {
        if (i == joined.size() || joined[i] == ',') {
          AddTag(std::string_view(joined).substr(start, i - start), tags);
          start = i + 1;
        }
      }
    }
    ForContinuation(&lines, [&](std::string_view l) {
      const std::string_view item = TrimLeft(l);
      if (!item.empty() && item[0] == '-') AddTag(item.substr(1), tags);
    });
  }
}

bool IsFenceDelimiter(std::string_view line) {
  const std::string_view t = TrimRight(line);
  return t == "---" || t == "...";
}

// ---- block structure --------------------------------------------------------------------

// Returns the heading level (1..6) of an ATX heading and its text, or 0.
int AtxHeading(std::string_view line, std::string_view* text) {
  const size_t ind = Indent(line);
  if (ind > 3) return 0;
  std::string_view s = line.substr(ind);
  size_t level = 0;
  while (level < s.size() && s[level] == '#') ++level;
  if (level == 0 || level > 6) return 0;
  if (level < s.size() && s[level] != ' ' && s[level] != '\t') return 0;
  std::string_view t = Trim(s.substr(level));
  size_t end = t.size();  // optional closing sequence: " ###"
  while (end > 0 && t[end - 1] == '#') --end;
  if (end == 0) {
    t = std::string_view();
  } else if (end < t.size() && IsSpace(t[end - 1])) {
    t = TrimRight(t.substr(0, end));
  }
  *text = t;
  return static_cast<int>(level);
}

// A fence opening: returns the fence char and length, or 0.
size_t FenceOpen(std::string_view line, char* fence_char) {
  const size_t ind = Indent(line);
  if (ind > 3 || ind >= line.size()) return 0;
  const char c = line[ind];
  if (c != '`' && c != '~') return 0;
  size_t n = 0;
  while (ind + n < line.size() && line[ind + n] == c) ++n;
  if (n < 3) return 0;
  if (c == '`' && line.find('`', ind + n) != std::string_view::npos) return 0;
  *fence_char = c;
  return n;
}

bool FenceClose(std::string_view line, char fence_char, size_t fence_len) {
  const size_t ind = Indent(line);
  if (ind > 3) return false;
  size_t n = 0;
  while (ind + n < line.size() && line[ind + n] == fence_char) ++n;
  return n >= fence_len && Trim(line.substr(ind + n)).empty();
}

// `***`, `- - -`, `___` ...
bool ThematicBreak(std::string_view line) {
  const std::string_view t = Trim(line);
  if (t.empty() || (t[0] != '-' && t[0] != '*' && t[0] != '_')) return false;
  size_t count = 0;
  for (char c : t) {
    if (c == t[0]) {
      ++count;
    } else if (c != ' ' && c != '\t') {
      return false;
    }
  }
  return count >= 3;
}

// Setext underline: level 1 for `===`, 2 for `---` (at least three dashes), else 0.
int SetextUnderline(std::string_view line) {
  if (Indent(line) > 3) return 0;
  const std::string_view t = Trim(line);
  if (t.empty() || (t[0] != '=' && t[0] != '-')) return 0;
  for (char c : t) {
    if (c != t[0]) return 0;
  }
  if (t[0] == '-' && t.size() < 3) return 0;
  return t[0] == '=' ? 1 : 2;
}

bool TableDelimiterRow(std::string_view line) {
  const std::string_view t = Trim(line);
  if (t.find('|') == std::string_view::npos || t.find('-') == std::string_view::npos) return false;
  for (char c : t) {
    if (c != '|' && c != '-' && c != ':' && c != ' ' && c != '\t') return false;
  }
  return true;
}

// `[label]: destination`
bool LinkReferenceDefinition(std::string_view line) {
  const std::string_view t = TrimLeft(line);
  if (Indent(line) > 3 || t.empty() || t[0] != '[') return false;
  const size_t close = t.find("]:");
  return close != std::string_view::npos && close > 1;
}

// Strips blockquote markers, list markers and task boxes from the start of a text line.
std::string_view StripBlockMarkers(std::string_view line) {
  std::string_view s = TrimLeft(line);
  while (!s.empty() && s[0] == '>') s = TrimLeft(s.substr(1));
  if (s.size() >= 2 && (s[0] == '-' || s[0] == '*' || s[0] == '+') &&
      (s[1] == ' ' || s[1] == '\t')) {
    s = TrimLeft(s.substr(2));
  } else {
    size_t d = 0;
    while (d < s.size() && d < 9 && s[d] >= '0' && s[d] <= '9') ++d;
    if (d > 0 && d + 1 < s.size() && (s[d] == '.' || s[d] == ')') &&
        (s[d + 1] == ' ' || s[d + 1] == '\t')) {
      s = TrimLeft(s.substr(d + 2));
    }
  }
  if (s.size() >= 3 && s[0] == '[' && s[2] == ']' && (s[1] == ' ' || s[1] == 'x' || s[1] == 'X')) {
    s = TrimLeft(s.substr(3));
  }
  return s;
}

bool ParagraphLike(std::string_view line) {
  const std::string_view t = TrimLeft(line);
  if (t.empty() || Indent(line) > 3) return false;
  const char c = t[0];
  if (c == '#' || c == '>' || c == '|' || c == '`' || c == '~' || c == '<') return false;
  if ((c == '-' || c == '*' || c == '+') && (t.size() == 1 || t[1] == ' ' || t[1] == '\t'))
    return false;
  return !ThematicBreak(line);
}

std::string_view FileStem(std::string_view path) {
  const size_t slash = path.find_last_of("/\\");
  std::string_view base = slash == std::string_view::npos ? path : path.substr(slash + 1);
  const size_t dot = base.find_last_of('.');
  if (dot != std::string_view::npos && dot > 0) {
    std::string ext(base.substr(dot + 1));
    for (char& c : ext) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
    if (ext == "md" || ext == "markdown" || ext == "mdx" || ext == "txt")
      base = base.substr(0, dot);
  }
  return base;
}

void CollapseInto(std::string_view text, std::string* out) {
  out->assign(text.data(), text.size());
  TextSink::CollapseWhitespace(out);
}

}  // namespace

void ParsedDoc::Clear() {
  title.clear();
  title_source = TitleSource::kFileName;
  tags.clear();
  headings.clear();
  body.clear();
  has_frontmatter = false;
}

void ParseMarkdown(std::string_view path, std::string_view markdown, ParsedDoc* out) {
  out->Clear();
  std::string fixed;
  std::string_view text = markdown;
  if (!IsValidUtf8(text)) {
    AppendSanitizedUtf8(text, &fixed);
    text = fixed;
  }
  if (text.size() >= 3 && text.compare(0, 3, "\xEF\xBB\xBF") == 0) text.remove_prefix(3);

  Frontmatter fm;
  Lines lines(text);
  std::string_view line;
  if (lines.Peek(&line) && TrimRight(line) == "---") {
    Lines scan = lines;
    scan.Next(&line);
    const size_t block_start = scan.pos();
    size_t block_end = block_start;
    bool closed = false;
    while (true) {
      const size_t here = scan.pos();
      if (!scan.Next(&line)) break;
      if (IsFenceDelimiter(line)) {
        block_end = here;
        closed = true;
        break;
      }
    }
    if (closed) {
      out->has_frontmatter = true;
      ParseFrontmatter(text.substr(block_start, block_end - block_start), &fm, &out->tags);
      lines = scan;
    }
  }

  TextSink body(&out->body);
  std::string heading_text;
  std::string first_h1;
  bool have_h1 = false;
  bool in_comment = false;
  char fence_char = 0;
  size_t fence_len = 0;
  auto add_heading = [&](std::string_view raw, int level) {
    heading_text.clear();
    TextSink hs(&heading_text);
    bool comment = false;
    CleanInline(raw, &hs, &comment);
    hs.Finish();
    if (heading_text.empty()) return;
    if (!out->headings.empty()) out->headings.push_back('\n');
    out->headings += heading_text;
    if (level == 1 && !have_h1) {
      first_h1 = heading_text;
      have_h1 = true;
    }
    body.Space();
  };

  while (lines.Next(&line)) {
    if (fence_len > 0) {
      if (FenceClose(line, fence_char, fence_len)) {
        fence_len = 0;
      } else {
        body.Space();
        body.Text(line);
      }
      continue;
    }
    if (in_comment) {
      body.Space();
      CleanInline(line, &body, &in_comment);
      continue;
    }
    if (const size_t n = FenceOpen(line, &fence_char)) {
      fence_len = n;
      body.Space();
      continue;
    }
    std::string_view htext;
    if (const int level = AtxHeading(line, &htext)) {
      add_heading(htext, level);
      continue;
    }
    std::string_view next;
    if (ParagraphLike(line) && lines.Peek(&next)) {
      if (const int level = SetextUnderline(next)) {
        lines.Next(&next);
        add_heading(Trim(line), level);
        continue;
      }
    }
    if (ThematicBreak(line) || TableDelimiterRow(line) || LinkReferenceDefinition(line)) {
      body.Space();
      continue;
    }
    body.Space();
    CleanInline(StripBlockMarkers(line), &body, &in_comment);
  }

  body.Finish();
  if (fm.has_title && !Trim(fm.title).empty()) {
    CollapseInto(fm.title, &out->title);
    out->title_source = TitleSource::kFrontmatter;
  } else if (have_h1) {
    out->title = first_h1;
    out->title_source = TitleSource::kHeading;
  } else {
    std::string stem;
    AppendSanitizedUtf8(FileStem(path), &stem);
    CollapseInto(stem, &out->title);
    out->title_source = TitleSource::kFileName;
  }
}

}  // namespace recall
}  // namespace claw
