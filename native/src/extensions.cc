// The plugin's extension table. Adding an extension is one entry in kExtensions: its id (bump the
// "/N" suffix for an incompatible change, keep the old id registered while it is still served) and
// a pointer to its static, immutable struct. Nothing else changes: no ABI bump, no new export.
#include "extensions.h"

#include <cstring>

#include "claw/plugin.h"
#include "recall/recall_c.h"

namespace claw {
namespace {

// "claw.byterover.recall/1" (claw/recall.h): the recall engine's C facade, entry for entry. The
// function pointers are the facade's own functions (hidden symbols: reached only through here).
constexpr claw_recall_v1 kRecallV1 = {
    sizeof(claw_recall_v1),    claw_recall_options_init, claw_recall_create,
    claw_recall_destroy,       claw_recall_upsert,       claw_recall_upsert_batch,
    claw_recall_remove,        claw_recall_contains,     claw_recall_search,
    claw_recall_results_count, claw_recall_results_hit,  claw_recall_results_free,
    claw_recall_search_into,   claw_recall_get_stats,    claw_recall_status_name,
};

}  // namespace

const claw_recall_v1 *recall_extension_v1() noexcept { return &kRecallV1; }

namespace {

struct ExtensionEntry {
  const char *id;
  const void *ext;
};

// Registered extensions. The trailing {nullptr, nullptr} keeps the array non-empty.
constexpr ExtensionEntry kExtensions[] = {
    {CLAW_RECALL_EXTENSION_ID, &kRecallV1},
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
