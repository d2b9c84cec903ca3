/* Host-wide leases of workspace id blocks.
 *
 * Every daemon on a host draws its workspaces' 65536-id blocks from one
 * pool, root's ranges in /etc/subuid and /etc/subgid, so who holds a
 * block must be known host-wide, not per state dir: two workspaces that
 * share host ids are one user to the kernel (signals, ptrace, per-user
 * limits, file ownership).
 *
 * A lease is a file named after the block's base (decimal) in one
 * directory, IDLEASE_DIR. It lives on persistent storage because a
 * stopped workspace's files stay owned by its block across reboots. It
 * names the state dir and workspace that hold the block. Creating it
 * (link(2) of a complete temporary file, which fails when the name
 * exists) is what makes a block unique on the host; flock(2) on
 * IDLEASE_DIR/lock serialises choosing, growing the pool and
 * reclaiming, so two daemons never pick the same block and a block is
 * never reclaimed while it is being taken.
 *
 * A lease ends when its workspace is destroyed (after its directory is
 * gone, so no file owned by the block survives it), or when its state
 * dir's own daemon finds no registry row for it at start. A lease whose
 * state dir (or that dir's registry) no longer exists is orphaned: the
 * state dir was deleted without `wipe`, and its files with it. Orphaned
 * leases are reclaimed when the pool runs short and by `registry
 * repair`, never while a process with an id of the block runs. */
#pragma once

#include "base/error.h"
#include "runtime/idrange.h"

#include <stdint.h>

#define IDLEASE_DIR "/var/lib/enclave-ids"
#define IDLEASE_LOCK_FILE "lock"

/* Where the leases and the pool are; tests use scratch paths. */
typedef struct IdLeaseHost {
        const char *dir;
        const char *subuid_path;
        const char *subgid_path;
        const char *registry_name; /* file in a state dir that proves it is one */
} IdLeaseHost;

typedef struct IdLease {
        uint32_t base;
        char *state_dir;  /* canonical; NULL when the file could not be parsed */
        char *sandbox;
        char *workspace;
        int64_t pid;      /* the daemon that took it */
        int64_t created;  /* unix time */
} IdLease;

void id_lease_done(IdLease *l);
void id_leases_free(IdLease *v, size_t n);
#define _cleanup_id_lease_ _cleanup_(id_lease_done)

/* Pure: a lease as the text of its file, and back. A state dir
 * containing a newline cannot be written (-EINVAL). */
int id_lease_format(const IdLease *l, char **ret);
int id_lease_parse(const char *text, IdLease *ret);

/* The host-wide lock, held for choosing, taking, dropping, reclaiming
 * and counting. Creates the directory (0700 root) when missing and
 * refuses one that someone else could write into. */
typedef struct IdLeaseLock {
        const IdLeaseHost *host;
        int dir_fd;
        int lock_fd;
} IdLeaseLock;

#define ID_LEASE_LOCK_NULL ((IdLeaseLock) { NULL, -EBADF, -EBADF })

int id_lease_lock(const IdLeaseHost *h, IdLeaseLock *ret, Error *err);
void id_lease_unlock(IdLeaseLock *l);
#define _cleanup_id_lease_lock_ _cleanup_(id_lease_unlock)

/* Every lease, by base. A file that cannot be parsed comes back with
 * state_dir NULL; leftover temporary files are removed. */
int id_lease_list(IdLeaseLock *l, IdLease **ret, size_t *ret_n, Error *err);

/* One lease, without the lock (lease files are only ever replaced
 * whole). -ENOENT when the block is not leased. */
int id_lease_read(const IdLeaseHost *h, uint32_t base, IdLease *ret, Error *err);

/* Take lease->base for lease->state_dir: -EEXIST when it is leased. */
int id_lease_take(IdLeaseLock *l, const IdLease *lease, Error *err);

/* End the lease of base if it names state_dir (1), or do nothing when
 * there is none (0); -EPERM when it names another state dir. */
int id_lease_drop(IdLeaseLock *l, uint32_t base, const char *state_dir, Error *err);

/* Sorted, distinct bases of the blocks some live process has a uid or
 * gid in (real, effective, saved or filesystem), from /proc. */
int id_blocks_in_use(uint32_t **ret, size_t *ret_n);

/* A lease of another state dir that has no state dir (or no registry in
 * it) any more. */
bool id_lease_is_orphaned(const IdLeaseHost *h, const IdLease *l);

/* Drop every orphaned lease (never one of keep_state_dir, never one
 * whose block a live process uses). *ret_n counts them (may be NULL). */
int id_lease_reclaim(IdLeaseLock *l, const char *keep_state_dir, size_t *ret_n, Error *err);

/* Take the lowest free block of the pool for who (who->base is
 * ignored): free means no lease and not in also_used (the caller's own
 * records). When the pool is used up, orphaned leases are reclaimed,
 * then the pool grows by IDRANGE_DEFAULT_BLOCKS (idrange_grow_root());
 * -ENOSPC with what to do when neither helps. */
int id_lease_allocate(IdLeaseLock *l, const IdLease *who, const uint32_t *also_used, size_t n_also,
                      uint32_t *ret_base, Error *err);

typedef struct IdPoolStatus {
        uint64_t pool_blocks;   /* root's blocks present in both files */
        uint64_t leased;        /* leases on this host */
        uint64_t leased_in_pool;
        uint64_t own;           /* leases of state_dir */
        uint64_t orphaned;      /* reclaimable (id_lease_is_orphaned) */
        uint64_t unreadable;    /* lease files that cannot be parsed */
        uint64_t free;          /* pool blocks without a lease */
        uint64_t addable;       /* blocks the pool can still grow by below IDRANGE_LIMIT */
} IdPoolStatus;

int id_pool_status(IdLeaseLock *l, const char *state_dir, IdPoolStatus *ret, Error *err);
