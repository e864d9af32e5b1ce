/*
 * claw recall: the C facade of the recall engine (native/src/recall/).
 *
 * Plain C99, no C++ types, suitable for a plugin ABI function table (extension id
 * "claw.byterover.recall/1"). Every string is passed as (pointer, byte length), UTF-8 expected but
 * not required: malformed bytes in documents are replaced by U+FFFD in titles and excerpts, and are
 * word separators for search. Output strings are additionally NUL-terminated.
 *
 * These are the functions behind the entries of claw_recall_v1 (native/src/extensions.cc), one for
 * one with the same types; the types themselves, and the full contract of each entry, are in
 * claw/recall.h.
 *
 * Status: every function returning int returns CLAW_RECALL_OK (0) or one of CLAW_RECALL_E_*;
 * claw_recall_status_name() gives its stable name ("RECALL_NOT_FOUND", ...).
 *
 * Threading: all functions taking a claw_recall_index may be called concurrently from any threads,
 * except claw_recall_destroy, which must not race with any other call on that index. Searches run
 * in parallel; an upsert/remove waits for the searches already running and holds new ones off
 * only for the index update itself (parsing happens before). A results object may be read from any
 * thread; it must not be freed while another thread reads it.
 *
 * Memory ownership:
 *   - claw_recall_index: created by claw_recall_create, owned by the caller until
 *     claw_recall_destroy.
 *   - Inputs (paths, markdown, query text, option structs) are only read during the call; the
 *     index keeps its own copies.
 *   - claw_recall_search: the plugin allocates a claw_recall_results; the caller owns it and frees
 *     it with claw_recall_results_free. The hits and strings it exposes stay valid until then,
 *     independently of the index (they are copies; the index may change or be destroyed).
 *   - claw_recall_search_into: the caller provides every byte; nothing is allocated for the
 *     caller. Hit strings point into the caller's text buffer.
 *
 * Versioning: structs passed in start with struct_size = sizeof(the struct the caller compiled
 * against); fields are only ever appended, and the plugin reads no field beyond struct_size
 * (missing ones take their defaults). Since: claw.byterover.recall/1.
 */
#ifndef CLAW_RECALL_C_H_
#define CLAW_RECALL_C_H_

/* The types, status codes and option flags are the public ones: one definition, in the header
 * hosts compile against (CLAP's implementations include clap/clap.h the same way). A relative path,
 * so that every build of the engine (node-gyp, CMake, the native tests and fuzz targets, a host
 * compiling the sources) finds it without an extra include directory. */
#include "../../include/claw/recall.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Empty by default: the functions keep the visibility the build gives them (hidden in the claw
 * addon, reached through the plugin's function table). Define CLAW_RECALL_API to export them. */
#ifndef CLAW_RECALL_API
#define CLAW_RECALL_API
#endif

/* Fills *options with the defaults and struct_size. */
CLAW_RECALL_API void claw_recall_options_init(claw_recall_options* options);

/* ---- index lifecycle ---- */
/* Creates an empty index. options may be NULL (defaults). On success *out owns the index. */
CLAW_RECALL_API int claw_recall_create(const claw_recall_options* options, claw_recall_index** out);

/* Frees the index and everything it holds. NULL is ignored. */
CLAW_RECALL_API void claw_recall_destroy(claw_recall_index* index);

/* ---- documents ---- */

/* Adds the markdown document at path, or replaces it if the path is indexed. path: 1..4096 bytes,
 * no NUL. *replaced (optional) is set to 1 when a document was replaced, else 0. */
CLAW_RECALL_API int claw_recall_upsert(claw_recall_index* index, const char* path, size_t path_len,
                                       const char* markdown, size_t markdown_len, int* replaced);

/* Upserts count documents in order (a later duplicate path wins), parsing on `threads` worker
 * threads (0 = one per core, at most 8). Paths and sizes are checked first: on
 * CLAW_RECALL_E_INVALID_ARGUMENT / CLAW_RECALL_E_TOO_LARGE nothing is applied and *bad_index
 * (optional) names the offending document. Searches keep running during the batch. */
CLAW_RECALL_API int claw_recall_upsert_batch(claw_recall_index* index, const claw_recall_doc* docs,
                                             size_t count, uint32_t threads, size_t* bad_index);

/* Removes the document at path. CLAW_RECALL_E_NOT_FOUND when it is not indexed. */
CLAW_RECALL_API int claw_recall_remove(claw_recall_index* index, const char* path, size_t path_len);

/* 1 when path is indexed, 0 when not (or index/path NULL). */
CLAW_RECALL_API int claw_recall_contains(const claw_recall_index* index, const char* path,
                                         size_t path_len);

/* ---- search ---- */
/* Runs a query; *out receives a results object (possibly with 0 hits) the caller must free with
 * claw_recall_results_free. Hits are best first: score descending, then path ascending. */
CLAW_RECALL_API int claw_recall_search(const claw_recall_index* index,
                                       const claw_recall_query* query, claw_recall_results** out);

CLAW_RECALL_API size_t claw_recall_results_count(const claw_recall_results* results);

/* The i-th hit (i < count), or NULL. Valid until claw_recall_results_free. */
CLAW_RECALL_API const claw_recall_hit* claw_recall_results_hit(const claw_recall_results* results,
                                                               size_t i);

/* NULL is ignored. */
CLAW_RECALL_API void claw_recall_results_free(claw_recall_results* results);

/* Runs a query returning at most min(query->k, hits_cap) hits. hit_size is the caller's
 * sizeof(claw_recall_hit) and the stride of the hits array. The strings of the hits are copied into
 * text, NUL-terminated, and the hits point into it. When text_cap < info->text_needed the call
 * returns CLAW_RECALL_E_BUFFER_TOO_SMALL with info->hit_count and info->text_needed set and the
 * buffers' contents unspecified: retry with a larger text buffer. text may be NULL with text_cap 0
 * to learn text_needed first. hits_cap 0 runs no search. No memory is allocated for the caller.
 * info->struct_size is set by the caller; the plugin fills that many bytes at most. */
CLAW_RECALL_API int claw_recall_search_into(const claw_recall_index* index,
                                            const claw_recall_query* query, claw_recall_hit* hits,
                                            size_t hit_size, size_t hits_cap, char* text,
                                            size_t text_cap, claw_recall_search_info* info);

/* ---- introspection ---- */
/* Fills the first out->struct_size bytes of *out. */
CLAW_RECALL_API int claw_recall_get_stats(const claw_recall_index* index, claw_recall_stats* out);

/* "OK", "RECALL_INVALID_ARGUMENT", "RECALL_NOT_FOUND", "RECALL_BUFFER_TOO_SMALL",
 * "RECALL_OUT_OF_MEMORY", "RECALL_DOCUMENT_TOO_LARGE", "RECALL_INTERNAL"; static storage. */
CLAW_RECALL_API const char* claw_recall_status_name(int status);

#ifdef __cplusplus
}
#endif

#endif /* CLAW_RECALL_C_H_ */
