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
/* Enough for 1024 workspaces; the pool grows by this much on demand. */
#define IDRANGE_DEFAULT_BLOCKS 1024U
/* Ranges Enclave adds lie in [IDRANGE_FLOOR, IDRANGE_LIMIT): above
 * shadow's default SUB_UID_MAX (600100000), so the ranges useradd hands
 * to users and ours never compete, and below 2^31, because ids that are
 * negative as a signed 32-bit int break software that stores them so
 * (and (uid_t)-1 is not an id at all). 16384 blocks: room for SPEC §8's
 * 10,000 workspaces with a third to spare. */
#define IDRANGE_FLOOR (1U << 30)
#define IDRANGE_LIMIT (1U << 31)
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

/* The pool: root's ranges present in both files (*ret may be NULL when
 * there are none). ret_u/ret_g, when not NULL, receive the parsed files. */
int idrange_load_pool(const char *subuid_path, const char *subgid_path, IdRange **ret, size_t *ret_n, IdFile *ret_u,
                      IdFile *ret_g, Error *err);

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
/* The same, ending at or below limit. */
int idrange_pick_free_start_below(const IdFile *a, const IdFile *b, uint32_t floor, uint64_t limit, uint32_t count,
                                  uint32_t *ret_start);

/* Pure: aligned blocks in [floor, limit) that no entry of a or b (b may
 * be NULL) touches: how far the pool could still grow. */
uint64_t idrange_count_addable(const IdFile *a, const IdFile *b, uint32_t floor, uint64_t limit);

/* Make sure root owns at least min_blocks workspace blocks that exist in
 * both files; when not, append "root:START:COUNT" (COUNT =
 * min_blocks * 65536, START free in both files) to each file, written
 * atomically (temp file + rename). *ret_added tells whether anything
 * was written (may be NULL). */
int idrange_ensure_root(const char *subuid_path, const char *subgid_path, uint32_t min_blocks,
                        bool *ret_added, Error *err);

/* Grow the pool: append one more root range of up to blocks blocks
 * (fewer when no stretch that long is free) inside [IDRANGE_FLOOR,
 * IDRANGE_LIMIT) to both files. -ENOSPC when not even one block fits.
 * The caller serialises growth (the host-wide lease lock). */
int idrange_grow_root(const char *subuid_path, const char *subgid_path, uint32_t blocks, IdRange *ret_added,
                      Error *err);
