/*
 * abi_leaky_plugin: a deliberately broken claw plugin for test/native/valgrind.test.ts. It answers
 * everything abi_cycles checks correctly, but every claw_init leaks one 64-byte block, so the leak
 * check must fail on it. This proves the valgrind flags the suite uses (--leak-check=full
 * --errors-for-leak-kinds=definite,indirect --error-exitcode) catch a leak through a dlopen'ed
 * plugin that is then dlclose'd. Never shipped, never built by node-gyp or CMake.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "claw/plugin.h"

static const claw_abi_descriptor k_descriptor = {sizeof(claw_abi_descriptor),
                                                 CLAW_ABI_MAJOR,
                                                 0,
                                                 CLAW_ABI_MINOR,
                                                 "abi-leaky-plugin",
                                                 "0.0.0",
                                                 "unknown",
                                                 "cc",
                                                 "shared-library",
                                                 8,
                                                 CLAW_AGENT_PROTOCOL_MIN,
                                                 CLAW_AGENT_PROTOCOL_MAX,
                                                 0};

static int32_t g_refs;
static void *volatile g_last_leak;

static const void *leaky_get_extension(const char *id) {
  (void)id;
  return NULL;
}

static int32_t leaky_shutdown(void) {
  if (g_refs == 0) return CLAW_E_NOT_INITIALIZED;
  return --g_refs;
}

static int32_t leaky_negotiate(uint32_t agent_min, uint32_t agent_max, uint32_t *out_version,
                               char *buf, size_t len) {
  if (out_version == NULL || agent_min > agent_max) return CLAW_E_INVALID_ARG;
  uint32_t top = agent_max < CLAW_AGENT_PROTOCOL_MAX ? agent_max : CLAW_AGENT_PROTOCOL_MAX;
  *out_version = (top >= agent_min && top >= CLAW_AGENT_PROTOCOL_MIN) ? top : 0;
  if (buf != NULL && len > 0) snprintf(buf, len, "leaky");
  return *out_version != 0 ? CLAW_OK : CLAW_E_PROTOCOL_MISMATCH;
}

static const claw_plugin_funcs k_funcs = {sizeof(claw_plugin_funcs), leaky_get_extension,
                                          leaky_shutdown, leaky_negotiate};

CLAW_EXPORT const claw_abi_descriptor *claw_abi_info(void) { return &k_descriptor; }

CLAW_EXPORT int32_t claw_init(const claw_host_info *host, claw_plugin_info *out) {
  if (host == NULL || out == NULL) return CLAW_E_INVALID_ARG;
  /* The bug: a block allocated on every init and never freed. */
  char *leak = malloc(64);
  if (leak == NULL) return CLAW_E_INTERNAL;
  memset(leak, 0x5a, 64);
  g_last_leak = leak;
  g_last_leak = NULL; /* drop the last reference: "definitely lost" */
  g_refs++;
  claw_plugin_info result;
  memset(&result, 0, sizeof result);
  result.struct_size =
      out->struct_size < sizeof result ? out->struct_size : (uint32_t)sizeof result;
  result.abi_major = CLAW_ABI_MAJOR;
  result.abi_minor = 0;
  result.funcs = &k_funcs;
  result.abi = &k_descriptor;
  memcpy(out, &result, result.struct_size);
  return CLAW_OK;
}

CLAW_EXPORT const char *claw_strerror(int32_t code) {
  return code == CLAW_OK ? "success" : "error";
}
