#include "html.h"

#include <algorithm>
#include <cstring>
#include <unordered_map>

#include "utf8.h"

namespace claw {
namespace recall {

namespace {

constexpr const char* kKindNames[kElementKinds] = {
    "bv-topic",        "bv-reason",     "bv-task",   "bv-changes",  "bv-files",
    "bv-flow",         "bv-timestamp",  "bv-author", "bv-pattern",  "bv-structure",
    "bv-dependencies", "bv-highlights", "bv-rule",   "bv-examples", "bv-diagram",
    "bv-fact",         "bv-decision",   "bv-bug",    "bv-fix"};

inline bool IsSpace(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}
inline bool IsAlpha(unsigned char c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }
inline bool IsNameChar(unsigned char c) {
  return IsAlpha(c) || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == ':' || c == '.';
}
inline char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c | 0x20) : c; }

// Tags that end a word (block-level or line-breaking); inline ones (strong, code, em, ...) don't.
bool IsBlockTag(std::string_view n) {
  static constexpr std::string_view kBlock[] = {
      "p",  "li",         "ul",      "ol",      "br",     "div",    "pre",   "table", "tr", "td",
      "th", "h1",         "h2",      "h3",      "h4",     "h5",     "h6",    "hr",    "dl", "dt",
      "dd", "blockquote", "section", "article", "header", "footer", "thead", "tbody"};
  for (std::string_view b : kBlock) {
    if (n == b) return true;
  }
  return n.size() > 3 && n.substr(0, 3) == "bv-";
}

// Elements that never have content or an end tag.
bool IsVoidTag(std::string_view n) {
  static constexpr std::string_view kVoid[] = {"br",   "hr",   "img",   "input", "meta",
                                               "link", "wbr",  "col",   "embed", "source",
                                               "area", "base", "param", "track"};
  for (std::string_view v : kVoid) {
    if (n == v) return true;
  }
  return false;
}

struct NamedEntity {
  const char* name;
  char32_t cp;
};
constexpr NamedEntity kEntities[] = {
    {"amp", '&'},      {"lt", '<'},       {"gt", '>'},       {"quot", '"'},     {"apos", '\''},
    {"nbsp", ' '},     {"copy", 0xA9},    {"reg", 0xAE},     {"trade", 0x2122}, {"hellip", 0x2026},
    {"mdash", 0x2014}, {"ndash", 0x2013}, {"lsquo", 0x2018}, {"rsquo", 0x2019}, {"ldquo", 0x201C},
    {"rdquo", 0x201D}, {"bull", 0x2022},  {"middot", 0xB7},  {"times", 0xD7},   {"rarr", 0x2192},
    {"larr", 0x2190},  {"deg", 0xB0},     {"euro", 0x20AC},  {"laquo", 0xAB},   {"raquo", 0xBB},
    {"shy", 0xAD},     {"sect", 0xA7},    {"plusmn", 0xB1},  {"ge", 0x2265},    {"le", 0x2264},
    {"ne", 0x2260},    {"para", 0xB6}};

// Decodes a character reference at s[0] == '&'. On success sets *cp and returns the bytes
// consumed (';' included); 0 when it is not a reference (the '&' is then literal text).
size_t DecodeEntity(std::string_view s, char32_t* cp) {
  if (s.size() < 3) return 0;
  if (s[1] == '#') {
    size_t i = 2;
    bool hex = false;
    if (i < s.size() && (s[i] == 'x' || s[i] == 'X')) {
      hex = true;
      ++i;
    }
    const size_t start = i;
    uint32_t v = 0;
    while (i < s.size() && i - start < 8) {
      const char c = s[i];
      int d;
      if (c >= '0' && c <= '9') {
        d = c - '0';
      } else if (hex && (c | 0x20) >= 'a' && (c | 0x20) <= 'f') {
        d = (c | 0x20) - 'a' + 10;
      } else {
        break;
      }
      v = v * (hex ? 16 : 10) + static_cast<uint32_t>(d);
      ++i;
    }
    if (i == start || i >= s.size() || s[i] != ';') return 0;
    if (v == 0 || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) v = 0xFFFD;
    *cp = v;
    return i + 1;
  }
  size_t i = 1;
  while (i < s.size() && i < 10 && IsAlpha(static_cast<unsigned char>(s[i]))) ++i;
  if (i == 1 || i >= s.size() || s[i] != ';') return 0;
  const std::string_view name = s.substr(1, i - 1);
  for (const NamedEntity& e : kEntities) {
    if (name == e.name) {
      *cp = e.cp;
      return i + 1;
    }
  }
  return 0;
}

void AppendCodePoint(char32_t cp, std::string* out) {
  char buf[4];
  out->append(buf, EncodeUtf8(cp, buf));
}

// Appends raw text (entities decoded, UTF-8 sanitized). With `collapse`, whitespace runs become
// one space and no space starts `out`.
void AppendText(std::string_view s, bool collapse, std::string* out) {
  size_t run = 0;  // start of the pending run of ordinary bytes
  size_t i = 0;
  auto flush = [&](size_t end) {
    if (end > run) AppendSanitizedUtf8(s.substr(run, end - run), out);
  };
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (collapse && IsSpace(c)) {
      flush(i);
      while (i < s.size() && IsSpace(static_cast<unsigned char>(s[i]))) ++i;
      if (!out->empty() && out->back() != ' ') out->push_back(' ');
      run = i;
      continue;
    }
    if (c == '&') {
      char32_t cp;
      const size_t n = DecodeEntity(s.substr(i), &cp);
      if (n > 0) {
        flush(i);
        if (collapse && cp == ' ') {
          if (!out->empty() && out->back() != ' ') out->push_back(' ');
        } else {
          AppendCodePoint(cp, out);
        }
        i += n;
        run = i;
        continue;
      }
    }
    ++i;
  }
  flush(i);
}

