/* What the engines work with: the daemon's settings, its registry and
 * the parts that keep host state (network, running workspaces, the
 * cgroup root). The daemon owns one Engine (daemon/daemon.h) and hands
 * it to every engine call; nothing in src/engine/ sees the server,
 * calls or policy. Claims on workspaces are process-wide
 * (engine/claims.h).
 *
 *   sandbox.c              the sandbox lifecycle (sandbox-status.c: as shown)
 *   workspace-engine.c     running workspaces: table, adoption, exit
 *   workspace-lifecycle.c  create, start, stop, destroy
 *   workspace-exec.c, workspace-cp.c, workspace-dir.c, workspace-ids.c
 *   workspace-logs.c, workspace-status.c  logs as events, the live row
 *   workspace-snapshot.c   snapshot requests (snapshots.c: table, image)
 *   workspace-ports.c      port publish, unpublish, list
 *   network.c              bridge, firewall, proxy, leases
 *   project.c              the `up` planner (diffs specs)
 *   project-up.c           the plan carried out (project-current.c, project-start.c)
 *   reconcile.c, doctor*.c, leftovers.c  recovery and repair */
#pragma once

#include "config/settings.h"
#include "registry/registry.h"

#include <stdint.h>
#include <sys/types.h>

typedef struct Engine {
        Settings settings;                  /* resolved; read-only after startup */
        char *registry_path;
        Registry *registry;                 /* the event loop's own connection (startup, reconcile) */
        struct Network *network;            /* network.c: bridge, firewall, proxy */
        struct WorkspaceEngine *workspaces; /* workspace-engine.c: running workspaces */
        struct Cgroup *cgroup_root;         /* sandbox-cgroup.c: located once at startup; read-only */
} Engine;

/* A workspace the registry says is running, as reconciliation at
 * daemon start (reconcile.h) hands it to the areas' hooks. */
typedef struct ReconcileWorkspace {
        int64_t id;
        const char *sandbox;
        const char *name;
        pid_t pid;
        uint64_t pid_start_time;
        const char *ip;      /* NULL when none */
        int64_t uid_base;    /* 0 when none */
} ReconcileWorkspace;
