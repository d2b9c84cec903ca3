/* A running workspace, seen from the host: its pid 1 (enclave-init)
 * held by a pidfd. Stopping it ends the whole PID namespace, and with
 * it every process and every mount of the workspace (they all live in
 * the workspace's own mount namespace). */
#pragma once

#include "base/error.h"

#include <stdint.h>
#include <sys/types.h>

typedef struct WorkspaceProcess {
        pid_t pid;           /* host pid of the workspace's init; 0 once reaped */
        int pidfd;           /* owned; -EBADF when unset */
        uint64_t start_time; /* /proc/<pid>/stat start time, kept with pid in the registry */
        bool is_child;       /* started by this process: it can be reaped and its status read */
} WorkspaceProcess;

#define WORKSPACE_PROCESS_NULL ((WorkspaceProcess) { 0, -EBADF, 0, false })
#define WORKSPACE_STOP_GRACE_MS_DEFAULT 10000U

/* Close the pidfd. Does not signal the workspace. */
void workspace_process_done(WorkspaceProcess *w);
#define _cleanup_workspace_process_ _cleanup_(workspace_process_done)

/* Re-open a workspace a previous daemon started: pid and start time
 * come from the registry. -ESRCH (with a message) when that process is
 * gone or the pid now belongs to another process. */
int workspace_adopt(pid_t pid, uint64_t start_time, WorkspaceProcess *ret, Error *err);

/* pidfd_send_signal to the workspace's init. */
int workspace_signal(const WorkspaceProcess *w, int sig);

/* Wait up to timeout_ms (< 0: forever) for init to exit. Returns 1
 * when it exited (reaped if it is our child; *ret_status gets its exit
 * status, or -1 when unknown), 0 on timeout, negative errno on error. */
int workspace_wait(WorkspaceProcess *w, int timeout_ms, int *ret_status);

/* SIGTERM to init, wait up to grace_ms, then SIGKILL (which ends the
 * whole PID namespace) and wait for the exit. Returns as soon as init
 * is gone. Processes started with workspace_exec() are the caller's
 * children: the kernel only lets init die once they are reaped, so the
 * caller must keep reaping them meanwhile. *ret_killed (may be NULL)
 * tells whether SIGKILL was needed. */
int workspace_stop(WorkspaceProcess *w, unsigned grace_ms, bool *ret_killed, Error *err);
