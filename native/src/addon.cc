// The Node-API face of the core (claw_byterover.node). The only file that includes napi.h.
// Built with NAPI_DISABLE_CPP_EXCEPTIONS (-fno-exceptions everywhere): argument errors are thrown
// as JavaScript TypeErrors; negotiation outcomes are returned as plain objects
//   { ok, status, code, message, version? }
// where `status` is the numeric CLAW_* value and `code` its stable name ("CLAW_E_ABI_MAJOR"), so
// TypeScript switches on codes and never parses prose.
#include <napi.h>

#include <cstdint>

#include "claw/plugin.h"
#include "negotiate.h"
#include "plugin_state.h"

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
  if (!number || !(d >= 0 && d <= 4294967295.0) || d != static_cast<double>(static_cast<uint32_t>(d))) {
    throw_type_error(env, "expected " + what + " to be an integer 0..4294967295, got " +
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

// negotiateAgentProtocol(min, max): the agent's accepted range against the plugin's 3–4.
Napi::Value NegotiateAgentProtocol(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  uint32_t lo = 0, hi = 0;
  if (!arg_u32(info, 0, "min", &lo) || !arg_u32(info, 1, "max", &hi)) return env.Undefined();
  const claw_abi_descriptor *d = claw_abi_info();
  const claw::ProtocolOutcome outcome =
      claw::negotiate_agent_protocol(d->agent_protocol_min, d->agent_protocol_max, lo, hi);
  char line[512];
  claw::explain_agent_protocol(outcome, d->agent_protocol_min, d->agent_protocol_max, lo, hi,
                               d->plugin_name, line, sizeof line);
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
  for (size_t i = 0; i < count; ++i) statuses.Set(claw::status_name(codes[i]), Napi::Number::New(env, codes[i]));
  exports.Set("statuses", statuses);
  return exports;
}

}  // namespace

NODE_API_MODULE(NODE_GYP_MODULE_NAME, Init)
