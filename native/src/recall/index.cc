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

struct Term {
  std::string text;
  uint32_t hash = 0;
  std::vector<Posting> postings;  // sorted by doc; empty ⇔ the term id is free
};

struct DocLens {
  uint32_t len[kFields];
};

// A v4 element's span of the body, its kind and id.
struct ElemSpan {
  uint32_t begin;
  uint32_t end;
  ElementKind kind;
  std::string id;
};

struct Doc {
  std::string path;
  std::string title;
  std::string body;
  std::vector<ElemSpan> elems;  // v4 topics only
  // The term ids of this document's postings, ascending, as LEB128 varints of the gaps (about one
  // byte per term instead of four).
  std::vector<uint8_t> term_codes;
  bool live = false;
  bool has_signals = false;
  Signals signals;
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
void ForEachTermId(const std::vector<uint8_t>& codes, F&& f) {
  uint32_t id = 0;
  size_t i = 0;
  while (i < codes.size()) {
    uint32_t gap = 0;
    for (int shift = 0; i < codes.size(); shift += 7) {
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
                std::vector<ElemSpan>* elems) {
  doc->Clear();
  elems->clear();
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
    elems->push_back(
        ElemSpan{static_cast<uint32_t>(begin), static_cast<uint32_t>(body.size()), e.kind, e.id});
  }
}

void Prepare(std::string_view path, std::string_view markdown, const TokenizerOptions& topts,
             PrepareScratch* scratch, Prepared* out) {
  ParsedDoc& doc = scratch->parsed;
  out->elems.clear();
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
    TopicToDoc(path, scratch->topic, &doc, &out->elems);
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
  std::unordered_map<std::string, uint32_t> by_path;
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

  void AttachSignals(uint32_t doc) {
    Doc& d = docs[doc];
    auto it = signals_by_path.find(d.path);
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
      if (slots[i].hash == hash && terms[slots[i].id_plus_1 - 1].text == text) {
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
      free_terms.pop_back();
    } else {
      id = static_cast<uint32_t>(terms.size());
      terms.emplace_back();
    }
    terms[id].text.assign(text.data(), text.size());
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
    std::string().swap(t.text);
    std::vector<Posting>().swap(t.postings);
    t.hash = 0;
    free_terms.push_back(id);
    --live_terms;
  }

  // ---- documents ----
  void RemovePostings(uint32_t doc) {
    Doc& d = docs[doc];
    size_t removed = 0;
    ForEachTermId(d.term_codes, [&](uint32_t tid) {
      ++removed;
      std::vector<Posting>& pl = terms[tid].postings;
      auto it = std::lower_bound(pl.begin(), pl.end(), doc,
                                 [](const Posting& p, uint32_t v) { return p.doc < v; });
      if (it != pl.end() && it->doc == doc) pl.erase(it);
      if (pl.empty()) {
        ReleaseTerm(tid);
      } else if (pl.capacity() > 64 && pl.size() * 4 < pl.capacity()) {
        pl.shrink_to_fit();
      }
    });
    postings -= removed;
    d.term_codes.clear();
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
    auto it = by_path.find(p->path);
    const bool existed = it != by_path.end();
    if (existed) {
      doc = it->second;
      RemovePostings(doc);
    } else {
      if (!free_docs.empty()) {
        doc = free_docs.back();
      } else {
        doc = static_cast<uint32_t>(docs.size());
        docs.emplace_back();
        lens.push_back(DocLens{{0, 0, 0}});
        free_docs.push_back(doc);
      }
      by_path.emplace(p->path, doc);
      free_docs.pop_back();
      ++live_docs;
    }
    Doc& d = docs[doc];
    d.live = true;
    d.path.swap(p->path);
    d.title.swap(p->title);
    d.body.swap(p->body);
    d.elems.swap(p->elems);
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
    d.term_codes.assign(codes_.begin(), codes_.end());  // exact size when it grows
    // The highest slot sorts after every other posting: append without reading the list's tail
    // (that read is a cache miss per posting, most of a fresh build's update time).
    const bool last_slot = doc + 1 == docs.size();
    for (size_t i = 0; i < tids_.size(); ++i) {
      if (i + kAhead < tids_.size()) {
        const std::vector<Posting>& ahead = terms[tids_[i + kAhead]].postings;
        Prefetch(ahead.data() + ahead.size());  // where that term's posting will be written
      }
      const PreparedTerm& pt = p->terms[i];
      const Posting posting{doc, static_cast<uint16_t>(std::min<uint32_t>(pt.tf[kBody], 65535)),
                            static_cast<uint8_t>(std::min<uint32_t>(pt.tf[kTitle], 255)),
                            static_cast<uint8_t>(std::min<uint32_t>(pt.tf[kHeadings], 255))};
      std::vector<Posting>& pl = terms[tids_[i]].postings;
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
    auto it = by_path.find(std::string(path));
    if (it == by_path.end()) return Status::kNotFound;
    const uint32_t doc = it->second;
    RemovePostings(doc);
    by_path.erase(it);
    Doc& d = docs[doc];
    d.live = false;
    std::string().swap(d.path);
    std::string().swap(d.title);
    std::string().swap(d.body);
    std::vector<ElemSpan>().swap(d.elems);
    std::vector<uint8_t>().swap(d.term_codes);
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
      const std::vector<Posting>& pl = terms[tid].postings;
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
      if (d.elems.size() == 1) {
        // One element holds the whole body: it is the best one when the body holds a query term
        // (known from the postings, no tokenizing).
        present = BodyTermsPresent(h.second, s);
        if (present > 0) top = &d.elems[0];
      } else if (!d.elems.empty()) {
        top = BestElement(d, s, &excerpt_tok, &present);
      }
      if (top != nullptr) {
        if (qo.excerpt_chars > 0) {
          const std::string_view text =
              std::string_view(d.body).substr(top->begin, top->end - top->begin);
          BuildExcerpt(text, s->qviews, present, qo.excerpt_chars, &excerpt_tok,
                       &s->excerpt_scratch, &s->excerpt);
        } else {
          s->excerpt.clear();
        }
        cb(ctx, HitView{d.path, d.title, s->excerpt, h.first, top->id, ElementKindName(top->kind)});
        continue;
      }
      present = 0;
      if (qo.excerpt_chars > 0) {
        for (uint32_t tid : s->qterm_ids) {
          const std::vector<Posting>& pl = terms[tid].postings;
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
      const std::vector<Posting>& pl = terms[tid].postings;
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
    tf.assign(d.elems.size() * nq, 0);
    lens_e.assign(d.elems.size(), 0);
    for (size_t e = 0; e < d.elems.size(); ++e) {
      const ElemSpan& sp = d.elems[e];
      const std::string_view text = std::string_view(d.body).substr(sp.begin, sp.end - sp.begin);
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
    const double avg = total_len / static_cast<double>(d.elems.size());
    const ElemSpan* best = nullptr;
    double best_score = 0;
    for (size_t e = 0; e < d.elems.size(); ++e) {
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
      b += HeapBytes(d.path) + HeapBytes(d.title) + HeapBytes(d.body) + HeapBytes(d.term_codes);
      b += HeapBytes(d.elems);
      for (const ElemSpan& e : d.elems) b += HeapBytes(e.id);
    }
    for (const auto& kv : signals_by_path) b += 64 + HeapBytes(kv.first);
    for (const auto& kv : warned_hash) b += 48 + HeapBytes(kv.first);
    for (const FileWarning& w : pending_warnings) {
      b += sizeof(w) + HeapBytes(w.path) + HeapBytes(w.code) + HeapBytes(w.reason);
    }
    // unordered_map: bucket array + one node (next pointer, key, value, cached hash) per entry.
    b += by_path.bucket_count() * sizeof(void*);
    for (const auto& kv : by_path) {
      b += sizeof(void*) + sizeof(kv) + sizeof(size_t) + HeapBytes(kv.first);
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
  return impl_->by_path.count(std::string(path)) != 0;
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
// Layout kIndexFormat (little-endian): documents (live flag; path, title, body, v4 element spans,
// term codes, field lengths), free document slots, totals, terms (text, hash, raw postings), free
// term ids, the dictionary's slots. Signals and pending warnings are not persisted (the caller sets
// signals again; warnings were handed out when the documents were first indexed).

Status Index::Serialize(std::string* out) const {
  std::shared_lock<WriterPreferringMutex> lock(impl_->mu);
  const Impl& m = *impl_;
  ByteWriter w(out);
  w.U64(m.docs.size());
  for (size_t i = 0; i < m.docs.size(); ++i) {
    const Doc& d = m.docs[i];
    w.U8(d.live ? 1 : 0);
    if (!d.live) continue;
    w.Bytes(d.path);
    w.Bytes(d.title);
    w.Bytes(d.body);
    w.U64(d.elems.size());
    for (const ElemSpan& e : d.elems) {
      w.U32(e.begin);
      w.U32(e.end);
      w.U8(static_cast<uint8_t>(e.kind));
      w.Bytes(e.id);
    }
    w.Bytes(
        std::string_view(reinterpret_cast<const char*>(d.term_codes.data()), d.term_codes.size()));
    for (int f = 0; f < kFields; ++f) w.U32(m.lens[i].len[f]);
  }
  w.U64(m.free_docs.size());
  for (uint32_t id : m.free_docs) w.U32(id);
  w.U64(m.live_docs);
  for (int f = 0; f < kFields; ++f) w.U64(m.len_sum[f]);
  w.U64(m.postings);
  w.U64(m.generation);
  w.U64(m.terms.size());
  for (const Term& t : m.terms) {
    w.Bytes(t.text);
    w.U32(t.hash);
    w.U64(t.postings.size());
    w.Raw(t.postings.data(), t.postings.size() * sizeof(Posting));
  }
  w.U64(m.free_terms.size());
  for (uint32_t id : m.free_terms) w.U32(id);
  w.U64(m.live_terms);
  w.U64(m.slots.size());
  w.Raw(m.slots.data(), m.slots.size() * sizeof(Impl::Slot));
  return Status::kOk;
}

Status Index::Deserialize(std::string_view data) {
  std::unique_lock<WriterPreferringMutex> lock(impl_->mu);
  Impl& m = *impl_;
  if (m.live_docs != 0 || !m.docs.empty()) return Status::kInvalidArgument;
  ByteReader r(reinterpret_cast<const uint8_t*>(data.data()), data.size());
  std::vector<Doc> docs;
  std::vector<DocLens> lens;
  const uint64_t ndocs = r.Count(1);
  docs.resize(ndocs);
  lens.resize(ndocs);
  std::unordered_map<std::string, uint32_t> by_path;
  by_path.reserve(ndocs);
  for (uint64_t i = 0; i < ndocs && !r.failed(); ++i) {
    Doc& d = docs[i];
    d.live = r.U8() != 0;
    lens[i] = DocLens{{0, 0, 0}};
    if (!d.live) continue;
    d.path.assign(r.Bytes());
    d.title.assign(r.Bytes());
    d.body.assign(r.Bytes());
    const uint64_t nel = r.Count(17);
    d.elems.resize(nel);
    for (ElemSpan& e : d.elems) {
      e.begin = r.U32();
      e.end = r.U32();
      const uint8_t kind = r.U8();
      if (kind >= kElementKinds || e.begin > e.end || e.end > d.body.size())
        return Status::kInvalidArgument;
      e.kind = static_cast<ElementKind>(kind);
      e.id.assign(r.Bytes());
    }
    const std::string_view codes = r.Bytes();
    d.term_codes.assign(codes.begin(), codes.end());
    for (int f = 0; f < kFields; ++f) lens[i].len[f] = r.U32();
    if (d.path.empty() || !by_path.emplace(d.path, static_cast<uint32_t>(i)).second)
      return Status::kInvalidArgument;
  }
  std::vector<uint32_t> free_docs(r.Count(4));
  for (uint32_t& id : free_docs) {
    id = r.U32();
    if (id >= ndocs || docs[id].live) return Status::kInvalidArgument;
  }
  const uint64_t live_docs = r.U64();
  uint64_t len_sum[kFields];
  for (int f = 0; f < kFields; ++f) len_sum[f] = r.U64();
  const uint64_t postings = r.U64();
  const uint64_t generation = r.U64();
  const uint64_t nterms = r.Count(20);
  std::vector<Term> terms(nterms);
  for (Term& t : terms) {
    t.text.assign(r.Bytes());
    t.hash = r.U32();
    const uint64_t np = r.Count(sizeof(Posting));
    t.postings.resize(np);
    r.Raw(t.postings.data(), np * sizeof(Posting));
    for (const Posting& p : t.postings)
      if (p.doc >= ndocs || !docs[p.doc].live) return Status::kInvalidArgument;
    if (r.failed()) break;
  }
  std::vector<uint32_t> free_terms(r.Count(4));
  for (uint32_t& id : free_terms) {
    id = r.U32();
    if (id >= nterms) return Status::kInvalidArgument;
  }
  const uint64_t live_terms = r.U64();
  const uint64_t nslots = r.Count(sizeof(Impl::Slot));
  if (r.failed() || nslots < 64 || (nslots & (nslots - 1)) != 0 || by_path.size() != live_docs)
    return Status::kInvalidArgument;
  std::vector<Impl::Slot> slots(nslots);
  r.Raw(slots.data(), nslots * sizeof(Impl::Slot));
  uint64_t placed = 0;
  for (const Impl::Slot& sl : slots) {
    if (sl.id_plus_1 == 0) continue;
    if (sl.id_plus_1 > nterms || terms[sl.id_plus_1 - 1].hash != sl.hash)
      return Status::kInvalidArgument;
    ++placed;
  }
  if (r.failed() || !r.done() || placed != live_terms) return Status::kInvalidArgument;
  m.docs.swap(docs);
  m.lens.swap(lens);
  m.free_docs.swap(free_docs);
  m.by_path.swap(by_path);
  m.live_docs = live_docs;
  for (int f = 0; f < kFields; ++f) m.len_sum[f] = len_sum[f];
  m.postings = postings;
  m.generation = generation + 1;  // norms are recomputed by the first search
  m.terms.swap(terms);
  m.free_terms.swap(free_terms);
  m.live_terms = live_terms;
  m.slots.swap(slots);
  m.docs_with_signals = 0;
  for (Doc& d : m.docs) {
    d.has_signals = false;
    if (d.live && !m.signals_by_path.empty()) {
      m.AttachSignals(static_cast<uint32_t>(&d - m.docs.data()));
    }
  }
  return Status::kOk;
}

}  // namespace recall
}  // namespace claw
