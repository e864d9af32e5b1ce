// ByteRover v4 topics: the <bv-topic> parser (html.h) and its use by the index (per-element hits,
// signals, warnings once per content, skipped non-topic files, mixed md + html trees).
#include <string>
#include <vector>

#include "../src/recall/html.h"
#include "../src/recall/index.h"
#include "recall_harness.h"

using claw::recall::ElementKind;
using claw::recall::ElementKindName;
using claw::recall::FileWarning;
using claw::recall::Hit;
using claw::recall::Index;
using claw::recall::IsTopicPath;
using claw::recall::Maturity;
using claw::recall::ParsedTopic;
using claw::recall::ParseTopicHtml;
using claw::recall::QueryOptions;
using claw::recall::Signals;

namespace {

// The vocabulary's own "Realistic full example" (vocabulary.md), verbatim.
const char* const kJwt = R"(<bv-topic path="auth/jwt-design"
          title="JWT authentication design"
          summary="Service-to-service tokens use RS256 with 24h expiry"
          keywords="auth,jwt,rs256,security">

  <bv-decision id="d-rs256">
    Use RS256 for all service tokens; reject HS256.
  </bv-decision>

  <bv-reason>
    Asymmetric signing lets the public key be distributed for verification
    without sharing the signing secret, simplifying key rotation and
    multi-service deployments.
  </bv-reason>

  <bv-rule severity="must" id="r-verify">
    All services MUST verify tokens against the published public key
    (https://auth.internal/.well-known/jwks.json).
  </bv-rule>

  <bv-fact subject="algorithm" category="convention" value="RS256">
    Production enforces RS256 exclusively.
  </bv-fact>

  <bv-fact subject="expiry_window" category="convention" value="24h">
    Access tokens expire in 24 hours; refresh via /auth/refresh.
  </bv-fact>

  <bv-files>
    <li>src/auth/middleware.ts</li>
    <li>src/auth/refresh.ts</li>
    <li>config/jwks-public.json</li>
  </bv-files>

  <bv-bug severity="medium" id="b-clock-skew">
    Services with ±5min clock drift reject otherwise-valid tokens.
  </bv-bug>

  <bv-fix id="f-clock-skew">
    Use the 30-second leeway: <code>verifyJwt(token, { tolerance: 30 })</code>.
  </bv-fix>

</bv-topic>)";

const std::string* ElemAttr(const claw::recall::TopicElement& e, const char* name) {
  for (const auto& a : e.attrs) {
    if (a.name == name) return &a.value;
  }
  return nullptr;
}

bool HasWarning(const ParsedTopic& t, const char* code) {
  for (const auto& w : t.warnings) {
    if (w.code == code && !w.reason.empty()) return true;
  }
  return false;
}

// One topic holding one element of `kind` whose text is the unique word `word`.
std::string OneElementTopic(const std::string& path, const std::string& kind,
                            const std::string& word, int n) {
  std::string attrs = kind == "bv-fact" ? " subject=\"s\" category=\"other\"" : "";
  return "<bv-topic path=\"" + path + "\" title=\"Topic " + std::to_string(n) + "\"><" + kind +
         " id=\"bve-" + std::to_string(10000000 + n) + "\"" + attrs +
         "><p>common words and <strong>" + word + "</strong></p></" + kind + "></bv-topic>";
}

}  // namespace

