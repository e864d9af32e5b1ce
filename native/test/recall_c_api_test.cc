// The C facade (recall_c.h): lifecycle, status codes, both result-ownership modes, versioned
// structs.
#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

#include "../src/recall/recall_c.h"
#include "recall_harness.h"

namespace {

claw_recall_index* NewIndex() {
  claw_recall_index* idx = nullptr;
  REQUIRE(claw_recall_create(nullptr, &idx) == CLAW_RECALL_OK);
  REQUIRE(idx != nullptr);
  return idx;
}

int Upsert(claw_recall_index* idx, const std::string& path, const std::string& md,
           int* replaced = nullptr) {
  return claw_recall_upsert(idx, path.data(), path.size(), md.data(), md.size(), replaced);
}

claw_recall_query Query(const char* text, uint32_t k = 0, uint32_t excerpt = 80) {
  claw_recall_query q;
  std::memset(&q, 0, sizeof(q));
  q.struct_size = sizeof(q);
  q.text = text;
  q.text_len = std::strlen(text);
  q.k = k;
  q.excerpt_chars = excerpt;
  return q;
}

}  // namespace

RECALL_TEST(c_api_lifecycle_and_status_codes) {
  claw_recall_index* idx = NewIndex();
  int replaced = -1;
  CHECK_EQ(Upsert(idx, "a.md", "# Alpha\nalpha body text", &replaced), CLAW_RECALL_OK);
  CHECK_EQ(replaced, 0);
  CHECK_EQ(Upsert(idx, "a.md", "# Alpha\nalpha body changed", &replaced), CLAW_RECALL_OK);
  CHECK_EQ(replaced, 1);
  CHECK_EQ(claw_recall_contains(idx, "a.md", 4), 1);
  CHECK_EQ(claw_recall_contains(idx, "b.md", 4), 0);
  CHECK_EQ(claw_recall_remove(idx, "b.md", 4), CLAW_RECALL_E_NOT_FOUND);
  CHECK_EQ(claw_recall_remove(idx, "a.md", 4), CLAW_RECALL_OK);
  CHECK_EQ(claw_recall_contains(idx, "a.md", 4), 0);

  // Invalid arguments never crash.
  CHECK_EQ(claw_recall_upsert(nullptr, "a", 1, "x", 1, nullptr), CLAW_RECALL_E_INVALID_ARGUMENT);
  CHECK_EQ(claw_recall_upsert(idx, nullptr, 0, "x", 1, nullptr), CLAW_RECALL_E_INVALID_ARGUMENT);
  CHECK_EQ(claw_recall_upsert(idx, "a", 0, "x", 1, nullptr), CLAW_RECALL_E_INVALID_ARGUMENT);
  CHECK_EQ(claw_recall_upsert(idx, "a\0b", 3, "x", 1, nullptr), CLAW_RECALL_E_INVALID_ARGUMENT);
  CHECK_EQ(claw_recall_upsert(idx, "a", 1, nullptr, 5, nullptr), CLAW_RECALL_E_INVALID_ARGUMENT);
  CHECK_EQ(claw_recall_upsert(idx, "empty.md", 8, nullptr, 0, nullptr), CLAW_RECALL_OK);
  CHECK_EQ(claw_recall_remove(idx, nullptr, 0), CLAW_RECALL_E_INVALID_ARGUMENT);
  CHECK_EQ(claw_recall_create(nullptr, nullptr), CLAW_RECALL_E_INVALID_ARGUMENT);
  claw_recall_results* r = nullptr;
  CHECK_EQ(claw_recall_search(idx, nullptr, &r), CLAW_RECALL_E_INVALID_ARGUMENT);
  CHECK(r == nullptr);
  claw_recall_query bad = Query("x");
  bad.text = nullptr;
  CHECK_EQ(claw_recall_search(idx, &bad, &r), CLAW_RECALL_E_INVALID_ARGUMENT);

  CHECK_EQ(std::string(claw_recall_status_name(CLAW_RECALL_OK)), "OK");
  CHECK_EQ(std::string(claw_recall_status_name(CLAW_RECALL_E_INVALID_ARGUMENT)),
           "RECALL_INVALID_ARGUMENT");
  CHECK_EQ(std::string(claw_recall_status_name(CLAW_RECALL_E_NOT_FOUND)), "RECALL_NOT_FOUND");
  CHECK_EQ(std::string(claw_recall_status_name(CLAW_RECALL_E_BUFFER_TOO_SMALL)),
           "RECALL_BUFFER_TOO_SMALL");
  CHECK_EQ(std::string(claw_recall_status_name(CLAW_RECALL_E_NO_MEMORY)), "RECALL_OUT_OF_MEMORY");
  CHECK_EQ(std::string(claw_recall_status_name(CLAW_RECALL_E_TOO_LARGE)),
           "RECALL_DOCUMENT_TOO_LARGE");
  CHECK_EQ(std::string(claw_recall_status_name(CLAW_RECALL_E_INTERNAL)), "RECALL_INTERNAL");
  CHECK_EQ(std::string(claw_recall_status_name(42)), "RECALL_UNKNOWN_STATUS");
  claw_recall_destroy(idx);
  claw_recall_destroy(nullptr);
}

