// See persist.h.
#include "persist.h"

#include "sys_stat.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <memory>
#include <new>
#include <string>
#include <thread>
#include <vector>

#if defined(__cpp_exceptions) || defined(__EXCEPTIONS) || defined(_CPPUNWIND)
#define CLAW_RECALL_PERSIST_EXCEPTIONS 1
#else
#define CLAW_RECALL_PERSIST_EXCEPTIONS 0
#endif

namespace claw {
namespace recall {

namespace {

constexpr char kMagic[8] = {'C', 'L', 'A', 'W', 'R', 'I', 'X', '\n'};
constexpr size_t kHeaderBytes = 48;

size_t Pad8(size_t n) { return (n + 7) & ~size_t{7}; }

uint64_t Mix(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}

bool WriteAll(int fd, const char* p, size_t n, int* err) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      *err = errno;
      return false;
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

std::string FolderOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// A read-only private mapping of a whole file, unmapped with its owner.
struct Mapping : BytesOwner {
  void* addr;
  size_t len;
  Mapping(void* a, size_t n) : addr(a), len(n) {}
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  ~Mapping() override { ::munmap(addr, len); }
};

constexpr size_t kChunkBytes = size_t{4} << 20;      // checksum chunk
constexpr size_t kParallelBytes = size_t{16} << 20;  // smaller bodies: one thread

}  // namespace

uint64_t ChecksumBody(const uint8_t* data, size_t n, unsigned max_threads) {
  // Hash64 of each 4 MiB chunk (seeded with its index), then Hash64 of those hashes: chunks are
  // hashed on up to 8 threads, each thread taking the next chunk (a big file is read once, in
  // parallel, from the page cache).
  const size_t chunks = n == 0 ? 0 : (n - 1) / kChunkBytes + 1;
  std::vector<uint64_t> sums(chunks);
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t c = next++; c < chunks; c = next++) {
      const size_t at = c * kChunkBytes;
      sums[c] = Hash64(data + at, std::min(kChunkBytes, n - at), c);
    }
  };
  unsigned threads = 1;
  if (n >= kParallelBytes)
    threads = std::max(
        1u, std::min({8u, std::thread::hardware_concurrency(), static_cast<unsigned>(chunks)}));
  if (max_threads != 0) threads = std::min(threads, max_threads);
  std::vector<std::thread> helpers;
  for (unsigned t = 1; t < threads; ++t) {
#if CLAW_RECALL_PERSIST_EXCEPTIONS
    try {
      helpers.emplace_back(work);
    } catch (...) {
      break;  // this thread and the helpers already running hash the rest
    }
#else
    helpers.emplace_back(work);
#endif
  }
  work();
  for (std::thread& t : helpers) t.join();
  return Hash64(reinterpret_cast<const uint8_t*>(sums.data()), sums.size() * 8, n);
}

const char* PersistStatusName(PersistStatus s) {
  switch (s) {
    case PersistStatus::kOk:
      return "RECALL_PERSIST_OK";
    case PersistStatus::kMissing:
      return "RECALL_PERSIST_MISSING";
    case PersistStatus::kCorrupt:
      return "RECALL_PERSIST_CORRUPT";
    case PersistStatus::kVersion:
      return "RECALL_PERSIST_VERSION";
    case PersistStatus::kOptions:
      return "RECALL_PERSIST_OPTIONS";
    case PersistStatus::kIo:
      return "RECALL_PERSIST_IO";
    case PersistStatus::kNotEmpty:
      return "RECALL_PERSIST_NOT_EMPTY";
    case PersistStatus::kNoMemory:
      return "RECALL_PERSIST_NO_MEMORY";
  }
  return "RECALL_PERSIST_UNKNOWN";
}

uint64_t Hash64(const uint8_t* data, size_t n, uint64_t seed) {
  // Four independent lanes over 32-byte blocks (multiply-xorshift), folded with the tail and the
  // length: ~GB/s, and any single flipped bit changes the result.
  uint64_t lane[4] = {seed ^ 0x9e3779b97f4a7c15ull, seed ^ 0xbf58476d1ce4e5b9ull,
                      seed ^ 0x94d049bb133111ebull, seed ^ 0x2545f4914f6cdd1dull};
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    for (int k = 0; k < 4; ++k) {
      uint64_t v;
      std::memcpy(&v, data + i + 8 * k, 8);
      lane[k] = (lane[k] ^ v) * 0x9fb21c651e98df25ull;
      lane[k] ^= lane[k] >> 29;
    }
  }
  uint64_t h = Mix(lane[0]) ^ Mix(lane[1] + 1) ^ Mix(lane[2] + 2) ^ Mix(lane[3] + 3);
  for (; i < n; ++i) h = (h ^ data[i]) * 0x100000001b3ull;
  return Mix(h ^ (static_cast<uint64_t>(n) * 0x9e3779b97f4a7c15ull));
}

