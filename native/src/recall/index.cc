#include "index.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <limits>
#include <mutex>
#include <new>
#include <shared_mutex>
#include <thread>
#include <unordered_map>

#include "excerpt.h"
#include "html.h"
#include "markdown.h"
#include "persist.h"
#include "shared_mutex.h"

#if defined(__cpp_exceptions) || defined(__EXCEPTIONS) || defined(_CPPUNWIND)
#define CLAW_RECALL_EXCEPTIONS 1
#else
#define CLAW_RECALL_EXCEPTIONS 0
#endif

namespace claw {
namespace recall {

namespace {

constexpr size_t kMaxQueryTerms = kMaxExcerptTerms;
constexpr size_t kBatchChunk = 256;  // documents applied per exclusive lock in UpsertBatch
constexpr size_t kKeepScratchBytes = size_t{1} << 20;  // per-thread parse buffers kept up to this
enum Field { kTitle = 0, kHeadings = 1, kBody = 2, kFields = 3 };

// One (term, document) pair: 8 bytes. Field frequencies saturate (title/headings 255, body 65535).
struct Posting {
  uint32_t doc;
  uint16_t body;
  uint8_t title;
  uint8_t headings;
};
static_assert(sizeof(Posting) == 8, "postings stay compact");

// A read-only view of a posting list: a term's own vector or postings in a loaded file.
struct PostingSpan {
  const Posting* p = nullptr;
  size_t n = 0;
  const Posting* begin() const { return p; }
  const Posting* end() const { return p + n; }
  size_t size() const { return n; }
  bool empty() const { return n == 0; }
};

struct Term {
  std::string text;               // owned text (unused while mtext is set)
  std::vector<Posting> postings;  // owned postings, sorted by doc (unused while mpost is set)
  // A term of a loaded file: its text and postings in the file's bytes until it changes.
  const char* mtext = nullptr;
  const Posting* mpost = nullptr;
  uint32_t mtext_len = 0;
  uint32_t mpost_len = 0;
  uint32_t hash = 0;

  std::string_view Text() const {
    return mtext != nullptr ? std::string_view(mtext, mtext_len) : std::string_view(text);
  }
  // Empty ⇔ the term id is free.
  PostingSpan Postings() const {
    return mpost != nullptr ? PostingSpan{mpost, mpost_len}
                            : PostingSpan{postings.data(), postings.size()};
  }
};

struct DocLens {
  uint32_t len[kFields];
};

// A v4 element's span of the body, its kind and its id (id_len bytes at id_off of the document's
// element ids). Plain data: a persisted file holds these records as they are, read in place.
struct ElemSpan {
  uint32_t begin;
  uint32_t end;
  uint32_t id_off;
  uint32_t id_len;
  uint32_t kind;  // ElementKind
};
static_assert(sizeof(ElemSpan) == 20, "ElemSpan is a file record");

// What a document built or changed here owns (a loaded document points into the file's bytes).
struct DocOwn {
  std::string path;
  std::string title;
  std::string body;
  std::string elem_ids;
  std::vector<ElemSpan> elems;  // v4 topics only
  // The term ids of this document's postings, ascending, as LEB128 varints of the gaps (about one
  // byte per term instead of four).
  std::vector<uint8_t> term_codes;
};

struct Doc {
  // Views of the document: into *own, or into a loaded file's bytes when own is null. *own lives
  // on the heap, so the views survive moves of the Doc.
  std::string_view path;
  std::string_view title;
  std::string_view body;
  std::string_view elem_ids;
  const ElemSpan* elems = nullptr;
  size_t nelems = 0;
  const uint8_t* codes = nullptr;
  size_t ncodes = 0;
  std::unique_ptr<DocOwn> own;
  bool live = false;
  bool has_signals = false;
  Signals signals;

  void PointAtOwn() {
    path = own->path;
    title = own->title;
    body = own->body;
    elem_ids = own->elem_ids;
    elems = own->elems.data();
    nelems = own->elems.size();
    codes = own->term_codes.data();
    ncodes = own->term_codes.size();
  }
  std::string_view ElemId(const ElemSpan& e) const { return elem_ids.substr(e.id_off, e.id_len); }
};

void EncodeTermIds(const std::vector<uint32_t>& sorted, std::vector<uint8_t>* out) {
  out->clear();
  uint32_t prev = 0;
  for (uint32_t id : sorted) {
    uint32_t gap = id - prev;
    prev = id;
    while (gap >= 0x80) {
      out->push_back(static_cast<uint8_t>(gap | 0x80));
      gap >>= 7;
    }
    out->push_back(static_cast<uint8_t>(gap));
  }
}

template <class F>
void ForEachTermId(const uint8_t* codes, size_t n, F&& f) {
  uint32_t id = 0;
  size_t i = 0;
  while (i < n) {
    uint32_t gap = 0;
    for (int shift = 0; i < n; shift += 7) {
      const uint8_t b = codes[i++];
      gap |= static_cast<uint32_t>(b & 0x7F) << shift;
      if ((b & 0x80) == 0) break;
    }
    id += gap;
    f(id);
  }
}

// ---- preparing a document (outside any lock) ----------------------------------------------

struct PreparedTerm {
  uint32_t offset;  // into Prepared::term_bytes
  uint32_t len;
  uint32_t hash;
  uint32_t tf[kFields];
};

struct Prepared {
  std::string path;
  std::string title;
  std::string body;
  std::string elem_ids;  // the elements' ids back to back (ElemSpan::id_off/id_len)
  std::vector<ElemSpan> elems;
  std::vector<HtmlWarning> warnings;
  uint64_t content_hash = 0;
  bool skip = false;  // a .html file that is not a topic: not indexed
  DocLens lens{};
  std::string term_bytes;
  std::vector<PreparedTerm> terms;

  std::string_view TermText(const PreparedTerm& t) const {
    return std::string_view(term_bytes).substr(t.offset, t.len);
  }
};

// Counts term frequencies per field for one document (open addressing over Prepared::terms).
class TermCounter {
 public:
  void Reset(Prepared* p) {
    p_ = p;
    p_->term_bytes.clear();
    p_->terms.clear();
    if (slots_.empty()) slots_.assign(256, kEmpty);
    std::fill(slots_.begin(), slots_.end(), kEmpty);
  }

  void Add(std::string_view tok, Field f) {
    const uint32_t h = HashTerm(tok);
    size_t mask = slots_.size() - 1;
    size_t i = h & mask;
    while (slots_[i] != kEmpty) {
      PreparedTerm& t = p_->terms[slots_[i]];
      if (t.hash == h && p_->TermText(t) == tok) {
        ++t.tf[f];
        return;
      }
      i = (i + 1) & mask;
    }
    PreparedTerm t{static_cast<uint32_t>(p_->term_bytes.size()),
                   static_cast<uint32_t>(tok.size()),
                   h,
                   {0, 0, 0}};
    t.tf[f] = 1;
    p_->term_bytes.append(tok.data(), tok.size());
    slots_[i] = static_cast<uint32_t>(p_->terms.size());
    p_->terms.push_back(t);
    if (p_->terms.size() * 2 > slots_.size()) Grow();
  }

 private:
  static constexpr uint32_t kEmpty = 0xFFFFFFFFu;

  void Grow() {
    slots_.assign(slots_.size() * 2, kEmpty);
    const size_t mask = slots_.size() - 1;
    for (uint32_t k = 0; k < p_->terms.size(); ++k) {
      size_t i = p_->terms[k].hash & mask;
      while (slots_[i] != kEmpty) i = (i + 1) & mask;
      slots_[i] = k;
    }
  }

