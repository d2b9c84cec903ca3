/* Crash points: named steps at which a test makes the daemon die on the
 * spot, the way a kill -9 or a power cut would, so that every step of
 * every state-changing operation can be shown to recover (SQLite's crash
 * tests and FoundationDB's simulation in spirit, with the real kernel).
 *
 * A point is armed only in a daemon started with --enable-test-actions
 * (which only root can start) whose environment has
 * ENCLAVE_CRASH_POINT=NAME, or NAME:N to die the Nth time it is reached.
 * Unarmed, crash_point() is a load and a compare. Every point is listed
 * in CRASH_POINTS, one per line: tests/integration/test-crash-points.sh
 * reads this list and runs them all. */
#pragma once

#include "base/error.h"
#include "base/macro.h"

#define CRASH_POINT_ENV "ENCLAVE_CRASH_POINT"
/* The exit status of a daemon that died at a crash point. */
#define CRASH_POINT_STATUS 86

#define CRASH_POINTS(X)                                                               \
        X(SANDBOX_CREATE_COPYING, "sandbox-create-copying")     /* rootfs half copied into tmp/ */ \
        X(WORKSPACE_CREATE_LEASED, "workspace-create-leased")   /* id lease taken, no row */ \
        X(WORKSPACE_CREATE_DIR, "workspace-create-dir")         /* directory made, row not committed */ \
        X(WORKSPACE_CREATE_COMMITTED, "workspace-create-committed") /* row committed, disk image not made */ \
        X(WORKSPACE_START_CGROUP, "workspace-start-cgroup")     /* cgroup made, nothing spawned */ \
        X(WORKSPACE_START_NETWORK, "workspace-start-network")   /* veth, address and firewall set up, init waiting */ \
        X(WORKSPACE_START_SPAWNED, "workspace-start-spawned")   /* init runs, row not yet running */ \
        X(WORKSPACE_START_RECORDED, "workspace-start-recorded") /* row running, init not yet watched */ \
        X(WORKSPACE_STOP_SIGNALLED, "workspace-stop-signalled") /* SIGTERM sent, end not awaited */ \
        X(WORKSPACE_DESTROY_ROW, "workspace-destroy-row")       /* row deleted, files and lease left */ \
        X(WORKSPACE_DESTROY_FILES, "workspace-destroy-files")   /* files gone, lease and cgroup left */ \
        X(SNAPSHOT_CREATE_FROZEN, "snapshot-create-frozen")     /* workspace frozen, copy not begun */ \
        X(SNAPSHOT_CREATE_COPIED, "snapshot-create-copied")     /* copied, still frozen */ \
        X(SNAPSHOT_CREATE_PUBLISHED, "snapshot-create-published") /* renamed into place, not flushed, no row */ \
        X(SNAPSHOT_RESTORE_COPIED, "snapshot-restore-copied")   /* new state copied, nothing swapped */ \
        X(SNAPSHOT_RESTORE_SWAPPED, "snapshot-restore-swapped") /* swapped, not committed */ \
        X(PROJECT_UP_CREATED, "project-up-created")             /* up: workspaces created, none started */ \
        X(PROJECT_UP_STARTED, "project-up-started")             /* up: the first workspace started */ \
        X(REPAIR_FIXED_ONE, "repair-fixed-one")                 /* repair: one finding fixed */

typedef enum CrashPoint {
#define CRASH_POINT_ENUM(id, name) CRASH_POINT_##id,
        CRASH_POINTS(CRASH_POINT_ENUM)
#undef CRASH_POINT_ENUM
        _CRASH_POINT_MAX,
        _CRASH_POINT_NONE = -1,
} CrashPoint;

extern CrashPoint crash_point_armed;

/* Arm the point spec names ("NAME" or "NAME:N", N >= 1); NULL or ""
 * disarms. -EINVAL with the known names for anything else. */
int crash_point_arm(const char *spec, Error *err);

const char *crash_point_name(CrashPoint p);

_noreturn_ void crash_point_die(CrashPoint p);
void crash_point_reached(CrashPoint p);

static inline void crash_point(CrashPoint p)
{
        if (_unlikely_(crash_point_armed == p))
                crash_point_reached(p);
}
