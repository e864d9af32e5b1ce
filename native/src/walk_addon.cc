// Node-API exposure of the native tree walk (recall/walk.h): `walkTree(root, options?)` → Promise.
// Registered by addon.cc (RegisterWalk). Plain Node-API (node_api.h), no exceptions.
//
//   walkTree(root: string, options?: {
//     maxFileBytes?: number, threads?: number, extensions?: string[],
//     known?: { paths: string[], stamps: string[] }   // files the caller holds: not read again
//           | string   // the same pairs packed "path\0stamp\0path\0stamp…" (one string to copy
//                      // instead of 2 per file: the form lib/memory uses for large trees)
//     omitUnchanged?: boolean  // known files found at their stamp are not listed (see `unchanged`)
//   }) → Promise<{ files: Array<{ path, stamp, size, tooLarge?: true, text?: string }>,
//                 folders: number, bytesRead: number,
//                 unchanged?: Uint8Array }>  // with omitUnchanged: 1 at i when known.paths[i] was
//                                            // found at known.stamps[i] (and left out of `files`)
//
// omitUnchanged is what makes re-opening a large tree cheap: a 100,000-note tree whose notes are
// all unchanged answers with an empty `files` and one byte per note instead of 100,000 objects.
//
// The walk (stat + read, in parallel) runs on a libuv worker; `text` is the file decoded as UTF-8
// (malformed bytes → U+FFFD, as `fs.readFile(…, 'utf8')`), present when the file was read.
#include <node_api.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include "recall/persist.h"  // Hash64
#include "recall/walk.h"

namespace claw {
namespace walk_binding {
namespace {

// The known files by path: an open-addressing table of (path hash, index), a quarter to a half
// full, with the paths (views into the packed list) and parsed stamps in arrays by index. A walk
// looks up every file it stats, so this is on its hot path: a probe touches one 16-byte slot
// (the table of a 100,000-note tree is 4 MiB), and a path is compared only when its hash matches.
class KnownTable {
 public:
  // Indexes `count` packed "path\0stamp\0" pairs (their NULs already counted by the caller).
  void Build(const std::string& packed, size_t count) {
    size_t cap = 16;
    while (cap < count * 2) cap <<= 1;
    slots_.assign(cap, Slot{0, 0});
    mask_ = cap - 1;
    paths_.resize(count);
    stamps_.resize(count);
    valid_.assign(count, 0);
    const char* p = packed.data();
    const char* end = p + packed.size();
    for (size_t i = 0; i < count && p < end; ++i) {
      const char* path_end = static_cast<const char*>(std::memchr(p, '\0', end - p));
      const char* stamp_end = static_cast<const char*>(
          std::memchr(path_end + 1, '\0', end - path_end - 1));  // counted: both exist
      paths_[i] = std::string_view(p, path_end - p);
      // A stamp FileStamp::ToString did not write never matches: that file is read.
      valid_[i] = recall::FileStamp::Parse(std::string_view(path_end + 1, stamp_end - path_end - 1),
                                           &stamps_[i]);
      Insert(paths_[i], static_cast<uint32_t>(i));
      p = stamp_end + 1;
    }
  }

  // The index of `path` in the packed list, or -1. (A path listed twice: its first entry.)
  int64_t Find(std::string_view path) const {
    if (slots_.empty()) return -1;
    const uint64_t h = Hash(path);
    for (uint64_t at = h & mask_;; at = (at + 1) & mask_) {
      const Slot& s = slots_[at];
      if (s.index_plus_1 == 0) return -1;
      if (s.hash == h && paths_[s.index_plus_1 - 1] == path) return s.index_plus_1 - 1;
    }
  }

  // Whether the file at `path` is a known one at `stamp`; its index in *index.
  bool Unchanged(std::string_view path, const recall::FileStamp& stamp, size_t* index) const {
    const int64_t i = Find(path);
    if (i < 0 || !valid_[i] || stamps_[i] != stamp) return false;
    *index = static_cast<size_t>(i);
    return true;
  }