  Prepared* p_ = nullptr;
  std::vector<uint32_t> slots_;
};

struct PrepareScratch {
  ParsedDoc parsed;
  ParsedTopic topic;
  TermCounter counter;
};

bool IsHtmlPath(std::string_view path) {
  constexpr std::string_view kExt = ".html";
  return path.size() >= kExt.size() && path.substr(path.size() - kExt.size()) == kExt;
}

// ByteRover's `index.html` beside the topics (a <bv-index> listing): by name, or by its root.
bool IsIndexListing(std::string_view path, std::string_view text) {
  const size_t slash = path.rfind('/');
  if (path.substr(slash == std::string_view::npos ? 0 : slash + 1) == "index.html") return true;
  size_t i = 0;
  while (i < text.size() &&
         (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r'))
    ++i;
  constexpr std::string_view kRoot = "<bv-index";
  return text.substr(i, kRoot.size()) == kRoot &&
         (text.size() == i + kRoot.size() || text[i + kRoot.size()] == '>' ||
          text[i + kRoot.size()] == ' ' || text[i + kRoot.size()] == '\n');
}

uint64_t Fnv1a64(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return h;
}

// A v4 topic → the same fields a markdown note gives (see index.h), plus the element spans.
void TopicToDoc(std::string_view path, const ParsedTopic& t, ParsedDoc* doc,
                std::vector<ElemSpan>* elems, std::string* elem_ids) {
  doc->Clear();
  elems->clear();
  elem_ids->clear();
  const std::string* title = t.Attr("title");
  if (title != nullptr && !title->empty()) {
    doc->title = *title;
    doc->title_source = TitleSource::kFrontmatter;
  } else {
    std::string_view name =
        path.substr(path.rfind('/') == std::string_view::npos ? 0 : path.rfind('/') + 1);
    if (name.size() > 5) name.remove_suffix(5);  // ".html"
    doc->title.assign(name.data(), name.size());
  }
  for (const char* a : {"keywords", "tags"}) {
    if (const std::string* v = t.Attr(a)) {
      if (!v->empty()) doc->tags.push_back(*v);
    }
  }
  if (const std::string* v = t.Attr("summary")) doc->headings = *v;
  std::string& body = doc->body;
  for (const TopicElement& e : t.elements) {
    if (!body.empty()) body.push_back(' ');
    const size_t begin = body.size();
    body += e.text;
    for (const HtmlAttr& a : e.attrs) {
      if (a.value.empty()) continue;
      if (a.name == "subject" || a.name == "value" || a.name == "title" ||
          a.name == "description") {
        if (body.size() > begin) body.push_back(' ');
        body += a.value;
      }
    }
    if (body.size() == begin) {  // an empty element: no span
      if (begin > 0) body.pop_back();
      continue;
    }
    elems->push_back(ElemSpan{static_cast<uint32_t>(begin), static_cast<uint32_t>(body.size()),
                              static_cast<uint32_t>(elem_ids->size()),
                              static_cast<uint32_t>(e.id.size()), static_cast<uint32_t>(e.kind)});
    elem_ids->append(e.id);
  }
}

void Prepare(std::string_view path, std::string_view markdown, const TokenizerOptions& topts,
             PrepareScratch* scratch, Prepared* out) {
  ParsedDoc& doc = scratch->parsed;
  out->elems.clear();
  out->elem_ids.clear();
  out->warnings.clear();
  out->skip = false;
  out->content_hash = 0;
  if (IsHtmlPath(path)) {
    if (IsIndexListing(path, markdown)) {  // ByteRover's <bv-index>: not a topic, not a problem
      out->skip = true;
      out->path.assign(path.data(), path.size());
      out->terms.clear();
      out->term_bytes.clear();
      return;
    }
    ParseTopicHtml(markdown, &scratch->topic);
    out->warnings = scratch->topic.warnings;
    if (!out->warnings.empty()) out->content_hash = Fnv1a64(markdown);
    if (!scratch->topic.is_topic) {
      out->skip = true;
      out->path.assign(path.data(), path.size());
      out->terms.clear();
      out->term_bytes.clear();
      return;
    }
    TopicToDoc(path, scratch->topic, &doc, &out->elems, &out->elem_ids);
  } else {
    ParseMarkdown(path, markdown, &doc);
  }
  Tokenizer tok(topts);
  scratch->counter.Reset(out);
  out->lens = DocLens{{0, 0, 0}};
  auto field = [&](std::string_view text, Field f) {
    tok.Run(text, [&](std::string_view t, size_t, size_t) {
      scratch->counter.Add(t, f);
      ++out->lens.len[f];
      return true;
    });
  };
  field(doc.title, kTitle);
  for (const std::string& tag : doc.tags) field(tag, kTitle);
  field(doc.headings, kHeadings);
  field(doc.body, kBody);
  out->path.assign(path.data(), path.size());
  out->title.assign(doc.title);
  out->body.assign(doc.body);  // an exact-size copy; the parse buffer keeps its capacity
}

// Room for n more elements, growing geometrically (an exact reserve per call would reallocate
// on every call).
template <class T>
void ReserveMore(std::vector<T>* v, size_t n) {
  if (v->capacity() - v->size() < n) v->reserve(std::max(v->size() + n, v->size() * 2));
}

inline void Prefetch(const void* p) {
#if defined(__GNUC__) || defined(__clang__)
  __builtin_prefetch(p, 1);
#else
  (void)p;
#endif
}

size_t SsoCapacity() {
  static const size_t cap = std::string().capacity();
  return cap;
}
size_t HeapBytes(const std::string& s) {
  return s.capacity() > SsoCapacity() ? s.capacity() + 1 : 0;
}
template <class T>
size_t HeapBytes(const std::vector<T>& v) {
  return v.capacity() * sizeof(T);
}

// ---- per-thread query buffers --------------------------------------------------------------

struct QueryScratch {
  std::vector<double> acc;
  std::vector<uint32_t> stamp;
  uint32_t epoch = 0;
  std::vector<uint32_t> touched;
  std::vector<std::pair<double, uint32_t>> heap;
  std::string qbytes;
  std::vector<std::pair<uint32_t, uint32_t>> qranges;  // (offset, len) into qbytes
  std::vector<uint32_t> qterm_ids;                     // term id per found query term
  std::vector<std::string_view> qviews;
  std::vector<double> qidf;
  ExcerptScratch excerpt_scratch;
  std::string excerpt;
  std::vector<uint32_t> elem_tf;   // v4: per element × query term
  std::vector<uint32_t> elem_len;  // v4: tokens per element
  bool busy = false;
};

QueryScratch& ThreadScratch() {
  thread_local QueryScratch scratch;
  return scratch;
}

}  // namespace

const char* StatusName(Status s) {
  switch (s) {
    case Status::kOk:
      return "OK";
    case Status::kInvalidArgument:
      return "RECALL_INVALID_ARGUMENT";
    case Status::kNotFound:
      return "RECALL_NOT_FOUND";
    case Status::kBufferTooSmall:
      return "RECALL_BUFFER_TOO_SMALL";
    case Status::kNoMemory:
      return "RECALL_OUT_OF_MEMORY";
    case Status::kTooLarge:
      return "RECALL_DOCUMENT_TOO_LARGE";
    case Status::kInternal:
      return "RECALL_INTERNAL";
  }
  return "RECALL_UNKNOWN_STATUS";
}

Status ValidateOptions(const Options& o) {
  auto finite_nonneg = [](double v) { return std::isfinite(v) && v >= 0; };
  auto unit = [](double v) { return std::isfinite(v) && v >= 0 && v <= 1; };
  if (!finite_nonneg(o.k1)) return Status::kInvalidArgument;
  for (const FieldParams* f : {&o.title, &o.headings, &o.body}) {
    if (!finite_nonneg(f->weight) || !unit(f->b)) return Status::kInvalidArgument;
  }
  const SignalWeights& w = o.signals;
  for (double v : {w.bm25, w.importance, w.recency, w.core, w.validated, w.draft}) {
    if (!finite_nonneg(v)) return Status::kInvalidArgument;
  }
  if (o.max_document_bytes == 0 || o.max_path_bytes == 0) return Status::kInvalidArgument;
  return Status::kOk;
}

struct Index::Impl {
  explicit Impl(const Options& o) : opts(o) {
    auto clamp = [](double v, double lo, double hi) {
      return std::isfinite(v) ? std::min(hi, std::max(lo, v)) : lo;
    };
    opts.k1 = clamp(opts.k1, 0, 1e9);
    for (FieldParams* f : {&opts.title, &opts.headings, &opts.body}) {
      f->weight = clamp(f->weight, 0, 1e9);
      f->b = clamp(f->b, 0, 1);
    }
    for (double* v : {&opts.signals.bm25, &opts.signals.importance, &opts.signals.recency,
                      &opts.signals.core, &opts.signals.validated, &opts.signals.draft}) {
      *v = clamp(*v, 0, 1e9);
    }
    if (opts.max_document_bytes == 0) opts.max_document_bytes = Options().max_document_bytes;
    if (opts.max_path_bytes == 0) opts.max_path_bytes = Options().max_path_bytes;
    slots.assign(64, Slot{0, 0});  // grows by doubling past 70% load
  }

  Options opts;
  mutable WriterPreferringMutex mu;

  // Documents.
  std::vector<Doc> docs;
  std::vector<DocLens> lens;  // parallel to docs, read in the scoring loop
  std::vector<uint32_t> free_docs;
  // Keys are the documents' own path views (Doc::path): re-pointed whenever a path's storage moves.
  std::unordered_map<std::string_view, uint32_t> by_path;
  uint64_t live_docs = 0;
  uint64_t len_sum[kFields] = {0, 0, 0};
  uint64_t postings = 0;
  uint64_t generation = 0;

  // v4: signals by path (set before or after indexing), live documents holding signals, and
  // parser warnings (content hash per warned path, warnings not yet taken).
  std::unordered_map<std::string, Signals> signals_by_path;
  uint64_t docs_with_signals = 0;
  std::unordered_map<std::string, uint64_t> warned_hash;
  std::vector<FileWarning> pending_warnings;
  static constexpr size_t kMaxPendingWarnings = 4096;

  void NoteWarnings(const Prepared& p) {
    if (p.warnings.empty()) {
      if (!warned_hash.empty()) warned_hash.erase(p.path);
      return;
    }
    auto it = warned_hash.find(p.path);
    if (it != warned_hash.end() && it->second == p.content_hash) return;  // already told
    warned_hash[p.path] = p.content_hash;
    for (const HtmlWarning& w : p.warnings) {
      if (pending_warnings.size() >= kMaxPendingWarnings) break;
      pending_warnings.push_back(FileWarning{p.path, w.code, w.reason, w.offset});
    }
  }

  // A loaded file's bytes (Deserialize), held while a document or term refers to them
  // (mapped_refs counts those); mapped: a file mapping (Stats::mapped_bytes), else a heap copy.
  std::unique_ptr<BytesOwner> backing;
  uint64_t backing_bytes = 0;
  bool backing_mapped = false;
  uint64_t mapped_refs = 0;

  void DropMappedRef() {
    if (mapped_refs > 0 && --mapped_refs == 0) {
      backing.reset();
      backing_bytes = 0;
      backing_mapped = false;
    }
  }

  // A term's postings to change: a loaded term's text and postings are copied first (copy on
  // write), after which nothing of it refers to the loaded bytes.
  std::vector<Posting>& MutablePostings(uint32_t tid) {
    Term& t = terms[tid];
    if (t.mpost != nullptr) {
      t.postings.reserve(t.mpost_len + t.mpost_len / 16 + 4);  // room for a few changes
      t.text.assign(t.mtext, t.mtext_len);
      t.postings.assign(t.mpost, t.mpost + t.mpost_len);
      t.mtext = nullptr;
      t.mtext_len = 0;
      t.mpost = nullptr;
      t.mpost_len = 0;
      DropMappedRef();
    }
    return t.postings;
  }

  void AttachSignals(uint32_t doc) {
    Doc& d = docs[doc];
    auto it =
        signals_by_path.empty() ? signals_by_path.end() : signals_by_path.find(std::string(d.path));
    const bool has = it != signals_by_path.end();
    if (has) d.signals = it->second;
    if (has != d.has_signals) {
      d.has_signals = has;
      if (has) {
        ++docs_with_signals;
      } else {
        --docs_with_signals;
      }
    }
  }

  // Terms: ids index `terms`; the dictionary maps text → id by open addressing (linear probing,
  // backward-shift deletion, so no tombstones accumulate).
  struct Slot {
    uint32_t id_plus_1;
    uint32_t hash;
  };
  std::vector<Term> terms;
  std::vector<uint32_t> free_terms;
  std::vector<Slot> slots;
  size_t live_terms = 0;
  // Per-document field factors w_f / (1 − b_f + b_f·len_f(d)/avglen_f), recomputed by the first
  // search after a change (the averages move with every change). Written under norm_mu by one
  // reader while the others wait; a generation only changes under the exclusive lock, so no
  // search is reading them then.
  mutable std::mutex norm_mu;
  mutable std::atomic<uint64_t> norm_generation{~uint64_t{0}};
  mutable std::vector<std::array<double, kFields>> norm;

  void RefreshNorms() const {
    if (norm_generation.load(std::memory_order_acquire) == generation) return;
    std::lock_guard<std::mutex> lock(norm_mu);
    if (norm_generation.load(std::memory_order_relaxed) == generation) return;
    const double n = static_cast<double>(live_docs);
    const FieldParams* fp[kFields] = {&opts.title, &opts.headings, &opts.body};
    double w[kFields], a[kFields], c[kFields];
    for (int f = 0; f < kFields; ++f) {
      const double avg = n > 0 ? static_cast<double>(len_sum[f]) / n : 0.0;
      w[f] = fp[f]->weight;
      a[f] = 1.0 - fp[f]->b;
      c[f] = avg > 0 ? fp[f]->b / avg : 0.0;
    }
    norm.resize(docs.size());
    for (size_t d = 0; d < docs.size(); ++d) {
      for (int f = 0; f < kFields; ++f) {
        const double denom = a[f] + c[f] * lens[d].len[f];
        norm[d][f] = denom > 0 ? w[f] / denom : 0.0;  // denom is 0 only when len is 0 (b = 1)
      }
    }
    norm_generation.store(generation, std::memory_order_release);
  }

  // Apply's scratch (used under the exclusive lock).
  std::vector<uint32_t> tids_, sorted_tids_;
  std::vector<uint8_t> codes_;

  Status CheckInput(std::string_view path, size_t markdown_size) const {
    if (path.empty() || path.size() > opts.max_path_bytes ||
        path.find('\0') != std::string_view::npos) {
      return Status::kInvalidArgument;
    }
    if (markdown_size > opts.max_document_bytes) return Status::kTooLarge;
    return Status::kOk;
  }

  // ---- dictionary ----
  static constexpr uint32_t kNoTerm = 0xFFFFFFFFu;

  uint32_t FindTerm(std::string_view text, uint32_t hash) const {
    const size_t mask = slots.size() - 1;
    for (size_t i = hash & mask; slots[i].id_plus_1 != 0; i = (i + 1) & mask) {
      if (slots[i].hash == hash && terms[slots[i].id_plus_1 - 1].Text() == text) {
        return slots[i].id_plus_1 - 1;
      }
    }
    return kNoTerm;
  }

  void PlaceSlot(uint32_t id, uint32_t hash) {
    const size_t mask = slots.size() - 1;
    size_t i = hash & mask;
    while (slots[i].id_plus_1 != 0) i = (i + 1) & mask;
    slots[i] = Slot{id + 1, hash};
  }

  uint32_t InternTerm(std::string_view text, uint32_t hash) {
    const uint32_t found = FindTerm(text, hash);
    if (found != kNoTerm) return found;
    if ((live_terms + 1) * 10 > slots.size() * 7) {
      std::vector<Slot> old(slots.size() * 2, Slot{0, 0});
      old.swap(slots);
      for (const Slot& s : old) {
        if (s.id_plus_1 != 0) PlaceSlot(s.id_plus_1 - 1, s.hash);
      }
    }
    uint32_t id;
    if (!free_terms.empty()) {
      id = free_terms.back();
      terms[id].text.assign(text.data(), text.size());
      free_terms.pop_back();
    } else {
      id = static_cast<uint32_t>(terms.size());
      terms.emplace_back();
      terms[id].text.assign(text.data(), text.size());
    }
    terms[id].hash = hash;
    PlaceSlot(id, hash);
    ++live_terms;
    return id;
  }

  void ReleaseTerm(uint32_t id) {
    Term& t = terms[id];
    const size_t mask = slots.size() - 1;
    size_t i = t.hash & mask;
    while (slots[i].id_plus_1 != id + 1) i = (i + 1) & mask;
    // Backward-shift deletion: pull later entries of the probe run into the hole.
    size_t j = i;
    while (true) {
      j = (j + 1) & mask;
      if (slots[j].id_plus_1 == 0) break;
      const size_t home = slots[j].hash & mask;
      const bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
      if (stays) continue;
      slots[i] = slots[j];
      i = j;
    }
    slots[i] = Slot{0, 0};
    const bool was_mapped = t.mpost != nullptr;
    std::string().swap(t.text);
    std::vector<Posting>().swap(t.postings);
    t.mtext = nullptr;
    t.mtext_len = 0;
    t.mpost = nullptr;
    t.mpost_len = 0;
    t.hash = 0;
    free_terms.push_back(id);  // never throws: reserved by the caller
    --live_terms;
    if (was_mapped) DropMappedRef();
  }

  // ---- documents ----
  // Removes the postings of `doc` (its term codes stay until the end). Copies first whatever is
  // still in a loaded file (the only step that may throw: then nothing has changed yet).
  void RemovePostings(uint32_t doc) {
    Doc& d = docs[doc];
    size_t n = 0;
    ForEachTermId(d.codes, d.ncodes, [&](uint32_t tid) {
      MutablePostings(tid);
      ++n;
    });
    ReserveMore(&free_terms, n);  // ReleaseTerm's push_back cannot throw
    ForEachTermId(d.codes, d.ncodes, [&](uint32_t tid) {
      std::vector<Posting>& pl = terms[tid].postings;
      auto it = std::lower_bound(pl.begin(), pl.end(), doc,
                                 [](const Posting& p, uint32_t v) { return p.doc < v; });
      if (it == pl.end() || it->doc != doc) return;
      pl.erase(it);
      --postings;
      if (pl.empty()) {
        ReleaseTerm(tid);
      } else if (pl.capacity() > 64 && pl.size() * 4 < pl.capacity()) {
        pl.shrink_to_fit();
      }
    });
    if (d.own) d.own->term_codes.clear();
    d.codes = nullptr;
    d.ncodes = 0;
    for (int f = 0; f < kFields; ++f) len_sum[f] -= lens[doc].len[f];
    lens[doc] = DocLens{{0, 0, 0}};
  }

  // Indexes a prepared document; true when it replaced one at the same path.
  bool Apply(Prepared* p) {
    NoteWarnings(*p);
    if (p->skip) {  // not a topic: never indexed
      if (by_path.count(p->path) != 0) RemoveLocked(p->path);
      return false;
    }
    uint32_t doc;
    auto it = by_path.find(std::string_view(p->path));
    const bool existed = it != by_path.end();
    // What may throw comes before any change: the storage of a new or loaded document, a slot.
    std::unique_ptr<DocOwn> fresh;
    if (!existed || !docs[it->second].own) fresh.reset(new DocOwn);
    if (existed) {
      doc = it->second;
      RemovePostings(doc);
    } else {
      if (free_docs.empty()) {
        // Room in all three first: a slot added to docs but not to lens and free_docs (lens
        // failing to grow) was neither live nor free, and lens[doc] ran past its end after.
        ReserveMore(&docs, 1);
        ReserveMore(&lens, 1);
        ReserveMore(&free_docs, 1);
        const uint32_t id = static_cast<uint32_t>(docs.size());
        docs.emplace_back();
        lens.push_back(DocLens{{0, 0, 0}});
        free_docs.push_back(id);
      }
      doc = free_docs.back();
    }
    Doc& d = docs[doc];
    const bool was_loaded = existed && fresh;  // its views (and its key) leave the loaded bytes
    if (fresh) d.own = std::move(fresh);
    DocOwn& o = *d.own;
    o.path.swap(p->path);
    o.title.swap(p->title);
    o.body.swap(p->body);
    o.elem_ids.swap(p->elem_ids);
    o.elems.swap(p->elems);
    d.PointAtOwn();
    if (existed) {
      // The key still views the old path (equal bytes, still alive): re-point it at the new
      // storage (no allocation, no rehash).
      if (it->first.data() != d.path.data()) {
        auto node = by_path.extract(it);
        node.key() = d.path;
        by_path.insert(std::move(node));
      }
    } else {
      by_path.emplace(d.path, doc);  // on bad_alloc the slot stays free (not live, not keyed)
      free_docs.pop_back();
      ++live_docs;
    }
    if (was_loaded) DropMappedRef();  // last: may unmap the bytes the old views were in
    d.live = true;
    AttachSignals(doc);
    lens[doc] = p->lens;
    for (int f = 0; f < kFields; ++f) len_sum[f] += p->lens.len[f];
    // Intern every term, record the document's term list, then add the postings. Posting lists
    // grow by 1.25x (not 2x): less slack in the largest structure of the index.
    tids_.clear();
    const size_t nterms = p->terms.size();
    constexpr size_t kAhead = 8;  // prefetch distance: the loops below are bound by cache misses
    for (size_t i = 0; i < nterms; ++i) {
      if (i + kAhead < nterms) Prefetch(&slots[p->terms[i + kAhead].hash & (slots.size() - 1)]);
      tids_.push_back(InternTerm(p->TermText(p->terms[i]), p->terms[i].hash));
    }
    sorted_tids_.assign(tids_.begin(), tids_.end());
    std::sort(sorted_tids_.begin(), sorted_tids_.end());
    EncodeTermIds(sorted_tids_, &codes_);
    o.term_codes.assign(codes_.begin(), codes_.end());  // exact size when it grows
    d.codes = o.term_codes.data();
    d.ncodes = o.term_codes.size();
    // The highest slot sorts after every other posting: append without reading the list's tail
    // (that read is a cache miss per posting, most of a fresh build's update time).
    const bool last_slot = doc + 1 == docs.size();
    for (size_t i = 0; i < tids_.size(); ++i) {
      if (i + kAhead < tids_.size()) {
        const PostingSpan ahead = terms[tids_[i + kAhead]].Postings();
        Prefetch(ahead.end());  // where that term's posting will be written
      }
      const PreparedTerm& pt = p->terms[i];
      const Posting posting{doc, static_cast<uint16_t>(std::min<uint32_t>(pt.tf[kBody], 65535)),
                            static_cast<uint8_t>(std::min<uint32_t>(pt.tf[kTitle], 255)),
                            static_cast<uint8_t>(std::min<uint32_t>(pt.tf[kHeadings], 255))};
      std::vector<Posting>& pl = MutablePostings(tids_[i]);
      if (pl.size() == pl.capacity()) pl.reserve(pl.size() + pl.size() / 4 + 4);
      if (last_slot || pl.empty() || pl.back().doc < doc) {
        pl.push_back(posting);
      } else {
        auto pos = std::lower_bound(pl.begin(), pl.end(), doc,
                                    [](const Posting& q, uint32_t v) { return q.doc < v; });
        pl.insert(pos, posting);
      }
      ++postings;
    }
    ++generation;
    return existed;
  }

  Status RemoveLocked(std::string_view path) {
    auto it = by_path.find(path);
    if (it == by_path.end()) return Status::kNotFound;
    const uint32_t doc = it->second;
    ReserveMore(&free_docs, 1);
    RemovePostings(doc);
    by_path.erase(it);
    Doc& d = docs[doc];
    d.live = false;
    if (!d.own) DropMappedRef();
    d.own.reset();
    d.path = d.title = d.body = d.elem_ids = std::string_view();
    d.elems = nullptr;
    d.nelems = 0;
    if (d.has_signals) {
      d.has_signals = false;
      --docs_with_signals;
    }
    free_docs.push_back(doc);
    --live_docs;
    ++generation;
    return Status::kOk;
  }

  // ---- search ----
  bool Better(const std::pair<double, uint32_t>& a, const std::pair<double, uint32_t>& b) const {
    if (a.first != b.first) return a.first > b.first;
    return docs[a.second].path < docs[b.second].path;
  }

  size_t Search(std::string_view query, const QueryOptions& qo, HitCallback cb, void* ctx,
                QueryScratch* s) const {
    // Distinct query terms, folded like the documents (outside the lock).
    s->qbytes.clear();
    s->qranges.clear();
    Tokenizer tok(opts.tokenizer);
    tok.Run(query, [&](std::string_view t, size_t, size_t) {
      for (const auto& r : s->qranges) {
        if (std::string_view(s->qbytes).substr(r.first, r.second) == t) return true;
      }
      s->qranges.emplace_back(static_cast<uint32_t>(s->qbytes.size()),
                              static_cast<uint32_t>(t.size()));
      s->qbytes.append(t.data(), t.size());
      return s->qranges.size() < kMaxQueryTerms;
    });
    if (qo.k == 0 || s->qranges.empty()) return 0;

    std::shared_lock<WriterPreferringMutex> lock(mu);
    if (live_docs == 0) return 0;
    RefreshNorms();
    const double n = static_cast<double>(live_docs);
    const double k1 = opts.k1;

    if (s->stamp.size() < docs.size()) {
      s->stamp.resize(docs.size(), 0);
      s->acc.resize(docs.size(), 0.0);
    }
    if (++s->epoch == 0) {  // wrapped: forget every old stamp
      std::fill(s->stamp.begin(), s->stamp.end(), 0);
      s->epoch = 1;
    }
    const uint32_t epoch = s->epoch;
    s->touched.clear();
    s->qterm_ids.clear();
    s->qviews.clear();
    s->qidf.clear();
    const std::array<double, kFields>* F = norm.data();
    double* acc = s->acc.data();
    uint32_t* stamp = s->stamp.data();

    for (const auto& r : s->qranges) {
      const std::string_view text = std::string_view(s->qbytes).substr(r.first, r.second);
      const uint32_t tid = FindTerm(text, HashTerm(text));
      if (tid == kNoTerm) continue;
      const PostingSpan pl = terms[tid].Postings();
      const double df = static_cast<double>(pl.size());
      const double idf = std::log1p(
          (n - df + 0.5) /
          (df + 0.5));  // log1p, not log(1 + x): log@GLIBC_2.29 would raise the glibc floor
      s->qterm_ids.push_back(tid);
      s->qviews.push_back(text);
      s->qidf.push_back(idf);
      const double idf_k = idf * (k1 + 1);
      for (const Posting& p : pl) {
        const std::array<double, kFields>& fd = F[p.doc];
        const double tf = p.title * fd[kTitle] + p.headings * fd[kHeadings] + p.body * fd[kBody];
        const double score = tf > 0 ? idf_k * tf / (k1 + tf) : 0.0;
        if (stamp[p.doc] != epoch) {
          stamp[p.doc] = epoch;
          acc[p.doc] = score;
          s->touched.push_back(p.doc);
        } else {
          acc[p.doc] += score;
        }
      }
    }

    if (docs_with_signals > 0) ApplySignals(s);

    auto better = [this](const std::pair<double, uint32_t>& x,
                         const std::pair<double, uint32_t>& y) { return Better(x, y); };
    auto& heap = s->heap;
    heap.clear();
    for (uint32_t doc : s->touched) {
      if (!(acc[doc] > 0)) continue;  // matched only in zero-weight fields
      const std::pair<double, uint32_t> cand{acc[doc], doc};
      if (heap.size() < qo.k) {
        heap.push_back(cand);
        std::push_heap(heap.begin(), heap.end(), better);  // top = worst kept
      } else if (better(cand, heap.front())) {
        std::pop_heap(heap.begin(), heap.end(), better);
        heap.back() = cand;
        std::push_heap(heap.begin(), heap.end(), better);
      }
    }
    std::sort_heap(heap.begin(), heap.end(), better);  // best first

    Tokenizer excerpt_tok(opts.tokenizer);
    for (const auto& h : heap) {
      const Doc& d = docs[h.second];
      size_t present = 0;
      const ElemSpan* top = nullptr;
      if (d.nelems == 1) {
        // One element holds the whole body: it is the best one when the body holds a query term
        // (known from the postings, no tokenizing).
        present = BodyTermsPresent(h.second, s);
        if (present > 0) top = &d.elems[0];
      } else if (d.nelems > 0) {
        top = BestElement(d, s, &excerpt_tok, &present);
      }
      if (top != nullptr) {
        if (qo.excerpt_chars > 0) {
          const std::string_view text = d.body.substr(top->begin, top->end - top->begin);
          BuildExcerpt(text, s->qviews, present, qo.excerpt_chars, &excerpt_tok,
                       &s->excerpt_scratch, &s->excerpt);
        } else {
          s->excerpt.clear();
        }
        cb(ctx, HitView{d.path, d.title, s->excerpt, h.first, d.ElemId(*top),
                        ElementKindName(static_cast<ElementKind>(top->kind))});
        continue;
      }
      present = 0;
      if (qo.excerpt_chars > 0) {
        for (uint32_t tid : s->qterm_ids) {
          const PostingSpan pl = terms[tid].Postings();
          auto it = std::lower_bound(pl.begin(), pl.end(), h.second,
                                     [](const Posting& q, uint32_t v) { return q.doc < v; });
          if (it != pl.end() && it->doc == h.second && it->body > 0) ++present;
        }
        static const std::vector<std::string_view> kNoTerms;
        BuildExcerpt(d.body, present > 0 ? s->qviews : kNoTerms, present, qo.excerpt_chars,
                     &excerpt_tok, &s->excerpt_scratch, &s->excerpt);
      } else {
        s->excerpt.clear();
      }
      cb(ctx, HitView{d.path, d.title, s->excerpt, h.first, {}, {}});
    }
    return heap.size();
  }

  // The number of distinct found query terms in the body of `doc` (from the postings).
  size_t BodyTermsPresent(uint32_t doc, const QueryScratch* s) const {
    size_t present = 0;
    for (uint32_t tid : s->qterm_ids) {
      const PostingSpan pl = terms[tid].Postings();
      auto it = std::lower_bound(pl.begin(), pl.end(), doc,
                                 [](const Posting& q, uint32_t v) { return q.doc < v; });
      if (it != pl.end() && it->doc == doc && it->body > 0) ++present;
    }
    return present;
  }

  // Signal-aware scores (index.h) for the matched documents, in place of acc.
  void ApplySignals(QueryScratch* s) const {
    double* acc = s->acc.data();
    double max = 0;
    for (uint32_t doc : s->touched) max = std::max(max, acc[doc]);
    if (!(max > 0)) return;
    const SignalWeights& w = opts.signals;
    const double plain = w.bm25 + w.importance + w.recency;
    for (uint32_t doc : s->touched) {
      if (!(acc[doc] > 0)) continue;
      const double bm = acc[doc] / max;
      const Doc& d = docs[doc];
      if (!d.has_signals) {
        acc[doc] = plain * bm;
        continue;
      }
      const Signals& g = d.signals;
      const double imp =
          std::isfinite(g.importance) ? std::min(100.0, std::max(0.0, g.importance)) : 0.0;
      const double rec = std::isfinite(g.recency) ? std::min(1.0, std::max(0.0, g.recency)) : 0.0;
      const double tier = g.maturity == Maturity::kCore        ? w.core
                          : g.maturity == Maturity::kValidated ? w.validated
                                                               : w.draft;
      const double v = (w.bm25 * bm + w.importance * imp / 100.0 + w.recency * rec) * tier;
      acc[doc] = v > 0 ? v : std::numeric_limits<double>::min();  // stays a hit
    }
  }

  // The element of `d` that best matches the query terms (BM25 over the elements, see index.h);
  // nullptr when none holds a query term. *present = distinct query terms in that element.
  const ElemSpan* BestElement(const Doc& d, QueryScratch* s, Tokenizer* tok,
                              size_t* present) const {
    const size_t nq = s->qviews.size();
    if (nq == 0) return nullptr;
    const double k1 = opts.k1;
    double total_len = 0;
    std::vector<uint32_t>& tf = s->elem_tf;
    std::vector<uint32_t>& lens_e = s->elem_len;
    tf.assign(d.nelems * nq, 0);
    lens_e.assign(d.nelems, 0);
    for (size_t e = 0; e < d.nelems; ++e) {
      const ElemSpan& sp = d.elems[e];
      const std::string_view text = d.body.substr(sp.begin, sp.end - sp.begin);
      uint32_t* row = tf.data() + e * nq;
      uint32_t len = 0;
      tok->Run(text, [&](std::string_view t, size_t, size_t) {
        ++len;
        for (size_t q = 0; q < nq; ++q) {
          if (s->qviews[q] == t) {
            ++row[q];
            break;
          }
        }
        return true;
      });
      lens_e[e] = len;
      total_len += len;
    }
    const double avg = total_len / static_cast<double>(d.nelems);
    const ElemSpan* best = nullptr;
    double best_score = 0;
    for (size_t e = 0; e < d.nelems; ++e) {
      const uint32_t* row = tf.data() + e * nq;
      const double len_norm = avg > 0 ? 0.25 + 0.75 * lens_e[e] / avg : 1.0;
      double score = 0;
      size_t distinct = 0;
      for (size_t q = 0; q < nq; ++q) {
        if (row[q] == 0) continue;
        ++distinct;
        score += s->qidf[q] * row[q] * (k1 + 1) / (row[q] + k1 * len_norm);
      }
      if (score > best_score) {
        best_score = score;
        best = &d.elems[e];
        *present = distinct;
      }
    }
    return best;
  }

  uint64_t Bytes() const {
    uint64_t b = sizeof(Impl);
    b += HeapBytes(terms) + HeapBytes(free_terms) + HeapBytes(slots) + HeapBytes(tids_) +
         HeapBytes(sorted_tids_) + HeapBytes(codes_);
    for (const Term& t : terms) b += HeapBytes(t.text) + HeapBytes(t.postings);
    b += HeapBytes(docs) + HeapBytes(lens) + HeapBytes(free_docs);
    {
      std::lock_guard<std::mutex> lock(norm_mu);  // a concurrent search may be refreshing it
      b += HeapBytes(norm);
    }
    for (const Doc& d : docs) {
      if (!d.own) continue;  // a loaded document: its bytes are the backing's
      const DocOwn& o = *d.own;
      b += sizeof(DocOwn) + HeapBytes(o.path) + HeapBytes(o.title) + HeapBytes(o.body) +
           HeapBytes(o.elem_ids) + HeapBytes(o.term_codes) + HeapBytes(o.elems);
    }
    if (!backing_mapped) b += backing_bytes;  // a heap copy of loaded bytes
    for (const auto& kv : signals_by_path) b += 64 + HeapBytes(kv.first);
    for (const auto& kv : warned_hash) b += 48 + HeapBytes(kv.first);
    for (const FileWarning& w : pending_warnings) {
      b += sizeof(w) + HeapBytes(w.path) + HeapBytes(w.code) + HeapBytes(w.reason);
    }
    // unordered_map: bucket array + one node (next pointer, key, value, cached hash) per entry.
    b += by_path.bucket_count() * sizeof(void*);
    for (const auto& kv : by_path) {
      b += sizeof(void*) + sizeof(kv) + sizeof(size_t);
    }
    return b;
  }
};

Index::Index(const Options& options) : impl_(new Impl(options)) {}
Index::~Index() = default;

const Options& Index::options() const { return impl_->opts; }

Status Index::Upsert(std::string_view path, std::string_view markdown, bool* replaced) {
  const Status st = impl_->CheckInput(path, markdown.size());
  if (st != Status::kOk) return st;
  thread_local PrepareScratch scratch;
  Prepared p;
  Prepare(path, markdown, impl_->opts.tokenizer, &scratch, &p);
  if (markdown.size() > kKeepScratchBytes)
    scratch = PrepareScratch();  // don't keep a huge note's buffers
  std::unique_lock<WriterPreferringMutex> lock(impl_->mu);
  const bool existed = impl_->Apply(&p);
  if (replaced) *replaced = existed;
  return Status::kOk;
}

namespace {

// One chunk of a batch to prepare: workers take documents off `next` until none is left.
struct ChunkJob {
  const DocumentInput* docs = nullptr;
  size_t n = 0;
  Prepared* out = nullptr;
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};

  void Work(PrepareScratch* scratch, const TokenizerOptions& topts) {
#if CLAW_RECALL_EXCEPTIONS
    try {
#endif
      for (size_t i = next++; i < n; i = next++)
        Prepare(docs[i].path, docs[i].markdown, topts, scratch, &out[i]);
#if CLAW_RECALL_EXCEPTIONS
    } catch (...) {
      failed = true;
    }
#endif
  }
};

}  // namespace

Status Index::UpsertBatch(const DocumentInput* docs, size_t count, unsigned threads,
                          size_t* bad_index) {
  if (count == 0) return Status::kOk;
  if (docs == nullptr) return Status::kInvalidArgument;
  for (size_t i = 0; i < count; ++i) {
    const Status st = impl_->CheckInput(docs[i].path, docs[i].markdown.size());
    if (st != Status::kOk) {
      if (bad_index) *bad_index = i;
      return st;
    }
  }
  if (threads == 0) threads = std::max(1u, std::min(8u, std::thread::hardware_concurrency()));
  threads = std::min(threads, 8u);  // documented: at most 8 (a huge count aborted the host before)
  const size_t chunk = std::min(count, kBatchChunk);
  if (count < 8) threads = 1;
  const TokenizerOptions topts = impl_->opts.tokenizer;
  // Pipeline over chunks of kBatchChunk documents: while this thread applies chunk c under the
  // exclusive lock, threads − 1 helpers prepare chunk c + 1; this thread then joins them on what
  // is left of it. Searches get the lock between chunks.
  std::vector<Prepared> buf[2] = {std::vector<Prepared>(chunk), std::vector<Prepared>(chunk)};
  std::vector<PrepareScratch> scratch(threads);
  // A helper that cannot be started (no memory, no thread) is not an error: the job queue is
  // shared, so this thread and the helpers already running finish the chunk.
  auto start_helpers = [&](ChunkJob* job, std::vector<std::thread>* helpers) {
    for (unsigned w = 1; w < threads; ++w) {
#if CLAW_RECALL_EXCEPTIONS
      try {
#endif
        helpers->emplace_back([job, &scratch, &topts, w] { job->Work(&scratch[w], topts); });
#if CLAW_RECALL_EXCEPTIONS
      } catch (...) {
        return;
      }
#endif
    }
  };
  {
    ChunkJob first;
    first.docs = docs;
    first.n = chunk;
    first.out = buf[0].data();
    std::vector<std::thread> helpers;
    start_helpers(&first, &helpers);
    first.Work(&scratch[0], topts);
    for (std::thread& t : helpers) t.join();
    if (first.failed) {
      if (bad_index) *bad_index = 0;
      return Status::kNoMemory;
    }
  }
  for (size_t base = 0, c = 0; base < count; base += chunk, ++c) {
    const size_t n = std::min(chunk, count - base);
    const size_t next_base = base + chunk;
    ChunkJob next;
    next.docs = docs + next_base;
    next.n = next_base < count ? std::min(chunk, count - next_base) : 0;
    next.out = buf[(c + 1) % 2].data();
    std::vector<std::thread> helpers;
    // Joins the helpers however this iteration ends: an Apply that throws (bad_alloc) while they
    // prepare the next chunk must not destroy joinable threads (std::terminate: the host aborted).
    struct JoinHelpers {
      std::vector<std::thread>* threads;
      ~JoinHelpers() {
        for (std::thread& t : *threads)
          if (t.joinable()) t.join();
      }
    } join_helpers{&helpers};
    if (next.n > 0) start_helpers(&next, &helpers);
    {
      std::unique_lock<WriterPreferringMutex> lock(impl_->mu);
      for (size_t i = 0; i < n; ++i) impl_->Apply(&buf[c % 2][i]);
    }
    if (next.n > 0) next.Work(&scratch[0], topts);
    for (std::thread& t : helpers) t.join();
    if (next.failed) {
      if (bad_index) *bad_index = next_base;
      return Status::kNoMemory;
    }
  }
  return Status::kOk;
}

Status Index::Remove(std::string_view path) {
  if (path.empty()) return Status::kInvalidArgument;
  std::unique_lock<WriterPreferringMutex> lock(impl_->mu);
  return impl_->RemoveLocked(path);
}

bool Index::Contains(std::string_view path) const {
  std::shared_lock<WriterPreferringMutex> lock(impl_->mu);
  return impl_->by_path.count(path) != 0;
}

size_t Index::SearchRaw(std::string_view query, const QueryOptions& options, HitCallback cb,
                        void* ctx) const {
  QueryScratch& shared = ThreadScratch();
  if (shared.busy) {  // a callback searching again on this thread: use fresh buffers
    QueryScratch local;
    return impl_->Search(query, options, cb, ctx, &local);
  }
  shared.busy = true;
  struct Release {
    QueryScratch* s;
    ~Release() { s->busy = false; }
  } release{&shared};
  return impl_->Search(query, options, cb, ctx, &shared);
}

std::vector<Hit> Index::Search(std::string_view query, const QueryOptions& options) const {
  std::vector<Hit> hits;
  SearchVisit(query, options, [&hits](const HitView& h) {
    hits.push_back(Hit{std::string(h.path), std::string(h.title), std::string(h.excerpt), h.score,
                       std::string(h.element_id), std::string(h.element_type)});
  });
  return hits;
}

Status Index::SetSignals(std::string_view path, const Signals* signals) {
  if (path.empty() || path.size() > impl_->opts.max_path_bytes) return Status::kInvalidArgument;
  std::unique_lock<WriterPreferringMutex> lock(impl_->mu);
  const std::string key(path);
  if (signals == nullptr) {
    impl_->signals_by_path.erase(key);
  } else {
    impl_->signals_by_path[key] = *signals;
  }
  auto it = impl_->by_path.find(key);
  if (it != impl_->by_path.end()) impl_->AttachSignals(it->second);
  return Status::kOk;
}

std::vector<FileWarning> Index::TakeWarnings() {
  std::vector<FileWarning> out;
  std::unique_lock<WriterPreferringMutex> lock(impl_->mu);
  out.swap(impl_->pending_warnings);
  return out;
}

Stats Index::GetStats() const {
  std::shared_lock<WriterPreferringMutex> lock(impl_->mu);
  const Impl& m = *impl_;
  Stats s;
  s.documents = m.live_docs;
  s.terms = m.live_terms;
  s.postings = m.postings;
  s.doc_slots = m.docs.size();
  s.term_slots = m.terms.size();
  s.bytes = m.Bytes();
  s.mapped_bytes = m.backing_mapped ? m.backing_bytes : 0;
  s.generation = m.generation;
  if (m.live_docs > 0) {
    const double n = static_cast<double>(m.live_docs);
    s.avg_title_tokens = static_cast<double>(m.len_sum[kTitle]) / n;
    s.avg_headings_tokens = static_cast<double>(m.len_sum[kHeadings]) / n;
    s.avg_body_tokens = static_cast<double>(m.len_sum[kBody]) / n;
  }
  return s;
}

// ---- persistence (persist.h: the file around these bytes) -----------------------------------
// Layout kIndexFormat (little-endian; read in place, so every array starts on an 8-byte boundary
// of the section, which itself starts on one):
//   header      16 × u64 (IndexHeader)
//   DocRec      × ndocs      (live flag, field lengths, where its bytes and elements are)
//   ElemSpan    × nelems     (20 bytes each), padded to 8
//   TermRec     × nterms     (a free term id: all zero)
//   Slot        × nslots     (the dictionary's open-addressing table, as in memory)
//   u32 free document slots, padded to 8; u32 free term ids, padded to 8
//   Posting     × nposts     (each term's list in term order, back to back, sorted by doc)
//   codes       codes_bytes, padded to 8: the live documents' term codes back to back
//   paths       paths_bytes, padded to 8: the live documents' paths back to back
//   blob        blob_bytes, padded to 8: per live document its title, body and element ids back
//               to back; per live term its text.
// (Codes and paths apart from the bodies: the checks below stream through them.)
// Signals and pending warnings are not persisted (the caller sets signals again; warnings were
// handed out when the documents were first indexed).

namespace {

struct IndexHeader {
  uint64_t ndocs, nterms, nelems, nposts, blob_bytes, nfree_docs, nfree_terms, nslots;
  uint64_t live_docs, live_terms, generation, len_sum[kFields], codes_bytes, paths_bytes;
};
static_assert(sizeof(IndexHeader) == 128, "IndexHeader is a file record");

struct DocRec {
  uint64_t path_off, path_len;    // into the paths
  uint64_t codes_off, codes_len;  // into the codes
  uint64_t text_off;              // into the blob: title, body, element ids
  uint64_t title_len, body_len, ids_len;
  uint64_t elem_first, elem_count;  // into the element array
  uint32_t lens[kFields];
  uint32_t live;  // 0 or 1
};
static_assert(sizeof(DocRec) == 96, "DocRec is a file record");

struct TermRec {
  uint64_t text_off;    // into the blob
  uint64_t post_first;  // into the posting array
  uint32_t text_len, post_count, hash, reserved;
};
static_assert(sizeof(TermRec) == 32, "TermRec is a file record");

#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__)
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "the persisted index is little-endian and read in place");
#endif

size_t Pad8(size_t n) { return (n + 7) & ~size_t{7}; }

// The sections' offsets from the counts; false when they do not fit in `size` bytes (or, with
// exact, do not fill them exactly).
struct Layout {
  size_t docs, elems, terms, slots, free_docs, free_terms, posts, codes, paths, blob, end;
  bool Compute(const IndexHeader& h, size_t size) {
    size_t off = sizeof(IndexHeader);
    auto take = [&](uint64_t count, size_t item, size_t* at) {
      if (off > size || count > (size - off) / item) return false;
      *at = off;
      off = Pad8(off + static_cast<size_t>(count) * item);
      return off <= size;
    };
    return take(h.ndocs, sizeof(DocRec), &docs) && take(h.nelems, sizeof(ElemSpan), &elems) &&
           take(h.nterms, sizeof(TermRec), &terms) && take(h.nslots, 8, &slots) &&
           take(h.nfree_docs, 4, &free_docs) && take(h.nfree_terms, 4, &free_terms) &&
           take(h.nposts, sizeof(Posting), &posts) && take(h.codes_bytes, 1, &codes) &&
           take(h.paths_bytes, 1, &paths) && take(h.blob_bytes, 1, &blob) && (end = off, true);
  }
};

// A commutative fingerprint of (term, document) pairs: the postings and the documents' term codes
// must describe the same pairs.
inline uint64_t PairPrint(uint32_t term, uint32_t doc) {
  uint64_t h = (static_cast<uint64_t>(term) << 32 | doc) * 0x9e3779b97f4a7c15ull;
  h ^= h >> 29;
  h *= 0xbf58476d1ce4e5b9ull;
  return h ^ (h >> 32);
}

// Term codes of document `doc`: complete LEB128 varints of at most 32 bits naming strictly
// ascending live term ids. Counts them and adds their (term, doc) fingerprints to *print.
bool CheckCodes(const uint8_t* codes, size_t n, const uint8_t* term_live, size_t nterms,
                uint32_t doc, uint32_t* count_out, uint64_t* print_out) {
  uint64_t id = 0, print = 0;
  uint32_t count = 0;
  for (size_t k = 0; k < n;) {
    uint64_t gap = codes[k++];
    if (gap & 0x80) {  // more than one byte (most gaps fit in one)
      gap &= 0x7F;
      int shift = 7;
      uint8_t b;
      do {
        if (k == n || shift > 28) return false;
        b = codes[k++];
        gap |= static_cast<uint64_t>(b & 0x7F) << shift;
        shift += 7;
      } while (b & 0x80);
    }
    if (count > 0 && gap == 0) return false;
    id += gap;
    if (id >= nterms || !term_live[id]) return false;
    print += PairPrint(static_cast<uint32_t>(id), doc);
    ++count;
  }
  *count_out = count;
  *print_out = print;
  return true;
}

// Runs fn(chunk, worker) for chunk = 0..chunks-1 on up to `threads` threads (this one included),
// each taking the next chunk; worker < threads names the thread. A thread that cannot be started
// is not an error: the others take its chunks. An exception in fn (bad_alloc) is rethrown here
// after every thread has stopped.
template <class F>
void ParallelChunks(unsigned threads, size_t chunks, F&& fn) {
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  auto work = [&](unsigned w) {
#if CLAW_RECALL_EXCEPTIONS
    try {
#endif
      for (size_t c = next++; c < chunks && !failed; c = next++) fn(c, w);
#if CLAW_RECALL_EXCEPTIONS
    } catch (...) {
      failed = true;
    }
#endif
  };
  std::vector<std::thread> helpers;
  threads = static_cast<unsigned>(std::min<size_t>(threads, chunks));
  for (unsigned w = 1; w < threads; ++w) {
#if CLAW_RECALL_EXCEPTIONS
    try {
      helpers.emplace_back(work, w);
    } catch (...) {
      break;
    }
#else
    helpers.emplace_back(work, w);
#endif
  }
  work(0);
  for (std::thread& t : helpers) t.join();
#if CLAW_RECALL_EXCEPTIONS
  if (failed) throw std::bad_alloc();
#endif
}

}  // namespace

Status Index::Serialize(std::string* out) const {
  std::shared_lock<WriterPreferringMutex> lock(impl_->mu);
  const Impl& m = *impl_;
  IndexHeader h{};
  h.ndocs = m.docs.size();
  h.nterms = m.terms.size();
  h.nslots = m.slots.size();
  h.nfree_docs = m.free_docs.size();
  h.nfree_terms = m.free_terms.size();
  h.live_docs = m.live_docs;
  h.live_terms = m.live_terms;
  h.generation = m.generation;
  for (int f = 0; f < kFields; ++f) h.len_sum[f] = m.len_sum[f];
  for (const Doc& d : m.docs) {
    if (!d.live) continue;
    h.nelems += d.nelems;
    h.paths_bytes += d.path.size();
    h.codes_bytes += d.ncodes;
    h.blob_bytes += d.title.size() + d.body.size() + d.elem_ids.size();
  }
  for (const Term& t : m.terms) {
    h.nposts += t.Postings().size();
    h.blob_bytes += t.Text().size();
  }
  Layout at;
  const size_t base = out->size();
  // Offsets of a section as large as it can be; Compute checks they fit.
  if (!at.Compute(h, ~size_t{0} >> 1)) return Status::kNoMemory;
  out->resize(base + at.end, '\0');
  char* o = &(*out)[base];
  std::memcpy(o, &h, sizeof h);
  size_t elem = 0, post = 0, blob = 0, codes = 0, paths = 0;
  auto put = [&](size_t section, size_t* at_off, std::string_view bytes) {
    if (!bytes.empty()) std::memcpy(o + section + *at_off, bytes.data(), bytes.size());
    *at_off += bytes.size();
  };
  for (size_t i = 0; i < m.docs.size(); ++i) {
    const Doc& d = m.docs[i];
    if (!d.live) continue;  // an all-zero record
    DocRec r{};
    r.live = 1;
    r.path_off = paths;
    r.codes_off = codes;
    r.text_off = blob;
    r.path_len = d.path.size();
    r.title_len = d.title.size();
    r.body_len = d.body.size();
    r.ids_len = d.elem_ids.size();
    r.codes_len = d.ncodes;
    r.elem_first = elem;
    r.elem_count = d.nelems;
    for (int f = 0; f < kFields; ++f) r.lens[f] = m.lens[i].len[f];
    std::memcpy(o + at.docs + i * sizeof(DocRec), &r, sizeof r);
    put(at.paths, &paths, d.path);
    put(at.codes, &codes, std::string_view(reinterpret_cast<const char*>(d.codes), d.ncodes));
    put(at.blob, &blob, d.title);
    put(at.blob, &blob, d.body);
    put(at.blob, &blob, d.elem_ids);
    if (d.nelems > 0)
      std::memcpy(o + at.elems + elem * sizeof(ElemSpan), d.elems, d.nelems * sizeof(ElemSpan));
    elem += d.nelems;
  }
  for (size_t i = 0; i < m.terms.size(); ++i) {
    const Term& t = m.terms[i];
    const PostingSpan pl = t.Postings();
    if (pl.empty()) continue;  // a free id: an all-zero record
    TermRec r{};
    r.text_off = blob;
    r.text_len = static_cast<uint32_t>(t.Text().size());
    r.post_first = post;
    r.post_count = static_cast<uint32_t>(pl.size());
    r.hash = t.hash;
    std::memcpy(o + at.terms + i * sizeof(TermRec), &r, sizeof r);
    put(at.blob, &blob, t.Text());
    std::memcpy(o + at.posts + post * sizeof(Posting), pl.p, pl.size() * sizeof(Posting));
    post += pl.size();
  }
  std::memcpy(o + at.slots, m.slots.data(), m.slots.size() * sizeof(Impl::Slot));
  if (!m.free_docs.empty())
    std::memcpy(o + at.free_docs, m.free_docs.data(), m.free_docs.size() * 4);
  if (!m.free_terms.empty())
    std::memcpy(o + at.free_terms, m.free_terms.data(), m.free_terms.size() * 4);
  return Status::kOk;
}

Status Index::Deserialize(std::string_view data, std::unique_ptr<BytesOwner> keep, bool mapped,
                          bool cross_check, unsigned max_threads) {
  if (!keep || reinterpret_cast<uintptr_t>(data.data()) % 8 != 0) {
    // Serve a copy the index owns, 8-byte aligned (no shared_ptr in the core: its reference
    // count binds __libc_single_threaded@GLIBC_2.32, above the prebuilds' GLIBC_2.17 ceiling).
    struct Copy : BytesOwner {
      std::unique_ptr<uint64_t[]> words;
    };
    std::unique_ptr<Copy> copy(new Copy);
    copy->words.reset(new uint64_t[data.size() / 8 + 1]);
    if (!data.empty()) std::memcpy(copy->words.get(), data.data(), data.size());
    const std::string_view bytes(reinterpret_cast<const char*>(copy->words.get()), data.size());
    keep.reset();
    return Deserialize(bytes, std::move(copy), false, cross_check, max_threads);
  }
  std::unique_lock<WriterPreferringMutex> lock(impl_->mu);
  Impl& m = *impl_;
  if (m.live_docs != 0 || !m.docs.empty()) return Status::kInvalidArgument;
  constexpr Status kBad = Status::kInvalidArgument;
  const char* const p = data.data();
  if (data.size() < sizeof(IndexHeader)) return kBad;
  IndexHeader h;
  std::memcpy(&h, p, sizeof h);
  Layout at;
  if (!at.Compute(h, data.size()) || at.end != data.size()) return kBad;
  if (h.ndocs > 0xFFFFFFFFu || h.nterms > 0xFFFFFFFFu) return kBad;
  const size_t ndocs = static_cast<size_t>(h.ndocs);
  const size_t nterms = static_cast<size_t>(h.nterms);
  const DocRec* recs = reinterpret_cast<const DocRec*>(p + at.docs);
  const ElemSpan* elems = reinterpret_cast<const ElemSpan*>(p + at.elems);
  const TermRec* trecs = reinterpret_cast<const TermRec*>(p + at.terms);
  const Impl::Slot* slots_in = reinterpret_cast<const Impl::Slot*>(p + at.slots);
  const uint32_t* free_docs_in = reinterpret_cast<const uint32_t*>(p + at.free_docs);
  const uint32_t* free_terms_in = reinterpret_cast<const uint32_t*>(p + at.free_terms);
  const Posting* posts = reinterpret_cast<const Posting*>(p + at.posts);
  const uint8_t* codes = reinterpret_cast<const uint8_t*>(p + at.codes);
  const char* paths = p + at.paths;
  const char* blob = p + at.blob;
  const uint64_t blob_bytes = h.blob_bytes;
  auto in_blob = [&](uint64_t off, uint64_t len) {
    return off <= blob_bytes && len <= blob_bytes - off;
  };
  auto within = [](uint64_t off, uint64_t len, uint64_t size) {
    return off <= size && len <= size - off;
  };

  // The checks below read every record, term code and posting: on a large index they run on up
  // to 8 threads (the term records first, then documents and postings), each thread taking the
  // next chunk of records.
  unsigned threads = 1;
  if (h.nposts >= (uint64_t{1} << 18)) {
    threads = std::max(1u, std::min(8u, std::thread::hardware_concurrency()));
    if (max_threads != 0) threads = std::min(threads, max_threads);
  }
  std::atomic<bool> bad{false};

  // Terms first: which ids are live (documents' codes must name live terms).
  std::vector<Term> terms(nterms);
  std::vector<uint8_t> term_live(nterms, 0);  // compact: the checks below read it at random
  constexpr size_t kTermChunk = 8192;
  const size_t term_chunks = (nterms + kTermChunk - 1) / kTermChunk;
  ParallelChunks(threads, term_chunks, [&](size_t c, unsigned) {
    for (size_t t = c * kTermChunk, e = std::min(nterms, t + kTermChunk); t < e; ++t) {
      const TermRec& r = trecs[t];
      if (r.reserved != 0) return bad.store(true);
      if (r.post_count == 0) {
        if (r.text_off != 0 || r.text_len != 0 || r.post_first != 0 || r.hash != 0)
          return bad.store(true);
        continue;
      }
      if (r.text_len == 0 || !in_blob(r.text_off, r.text_len) || r.post_first > h.nposts ||
          r.post_count > h.nposts - r.post_first)
        return bad.store(true);
      Term& term = terms[t];
      term.mtext = blob + r.text_off;
      term.mtext_len = r.text_len;
      term.mpost = posts + r.post_first;
      term.mpost_len = r.post_count;
      term.hash = r.hash;
      if (HashTerm(term.Text()) != r.hash) return bad.store(true);
      term_live[t] = 1;
    }
  });
  if (bad) return kBad;
  // The lists lie back to back in term order, covering the posting array exactly.
  // Chunks of the posting check: runs of terms of about kPostChunk postings.
  constexpr uint64_t kPostChunk = uint64_t{1} << 16;
  std::vector<size_t> post_chunk_begin{0};
  uint64_t live_terms = 0;
  {
    uint64_t next_post = 0, chunk_posts = 0;
    for (size_t t = 0; t < nterms; ++t) {
      if (!term_live[t]) continue;
      if (trecs[t].post_first != next_post) return kBad;
      next_post += trecs[t].post_count;
      chunk_posts += trecs[t].post_count;
      ++live_terms;
      if (chunk_posts >= kPostChunk) {
        post_chunk_begin.push_back(t + 1);
        chunk_posts = 0;
      }
    }
    if (next_post != h.nposts || live_terms != h.live_terms) return kBad;
    if (post_chunk_begin.back() != nterms) post_chunk_begin.push_back(nterms);
  }
  // Without the cross-check no posting is read here (0 chunks): the term records above bound
  // each list inside the posting array, and the lists tile it exactly.
  const size_t post_chunks = cross_check ? post_chunk_begin.size() - 1 : 0;

  // Documents (bytes inside the blob, element spans inside the body, term codes naming live terms
  // in ascending order) and postings (sorted by doc, naming live documents), in parallel: the
  // postings and the codes must name the same (term, document) pairs — per document as many, and
  // the same commutative fingerprint overall.
  std::vector<Doc> docs(ndocs);
  std::vector<DocLens> lens(ndocs);
  std::vector<uint32_t> code_count(ndocs, 0);
  std::vector<uint8_t> doc_live(ndocs, 0);
  constexpr size_t kDocChunk = 1024;
  const size_t doc_chunks = (ndocs + kDocChunk - 1) / kDocChunk;
  struct Tally {
    std::vector<uint32_t> post_count;  // postings per document seen by this thread
    uint64_t print_codes = 0, print_posts = 0, live_docs = 0, nelems = 0;
    uint64_t len_sum[kFields] = {0, 0, 0};
  };
  std::vector<Tally> tally(threads);
  static const DocRec kFree{};
  auto doc_chunk = [&](size_t c, Tally& my) {
    for (size_t i = c * kDocChunk, e = std::min(ndocs, i + kDocChunk); i < e; ++i) {
      const DocRec& r = recs[i];
      lens[i] = DocLens{{0, 0, 0}};
      if (r.live == 0) {
        if (std::memcmp(&r, &kFree, sizeof r) != 0) return bad.store(true);
        continue;
      }
      if (r.live != 1 || r.path_len == 0 || !within(r.path_off, r.path_len, h.paths_bytes) ||
          !within(r.codes_off, r.codes_len, h.codes_bytes))
        return bad.store(true);
      uint64_t off = r.text_off;
      const uint64_t parts[3] = {r.title_len, r.body_len, r.ids_len};
      std::string_view views[3];
      for (int k = 0; k < 3; ++k) {
        if (!in_blob(off, parts[k])) return bad.store(true);
        views[k] = std::string_view(blob + off, static_cast<size_t>(parts[k]));
        off += parts[k];
      }
      if (r.elem_first > h.nelems || r.elem_count > h.nelems - r.elem_first) return bad.store(true);
      Doc& d = docs[i];
      d.path = std::string_view(paths + r.path_off, static_cast<size_t>(r.path_len));
      d.title = views[0];
      d.body = views[1];
      d.elem_ids = views[2];
      d.elems = elems + r.elem_first;
      d.nelems = static_cast<size_t>(r.elem_count);
      for (size_t k = 0; k < d.nelems; ++k) {
        const ElemSpan& sp = d.elems[k];
        if (sp.kind >= static_cast<uint32_t>(kElementKinds) || sp.begin > sp.end ||
            sp.end > d.body.size() || sp.id_off > d.elem_ids.size() ||
            sp.id_len > d.elem_ids.size() - sp.id_off)
          return bad.store(true);
      }
      my.nelems += r.elem_count;
      d.codes = codes + r.codes_off;
      d.ncodes = static_cast<size_t>(r.codes_len);
      uint32_t count = 0;
      uint64_t print = 0;
      if (cross_check && !CheckCodes(d.codes, d.ncodes, term_live.data(), nterms,
                                     static_cast<uint32_t>(i), &count, &print))
        return bad.store(true);
      my.print_codes += print;
      code_count[i] = count;
      for (int f = 0; f < kFields; ++f) {
        lens[i].len[f] = r.lens[f];
        my.len_sum[f] += r.lens[f];
      }
      d.live = true;
      doc_live[i] = 1;
      ++my.live_docs;
    }
  };
  auto term_chunk = [&](size_t c, Tally& my) {
    if (my.post_count.empty()) my.post_count.assign(ndocs, 0);
    uint32_t* counts = my.post_count.data();
    uint64_t print = 0;
    for (size_t t = post_chunk_begin[c], e = post_chunk_begin[c + 1]; t < e; ++t) {
      const Term& term = terms[t];
      uint32_t prev = 0;
      for (uint32_t k = 0; k < term.mpost_len; ++k) {
        const uint32_t doc = term.mpost[k].doc;
        if ((k > 0 && doc <= prev) || doc >= ndocs) return bad.store(true);
        ++counts[doc];
        print += PairPrint(static_cast<uint32_t>(t), doc);
        prev = doc;
      }
    }
    my.print_posts += print;
  };
  ParallelChunks(threads, doc_chunks + post_chunks, [&](size_t c, unsigned w) {
    if (bad) return;
    if (c < doc_chunks) {
      doc_chunk(c, tally[w]);
    } else {
      term_chunk(c - doc_chunks, tally[w]);
    }
  });
  if (bad) return kBad;
  uint64_t print_codes = 0, print_posts = 0, live_docs = 0, nelems = 0;
  uint64_t len_sum[kFields] = {0, 0, 0};
  for (Tally& t : tally) {
    print_codes += t.print_codes;
    print_posts += t.print_posts;
    live_docs += t.live_docs;
    nelems += t.nelems;
    for (int f = 0; f < kFields; ++f) len_sum[f] += t.len_sum[f];
    if (t.post_count.empty()) continue;
    for (size_t i = 0; i < ndocs; ++i) code_count[i] -= t.post_count[i];  // wraps on a mismatch
    std::vector<uint32_t>().swap(t.post_count);
  }
  if (print_posts != print_codes || live_docs != h.live_docs || nelems > h.nelems) return kBad;
  for (uint32_t c : code_count)
    if (c != 0) return kBad;  // (a dead document has no codes, so no postings either)
  for (int f = 0; f < kFields; ++f)
    if (len_sum[f] != h.len_sum[f]) return kBad;
  std::unordered_map<std::string_view, uint32_t> by_path;
  by_path.reserve(static_cast<size_t>(live_docs));
  for (size_t i = 0; i < ndocs; ++i) {
    if (doc_live[i] && !by_path.emplace(docs[i].path, static_cast<uint32_t>(i)).second)
      return kBad;  // two documents at one path
  }

  // Free lists: every free slot or id exactly once.
  std::vector<uint8_t> seen(std::max(ndocs, nterms), 0);
  if (h.nfree_docs != ndocs - live_docs || h.nfree_terms != nterms - live_terms) return kBad;
  std::vector<uint32_t> free_docs(free_docs_in, free_docs_in + h.nfree_docs);
  for (uint32_t id : free_docs) {
    if (id >= ndocs || doc_live[id] || seen[id]) return kBad;
    seen[id] = 1;
  }
  std::fill(seen.begin(), seen.end(), 0);
  std::vector<uint32_t> free_terms(free_terms_in, free_terms_in + h.nfree_terms);
  for (uint32_t id : free_terms) {
    if (id >= nterms || term_live[id] || seen[id]) return kBad;
    seen[id] = 1;
  }

  // The dictionary: a power of two ≥ 64 slots under 70% load, each live term in exactly one slot
  // with its hash, reachable from its home slot without crossing an empty one.
  const uint64_t nslots = h.nslots;
  if (nslots < 64 || (nslots & (nslots - 1)) != 0 || live_terms * 10 > nslots * 7) return kBad;
  std::fill(seen.begin(), seen.end(), 0);
  uint64_t placed = 0;
  for (uint64_t i = 0; i < nslots; ++i) {
    const Impl::Slot& sl = slots_in[i];
    if (sl.id_plus_1 == 0) {
      if (sl.hash != 0) return kBad;
      continue;
    }
    const uint32_t id = sl.id_plus_1 - 1;
    if (id >= nterms || !term_live[id] || terms[id].hash != sl.hash || seen[id]) return kBad;
    seen[id] = 1;
    ++placed;
  }
  if (placed != live_terms) return kBad;
  {
    const uint64_t mask = nslots - 1;
    uint64_t empty = 0;
    while (slots_in[empty].id_plus_1 != 0) ++empty;  // exists: load < 70%
    uint64_t run_start = 0, probes = 0;
    bool in_run = false;
    for (uint64_t k = 1; k <= nslots; ++k) {
      const uint64_t i = (empty + k) & mask;
      if (slots_in[i].id_plus_1 == 0) {
        in_run = false;
        continue;
      }
      if (!in_run) {
        run_start = i;
        in_run = true;
      }
      // The home slot lies in [run_start, i] (cyclically).
      const uint64_t home = slots_in[i].hash & mask;
      const uint64_t dist_home = (i - home) & mask;
      const uint64_t dist_run = (i - run_start) & mask;
      if (dist_home > dist_run) return kBad;
      // No other live term with the same text (a query finds the first on the probe path and
      // would miss the other's documents): equal texts have equal hashes, so it would lie on
      // this slot's probe path. The paths' total length is bounded (at most 70% load keeps it
      // near one slot per term), so a crafted table cannot make this quadratic.
      probes += dist_home;
      if (probes > 32 * nslots) return kBad;
      for (uint64_t d = dist_home; d > 0; --d) {
        const Impl::Slot& other = slots_in[(i - d) & mask];
        if (other.hash == slots_in[i].hash &&  // rare: the texts are read only then
            terms[other.id_plus_1 - 1].Text() == terms[slots_in[i].id_plus_1 - 1].Text())
          return kBad;
      }
    }
  }
  std::vector<Impl::Slot> slots(slots_in, slots_in + nslots);
  // Signals set before loading attach now (looked up before anything changes: may allocate).
  std::vector<const Signals*> signals;
  if (!m.signals_by_path.empty()) {
    signals.assign(ndocs, nullptr);
    for (size_t i = 0; i < ndocs; ++i) {
      if (!docs[i].live) continue;
      auto it = m.signals_by_path.find(std::string(docs[i].path));
      if (it != m.signals_by_path.end()) signals[i] = &it->second;
    }
  }

  // Nothing below allocates or fails.
  m.docs.swap(docs);
  m.lens.swap(lens);
  m.free_docs.swap(free_docs);
  m.by_path.swap(by_path);
  m.live_docs = live_docs;
  for (int f = 0; f < kFields; ++f) m.len_sum[f] = len_sum[f];
  m.postings = h.nposts;
  m.generation = h.generation + 1;
  // The norms are recomputed by the first search: whatever the file's generation (it is not
  // checked), the mark of the norms computed differs from it (no search reads them now).
  m.norm_generation.store(m.generation - 1, std::memory_order_relaxed);
  m.terms.swap(terms);
  m.free_terms.swap(free_terms);
  m.live_terms = live_terms;
  m.slots.swap(slots);
  m.mapped_refs = live_docs + live_terms;
  if (m.mapped_refs > 0) {
    m.backing = std::move(keep);
    m.backing_bytes = data.size();
    m.backing_mapped = mapped;
  }
  m.docs_with_signals = 0;
  for (size_t i = 0; i < signals.size(); ++i) {
    if (signals[i] == nullptr) continue;
    m.docs[i].has_signals = true;
    m.docs[i].signals = *signals[i];
    ++m.docs_with_signals;
  }
  return Status::kOk;
}

}  // namespace recall
}  // namespace claw
