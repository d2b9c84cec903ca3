/* Each workspace's host id block, leased host-wide (runtime/idlease.h).
 *
 * The registry's id_ranges table says which block each workspace of this
 * state dir has; the lease in IDLEASE_DIR says that no other state dir
 * on the host may hand it out. The order of things keeps both true
 * across a crash at any point:
 *
 *   create:  lease taken  →  row committed          (a lease without a row:
 *                                                    released at next start)
 *   destroy: row deleted  →  directory removed  →  lease released
 *                                                   (the block is free only
 *                                                    once no file owned by it
 *                                                    is left)
 *
 * A stopped workspace keeps its block: its files on disk are owned by
 * it. When the pool runs out it grows (idrange_grow_root()), up to
 * 2^31. */
#pragma once

#include "base/error.h"
#include "engine/engine.h"
#include "registry/registry-workspace.h"
#include "runtime/idlease.h"

/* Where leases and the pool live for this daemon. */
const IdLeaseHost *workspace_ids_host(void);

/* The state dir as leases name it (canonical); set at engine start. */
int workspace_ids_init(Engine *eng, Error *err);
void workspace_ids_done(void);
const char *workspace_ids_state_dir(void);

/* Lease a free block for sandbox/name of this state dir. It counts as
 * pending until workspace_ids_settled(): repair leaves it alone. */
int workspace_ids_allocate(Engine *eng, Registry *reg, const char *sandbox, const char *name, uint32_t *ret_base,
                           Error *err);
void workspace_ids_settled(uint32_t base);

/* The workspace's directory is gone: its block may go to anyone. */
int workspace_ids_release(uint32_t base, Error *err);

/* Before a start: the block must be leased to this state dir (a lease
 * that is missing is taken again). -EBUSY with what to do when another
 * state dir holds it. */
int workspace_ids_check(const WorkspaceRow *row, Error *err);

/* Daemon start, after every other recovery: leases of this state dir
 * without a row are released (a directory left by an interrupted create
 * or destroy is removed first), rows without a lease get one back, and
 * rows whose block another state dir holds are logged. */
int workspace_ids_reconcile(Engine *eng, Error *err);

/* For doctor and repair. */
typedef enum IdFindingKind {
        ID_FINDING_OWN_ORPHAN,   /* a lease of this state dir that no row has */
        ID_FINDING_NO_LEASE,     /* a row whose block has no lease */
        ID_FINDING_CONFLICT,     /* a row whose block another state dir holds */
        ID_FINDING_FOREIGN_ORPHAN, /* a lease whose state dir is gone */
} IdFindingKind;

typedef struct IdFinding {
        IdFindingKind kind;
        uint32_t base;
        char *what;
} IdFinding;

void id_findings_free(IdFinding *f, size_t n);

/* Compare leases and rows; pending allocations are skipped. */
int workspace_ids_scan(Registry *reg, IdFinding **ret, size_t *ret_n, Error *err);

/* Fix one finding (not conflicts): 1 fixed, 0 nothing to do any more. */
int workspace_ids_repair(Engine *eng, Registry *reg, const IdFinding *f, Error *err);
