/* Sandbox steps of up and down (project-sandbox.h). */
#include "daemon/project-sandbox.h"
#include "daemon/project.h"
#include "daemon/registry-sandbox.h"
#include "daemon/sandbox-cgroup.h"
#include "daemon/sandbox-setup.h"
#include "daemon/workspace-engine.h"
#include "storage/bootstrap.h"
#include "storage/layout.h"
#include "storage/setup.h"
#include "base/log.h"
#include "base/str.h"

static const char *const usable_states[] = { SANDBOX_STATE_READY, SANDBOX_STATE_STOPPED, NULL };

static int changed_meanwhile(const char *name, Error *err)
{
        return error_set(err, EBUSY, "sandbox %s changed state meanwhile (another request works on it); run "
                         "'enclave up' again", name);
}

/* ---- create ---- */

static void undo_create(Daemon *d, Registry *reg, int64_t id, const char *name)
{
        _cleanup_error_ Error e = ERROR_INIT;
        if (sandbox_cgroup_remove(d, name, &e) < 0) {
                log_warn("sandbox %s: %s", name, error_msg(&e));
                error_clear(&e);
        }
        if (layout_sandbox_remove(d->settings.state_dir, name, &e) < 0) {
                log_warn("sandbox %s: %s", name, error_msg(&e));
                error_clear(&e);
        }
        if (registry_sandbox_delete(reg, id, &e) < 0)
                log_warn("sandbox %s: removing its registry row: %s", name, error_msg(&e));
}

static int create_steps(Daemon *d, Registry *reg, const SandboxRow *row, const StorageMonitor *mon, char ***warnings,
                        Error *err)
{
        _cleanup_cgroup_ Cgroup *cg = NULL;
        int r = sandbox_cgroup_ensure(d, row, &cg, warnings, err);
        if (r < 0)
                return r;
        /* The row is new, so a directory of this name is a crash's leftover. */
        r = layout_sandbox_remove(d->settings.state_dir, row->name, err);
        if (r < 0)
                return error_wrap(err, "clearing what an earlier sandbox %s left", row->name);
        BootstrapOptions o = {
                .state_dir = d->settings.state_dir,
                .sandbox = row->name,
                .suite = row->suite,
                .mirror = row->mirror,
                .debootstrap_binary = d->settings.debootstrap_binary,
                .skip_cache_fill = row->owner_uid != 0, /* the suite caches are root's */
        };
        r = bootstrap_rootfs(bootstrap_method_from_string(row->bootstrap_method), &o, mon, err);
        if (r >= 0 && storage_monitor_cancelled(mon))
                r = error_set(err, ECANCELED, "cancelled");
        if (r < 0)
                return r;
        static const char *const from[] = { SANDBOX_STATE_CREATING, NULL };
        r = registry_sandbox_transition(reg, row->id, from, SANDBOX_STATE_READY, err);
        return r == 0 ? changed_meanwhile(row->name, err) : r;
}

int project_sandbox_create(Daemon *d, Registry *reg, const SandboxSpec *sb, uid_t owner, int64_t max_per_owner,
                           const StorageMonitor *mon, char ***warnings, Error *err)
{
        SandboxRow row = {
                .owner_uid = owner,
                .name = sb->name,
                .suite = sb->suite,
                .mirror = sb->mirror,
                .bootstrap_method = sb->bootstrap_method,
                .caps = sb->caps,
        };
        if (streq(sb->name, LAYOUT_ROOTFS_CACHE))
                return error_set(err, EINVAL, "'%s' is reserved for the rootfs cache; choose another sandbox name",
                                 sb->name);
        int r = registry_sandbox_insert(reg, &row, max_per_owner, &row.id, err);
        if (r < 0)
                return r;
        r = create_steps(d, reg, &row, mon, warnings, err);
        if (r < 0) {
                undo_create(d, reg, row.id, sb->name);
                return error_wrap(err, "creating sandbox %s (nothing of it was kept)", sb->name);
        }
        return 0;
}

/* ---- destroy ---- */

int project_sandbox_destroy(Daemon *d, Registry *reg, const char *name, Error *err)
{
        static const char *const from[] = { SANDBOX_STATE_READY, SANDBOX_STATE_STOPPED, SANDBOX_STATE_DESTROYING,
                                            NULL };
        _cleanup_(sandbox_row_done) SandboxRow row = {};
        int r = registry_sandbox_get(reg, name, &row, err);
        if (r < 0)
                return r;
        r = registry_sandbox_transition(reg, row.id, from, SANDBOX_STATE_DESTROYING, err);
        if (r == 0)
                return changed_meanwhile(name, err);
        if (r < 0)
                return r;
        /* From here on a crash leaves 'destroying', which recovery (or
         * the next up --rebuild) finishes. */
        r = workspaces_destroy_all_in_sandbox(d, reg, row.id, err);
        if (r >= 0)
                r = sandbox_cgroup_remove(d, name, err);
        if (r >= 0)
                r = layout_sandbox_remove(d->settings.state_dir, name, err);
        if (r >= 0)
                r = registry_sandbox_delete(reg, row.id, err);
        if (r < 0)
                return error_wrap(err, "destroying sandbox %s (it stays in state 'destroying'; fix the cause and "
                                  "run 'enclave up --rebuild' again)", name);
        return 0;
}