RECALL_TEST(html_parses_the_vocabulary_example) {
  ParsedTopic t;
  ParseTopicHtml(kJwt, &t);
  CHECK(t.is_topic);
  CHECK(t.warnings.empty());
  REQUIRE(t.Attr("title") != nullptr);
  CHECK_EQ(*t.Attr("title"), std::string("JWT authentication design"));
  CHECK_EQ(*t.Attr("keywords"), std::string("auth,jwt,rs256,security"));
  REQUIRE(t.elements.size() == 8u);
  CHECK(t.elements[0].kind == ElementKind::kDecision);
  CHECK_EQ(t.elements[0].id, std::string("d-rs256"));
  CHECK_EQ(t.elements[0].text, std::string("Use RS256 for all service tokens; reject HS256."));
  CHECK(t.elements[3].kind == ElementKind::kFact);
  CHECK_EQ(*ElemAttr(t.elements[3], "subject"), std::string("algorithm"));
  CHECK_EQ(*ElemAttr(t.elements[3], "value"), std::string("RS256"));
  CHECK(t.elements[5].kind == ElementKind::kFiles);
  CHECK_EQ(t.elements[5].text,
           std::string("src/auth/middleware.ts src/auth/refresh.ts config/jwks-public.json"));
  CHECK(t.elements[7].kind == ElementKind::kFix);
  CHECK_EQ(t.elements[7].text,
           std::string("Use the 30-second leeway: verifyJwt(token, { tolerance: 30 })."));
  CHECK_EQ(std::string(ElementKindName(t.elements[6].kind)), std::string("bv-bug"));
}

RECALL_TEST(html_entities_inline_and_block_markup) {
  ParsedTopic t;
  ParseTopicHtml(
      "<bv-topic path=\"a/b\" title=\"Q &amp; A &#x263A; &#9731; &bogus; &#0;\">"
      "<bv-diagram type=\"mermaid\">A --&gt; B &lt;x&gt; "
      "&quot;q&quot;&nbsp;&apos;s&apos;</bv-diagram>"
      "<bv-structure><p>one</p><ul><li>two</li><li>th<strong>re</strong>e</li></ul>four<br>five"
      "</bv-structure></bv-topic>",
      &t);
  CHECK(t.warnings.empty());
  CHECK_EQ(*t.Attr("title"), std::string("Q & A \xE2\x98\xBA \xE2\x98\x83 &bogus; \xEF\xBF\xBD"));
  REQUIRE(t.elements.size() == 2u);
  CHECK_EQ(t.elements[0].text, std::string("A --> B <x> \"q\" 's'"));
  CHECK_EQ(t.elements[1].text, std::string("one two three four five"));
}

RECALL_TEST(html_topic_text_outside_elements_is_a_topic_element) {
  ParsedTopic t;
  ParseTopicHtml(
      "<bv-topic path=\"x\" title=\"X\" id=\"tpc_1\"><h1>Heading</h1><p>Intro</p>"
      "<bv-task>Do it</bv-task></bv-topic>",
      &t);
  REQUIRE(t.elements.size() == 2u);
  CHECK(t.elements[0].kind == ElementKind::kTopic);
  CHECK_EQ(t.elements[0].id, std::string("tpc_1"));
  CHECK_EQ(t.elements[0].text, std::string("Heading Intro"));
  CHECK(t.elements[1].kind == ElementKind::kTask);
}