uint64_t OptionsKey(const Options& o) {
  std::string b;
  ByteWriter w(&b);
  w.U8(o.tokenizer.stop_words ? 1 : 0);
  w.U8(o.tokenizer.plural_folding ? 1 : 0);
  w.U64(o.max_document_bytes);
  w.U64(o.max_path_bytes);
  w.U32(kIndexFormat);
  return Hash64(reinterpret_cast<const uint8_t*>(b.data()), b.size());
}

namespace {

PersistStatus SaveIndexFileImpl(const std::string& path, const Index& index, std::string_view meta,
                                int* err) {
  // Body: the manifest, padded to 8, then the index bytes (written straight after it), padded.
  std::string body;
  body.append(meta.data(), meta.size());
  body.resize(Pad8(body.size()), '\0');
  const size_t index_at = body.size();
  if (index.Serialize(&body) != Status::kOk) return PersistStatus::kNoMemory;
  const size_t index_len = body.size() - index_at;
  body.resize(Pad8(body.size()), '\0');

  std::string head;
  ByteWriter w(&head);
  w.Raw(kMagic, 8);
  w.U32(kPersistFormat);
  w.U32(kIndexFormat);
  w.U64(OptionsKey(index.options()));
  w.U64(meta.size());
  w.U64(index_len);
  w.U64(ChecksumBody(reinterpret_cast<const uint8_t*>(body.data()), body.size()));

  // A unique temp name beside the target: two writers never share one; rename is atomic.
  static std::atomic<uint64_t> seq{0};
  const uint64_t now =
      static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  const std::string tmp = path + ".tmp-" + std::to_string(::getpid()) + "-" +
                          std::to_string(seq.fetch_add(1)) + "-" + std::to_string(now % 1000000);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    *err = errno;
    return PersistStatus::kIo;
  }
  bool ok =
      WriteAll(fd, head.data(), head.size(), err) && WriteAll(fd, body.data(), body.size(), err);
  if (ok && ::fsync(fd) != 0) {
    *err = errno;
    ok = false;
  }
  if (::close(fd) != 0 && ok) {
    *err = errno;
    ok = false;
  }
  if (ok && ::rename(tmp.c_str(), path.c_str()) != 0) {
    *err = errno;
    ok = false;
  }
  if (!ok) {
    ::unlink(tmp.c_str());
    return PersistStatus::kIo;
  }
  const int dfd = ::open(FolderOf(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);  // the rename itself survives a crash
    ::close(dfd);
  }
  return PersistStatus::kOk;
}

// "Checked once" (persist.h): the record of a file checked in full. 72 bytes: magic, the two
// format numbers, the file's stamp and checksum, then Hash64 of the 64 bytes before it.
constexpr char kCheckedMagic[8] = {'C', 'L', 'A', 'W', 'R', 'I', 'X', 'C'};
constexpr size_t kCheckedBytes = 72;

uint64_t StatNs(const struct timespec& t) {
  return static_cast<uint64_t>(t.tv_sec) * 1000000000ull + static_cast<uint64_t>(t.tv_nsec);
}

std::string CheckedRecord(const struct stat& st, uint64_t checksum) {
  std::string r;
  ByteWriter w(&r);
  w.Raw(kCheckedMagic, 8);
  w.U32(kPersistFormat);
  w.U32(kIndexFormat);
  w.U64(static_cast<uint64_t>(st.st_dev));
  w.U64(static_cast<uint64_t>(st.st_ino));
  w.U64(static_cast<uint64_t>(st.st_size));
  w.U64(StatNs(st.st_mtim));
  w.U64(StatNs(st.st_ctim));
  w.U64(checksum);
  w.U64(Hash64(reinterpret_cast<const uint8_t*>(r.data()), r.size()));
  return r;
}

