// The Node-API face of the core (claw_byterover.node). The only file that includes napi.h.
// Built with NAPI_DISABLE_CPP_EXCEPTIONS (-fno-exceptions everywhere): argument errors are thrown
// as JavaScript TypeErrors; negotiation outcomes are returned as plain objects
//   { ok, status, code, message, version? }
// where `status` is the numeric CLAW_* value and `code` its stable name ("CLAW_E_ABI_MAJOR"), so
// TypeScript switches on codes and never parses prose.
//
// The recall engine (native/src/recall) is bound as the class RecallIndex, written against the
// Node-API C functions directly: its query() is the hot path of every agent turn, so each call
// makes the fewest Node-API calls it can (no per-call property-name strings, one
// napi_define_properties per hit). Every Node-API function is CALLED, never address-taken (see
// throw_type_error below).
#include <napi.h>

#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include "claw/plugin.h"
#include "negotiate.h"
#include "plugin_state.h"
#include "recall/html.h"
#include "recall/index.h"
#include "recall/persist.h"

namespace claw {
namespace walk_binding {
// walkTree(root, options?) -> Promise: the native tree walk (walk_addon.cc, recall/walk.h).
bool RegisterWalk(napi_env env, napi_value exports);
}  // namespace walk_binding
}  // namespace claw

namespace {

// Throws a JavaScript TypeError. Calls napi_throw_type_error directly instead of
// Napi::TypeError::New, which takes the ADDRESS of napi_create_type_error: an address is a
// load-time (GLOB_DAT) relocation, and it would stop a native host from loading this .node even
// with RTLD_LAZY. Direct calls go through the PLT and bind lazily.
void throw_type_error(Napi::Env env, const std::string &message) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message.c_str());
}

// Converts `v` to a uint32 (an integral Number in 0..4294967295), else throws a TypeError naming
// `what` and the value found.
bool to_u32(Napi::Env env, const Napi::Value &v, const std::string &what, uint32_t *out) {
  const bool number = v.IsNumber();
  const double d = number ? v.As<Napi::Number>().DoubleValue() : 0;
  if (!number || !(d >= 0 && d <= 4294967295.0) ||
      d != static_cast<double>(static_cast<uint32_t>(d))) {
    throw_type_error(env,
                     "expected " + what + " to be an integer 0..4294967295, got " +
                         (v.IsUndefined() ? std::string("undefined") : v.ToString().Utf8Value()));
    return false;
  }
  *out = static_cast<uint32_t>(d);
  return true;
}

// Reads a uint32 property of an options object.
bool read_u32(const Napi::Object &obj, const char *key, uint32_t *out) {
  Napi::Value v = obj.Get(key);
  if (obj.Env().IsExceptionPending()) return false;
  return to_u32(obj.Env(), v, std::string("`") + key + "`", out);
}

// Reads the i-th argument as a uint32.
bool arg_u32(const Napi::CallbackInfo &info, size_t i, const char *name, uint32_t *out) {
  return to_u32(info.Env(), info[i], std::string("argument `") + name + "`", out);
}

Napi::Object outcome_object(Napi::Env env, int32_t status, const char *message) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("ok", Napi::Boolean::New(env, status == CLAW_OK));
  o.Set("status", Napi::Number::New(env, status));
  const char *name = claw::status_name(status);
  o.Set("code", Napi::String::New(env, name != nullptr ? name : "CLAW_E_UNKNOWN"));
  o.Set("message", Napi::String::New(env, message));
  return o;
}

// abiInfo(): the same static descriptor claw_abi_info() returns to C hosts.
Napi::Value AbiInfo(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  const claw_abi_descriptor *d = claw_abi_info();
  Napi::Object o = Napi::Object::New(env);
  o.Set("abiMajor", Napi::Number::New(env, d->abi_major));
  o.Set("abiMinorMin", Napi::Number::New(env, d->abi_minor_min));
  o.Set("abiMinorMax", Napi::Number::New(env, d->abi_minor_max));
  o.Set("pluginName", Napi::String::New(env, d->plugin_name));
  o.Set("pluginVersion", Napi::String::New(env, d->plugin_version));
  o.Set("gitRevision", Napi::String::New(env, d->build_git_revision));
  o.Set("compiler", Napi::String::New(env, d->build_compiler));
  o.Set("flavor", Napi::String::New(env, d->build_flavor));
  o.Set("napiVersion", Napi::Number::New(env, d->build_napi_version));
  o.Set("agentProtocolMin", Napi::Number::New(env, d->agent_protocol_min));
  o.Set("agentProtocolMax", Napi::Number::New(env, d->agent_protocol_max));
  o.Set("capabilities", Napi::Number::New(env, static_cast<double>(d->capabilities)));
  return o;
}

// negotiateAbi({ major, minorMin, minorMax, name?, version? }): what claw_init would agree with a
// host offering that range (pure: takes no reference, logs nothing).
Napi::Value NegotiateAbi(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) {
    throw_type_error(env, "expected a host ABI range { major, minorMin, minorMax }");
    return env.Undefined();
  }
  Napi::Object range = info[0].As<Napi::Object>();
  claw::AbiRange host{};
  if (!read_u32(range, "major", &host.major) || !read_u32(range, "minorMin", &host.minor_min) ||
      !read_u32(range, "minorMax", &host.minor_max))
    return env.Undefined();
  std::string host_name, host_version;
  Napi::Value n = range.Get("name");
  if (n.IsString()) host_name = n.As<Napi::String>().Utf8Value();
  Napi::Value v = range.Get("version");
  if (v.IsString()) host_version = v.As<Napi::String>().Utf8Value();

  const claw::AbiRange plugin = claw::plugin_abi_range();
  const claw_abi_descriptor *d = claw_abi_info();
  const claw::Party plugin_party = {d->plugin_name, d->plugin_version};
  const claw::Party host_party = {host_name.empty() ? nullptr : host_name.c_str(),
                                  host_version.empty() ? nullptr : host_version.c_str()};
  const claw::AbiOutcome outcome = claw::negotiate_abi(plugin, host);
  char line[512];
  claw::explain_abi(outcome, plugin, plugin_party, host, host_party, line, sizeof line);
  Napi::Object o = outcome_object(env, outcome.code, line);
  if (outcome.code == CLAW_OK) {
    Napi::Object ver = Napi::Object::New(env);
    ver.Set("major", Napi::Number::New(env, outcome.major));
    ver.Set("minor", Napi::Number::New(env, outcome.minor));
    o.Set("version", ver);
  }
  return o;
}

// negotiateAgentProtocol(min, max[, pluginMin, pluginMax]): the agent's accepted range against the
// plugin's (claw_abi_info: 3–4). The plugin range is a parameter for tests (the agent link's
// test-only override offers another range and must decide by the same rule); both or neither.
Napi::Value NegotiateAgentProtocol(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  uint32_t lo = 0, hi = 0;
  if (!arg_u32(info, 0, "min", &lo) || !arg_u32(info, 1, "max", &hi)) return env.Undefined();
  const claw_abi_descriptor *d = claw_abi_info();
  uint32_t plugin_min = d->agent_protocol_min, plugin_max = d->agent_protocol_max;
  if (info.Length() > 2 && !info[2].IsUndefined()) {
    if (!arg_u32(info, 2, "pluginMin", &plugin_min) || !arg_u32(info, 3, "pluginMax", &plugin_max))
      return env.Undefined();
  }
  const claw::ProtocolOutcome outcome =
      claw::negotiate_agent_protocol(plugin_min, plugin_max, lo, hi);
  char line[512];
  claw::explain_agent_protocol(outcome, plugin_min, plugin_max, lo, hi, d->plugin_name, line,
                               sizeof line);
  Napi::Object o = outcome_object(env, outcome.code, line);
  if (outcome.code == CLAW_OK) o.Set("version", Napi::Number::New(env, outcome.version));
  return o;
}

// strerror(status): claw_strerror for a numeric status.
Napi::Value StrError(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) {
    throw_type_error(env, "expected a numeric claw status");
    return env.Undefined();
  }
  return Napi::String::New(env, claw_strerror(info[0].As<Napi::Number>().Int32Value()));
}

