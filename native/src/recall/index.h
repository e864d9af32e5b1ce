// claw::recall::Index — an in-memory inverted index over markdown notes with BM25F ranking.
//
// Fields and default weights: title (frontmatter title or first H1 or file name, plus frontmatter
// tags/keywords) 3.0, headings 2.0, body 1.0. Score of document d for query terms Q:
//
//   tf~(t,d)  = Σ_f  w_f · tf_f(t,d) / (1 − b_f + b_f · len_f(d) / avglen_f)
//   score(d)  = Σ_{t∈Q}  idf(t) · tf~(t,d) · (k1 + 1) / (k1 + tf~(t,d))
//   idf(t)    = ln(1 + (N − df(t) + 0.5) / (df(t) + 0.5))
//
// with k1 = 1.2 and b_f = 0.75 by default; len_f counts the indexed tokens of field f (stop words
// excluded), avglen_f averages it over the N live documents, df(t) counts the documents holding t
// in any field. Query terms are deduplicated; a query's first 64 distinct terms are used.
//
// ByteRover v4 topics: a path ending in ".html" is parsed as one `<bv-topic>` file (html.h), not
// as markdown. Fields: title = the `title` attribute (else the file name) plus `keywords` and
// `tags`; headings = `summary`; body = the text of every element in order, each element followed
// by its `subject`, `value`, `title` and `description` attribute values. The index keeps each
// element's span of the body, kind and id: for each hit it scores the hit's elements with the
// same BM25 (idf of the index, k1, b = 0.75 against the hit's mean element length) and reports
// the best one (elementId, elementType; none when no element holds a query term) and an excerpt
// cut from that element. A `.html` file with no `<bv-topic>` root is not indexed (an indexed
// document at that path is removed); ByteRover's `index.html` listing (named so, or a `<bv-index>`
// root) is skipped without a warning. Parser warnings are kept per path and handed out once per
// (path, content) by TakeWarnings().
//
// Signals (ByteRover's sidecar `state/signals/<topic>.html.json`, set with SetSignals): when at
// least one document of the index has signals, a query's scores become, for every matched d,
//   bm(d)     = bm25f(d) / max over the matched documents of bm25f
//   score(d)  = (w_bm25 · bm(d) + w_imp · importance(d)/100 + w_rec · recency(d)) · tier(d)
//               for d with signals (importance clamped to [0,100], recency to [0,1]; tier =
//               core 1.15, validated 1.0, draft 0.85), and
//   score(d)  = (w_bm25 + w_imp + w_rec) · bm(d)   (= bm(d), plain BM25F) for d without;
// with ByteRover's weights w = 0.6 / 0.2 / 0.2 (SignalWeights). The caller applies time decay
// before SetSignals (ByteRover: importance · 0.995^days, recency exp(−days/30)). With no signals
// anywhere, scores are plain BM25F as above.
//
// Threading: every method may be called from any thread at any time. Searches run concurrently
// under a shared lock; Upsert/UpsertBatch/Remove parse and tokenize outside the lock and then take
// it exclusively for the short index update. A waiting writer holds off new readers (writers never
// starve). Memory: postings are removed eagerly, empty terms are deleted from the dictionary and
// their ids reused, freed document slots are reused, so repeated updates of the same documents keep
// the footprint bounded (Stats::bytes). A loaded index (Deserialize, persist.h) serves the file's
// bytes in place: its heap holds only per-document and per-term headers and the dictionary
// (Stats::bytes), the texts and postings stay in the mapping (Stats::mapped_bytes) until changed.
#ifndef CLAW_RECALL_INDEX_H_
#define CLAW_RECALL_INDEX_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "tokenizer.h"