// Whether `<path>.checked` records the file of `st` with `checksum` as checked in full.
bool RecordedAsChecked(const std::string& path, const struct stat& st, uint64_t checksum) {
  const std::string want = CheckedRecord(st, checksum);
  const int fd = ::open((path + kCheckedSuffix).c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return false;
  char got[kCheckedBytes + 1];
  const ssize_t n = ::pread(fd, got, sizeof got, 0);
  ::close(fd);
  return want.size() == kCheckedBytes && n == static_cast<ssize_t>(kCheckedBytes) &&
         std::memcmp(got, want.data(), kCheckedBytes) == 0;
}

// Records the file of `st` as checked in full. Best-effort (a cache): a unique temp file renamed
// over the record, no fsync.
bool RecordChecked(const std::string& path, const struct stat& st, uint64_t checksum) {
  const std::string record = CheckedRecord(st, checksum);
  static std::atomic<uint64_t> seq{0};
  const std::string target = path + kCheckedSuffix;
  const std::string tmp =
      target + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(seq.fetch_add(1));
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  const bool written =
      ::write(fd, record.data(), record.size()) == static_cast<ssize_t>(record.size());
  ::close(fd);
  if (!written || ::rename(tmp.c_str(), target.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return false;
  }
  return true;
}

// Opens `path` for reading and checks that it is a regular file: kOk with *fd open and *st
// filled, else kMissing / kIo (errno in *err) with nothing left open. O_NONBLOCK: a FIFO (or
// device) at the path is refused, not waited on (opening a FIFO for reading blocks until a writer
// comes); it changes nothing for a regular file.
PersistStatus OpenIndexFile(const std::string& path, int* fd, struct stat* st, int* err) {
  *fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (*fd < 0) {
    *err = errno;
    return errno == ENOENT ? PersistStatus::kMissing : PersistStatus::kIo;
  }
  PersistStatus status = PersistStatus::kOk;
  if (SysFstat(*fd, st) != 0) {
    *err = errno;
    status = PersistStatus::kIo;
  } else if (!S_ISREG(st->st_mode)) {
    *err = S_ISDIR(st->st_mode) ? EISDIR : EINVAL;
    status = PersistStatus::kIo;
  }
  if (status != PersistStatus::kOk) ::close(*fd);
  return status;
}

// The file header (persist.h layout) after its magic.
struct FileHeader {
  uint32_t format = 0, index_format = 0;
  uint64_t options = 0, meta_len = 0, index_len = 0, checksum = 0;
};

// Parses the kHeaderBytes at `bytes`: kCorrupt for another magic, kVersion for another format.
PersistStatus ReadHeader(const uint8_t* bytes, FileHeader* out) {
  if (std::memcmp(bytes, kMagic, 8) != 0) return PersistStatus::kCorrupt;
  ByteReader h(bytes + 8, kHeaderBytes - 8);
  out->format = h.U32();
  out->index_format = h.U32();
  out->options = h.U64();
  out->meta_len = h.U64();
  out->index_len = h.U64();
  out->checksum = h.U64();
  if (out->format != kPersistFormat || out->index_format != kIndexFormat)
    return PersistStatus::kVersion;
  return PersistStatus::kOk;
}

PersistStatus LoadIndexFileImpl(const std::string& path, Index* index, std::string* meta, int* err,
                                LoadReport* report, unsigned max_threads) {
  if (index->GetStats().doc_slots != 0) return PersistStatus::kNotEmpty;
  int fd = -1;
  struct stat st;
  if (const PersistStatus opened = OpenIndexFile(path, &fd, &st, err); opened != PersistStatus::kOk)
    return opened;
  if (st.st_size < static_cast<off_t>(kHeaderBytes) ||
      static_cast<uint64_t>(st.st_size) > static_cast<uint64_t>(SIZE_MAX)) {
    ::close(fd);
    return PersistStatus::kCorrupt;
  }
  const size_t size = static_cast<size_t>(st.st_size);
  // No MAP_POPULATE: the checksum below reads every page on several threads, which faults them in
  // faster than one populating thread (636 MiB: 27 ms populate + 19 ms checksum vs 34 ms here).
  // MADV_WILLNEED starts reading a file that is not in the page cache in the background.
  void* addr = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  const int map_errno = errno;
  ::close(fd);  // the mapping keeps the file
  if (addr == MAP_FAILED) {
    *err = map_errno;
    return map_errno == ENOMEM ? PersistStatus::kNoMemory : PersistStatus::kIo;
  }
  std::unique_ptr<Mapping> map(new (std::nothrow) Mapping(addr, size));
  if (!map) {
    ::munmap(addr, size);
    return PersistStatus::kNoMemory;
  }
  ::madvise(addr, size, MADV_WILLNEED);  // advice only: a failure changes nothing
  const uint8_t* file = static_cast<const uint8_t*>(addr);
  FileHeader head;
  if (const PersistStatus read = ReadHeader(file, &head); read != PersistStatus::kOk) return read;
  const uint64_t meta_len = head.meta_len, index_len = head.index_len, checksum = head.checksum;
  const size_t body = size - kHeaderBytes;
  if (meta_len > body || index_len > body || Pad8(meta_len) + Pad8(index_len) != body)
    return PersistStatus::kCorrupt;
  const uint8_t* p = file + kHeaderBytes;
  if (ChecksumBody(p, body, max_threads) != checksum) return PersistStatus::kCorrupt;
  if (head.options != OptionsKey(index->options())) return PersistStatus::kOptions;
  // Checked once (persist.h): the checksum above is verified at every load; the cross-checks only
  // when this very file (stamp and checksum) was not recorded as checked in full.
  const bool cross_check = !RecordedAsChecked(path, st, checksum);
  // The manifest first: the index may unmap the file as soon as Deserialize returns (when it
  // holds no document, or on failure).
  std::string manifest(reinterpret_cast<const char*>(p), static_cast<size_t>(meta_len));
  const Status s =
      index->Deserialize(std::string_view(reinterpret_cast<const char*>(p + Pad8(meta_len)),
                                          static_cast<size_t>(index_len)),
                         std::move(map), true, cross_check, max_threads);
  if (s == Status::kNoMemory) return PersistStatus::kNoMemory;
  if (s != Status::kOk) return PersistStatus::kCorrupt;
  meta->swap(manifest);
  if (report != nullptr) report->cross_checked = cross_check;
  if (cross_check) {
    // Best-effort, after the index is loaded: nothing here may turn the load into a failure (the
    // index would not be empty as a failed load's must be), so an allocation failure only skips it.
    bool recorded = false;
#if CLAW_RECALL_PERSIST_EXCEPTIONS
    try {
      recorded = RecordChecked(path, st, checksum);
    } catch (...) {
      recorded = false;
    }
#else
    recorded = RecordChecked(path, st, checksum);
#endif
    if (report != nullptr) report->recorded = recorded;
  }
  return PersistStatus::kOk;
}

}  // namespace

PersistStatus SaveIndexFile(const std::string& path, const Index& index, std::string_view meta,
                            int* err) {
  int scratch = 0;
  if (err == nullptr) err = &scratch;
#if CLAW_RECALL_PERSIST_EXCEPTIONS
  try {
    return SaveIndexFileImpl(path, index, meta, err);
  } catch (const std::bad_alloc&) {
    return PersistStatus::kNoMemory;
  }
#else
  return SaveIndexFileImpl(path, index, meta, err);
#endif
}

PersistStatus PeekIndexMeta(const std::string& path, std::string* meta, int* err) {
  int scratch = 0;
  if (err == nullptr) err = &scratch;
  int fd = -1;
  struct stat st;
  if (const PersistStatus opened = OpenIndexFile(path, &fd, &st, err); opened != PersistStatus::kOk)
    return opened;
  struct Fd {
    int fd;
    ~Fd() { ::close(fd); }
  } guard{fd};
  uint8_t bytes[kHeaderBytes];
  if (st.st_size < static_cast<off_t>(kHeaderBytes) ||
      ::pread(fd, bytes, kHeaderBytes, 0) != static_cast<ssize_t>(kHeaderBytes))
    return PersistStatus::kCorrupt;
  FileHeader head;
  if (const PersistStatus read = ReadHeader(bytes, &head); read != PersistStatus::kOk) return read;
  const uint64_t meta_len = head.meta_len;
  if (meta_len > static_cast<uint64_t>(st.st_size) - kHeaderBytes) return PersistStatus::kCorrupt;
#if CLAW_RECALL_PERSIST_EXCEPTIONS
  try {
    meta->resize(static_cast<size_t>(meta_len));
  } catch (const std::bad_alloc&) {
    return PersistStatus::kNoMemory;
  }
#else
  meta->resize(static_cast<size_t>(meta_len));
#endif
  for (size_t got = 0; got < meta->size();) {
    const ssize_t n =
        ::pread(fd, &(*meta)[got], meta->size() - got, static_cast<off_t>(kHeaderBytes + got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      *err = n < 0 ? errno : 0;
      return n < 0 ? PersistStatus::kIo : PersistStatus::kCorrupt;  // shrank meanwhile
    }
    got += static_cast<size_t>(n);
  }
  return PersistStatus::kOk;
}

PersistStatus LoadIndexFile(const std::string& path, Index* index, std::string* meta, int* err,
                            LoadReport* report, unsigned max_threads) {
  int scratch = 0;
  if (err == nullptr) err = &scratch;
#if CLAW_RECALL_PERSIST_EXCEPTIONS
  try {
    return LoadIndexFileImpl(path, index, meta, err, report, max_threads);
  } catch (const std::bad_alloc&) {
    // Deserialize changes the index only once nothing can fail any more: it is still empty.
    return PersistStatus::kNoMemory;
  }
#else
  return LoadIndexFileImpl(path, index, meta, err, report, max_threads);
#endif
}

}  // namespace recall
}  // namespace claw
