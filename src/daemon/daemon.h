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
#include "config/daemon-options.h"
#include "daemon/policy.h"
#include "daemon/ratelimit.h"
#include "engine/engine.h"
#include "registry/registry.h"

#include <sys/types.h>
#include <time.h>

#define DAEMON_LOCK_FILE "daemon.lock"

struct Server;

typedef struct Daemon {
        Engine engine;            /* what the engines work with (engine/engine.h); its registry
                                   * connection is the event loop's (workers: call_registry) */
        Policy policy;            /* event-loop thread only; mirrors the registry */
        RateLimiter ratelimit;    /* event-loop thread only */
        struct Server *server;
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


/* cgroup layout of the host: "v2", "hybrid", "v1" or "unknown". */
const char *daemon_cgroup_mode(void);
