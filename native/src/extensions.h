// The plugin's extension registry: string id -> static extension struct (CLAP-style ids,
// "<vendor>.<name>/<version>"). Looked up by claw_plugin_funcs.get_extension.
#ifndef CLAW_EXTENSIONS_H
#define CLAW_EXTENSIONS_H

struct claw_recall_v1;  // claw/recall.h

namespace claw {

// The "claw.byterover.recall/1" extension struct (what find_extension returns for that id). A
// named, typed accessor, so the libabigail baseline (native/abi/) records claw_recall_v1's layout
// and scripts/abi-check.sh checks it member by member like the core structs.
const claw_recall_v1 *recall_extension_v1() noexcept;

// Returns the extension registered under exactly `id`, or nullptr (also for a null id).
// Side-effect free; safe from any thread.
const void *find_extension(const char *id) noexcept;

// Number of registered extensions and the id of the i-th (for claw-host --list-extensions style
// diagnostics and tests); nullptr when i is out of range.
unsigned extension_count() noexcept;
const char *extension_id(unsigned i) noexcept;

}  // namespace claw

#endif  // CLAW_EXTENSIONS_H