void SeparateWords(std::string* s) {
  if (!s->empty() && s->back() != ' ') s->push_back(' ');
}

void TrimTrailingSpace(std::string* s) {
  while (!s->empty() && s->back() == ' ') s->pop_back();
}

class Parser {
 public:
  Parser(std::string_view in, ParsedTopic* out) : in_(in), out_(out) {}

  void Run() {
    if (!IsValidUtf8(in_)) {
      size_t bad = 0;
      const unsigned char* p = reinterpret_cast<const unsigned char*>(in_.data());
      while (bad < in_.size()) {
        const Decoded d = DecodeUtf8(p + bad, in_.size() - bad);
        if (d.cp == kInvalidCodePoint) break;
        bad += d.len;
      }
      Warn("HTML_INVALID_UTF8",
           "expected UTF-8 text, found a malformed byte sequence (replaced by U+FFFD)", bad);
    }
    size_t i = 0;
    while (i < in_.size()) {
      const size_t lt = in_.find('<', i);
      const size_t end = lt == std::string_view::npos ? in_.size() : lt;
      if (end > i) Text(in_.substr(i, end - i), i);
      if (lt == std::string_view::npos) break;
      i = Markup(lt);
    }
    Finish();
  }

 private:
  struct Open {
    std::string name;
    int elem;  // innermost bv element (index into out_->elements) inside this tag, -1 = none
  };

  void Warn(const char* code, std::string raw_reason, size_t offset) {
    ++warned_;
    std::string reason;  // names and characters quoted from the input may be malformed UTF-8
    AppendSanitizedUtf8(raw_reason, &reason);
    std::vector<HtmlWarning>& w = out_->warnings;
    if (w.size() + 1 < kMaxHtmlWarnings) {
      w.push_back(HtmlWarning{code, std::move(reason), offset});
    } else if (w.size() + 1 == kMaxHtmlWarnings) {
      w.push_back(HtmlWarning{"HTML_TOO_MANY_WARNINGS",
                              "expected at most " + std::to_string(kMaxHtmlWarnings - 1) +
                                  " problems per file, found more (only those are listed)",
                              offset});
    }
  }

