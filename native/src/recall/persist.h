// claw::recall persisted index files: one file per tree in lib/memory's state directory, holding
// the recall index (Index::Serialize) and the caller's manifest of the files it was built from
// (lib/memory: path, stamp, claw_id per note), so a process can answer without re-reading and
// re-parsing an unchanged tree.
//
// File layout (little-endian; every section starts on an 8-byte boundary so the file can be mapped
// and read in place):
//   0   magic         8 bytes "CLAWRIX\n"
//   8   format        u32  kPersistFormat (this layout)
//   12  index format  u32  kIndexFormat (Index::Serialize's layout, see index.cc)
//   16  options       u64  OptionsKey(options): tokenizer settings and limits the terms depend on
//   24  meta length   u64
//   32  index length  u64  (unpadded)
//   40  checksum      u64  ChecksumBody of everything from byte 48 to the end
//   48  meta bytes, padded to 8; then the index bytes, padded to 8.
// File size = 48 + both padded lengths.
// A file is served only when all of these hold; anything else (torn write, truncation, a flipped
// bit, another version, other options) is reported as kCorrupt / kVersion / kOptions and the caller
// rebuilds. Writing is atomic: a unique temp file in the same folder, written, fsync'ed, renamed
// over the target, then the folder fsync'ed; a reader sees the old file or the new one, never a
// mix.
//
// Loading maps the file (read-only, private) instead of copying it: after the checksum and every
// structural check, the index serves documents' texts, element spans, term codes and postings
// straight from the mapping, and a document or term changed later gets its own copy (copy on
// write). The mapping is unmapped when nothing refers to it any more (at the latest when the
// index is destroyed). Our writers never change a file in place (a new file is renamed over the
// old one, whose mapped bytes stay intact), so a mapped file never changes under a reader. Outside
// the contract, as for LMDB's or SQLite's memory-mapped I/O: another program that truncates or
// rewrites the file IN PLACE while an index has it mapped makes later reads fault (SIGBUS) or see
// other bytes. Replace such a file by renaming a new one over it, or delete it.
//
// Checked once: the first load of a file checks everything above, the index section's
// cross-checks included (Index::Deserialize: every posting and term code, most of a load's work),
// then records the file as checked in `<path>.checked` (kCheckedSuffix): its stamp (device,
// inode, size, mtime ns, ctime ns) and checksum. A later load of a file with that same stamp and
// checksum still verifies the checksum (any flipped bit, whenever it happened) and bounds every
// record, but skips the cross-checks. Our writers rename a new file (a new inode) over the old
// one, so the next load of a saved index checks it in full. The record is a cache, not a
// signature: what it saves is the defence against a crafted file whose checksum is right, and
// whoever can write the state directory can forge the record as they can forge the index and the
// notes it indexes. A record that is missing, torn or another file's only costs the full check;
// writing it is best-effort.
//
// Format history: 1 read the whole file into a buffer and copied it into the index (one checksum
// over the body); 2 held fixed-size, aligned records read in place and a chunked checksum computed
// in parallel; 3 (this one) keeps the documents' term codes and paths in sections of their own
// (the load-time checks stream through them). A file of another format is kVersion (rebuilt,
// never served).
#ifndef CLAW_RECALL_PERSIST_H_
#define CLAW_RECALL_PERSIST_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "index.h"

namespace claw {
namespace recall {

constexpr uint32_t kPersistFormat = 3;
constexpr uint32_t kIndexFormat = 3;

enum class PersistStatus : int {
  kOk = 0,
  kMissing = 1,   // no file
  kCorrupt = 2,   // wrong magic, short, length mismatch, checksum mismatch, bad index section
  kVersion = 3,   // written by another format version
  kOptions = 4,   // built with other tokenizer options or limits
  kIo = 5,        // read/write failure (errno in *err)
  kNotEmpty = 6,  // LoadIndexFile into an index that already holds documents
  kNoMemory = 7,
};

// "RECALL_PERSIST_CORRUPT", ... for host-language error codes.
const char* PersistStatusName(PersistStatus s);

// A fast non-cryptographic 64-bit hash (corruption detection, not an adversary).
uint64_t Hash64(const uint8_t* data, size_t n, uint64_t seed = 0);

// The file checksum: Hash64 of each 4 MiB chunk of `data` (seeded with the chunk's index), then
// Hash64 of those hashes seeded with n. Chunks are hashed on up to 8 threads for large inputs.
// `max_threads` caps them (0: one per core, at most 8).
uint64_t ChecksumBody(const uint8_t* data, size_t n, unsigned max_threads = 0);

// What the persisted terms depend on: a mismatch means the file cannot be served.
uint64_t OptionsKey(const Options& o);

// Appends little-endian values and length-prefixed byte strings to a buffer.
class ByteWriter {
 public:
  explicit ByteWriter(std::string* out) : out_(out) {}
  void U8(uint8_t v) { out_->push_back(static_cast<char>(v)); }
  void U32(uint32_t v) { Raw(&v, 4); }
  void U64(uint64_t v) { Raw(&v, 8); }
  void F64(double v) { Raw(&v, 8); }
  void Bytes(std::string_view s) {
    U64(s.size());
    out_->append(s.data(), s.size());
  }
  void Raw(const void* p, size_t n) {
    if (n > 0) out_->append(static_cast<const char*>(p), n);
  }

