/* `enclave doctor` and `enclave registry repair` (SPEC §2, §4;
 * docs/doctor.md). The checks run inside the daemon: it owns the state
 * and is the process whose privileges and kernel view matter.
 *
 * A report is a list of checks, each ok, a warning (something works
 * less well than it could; nothing needs fixing) or a failure
 * (something needs fixing), with what was found and a hint that says
 * what to do. Host checks try the real kernel operations (probe.h);
 * state checks compare the registry with the state dir, the mount
 * table, the bridge, the cgroup trees and the process table.
 *
 * Repair fixes what the state checks find: workspaces marked running
 * whose process is gone are cleaned up and marked stopped, stale veths,
 * leases (with their firewall entries) and empty cgroups go,
 * directories without a registry row are removed (inside the state dir
 * only, never following a symlink or crossing a mount), the snapshots
 * table is made to match the snapshot directories; with strict, rows
 * whose directories are gone are deleted and mounts left under the
 * state dir are detached. */
#pragma once

#include "base/error.h"
#include "engine/engine.h"

#include <jansson.h>

typedef enum DoctorStatus {
        DOCTOR_OK,
        DOCTOR_WARN,
        DOCTOR_FAIL,
        _DOCTOR_STATUS_MAX,
} DoctorStatus;

/* "ok", "warn", "fail". */
const char *doctor_status_to_string(DoctorStatus s);

typedef struct DoctorCheck {
        char *id;         /* stable key, e.g. "kernel.userns", "state.mounts" */
        char *group;      /* "host" or "state" */
        DoctorStatus status;
        char *title;      /* what was checked */
        char *detail;     /* what was found; NULL when there is nothing to add */
        char *hint;       /* what to do; NULL when nothing needs doing */
        char **items;     /* the individual findings (paths, names); may be NULL */
} DoctorCheck;

typedef struct DoctorReport {
        DoctorCheck *checks;
        size_t n;
} DoctorReport;

void doctor_report_done(DoctorReport *r);

/* Append a check (copies every string; items may be NULL). */
int doctor_report_add(DoctorReport *r, const char *group, const char *id, DoctorStatus status, const char *title,
                      const char *detail, const char *hint, char *const *items);

size_t doctor_report_count(const DoctorReport *r, DoctorStatus s);

/* {"ok": bool, "problems": N, "warnings": N, "checks": [{"id", "group",
 * "status", "title", "detail", "hint", "items"}]} */
json_t *doctor_report_to_json(const DoctorReport *r);

/* Every check, host then state. reg is the calling thread's registry.
 * Blocks (probes fork helpers): call from a worker thread. Fails only
 * when the report itself cannot be made (out of memory). */
int doctor_run(Engine *eng, Registry *reg, DoctorReport *ret, Error *err);

/* The kernel features no workspace can start without (the kernel.*
 * checks), tried for real at daemon start: the first one missing is an
 * error that names it and what to do, so a kernel below Enclave's floor
 * is refused at once instead of failing every workspace later. The
 * overlay probe also teaches the runtime which way this kernel takes
 * the overlay's lower layer. */
int doctor_require_kernel(Engine *eng, Error *err);

/* The host part alone (doctor-host.c). */
int doctor_check_host(Engine *eng, DoctorReport *r);
/* The state part alone (doctor-state.c). */
int doctor_check_state(Engine *eng, Registry *reg, DoctorReport *r);

typedef struct RepairResult {
        char **done;  /* what was fixed, one line each */
        char **left;  /* what is still wrong and why */
} RepairResult;

void repair_result_done(RepairResult *r);

/* Fix what doctor_check_state() finds (see above). Problems with single
 * items are collected in ret->left; fails only when the state cannot
 * be read at all. Worker thread. */
int doctor_repair(Engine *eng, Registry *reg, bool strict, RepairResult *ret, Error *err);