RECALL_TEST(html_malformed_input_gives_warnings_with_reasons) {
  struct Case {
    const char* html;
    const char* code;
  } cases[] = {
      {"<bv-topic path=\"a\" title=\"A\"><bv-fact subject=\"s\" category=\"other\">x",
       "HTML_UNCLOSED_ELEMENT"},
      {"<bv-topic path=\"a\"><bv-bug>x</bv-fix></bv-topic>", "HTML_MISMATCHED_END_TAG"},
      {"<bv-topic path=\"a\"><bv-bug>x</bv-bug></bv-topic><p>after</p>", "HTML_CONTENT_AFTER_ROOT"},
      {"<!doctype html><bv-topic path=\"a\"></bv-topic>", "HTML_ROOT"},
      {"<bv-topic path=\"a\"><bv-fact subject=\"s", "HTML_UNTERMINATED_TAG"},
      {"<bv-topic path=\"a\"><!-- never closed", "HTML_UNTERMINATED_COMMENT"},
      {"<bv-topic path=\"a\"><bv-widget>x</bv-widget></bv-topic>", "HTML_UNKNOWN_ELEMENT"},
      {"<bv-topic path=\"a\"><bv-bug>x<bv-fix>y</bv-fix></bv-bug></bv-topic>",
       "HTML_NESTED_ELEMENT"},
      {"<bv-topic path=a title=\"A\"></bv-topic>", "HTML_BAD_ATTRIBUTE"},
      {"<bv-topic path=\"a\" path=\"b\"></bv-topic>", "HTML_DUPLICATE_ATTRIBUTE"},
      {"<bv-topic path=\"a\">\xFF\xFE</bv-topic>", "HTML_INVALID_UTF8"},
      {"<bv-index><li>x</li></bv-index>", "HTML_NOT_A_TOPIC"},
      {"# a markdown note", "HTML_NOT_A_TOPIC"},
  };
  for (const Case& c : cases) {
    ParsedTopic t;
    ParseTopicHtml(c.html, &t);
    if (!HasWarning(t, c.code)) {
      std::fprintf(stderr, "  missing %s for %s\n", c.code, c.html);
      CHECK(false);
    }
  }
  ParsedTopic t;
  ParseTopicHtml("<bv-topic path=\"a\" path=\"b\"></bv-topic>", &t);
  CHECK_EQ(*t.Attr("path"), std::string("a"));  // the first wins
}

RECALL_TEST(html_deep_nesting_and_warning_cap_are_bounded) {
  std::string deep = "<bv-topic path=\"a\" title=\"A\"><bv-task>";
  for (int i = 0; i < 100000; ++i) deep += "<p>";
  deep += "needle";
  for (int i = 0; i < 100000; ++i) deep += "</p>";
  deep += "</bv-task></bv-topic>";
  ParsedTopic t;
  ParseTopicHtml(deep, &t);
  CHECK(HasWarning(t, "HTML_TOO_DEEP"));
  REQUIRE(t.elements.size() == 1u);
  CHECK_EQ(t.elements[0].text, std::string("needle"));
  std::string many = "<bv-topic path=\"a\">";
  for (int i = 0; i < 10000; ++i) many += "</x>";
  ParseTopicHtml(many, &t);
  CHECK_EQ(t.warnings.size(), claw::recall::kMaxHtmlWarnings);
  CHECK_EQ(t.warnings.back().code, std::string("HTML_TOO_MANY_WARNINGS"));
}

RECALL_TEST(html_topic_paths) {
  CHECK(IsTopicPath("auth/jwt_design.html"));
  CHECK(IsTopicPath("top.html"));
  CHECK(!IsTopicPath("index.html"));
  CHECK(!IsTopicPath("auth/index.html"));
  CHECK(!IsTopicPath("_manifest.json"));
  CHECK(!IsTopicPath(".brv/_migrations/auth/jwt.html"));
  CHECK(!IsTopicPath("a/.hidden/b.html"));
  CHECK(!IsTopicPath("notes/a.md"));
  CHECK(!IsTopicPath(".html"));
}