  void Push(Open o) {
    ++open_count_[o.name];
    stack_.push_back(std::move(o));
  }

  int CurrentElem() const { return stack_.empty() ? -1 : stack_.back().elem; }

  std::string* Target() {
    const int e = CurrentElem();
    return e >= 0 ? &out_->elements[static_cast<size_t>(e)].text : &topic_text_;
  }

  bool InsideRoot() const { return root_open_; }

  static bool Blank(std::string_view s) {
    for (char c : s) {
      if (!IsSpace(static_cast<unsigned char>(c))) return false;
    }
    return true;
  }

  void Text(std::string_view s, size_t offset) {
    if (!InsideRoot()) {
      if (Blank(s)) return;
      if (root_closed_) {
        if (!after_root_warned_) {
          after_root_warned_ = true;
          Warn("HTML_CONTENT_AFTER_ROOT",
               "expected nothing after </bv-topic>, found text (ignored)", offset);
        }
      } else if (!before_root_warned_) {
        before_root_warned_ = true;
        Warn("HTML_ROOT", "expected <bv-topic> as the first thing in the file, found text", offset);
      }
      return;
    }
    AppendText(s, true, Target());
  }

  // Handles the markup starting at in_[lt] == '<'; returns where scanning resumes.
  size_t Markup(size_t lt) {
    const std::string_view rest = in_.substr(lt);
    if (rest.size() >= 4 && rest.substr(0, 4) == "<!--") {
      const size_t close = in_.find("-->", lt + 4);
      if (close == std::string_view::npos) {
        Warn("HTML_UNTERMINATED_COMMENT",
             "expected \"-->\" closing the comment opened here, found the end of the file", lt);
        return in_.size();
      }
      return close + 3;
    }
    if (rest.size() >= 2 && (rest[1] == '!' || rest[1] == '?')) {
      const size_t close = in_.find('>', lt + 2);
      if (close == std::string_view::npos) {
        Warn("HTML_UNTERMINATED_TAG",
             "expected \">\" closing the declaration, found the end of the file", lt);
        return in_.size();
      }
      if (!root_seen_ && !before_root_warned_) {
        before_root_warned_ = true;
        Warn("HTML_ROOT",
             "expected <bv-topic> as the first thing in the file (no doctype), found a declaration",
             lt);
      }
      return close + 1;
    }
    if (rest.size() >= 3 && rest[1] == '/' && IsAlpha(static_cast<unsigned char>(rest[2]))) {
      return EndTag(lt);
    }
    if (rest.size() >= 2 && IsAlpha(static_cast<unsigned char>(rest[1]))) return StartTag(lt);
    // A '<' that starts no tag is text.
    if (InsideRoot()) {
      AppendText("<", true, Target());
    } else {
      Text("<", lt);
    }
    return lt + 1;
  }

  size_t ReadName(size_t i, std::string* name) const {
    name->clear();
    while (i < in_.size() && IsNameChar(static_cast<unsigned char>(in_[i]))) {
      name->push_back(Lower(in_[i]));
      ++i;
    }
    return i;
  }

  size_t SkipSpace(size_t i) const {
    while (i < in_.size() && IsSpace(static_cast<unsigned char>(in_[i]))) ++i;
    return i;
  }