RECALL_TEST(c_api_options_are_validated_and_versioned) {
  claw_recall_options o;
  claw_recall_options_init(&o);
  CHECK_EQ(o.struct_size, static_cast<uint32_t>(sizeof(o)));
  CHECK_EQ(o.k1, 1.2);
  CHECK_EQ(o.title_weight, 3.0);
  CHECK_EQ(o.headings_weight, 2.0);
  CHECK_EQ(o.body_weight, 1.0);
  CHECK_EQ(o.body_b, 0.75);
  claw_recall_index* idx = nullptr;
  claw_recall_options bad = o;
  bad.body_b = 1.5;
  CHECK_EQ(claw_recall_create(&bad, &idx), CLAW_RECALL_E_INVALID_ARGUMENT);
  bad = o;
  bad.title_weight = -1;
  CHECK_EQ(claw_recall_create(&bad, &idx), CLAW_RECALL_E_INVALID_ARGUMENT);
  bad = o;
  bad.flags = 0x80;
  CHECK_EQ(claw_recall_create(&bad, &idx), CLAW_RECALL_E_INVALID_ARGUMENT);
  bad = o;
  bad.struct_size = 0;
  CHECK_EQ(claw_recall_create(&bad, &idx), CLAW_RECALL_E_INVALID_ARGUMENT);
  CHECK(idx == nullptr);

  // An older, shorter struct: only the fields it has are read, the rest keep their defaults.
  claw_recall_options shorter = o;
  shorter.flags = CLAW_RECALL_KEEP_STOP_WORDS;
  shorter.k1 = -5;  // beyond struct_size: must not be read
  shorter.struct_size = offsetof(claw_recall_options, k1);
  REQUIRE(claw_recall_create(&shorter, &idx) == CLAW_RECALL_OK);
  CHECK_EQ(Upsert(idx, "s.md", "the and of"), CLAW_RECALL_OK);
  claw_recall_query q = Query("the");
  claw_recall_results* r = nullptr;
  REQUIRE(claw_recall_search(idx, &q, &r) == CLAW_RECALL_OK);
  CHECK_EQ(claw_recall_results_count(r), 1u);  // stop words were kept
  claw_recall_results_free(r);
  claw_recall_destroy(idx);

  // The document size limit.
  claw_recall_options small = o;
  small.max_document_bytes = 10;
  REQUIRE(claw_recall_create(&small, &idx) == CLAW_RECALL_OK);
  CHECK_EQ(Upsert(idx, "big.md", "0123456789A"), CLAW_RECALL_E_TOO_LARGE);
  CHECK_EQ(Upsert(idx, "ok.md", "0123456789"), CLAW_RECALL_OK);
  claw_recall_destroy(idx);
}