namespace claw {
namespace recall {

// Stable status codes, identical to the CLAW_RECALL_* values of claw/recall.h (checked at compile
// time by test/native/fixtures/recall_layout_check.cc).
enum class Status : int {
  kOk = 0,
  kInvalidArgument = 1,  // null/empty path, path with NUL or too long, bad option value
  kNotFound = 2,         // Remove() of a path that is not indexed
  kBufferTooSmall = 3,   // (C facade) caller-provided buffer too small
  kNoMemory = 4,         // allocation failed; the index is unchanged for that document
  kTooLarge = 5,         // document larger than Options::max_document_bytes
  kInternal = 6,         // unexpected exception
};

// The stable name of a status ("RECALL_NOT_FOUND", ...), for error codes in host languages.
const char* StatusName(Status s);

struct FieldParams {
  double weight;
  double b;
};

// ByteRover v4 ranking signals of one topic (the sidecar's values, already time-decayed).
enum class Maturity : uint8_t { kDraft = 0, kValidated = 1, kCore = 2 };
struct Signals {
  double importance = 50;  // 0..100
  double recency = 0;      // 0..1
  Maturity maturity = Maturity::kDraft;
};

struct SignalWeights {
  double bm25 = 0.6;
  double importance = 0.2;
  double recency = 0.2;
  double core = 1.15;
  double validated = 1.0;
  double draft = 0.85;
};

// A parser warning of one file (v4 topics), handed out once per (path, content).
struct FileWarning {
  std::string path;
  std::string code;  // HTML_* (html.h)
  std::string reason;
  uint64_t offset = 0;  // byte offset in the file
};

struct Options {
  double k1 = 1.2;
  FieldParams title{3.0, 0.75};
  FieldParams headings{2.0, 0.75};
  FieldParams body{1.0, 0.75};
  TokenizerOptions tokenizer;
  SignalWeights signals;
  size_t max_document_bytes = size_t{16} << 20;
  size_t max_path_bytes = 4096;
};

// kOk when k1 and the weights are finite and >= 0 and each b is in [0, 1].
Status ValidateOptions(const Options& options);

struct QueryOptions {
  uint32_t k = 10;               // hits wanted (0 → none)
  uint32_t excerpt_chars = 200;  // excerpt length in code points, "…" included (0 → no excerpt)
};

// A hit as seen by a search callback: the views are valid only during the callback.
struct HitView {
  std::string_view path;
  std::string_view title;
  std::string_view excerpt;
  double score;
  std::string_view element_id;    // v4: the best element's id ("" when none or no id)
  std::string_view element_type;  // v4: its kind, e.g. "bv-fact" ("" when none)
};

struct Hit {
  std::string path;
  std::string title;
  std::string excerpt;
  double score = 0;
  std::string element_id;
  std::string element_type;
};

struct Stats {
  uint64_t documents = 0;     // live documents
  uint64_t terms = 0;         // distinct live terms
  uint64_t postings = 0;      // (term, document) pairs
  uint64_t doc_slots = 0;     // document slots allocated (live + free for reuse)
  uint64_t term_slots = 0;    // term ids allocated (live + free for reuse)
  uint64_t bytes = 0;         // heap bytes held by the index (capacity-based estimate)
  uint64_t mapped_bytes = 0;  // bytes of a loaded index file served in place from a mapping
  uint64_t generation = 0;    // number of successful changes since creation
  double avg_title_tokens = 0;
  double avg_headings_tokens = 0;
  double avg_body_tokens = 0;
};

// Owns bytes an index serves in place (Index::Deserialize): destroyed — e.g. a file unmapped —
// once the index no longer refers to them.
class BytesOwner {
 public:
  virtual ~BytesOwner() = default;
};

struct DocumentInput {
  std::string_view path;
  std::string_view markdown;
};

class Index {
 public:
  // `options` must pass ValidateOptions (invalid values are clamped into range otherwise).
  explicit Index(const Options& options = Options());
  ~Index();
  Index(const Index&) = delete;
  Index& operator=(const Index&) = delete;

  const Options& options() const;

  // Adds the document at `path`, or replaces it when the path is already indexed (*replaced, if
  // not null, tells which). On kNoMemory the document may be partly indexed; upserting or removing
  // it again restores a consistent state.
  Status Upsert(std::string_view path, std::string_view markdown, bool* replaced = nullptr);

