// The plugin's extension table. Adding an extension is one entry in kExtensions: its id (bump the
// "/N" suffix for an incompatible change, keep the old id registered while it is still served) and
// a pointer to its static, immutable struct. Nothing else changes: no ABI bump, no new export.
#include "extensions.h"

#include <cstring>

namespace claw {
namespace {

struct ExtensionEntry {
  const char *id;
  const void *ext;
};

// Registered extensions. The context-tree recall extension ("claw.byterover.recall/1") lands here
// with the recall issue. The trailing {nullptr, nullptr} keeps the array non-empty.
constexpr ExtensionEntry kExtensions[] = {
    {nullptr, nullptr},
};

constexpr unsigned kCount = sizeof(kExtensions) / sizeof(kExtensions[0]) - 1;

}  // namespace

const void *find_extension(const char *id) noexcept {
  if (id == nullptr) return nullptr;
  for (unsigned i = 0; i < kCount; ++i)
    if (std::strcmp(kExtensions[i].id, id) == 0) return kExtensions[i].ext;
  return nullptr;
}

unsigned extension_count() noexcept { return kCount; }

const char *extension_id(unsigned i) noexcept { return i < kCount ? kExtensions[i].id : nullptr; }

}  // namespace claw