// ---- RecallIndex: the recall engine through Node-API ----------------------------------------
//
//   new RecallIndex(options?)       options: { k1, titleWeight, headingsWeight, bodyWeight, titleB,
//                                   headingsB, bodyB, stopWords, pluralFolding, maxDocumentBytes }
//   upsert(path, markdown)          -> boolean (true when a document was replaced); markdown is a
//                                   string or a Uint8Array/Buffer of UTF-8
//   upsertBatch(docs, threads?)     docs: Array<{ path, doc }> (doc as for upsert); parsed on
//                                   `threads` threads (0/undefined = one per core, at most 8)
//   upsertBatchAsync(docs, threads?) -> Promise<void>: the same, parsed and indexed off the
//                                   event loop (libuv worker); queries keep working meanwhile
//   saveFile(path, meta)            the persisted index file (recall/persist.h), atomically
//   loadFile(path) -> meta          into an empty index; loadFileAsync(path, threads?) ->
//                                   Promise<meta>: the same on a libuv worker
//   remove(path) -> boolean         contains(path) -> boolean
//   query(text, k?, excerptChars?)  -> Array<{ path, title, score, excerpt }>, best first
//                                   (k defaults to 10, capped at 10000; excerptChars to 200)
//                                   v4 topic hits add elementId?, elementType? (their best
//                                   element, e.g. "bv-fact")
//   setSignals(path, signals|null)  ByteRover v4 ranking signals { importance?, recency?,
//                                   maturity? } (index.h has the formula); null clears them
//   takeWarnings()                  -> Array<{ path, code, reason, offset }>: parser warnings not
//                                   yet taken, each (path, content) once
//   parseTopic(html) (module)       -> { isTopic, attrs, attrList, elements: [{ type, id, attrs,
//                                   attrList, text, offset }], warnings: [{ code, reason, offset }]
//                                   }
//   isTopicPath(relPath) (module)   -> boolean (html.h IsTopicPath)
//   peekIndexMeta(path) (module)    -> string: a persisted file's manifest, UNVERIFIED (a hint
//                                   that loadFile/loadFileAsync confirm; persist.h)
//   stats()                         -> { documents, terms, postings, memoryBytes, generation,
//                                   docSlots, termSlots, avgTitleTokens, avgHeadingsTokens,
//                                   avgBodyTokens }
//   close()                         frees the native index now (idempotent); later calls throw
//   closed                          boolean getter
//
// Errors: wrong argument types throw TypeError (code ERR_INVALID_ARG_TYPE), bad values TypeError
// (ERR_INVALID_ARG_VALUE) or RangeError (ERR_OUT_OF_RANGE); engine refusals throw Error with the
// engine's stable code (RECALL_DOCUMENT_TOO_LARGE, RECALL_OUT_OF_MEMORY, RECALL_INTERNAL), and a
// call after close() throws Error RECALL_CLOSED. The native memory is reported to V8
// (napi_adjust_external_memory) so dropped indexes are collected promptly; recallLiveIndexes()
// counts the native indexes not yet freed (for leak tests).
namespace recall_binding {

using claw::recall::Index;

constexpr size_t kMaxPathBytes = 4096;  // the engine's Options::max_path_bytes
constexpr uint32_t kMaxK = 10000;
constexpr uint32_t kDefaultK = 10;
constexpr uint32_t kDefaultExcerptChars = 200;
constexpr uint32_t kMaxExcerptChars = 100000;
constexpr uint32_t kReportEvery = 64;  // single mutations between two memory reports to V8

// Marks objects this addon wrapped, so a method called on a foreign object (another addon's
// wrapped object, or a plain one) throws instead of misreading its pointer.
constexpr napi_type_tag kRecallTag = {0x636c61772d726563ULL, 0x616c6c2d696e6478ULL};

std::atomic<int64_t> g_live{0};

// Property names created once per environment (worker threads each get their own), held in one
// array: Node-API 8 only references objects, not strings.
enum Key : uint32_t { kPath, kTitle, kScore, kExcerpt, kDoc, kKeyCount };
constexpr const char *kKeyNames[kKeyCount] = {"path", "title", "score", "excerpt", "doc"};
struct EnvData {
  napi_ref keys = nullptr;
};

// Fetches the named keys (in the order given) from the environment's key array.
template <size_t N>
bool get_keys(napi_env env, const Key (&which)[N], napi_value *out) {
  void *p = nullptr;
  napi_value arr;
  if (napi_get_instance_data(env, &p) != napi_ok || p == nullptr ||
      napi_get_reference_value(env, static_cast<EnvData *>(p)->keys, &arr) != napi_ok)
    return false;
  for (size_t i = 0; i < N; ++i)
    if (napi_get_element(env, arr, which[i], &out[i]) != napi_ok) return false;
  return true;
}

struct Wrap {
  Index *index = nullptr;  // freed when closed and no async batch is pending
  bool closed = false;     // close() was called: every method but close/closed throws
  uint32_t pending = 0;    // upsertBatchAsync / loadFileAsync jobs not yet completed
  bool loading = false;    // a loadFileAsync is running (the index must not change meanwhile)
  int64_t reported = 0;    // bytes currently reported to V8 as external memory
  uint32_t since_report = 0;
};

// Throws Error(code) for a failed Node-API call when nothing is pending yet; returns nullptr.
napi_value napi_failure(napi_env env) {
  const napi_extended_error_info *info = nullptr;
  napi_get_last_error_info(env, &info);
  const char *what =
      info != nullptr && info->error_message != nullptr ? info->error_message : "unknown";
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending)
    napi_throw_error(env, "RECALL_INTERNAL",
                     (std::string("Node-API call failed: ") + what).c_str());
  return nullptr;
}

#define RECALL_NAPI(call)                                            \
  do {                                                               \
    if ((call) != napi_ok) return recall_binding::napi_failure(env); \
  } while (0)

napi_value type_error(napi_env env, const char *code, const std::string &message) {
  napi_throw_type_error(env, code, message.c_str());
  return nullptr;
}
napi_value range_error(napi_env env, const std::string &message) {
  napi_throw_range_error(env, "ERR_OUT_OF_RANGE", message.c_str());
  return nullptr;
}

// "a string", "undefined", "a number (3.5)", ... for messages.
std::string describe(napi_env env, napi_value v) {
  napi_valuetype t = napi_undefined;
  if (napi_typeof(env, v, &t) != napi_ok) return "an unknown value";
  switch (t) {
    case napi_undefined:
      return "undefined";
    case napi_null:
      return "null";
    case napi_boolean:
      return "a boolean";
    case napi_number: {
      double d = 0;
      napi_get_value_double(env, v, &d);
      char buf[64];
      std::snprintf(buf, sizeof buf, "the number %.17g", d);
      return buf;
    }
    case napi_string:
      return "a string";
    case napi_symbol:
      return "a symbol";
    case napi_object: {
      bool arr = false;
      napi_is_array(env, v, &arr);
      return arr ? "an array" : "an object";
    }
    case napi_function:
      return "a function";
    case napi_external:
      return "an external";
    case napi_bigint:
      return "a bigint";
  }
  return "an unknown value";
}

// A JS string as UTF-8: short ones in an inline buffer (no allocation), long ones on the heap.
struct Utf8 {
  char small[512];
  std::string big;
  const char *data = small;
  size_t len = 0;
};

// Reads a string; napi_string_expected when `v` is not a string.
napi_status read_utf8(napi_env env, napi_value v, Utf8 *out) {
  size_t n = 0;
  napi_status st = napi_get_value_string_utf8(env, v, out->small, sizeof out->small, &n);
  if (st != napi_ok) return st;
  // Node-API never splits a character: room left for the longest one (4 bytes) means it all fit.
  if (n + 4 < sizeof out->small - 1) {
    out->data = out->small;
    out->len = n;
    return napi_ok;
  }
  st = napi_get_value_string_utf8(env, v, nullptr, 0, &n);
  if (st != napi_ok) return st;
  out->big.resize(n + 1);
  st = napi_get_value_string_utf8(env, v, &out->big[0], n + 1, &n);
  out->big.resize(n);
  out->data = out->big.data();
  out->len = n;
  return st;
}

// Bytes of a document: a string (copied as UTF-8) or a Uint8Array/Buffer (borrowed, zero-copy).
struct DocBytes {
  Utf8 text;
  const char *data = nullptr;
  size_t len = 0;
};

bool read_doc(napi_env env, napi_value v, const std::string &what, DocBytes *out) {
  napi_status st = read_utf8(env, v, &out->text);
  if (st == napi_ok) {
    out->data = out->text.data;
    out->len = out->text.len;
    return true;
  }
  if (st != napi_string_expected) return napi_failure(env), false;
  bool typed = false;
  napi_is_typedarray(env, v, &typed);
  if (typed) {
    napi_typedarray_type type;
    size_t length = 0;
    void *data = nullptr;
    if (napi_get_typedarray_info(env, v, &type, &length, &data, nullptr, nullptr) != napi_ok)
      return napi_failure(env), false;
    if (type == napi_uint8_array) {
      out->data = static_cast<const char *>(data);
      out->len = length;
      return true;
    }
  }
  type_error(env, "ERR_INVALID_ARG_TYPE",
             "expected " + what + " to be a markdown string or a Uint8Array of UTF-8, got " +
                 describe(env, v));
  return false;
}