/* ---- setup ---- */

int project_sandbox_setup(Daemon *d, Registry *reg, const char *name, char *const *setup, const StorageMonitor *mon,
                          Error *err)
{
        _cleanup_(sandbox_row_done) SandboxRow row = {};
        int r = registry_sandbox_get(reg, name, &row, err);
        if (r < 0)
                return r;
        int64_t running = 0;
        r = registry_sandbox_transition_if_idle(reg, row.id, usable_states, SANDBOX_STATE_SETTING_UP, false, &running,
                                                err);
        if (r < 0)
                return r;
        if (r == 0 && running > 0)
                return error_set(err, EBUSY, "sandbox %s has %lld running workspace(s); setup changes the root "
                                 "filesystem they run on", name, (long long) running);
        if (r == 0)
                return changed_meanwhile(name, err);

        SetupResult res = {};
        r = sandbox_setup_run(d, reg, &row, setup, mon, &res, err);

        /* A failed setup changed the rootfs part way: no digest, so the
         * next up runs the whole list again. */
        char digest[SHA256_HEX_SIZE];
        spec_setup_digest(setup, digest);
        _cleanup_error_ Error serr = ERROR_INIT;
        static const char *const from[] = { SANDBOX_STATE_SETTING_UP, NULL };
        int k = registry_sandbox_set_setup_digest(reg, row.id, r < 0 ? NULL : digest, &serr);
        if (k >= 0)
                k = registry_sandbox_transition(reg, row.id, from, row.state, &serr);
        if (r < 0)
                return r;
        if (k < 0) {
                error_move(err, &serr);
                return error_wrap(err, "recording the setup of sandbox %s", name);
        }
        return (int) res.commands_run;
}

/* ---- caps, start, stop ---- */

static int ensure_cgroup(Daemon *d, Registry *reg, const char *name, char ***warnings, Error *err)
{
        _cleanup_(sandbox_row_done) SandboxRow row = {};
        int r = registry_sandbox_get(reg, name, &row, err);
        if (r < 0)
                return r;
        _cleanup_cgroup_ Cgroup *cg = NULL;
        return sandbox_cgroup_ensure(d, &row, &cg, warnings, err);
}

int project_sandbox_set_caps(Daemon *d, Registry *reg, const SandboxSpec *sb, char ***warnings, Error *err)
{
        int r = registry_project_set_caps(reg, sb->name, &sb->caps, err);
        if (r < 0)
                return r;
        return ensure_cgroup(d, reg, sb->name, warnings, err);
}

int project_sandbox_start(Daemon *d, Registry *reg, const char *name, char ***warnings, Error *err)
{
        _cleanup_(sandbox_row_done) SandboxRow row = {};
        int r = registry_sandbox_get(reg, name, &row, err);
        if (r < 0)
                return r;
        _cleanup_cgroup_ Cgroup *cg = NULL;
        r = sandbox_cgroup_ensure(d, &row, &cg, warnings, err);
        if (r < 0)
                return r;
        r = registry_sandbox_transition(reg, row.id, usable_states, SANDBOX_STATE_READY, err);
        return r == 0 ? changed_meanwhile(name, err) : r;
}

int project_sandbox_stop(Daemon *d, Registry *reg, const char *name, Error *err)
{
        _cleanup_(sandbox_row_done) SandboxRow row = {};
        int r = registry_sandbox_get(reg, name, &row, err);
        if (r < 0)
                return r;
        if (!strv_contains((char *const *) usable_states, row.state))
                return error_set(err, EBUSY, "cannot stop sandbox %s while it is %s; wait for that to finish", name,
                                 row.state);
        /* Stopped first: no workspace of it starts while the running
         * ones are being stopped. */
        r = registry_sandbox_transition(reg, row.id, usable_states, SANDBOX_STATE_STOPPED, err);
        if (r == 0)
                return changed_meanwhile(name, err);
        if (r < 0)
                return r;
        int n = workspaces_stop_all_in_sandbox(d, reg, row.id, err);
        if (n < 0) {
                static const char *const from[] = { SANDBOX_STATE_STOPPED, NULL };
                _cleanup_error_ Error e2 = ERROR_INIT;
                if (streq(row.state, SANDBOX_STATE_READY))
                        (void) registry_sandbox_transition(reg, row.id, from, SANDBOX_STATE_READY, &e2);
                return error_wrap(err, "stopping the workspaces of sandbox %s", name);
        }
        return n;
}