 private:
  std::string* out_;
};

// Reads what ByteWriter wrote; any read past the end sets failed() and returns zeros/empties.
class ByteReader {
 public:
  ByteReader(const uint8_t* p, size_t n) : p_(p), end_(p + n) {}
  bool failed() const { return failed_; }
  bool done() const { return p_ == end_; }
  size_t left() const { return static_cast<size_t>(end_ - p_); }
  uint8_t U8() {
    uint8_t v = 0;
    Raw(&v, 1);
    return v;
  }
  uint32_t U32() {
    uint32_t v = 0;
    Raw(&v, 4);
    return v;
  }
  uint64_t U64() {
    uint64_t v = 0;
    Raw(&v, 8);
    return v;
  }
  double F64() {
    double v = 0;
    Raw(&v, 8);
    return v;
  }
  // A length-prefixed byte string (a view into the input).
  std::string_view Bytes() {
    const uint64_t n = U64();
    if (failed_ || n > left()) {
      failed_ = true;
      return std::string_view();
    }
    std::string_view s(reinterpret_cast<const char*>(p_), static_cast<size_t>(n));
    p_ += n;
    return s;
  }
  bool Raw(void* dst, size_t n) {
    if (n == 0) return !failed_;
    if (failed_ || n > left()) {
      failed_ = true;
      return false;
    }
    std::memcpy(dst, p_, n);
    p_ += n;
    return true;
  }
  // A count of items each at least `min_item_bytes` long: fails when the rest cannot hold them
  // (so a corrupt count never makes the reader allocate more than the file could describe).
  uint64_t Count(size_t min_item_bytes) {
    const uint64_t n = U64();
    if (!failed_ && min_item_bytes > 0 && n > left() / min_item_bytes) failed_ = true;
    return failed_ ? 0 : n;
  }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
  bool failed_ = false;
};

// Writes `index` and `meta` to `path` atomically. *err gets errno on kIo.
PersistStatus SaveIndexFile(const std::string& path, const Index& index, std::string_view meta,
                            int* err = nullptr);

// The record of a file checked in full ("Checked once"): `<path>` + kCheckedSuffix.
constexpr const char kCheckedSuffix[] = ".checked";

// What a load did beyond its status.
struct LoadReport {
  bool cross_checked = false;  // every posting and term code was checked (not a recorded file)
  bool recorded = false;       // this load recorded the file as checked
};

// Loads `path` into `index` (which must hold no documents) and returns the manifest in *meta.
// The index then serves the file's bytes from a private read-only mapping (see above). On
// anything but kOk the index is left empty and nothing stays mapped. A failed mmap is kNoMemory
// (ENOMEM) or kIo (errno in *err). `report` (optional) says whether the file was cross-checked
// and recorded. `max_threads` caps the threads of the checksum and the checks (0: one per core, at
// most 8; 1: all on the calling thread, for a load meant to leave the other cores to other work).
PersistStatus LoadIndexFile(const std::string& path, Index* index, std::string* meta,
                            int* err = nullptr, LoadReport* report = nullptr,
                            unsigned max_threads = 0);

// Reads only the manifest of `path` (header and manifest bytes, no mapping), UNVERIFIED: the
// checksum is not computed and the index section not read. For work that can start before the
// load and is confirmed by it (lib/memory/prefetch.ts starts the tree walk with it, then keeps the
// walk only when LoadIndexFile returns the same manifest). kMissing, kIo (errno in *err), kCorrupt
// (not a whole header, or a manifest past the end) or kVersion.
PersistStatus PeekIndexMeta(const std::string& path, std::string* meta, int* err = nullptr);

}  // namespace recall
}  // namespace claw

#endif  // CLAW_RECALL_PERSIST_H_