// A document path: a string of 1..4096 UTF-8 bytes without NUL.
bool read_path(napi_env env, napi_value v, const std::string &what, Utf8 *out) {
  const napi_status st = read_utf8(env, v, out);
  if (st == napi_string_expected) {
    type_error(env, "ERR_INVALID_ARG_TYPE",
               "expected " + what + " to be a string, got " + describe(env, v));
    return false;
  }
  if (st != napi_ok) return napi_failure(env), false;
  if (out->len == 0) {
    type_error(env, "ERR_INVALID_ARG_VALUE",
               "expected " + what + " to be a non-empty path, got an empty string");
    return false;
  }
  if (out->len > kMaxPathBytes) {
    type_error(env, "ERR_INVALID_ARG_VALUE",
               "expected " + what + " to be at most " + std::to_string(kMaxPathBytes) +
                   " UTF-8 bytes, got " + std::to_string(out->len));
    return false;
  }
  if (std::memchr(out->data, '\0', out->len) != nullptr) {
    type_error(env, "ERR_INVALID_ARG_VALUE", "expected " + what + " to contain no NUL character");
    return false;
  }
  return true;
}

// An optional integer argument in [lo, hi]; undefined (or absent) gives `fallback`.
bool read_uint(napi_env env, napi_value v, const char *what, uint32_t lo, uint32_t hi,
               uint32_t fallback, bool cap, uint32_t *out) {
  napi_valuetype t = napi_undefined;
  if (v != nullptr && napi_typeof(env, v, &t) != napi_ok) return napi_failure(env), false;
  if (v == nullptr || t == napi_undefined) {
    *out = fallback;
    return true;
  }
  double d = 0;
  if (t != napi_number || napi_get_value_double(env, v, &d) != napi_ok) {
    type_error(env, "ERR_INVALID_ARG_TYPE",
               std::string("expected `") + what + "` to be an integer, got " + describe(env, v));
    return false;
  }
  if (!(d == std::floor(d)) || d < lo || (!cap && d > hi)) {
    range_error(env, std::string("expected `") + what + "` to be an integer " + std::to_string(lo) +
                         ".." + std::to_string(hi) + ", got " + describe(env, v));
    return false;
  }
  *out = d > hi ? hi : static_cast<uint32_t>(d);
  return true;
}

// `this` of a method as a live index; throws and returns nullptr otherwise.
Wrap *unwrap_live(napi_env env, napi_value self, const char *method, bool allow_closed = false) {
  bool ours = false;
  if (self == nullptr || napi_check_object_type_tag(env, self, &kRecallTag, &ours) != napi_ok ||
      !ours) {
    type_error(env, "ERR_INVALID_THIS",
               std::string("RecallIndex.prototype.") + method +
                   " called on an object that is not a RecallIndex");
    return nullptr;
  }
  void *p = nullptr;
  if (napi_unwrap(env, self, &p) != napi_ok || p == nullptr) return napi_failure(env), nullptr;
  Wrap *w = static_cast<Wrap *>(p);
  if (w->closed && !allow_closed) {
    napi_throw_error(env, "RECALL_CLOSED",
                     (std::string("expected an open RecallIndex, found it closed (") + method +
                      " after close()): create a new index")
                         .c_str());
    return nullptr;
  }
  return w;
}

// A method call: `this` as a live index and N arguments (napi_get_cb_info fills missing ones
// with undefined).
template <size_t N>
struct Call {
  napi_value argv[N > 0 ? N : 1];
  Wrap *w = nullptr;
};

template <size_t N>
bool begin(napi_env env, napi_callback_info info, const char *method, Call<N> *c,
           bool allow_closed = false) {
  size_t argc = N;
  napi_value self = nullptr;
  if (napi_get_cb_info(env, info, &argc, N > 0 ? c->argv : nullptr, &self, nullptr) != napi_ok)
    return napi_failure(env), false;
  c->w = unwrap_live(env, self, method, allow_closed);
  return c->w != nullptr;
}

// Tells V8 how much native memory the index holds, so it weighs the wrapper accordingly.
void report_memory(napi_env env, Wrap *w) {
  w->since_report = 0;
  const int64_t bytes = w->index != nullptr ? static_cast<int64_t>(w->index->GetStats().bytes) : 0;
  int64_t total = 0;
  if (bytes != w->reported &&
      napi_adjust_external_memory(env, bytes - w->reported, &total) == napi_ok)
    w->reported = bytes;
}

// Marks the index closed and frees it, unless an async batch still runs on it (its completion
// frees it then).
void free_index(napi_env env, Wrap *w) {
  w->closed = true;
  if (w->index == nullptr || w->pending > 0) return;
  delete w->index;
  w->index = nullptr;
  g_live.fetch_sub(1, std::memory_order_relaxed);
  report_memory(env, w);
}

void finalize(napi_env env, void *data, void * /*hint*/) {
  Wrap *w = static_cast<Wrap *>(data);
  free_index(env, w);
  delete w;
}

// Maps an engine status to a thrown error naming `what`, then `after`; true when `st` is kOk.
bool engine_ok(napi_env env, claw::recall::Status st, const std::string &what,
               const char *after = "") {
  using claw::recall::Status;
  if (st == Status::kOk) return true;
  const char *code = claw::recall::StatusName(st);
  std::string message;
  switch (st) {
    case Status::kTooLarge:
      message = what + " is larger than the index's maxDocumentBytes";
      break;
    case Status::kNoMemory:
      message = "out of memory while indexing " + what;
      break;
    case Status::kInvalidArgument:
      message = "the recall engine refused " + what + " as invalid";
      break;
    default:
      message = "the recall engine failed on " + what + " (" + code + ")";
      break;
  }
  message += after;
  napi_throw_error(env, code, message.c_str());
  return false;
}

constexpr double kUnbounded = 1e300;  // "no upper bound" for option_number (finite values only)

// Reads one numeric option (undefined keeps the default).
bool option_number(napi_env env, napi_value opts, const char *key, double lo, double hi,
                   double *out) {
  napi_value v;
  napi_valuetype t;
  if (napi_get_named_property(env, opts, key, &v) != napi_ok || napi_typeof(env, v, &t) != napi_ok)
    return napi_failure(env), false;
  if (t == napi_undefined) return true;
  double d = 0;
  if (t != napi_number || napi_get_value_double(env, v, &d) != napi_ok) {
    type_error(
        env, "ERR_INVALID_ARG_TYPE",
        std::string("expected option `") + key + "` to be a number, got " + describe(env, v));
    return false;
  }
  if (!(d >= lo && d <= hi)) {
    char buf[160];
    if (hi >= kUnbounded)
      std::snprintf(buf, sizeof buf, "expected option `%s` to be a finite number >= %g, got %.17g",
                    key, lo, d);
    else
      std::snprintf(buf, sizeof buf, "expected option `%s` to be a number in [%g, %g], got %.17g",
                    key, lo, hi, d);
    range_error(env, buf);
    return false;
  }
  *out = d;
  return true;
}

bool option_bool(napi_env env, napi_value opts, const char *key, bool *out) {
  napi_value v;
  napi_valuetype t;
  if (napi_get_named_property(env, opts, key, &v) != napi_ok || napi_typeof(env, v, &t) != napi_ok)
    return napi_failure(env), false;
  if (t == napi_undefined) return true;
  if (t != napi_boolean) {
    type_error(
        env, "ERR_INVALID_ARG_TYPE",
        std::string("expected option `") + key + "` to be a boolean, got " + describe(env, v));
    return false;
  }
  return napi_get_value_bool(env, v, out) == napi_ok;
}

