// claw::recall::WalkTree — the context tree on disk, walked, stat'ed and read in parallel.
//
// The rules are lib/memory/tree.ts's (the TypeScript walk stays as the fallback when the addon is
// missing, and both must agree):
// - entries whose name starts with '.' (dot-files and dot-folders) are skipped;
// - symbolic links are never followed, neither to folders nor to files (a link could point
//   outside the tree): only real directories are entered and only regular files are listed;
// - a file is listed when its name ends (ASCII case-insensitively) with one of `extensions`;
// - a file larger than `max_file_bytes` is listed with `too_large` set and is not read;
// - a file or folder that vanishes mid-walk is left out (as if removed); the root missing
//   (ENOENT) is an empty tree; any other error on the root is returned.
// Each file's stamp is (size, mtime ns, ctime ns, inode) from fstatat(AT_SYMLINK_NOFOLLOW): the
// same values Node's `fs.stat(…, {bigint: true})` gives for a regular file. `known` lets a caller
// that already holds some version of a file skip reading it: when it answers true for
// (path, stamp), the file is listed with `read == false` and no content (or, with
// `list_known == false`, not listed).
//
// Threads: folders are a shared work queue; each worker lists a folder, queues its sub-folders,
// and stats/reads that folder's files with openat/fstat/read (no path resolution per file).
// `known` is called from the workers concurrently and must be thread-safe (a read-only lookup).
// Paths are tree-relative, '/'-separated; the result is sorted by path (byte order).
#ifndef CLAW_RECALL_WALK_H_
#define CLAW_RECALL_WALK_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace claw {
namespace recall {

struct FileStamp {
  uint64_t size = 0;
  uint64_t mtime_ns = 0;
  uint64_t ctime_ns = 0;
  uint64_t ino = 0;

  bool operator==(const FileStamp& o) const {
    return size == o.size && mtime_ns == o.mtime_ns && ctime_ns == o.ctime_ns && ino == o.ino;
  }
  bool operator!=(const FileStamp& o) const { return !(*this == o); }
  // "size:mtimeNs:ctimeNs:ino", the fingerprint lib/memory/tree.ts keeps per note.
  std::string ToString() const;
  // A stamp as ToString writes it: four unsigned decimal fields joined by colons; false otherwise.
  static bool Parse(std::string_view text, FileStamp* out);
};

struct WalkedFile {
  std::string path;  // tree-relative, '/'-separated
  FileStamp stamp;
  bool too_large = false;  // larger than max_file_bytes: not read
  bool read = false;       // `content` holds the file (false: too large, or `known` said so)
  std::string content;
};

struct WalkOptions {
  uint64_t max_file_bytes = uint64_t{4} << 20;
  unsigned threads = 0;                        // 0 → one per core, at most 8
  std::vector<std::string> extensions{".md"};  // lower-case, with the dot
  // false: a file `known` answers true for is left out of `files` instead of listed unread (the
  // caller records what it needs in `known`; re-walking an unchanged tree then builds no entry).
  bool list_known = true;
};

struct WalkResult {
  std::vector<WalkedFile> files;  // sorted by path
  uint64_t folders = 0;           // folders listed (the root included)
  uint64_t bytes_read = 0;
  int error = 0;  // errno of a failure on the root (0: ok or root missing)
};

using KnownFn = std::function<bool(std::string_view path, const FileStamp& stamp)>;

// Walks `root` (an absolute or working-directory-relative folder). Never throws; on an error
// listing the root, returns with `error` set and no files. Errors below the root (a folder or file
// that vanished or cannot be read) leave that entry out.
WalkResult WalkTree(const std::string& root, const WalkOptions& options,
                    const KnownFn& known = KnownFn());

}  // namespace recall
}  // namespace claw

#endif  // CLAW_RECALL_WALK_H_