RECALL_TEST(html_every_element_kind_is_found_by_a_unique_term) {
  Index idx;
  // Kinds 1..18 (bv-topic itself is the container; its own text is covered below).
  for (int k = 1; k < claw::recall::kElementKinds; ++k) {
    const std::string kind = ElementKindName(static_cast<ElementKind>(k));
    const std::string word = "zq" + std::string(1, static_cast<char>('a' + k)) + "uniq";
    REQUIRE(idx.Upsert("kinds/k" + std::to_string(k) + ".html",
                       OneElementTopic("kinds/k" + std::to_string(k), kind, word, k)) ==
            claw::recall::Status::kOk);
  }
  REQUIRE(idx.Upsert("kinds/plain.html",
                     "<bv-topic path=\"kinds/plain\" title=\"P\" "
                     "id=\"tpc_0\"><p>zqtopicuniq</p></bv-topic>") == claw::recall::Status::kOk);
  CHECK_EQ(idx.GetStats().documents, 19u);
  for (int k = 1; k < claw::recall::kElementKinds; ++k) {
    const std::string kind = ElementKindName(static_cast<ElementKind>(k));
    const std::string word = "zq" + std::string(1, static_cast<char>('a' + k)) + "uniq";
    const std::vector<Hit> hits = idx.Search(word);
    REQUIRE(hits.size() == 1u);
    CHECK_EQ(hits[0].path, "kinds/k" + std::to_string(k) + ".html");
    CHECK_EQ(hits[0].element_type, kind);
    CHECK_EQ(hits[0].element_id, "bve-" + std::to_string(10000000 + k));
    CHECK(hits[0].excerpt.find(word) != std::string::npos);
  }
  const std::vector<Hit> hits = idx.Search("zqtopicuniq");
  REQUIRE(hits.size() == 1u);
  CHECK_EQ(hits[0].element_type, std::string("bv-topic"));
  CHECK_EQ(hits[0].element_id, std::string("tpc_0"));
}

RECALL_TEST(html_hit_names_its_top_element_and_snippet) {
  Index idx;
  REQUIRE(idx.Upsert("auth/jwt_design.html", kJwt) == claw::recall::Status::kOk);
  std::vector<Hit> hits = idx.Search("clock drift");
  REQUIRE(hits.size() == 1u);
  CHECK_EQ(hits[0].title, std::string("JWT authentication design"));
  CHECK_EQ(hits[0].element_type, std::string("bv-bug"));
  CHECK_EQ(hits[0].element_id, std::string("b-clock-skew"));
  CHECK(hits[0].excerpt.find("clock drift") != std::string::npos);
  CHECK(hits[0].excerpt.find("RS256") == std::string::npos);  // cut from the element only
  hits = idx.Search("expiry_window");  // a fact's subject attribute is searchable
  REQUIRE(hits.size() == 1u);
  CHECK_EQ(hits[0].element_type, std::string("bv-fact"));
  hits = idx.Search("security");  // keywords (title field) only: no element holds it
  REQUIRE(hits.size() == 1u);
  CHECK(hits[0].element_type.empty());
  CHECK(hits[0].element_id.empty());
}

RECALL_TEST(html_mixed_tree_and_non_topic_files) {
  Index idx;
  REQUIRE(idx.Upsert("notes/cache.md", "# Cache\nThe frobnicator cache note.\n") ==
          claw::recall::Status::kOk);
  REQUIRE(idx.Upsert("ops/cache.html",
                     "<bv-topic path=\"ops/cache\" title=\"Cache ops\"><bv-flow>frobnicator "
                     "warmup</bv-flow></bv-topic>") == claw::recall::Status::kOk);
  // A <bv-index> listing is not a topic: not indexed, replaces nothing, raises no warning.
  REQUIRE(idx.Upsert("index.html", "<bv-index><li>frobnicator</li></bv-index>") ==
          claw::recall::Status::kOk);
  REQUIRE(idx.Upsert("sub/listing.html", "\n<bv-index>\n<li>frobnicator</li></bv-index>") ==
          claw::recall::Status::kOk);
  CHECK(!idx.Contains("index.html"));
  CHECK(!idx.Contains("sub/listing.html"));
  CHECK(idx.TakeWarnings().empty());
  // Another non-topic .html is skipped too, with a warning saying why.
  REQUIRE(idx.Upsert("stray.html", "<div>frobnicator</div>") == claw::recall::Status::kOk);
  CHECK(!idx.Contains("stray.html"));
  const std::vector<FileWarning> w = idx.TakeWarnings();
  REQUIRE(!w.empty());
  CHECK_EQ(w.back().code, std::string("HTML_NOT_A_TOPIC"));
  std::vector<Hit> hits = idx.Search("frobnicator");
  REQUIRE(hits.size() == 2u);
  for (const Hit& h : hits) {
    if (h.path == "notes/cache.md") CHECK(h.element_type.empty());
    if (h.path == "ops/cache.html") CHECK_EQ(h.element_type, std::string("bv-flow"));
  }
  // A topic file rewritten as a non-topic leaves the index.
  REQUIRE(idx.Upsert("ops/cache.html", "not html at all") == claw::recall::Status::kOk);
  CHECK(!idx.Contains("ops/cache.html"));
  CHECK_EQ(idx.Search("frobnicator").size(), 1u);
}