napi_value Construct(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1] = {nullptr};
  napi_value self = nullptr, target = nullptr;
  RECALL_NAPI(napi_get_cb_info(env, info, &argc, argv, &self, nullptr));
  RECALL_NAPI(napi_get_new_target(env, info, &target));
  if (target == nullptr)
    return type_error(env, "ERR_CONSTRUCT_CALL_REQUIRED", "RecallIndex must be called with `new`");

  claw::recall::Options o;
  napi_valuetype t = napi_undefined;
  if (argc >= 1) RECALL_NAPI(napi_typeof(env, argv[0], &t));
  if (t != napi_undefined) {
    if (t != napi_object)
      return type_error(
          env, "ERR_INVALID_ARG_TYPE",
          "expected RecallIndex options to be an object, got " + describe(env, argv[0]));
    const napi_value opts = argv[0];
    double max_bytes = static_cast<double>(o.max_document_bytes);
    bool stop_words = o.tokenizer.stop_words, plural = o.tokenizer.plural_folding;
    if (!option_number(env, opts, "k1", 0, kUnbounded, &o.k1) ||
        !option_number(env, opts, "titleWeight", 0, kUnbounded, &o.title.weight) ||
        !option_number(env, opts, "headingsWeight", 0, kUnbounded, &o.headings.weight) ||
        !option_number(env, opts, "bodyWeight", 0, kUnbounded, &o.body.weight) ||
        !option_number(env, opts, "titleB", 0, 1, &o.title.b) ||
        !option_number(env, opts, "headingsB", 0, 1, &o.headings.b) ||
        !option_number(env, opts, "bodyB", 0, 1, &o.body.b) ||
        !option_number(env, opts, "maxDocumentBytes", 1, 9007199254740991.0, &max_bytes) ||
        !option_bool(env, opts, "stopWords", &stop_words) ||
        !option_bool(env, opts, "pluralFolding", &plural))
      return nullptr;
    if (max_bytes != std::floor(max_bytes))
      return range_error(env, "expected option `maxDocumentBytes` to be an integer");
    o.max_document_bytes = static_cast<size_t>(max_bytes);
    o.tokenizer.stop_words = stop_words;
    o.tokenizer.plural_folding = plural;
  }
  if (claw::recall::ValidateOptions(o) != claw::recall::Status::kOk)
    return range_error(
        env, "RecallIndex options out of range (k1 and weights must be >= 0, each b in [0, 1])");

  Wrap *w = new Wrap();
  w->index = new Index(o);
  g_live.fetch_add(1, std::memory_order_relaxed);
  if (napi_wrap(env, self, w, finalize, nullptr, nullptr) != napi_ok) {
    delete w->index;
    g_live.fetch_sub(1, std::memory_order_relaxed);
    delete w;
    return napi_failure(env);
  }
  RECALL_NAPI(napi_type_tag_object(env, self, &kRecallTag));
  report_memory(env, w);
  return self;
}

napi_value Upsert(napi_env env, napi_callback_info info) {
  Call<2> c;
  if (!begin(env, info, "upsert", &c)) return nullptr;
  Wrap *w = c.w;
  Utf8 path;
  DocBytes doc;
  if (!read_path(env, c.argv[0], "`path`", &path) || !read_doc(env, c.argv[1], "`markdown`", &doc))
    return nullptr;
  bool replaced = false;
  const claw::recall::Status st = w->index->Upsert(std::string_view(path.data, path.len),
                                                   std::string_view(doc.data, doc.len), &replaced);
  if (!engine_ok(env, st,
                 "the document at " + std::string(path.data, path.len) + " (" +
                     std::to_string(doc.len) + " bytes)"))
    return nullptr;
  if (++w->since_report >= kReportEvery) report_memory(env, w);
  napi_value out;
  RECALL_NAPI(napi_get_boolean(env, replaced, &out));
  return out;
}

// A batch copied out of JavaScript: every path and document in two arenas (one allocation each
// for the whole batch), and the engine's views into them. Nothing JavaScript does afterwards can
// reach these bytes, so the engine may read them on any thread.
struct Batch {
  std::string paths;
  std::string text;
  std::vector<claw::recall::DocumentInput> in;
  uint32_t threads = 0;
};

// Reads upsertBatch's arguments (docs, threads?) into *b; throws and returns false on bad input.
bool gather_batch(napi_env env, napi_value list, napi_value threads_arg, Batch *b) {
  bool is_array = false;
  if (napi_is_array(env, list, &is_array) != napi_ok) return napi_failure(env), false;
  if (!is_array) {
    type_error(env, "ERR_INVALID_ARG_TYPE",
               "expected `docs` to be an array of { path, doc }, got " + describe(env, list));
    return false;
  }
  if (!read_uint(env, threads_arg, "threads", 0, 64, 0, false, &b->threads)) return false;
  uint32_t count = 0;
  napi_value keys[2];
  if (napi_get_array_length(env, list, &count) != napi_ok || !get_keys(env, {kPath, kDoc}, keys))
    return napi_failure(env), false;

  struct Span {
    size_t path_at, path_len, doc_at, doc_len;
  };
  std::vector<Span> spans(count);
  std::vector<napi_value> docs(count);
  std::vector<bool> bytes(count, false);  // doc is a Uint8Array (its bytes are copied below)
  size_t total = 0;
  Utf8 path;
  for (uint32_t i = 0; i < count; ++i) {
    napi_value entry, p;
    napi_valuetype t = napi_undefined;
    if (napi_get_element(env, list, i, &entry) != napi_ok || napi_typeof(env, entry, &t) != napi_ok)
      return napi_failure(env), false;
    const std::string where = "docs[" + std::to_string(i) + "]";
    if (t != napi_object) {
      type_error(
          env, "ERR_INVALID_ARG_TYPE",
          "expected " + where + " to be an object { path, doc }, got " + describe(env, entry));
      return false;
    }
    if (napi_get_property(env, entry, keys[0], &p) != napi_ok ||
        napi_get_property(env, entry, keys[1], &docs[i]) != napi_ok)
      return napi_failure(env), false;
    if (!read_path(env, p, where + ".path", &path)) return false;
    spans[i].path_at = b->paths.size();
    spans[i].path_len = path.len;
    b->paths.append(path.data, path.len);
    // Size the document without copying it yet.
    size_t n = 0;
    const napi_status st = napi_get_value_string_utf8(env, docs[i], nullptr, 0, &n);
    if (st == napi_string_expected) {
      DocBytes probe;
      if (!read_doc(env, docs[i], where + ".doc", &probe)) return false;
      bytes[i] = true;
      n = probe.len;
    } else if (st != napi_ok) {
      return napi_failure(env), false;
    }
    spans[i].doc_at = total;
    spans[i].doc_len = n;
    total += n;
  }
  b->text.resize(total + 1);
  for (uint32_t i = 0; i < count; ++i) {
    char *at = &b->text[spans[i].doc_at];
    if (bytes[i]) {
      // Read again: a getter run by the first loop may have detached or shrunk the buffer since.
      napi_typedarray_type type;
      size_t length = 0;
      void *data = nullptr;
      if (napi_get_typedarray_info(env, docs[i], &type, &length, &data, nullptr, nullptr) !=
          napi_ok)
        return napi_failure(env), false;
      if (length != spans[i].doc_len) {
        type_error(env, "ERR_INVALID_ARG_VALUE",
                   "docs[" + std::to_string(i) + "].doc changed size while the batch was read");
        return false;
      }
      if (length != 0) std::memcpy(at, data, length);
      continue;
    }
    size_t n = 0;
    // +1: Node-API NUL-terminates; the byte after this document is the next one's first (or the
    // arena's spare byte), written again by the next copy.
    if (napi_get_value_string_utf8(env, docs[i], at, spans[i].doc_len + 1, &n) != napi_ok ||
        n != spans[i].doc_len)
      return napi_failure(env), false;
  }
  b->in.resize(count);
  for (uint32_t i = 0; i < count; ++i) {
    b->in[i].path = std::string_view(b->paths.data() + spans[i].path_at, spans[i].path_len);
    b->in[i].markdown = std::string_view(b->text.data() + spans[i].doc_at, spans[i].doc_len);
  }
  return true;
}

// The message of a failed batch: which document, and what was applied.
std::string batch_failure(const Batch &b, claw::recall::Status st, size_t bad, std::string *after) {
  *after = st == claw::recall::Status::kNoMemory ? "; the documents before it were applied"
                                                 : "; nothing was applied";
  return "docs[" + std::to_string(bad) + "] (" +
         (bad < b.in.size() ? std::string(b.in[bad].path) + ", " +
                                  std::to_string(b.in[bad].markdown.size()) + " bytes"
                            : "?") +
         ")";
}

