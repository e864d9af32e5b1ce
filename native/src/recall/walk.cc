// See walk.h.
#include "walk.h"

#include "sys_stat.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>

namespace claw {
namespace recall {

std::string FileStamp::ToString() const {
  return std::to_string(size) + ":" + std::to_string(mtime_ns) + ":" + std::to_string(ctime_ns) +
         ":" + std::to_string(ino);
}

bool FileStamp::Parse(std::string_view text, FileStamp* out) {
  uint64_t* fields[4] = {&out->size, &out->mtime_ns, &out->ctime_ns, &out->ino};
  size_t at = 0;
  for (int f = 0; f < 4; ++f) {
    if (f > 0 && (at >= text.size() || text[at++] != ':')) return false;
    const size_t begin = at;
    uint64_t v = 0;
    for (; at < text.size() && text[at] >= '0' && text[at] <= '9'; ++at) {
      const uint64_t d = static_cast<uint64_t>(text[at] - '0');
      if (v > (UINT64_MAX - d) / 10) return false;  // overflow: not a stamp we wrote
      v = v * 10 + d;
    }
    if (at == begin) return false;
    *fields[f] = v;
  }
  return at == text.size();
}

namespace {

uint64_t Ns(const struct timespec& t) {
  return static_cast<uint64_t>(t.tv_sec) * 1000000000ull + static_cast<uint64_t>(t.tv_nsec);
}

FileStamp StampOf(const struct stat& st) {
  FileStamp s;
  s.size = static_cast<uint64_t>(st.st_size);
  s.mtime_ns = Ns(st.st_mtim);
  s.ctime_ns = Ns(st.st_ctim);
  s.ino = static_cast<uint64_t>(st.st_ino);
  return s;
}

bool HasExtension(std::string_view name, const std::vector<std::string>& exts) {
  for (const std::string& e : exts) {
    if (name.size() < e.size()) continue;
    bool same = true;
    for (size_t i = 0; i < e.size() && same; ++i) {
      char c = name[name.size() - e.size() + i];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      same = c == e[i];
    }
    if (same) return true;
  }
  return false;
}

// Reads the open file `fd` whose size was `size` at fstat. Reads to EOF (a file that grew is read
// whole; one that shrank stops early). False on a read error.
bool ReadAll(int fd, uint64_t size, std::string* out) {
  out->clear();
  out->resize(static_cast<size_t>(size));
  size_t got = 0;
  for (;;) {
    if (got == out->size()) out->resize(out->size() + 4096);
    const ssize_t n = ::read(fd, &(*out)[got], out->size() - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  out->resize(got);
  return true;
}

struct Shared {
  const WalkOptions* opts;
  const KnownFn* known;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::string> folders;  // tree-relative ("" is the root)
  size_t busy = 0;                  // workers listing a folder
  std::string root;
  WalkResult* result;
};

// Lists one folder: sub-folders go to the queue, files are stat'ed and read here.
void ListFolder(Shared* s, const std::string& rel, std::vector<WalkedFile>* files,
                std::vector<std::string>* subdirs, uint64_t* bytes) {
  const std::string abs = rel.empty() ? s->root : s->root + "/" + rel;
  // The root may itself be a link (as for Node's readdir); folders below it never are (they come
  // from d_type/lstat), and O_NOFOLLOW keeps one swapped for a link meanwhile from being entered.
  const int dfd =
      ::open(abs.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | (rel.empty() ? 0 : O_NOFOLLOW));
  if (dfd < 0) return;  // vanished or unreadable: left out
  DIR* dir = ::fdopendir(dfd);
  if (dir == nullptr) {
    ::close(dfd);
    return;
  }
  // The child's tree-relative path, built in place: a file `known` answers for (the common case of
  // a re-walk) costs no allocation and no entry.
  std::string child = rel.empty() ? std::string() : rel + "/";
  const size_t prefix = child.size();
  while (struct dirent* e = ::readdir(dir)) {
    const std::string_view name(e->d_name);
    if (name.empty() || name[0] == '.') continue;
    unsigned char type = e->d_type;
    struct stat st;
    bool have_stat = false;
    if (type == DT_UNKNOWN) {
      if (SysFstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
      have_stat = true;
      type = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : DT_LNK;
    }
    child.resize(prefix);
    child.append(name);
    if (type == DT_DIR) {
      subdirs->push_back(child);
      continue;
    }
    if (type != DT_REG || !HasExtension(name, s->opts->extensions)) continue;
    if (!have_stat && SysFstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (!S_ISREG(st.st_mode)) continue;  // replaced by something else since readdir
    const FileStamp stamp = StampOf(st);
    const bool too_large = stamp.size > s->opts->max_file_bytes;
    const bool known = !too_large && *s->known && (*s->known)(child, stamp);
    if (known && !s->opts->list_known) continue;
    WalkedFile f;
    f.path = child;
    f.stamp = stamp;
    if (too_large || known) {
      f.too_large = too_large;
      files->push_back(std::move(f));
      continue;
    }
    const int fd = ::openat(dfd, e->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) continue;  // vanished: left out
    struct stat st2;
    bool ok = SysFstat(fd, &st2) == 0 && S_ISREG(st2.st_mode);
    if (ok) {
      // The stamp of what is read: a file replaced between fstatat and open is read as it is now.
      f.stamp = StampOf(st2);
      if (f.stamp.size > s->opts->max_file_bytes) {
        f.too_large = true;
      } else {
        ok = ReadAll(fd, f.stamp.size, &f.content);
        f.read = ok;
        if (ok) *bytes += f.content.size();
      }
    }
    ::close(fd);
    if (ok) files->push_back(std::move(f));
  }
  ::closedir(dir);  // closes dfd
}

void Worker(Shared* s, std::vector<WalkedFile>* files, uint64_t* folders, uint64_t* bytes) {
  std::vector<std::string> subdirs;
  for (;;) {
    std::string rel;
    {
      std::unique_lock<std::mutex> lock(s->mu);
      s->cv.wait(lock, [s] { return !s->folders.empty() || s->busy == 0; });
      if (s->folders.empty()) return;  // nothing queued and nobody listing: done
      rel = std::move(s->folders.front());
      s->folders.pop_front();
      ++s->busy;
    }
    subdirs.clear();
    ListFolder(s, rel, files, &subdirs, bytes);
    ++*folders;
    {
      std::lock_guard<std::mutex> lock(s->mu);
      for (std::string& d : subdirs) s->folders.push_back(std::move(d));
      --s->busy;
    }
    s->cv.notify_all();
  }
}

}  // namespace

WalkResult WalkTree(const std::string& root, const WalkOptions& options, const KnownFn& known) {
  WalkResult result;
  struct stat st;
  if (SysStat(root.c_str(), &st) != 0) {
    if (errno != ENOENT) result.error = errno;
    return result;
  }
  if (!S_ISDIR(st.st_mode)) {
    result.error = ENOTDIR;
    return result;
  }
  unsigned threads = options.threads;
  if (threads == 0) {
    threads = std::thread::hardware_concurrency();
    if (threads == 0) threads = 1;
    if (threads > 8) threads = 8;
  }
  Shared s;
  s.opts = &options;
  s.known = &known;
  s.root = root;
  while (s.root.size() > 1 && s.root.back() == '/') s.root.pop_back();
  s.result = &result;
  s.folders.push_back(std::string());
  std::vector<std::vector<WalkedFile>> parts(threads);
  std::vector<uint64_t> folders(threads, 0), bytes(threads, 0);
  std::vector<std::thread> pool;
  pool.reserve(threads - 1);
  for (unsigned t = 1; t < threads; ++t)
    pool.emplace_back(Worker, &s, &parts[t], &folders[t], &bytes[t]);
  Worker(&s, &parts[0], &folders[0], &bytes[0]);
  for (std::thread& t : pool) t.join();
  size_t n = 0;
  for (auto& p : parts) n += p.size();
  result.files.reserve(n);
  for (unsigned t = 0; t < threads; ++t) {
    for (WalkedFile& f : parts[t]) result.files.push_back(std::move(f));
    result.folders += folders[t];
    result.bytes_read += bytes[t];
  }
  std::sort(result.files.begin(), result.files.end(),
            [](const WalkedFile& a, const WalkedFile& b) { return a.path < b.path; });
  return result;
}

}  // namespace recall
}  // namespace claw
