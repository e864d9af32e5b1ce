/*
 * claw/recall.h: the context-tree recall extension, "claw.byterover.recall/1" (C, usable from
 * C99/C11 and C++). Included by claw/plugin.h; a host may also include it on its own.
 *
 * What it is: an in-memory full-text index over markdown notes (the ByteRover context tree) with
 * BM25F ranking, inside the plugin. The host creates indexes, feeds them documents by path, and
 * queries them; the plugin never touches the file system or the network.
 *
 * ---------------------------------------------------------------------------------------------
 * Getting it
 * ---------------------------------------------------------------------------------------------
 *     const claw_recall_v1 *recall =
 *         (const claw_recall_v1 *)plugin.funcs->get_extension(CLAW_RECALL_EXTENSION_ID);
 *     if (recall == NULL) { ...this plugin build has no recall engine... }
 *     claw_recall_index *ix = NULL;
 *     if (recall->create(NULL, &ix) != CLAW_RECALL_OK) { ... }
 *     recall->upsert(ix, "auth/jwt.md", 11, markdown, markdown_len, NULL);
 *     claw_recall_query q = { sizeof q, 5, "refresh token", 13, 200 };
 *     claw_recall_results *res = NULL;
 *     if (recall->search(ix, &q, &res) == CLAW_RECALL_OK) {
 *       for (size_t i = 0; i < recall->results_count(res); ++i) {
 *         const claw_recall_hit *h = recall->results_hit(res, i);
 *         printf("%.3f %s %s\n", h->score, h->path, h->title);
 *       }
 *       recall->results_free(res);
 *     }
 *     recall->destroy(ix);
 *
 * The struct is static, owned by the plugin, immutable, and the same pointer for every lookup.
 *
 * ---------------------------------------------------------------------------------------------
 * Lifetime
 * ---------------------------------------------------------------------------------------------
 *  - Call the functions while the plugin is initialized: between a successful claw_init and the
 *    matching (last) shutdown.
 *  - Destroy every index and free every results object before the last shutdown and dlclose. The
 *    plugin does not track them: after dlclose their memory and code are gone.
 *  - A thread that ran a search keeps small per-thread scratch buffers. Their destructors live in
 *    the plugin, so glibc keeps the library mapped after dlclose until that thread exits.
 *
 * ---------------------------------------------------------------------------------------------
 * Ranking (BM25F)
 * ---------------------------------------------------------------------------------------------
 * Fields and default weights:
 *  - title: frontmatter `title`, else the first H1, else the file name; frontmatter `tags` and
 *    `keywords` count as title text. Weight 3.0.
 *  - headings: ATX and setext heading texts. Weight 2.0.
 *  - body: everything else, with markup removed (link targets, HTML, emphasis markers, fences...).
 *    Weight 1.0.
 *
 *     tf~(t,d) = sum over fields f of  w_f * tf_f(t,d) / (1 - b_f + b_f * len_f(d) / avglen_f)
 *     score(d) = sum over distinct query terms t of  idf(t) * tf~(t,d) * (k1 + 1) / (k1 + tf~(t,d))
 *     idf(t)   = ln(1 + (N - df(t) + 0.5) / (df(t) + 0.5))
 *
 * with k1 = 1.2 and b_f = 0.75 by default. N counts the live documents, df(t) the documents
 * holding t in any field, len_f the indexed tokens of field f. The first 64 distinct query terms
 * are used. Tokens: runs of Unicode letters and digits, case- and accent-folded; English stop words
 * dropped and English plurals folded (Harman's S-stemmer) unless disabled by options.
 *
 * ---------------------------------------------------------------------------------------------
 * Strings, status codes
 * ---------------------------------------------------------------------------------------------
 *  - Every string in is (pointer, byte length), UTF-8 expected but not required: malformed bytes
 * are word separators for search and become U+FFFD in titles and excerpts.
 *  - Every string out is valid UTF-8 (paths: the bytes given), NUL-terminated, with its byte length
 *    beside it.
 *  - Paths are 1..4096 bytes without NUL. They are keys, not file names: the plugin opens nothing.
 *  - Functions returning int return CLAW_RECALL_OK (0) or a positive CLAW_RECALL_E_* code (a
 *    separate space from the negative CLAW_E_* codes of claw/plugin.h). status_name() gives the
 *    stable name, e.g. "RECALL_NOT_FOUND".
 *
 * ---------------------------------------------------------------------------------------------
 * Threading
 * ---------------------------------------------------------------------------------------------
 *  - Every function taking an index may be called concurrently from any threads, except destroy,
 *    which must not race with any other call on that index.
 *  - Searches run in parallel. An upsert/remove parses outside the lock. It waits for the
 *    searches already running, then holds new ones off only for the short index update. A waiting
 *    writer stops new readers, so writers never starve.
 *  - A results object may be read from any thread; it must not be freed while another thread
 *    reads it.
 *  - Functions taking no index (options_init, status_name) are pure.
 *
 * ---------------------------------------------------------------------------------------------
 * Versioning
 * ---------------------------------------------------------------------------------------------
 *  - The id's "/1" is the extension's major. An incompatible change (a function removed, retyped,
 *    or its meaning changed) gets a new id, "claw.byterover.recall/2"; the plugin keeps serving
 *    "/1" alongside it while it can.
 *  - Within "/1", growth is append-only, like the core ABI:
 *    - new functions go at the END of claw_recall_v1;
 *    - new fields go at the end of the option/query/stats/info structs.
 *    Each addition is marked "since recall/1.N" (everything below is recall/1.0, available since
 *    claw ABI 1.0).
 *  - Check `struct_size` before calling an entry: call it only if it lies within struct_size. An
 *    older plugin's struct is shorter.
 *  - Structs the host passes in start with `struct_size = sizeof` as the host compiled them. The
 *    plugin reads no byte beyond it: missing fields take their defaults. It writes no byte beyond
 *    the struct_size of a struct it fills.
 *  - claw_recall_hit is the exception: it has no struct_size. search_into takes its stride
 *    (`hit_size`) instead; results_hit returns the plugin's own layout, to which fields may only be
 *    appended.
 */