RECALL_TEST(html_warnings_once_per_content) {
  Index idx;
  const std::string bad = "<bv-topic path=\"a\" title=\"A\"><bv-bug>x</bv-fix></bv-topic>";
  REQUIRE(idx.Upsert("a.html", bad) == claw::recall::Status::kOk);
  std::vector<FileWarning> w = idx.TakeWarnings();
  // </bv-fix> with no <bv-fix> open, then </bv-topic> while <bv-bug> is open.
  REQUIRE(w.size() == 2u);
  CHECK_EQ(w[0].path, std::string("a.html"));
  CHECK_EQ(w[0].code, std::string("HTML_MISMATCHED_END_TAG"));
  CHECK(w[0].reason.find("</bv-fix>") != std::string::npos);
  CHECK(w[1].reason.find("</bv-bug>") != std::string::npos);
  // A rescan with the same content: nothing new, in Upsert and UpsertBatch alike.
  REQUIRE(idx.Upsert("a.html", bad) == claw::recall::Status::kOk);
  claw::recall::DocumentInput in[1] = {{"a.html", bad}};
  REQUIRE(idx.UpsertBatch(in, 1, 1) == claw::recall::Status::kOk);
  CHECK(idx.TakeWarnings().empty());
  // Changed, still malformed: told again. Fixed then broken the same way: told again.
  REQUIRE(idx.Upsert("a.html", bad + " ") == claw::recall::Status::kOk);
  CHECK_EQ(idx.TakeWarnings().size(), 2u);
  REQUIRE(idx.Upsert("a.html", "<bv-topic path=\"a\" title=\"A\"></bv-topic>") ==
          claw::recall::Status::kOk);
  CHECK(idx.TakeWarnings().empty());
  REQUIRE(idx.Upsert("a.html", bad) == claw::recall::Status::kOk);
  CHECK_EQ(idx.TakeWarnings().size(), 2u);
  // Markdown notes never warn.
  REQUIRE(idx.Upsert("b.md", "</bv-fix> <<< >>>") == claw::recall::Status::kOk);
  CHECK(idx.TakeWarnings().empty());
}

