/* One snapshot operation per workspace at a time.
 *
 * A snapshot request claims its workspace for its whole run. After its
 * reply, a create or restore keeps the claim while it settles (flushes
 * its copy, snapshot_settle()); the claim is then marked settling, and
 * whoever comes next for that workspace waits for the flush instead of
 * failing. Process-wide, keyed by workspace id; any thread. */
#pragma once

#include "base/error.h"

#include <stdint.h>

/* -EBUSY (naming the workspace) while another snapshot operation of it
 * runs; waits while one only settles. */
int snapshot_claim(int64_t ws_id, const char *sandbox, const char *name, Error *err);

/* The holder has replied and now only flushes. */
void snapshot_claim_settling(int64_t ws_id);

void snapshot_release(int64_t ws_id);

/* Whether a snapshot operation of ws_id runs or settles (for doctor: a
 * frozen workspace is expected then). */
bool snapshot_claimed(int64_t ws_id);

/* Wait until no operation of ws_id is settling (destroy, before it
 * removes the workspace's files). */
void snapshot_wait_settled(int64_t ws_id);