  // Parses attributes from in_[i]; returns the index after '>' (npos when the file ends first).
  // *self_closing is set for "/>". Attributes are stored only when `keep`.
  size_t Attributes(size_t i, bool keep, std::vector<HtmlAttr>* attrs, bool* self_closing) {
    *self_closing = false;
    bool bad_warned = false;
    auto bad = [&](const std::string& why, size_t at) {
      if (!bad_warned) {
        bad_warned = true;
        Warn("HTML_BAD_ATTRIBUTE", "in <" + tag_name_ + ">: " + why, at);
      }
    };
    std::string name;
    while (true) {
      i = SkipSpace(i);
      if (i >= in_.size()) return std::string_view::npos;
      const char c = in_[i];
      if (c == '>') return i + 1;
      if (c == '/') {
        if (i + 1 < in_.size() && in_[i + 1] == '>') {
          *self_closing = true;
          return i + 2;
        }
        ++i;
        continue;
      }
      if (!IsNameChar(static_cast<unsigned char>(c))) {
        bad("expected an attribute name, found '" + std::string(1, c) + "'", i);
        ++i;
        continue;
      }
      i = ReadName(i, &name);
      size_t j = SkipSpace(i);
      std::string value;
      if (j < in_.size() && in_[j] == '=') {
        j = SkipSpace(j + 1);
        if (j >= in_.size()) return std::string_view::npos;
        const char q = in_[j];
        if (q == '"' || q == '\'') {
          const size_t close = in_.find(q, j + 1);
          if (close == std::string_view::npos) return std::string_view::npos;
          if (keep) AppendText(in_.substr(j + 1, close - j - 1), false, &value);
          if (q == '\'')
            bad("expected a double-quoted value for " + name + ", found single quotes", j);
          i = close + 1;
        } else {
          size_t k = j;
          while (k < in_.size() && !IsSpace(static_cast<unsigned char>(in_[k])) && in_[k] != '>') {
            ++k;
          }
          if (keep) AppendText(in_.substr(j, k - j), false, &value);
          bad("expected a double-quoted value for " + name + ", found an unquoted one", j);
          i = k;
        }
      } else {
        i = j;  // a boolean attribute (empty value)
      }
      if (keep && attrs->size() < 4096) attrs->push_back(HtmlAttr{name, std::move(value)});
    }
  }