RECALL_TEST(c_api_plugin_owned_results_outlive_the_index) {
  claw_recall_index* idx = NewIndex();
  Upsert(idx, "notes/deploy.md",
         "---\ntitle: Deploy\n---\nShip the canary build before the full rollout.\n");
  Upsert(idx, "notes/other.md", "# Other\nNothing about that.\n");
  claw_recall_query q = Query("canary rollout", 5, 30);
  claw_recall_results* r = nullptr;
  REQUIRE(claw_recall_search(idx, &q, &r) == CLAW_RECALL_OK);
  claw_recall_destroy(idx);  // the results are copies: still valid
  REQUIRE(claw_recall_results_count(r) == 1);
  const claw_recall_hit* h = claw_recall_results_hit(r, 0);
  REQUIRE(h != nullptr);
  CHECK_EQ(std::string(h->path), "notes/deploy.md");
  CHECK_EQ(h->path_len, std::strlen("notes/deploy.md"));
  CHECK_EQ(std::string(h->title), "Deploy");
  CHECK_EQ(h->title_len, 6u);
  CHECK(h->score > 0);
  CHECK(std::strstr(h->excerpt, "canary") != nullptr);
  CHECK_EQ(h->excerpt_len, std::strlen(h->excerpt));
  CHECK(claw_recall_results_hit(r, 1) == nullptr);
  claw_recall_results_free(r);
  claw_recall_results_free(nullptr);
  CHECK_EQ(claw_recall_results_count(nullptr), 0u);
}

RECALL_TEST(c_api_caller_owned_buffers) {
  claw_recall_index* idx = NewIndex();
  for (int i = 0; i < 5; ++i) {
    Upsert(idx, "n/" + std::to_string(i) + ".md",
           "# Note " + std::to_string(i) + "\nshared topic words " + std::to_string(i));
  }
  claw_recall_query q = Query("shared topic", 3, 40);
  // A larger stride than the struct: a newer caller with a bigger hit struct.
  struct BigHit {
    claw_recall_hit hit;
    char padding[24];
  };
  BigHit hits[4];
  std::memset(hits, 0x5A, sizeof(hits));
  claw_recall_search_info info;
  std::memset(&info, 0, sizeof(info));
  info.struct_size = sizeof(info);
  // First ask for the size with no text buffer.
  CHECK_EQ(claw_recall_search_into(idx, &q, &hits[0].hit, sizeof(BigHit), 4, nullptr, 0, &info),
           CLAW_RECALL_E_BUFFER_TOO_SMALL);
  CHECK_EQ(info.hit_count, 3u);
  REQUIRE(info.text_needed > 0);
  std::vector<char> text(info.text_needed, '\x7F');
  CHECK_EQ(claw_recall_search_into(idx, &q, &hits[0].hit, sizeof(BigHit), 4, text.data(),
                                   text.size() - 1, &info),
           CLAW_RECALL_E_BUFFER_TOO_SMALL);  // one byte short
  REQUIRE(claw_recall_search_into(idx, &q, &hits[0].hit, sizeof(BigHit), 4, text.data(),
                                  text.size(), &info) == CLAW_RECALL_OK);
  REQUIRE(info.hit_count == 3);
  const char* lo = text.data();
  const char* hi = text.data() + text.size();
  for (size_t i = 0; i < 3; ++i) {
    const claw_recall_hit& h = hits[i].hit;
    CHECK(h.path >= lo && h.path + h.path_len < hi && h.path[h.path_len] == '\0');
    CHECK(h.title >= lo && h.title + h.title_len < hi && h.title[h.title_len] == '\0');
    CHECK(h.excerpt >= lo && h.excerpt + h.excerpt_len < hi && h.excerpt[h.excerpt_len] == '\0');
    CHECK(std::string(h.path).rfind("n/", 0) == 0);
    CHECK(h.score > 0);
    CHECK_EQ(hits[i].padding[0], '\x5A');  // bytes past the struct are untouched
  }
  CHECK(hits[0].hit.score >= hits[1].hit.score);
  const unsigned char* fourth = reinterpret_cast<const unsigned char*>(&hits[3]);
  bool untouched = true;
  for (size_t i = 0; i < sizeof(BigHit); ++i) untouched = untouched && fourth[i] == 0x5A;
  CHECK(untouched);  // only 3 hits were asked for
  // hits_cap caps k.
  REQUIRE(claw_recall_search_into(idx, &q, &hits[0].hit, sizeof(BigHit), 1, text.data(),
                                  text.size(), &info) == CLAW_RECALL_OK);
  CHECK_EQ(info.hit_count, 1u);
  // Bad strides and missing buffers.
  CHECK_EQ(claw_recall_search_into(idx, &q, &hits[0].hit, sizeof(claw_recall_hit) - 1, 4,
                                   text.data(), text.size(), &info),
           CLAW_RECALL_E_INVALID_ARGUMENT);
  CHECK_EQ(claw_recall_search_into(idx, &q, nullptr, sizeof(claw_recall_hit), 4, text.data(),
                                   text.size(), &info),
           CLAW_RECALL_E_INVALID_ARGUMENT);
  CHECK_EQ(claw_recall_search_into(idx, &q, &hits[0].hit, sizeof(BigHit), 4, text.data(),
                                   text.size(), nullptr),
           CLAW_RECALL_E_INVALID_ARGUMENT);
  claw_recall_destroy(idx);
}