#ifndef CLAW_RECALL_H
#define CLAW_RECALL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The extension id to pass to claw_plugin_funcs.get_extension. */
#define CLAW_RECALL_EXTENSION_ID "claw.byterover.recall/1"

/* These types are the only definition: the engine's C facade (native/src/recall/recall_c.h)
 * includes this header rather than copying them. */

/* ---- Status codes (stable within "/1"; new codes only appended) ---------------------------- */
#define CLAW_RECALL_OK 0
/** A NULL pointer, an empty or too long path, a path containing NUL, or a bad option value. */
#define CLAW_RECALL_E_INVALID_ARGUMENT 1
/** remove: the path is not indexed. */
#define CLAW_RECALL_E_NOT_FOUND 2
/** search_into: the text buffer is too small (info->text_needed says how much is needed). */
#define CLAW_RECALL_E_BUFFER_TOO_SMALL 3
/** An allocation failed. */
#define CLAW_RECALL_E_NO_MEMORY 4
/** A document is larger than claw_recall_options.max_document_bytes. */
#define CLAW_RECALL_E_TOO_LARGE 5
/** An unexpected failure inside the engine (a bug: please report it). */
#define CLAW_RECALL_E_INTERNAL 6

/* ---- Option flags (claw_recall_options.flags) ---------------------------------------------- */
/** Index and search English stop words too ("the", "and", ...). */
#define CLAW_RECALL_KEEP_STOP_WORDS 0x1u
/** Disable plural folding (then "notes" no longer matches "note"). */
#define CLAW_RECALL_NO_PLURAL_FOLDING 0x2u

/** Index options. Owned by the caller, read only during create. Fill it with options_init, then
 *  change what you need. */
typedef struct claw_recall_options {
  /** sizeof(claw_recall_options) as the caller compiled it (options_init sets it). */
  uint32_t struct_size;
  /** CLAW_RECALL_KEEP_STOP_WORDS | CLAW_RECALL_NO_PLURAL_FOLDING; default 0. Other bits:
   *  CLAW_RECALL_E_INVALID_ARGUMENT. */
  uint32_t flags;
  /** BM25 term-frequency saturation, finite and >= 0; default 1.2. */
  double k1;
  /** Field weights, finite and >= 0; defaults 3.0 (title and tags), 2.0 (headings), 1.0 (body). */
  double title_weight;
  double headings_weight;
  double body_weight;
  /** Length normalization per field, in [0, 1]; default 0.75 each. */
  double title_b;
  double headings_b;
  double body_b;
  /** Largest document accepted, in bytes, > 0; default 16 MiB. */
  uint64_t max_document_bytes;
} claw_recall_options;