napi_value UpsertBatch(napi_env env, napi_callback_info info) {
  Call<2> c;
  if (!begin(env, info, "upsertBatch", &c)) return nullptr;
  Batch b;
  if (!gather_batch(env, c.argv[0], c.argv[1], &b)) return nullptr;
  size_t bad = 0;
  const claw::recall::Status st =
      c.w->index->UpsertBatch(b.in.data(), b.in.size(), b.threads, &bad);
  if (st != claw::recall::Status::kOk) {
    std::string after;
    const std::string what = batch_failure(b, st, bad, &after);
    engine_ok(env, st, what, after.c_str());
    return nullptr;
  }
  report_memory(env, c.w);
  napi_value undefined;
  RECALL_NAPI(napi_get_undefined(env, &undefined));
  return undefined;
}

// napi_create_string_utf8 refuses a NULL pointer even for length 0 (an empty string_view may have
// one).
inline napi_status make_string(napi_env env, std::string_view s, napi_value *out) {
  return napi_create_string_utf8(env, s.empty() ? "" : s.data(), s.size(), out);
}

// What upsertBatchAsync and loadFileAsync share: a promise settled by a libuv work item on this
// index, which holds the index object alive (a reference) until the work is done.
struct AsyncJob {
  Wrap *w = nullptr;
  napi_ref self = nullptr;
  napi_deferred deferred = nullptr;
  napi_async_work work = nullptr;
};

// An Error with `code` and `message` (for a rejection).
napi_value make_error(napi_env env, const char *code, const char *message) {
  napi_value c, m, e = nullptr;
  napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &c);
  napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &m);
  napi_create_error(env, c, m, &e);
  return e;
}

// Queues `job` (whose AsyncJob is `base`; `data` goes to the callbacks) and returns its promise;
// nullptr with an exception pending when it could not (nothing was queued: the caller deletes the
// job). A promise already created is then left pending: the exception is what the caller sees.
napi_value queue_job(napi_env env, napi_value self, const char *name, AsyncJob *base, void *data,
                     napi_async_execute_callback execute, napi_async_complete_callback complete) {
  napi_value promise = nullptr, resource = nullptr;
  if (napi_create_promise(env, &base->deferred, &promise) != napi_ok ||
      napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &resource) != napi_ok ||
      napi_create_reference(env, self, 1, &base->self) != napi_ok ||
      napi_create_async_work(env, nullptr, resource, execute, complete, data, &base->work) !=
          napi_ok ||
      napi_queue_async_work(env, base->work) != napi_ok) {
    if (base->self != nullptr) napi_delete_reference(env, base->self);
    if (base->work != nullptr) napi_delete_async_work(env, base->work);
    return napi_failure(env);
  }
  ++base->w->pending;
  return promise;
}

// Settles a completed job's promise (`result` is the value or the rejection) and releases what
// it held; an index closed meanwhile is freed once nothing is pending on it.
void settle_job(napi_env env, AsyncJob *base, bool ok, napi_value result) {
  Wrap *w = base->w;
  --w->pending;
  if (w->closed) {
    free_index(env, w);
  } else {
    report_memory(env, w);
  }
  if (ok)
    napi_resolve_deferred(env, base->deferred, result);
  else
    napi_reject_deferred(env, base->deferred, result);
  napi_delete_reference(env, base->self);
  napi_delete_async_work(env, base->work);
}

// upsertBatchAsync(docs, threads?) -> Promise<void>: the documents are copied on the calling
// thread, then parsed and indexed on a libuv worker, so the event loop keeps running (queries
// included: the engine's lock lets them through between the batch's chunks). The index object is
// held alive until the work is done; close() meanwhile marks it closed and frees it afterwards.
struct AsyncBatch {
  AsyncJob base;
  Batch batch;
  claw::recall::Status status = claw::recall::Status::kOk;
  size_t bad = 0;
};

void async_batch_execute(napi_env /*env*/, void *data) {
  AsyncBatch *job = static_cast<AsyncBatch *>(data);
  try {  // on a libuv worker: nothing may unwind out of it
    job->status = job->base.w->index->UpsertBatch(job->batch.in.data(), job->batch.in.size(),
                                                  job->batch.threads, &job->bad);
  } catch (const std::bad_alloc &) {
    job->status = claw::recall::Status::kNoMemory;
  } catch (...) {
    job->status = claw::recall::Status::kInternal;
  }
}

void async_batch_complete(napi_env env, napi_status status, void *data) {
  AsyncBatch *job = static_cast<AsyncBatch *>(data);
  napi_value result = nullptr;
  bool ok = false;
  if (status != napi_ok) {
    result = make_error(env, "RECALL_INTERNAL", "the batch was cancelled before it ran");
  } else if (job->status != claw::recall::Status::kOk) {
    std::string after;
    const std::string what = batch_failure(job->batch, job->status, job->bad, &after);
    engine_ok(env, job->status, what,
              after.c_str());  // throws: take the error back as the rejection
    napi_get_and_clear_last_exception(env, &result);
  } else {
    ok = true;
    napi_get_undefined(env, &result);
  }
  settle_job(env, &job->base, ok, result);
  delete job;
}

napi_value UpsertBatchAsync(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], self = nullptr;
  RECALL_NAPI(napi_get_cb_info(env, info, &argc, argv, &self, nullptr));
  Wrap *w = unwrap_live(env, self, "upsertBatchAsync");
  if (w == nullptr) return nullptr;
  AsyncBatch *job = new AsyncBatch();
  job->base.w = w;
  napi_value promise = nullptr;
  if (gather_batch(env, argv[0], argv[1], &job->batch))
    promise = queue_job(env, self, "claw.RecallIndex.upsertBatchAsync", &job->base, job,
                        async_batch_execute, async_batch_complete);
  if (promise == nullptr) delete job;
  return promise;
}

// The shared prologue of remove(path) and contains(path): the live index and the path argument.
bool path_call(napi_env env, napi_callback_info info, const char *method, Wrap **w, Utf8 *path) {
  Call<1> c;
  if (!begin(env, info, method, &c)) return false;
  *w = c.w;
  return read_path(env, c.argv[0], "`path`", path);
}

napi_value Remove(napi_env env, napi_callback_info info) {
  Wrap *w = nullptr;
  Utf8 path;
  if (!path_call(env, info, "remove", &w, &path)) return nullptr;
  const claw::recall::Status st = w->index->Remove(std::string_view(path.data, path.len));
  if (st != claw::recall::Status::kOk && st != claw::recall::Status::kNotFound &&
      !engine_ok(env, st, "removing " + std::string(path.data, path.len)))
    return nullptr;
  if (st == claw::recall::Status::kOk && ++w->since_report >= kReportEvery) report_memory(env, w);
  napi_value out;
  RECALL_NAPI(napi_get_boolean(env, st == claw::recall::Status::kOk, &out));
  return out;
}

napi_value Contains(napi_env env, napi_callback_info info) {
  Wrap *w = nullptr;
  Utf8 path;
  if (!path_call(env, info, "contains", &w, &path)) return nullptr;
  napi_value out;
  RECALL_NAPI(
      napi_get_boolean(env, w->index->Contains(std::string_view(path.data, path.len)), &out));
  return out;
}

// saveFile(path, meta) / loadFile(path) -> meta: the persisted index file (recall/persist.h). Both
// run on the calling thread. loadFile needs an index holding no documents; on failure it throws an
// Error whose code is RECALL_PERSIST_MISSING / _CORRUPT / _VERSION / _OPTIONS / _IO / _NOT_EMPTY
// (the index stays empty) and the caller builds from the tree instead.
bool persist_ok(napi_env env, claw::recall::PersistStatus st, const std::string &path, int err) {
  if (st == claw::recall::PersistStatus::kOk) return true;
  std::string what;
  switch (st) {
    case claw::recall::PersistStatus::kMissing:
      what = "expected a persisted index at " + path + ", found no file";
      break;
    case claw::recall::PersistStatus::kCorrupt:
      what = "expected a complete persisted index at " + path +
             ", found a torn or corrupt file (length or checksum mismatch)";
      break;
    case claw::recall::PersistStatus::kVersion:
      what = "expected a persisted index of format " +
             std::to_string(claw::recall::kPersistFormat) + " at " + path +
             ", found another version";
      break;
    case claw::recall::PersistStatus::kOptions:
      what = "expected a persisted index built with this index's options at " + path +
             ", found other tokenizer options or limits";
      break;
    case claw::recall::PersistStatus::kNotEmpty:
      what = "expected an empty index to load " + path + " into, found documents";
      break;
    default:
      what = "persisted index " + path + ": " + (err != 0 ? std::strerror(err) : "out of memory");
  }
  napi_throw_error(env, claw::recall::PersistStatusName(st), what.c_str());
  return false;
}

