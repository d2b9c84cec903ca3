/* The lifecycle of a sandbox (sandbox.h). */
#include "engine/sandbox.h"
#include "registry/registry-project.h"
#include "engine/sandbox-cgroup.h"
#include "engine/sandbox-resume.h"
#include "engine/sandbox-setup.h"
#include "engine/workspace-engine.h"
#include "storage/bootstrap.h"
#include "storage/layout.h"
#include "base/log.h"
#include "base/str.h"

static const char *const usable_states[] = { SANDBOX_STATE_READY, SANDBOX_STATE_STOPPED, NULL };
static const char *const destroyable_states[] = { SANDBOX_STATE_READY, SANDBOX_STATE_STOPPED,
                                                  SANDBOX_STATE_DESTROYING, NULL };

static int changed_meanwhile(const char *name, Error *err)
{
        return error_set(err, EBUSY, "sandbox %s changed state meanwhile (another request works on it); try again",
                         name);
}

static int refuse_busy_state(const SandboxRow *row, const char *doing, Error *err)
{
        if (streq(row->state, SANDBOX_STATE_CREATING))
                return error_set(err, EBUSY, "cannot %s sandbox %s: it is still being created; wait until "
                                 "'enclave create' finishes", doing, row->name);
        if (streq(row->state, SANDBOX_STATE_SETTING_UP))
                return error_set(err, EBUSY, "cannot %s sandbox %s: its setup commands are running; wait until "
                                 "they finish", doing, row->name);
        if (streq(row->state, SANDBOX_STATE_DESTROYING))
                return error_set(err, EBUSY, "cannot %s sandbox %s: it is being destroyed (if a destroy failed, "
                                 "run 'enclave destroy %s' again)", doing, row->name, row->name);
        return 0;
}

/* ---- create ---- */

/* Everything but the row goes first: a crash in between leaves a row
 * that recovery or a second destroy finishes. */
static int remove_all(Engine *eng, Registry *reg, int64_t id, const char *name, Error *err)
{
        int r = sandbox_cgroup_remove(eng, name, err);
        if (r >= 0)
                r = layout_sandbox_remove(eng->settings.state_dir, name, err);
        if (r >= 0)
                r = registry_sandbox_delete(reg, id, err);
        return r;
}

/* What a failed or cancelled create made; each part is tried. */
static void undo_create(Engine *eng, Registry *reg, int64_t id, const char *name)
{
        _cleanup_error_ Error e = ERROR_INIT;
        if (sandbox_cgroup_remove(eng, name, &e) < 0) {
                log_warn("sandbox %s: %s", name, error_msg(&e));
                error_clear(&e);
        }
        if (layout_sandbox_remove(eng->settings.state_dir, name, &e) < 0) {
                log_warn("sandbox %s: %s", name, error_msg(&e));
                error_clear(&e);
        }
        if (registry_sandbox_delete(reg, id, &e) < 0)
                log_warn("sandbox %s: removing its registry row: %s", name, error_msg(&e));
}

