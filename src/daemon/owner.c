/* Ownership checks of the multi-user model (owner.h). */
#include "daemon/owner.h"
#include "registry/registry.h"
#include "registry/registry-workspace.h"
#include "base/str.h"

int64_t call_owner_filter(Call *c)
{
        uid_t uid = call_uid(c);
        return uid == 0 ? -1 : (int64_t) uid;
}

bool call_owns(Call *c, uid_t owner)
{
        uid_t uid = call_uid(c);
        return uid == 0 || uid == owner;
}

int64_t owner_cap(Call *c, int64_t configured)
{
        return call_uid(c) == 0 ? -1 : configured;
}

static int sandbox_owner(Registry *reg, const char *name, int64_t *ret, Error *err)
{
        return registry_query_int64(reg, ret, err, "SELECT owner_uid FROM sandboxes WHERE name = ?", "t", name);
}

static int no_sandbox(const char *name, Error *err)
{
        return error_set(err, ENOENT, "no sandbox named '%s'; 'enclave list' shows the sandboxes", name);
}

int owner_check_sandbox(Call *c, Registry *reg, const char *name, Error *err)
{
        if (call_uid(c) == 0)
                return 0;
        int64_t owner;
        _cleanup_error_ Error qerr = ERROR_INIT;
        int r = sandbox_owner(reg, name, &owner, &qerr);
        if (r == -ENOENT || (r >= 0 && !call_owns(c, (uid_t) owner)))
                return no_sandbox(name, err);
        if (r < 0) {
                error_move(err, &qerr);
                return r;
        }
        return 0;
}

int owner_check_workspace(Call *c, Registry *reg, const char *sandbox, const char *name, Error *err)
{
        if (call_uid(c) == 0)
                return 0;
        int64_t owner;
        _cleanup_error_ Error qerr = ERROR_INIT;
        int r = registry_query_int64(reg, &owner, &qerr,
                                     "SELECT w.owner_uid FROM workspaces w JOIN sandboxes s ON s.id = w.sandbox_id "
                                     "WHERE s.name = ? AND w.name = ?",
                                     "tt", sandbox, name);
        if (r == -ENOENT || (r >= 0 && !call_owns(c, (uid_t) owner))) {
                /* Another uid's sandbox reads as missing, like its workspaces. */
                int64_t sb_owner;
                _cleanup_error_ Error serr = ERROR_INIT;
                if (sandbox_owner(reg, sandbox, &sb_owner, &serr) < 0 || !call_owns(c, (uid_t) sb_owner))
                        return no_sandbox(sandbox, err);
                return registry_workspace_not_found(reg, sandbox, name, err);
        }
        if (r < 0) {
                error_move(err, &qerr);
                return r;
        }
        return 0;
}

int owner_check_sandbox_for_adding(Call *c, Registry *reg, const char *name, Error *err)
{
        int64_t owner;
        _cleanup_error_ Error qerr = ERROR_INIT;
        int r = sandbox_owner(reg, name, &owner, &qerr);
        if (r == -ENOENT)
                return 0;
        if (r < 0) {
                error_move(err, &qerr);
                return r;
        }
        if ((uid_t) owner == call_uid(c))
                return 0;
        if (call_uid(c) != 0)
                return no_sandbox(name, err);
        return error_set(err, EPERM,
                         "sandbox %s belongs to uid %lld: only its owner adds workspaces to it (root may stop or "
                         "destroy it); choose another sandbox name", name, (long long) owner);
}

int owner_check_ports(Call *c, const PortSpec *ports, size_t n, Error *err)
{
        if (call_uid(c) == 0)
                return 0;
        for (size_t i = 0; i < n; i++)
                if (ports[i].host_port <= OWNER_PRIVILEGED_PORT_MAX)
                        return error_set(err, EACCES,
                                         "host port %u is below 1024, and only root may publish those; use a host "
                                         "port from 1024 up", (unsigned) ports[i].host_port);
        return 0;
}

int owner_check_mirror(Call *c, const Settings *s, const char *mirror, Error *err)
{
        if (call_uid(c) == 0 || !mirror || (s->mirror && streq(mirror, s->mirror)) ||
            strv_contains(s->user_mirrors, mirror))
                return 0;
        return error_set(err, EACCES,
                         "mirror %s is not one users may bootstrap from: debootstrap runs as root on the host, so a "
                         "user gets the configured mirror (%s) or one root lists in user_mirrors in config.toml",
                         mirror, s->mirror ? s->mirror : "none");
}

/* Why a workspace the caller may see is not running, and how to start it
 * again (exec and cp into a workspace that is not running). */
int owner_workspace_not_running(Call *c, const char *sb, const char *ws, Error *err)
{
        Registry *reg = call_registry(c, err);
        if (!reg)
                return -EIO;
        _cleanup_(workspace_row_done) WorkspaceRow row = {};
        int r = owner_check_workspace(c, reg, sb, ws, err);
        if (r >= 0)
                r = registry_workspace_get(reg, sb, ws, &row, err);
        if (r < 0)
                return r;
        if (streq(row.state, WORKSPACE_STATE_FAILED) && row.exit_status >= 0)
                return error_set(err, ESRCH, "workspace %s/%s is not running (it failed: its run command exited with "
                                 "status %lld); start it again with 'enclave workspace start %s %s' (with restart = "
                                 "\"on-failure\" in its definition Enclave starts it again by itself)", sb, ws,
                                 (long long) row.exit_status, sb, ws);
        return error_set(err, ESRCH, "workspace %s/%s is not running (it is %s); start it with 'enclave workspace "
                         "start %s %s'", sb, ws, row.state, sb, ws);
}
