/*
 * claw recall: the C facade of the recall engine (native/src/recall/).
 *
 * Plain C99, no C++ types, suitable for a plugin ABI function table (extension id
 * "claw.byterover.recall/1"). Every string is passed as (pointer, byte length), UTF-8 expected but
 * not required: malformed bytes in documents are replaced by U+FFFD in titles and excerpts, and are
 * word separators for search. Output strings are additionally NUL-terminated.
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

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Empty by default: the functions keep the visibility the build gives them (hidden in the claw
 * addon, reached through the plugin's function table). Define CLAW_RECALL_API to export them. */
#ifndef CLAW_RECALL_API
#define CLAW_RECALL_API
#endif

/* ---- status codes (stable; equal to claw::recall::Status) ---- */
#define CLAW_RECALL_OK 0
#define CLAW_RECALL_E_INVALID_ARGUMENT \
  1                               /* null pointer, empty/too long path, path with NUL, bad option */
#define CLAW_RECALL_E_NOT_FOUND 2 /* remove: the path is not indexed */
#define CLAW_RECALL_E_BUFFER_TOO_SMALL \
  3                               /* search_into: text buffer too small (see out->text_needed) */
#define CLAW_RECALL_E_NO_MEMORY 4 /* allocation failed */
#define CLAW_RECALL_E_TOO_LARGE 5 /* document larger than max_document_bytes */
#define CLAW_RECALL_E_INTERNAL 6  /* unexpected failure inside the engine */

/* ---- options ---- */
#define CLAW_RECALL_KEEP_STOP_WORDS 0x1u   /* index and search English stop words too */
#define CLAW_RECALL_NO_PLURAL_FOLDING 0x2u /* disable the S-stemmer (notes ≠ note) */

typedef struct claw_recall_options {
  uint32_t struct_size; /* sizeof(claw_recall_options) */
  uint32_t flags;       /* CLAW_RECALL_KEEP_STOP_WORDS | CLAW_RECALL_NO_PLURAL_FOLDING; default 0 */
  double k1;            /* BM25 term-frequency saturation, >= 0; default 1.2 */
  double title_weight;  /* >= 0; default 3.0 (title + frontmatter tags/keywords) */
  double headings_weight;      /* >= 0; default 2.0 */
  double body_weight;          /* >= 0; default 1.0 */
  double title_b;              /* length normalization in [0, 1]; default 0.75 */
  double headings_b;           /* default 0.75 */
  double body_b;               /* default 0.75 */
  uint64_t max_document_bytes; /* > 0; default 16 MiB */
} claw_recall_options;

/* Fills *options with the defaults and struct_size. */
CLAW_RECALL_API void claw_recall_options_init(claw_recall_options* options);

/* ---- index lifecycle ---- */
typedef struct claw_recall_index claw_recall_index;

/* Creates an empty index. options may be NULL (defaults). On success *out owns the index. */
CLAW_RECALL_API int claw_recall_create(const claw_recall_options* options, claw_recall_index** out);

/* Frees the index and everything it holds. NULL is ignored. */
CLAW_RECALL_API void claw_recall_destroy(claw_recall_index* index);

/* ---- documents ---- */

/* Adds the markdown document at path, or replaces it if the path is indexed. path: 1..4096 bytes,
 * no NUL. *replaced (optional) is set to 1 when a document was replaced, else 0. */
CLAW_RECALL_API int claw_recall_upsert(claw_recall_index* index, const char* path, size_t path_len,
                                       const char* markdown, size_t markdown_len, int* replaced);

typedef struct claw_recall_doc {
  const char* path;
  size_t path_len;
  const char* markdown;
  size_t markdown_len;
} claw_recall_doc;

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
typedef struct claw_recall_query {
  uint32_t struct_size; /* sizeof(claw_recall_query) */
  uint32_t k;           /* hits wanted; 0 = 10; at most 10000 */
  const char* text;     /* the query (may be NULL when text_len is 0) */
  size_t text_len;
  uint32_t excerpt_chars; /* excerpt length in Unicode code points incl. "…"; 0 = no excerpt */
} claw_recall_query;

typedef struct claw_recall_hit {
  double score;     /* BM25F score, > 0 */
  const char* path; /* NUL-terminated, path_len bytes before the NUL */
  size_t path_len;
  const char* title; /* NUL-terminated, valid UTF-8 */
  size_t title_len;
  const char* excerpt; /* NUL-terminated, valid UTF-8, "" when excerpt_chars is 0 */
  size_t excerpt_len;
} claw_recall_hit;

/* Plugin-owned results. */
typedef struct claw_recall_results claw_recall_results;

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

/* Caller-owned results: written into hits[0..hits_cap) and text[0..text_cap). */
typedef struct claw_recall_search_info {
  uint32_t struct_size; /* sizeof(claw_recall_search_info), set by the caller */
  size_t hit_count;     /* hits written (== hits found, capped by hits_cap) */
  size_t text_needed;   /* bytes of text the hits need, NULs included */
} claw_recall_search_info;

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
typedef struct claw_recall_stats {
  uint32_t struct_size; /* sizeof(claw_recall_stats), set by the caller */
  uint64_t documents;   /* live documents */
  uint64_t terms;       /* distinct terms */
  uint64_t postings;    /* (term, document) pairs */
  uint64_t bytes;       /* heap bytes held by the index (estimate from container capacities) */
  uint64_t generation;  /* successful changes since creation */
  uint64_t doc_slots;   /* document slots allocated (live + reusable) */
  uint64_t term_slots;  /* term ids allocated (live + reusable) */
  double avg_title_tokens;
  double avg_headings_tokens;
  double avg_body_tokens;
} claw_recall_stats;

/* Fills the first out->struct_size bytes of *out. */
CLAW_RECALL_API int claw_recall_get_stats(const claw_recall_index* index, claw_recall_stats* out);

/* "OK", "RECALL_INVALID_ARGUMENT", "RECALL_NOT_FOUND", "RECALL_BUFFER_TOO_SMALL",
 * "RECALL_OUT_OF_MEMORY", "RECALL_DOCUMENT_TOO_LARGE", "RECALL_INTERNAL"; static storage. */
CLAW_RECALL_API const char* claw_recall_status_name(int status);

#ifdef __cplusplus
}
#endif

#endif /* CLAW_RECALL_C_H_ */