static int create_steps(Engine *eng, Registry *reg, const SandboxRow *row, const StorageMonitor *mon, char ***warnings,
                        Error *err)
{
        _cleanup_cgroup_ Cgroup *cg = NULL;
        int r = sandbox_cgroup_ensure(eng, row, &cg, warnings, err);
        if (r < 0)
                return r;
        /* The row was just inserted, so nothing owns a directory of
         * this name: whatever is there is left from a crash. */
        r = layout_sandbox_remove(eng->settings.state_dir, row->name, err);
        if (r < 0)
                return error_wrap(err, "clearing what an earlier sandbox %s left", row->name);
        BootstrapOptions o = {
                .state_dir = eng->settings.state_dir,
                .sandbox = row->name,
                .suite = row->suite,
                .mirror = row->mirror,
                .debootstrap_binary = eng->settings.debootstrap_binary,
                /* The suite caches are root's: root's next sandbox must
                 * never copy what a user's debootstrap made. */
                .skip_cache_fill = row->owner_uid != 0,
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

int sandbox_create(Engine *eng, Registry *reg, const SandboxSpec *spec, uid_t owner, int64_t max_per_owner,
                   const StorageMonitor *mon, char ***warnings, Error *err)
{
        if (streq(spec->name, LAYOUT_ROOTFS_CACHE))
                return error_set(err, EINVAL, "'%s' is reserved for the rootfs cache; choose another sandbox name",
                                 spec->name);
        SandboxRow row = {
                .owner_uid = owner,
                .name = spec->name,
                .suite = spec->suite,
                .mirror = spec->mirror,
                .bootstrap_method = spec->bootstrap_method,
                .caps = spec->caps,
        };
        int r = registry_sandbox_insert(reg, &row, max_per_owner, &row.id, err);
        if (r < 0)
                return r;
        log_info("sandbox %s: creating (%s, %s, by uid %u)", spec->name, spec->suite, spec->bootstrap_method,
                 (unsigned) owner);
        r = create_steps(eng, reg, &row, mon, warnings, err);
        if (r < 0) {
                undo_create(eng, reg, row.id, spec->name);
                if (r == -ECANCELED)
                        log_info("sandbox %s: creation cancelled; removed what was made", spec->name);
                else
                        log_warn("sandbox %s: creation failed: %s", spec->name, error_msg(err));
                return error_wrap(err, "creating sandbox %s (nothing was kept)", spec->name);
        }
        log_info("sandbox %s: ready", spec->name);
        return 0;
}

/* ---- start and stop ---- */

int sandbox_start(Engine *eng, Registry *reg, const SandboxRow *row, bool resume, json_t *started, char ***warnings,
                  Error *err)
{
        int r = refuse_busy_state(row, "start", err);
        if (r < 0)
                return r;
        /* The cgroup goes when the host reboots; starting brings it
         * back, with the caps as recorded. */
        _cleanup_cgroup_ Cgroup *cg = NULL;
        r = sandbox_cgroup_ensure(eng, row, &cg, warnings, err);
        if (r < 0)
                return r;
        r = registry_sandbox_transition(reg, row->id, usable_states, SANDBOX_STATE_READY, err);
        if (r <= 0)
                return r < 0 ? r : changed_meanwhile(row->name, err);
        if (streq(row->state, SANDBOX_STATE_READY))
                return 0;
        if (resume && (r = sandbox_resume_start(eng, reg, row->name, row->id, started, warnings, err)) < 0)
                return r;
        return 1;
}

int sandbox_stop(Engine *eng, Registry *reg, const SandboxRow *row, bool remember, json_t *stopped, Error *err)
{
        int r = refuse_busy_state(row, "stop", err);
        if (r < 0)
                return r;
        /* Stopped first: no workspace of it starts while the running
         * ones are being stopped. */
        r = registry_sandbox_transition(reg, row->id, usable_states, SANDBOX_STATE_STOPPED, err);
        if (r <= 0)
                return r < 0 ? r : changed_meanwhile(row->name, err);
        /* What runs now is what a resuming start brings back; a second
         * stop keeps the set of the first. */
        if (remember && !streq(row->state, SANDBOX_STATE_STOPPED) &&
            sandbox_resume_mark(eng, reg, row->id, stopped, err) < 0) {
                /* The stop goes on; only the later start will not know. */
                log_warn("sandbox %s: cannot record its running workspaces for 'enclave start': %s", row->name,
                         error_msg(err));
                error_clear(err);
        }
        int n = workspaces_stop_all_in_sandbox(eng, reg, row->id, err);
        if (n < 0) {
                if (streq(row->state, SANDBOX_STATE_READY)) {
                        static const char *const from[] = { SANDBOX_STATE_STOPPED, NULL };
                        _cleanup_error_ Error e2 = ERROR_INIT;
                        (void) registry_sandbox_transition(reg, row->id, from, SANDBOX_STATE_READY, &e2);
                }
                return error_wrap(err, "stopping the workspaces of sandbox %s", row->name);
        }
        if (n > 0)
                log_info("sandbox %s: stopped %d workspace(s)", row->name, n);
        return n;
}

/* ---- destroy ---- */

/* Move the row to 'destroying' and get rid of its workspaces. */
static int begin_destroy(Engine *eng, Registry *reg, const SandboxRow *row, bool force, Error *err)
{
        int64_t count = 0;
        int moved = registry_sandbox_transition_if_idle(reg, row->id, destroyable_states, SANDBOX_STATE_DESTROYING,
                                                        true, &count, err);
        if (moved < 0)
                return moved;
        if (moved > 0)
                return 0;
        if (count == 0)
                return changed_meanwhile(row->name, err);
        _cleanup_free_ char *names = NULL;
        (void) registry_sandbox_workspace_names(reg, row->id, &names, NULL);
        if (!force)
                return error_set(err, EBUSY,
                                 "sandbox %s still has %lld workspace(s) (%s); destroy them first with 'enclave "
                                 "workspace destroy %s <workspace>', or add --force to destroy them with it",
                                 row->name, (long long) count, names ? names : "?", row->name);
        moved = registry_sandbox_transition(reg, row->id, destroyable_states, SANDBOX_STATE_DESTROYING, err);
        if (moved <= 0)
                return moved < 0 ? moved : changed_meanwhile(row->name, err);
        int r = workspaces_destroy_all_in_sandbox(eng, reg, row->id, err);
        if (r < 0)
                return error_wrap(err, "destroying the workspaces of sandbox %s (run the command again to retry)",
                                  row->name);
        return 0;
}

int sandbox_destroy(Engine *eng, Registry *reg, const SandboxRow *row, bool force, Error *err)
{
        int r;
        /* A 'destroying' row is a destroy that failed part way: go on. */
        if (!streq(row->state, SANDBOX_STATE_DESTROYING) && (r = refuse_busy_state(row, "destroy", err)) < 0)
                return r;
        r = begin_destroy(eng, reg, row, force, err);
        if (r < 0)
                return r;
        /* From here on a crash leaves 'destroying', which recovery (or
         * a second destroy) finishes. */
        r = remove_all(eng, reg, row->id, row->name, err);
        if (r < 0)
                return error_wrap(err, "destroying sandbox %s (it stays in state 'destroying'; fix the cause and "
                                       "run 'enclave destroy %s' again)", row->name, row->name);
        return 0;
}

/* ---- setup and caps ---- */

int sandbox_setup(Engine *eng, Registry *reg, const SandboxRow *row, char *const *commands, const StorageMonitor *mon,
                  SetupResult *ret, Error *err)
{
        int r = refuse_busy_state(row, "set up", err);
        if (r < 0)
                return r;
        int64_t running = 0;
        r = registry_sandbox_transition_if_idle(reg, row->id, usable_states, SANDBOX_STATE_SETTING_UP, false,
                                                &running, err);
        if (r < 0)
                return r;
        if (r == 0 && running > 0)
                return error_set(err, EBUSY,
                                 "sandbox %s has %lld running workspace(s); setup changes the root filesystem they "
                                 "run on, so stop them first ('enclave stop %s')",
                                 row->name, (long long) running, row->name);
        if (r == 0)
                return changed_meanwhile(row->name, err);
        *ret = (SetupResult) {};
        r = sandbox_setup_run(eng, reg, row, commands, mon, ret, err);

        /* A failed or cancelled setup changed the rootfs part way: the
         * old digest no longer describes it, so `up` must run setup
         * again. */
        char digest[SHA256_HEX_SIZE];
        spec_setup_digest(commands, digest);
        _cleanup_error_ Error serr = ERROR_INIT;
        static const char *const from[] = { SANDBOX_STATE_SETTING_UP, NULL };
        int k = registry_sandbox_set_setup_digest(reg, row->id, r < 0 ? NULL : digest, &serr);
        if (k >= 0)
                k = registry_sandbox_transition(reg, row->id, from, row->state, &serr);
        if (k < 0)
                log_warn("sandbox %s: recording the setup result: %s", row->name, error_msg(&serr));
        if (r < 0) {
                log_warn("sandbox %s: setup failed: %s", row->name, error_msg(err));
                return r;
        }
        if (k < 0) {
                error_move(err, &serr);
                return error_wrap(err, "recording the setup of sandbox %s", row->name);
        }
        return 0;
}

int sandbox_set_caps(Engine *eng, Registry *reg, const SandboxSpec *spec, char ***warnings, Error *err)
{
        int r = registry_project_set_caps(reg, spec->name, &spec->caps, err);
        if (r < 0)
                return r;
        _cleanup_(sandbox_row_done) SandboxRow row = {};
        r = registry_sandbox_get(reg, spec->name, &row, err);
        if (r < 0)
                return r;
        _cleanup_cgroup_ Cgroup *cg = NULL;
        return sandbox_cgroup_ensure(eng, &row, &cg, warnings, err);
}

/* ---- recovery at daemon start ---- */

static int recover_one(Engine *eng, const SandboxRow *row, Error *err)
{
        if (streq(row->state, SANDBOX_STATE_SETTING_UP)) {
                log_warn("sandbox %s: the daemon stopped during setup; setup will run again at the next 'up'",
                         row->name);
                static const char *const from[] = { SANDBOX_STATE_SETTING_UP, NULL };
                int r = registry_sandbox_set_setup_digest(eng->registry, row->id, NULL, err);
                if (r >= 0)
                        r = registry_sandbox_transition(eng->registry, row->id, from, SANDBOX_STATE_READY, err);
                return r < 0 ? r : 1;
        }
        if (!streq(row->state, SANDBOX_STATE_CREATING) && !streq(row->state, SANDBOX_STATE_DESTROYING))
                return 0;
        if (row->n_workspaces > 0) {
                log_warn("sandbox %s: left in state '%s' with %lld workspace(s); run 'enclave destroy --force %s'",
                         row->name, row->state, (long long) row->n_workspaces, row->name);
                return 0;
        }
        log_info("sandbox %s: the daemon stopped while it was %s; removing it", row->name,
                 streq(row->state, SANDBOX_STATE_CREATING) ? "being created" : "being destroyed");
        int r = remove_all(eng, eng->registry, row->id, row->name, err);
        return r < 0 ? r : 1;
}

int sandbox_recover_interrupted(Engine *eng, Error *err)
{
        SandboxRow *rows = NULL;
        size_t n = 0;
        int r = registry_sandbox_list(eng->registry, &rows, &n, err);
        if (r < 0)
                return error_wrap(err, "recovering sandboxes");
        int changed = 0;
        for (size_t i = 0; i < n; i++) {
                _cleanup_error_ Error e = ERROR_INIT;
                r = recover_one(eng, &rows[i], &e);
                if (r < 0)
                        log_warn("sandbox %s: recovery: %s", rows[i].name, error_msg(&e));
                else
                        changed += r;
        }
        sandbox_rows_free(rows, n);
        return changed;
}

/* ---- wipe ---- */

int sandbox_wipe(Engine *eng, Registry *reg, int64_t owner, uid_t caller, const SandboxWipeReporter *rep,
                 Error *err)
{
        SandboxRow *rows = NULL;
        size_t n = 0;
        int r = registry_sandbox_list_owned(reg, owner, &rows, &n, err);
        if (r < 0)
                return r;
        _cleanup_strbuf_ StrBuf failed = STRBUF_INIT;
        size_t n_failed = 0;
        for (size_t i = 0; i < n && !rep->cancelled(rep->userdata); i++) {
                _cleanup_error_ Error e = ERROR_INIT;
                if (sandbox_destroy(eng, reg, &rows[i], true, &e) < 0) {
                        strbuf_printf(&failed, "%s%s", n_failed++ ? "; " : "", error_msg(&e));
                        continue;
                }
                log_info("sandbox %s: destroyed by wipe (by uid %u)", rows[i].name, (unsigned) caller);
                rep->destroyed(rep->userdata, rows[i].name);
        }
        sandbox_rows_free(rows, n);
        if (n_failed > 0)
                return error_set(err, EBUSY, "%zu sandbox(es) could not be destroyed: %s", n_failed,
                                 failed.data ?: "");
        if (rep->cancelled(rep->userdata))
                return error_set(err, ECANCELED, "wipe was cancelled");
        return 0;
}