/** An index. Opaque; created by create, owned by the caller until destroy. */
typedef struct claw_recall_index claw_recall_index;

/** One document of upsert_batch. Owned by the caller, read only during the call. */
typedef struct claw_recall_doc {
  const char *path;
  size_t path_len;
  /** The raw markdown file, frontmatter included. May be NULL when markdown_len is 0. */
  const char *markdown;
  size_t markdown_len;
} claw_recall_doc;

/** A query. Owned by the caller, read only during the call. */
typedef struct claw_recall_query {
  /** sizeof(claw_recall_query) as the caller compiled it. */
  uint32_t struct_size;
  /** Hits wanted: 0 means 10; values above 10000 are capped at 10000. */
  uint32_t k;
  /** The query text (may be NULL when text_len is 0). An empty or all-stop-word query finds
   *  nothing (0 hits, CLAW_RECALL_OK). */
  const char *text;
  size_t text_len;
  /** Excerpt length in Unicode code points, the "…" marking a cut included; 0 = no excerpt. */
  uint32_t excerpt_chars;
} claw_recall_query;

/** One hit. Its strings are NUL-terminated and valid as long as the object holding them (results
 *  object or the caller's text buffer). */
typedef struct claw_recall_hit {
  /** BM25F score, > 0. Hits come best first: score descending, then path ascending. */
  double score;
  /** The document's path, as given to upsert. */
  const char *path;
  size_t path_len;
  /** The document's title (see "Ranking"). */
  const char *title;
  size_t title_len;
  /** A window of the body around the best match, or "" when excerpt_chars was 0. */
  const char *excerpt;
  size_t excerpt_len;
} claw_recall_hit;

/** Plugin-owned search results. Opaque; freed with results_free. */
typedef struct claw_recall_results claw_recall_results;

/** What search_into reports. Owned by the caller. */
typedef struct claw_recall_search_info {
  /** sizeof(claw_recall_search_info), set by the caller; the plugin fills at most that much. */
  uint32_t struct_size;
  /** Hits written (== hits found, capped by hits_cap). */
  size_t hit_count;
  /** Bytes of text the hits need, NULs included. */
  size_t text_needed;
} claw_recall_search_info;

/** Index statistics. Owned by the caller. */
typedef struct claw_recall_stats {
  /** sizeof(claw_recall_stats), set by the caller; the plugin fills at most that much. */
  uint32_t struct_size;
  /** Live documents. */
  uint64_t documents;
  /** Distinct live terms. */
  uint64_t terms;
  /** (term, document) pairs. */
  uint64_t postings;
  /** Heap bytes the index holds (an estimate from container capacities). */
  uint64_t bytes;
  /** Successful changes since creation. */
  uint64_t generation;
  /** Document slots allocated, live + free for reuse. */
  uint64_t doc_slots;
  /** Term ids allocated, live + free for reuse. */
  uint64_t term_slots;
  /** Average indexed tokens per live document, per field. */
  double avg_title_tokens;
  double avg_headings_tokens;
  double avg_body_tokens;
} claw_recall_stats;

/** The extension struct for "claw.byterover.recall/1": static, owned by the plugin, valid until
 *  dlclose. Every entry is non-NULL. Threading and lifetime: see the top of this file. */