  // Upserts `count` documents in order (a later duplicate path wins). Parsing runs on `threads`
  // threads (0 → one per core, at most 8; started and joined inside the call): helpers parse chunk
  // n+1 while this thread applies chunk n under the exclusive lock, then this thread helps them
  // finish. Searches run between chunks (of 256 documents). Sizes and paths are checked before
  // anything changes: on kTooLarge/kInvalidArgument nothing is applied and *bad_index (if not null)
  // names the document. On kNoMemory the documents before *bad_index were applied.
  Status UpsertBatch(const DocumentInput* docs, size_t count, unsigned threads,
                     size_t* bad_index = nullptr);

  // Removes the document at `path`; kNotFound when it is not indexed.
  Status Remove(std::string_view path);

  bool Contains(std::string_view path) const;

  // Sets (or, with nullptr, clears) the ranking signals of `path`. They may be set before the
  // document is indexed and survive its updates; kInvalidArgument for an empty path.
  Status SetSignals(std::string_view path, const Signals* signals);

  // The parser warnings raised since the last call, each (path, content) once: upserting the same
  // content again raises nothing; changed content that is still malformed raises again. At most
  // 4096 are kept between calls (the oldest kept).
  std::vector<FileWarning> TakeWarnings();

  // Runs a query and calls `cb(ctx, hit)` for each of the top hits, best first (score descending,
  // then path ascending). The callback runs under the read lock: it must not call Upsert/Remove on
  // this index (that would deadlock). Returns the number of hits.
  using HitCallback = void (*)(void* ctx, const HitView& hit);
  size_t SearchRaw(std::string_view query, const QueryOptions& options, HitCallback cb,
                   void* ctx) const;

  template <class F>
  size_t SearchVisit(std::string_view query, const QueryOptions& options, F&& f) const {
    using Fn = typename std::remove_reference<F>::type;
    return SearchRaw(
        query, options, [](void* ctx, const HitView& h) { (*static_cast<Fn*>(ctx))(h); },
        const_cast<void*>(static_cast<const void*>(&f)));
  }

  std::vector<Hit> Search(std::string_view query,
                          const QueryOptions& options = QueryOptions()) const;

  Stats GetStats() const;

  // Persistence (persist.h writes the file around these bytes). Serialize appends the index's
  // documents, terms and postings to *out (layout kIndexFormat, see index.cc) under the shared
  // lock. Deserialize fills an index holding no documents from such bytes; kInvalidArgument
  // (nothing changed) when the index is not empty or the bytes are not a consistent index (every
  // count, offset, span, posting and dictionary slot is checked, so no file makes it read out of
  // bounds or misanswer).
  //
  // With `keep` (not null), the bytes must stay valid and unchanged while `keep` is alive: the
  // index serves the documents' paths, titles, bodies, element spans and term codes and the
  // terms' texts and postings from them in place, and owns `keep` (destroyed once no document or
  // term refers to the bytes any more; at once when Deserialize fails). A loaded document or term
  // that changes gets its own copy first (copy on write); untouched ones keep pointing into the
  // bytes. `mapped` makes GetStats report them as Stats::mapped_bytes (a file mapping) instead of
  // heap bytes. Without `keep` the bytes are copied once into a buffer the index owns. Bytes that
  // are not 8-byte aligned are copied too.
  //
  // Deserialize bounds-checks every record it reads whatever `cross_check` says. `cross_check`
  // also reads every posting and every document's term codes and proves they name the same
  // (term, document) pairs, in bounds (postings of live documents in ascending order, codes of
  // live terms): what a crafted or mis-written index could get wrong without breaking a record's
  // bounds. persist.h skips it for a file it already checked in full ("Checked once").
  Status Serialize(std::string* out) const;
  // `max_threads` caps the threads the checks of a large index run on (0: one per core, at most 8).
  Status Deserialize(std::string_view data, std::unique_ptr<BytesOwner> keep = nullptr,
                     bool mapped = false, bool cross_check = true, unsigned max_threads = 0);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace recall
}  // namespace claw

#endif  // CLAW_RECALL_INDEX_H_
