// The C facade over claw::recall::Index (see recall_c.h for the contract).
#include "recall_c.h"

#include <cstring>
#include <new>
#include <string>
#include <vector>

#include "index.h"

#if defined(__cpp_exceptions) || defined(__EXCEPTIONS) || defined(_CPPUNWIND)
#define CLAW_RECALL_GUARD_BEGIN try {
#define CLAW_RECALL_GUARD_END       \
  }                                 \
  catch (const std::bad_alloc&) {   \
    return CLAW_RECALL_E_NO_MEMORY; \
  }                                 \
  catch (...) {                     \
    return CLAW_RECALL_E_INTERNAL;  \
  }
#else
#define CLAW_RECALL_GUARD_BEGIN {
#define CLAW_RECALL_GUARD_END }
#endif

using claw::recall::Index;
using claw::recall::Status;

struct claw_recall_index {
  explicit claw_recall_index(const claw::recall::Options& o) : index(o) {}
  Index index;
};

struct claw_recall_results {
  std::vector<claw_recall_hit> hits;
  std::string text;
};

namespace {

constexpr uint32_t kMaxK = 10000;
constexpr uint32_t kMaxThreads = 8;

int Code(Status s) { return static_cast<int>(s); }

// Copies the caller's struct (its first struct_size bytes) over a defaults-filled one.
template <class T>
bool ReadVersioned(const T* in, T* out) {
  uint32_t size;
  std::memcpy(&size, in, sizeof(size));
  if (size < sizeof(uint32_t)) return false;
  std::memcpy(static_cast<void*>(out), in, size < sizeof(T) ? size : sizeof(T));
  out->struct_size = static_cast<uint32_t>(sizeof(T));
  return true;
}

bool ReadQuery(const claw_recall_query* q, claw::recall::QueryOptions* opts,
               std::string_view* text) {
  if (q == nullptr) return false;
  claw_recall_query v{};
  if (!ReadVersioned(q, &v)) return false;
  if (v.text == nullptr && v.text_len != 0) return false;
  opts->k = v.k == 0 ? 10 : (v.k > kMaxK ? kMaxK : v.k);
  opts->excerpt_chars = v.excerpt_chars;
  *text = v.text_len ? std::string_view(v.text, v.text_len) : std::string_view();
  return true;
}

std::string_view View(const char* p, size_t n) {
  return n ? std::string_view(p, n) : std::string_view();
}

}  // namespace