typedef struct claw_recall_v1 {
  /** sizeof(claw_recall_v1) as the plugin compiled it: call an entry only if it lies within
   *  struct_size. Since recall/1.0. */
  uint32_t struct_size;

  /** Fills *options with the defaults and sets options->struct_size. NULL is ignored. Pure.
   *  Since recall/1.0. */
  void (*options_init)(claw_recall_options *options);

  /** Creates an empty index; `options` may be NULL for the defaults. On CLAW_RECALL_OK, *out owns
   *  the new index (the caller destroys it); on failure *out is NULL.
   * CLAW_RECALL_E_INVALID_ARGUMENT when out is NULL, options->struct_size < 4, or an option is out
   * of range. Since recall/1.0. */
  int (*create)(const claw_recall_options *options, claw_recall_index **out);

  /** Frees the index and everything it holds. NULL is ignored. Must not race with any other call
   *  on this index. Results objects obtained earlier stay valid (they are copies).
   *  Since recall/1.0. */
  void (*destroy)(claw_recall_index *index);

  /** Adds the markdown document at path, or replaces the one indexed there. The index keeps its
   *  own copy of what it needs. *replaced (optional) is set to 1 when a document was replaced,
   *  else 0. CLAW_RECALL_E_INVALID_ARGUMENT (bad path or NULL markdown with a length),
   *  CLAW_RECALL_E_TOO_LARGE, CLAW_RECALL_E_NO_MEMORY. Since recall/1.0. */
  int (*upsert)(claw_recall_index *index, const char *path, size_t path_len, const char *markdown,
                size_t markdown_len, int *replaced);

  /** Upserts `count` documents in order, so a later duplicate path wins. Parsing runs on
   *  `threads` worker threads that the plugin starts and joins inside the call (0 = one per core,
   *  at most 8). Paths and sizes are checked first: on CLAW_RECALL_E_INVALID_ARGUMENT or
   *  CLAW_RECALL_E_TOO_LARGE nothing is applied, and *bad_index (optional) names the offending
   *  document. On CLAW_RECALL_E_NO_MEMORY the documents before *bad_index were applied. Searches
   *  keep running during the batch. Since recall/1.0. */
  int (*upsert_batch)(claw_recall_index *index, const claw_recall_doc *docs, size_t count,
                      uint32_t threads, size_t *bad_index);

  /** Removes the document at path: CLAW_RECALL_OK, or CLAW_RECALL_E_NOT_FOUND when it is not
   *  indexed. Since recall/1.0. */
  int (*remove)(claw_recall_index *index, const char *path, size_t path_len);

  /** 1 when path is indexed, 0 when not (or index/path is NULL). Since recall/1.0. */
  int (*contains)(const claw_recall_index *index, const char *path, size_t path_len);

  /** Runs a query. On CLAW_RECALL_OK, *out is a results object (possibly with 0 hits). The caller
   *  owns it and frees it with results_free. Its hits and strings are copies: they stay valid
   *  until results_free, whatever happens to the index. On failure *out is NULL.
   *  Since recall/1.0. */
  int (*search)(const claw_recall_index *index, const claw_recall_query *query,
                claw_recall_results **out);

  /** Number of hits in a results object (0 for NULL). Since recall/1.0. */
  size_t (*results_count)(const claw_recall_results *results);

  /** The i-th hit (i < count), or NULL. Owned by the results object. Since recall/1.0. */
  const claw_recall_hit *(*results_hit)(const claw_recall_results *results, size_t i);

  /** Frees a results object. NULL is ignored. Since recall/1.0. */
  void (*results_free)(claw_recall_results *results);

  /** Runs a query into caller-owned memory; nothing is allocated for the caller.
   *  - Writes at most min(query->k, hits_cap) hits into `hits`, with a stride of `hit_size` (the
   *    caller's sizeof(claw_recall_hit), at least the plugin's).
   *  - Copies the hits' strings, NUL-terminated, into text[0..text_cap); the hits point into
   *    `text`.
   *  - When text_cap < info->text_needed, returns CLAW_RECALL_E_BUFFER_TOO_SMALL with
   *    info->hit_count and info->text_needed set; the buffers' contents are then unspecified.
   *    Retry with a larger buffer. text may be NULL with text_cap 0 to learn text_needed first.
   *  - hits_cap 0 runs no search. info->struct_size is set by the caller.
   *  Since recall/1.0. */
  int (*search_into)(const claw_recall_index *index, const claw_recall_query *query,
                     claw_recall_hit *hits, size_t hit_size, size_t hits_cap, char *text,
                     size_t text_cap, claw_recall_search_info *info);

  /** Fills the first out->struct_size bytes of *out (set struct_size first). Since recall/1.0. */
  int (*get_stats)(const claw_recall_index *index, claw_recall_stats *out);

  /** Stable name of a status: "OK", "RECALL_INVALID_ARGUMENT", "RECALL_NOT_FOUND",
   *  "RECALL_BUFFER_TOO_SMALL", "RECALL_OUT_OF_MEMORY", "RECALL_DOCUMENT_TOO_LARGE",
   *  "RECALL_INTERNAL", or "RECALL_UNKNOWN_STATUS". Static string, never NULL. Pure.
   *  Since recall/1.0. */
  const char *(*status_name)(int status);
} claw_recall_v1;

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* CLAW_RECALL_H */
