// Internal view of the plugin's process-wide state (kept in plugin.cc) for other parts of the core,
// e.g. an extension that wants to log through the host. Not part of the ABI; nothing exported.
#ifndef CLAW_PLUGIN_STATE_H
#define CLAW_PLUGIN_STATE_H

#include <cstdint>

#include "claw/plugin.h"
#include "negotiate.h"

namespace claw {

// Copies the host info of the first successful claw_init into *copy and returns copy while at
// least one reference is held; nullptr after the last shutdown (or before any init).
const claw_host_info *initializer_host(claw_host_info *copy) noexcept;

// Number of claw_init references currently held.
uint32_t reference_count() noexcept;

// The ABI range this build of the plugin serves.
AbiRange plugin_abi_range() noexcept;

}  // namespace claw

#endif  // CLAW_PLUGIN_STATE_H