RECALL_TEST(html_signals_change_ranking_as_documented) {
  // Two topics; "alpha" is twice in strong.html (higher BM25F), once in weak.html.
  auto topic = [](const char* path, const char* text) {
    return std::string("<bv-topic path=\"") + path +
           "\" title=\"T\"><bv-fact subject=\"s\" "
           "category=\"other\">" +
           text + "</bv-fact></bv-topic>";
  };
  Index idx;
  REQUIRE(idx.Upsert("strong.html", topic("strong", "alpha alpha beta")) ==
          claw::recall::Status::kOk);
  REQUIRE(idx.Upsert("weak.html", topic("weak", "alpha beta gamma")) == claw::recall::Status::kOk);
  std::vector<Hit> plain = idx.Search("alpha");
  REQUIRE(plain.size() == 2u);
  CHECK_EQ(plain[0].path, std::string("strong.html"));
  const double bm_weak = plain[1].score / plain[0].score;  // normalised BM25F of weak
  CHECK(bm_weak < 1.0);

  // weak.html: core, importance 100, recency 1; strong.html: draft, importance 0, recency 0.
  Signals s;
  s.importance = 100;
  s.recency = 1;
  s.maturity = Maturity::kCore;
  REQUIRE(idx.SetSignals("weak.html", &s) == claw::recall::Status::kOk);
  Signals low;
  low.importance = 0;
  low.recency = 0;
  low.maturity = Maturity::kDraft;
  REQUIRE(idx.SetSignals("strong.html", &low) == claw::recall::Status::kOk);
  std::vector<Hit> hits = idx.Search("alpha");
  REQUIRE(hits.size() == 2u);
  CHECK_EQ(hits[0].path, std::string("weak.html"));
  CHECK_NEAR(hits[0].score, (0.6 * bm_weak + 0.2 + 0.2) * 1.15, 1e-9);
  CHECK_NEAR(hits[1].score, 0.6 * 1.0 * 0.85, 1e-9);
  // strong.html without a sidecar: plain BM25F (normalised to 1 as the best match) wins again.
  REQUIRE(idx.SetSignals("strong.html", nullptr) == claw::recall::Status::kOk);
  hits = idx.Search("alpha");
  CHECK_EQ(hits[0].path, std::string("strong.html"));
  CHECK_NEAR(hits[0].score, 1.0, 1e-9);
  CHECK_NEAR(hits[1].score, (0.6 * bm_weak + 0.2 + 0.2) * 1.15, 1e-9);

  // A draft with low importance and no recency falls back below.
  s.importance = 10;
  s.recency = 0;
  s.maturity = Maturity::kDraft;
  REQUIRE(idx.SetSignals("weak.html", &s) == claw::recall::Status::kOk);
  hits = idx.Search("alpha");
  CHECK_EQ(hits[0].path, std::string("strong.html"));
  CHECK_NEAR(hits[1].score, (0.6 * bm_weak + 0.2 * 0.1) * 0.85, 1e-9);
  s.importance = 100;
  s.recency = 1;
  s.maturity = Maturity::kCore;
  REQUIRE(idx.SetSignals("weak.html", &s) == claw::recall::Status::kOk);

  // Signals survive an update of the document and can be set before it exists.
  REQUIRE(idx.Upsert("weak.html", topic("weak", "alpha beta gamma delta")) ==
          claw::recall::Status::kOk);
  hits = idx.Search("alpha");
  REQUIRE(hits.size() == 2u);
  CHECK(hits[1].path == "weak.html" && hits[1].score > 0.4 * 1.15);  // still core/100/1
  s.importance = 100;
  s.recency = 1;
  s.maturity = Maturity::kValidated;
  REQUIRE(idx.SetSignals("later.html", &s) == claw::recall::Status::kOk);
  REQUIRE(idx.Upsert("later.html", topic("later", "alpha")) == claw::recall::Status::kOk);
  hits = idx.Search("alpha");
  CHECK_EQ(hits[0].path, std::string("later.html"));

  // Cleared everywhere: plain BM25F scores again, identical to a fresh index.
  REQUIRE(idx.SetSignals("weak.html", nullptr) == claw::recall::Status::kOk);
  REQUIRE(idx.SetSignals("later.html", nullptr) == claw::recall::Status::kOk);
  Index fresh;
  REQUIRE(fresh.Upsert("strong.html", topic("strong", "alpha alpha beta")) ==
          claw::recall::Status::kOk);
  REQUIRE(fresh.Upsert("weak.html", topic("weak", "alpha beta gamma delta")) ==
          claw::recall::Status::kOk);
  REQUIRE(fresh.Upsert("later.html", topic("later", "alpha")) == claw::recall::Status::kOk);
  const std::vector<Hit> a = idx.Search("alpha"), b = fresh.Search("alpha");
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    CHECK_EQ(a[i].path, b[i].path);
    CHECK_NEAR(a[i].score, b[i].score, 1e-12);
  }
  CHECK(idx.SetSignals("", &s) == claw::recall::Status::kInvalidArgument);
}
