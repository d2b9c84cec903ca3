/* Who may act on what (docs/security.md "Multi-user model").
 *
 * Every sandbox, workspace, snapshot and token has an owner uid: the
 * uid that made it (a workspace and its snapshots belong to the owner
 * of their sandbox). Root (uid 0) sees and changes everything; any
 * other uid sees and changes only its own objects. An object of
 * another uid is "not found" for it, with the very message a missing
 * object gets, so the socket is no oracle for others' names. Shared
 * things (the rootfs caches, the policy, the daemon) are root's.
 *
 * Actions call these before they touch an object by name. For root
 * they cost nothing; for others one indexed registry lookup. The
 * policy engine (policy.h) decides before, on the action name only. */
#pragma once

#include "base/error.h"
#include "config/settings.h"
#include "spec/values.h"
#include "daemon/action.h"
#include "registry/registry.h"

#include <sys/types.h>

/* The owner filter of a call: -1 (every owner) for root, else its uid. */
int64_t call_owner_filter(Call *c);

/* Whether the call may act on an object of owner. */
bool call_owns(Call *c, uid_t owner);

/* 0 when sandbox name exists and the call may act on it; otherwise
 * -ENOENT "no sandbox named 'X'" (also when it is another uid's). */
int owner_check_sandbox(Call *c, Registry *reg, const char *name, Error *err);

/* The same for workspace name of sandbox. */
int owner_check_workspace(Call *c, Registry *reg, const char *sandbox, const char *name, Error *err);

/* The error for an exec or cp into a workspace that is not running: why
 * (its state, or the exit status it failed with) and how to start it. */
int owner_workspace_not_running(Call *c, const char *sb, const char *ws, Error *err);

/* Adding to sandbox name (a workspace, an Enclavefile's workspaces):
 * only its owner may, root included, so nothing root adds ends up
 * owned by, and visible to, another uid. -ENOENT for a user (as
 * above), -EPERM naming the owner for root. 0 when the sandbox does
 * not exist yet (it will be the caller's). */
int owner_check_sandbox_for_adding(Call *c, Registry *reg, const char *name, Error *err);

/* Host ports below 1024 are root's (SPEC §6 publishes on 127.0.0.1). */
#define OWNER_PRIVILEGED_PORT_MAX 1023
int owner_check_ports(Call *c, const PortSpec *ports, size_t n, Error *err);

/* A non-root user bootstraps only from root's mirror (config.toml
 * `mirror`) or one listed in `user_mirrors`: debootstrap runs as root
 * in the host's network namespace. */
int owner_check_mirror(Call *c, const Settings *s, const char *mirror, Error *err);

/* The per-user cap of settings for a create by the call: -1 (none)
 * for root, else the configured value. */
int64_t owner_cap(Call *c, int64_t configured);
