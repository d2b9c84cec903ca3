/* What may run on one workspace at a time: one table of in-memory
 * claims for the whole daemon, keyed by workspace id, usable from any
 * thread. A claim is held for a whole operation and refused (-EBUSY,
 * naming the workspace) while another of its kind is held:
 *
 *   CLAIM_LIFECYCLE  start, stop, destroy, and what holds them off
 *                    (snapshot restore and delete of a stopped
 *                    workspace, doctor repairing it, debug actions)
 *   CLAIM_SNAPSHOT   a snapshot operation; after its reply a create or
 *                    restore keeps it while it settles (flushes its
 *                    copy, claim_settling()), and whoever comes next for
 *                    that workspace waits for the flush instead of
 *                    failing. Destroy waits for it too.
 *
 * Lock order. An operation that needs both claims takes CLAIM_SNAPSHOT
 * first, then CLAIM_LIFECYCLE, and releases them in reverse. Of the
 * daemon's mutexes, only the network's (engine/network.c) is held
 * across other calls, and then only around its own registry connection;
 * this table's lock, the workspace engine's table lock and the server's
 * locks are leaves: nothing else is taken while one is held. So no
 * cycle is possible. */
#pragma once

#include "base/error.h"

#include <stdbool.h>
#include <stdint.h>

typedef enum ClaimKind {
        CLAIM_LIFECYCLE,
        CLAIM_SNAPSHOT,
        _CLAIM_KIND_MAX,
} ClaimKind;

/* Take kind for ws_id (sandbox/name for the message): -EBUSY while one
 * of that kind is held; a settling snapshot claim is waited for. */
int claim_take(int64_t ws_id, ClaimKind kind, const char *sandbox, const char *name, Error *err);
void claim_release(int64_t ws_id, ClaimKind kind);

/* Whether kind is held for ws_id (doctor: a workspace frozen by a
 * snapshot operation is expected). */
bool claim_held(int64_t ws_id, ClaimKind kind);

/* The snapshot claim's holder has replied and now only flushes. */
void claim_settling(int64_t ws_id);
/* Wait until no snapshot operation of ws_id is settling (destroy,
 * before it removes the workspace's files). */
void claim_wait_settled(int64_t ws_id);