napi_value SaveFile(napi_env env, napi_callback_info info) {
  Call<2> c;
  if (!begin(env, info, "saveFile", &c)) return nullptr;
  Utf8 path, meta;
  if (!read_path(env, c.argv[0], "`path`", &path)) return nullptr;
  const napi_status st = read_utf8(env, c.argv[1], &meta);
  if (st == napi_string_expected)
    return type_error(env, "ERR_INVALID_ARG_TYPE",
                      "expected `meta` to be a string, got " + describe(env, c.argv[1]));
  if (st != napi_ok) return napi_failure(env);
  int err = 0;
  const std::string file(path.data, path.len);
  if (!persist_ok(env,
                  claw::recall::SaveIndexFile(file, *c.w->index,
                                              std::string_view(meta.data, meta.len), &err),
                  file, err))
    return nullptr;
  napi_value undefined;
  RECALL_NAPI(napi_get_undefined(env, &undefined));
  return undefined;
}

napi_value LoadFile(napi_env env, napi_callback_info info) {
  Call<1> c;
  if (!begin(env, info, "loadFile", &c)) return nullptr;
  Utf8 path;
  if (!read_path(env, c.argv[0], "`path`", &path)) return nullptr;
  int err = 0;
  std::string meta;
  const std::string file(path.data, path.len);
  if (!persist_ok(env, claw::recall::LoadIndexFile(file, c.w->index, &meta, &err), file, err))
    return nullptr;
  report_memory(env, c.w);
  napi_value out;
  RECALL_NAPI(napi_create_string_utf8(env, meta.empty() ? "" : meta.data(), meta.size(), &out));
  return out;
}

// loadFileAsync(path, threads?) -> Promise<meta>: loadFile on a libuv worker, its checksum and
// checks on at most `threads` threads (0/undefined: one per core, at most 8). The load reads the
// whole file (checksum, then every structural check: ~12 ms at 10,000 notes, ~400 ms at 100,000),
// so the event loop keeps running meanwhile, and a CLI can load while its modules are still
// loading. The rejection is loadFile's error (RECALL_PERSIST_*). One load at a time per index; the
// index is held alive until the load is done, and close() meanwhile frees it afterwards.
struct AsyncLoad {
  AsyncJob base;
  std::string path;
  claw::recall::PersistStatus status = claw::recall::PersistStatus::kOk;
  int err = 0;
  uint32_t threads = 0;
  std::string meta;
};

void async_load_execute(napi_env /*env*/, void *data) {
  AsyncLoad *job = static_cast<AsyncLoad *>(data);
  try {  // on a libuv worker: nothing may unwind out of it
    job->status = claw::recall::LoadIndexFile(job->path, job->base.w->index, &job->meta, &job->err,
                                              nullptr, job->threads);
  } catch (...) {
    job->status = claw::recall::PersistStatus::kNoMemory;  // LoadIndexFile throws nothing else
  }
}

void async_load_complete(napi_env env, napi_status status, void *data) {
  AsyncLoad *job = static_cast<AsyncLoad *>(data);
  job->base.w->loading = false;
  napi_value result = nullptr;
  bool ok = false;
  if (status != napi_ok) {
    result = make_error(env, "RECALL_INTERNAL", "the load was cancelled before it ran");
  } else if (!persist_ok(env, job->status, job->path, job->err)) {
    napi_get_and_clear_last_exception(env, &result);  // the error persist_ok threw
  } else {
    ok = make_string(env, job->meta, &result) == napi_ok;
    if (!ok) result = make_error(env, "RECALL_NO_MEMORY", "the manifest could not be a string");
  }
  settle_job(env, &job->base, ok, result);
  delete job;
}

napi_value LoadFileAsync(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], self = nullptr;
  RECALL_NAPI(napi_get_cb_info(env, info, &argc, argv, &self, nullptr));
  Wrap *w = unwrap_live(env, self, "loadFileAsync");
  if (w == nullptr) return nullptr;
  Utf8 path;  // a missing argument is undefined (napi_get_cb_info fills the rest of argv)
  uint32_t threads = 0;
  if (!read_path(env, argv[0], "`path`", &path) ||
      !read_uint(env, argv[1], "threads", 0, 64, 0, false, &threads))
    return nullptr;
  if (w->loading || w->pending > 0) {
    napi_throw_error(env, "RECALL_BUSY",
                     "expected an index with no load or batch running, found one running (await "
                     "it before loading)");
    return nullptr;
  }
  AsyncLoad *job = new AsyncLoad();
  job->base.w = w;
  job->path.assign(path.data, path.len);
  job->threads = threads;
  napi_value promise = queue_job(env, self, "claw.RecallIndex.loadFileAsync", &job->base, job,
                                 async_load_execute, async_load_complete);
  if (promise == nullptr) {
    delete job;
    return nullptr;
  }
  w->loading = true;
  return promise;
}

// v4 hits: elementType and (when the element has one) elementId.
bool set_element_fields(napi_env env, napi_value obj, const claw::recall::HitView &h) {
  if (h.element_type.empty()) return true;
  napi_value v;
  if (make_string(env, h.element_type, &v) != napi_ok ||
      napi_set_named_property(env, obj, "elementType", v) != napi_ok)
    return false;
  if (h.element_id.empty()) return true;
  return make_string(env, h.element_id, &v) == napi_ok &&
         napi_set_named_property(env, obj, "elementId", v) == napi_ok;
}

napi_value Query(napi_env env, napi_callback_info info) {
  Call<3> c;
  if (!begin(env, info, "query", &c)) return nullptr;
  Wrap *w = c.w;
  Utf8 text;
  const napi_status st = read_utf8(env, c.argv[0], &text);
  if (st == napi_string_expected)
    return type_error(env, "ERR_INVALID_ARG_TYPE",
                      "expected `text` to be a string, got " + describe(env, c.argv[0]));
  if (st != napi_ok) return napi_failure(env);
  claw::recall::QueryOptions qo;
  if (!read_uint(env, c.argv[1], "k", 0, kMaxK, kDefaultK, true, &qo.k) ||
      !read_uint(env, c.argv[2], "excerptChars", 0, kMaxExcerptChars, kDefaultExcerptChars, false,
                 &qo.excerpt_chars))
    return nullptr;

  napi_value names[4];
  if (!get_keys(env, {kPath, kTitle, kScore, kExcerpt}, names)) return napi_failure(env);
  napi_property_descriptor props[4];
  std::memset(props, 0, sizeof props);
  for (size_t i = 0; i < 4; ++i) {
    props[i].name = names[i];
    props[i].attributes = napi_default_jsproperty;
  }

  napi_value inline_hits[32];
  std::vector<napi_value> more;
  size_t n = 0;
  bool failed = false;
  if (qo.k > 0) {
    w->index->SearchVisit(std::string_view(text.data, text.len), qo,
                          [&](const claw::recall::HitView &h) {
                            if (failed) return;
                            napi_value obj;
                            if (napi_create_object(env, &obj) != napi_ok ||
                                make_string(env, h.path, &props[0].value) != napi_ok ||
                                make_string(env, h.title, &props[1].value) != napi_ok ||
                                napi_create_double(env, h.score, &props[2].value) != napi_ok ||
                                make_string(env, h.excerpt, &props[3].value) != napi_ok ||
                                napi_define_properties(env, obj, 4, props) != napi_ok ||
                                !set_element_fields(env, obj, h)) {
                              failed = true;
                              return;
                            }
                            if (n < 32) {
                              inline_hits[n] = obj;
                            } else {
                              if (more.empty()) more.assign(inline_hits, inline_hits + 32);
                              more.push_back(obj);
                            }
                            ++n;
                          });
  }
  if (failed) return napi_failure(env);
  const napi_value *hits = n <= 32 ? inline_hits : more.data();
  napi_value out;
  RECALL_NAPI(napi_create_array_with_length(env, n, &out));
  for (size_t i = 0; i < n; ++i)
    RECALL_NAPI(napi_set_element(env, out, static_cast<uint32_t>(i), hits[i]));
  return out;
}