extern "C" {

void claw_recall_options_init(claw_recall_options* o) {
  if (o == nullptr) return;
  const claw::recall::Options d;
  std::memset(static_cast<void*>(o), 0, sizeof(*o));
  o->struct_size = sizeof(*o);
  o->flags = 0;
  o->k1 = d.k1;
  o->title_weight = d.title.weight;
  o->headings_weight = d.headings.weight;
  o->body_weight = d.body.weight;
  o->title_b = d.title.b;
  o->headings_b = d.headings.b;
  o->body_b = d.body.b;
  o->max_document_bytes = d.max_document_bytes;
}

int claw_recall_create(const claw_recall_options* options, claw_recall_index** out) {
  if (out == nullptr) return CLAW_RECALL_E_INVALID_ARGUMENT;
  *out = nullptr;
  claw_recall_options o;
  claw_recall_options_init(&o);
  if (options != nullptr && !ReadVersioned(options, &o)) return CLAW_RECALL_E_INVALID_ARGUMENT;
  if (o.flags & ~(CLAW_RECALL_KEEP_STOP_WORDS | CLAW_RECALL_NO_PLURAL_FOLDING)) {
    return CLAW_RECALL_E_INVALID_ARGUMENT;
  }
  claw::recall::Options opts;
  opts.k1 = o.k1;
  opts.title = {o.title_weight, o.title_b};
  opts.headings = {o.headings_weight, o.headings_b};
  opts.body = {o.body_weight, o.body_b};
  opts.tokenizer.stop_words = (o.flags & CLAW_RECALL_KEEP_STOP_WORDS) == 0;
  opts.tokenizer.plural_folding = (o.flags & CLAW_RECALL_NO_PLURAL_FOLDING) == 0;
  if (o.max_document_bytes > SIZE_MAX) return CLAW_RECALL_E_INVALID_ARGUMENT;
  opts.max_document_bytes = static_cast<size_t>(o.max_document_bytes);
  if (claw::recall::ValidateOptions(opts) != Status::kOk) return CLAW_RECALL_E_INVALID_ARGUMENT;
  CLAW_RECALL_GUARD_BEGIN
  *out = new claw_recall_index(opts);
  return CLAW_RECALL_OK;
  CLAW_RECALL_GUARD_END
}

void claw_recall_destroy(claw_recall_index* index) { delete index; }

int claw_recall_upsert(claw_recall_index* index, const char* path, size_t path_len,
                       const char* markdown, size_t markdown_len, int* replaced) {
  if (replaced) *replaced = 0;
  if (index == nullptr || path == nullptr || (markdown == nullptr && markdown_len != 0)) {
    return CLAW_RECALL_E_INVALID_ARGUMENT;
  }
  CLAW_RECALL_GUARD_BEGIN
  bool was = false;
  const Status st = index->index.Upsert(View(path, path_len), View(markdown, markdown_len), &was);
  if (replaced) *replaced = was ? 1 : 0;
  return Code(st);
  CLAW_RECALL_GUARD_END
}

int claw_recall_upsert_batch(claw_recall_index* index, const claw_recall_doc* docs, size_t count,
                             uint32_t threads, size_t* bad_index) {
  if (index == nullptr || (docs == nullptr && count != 0)) return CLAW_RECALL_E_INVALID_ARGUMENT;
  if (threads > kMaxThreads) threads = kMaxThreads;  // recall.h: "at most 8"
  CLAW_RECALL_GUARD_BEGIN
  std::vector<claw::recall::DocumentInput> in(count);
  for (size_t i = 0; i < count; ++i) {
    if (docs[i].path == nullptr || (docs[i].markdown == nullptr && docs[i].markdown_len != 0)) {
      if (bad_index) *bad_index = i;
      return CLAW_RECALL_E_INVALID_ARGUMENT;
    }
    in[i] = {View(docs[i].path, docs[i].path_len), View(docs[i].markdown, docs[i].markdown_len)};
  }
  return Code(index->index.UpsertBatch(in.data(), count, threads, bad_index));
  CLAW_RECALL_GUARD_END
}

int claw_recall_remove(claw_recall_index* index, const char* path, size_t path_len) {
  if (index == nullptr || path == nullptr) return CLAW_RECALL_E_INVALID_ARGUMENT;
  CLAW_RECALL_GUARD_BEGIN
  return Code(index->index.Remove(View(path, path_len)));
  CLAW_RECALL_GUARD_END
}

int claw_recall_contains(const claw_recall_index* index, const char* path, size_t path_len) {
  if (index == nullptr || path == nullptr) return 0;
  CLAW_RECALL_GUARD_BEGIN
  return index->index.Contains(View(path, path_len)) ? 1 : 0;
  CLAW_RECALL_GUARD_END
}

int claw_recall_search(const claw_recall_index* index, const claw_recall_query* query,
                       claw_recall_results** out) {
  if (out == nullptr) return CLAW_RECALL_E_INVALID_ARGUMENT;
  *out = nullptr;
  claw::recall::QueryOptions qo;
  std::string_view text;
  if (index == nullptr || !ReadQuery(query, &qo, &text)) return CLAW_RECALL_E_INVALID_ARGUMENT;
  CLAW_RECALL_GUARD_BEGIN
  auto* r = new claw_recall_results();
  struct Span {
    size_t path, title, excerpt;
  };
  std::vector<Span> spans;
  auto put = [r](std::string_view s) {
    const size_t at = r->text.size();
    r->text.append(s.data(), s.size());
    r->text.push_back('\0');
    return at;
  };
#if defined(__cpp_exceptions) || defined(__EXCEPTIONS) || defined(_CPPUNWIND)
  try {
#endif
    index->index.SearchVisit(text, qo, [&](const claw::recall::HitView& h) {
      claw_recall_hit hit{};
      hit.score = h.score;
      hit.path_len = h.path.size();
      hit.title_len = h.title.size();
      hit.excerpt_len = h.excerpt.size();
      spans.push_back(Span{put(h.path), put(h.title), put(h.excerpt)});
      r->hits.push_back(hit);
    });
#if defined(__cpp_exceptions) || defined(__EXCEPTIONS) || defined(_CPPUNWIND)
  } catch (...) {
    delete r;
    throw;
  }
#endif
  for (size_t i = 0; i < r->hits.size(); ++i) {  // the text no longer moves: point into it
    r->hits[i].path = r->text.data() + spans[i].path;
    r->hits[i].title = r->text.data() + spans[i].title;
    r->hits[i].excerpt = r->text.data() + spans[i].excerpt;
  }
  *out = r;
  return CLAW_RECALL_OK;
  CLAW_RECALL_GUARD_END
}

size_t claw_recall_results_count(const claw_recall_results* results) {
  return results ? results->hits.size() : 0;
}

const claw_recall_hit* claw_recall_results_hit(const claw_recall_results* results, size_t i) {
  if (results == nullptr || i >= results->hits.size()) return nullptr;
  return &results->hits[i];
}

void claw_recall_results_free(claw_recall_results* results) { delete results; }

int claw_recall_search_into(const claw_recall_index* index, const claw_recall_query* query,
                            claw_recall_hit* hits, size_t hit_size, size_t hits_cap, char* text,
                            size_t text_cap, claw_recall_search_info* info) {
  claw::recall::QueryOptions qo;
  std::string_view qtext;
  if (index == nullptr || info == nullptr || info->struct_size < sizeof(uint32_t) ||
      !ReadQuery(query, &qo, &qtext) || (hits == nullptr && hits_cap != 0) ||
      (text == nullptr && text_cap != 0) || (hits_cap != 0 && hit_size < sizeof(claw_recall_hit))) {
    return CLAW_RECALL_E_INVALID_ARGUMENT;
  }
  claw_recall_search_info result{};
  result.struct_size = sizeof(result);
  if (hits_cap < qo.k) qo.k = static_cast<uint32_t>(hits_cap);
  CLAW_RECALL_GUARD_BEGIN
  size_t used = 0;
  auto put = [&](std::string_view s) -> const char* {
    const size_t need = s.size() + 1;
    const size_t at = used;
    used += need;
    if (used > text_cap) return nullptr;
    if (!s.empty()) std::memcpy(text + at, s.data(), s.size());
    text[at + s.size()] = '\0';
    return text + at;
  };
  if (qo.k > 0) {
    index->index.SearchVisit(qtext, qo, [&](const claw::recall::HitView& h) {
      claw_recall_hit hit{};
      hit.score = h.score;
      hit.path = put(h.path);
      hit.path_len = h.path.size();
      hit.title = put(h.title);
      hit.title_len = h.title.size();
      hit.excerpt = put(h.excerpt);
      hit.excerpt_len = h.excerpt.size();
      std::memcpy(reinterpret_cast<char*>(hits) + result.hit_count * hit_size, &hit, sizeof(hit));
      ++result.hit_count;
    });
  }
  result.text_needed = used;
  if (info->struct_size < sizeof(result)) result.struct_size = info->struct_size;
  std::memcpy(static_cast<void*>(info), &result,
              info->struct_size < sizeof(result) ? info->struct_size : sizeof(result));
  return used > text_cap ? CLAW_RECALL_E_BUFFER_TOO_SMALL : CLAW_RECALL_OK;
  CLAW_RECALL_GUARD_END
}

int claw_recall_get_stats(const claw_recall_index* index, claw_recall_stats* out) {
  if (index == nullptr || out == nullptr || out->struct_size < sizeof(uint32_t)) {
    return CLAW_RECALL_E_INVALID_ARGUMENT;
  }
  CLAW_RECALL_GUARD_BEGIN
  const claw::recall::Stats s = index->index.GetStats();
  claw_recall_stats v{};
  v.struct_size =
      out->struct_size < sizeof(v) ? out->struct_size : static_cast<uint32_t>(sizeof(v));
  v.documents = s.documents;
  v.terms = s.terms;
  v.postings = s.postings;
  v.bytes = s.bytes;
  v.generation = s.generation;
  v.doc_slots = s.doc_slots;
  v.term_slots = s.term_slots;
  v.avg_title_tokens = s.avg_title_tokens;
  v.avg_headings_tokens = s.avg_headings_tokens;
  v.avg_body_tokens = s.avg_body_tokens;
  std::memcpy(static_cast<void*>(out), &v,
              out->struct_size < sizeof(v) ? out->struct_size : sizeof(v));
  return CLAW_RECALL_OK;
  CLAW_RECALL_GUARD_END
}

const char* claw_recall_status_name(int status) {
  if (status < CLAW_RECALL_OK || status > CLAW_RECALL_E_INTERNAL) return "RECALL_UNKNOWN_STATUS";
  return claw::recall::StatusName(static_cast<Status>(status));
}

}  // extern "C"
