/* The names of the daemon's actions: the one list that the CLI's
 * requests and the daemon's action tables (src/daemon/actions-*.c) both
 * use, so the two cannot disagree (tests/unit/test-action-names.c
 * checks every table against proto_action_names[]). A released name is
 * stable (SPEC §2, docs/actions.md); names follow action_name_is_valid()
 * (proto/message.h). */
#pragma once

/* the daemon itself */
#define PROTO_ACTION_DAEMON_PING              "daemon.ping"
#define PROTO_ACTION_DAEMON_HEALTH            "daemon.health"
#define PROTO_ACTION_DAEMON_STOP              "daemon.stop"
#define PROTO_ACTION_DAEMON_DOCTOR            "daemon.doctor"
#define PROTO_ACTION_DAEMON_STATS             "daemon.stats"

/* the policy: who may run which action */
#define PROTO_ACTION_POLICY_SHOW              "policy.show"
#define PROTO_ACTION_POLICY_SET_DEFAULT       "policy.set_default"
#define PROTO_ACTION_POLICY_ALLOW             "policy.allow"
#define PROTO_ACTION_POLICY_DENY              "policy.deny"
#define PROTO_ACTION_POLICY_CLEAR             "policy.clear"

/* the tokens of the auth providers */
#define PROTO_ACTION_AUTH_LOGIN               "auth.login"
#define PROTO_ACTION_AUTH_LIST                "auth.list"
#define PROTO_ACTION_AUTH_LOGOUT              "auth.logout"

/* sandboxes */
#define PROTO_ACTION_SANDBOX_CREATE           "sandbox.create"
#define PROTO_ACTION_SANDBOX_START            "sandbox.start"
#define PROTO_ACTION_SANDBOX_STOP             "sandbox.stop"
#define PROTO_ACTION_SANDBOX_DESTROY          "sandbox.destroy"
#define PROTO_ACTION_SANDBOX_REMOVE           "sandbox.remove"
#define PROTO_ACTION_SANDBOX_STATUS           "sandbox.status"
#define PROTO_ACTION_SANDBOX_LIST             "sandbox.list"
#define PROTO_ACTION_SANDBOX_WIPE             "sandbox.wipe"
#define PROTO_ACTION_SANDBOX_SETUP            "sandbox.setup"

/* root file systems */
#define PROTO_ACTION_ROOTFS_EXPORT            "rootfs.export"
#define PROTO_ACTION_ROOTFS_IMPORT            "rootfs.import"
#define PROTO_ACTION_ROOTFS_FETCH             "rootfs.fetch"

/* workspaces, their ports and snapshot upkeep */
#define PROTO_ACTION_WORKSPACE_PORT_PUBLISH   "workspace.port.publish"
#define PROTO_ACTION_WORKSPACE_PORT_UNPUBLISH "workspace.port.unpublish"
#define PROTO_ACTION_WORKSPACE_PORT_LIST      "workspace.port.list"
#define PROTO_ACTION_WORKSPACE_CREATE         "workspace.create"
#define PROTO_ACTION_WORKSPACE_START          "workspace.start"
#define PROTO_ACTION_WORKSPACE_STOP           "workspace.stop"
#define PROTO_ACTION_WORKSPACE_DESTROY        "workspace.destroy"
#define PROTO_ACTION_WORKSPACE_REMOVE         "workspace.remove"
#define PROTO_ACTION_WORKSPACE_WIPE           "workspace.wipe"
#define PROTO_ACTION_WORKSPACE_STATUS         "workspace.status"
#define PROTO_ACTION_WORKSPACE_LIST           "workspace.list"
#define PROTO_ACTION_WORKSPACE_STATS          "workspace.stats"
#define PROTO_ACTION_WORKSPACE_LOGS           "workspace.logs"
#define PROTO_ACTION_WORKSPACE_EXEC           "workspace.exec"
#define PROTO_ACTION_WORKSPACE_SNAPSHOT_GC    "workspace.snapshot_gc"
#define PROTO_ACTION_WORKSPACE_CP             "workspace.cp"

/* an Enclavefile's project (up, down, ps) */
#define PROTO_ACTION_PROJECT_UP               "project.up"
#define PROTO_ACTION_PROJECT_DOWN             "project.down"
#define PROTO_ACTION_PROJECT_PS               "project.ps"

/* snapshots */
#define PROTO_ACTION_SNAPSHOT_CREATE          "snapshot.create"
#define PROTO_ACTION_SNAPSHOT_LIST            "snapshot.list"
#define PROTO_ACTION_SNAPSHOT_RESTORE         "snapshot.restore"
#define PROTO_ACTION_SNAPSHOT_DELETE          "snapshot.delete"
#define PROTO_ACTION_SNAPSHOT_EXPORT          "snapshot.export"
#define PROTO_ACTION_SNAPSHOT_IMPORT          "snapshot.import"

/* the registry */
#define PROTO_ACTION_REGISTRY_REPAIR          "registry.repair"

/* tests only (`daemon run --enable-test-actions`) */
#define PROTO_ACTION_DEBUG_SLEEP              "debug.sleep"
#define PROTO_ACTION_DEBUG_HOLD_WORKSPACE     "debug.hold_workspace"

/* Every name above, in this order, NULL-terminated. */
extern const char *const proto_action_names[];