// setSignals(path, { importance?, recency?, maturity? } | null | undefined)
napi_value SetSignals(napi_env env, napi_callback_info info) {
  Call<2> c;
  if (!begin(env, info, "setSignals", &c)) return nullptr;
  Utf8 path;
  if (!read_path(env, c.argv[0], "`path`", &path)) return nullptr;
  napi_valuetype t = napi_undefined;
  RECALL_NAPI(napi_typeof(env, c.argv[1], &t));
  const std::string_view p(path.data, path.len);
  claw::recall::Status st;
  if (t == napi_null || t == napi_undefined) {
    st = c.w->index->SetSignals(p, nullptr);
  } else {
    if (t != napi_object)
      return type_error(
          env, "ERR_INVALID_ARG_TYPE",
          "expected `signals` to be an object or null, got " + describe(env, c.argv[1]));
    claw::recall::Signals g;
    if (!option_number(env, c.argv[1], "importance", 0, 100, &g.importance) ||
        !option_number(env, c.argv[1], "recency", 0, 1, &g.recency))
      return nullptr;
    napi_value m;
    napi_valuetype mt;
    RECALL_NAPI(napi_get_named_property(env, c.argv[1], "maturity", &m));
    RECALL_NAPI(napi_typeof(env, m, &mt));
    if (mt != napi_undefined) {
      Utf8 ms;
      const napi_status rs = read_utf8(env, m, &ms);
      const std::string_view v = rs == napi_ok ? std::string_view(ms.data, ms.len) : "";
      if (v == "draft") {
        g.maturity = claw::recall::Maturity::kDraft;
      } else if (v == "validated") {
        g.maturity = claw::recall::Maturity::kValidated;
      } else if (v == "core") {
        g.maturity = claw::recall::Maturity::kCore;
      } else {
        return type_error(env, "ERR_INVALID_ARG_VALUE",
                          "expected `maturity` to be \"draft\", \"validated\" or \"core\", got " +
                              (rs == napi_ok ? "\"" + std::string(v) + "\"" : describe(env, m)));
      }
    }
    st = c.w->index->SetSignals(p, &g);
  }
  if (!engine_ok(env, st, "the signals of " + std::string(p))) return nullptr;
  napi_value undefined;
  RECALL_NAPI(napi_get_undefined(env, &undefined));
  return undefined;
}

bool set_string(napi_env env, napi_value obj, const char *key, std::string_view v) {
  napi_value s;
  return make_string(env, v, &s) == napi_ok && napi_set_named_property(env, obj, key, s) == napi_ok;
}
bool set_number(napi_env env, napi_value obj, const char *key, double v) {
  napi_value n;
  return napi_create_double(env, v, &n) == napi_ok &&
         napi_set_named_property(env, obj, key, n) == napi_ok;
}

napi_value TakeWarnings(napi_env env, napi_callback_info info) {
  Call<0> c;
  if (!begin(env, info, "takeWarnings", &c)) return nullptr;
  const std::vector<claw::recall::FileWarning> ws = c.w->index->TakeWarnings();
  napi_value out;
  RECALL_NAPI(napi_create_array_with_length(env, ws.size(), &out));
  for (size_t i = 0; i < ws.size(); ++i) {
    napi_value o;
    RECALL_NAPI(napi_create_object(env, &o));
    if (!set_string(env, o, "path", ws[i].path) || !set_string(env, o, "code", ws[i].code) ||
        !set_string(env, o, "reason", ws[i].reason) ||
        !set_number(env, o, "offset", static_cast<double>(ws[i].offset)) ||
        napi_set_element(env, out, static_cast<uint32_t>(i), o) != napi_ok)
      return napi_failure(env);
  }
  return out;
}

// { name: value } (first wins) and [{ name, value }] of an attribute list.
bool attrs_to_js(napi_env env, const std::vector<claw::recall::HtmlAttr> &attrs, napi_value obj) {
  napi_value map, list;
  if (napi_create_object(env, &map) != napi_ok ||
      napi_create_array_with_length(env, attrs.size(), &list) != napi_ok)
    return false;
  for (size_t i = 0; i < attrs.size(); ++i) {
    napi_value a;
    bool has = false;
    napi_value key;
    if (make_string(env, attrs[i].name, &key) != napi_ok ||
        napi_has_own_property(env, map, key, &has) != napi_ok)
      return false;
    if (!has) {
      napi_value v;
      if (make_string(env, attrs[i].value, &v) != napi_ok ||
          napi_set_property(env, map, key, v) != napi_ok)
        return false;
    }
    if (napi_create_object(env, &a) != napi_ok || !set_string(env, a, "name", attrs[i].name) ||
        !set_string(env, a, "value", attrs[i].value) ||
        napi_set_element(env, list, static_cast<uint32_t>(i), a) != napi_ok)
      return false;
  }
  return napi_set_named_property(env, obj, "attrs", map) == napi_ok &&
         napi_set_named_property(env, obj, "attrList", list) == napi_ok;
}

// parseTopic(html: string | Uint8Array) (module function): html.h ParseTopicHtml.
napi_value ParseTopic(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1] = {nullptr};
  RECALL_NAPI(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  DocBytes doc;
  if (argc < 1) {
    napi_get_undefined(env, &argv[0]);
  }
  if (!read_doc(env, argv[0], "`html`", &doc)) return nullptr;
  claw::recall::ParsedTopic t;
  claw::recall::ParseTopicHtml(std::string_view(doc.data, doc.len), &t);
  napi_value out, is_topic, elements, warnings;
  RECALL_NAPI(napi_create_object(env, &out));
  RECALL_NAPI(napi_get_boolean(env, t.is_topic, &is_topic));
  RECALL_NAPI(napi_set_named_property(env, out, "isTopic", is_topic));
  if (!attrs_to_js(env, t.attrs, out)) return napi_failure(env);
  RECALL_NAPI(napi_create_array_with_length(env, t.elements.size(), &elements));
  for (size_t i = 0; i < t.elements.size(); ++i) {
    const claw::recall::TopicElement &e = t.elements[i];
    napi_value o;
    RECALL_NAPI(napi_create_object(env, &o));
    if (!set_string(env, o, "type", claw::recall::ElementKindName(e.kind)) ||
        !set_string(env, o, "id", e.id) || !attrs_to_js(env, e.attrs, o) ||
        !set_string(env, o, "text", e.text) ||
        !set_number(env, o, "offset", static_cast<double>(e.offset)) ||
        napi_set_element(env, elements, static_cast<uint32_t>(i), o) != napi_ok)
      return napi_failure(env);
  }
  RECALL_NAPI(napi_set_named_property(env, out, "elements", elements));
  RECALL_NAPI(napi_create_array_with_length(env, t.warnings.size(), &warnings));
  for (size_t i = 0; i < t.warnings.size(); ++i) {
    napi_value o;
    RECALL_NAPI(napi_create_object(env, &o));
    if (!set_string(env, o, "code", t.warnings[i].code) ||
        !set_string(env, o, "reason", t.warnings[i].reason) ||
        !set_number(env, o, "offset", static_cast<double>(t.warnings[i].offset)) ||
        napi_set_element(env, warnings, static_cast<uint32_t>(i), o) != napi_ok)
      return napi_failure(env);
  }
  RECALL_NAPI(napi_set_named_property(env, out, "warnings", warnings));
  return out;
}

// peekIndexMeta(path: string) (module function) -> string: persist.h PeekIndexMeta, the manifest
// of a persisted index file read without verifying the file (a hint LoadIndexFile confirms). Throws
// as loadFile does (RECALL_PERSIST_MISSING, _CORRUPT, _VERSION, _IO).
napi_value PeekIndexMetaJs(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1] = {nullptr};
  RECALL_NAPI(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  if (argc < 1) napi_get_undefined(env, &argv[0]);
  Utf8 path;
  if (!read_path(env, argv[0], "`path`", &path)) return nullptr;
  const std::string file(path.data, path.len);
  std::string meta;
  int err = 0;
  if (!persist_ok(env, claw::recall::PeekIndexMeta(file, &meta, &err), file, err)) return nullptr;
  napi_value out;
  RECALL_NAPI(make_string(env, meta, &out));
  return out;
}

// isTopicPath(relPath: string) (module function): html.h IsTopicPath.
napi_value IsTopicPathJs(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1] = {nullptr};
  RECALL_NAPI(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  if (argc < 1) napi_get_undefined(env, &argv[0]);
  Utf8 p;
  const napi_status st = read_utf8(env, argv[0], &p);
  if (st == napi_string_expected)
    return type_error(env, "ERR_INVALID_ARG_TYPE",
                      "expected `relPath` to be a string, got " + describe(env, argv[0]));
  if (st != napi_ok) return napi_failure(env);
  napi_value out;
  RECALL_NAPI(
      napi_get_boolean(env, claw::recall::IsTopicPath(std::string_view(p.data, p.len)), &out));
  return out;
}