  void Clear() {
    std::vector<Slot>().swap(slots_);
    std::vector<std::string_view>().swap(paths_);
    std::vector<recall::FileStamp>().swap(stamps_);
    std::vector<uint8_t>().swap(valid_);
  }

 private:
  struct Slot {
    uint64_t hash;
    uint32_t index_plus_1;  // 0: empty
  };
  static uint64_t Hash(std::string_view s) {
    return recall::Hash64(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  }
  void Insert(std::string_view path, uint32_t index) {
    const uint64_t h = Hash(path);
    for (uint64_t at = h & mask_;; at = (at + 1) & mask_) {
      Slot& s = slots_[at];
      if (s.index_plus_1 == 0) {
        s = Slot{h, index + 1};
        return;
      }
      if (s.hash == h && paths_[s.index_plus_1 - 1] == path) return;  // listed twice: first wins
    }
  }
  std::vector<Slot> slots_;
  uint64_t mask_ = 0;
  std::vector<std::string_view> paths_;
  std::vector<recall::FileStamp> stamps_;
  std::vector<uint8_t> valid_;
};

struct Job {
  std::string root;
  recall::WalkOptions opts;
  // options.known packed as "path\0stamp\0…" (`known_count` pairs), indexed on the worker
  std::string known_list;
  size_t known_count = 0;
  // path → index in options.known, built on the worker (KnownTable below)
  KnownTable known;
  bool omit_unchanged = false;
  std::vector<uint8_t> unchanged;  // per known index: found at its stamp (written by the workers)
  recall::WalkResult result;
  // Set when the walk threw (the core is built with exceptions): bad_alloc → "out of memory",
  // anything else (e.g. a thread that could not start) → its what(). Nothing unwinds into libuv.
  std::string failure;
  napi_deferred deferred = nullptr;
  napi_async_work work = nullptr;
};

napi_value Throw(napi_env env, const char* code, const std::string& msg) {
  napi_throw_type_error(env, code, msg.c_str());
  return nullptr;
}

bool GetString(napi_env env, napi_value v, std::string* out) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, nullptr, 0, &len) != napi_ok) return false;
  out->assign(len, '\0');
  return napi_get_value_string_utf8(env, v, &(*out)[0], len + 1, &len) == napi_ok;
}

bool GetStringArray(napi_env env, napi_value arr, std::vector<std::string>* out) {
  bool is_array = false;
  if (napi_is_array(env, arr, &is_array) != napi_ok || !is_array) return false;
  uint32_t n = 0;
  napi_get_array_length(env, arr, &n);
  out->resize(n);
  for (uint32_t i = 0; i < n; ++i) {
    napi_value e;
    if (napi_get_element(env, arr, i, &e) != napi_ok || !GetString(env, e, &(*out)[i]))
      return false;
  }
  return true;
}

// options.<name> as a whole number in [lo, hi]; absent/undefined keeps *out.
bool GetUint(napi_env env, napi_value obj, const char* name, double lo, double hi, double* out,
             bool* ok) {
  napi_value v;
  napi_valuetype t;
  if (napi_get_named_property(env, obj, name, &v) != napi_ok || napi_typeof(env, v, &t) != napi_ok)
    return *ok = false;
  if (t == napi_undefined) return true;
  double d = 0;
  if (t != napi_number || napi_get_value_double(env, v, &d) != napi_ok ||
      d != static_cast<long long>(d) || d < lo || d > hi) {
    Throw(env, "ERR_INVALID_ARG_VALUE",
          std::string("expected options.") + name + " to be a whole number from " +
              std::to_string(static_cast<long long>(lo)) + " to " +
              std::to_string(static_cast<long long>(hi)));
    return *ok = false;
  }
  *out = d;
  return true;
}

void Execute(napi_env /*env*/, void* data) {
  Job* job = static_cast<Job*>(data);
  recall::KnownFn known;
  if (job->known_count > 0) {
    try {
      job->known.Build(job->known_list, job->known_count);
    } catch (const std::bad_alloc&) {
      job->failure = "out of memory indexing the known files";
      return;
    }
    const KnownTable* table = &job->known;
    uint8_t* flags = job->unchanged.data();
    // Each path is walked once, so each flag byte has one writer (distinct bytes: no data race).
    known = [table, flags](std::string_view path, const recall::FileStamp& stamp) {
      size_t i = 0;
      if (!table->Unchanged(path, stamp, &i)) return false;
      flags[i] = 1;
      return true;
    };
  }
  try {
    job->result = recall::WalkTree(job->root, job->opts, known);
  } catch (const std::bad_alloc&) {
    job->result = recall::WalkResult();
    job->failure = "out of memory walking the tree";
  } catch (const std::exception& e) {
    job->result = recall::WalkResult();
    job->failure = std::string("the tree walk failed: ") + e.what();
  } catch (...) {
    job->result = recall::WalkResult();
    job->failure = "the tree walk failed";
  }
}

bool SetNumber(napi_env env, napi_value obj, const char* name, double v) {
  napi_value n;
  return napi_create_double(env, v, &n) == napi_ok &&
         napi_set_named_property(env, obj, name, n) == napi_ok;
}

bool SetString(napi_env env, napi_value obj, const char* name, const std::string& s) {
  napi_value v;
  return napi_create_string_utf8(env, s.empty() ? "" : s.data(), s.size(), &v) == napi_ok &&
         napi_set_named_property(env, obj, name, v) == napi_ok;
}

napi_value BuildResult(napi_env env, Job* job) {
  const recall::WalkResult& r = job->result;
  napi_value out, files;
  if (napi_create_object(env, &out) != napi_ok || napi_create_array(env, &files) != napi_ok)
    return nullptr;
  napi_value yes;
  napi_get_boolean(env, true, &yes);
  uint32_t listed = 0;
  for (size_t i = 0; i < r.files.size(); ++i) {
    const recall::WalkedFile& f = r.files[i];
    // Not read and not too large: the known fn matched it (unchanged), so it is left out.
    if (job->omit_unchanged && !f.read && !f.too_large) continue;
    // One handle scope per file: 100,000 handles alive at once make V8's GC scan them all.
    napi_handle_scope scope;
    if (napi_open_handle_scope(env, &scope) != napi_ok) return nullptr;
    napi_value o;
    const bool ok = napi_create_object(env, &o) == napi_ok && SetString(env, o, "path", f.path) &&
                    SetString(env, o, "stamp", f.stamp.ToString()) &&
                    SetNumber(env, o, "size", static_cast<double>(f.stamp.size)) &&
                    (!f.too_large || napi_set_named_property(env, o, "tooLarge", yes) == napi_ok) &&
                    (!f.read || SetString(env, o, "text", f.content)) &&
                    napi_set_element(env, files, listed++, o) == napi_ok;
    napi_close_handle_scope(env, scope);
    if (!ok) return nullptr;
  }
  if (job->omit_unchanged) {
    void* bytes = nullptr;
    napi_value ab, view;
    if (napi_create_arraybuffer(env, job->unchanged.size(), &bytes, &ab) != napi_ok ||
        napi_create_typedarray(env, napi_uint8_array, job->unchanged.size(), ab, 0, &view) !=
            napi_ok ||
        napi_set_named_property(env, out, "unchanged", view) != napi_ok)
      return nullptr;
    if (!job->unchanged.empty()) std::memcpy(bytes, job->unchanged.data(), job->unchanged.size());
  }
  if (napi_set_named_property(env, out, "files", files) != napi_ok ||
      !SetNumber(env, out, "folders", static_cast<double>(r.folders)) ||
      !SetNumber(env, out, "bytesRead", static_cast<double>(r.bytes_read)))
    return nullptr;
  return out;
}

void Complete(napi_env env, napi_status status, void* data) {
  Job* job = static_cast<Job*>(data);
  napi_value result = nullptr;
  bool ok = false;
  if (status != napi_ok) {
    napi_value code, msg;
    napi_create_string_utf8(env, "TREE_WALK_FAILED", NAPI_AUTO_LENGTH, &code);
    napi_create_string_utf8(env, "the tree walk was cancelled before it ran", NAPI_AUTO_LENGTH,
                            &msg);
    napi_create_error(env, code, msg, &result);
  } else if (!job->failure.empty()) {
    napi_value code, msg;
    napi_create_string_utf8(env, "TREE_WALK_FAILED", NAPI_AUTO_LENGTH, &code);
    napi_create_string_utf8(env, job->failure.c_str(), job->failure.size(), &msg);
    napi_create_error(env, code, msg, &result);
  } else if (job->result.error != 0) {
    const int e = job->result.error;
    napi_value code, msg, errno_v;
    const std::string m = "expected a readable folder at " + job->root + ", found " +
                          std::strerror(e) + " (errno " + std::to_string(e) + ")";
    napi_create_string_utf8(env, "TREE_WALK_FAILED", NAPI_AUTO_LENGTH, &code);
    napi_create_string_utf8(env, m.c_str(), m.size(), &msg);
    napi_create_error(env, code, msg, &result);
    napi_create_int32(env, e, &errno_v);
    napi_set_named_property(env, result, "errno", errno_v);
  } else {
    job->known.Clear();
    try {
      result = BuildResult(env, job);
    } catch (const std::bad_alloc&) {
      result = nullptr;  // reported below as out of memory
    }
    ok = result != nullptr;
    if (!ok) {
      bool pending = false;
      napi_is_exception_pending(env, &pending);
      if (pending) napi_get_and_clear_last_exception(env, &result);
      if (result == nullptr) {
        napi_value code, msg;
        napi_create_string_utf8(env, "TREE_WALK_FAILED", NAPI_AUTO_LENGTH, &code);
        napi_create_string_utf8(env, "out of memory building the walk's result", NAPI_AUTO_LENGTH,
                                &msg);
        napi_create_error(env, code, msg, &result);
      }
    }
  }
  if (ok)
    napi_resolve_deferred(env, job->deferred, result);
  else
    napi_reject_deferred(env, job->deferred, result);
  napi_delete_async_work(env, job->work);
  delete job;
}

napi_value WalkTreeJs(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok) return nullptr;
  Job* job = new Job();
  napi_valuetype t = napi_undefined;
  if (argc < 1 || napi_typeof(env, argv[0], &t) != napi_ok || t != napi_string ||
      !GetString(env, argv[0], &job->root) || job->root.empty() ||
      job->root.find('\0') != std::string::npos) {
    delete job;
    return Throw(env, "ERR_INVALID_ARG_TYPE", "expected `root` to be a non-empty path string");
  }
  if (argc >= 2 && napi_typeof(env, argv[1], &t) == napi_ok && t == napi_object) {
    bool ok = true;
    double max = static_cast<double>(job->opts.max_file_bytes), threads = 0;
    if (!GetUint(env, argv[1], "maxFileBytes", 0, 9007199254740991.0, &max, &ok) ||
        !GetUint(env, argv[1], "threads", 0, 64, &threads, &ok)) {
      delete job;
      return nullptr;
    }
    job->opts.max_file_bytes = static_cast<uint64_t>(max);
    job->opts.threads = static_cast<unsigned>(threads);
    napi_value v;
    napi_get_named_property(env, argv[1], "extensions", &v);
    napi_typeof(env, v, &t);
    if (t != napi_undefined) {
      if (!GetStringArray(env, v, &job->opts.extensions)) {
        delete job;
        return Throw(env, "ERR_INVALID_ARG_TYPE",
                     "expected options.extensions to be an array of strings like \".md\"");
      }
      for (std::string& e : job->opts.extensions)
        for (char& c : e)
          if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    napi_get_named_property(env, argv[1], "known", &v);
    napi_typeof(env, v, &t);
    if (t == napi_string) {
      // Packed pairs: an even number of NUL-terminated fields.
      size_t nul = 0;
      if (!GetString(env, v, &job->known_list)) {
        delete job;
        return Throw(env, "ERR_INVALID_ARG_TYPE", "expected options.known to be a string");
      }
      for (const char *p = job->known_list.data(), *end = p + job->known_list.size();
           (p = static_cast<const char*>(std::memchr(p, '\0', end - p))) != nullptr; ++p)
        ++nul;
      if (nul % 2 != 0 || (!job->known_list.empty() && job->known_list.back() != '\0')) {
        delete job;
        return Throw(env, "ERR_INVALID_ARG_VALUE",
                     "expected options.known to be \"path\\0stamp\\0\" pairs, found an odd "
                     "number of fields");
      }
      job->known_count = nul / 2;
    } else if (t == napi_object) {
      napi_value pv, sv;
      std::vector<std::string> paths, stamps;
      if (napi_get_named_property(env, v, "paths", &pv) != napi_ok ||
          napi_get_named_property(env, v, "stamps", &sv) != napi_ok ||
          !GetStringArray(env, pv, &paths) || !GetStringArray(env, sv, &stamps) ||
          paths.size() != stamps.size()) {
        delete job;
        return Throw(env, "ERR_INVALID_ARG_TYPE",
                     "expected options.known to be {paths: string[], stamps: string[]} of equal "
                     "length");
      }
      for (size_t i = 0; i < paths.size(); ++i) {
        if (paths[i].find('\0') != std::string::npos || stamps[i].find('\0') != std::string::npos) {
          delete job;
          return Throw(env, "ERR_INVALID_ARG_VALUE",
                       "expected options.known paths and stamps without NUL characters");
        }
        job->known_list.append(paths[i]).push_back('\0');
        job->known_list.append(stamps[i]).push_back('\0');
      }
      job->known_count = paths.size();
    } else if (t != napi_undefined) {
      delete job;
      return Throw(env, "ERR_INVALID_ARG_TYPE",
                   "expected options.known to be {paths: string[], stamps: string[]} or a "
                   "\"path\\0stamp\\0\" string");
    }
    job->unchanged.assign(job->known_count, 0);
    napi_get_named_property(env, argv[1], "omitUnchanged", &v);
    napi_typeof(env, v, &t);
    if (t == napi_boolean) {
      napi_get_value_bool(env, v, &job->omit_unchanged);
      job->opts.list_known = !job->omit_unchanged;  // unchanged files: a flag byte, no entry
    } else if (t != napi_undefined) {
      delete job;
      return Throw(env, "ERR_INVALID_ARG_TYPE", "expected options.omitUnchanged to be a boolean");
    }
  }
  napi_value promise, name;
  if (napi_create_promise(env, &job->deferred, &promise) != napi_ok ||
      napi_create_string_utf8(env, "claw.walkTree", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, nullptr, name, Execute, Complete, job, &job->work) != napi_ok ||
      napi_queue_async_work(env, job->work) != napi_ok) {
    if (job->work != nullptr) napi_delete_async_work(env, job->work);
    delete job;
    napi_throw_error(env, "TREE_WALK_FAILED", "could not start the tree walk");
    return nullptr;
  }
  return promise;
}

}  // namespace

bool RegisterWalk(napi_env env, napi_value exports) {
  napi_value fn;
  return napi_create_function(env, "walkTree", NAPI_AUTO_LENGTH, WalkTreeJs, nullptr, &fn) ==
             napi_ok &&
         napi_set_named_property(env, exports, "walkTree", fn) == napi_ok;
}

}  // namespace walk_binding
}  // namespace claw