RECALL_TEST(c_api_batch_and_stats) {
  claw_recall_index* idx = NewIndex();
  const std::string big(100, 'x');
  std::vector<claw_recall_doc> docs;
  const char* paths[] = {"a.md", "b.md", "c.md"};
  const char* bodies[] = {"alpha words", "beta words", "gamma words"};
  for (int i = 0; i < 3; ++i)
    docs.push_back({paths[i], std::strlen(paths[i]), bodies[i], std::strlen(bodies[i])});
  size_t bad_index = 99;
  CHECK_EQ(claw_recall_upsert_batch(idx, docs.data(), docs.size(), 2, &bad_index), CLAW_RECALL_OK);
  docs[1].path = nullptr;
  CHECK_EQ(claw_recall_upsert_batch(idx, docs.data(), docs.size(), 2, &bad_index),
           CLAW_RECALL_E_INVALID_ARGUMENT);
  CHECK_EQ(bad_index, 1u);
  CHECK_EQ(claw_recall_upsert_batch(idx, nullptr, 0, 0, nullptr), CLAW_RECALL_OK);

  claw_recall_stats st;
  std::memset(&st, 0, sizeof(st));
  st.struct_size = sizeof(st);
  REQUIRE(claw_recall_get_stats(idx, &st) == CLAW_RECALL_OK);
  CHECK_EQ(st.documents, 3u);
  CHECK_EQ(st.terms, 6u);     // alpha beta gamma word + titles b c ("a" is a stop word)
  CHECK_EQ(st.postings, 8u);  // a: alpha word; b: beta word b; c: gamma word c
  CHECK(st.bytes > 0);
  CHECK_EQ(st.generation, 3u);
  CHECK_EQ(st.avg_body_tokens, 2.0);
  // An older, shorter stats struct: only its bytes are written.
  unsigned char raw[sizeof(claw_recall_stats)];
  std::memset(raw, 0xEE, sizeof(raw));
  const uint32_t small = offsetof(claw_recall_stats, postings);
  std::memcpy(raw, &small, sizeof(small));
  REQUIRE(claw_recall_get_stats(idx, reinterpret_cast<claw_recall_stats*>(raw)) == CLAW_RECALL_OK);
  uint64_t docs_seen = 0;
  std::memcpy(&docs_seen, raw + offsetof(claw_recall_stats, documents), sizeof(docs_seen));
  CHECK_EQ(docs_seen, 3u);
  CHECK_EQ(raw[small], 0xEE);
  CHECK_EQ(raw[sizeof(raw) - 1], 0xEE);
  claw_recall_destroy(idx);
}