napi_value Stats(napi_env env, napi_callback_info info) {
  Call<0> c;
  if (!begin(env, info, "stats", &c)) return nullptr;
  const claw::recall::Stats s = c.w->index->GetStats();
  const std::pair<const char *, double> fields[] = {
      {"documents", static_cast<double>(s.documents)},
      {"terms", static_cast<double>(s.terms)},
      {"postings", static_cast<double>(s.postings)},
      {"memoryBytes", static_cast<double>(s.bytes)},
      {"mappedBytes", static_cast<double>(s.mapped_bytes)},
      {"generation", static_cast<double>(s.generation)},
      {"docSlots", static_cast<double>(s.doc_slots)},
      {"termSlots", static_cast<double>(s.term_slots)},
      {"avgTitleTokens", s.avg_title_tokens},
      {"avgHeadingsTokens", s.avg_headings_tokens},
      {"avgBodyTokens", s.avg_body_tokens},
  };
  constexpr size_t kN = sizeof fields / sizeof fields[0];
  napi_property_descriptor props[kN];
  std::memset(props, 0, sizeof props);
  for (size_t i = 0; i < kN; ++i) {
    props[i].utf8name = fields[i].first;
    props[i].attributes = napi_default_jsproperty;
    RECALL_NAPI(napi_create_double(env, fields[i].second, &props[i].value));
  }
  napi_value out;
  RECALL_NAPI(napi_create_object(env, &out));
  RECALL_NAPI(napi_define_properties(env, out, kN, props));
  return out;
}

napi_value Close(napi_env env, napi_callback_info info) {
  Call<0> c;
  if (!begin(env, info, "close", &c, /*allow_closed=*/true)) return nullptr;
  free_index(env, c.w);
  napi_value undefined;
  RECALL_NAPI(napi_get_undefined(env, &undefined));
  return undefined;
}

napi_value Closed(napi_env env, napi_callback_info info) {
  Call<0> c;
  if (!begin(env, info, "closed", &c, /*allow_closed=*/true)) return nullptr;
  napi_value out;
  RECALL_NAPI(napi_get_boolean(env, c.w->closed, &out));
  return out;
}

napi_value LiveIndexes(napi_env env, napi_callback_info /*info*/) {
  napi_value out;
  RECALL_NAPI(
      napi_create_double(env, static_cast<double>(g_live.load(std::memory_order_relaxed)), &out));
  return out;
}

void free_env_data(napi_env env, void *data, void * /*hint*/) {
  EnvData *d = static_cast<EnvData *>(data);
  if (d->keys != nullptr) napi_delete_reference(env, d->keys);
  delete d;
}

// Every N-API entry point of the recall binding runs through Guarded: the core is built with
// exceptions, and an allocation failure (or any exception) must become a JavaScript error with a
// stable code, never unwind into Node's C frames (which terminates the process) (issue 13).
template <napi_callback F>
napi_value Guarded(napi_env env, napi_callback_info info) {
  try {
    return F(env, info);
  } catch (const std::bad_alloc &) {
    napi_throw_error(env, "RECALL_NO_MEMORY", "out of memory in the native recall engine");
  } catch (...) {
    napi_throw_error(env, "RECALL_INTERNAL", "unexpected failure in the native recall engine");
  }
  return nullptr;
}

// Defines RecallIndex and recallLiveIndexes on `exports`.
bool Register(napi_env env, napi_value exports) {
  napi_value keys;
  if (napi_create_array_with_length(env, kKeyCount, &keys) != napi_ok) return false;
  for (uint32_t i = 0; i < kKeyCount; ++i) {
    napi_value name;
    if (napi_create_string_utf8(env, kKeyNames[i], NAPI_AUTO_LENGTH, &name) != napi_ok ||
        napi_set_element(env, keys, i, name) != napi_ok)
      return false;
  }
  EnvData *d = new EnvData();
  if (napi_create_reference(env, keys, 1, &d->keys) != napi_ok ||
      napi_set_instance_data(env, d, free_env_data, nullptr) != napi_ok) {
    free_env_data(env, d, nullptr);
    return false;
  }
  const napi_property_attributes method =
      static_cast<napi_property_attributes>(napi_writable | napi_configurable);
  const napi_property_descriptor members[] = {
      {"upsert", nullptr, Guarded<Upsert>, nullptr, nullptr, nullptr, method, nullptr},
      {"upsertBatch", nullptr, Guarded<UpsertBatch>, nullptr, nullptr, nullptr, method, nullptr},
      {"upsertBatchAsync", nullptr, Guarded<UpsertBatchAsync>, nullptr, nullptr, nullptr, method,
       nullptr},
      {"remove", nullptr, Guarded<Remove>, nullptr, nullptr, nullptr, method, nullptr},
      {"contains", nullptr, Guarded<Contains>, nullptr, nullptr, nullptr, method, nullptr},
      {"saveFile", nullptr, Guarded<SaveFile>, nullptr, nullptr, nullptr, method, nullptr},
      {"loadFile", nullptr, Guarded<LoadFile>, nullptr, nullptr, nullptr, method, nullptr},
      {"loadFileAsync", nullptr, Guarded<LoadFileAsync>, nullptr, nullptr, nullptr, method,
       nullptr},
      {"query", nullptr, Guarded<Query>, nullptr, nullptr, nullptr, method, nullptr},
      {"stats", nullptr, Guarded<Stats>, nullptr, nullptr, nullptr, method, nullptr},
      {"setSignals", nullptr, Guarded<SetSignals>, nullptr, nullptr, nullptr, method, nullptr},
      {"takeWarnings", nullptr, Guarded<TakeWarnings>, nullptr, nullptr, nullptr, method, nullptr},
      {"close", nullptr, Guarded<Close>, nullptr, nullptr, nullptr, method, nullptr},
      {"closed", nullptr, nullptr, Guarded<Closed>, nullptr, nullptr, napi_configurable, nullptr},
  };
  napi_value ctor, live, parse_topic, is_topic_path, peek_meta;
  return napi_define_class(env, "RecallIndex", NAPI_AUTO_LENGTH, Guarded<Construct>, nullptr,
                           sizeof members / sizeof members[0], members, &ctor) == napi_ok &&
         napi_set_named_property(env, exports, "RecallIndex", ctor) == napi_ok &&
         napi_create_function(env, "recallLiveIndexes", NAPI_AUTO_LENGTH, Guarded<LiveIndexes>,
                              nullptr, &live) == napi_ok &&
         napi_set_named_property(env, exports, "recallLiveIndexes", live) == napi_ok &&
         napi_create_function(env, "parseTopic", NAPI_AUTO_LENGTH, Guarded<ParseTopic>, nullptr,
                              &parse_topic) == napi_ok &&
         napi_set_named_property(env, exports, "parseTopic", parse_topic) == napi_ok &&
         napi_create_function(env, "isTopicPath", NAPI_AUTO_LENGTH, Guarded<IsTopicPathJs>, nullptr,
                              &is_topic_path) == napi_ok &&
         napi_set_named_property(env, exports, "isTopicPath", is_topic_path) == napi_ok &&
         napi_create_function(env, "peekIndexMeta", NAPI_AUTO_LENGTH, Guarded<PeekIndexMetaJs>,
                              nullptr, &peek_meta) == napi_ok &&
         napi_set_named_property(env, exports, "peekIndexMeta", peek_meta) == napi_ok;
}

}  // namespace recall_binding

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("abiInfo", Napi::Function::New(env, AbiInfo, "abiInfo"));
  exports.Set("negotiateAbi", Napi::Function::New(env, NegotiateAbi, "negotiateAbi"));
  exports.Set("negotiateAgentProtocol",
              Napi::Function::New(env, NegotiateAgentProtocol, "negotiateAgentProtocol"));
  exports.Set("strerror", Napi::Function::New(env, StrError, "strerror"));

  // { CLAW_OK: 0, CLAW_E_INVALID_ARG: -1, ... } straight from the header, so the TypeScript side
  // can check its own copy against the binary.
  Napi::Object statuses = Napi::Object::New(env);
  const int32_t *codes = nullptr;
  const size_t count = claw::status_codes(&codes);
  for (size_t i = 0; i < count; ++i)
    statuses.Set(claw::status_name(codes[i]), Napi::Number::New(env, codes[i]));
  exports.Set("statuses", statuses);

  if (!recall_binding::Register(env, exports)) recall_binding::napi_failure(env);
  if (!claw::walk_binding::RegisterWalk(env, exports)) recall_binding::napi_failure(env);
  return exports;
}

}  // namespace

NODE_API_MODULE(NODE_GYP_MODULE_NAME, Init)
