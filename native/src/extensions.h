// The plugin's extension registry: string id -> static extension struct (CLAP-style ids,
// "<vendor>.<name>/<version>"). Looked up by claw_plugin_funcs.get_extension.
#ifndef CLAW_EXTENSIONS_H
#define CLAW_EXTENSIONS_H

namespace claw {

// Returns the extension registered under exactly `id`, or nullptr (also for a null id).
// Side-effect free; safe from any thread.
const void *find_extension(const char *id) noexcept;

// Number of registered extensions and the id of the i-th (for claw-host --list-extensions style
// diagnostics and tests); nullptr when i is out of range.
unsigned extension_count() noexcept;
const char *extension_id(unsigned i) noexcept;

}  // namespace claw

#endif  // CLAW_EXTENSIONS_H
