/* Subordinate id ranges: where each workspace's 65536 host ids come from.
 *
 * Root's entries in /etc/subuid and /etc/subgid ("root:START:COUNT" or
 * "0:START:COUNT") are the pool. The daemon (or `install`) makes sure
 * the pool exists with idrange_ensure_root(); each workspace then gets
 * one 65536-aligned block of 65536 ids from idrange_allocate(), which
 * is pure: it only looks at the pool and at the bases already handed
 * out (kept in the registry), so it can be tested without touching
 * /etc. The same base is used for uids and gids. */
#pragma once

#include "base/error.h"

#include <stdint.h>

#define IDRANGE_BLOCK 65536U
/* Enough for 1024 workspaces. */
#define IDRANGE_DEFAULT_BLOCKS 1024U
#define IDRANGE_SUBUID_PATH "/etc/subuid"
#define IDRANGE_SUBGID_PATH "/etc/subgid"

typedef struct IdRange {
        uint32_t start;
        uint32_t count;
} IdRange;

/* One parsed line of a subordinate id file. */
typedef struct IdEntry {
        char *owner;
        IdRange range;
} IdEntry;

typedef struct IdFile {
        IdEntry *entries;
        size_t n_entries;
} IdFile;

void id_file_done(IdFile *f);
#define _cleanup_id_file_ _cleanup_(id_file_done)

/* Parse the text of a subuid/subgid file. Blank lines and lines
 * starting with '#' are skipped; a malformed line is -EINVAL with the
 * line number in err. */
int id_file_parse(const char *text, IdFile *ret, Error *err);

/* Load and parse path; a missing file is an empty IdFile. */
int id_file_load(const char *path, IdFile *ret, Error *err);

/* Root's ranges ("root" or "0") of f, in file order. *ret may be NULL
 * when there are none. */
int id_file_root_ranges(const IdFile *f, IdRange **ret, size_t *ret_n);

/* Ranges present in both a and b (e.g. root's subuid and subgid ranges). */
int idrange_intersect(const IdRange *a, size_t na, const IdRange *b, size_t nb,
                      IdRange **ret, size_t *ret_n);

/* Number of whole 65536-aligned blocks (never containing id 0) in ranges. */
uint64_t idrange_count_blocks(const IdRange *ranges, size_t n);

/* Pure allocator: the lowest 65536-aligned block of 65536 ids inside
 * ranges that contains no id 0 and overlaps none of the blocks starting
 * at used[]. -ENOSPC when the pool is exhausted. */
int idrange_allocate(const IdRange *ranges, size_t n, const uint32_t *used, size_t n_used,
                     uint32_t *ret_base);

/* Pure: the lowest 65536-aligned start >= floor where count ids fit
 * without overlapping any entry of any owner in a or b (b may be NULL).
 * -ENOSPC when nothing fits below 2^32-1. */
int idrange_pick_free_start(const IdFile *a, const IdFile *b, uint32_t floor, uint32_t count,
                            uint32_t *ret_start);

/* Make sure root owns at least min_blocks workspace blocks that exist in
 * both files; when not, append "root:START:COUNT" (COUNT =
 * min_blocks * 65536, START free in both files) to each file, written
 * atomically (temp file + rename). *ret_added tells whether anything
 * was written (may be NULL). */
int idrange_ensure_root(const char *subuid_path, const char *subgid_path, uint32_t min_blocks,
                        bool *ret_added, Error *err);