  // Keeps the first of each duplicated attribute name (warns once). O(a log a).
  void Dedupe(std::vector<HtmlAttr>* attrs, size_t offset) {
    if (attrs->size() < 2) return;
    std::vector<size_t> order(attrs->size());
    for (size_t k = 0; k < order.size(); ++k) order[k] = k;
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return (*attrs)[a].name < (*attrs)[b].name; });
    std::vector<bool> drop(attrs->size(), false);
    bool any = false;
    for (size_t k = 1; k < order.size(); ++k) {
      if ((*attrs)[order[k]].name == (*attrs)[order[k - 1]].name) {
        drop[order[k]] = true;
        if (!any) {
          Warn("HTML_DUPLICATE_ATTRIBUTE",
               "in <" + tag_name_ + ">: expected each attribute once, found " +
                   (*attrs)[order[k]].name + " twice (the first is used)",
               offset);
        }
        any = true;
      }
    }
    if (!any) return;
    size_t w = 0;
    for (size_t k = 0; k < attrs->size(); ++k) {
      if (!drop[k]) {
        if (w != k) (*attrs)[w] = std::move((*attrs)[k]);
        ++w;
      }
    }
    attrs->resize(w);
  }

  size_t StartTag(size_t lt) {
    size_t i = ReadName(lt + 1, &tag_name_);
    const std::string_view name = tag_name_;
    const bool is_bv = name.size() > 3 && name.substr(0, 3) == "bv-";
    const ElementKind kind = is_bv ? ElementKindFromName(name) : ElementKind::kUnknown;
    const bool keep = kind != ElementKind::kUnknown;
    attrs_.clear();
    bool self_closing = false;
    const size_t next = Attributes(i, keep, &attrs_, &self_closing);
    if (next == std::string_view::npos) {
      Warn("HTML_UNTERMINATED_TAG",
           "expected \">\" closing <" + tag_name_ + ">, found the end of the file", lt);
      return in_.size();
    }
    if (keep) Dedupe(&attrs_, lt);

    if (kind == ElementKind::kTopic) {
      if (!root_seen_ && stack_.empty()) {
        root_seen_ = true;
        root_open_ = !self_closing;
        root_closed_ = self_closing;
        out_->is_topic = true;
        out_->attrs = std::move(attrs_);
        root_offset_ = lt;
        if (!self_closing) Push(Open{tag_name_, -1});
        return next;
      }
      Warn("HTML_ROOT", "expected exactly one <bv-topic>, found another one (its tags are ignored)",
           lt);
      return PushGeneric(next, self_closing, lt);
    }
    if (!InsideRoot()) {
      if (root_closed_) {
        if (!after_root_warned_) {
          after_root_warned_ = true;
          Warn("HTML_CONTENT_AFTER_ROOT",
               "expected nothing after </bv-topic>, found <" + tag_name_ + "> (ignored)", lt);
        }
      } else if (!before_root_warned_) {
        before_root_warned_ = true;
        Warn("HTML_ROOT", "expected <bv-topic> as the root element, found <" + tag_name_ + ">", lt);
      }
      return PushGeneric(next, self_closing, lt);
    }
    if (is_bv && kind == ElementKind::kUnknown) {
      Warn("HTML_UNKNOWN_ELEMENT",
           "expected a bv-* element of the vocabulary, found <" + tag_name_ +
               "> (its text is kept in the enclosing element)",
           lt);
    }
    if (keep) {
      if (CurrentElem() >= 0) {
        Warn("HTML_NESTED_ELEMENT",
             "expected <" + tag_name_ + "> directly inside <bv-topic>, found it inside <" +
                 ElementKindName(out_->elements[static_cast<size_t>(CurrentElem())].kind) +
                 "> (indexed as its own element)",
             lt);
      }
      SeparateWords(Target());
      TopicElement e;
      e.kind = kind;
      e.offset = lt;
      for (const HtmlAttr& a : attrs_) {
        if (a.name == "id") {
          e.id = a.value;
          break;
        }
      }
      e.attrs = std::move(attrs_);
      out_->elements.push_back(std::move(e));
      const int idx = static_cast<int>(out_->elements.size() - 1);
      if (self_closing) return next;
      if (stack_.size() >= kMaxHtmlDepth) {
        TooDeep(lt);
        return next;
      }
      Push(Open{tag_name_, idx});
      return next;
    }
    if (IsBlockTag(name)) SeparateWords(Target());
    return PushGeneric(next, self_closing, lt);
  }

  size_t PushGeneric(size_t next, bool self_closing, size_t lt) {
    if (self_closing || IsVoidTag(tag_name_)) return next;
    if (stack_.size() >= kMaxHtmlDepth) {
      TooDeep(lt);
      return next;
    }
    Push(Open{tag_name_, CurrentElem()});
    return next;
  }

  void TooDeep(size_t lt) {
    ++overflow_;
    if (!deep_warned_) {
      deep_warned_ = true;
      Warn("HTML_TOO_DEEP",
           "expected at most " + std::to_string(kMaxHtmlDepth) +
               " nested tags, found more (deeper tags are ignored, their text kept)",
           lt);
    }
  }

  size_t EndTag(size_t lt) {
    const size_t i = ReadName(lt + 2, &tag_name_);
    const size_t close = in_.find('>', i);
    if (close == std::string_view::npos) {
      Warn("HTML_UNTERMINATED_TAG",
           "expected \">\" closing </" + tag_name_ + ">, found the end of the file", lt);
      return in_.size();
    }
    if (overflow_ > 0) {
      --overflow_;
      return close + 1;
    }
    if (IsVoidTag(tag_name_)) return close + 1;
    if (IsBlockTag(tag_name_) && InsideRoot()) SeparateWords(Target());
    // The nearest open tag of that name. Searched only when one is open (counted per name), and
    // every entry passed is then popped: linear overall.
    size_t k = 0;
    auto open = open_count_.find(tag_name_);
    if (open != open_count_.end() && open->second > 0) {
      k = stack_.size();
      while (k > 0 && stack_[k - 1].name != tag_name_) --k;
    }
    if (k == 0) {
      if (root_closed_ && !after_root_warned_) {
        after_root_warned_ = true;
        Warn("HTML_CONTENT_AFTER_ROOT",
             "expected nothing after </bv-topic>, found </" + tag_name_ + ">", lt);
      } else if (!root_closed_) {
        Warn("HTML_MISMATCHED_END_TAG",
             "expected an open <" + tag_name_ + "> for </" + tag_name_ + ">, found none (ignored)",
             lt);
      }
      return close + 1;
    }
    if (k != stack_.size()) {
      Warn("HTML_MISMATCHED_END_TAG",
           "expected </" + stack_.back().name + ">, found </" + tag_name_ + "> (closing both)", lt);
    }
    while (stack_.size() >= k) {  // pops down to k - 1 entries
      const bool root = stack_.size() == 1 && root_open_ && stack_[0].name == "bv-topic";
      --open_count_[stack_.back().name];
      stack_.pop_back();
      if (root) {
        root_open_ = false;
        root_closed_ = true;
      }
    }
    if (InsideRoot() && IsBlockTag(tag_name_)) SeparateWords(Target());
    return close + 1;
  }

  void Finish() {
    if (!stack_.empty()) {
      // Name every unclosed bv-* element, innermost last; other tags just once.
      for (const Open& o : stack_) {
        if (o.name.size() > 3 && o.name.compare(0, 3, "bv-") == 0) {
          Warn("HTML_UNCLOSED_ELEMENT",
               "expected </" + o.name + ">, found the end of the file (the element is kept)",
               in_.size());
        }
      }
    }
    if (!root_seen_) {
      Warn("HTML_NOT_A_TOPIC", "expected a <bv-topic> root element, found none: not a topic", 0);
    }
    TrimTrailingSpace(&topic_text_);
    for (TopicElement& e : out_->elements) TrimTrailingSpace(&e.text);
    if (!topic_text_.empty()) {
      TopicElement t;
      t.kind = ElementKind::kTopic;
      t.offset = root_offset_;
      if (const std::string* id = out_->Attr("id")) t.id = *id;
      t.text = std::move(topic_text_);
      out_->elements.insert(out_->elements.begin(), std::move(t));
    }
  }

  std::string_view in_;
  ParsedTopic* out_;
  std::vector<Open> stack_;
  std::unordered_map<std::string, uint32_t> open_count_;  // open tags per name
  std::vector<HtmlAttr> attrs_;
  std::string tag_name_;
  std::string topic_text_;
  size_t overflow_ = 0;
  size_t warned_ = 0;
  size_t root_offset_ = 0;
  bool root_seen_ = false;
  bool root_open_ = false;
  bool root_closed_ = false;
  bool before_root_warned_ = false;
  bool after_root_warned_ = false;
  bool deep_warned_ = false;
};

}  // namespace

