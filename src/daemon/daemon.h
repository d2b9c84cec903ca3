/* The daemon: one root process per state dir that owns all state and
 * does every privileged operation (SPEC §1, §4). `enclave daemon run`
 * calls daemon_run(); the CLI talks to it over the socket.
 *
 * Startup: resolve settings (command line > config.toml > defaults),
 * lock <state_dir>/daemon.lock and the pid file (one daemon per state
 * dir and per pid file; the kernel drops the locks when the process
 * dies, even by SIGKILL), block signals into a signalfd, become child
 * subreaper, open and migrate the registry, reconcile workspaces
 * against the process table, bind the socket (removing a stale one only
 * when nothing answers on it), then serve until SIGTERM/SIGINT or
 * daemon.stop. */
#pragma once

#include "base/error.h"
#include "config/settings.h"
#include "proto/daemon-options.h"
#include "daemon/policy.h"
#include "daemon/ratelimit.h"
#include "registry/registry.h"

#include <sys/types.h>
#include <time.h>

#define DAEMON_LOCK_FILE "daemon.lock"

struct Server;

typedef struct Daemon {
        Settings settings;        /* resolved; read-only after startup */
        char *registry_path;
        Registry *registry;       /* event-loop thread only (workers: call_registry) */
        Policy policy;            /* event-loop thread only; mirrors the registry */
        RateLimiter ratelimit;    /* event-loop thread only */
        struct Server *server;
        struct Network *network;  /* network.c: bridge, firewall, proxy */
        struct WorkspaceEngine *engine; /* workspace-engine.c: running workspaces */
        struct Cgroup *cgroup_root; /* sandbox-cgroup.c: located once at startup; read-only */
        pid_t pid;
        time_t started_at;        /* wall clock, for display */
        uint64_t started_ns;      /* monotonic, for uptime */
        bool enable_test_actions;
        bool stopping;
        int state_lock_fd;
        int pid_fd;
        int signal_fd;
} Daemon;

/* Run in the foreground until stopped. Returns 0 after a clean stop. */
int daemon_run(const DaemonOptions *opts, Error *err);

/* Begin a clean stop: no new connections, in-flight replies flushed,
 * long actions cancelled and given a moment to finish. */
void daemon_request_stop(Daemon *d);

/* Seconds since the daemon started. */
uint64_t daemon_uptime_secs(const Daemon *d);

/* Call in a child forked by the daemon before exec: the daemon blocks
 * every signal for its signalfd, and a child must not inherit that. */
void daemon_child_reset_signals(void);

/* cgroup layout of the host: "v2", "hybrid", "v1" or "unknown". */
const char *daemon_cgroup_mode(void);

/* ---- reconciliation (reconcile.c) ---- */

/* A workspace the registry says is running, whose process is gone. */
typedef struct ReconcileWorkspace {
        int64_t id;
        const char *sandbox;
        const char *name;
        pid_t pid;
        uint64_t pid_start_time;
        const char *ip;      /* NULL when none */
        int64_t uid_base;    /* 0 when none */
} ReconcileWorkspace;

/* Cleanup of what a dead workspace left behind (mounts, veths,
 * cgroups, firewall entries). Runs on the loop thread before the
 * daemon serves anything; errors are logged and the workspace is still
 * marked stopped. Areas list their hook in reconcile.c. */
typedef int (*ReconcileFn)(Daemon *d, const ReconcileWorkspace *ws, Error *err);

/* Walk workspaces in state running/starting/stopping: a live process
 * with the recorded start time stays; a dead one goes through the hooks
 * and is marked stopped (one transaction each). Returns how many were
 * marked stopped. */
int reconcile_workspaces(Daemon *d, Error *err);

/* After network_reconcile(): release the address of every workspace
 * whose init is not alive (one adopted at start may have ended before
 * the network was up). */
void reconcile_network_ends(Daemon *d);