const char* ElementKindName(ElementKind kind) {
  const int k = static_cast<int>(kind);
  return k >= 0 && k < kElementKinds ? kKindNames[k] : "";
}

ElementKind ElementKindFromName(std::string_view name) {
  for (int k = 0; k < kElementKinds; ++k) {
    if (name == kKindNames[k]) return static_cast<ElementKind>(k);
  }
  return ElementKind::kUnknown;
}

const std::string* ParsedTopic::Attr(std::string_view name) const {
  for (const HtmlAttr& a : attrs) {
    if (a.name == name) return &a.value;
  }
  return nullptr;
}

void ParsedTopic::Clear() {
  is_topic = false;
  attrs.clear();
  elements.clear();
  warnings.clear();
}

void ParseTopicHtml(std::string_view html, ParsedTopic* out) {
  out->Clear();
  Parser(html, out).Run();
}

bool IsTopicPath(std::string_view p) {
  constexpr std::string_view kExt = ".html";
  if (p.size() <= kExt.size() || p.substr(p.size() - kExt.size()) != kExt) return false;
  size_t start = 0;
  while (start <= p.size()) {
    size_t slash = p.find('/', start);
    if (slash == std::string_view::npos) slash = p.size();
    const std::string_view seg = p.substr(start, slash - start);
    if (!seg.empty() && seg[0] == '.') return false;  // .brv/_migrations, hidden folders
    if (slash == p.size()) return seg != "index.html" && seg != kExt;
    start = slash + 1;
  }
  return false;
}

}  // namespace recall
}  // namespace claw
