/* sandbox.*: create, start, stop, destroy/remove, status, list, wipe
 * and setup (SPEC §1, §2, §3 `setup`; docs/actions.md).
 *
 * A sandbox is a row (registry-sandbox.h), a directory
 * <state>/sandboxes/<sb>/ with its rootfs, and a parent cgroup with the
 * aggregate caps (sandbox-cgroup.h). create makes them in that order
 * and undoes all three on any failure; destroy removes them in reverse
 * and leaves the row in 'destroying' until everything else is gone, so
 * a crash midway is finished by sandbox_recover_interrupted(). */
#include "daemon/action.h"
#include "daemon/call.h"
#include "daemon/daemon.h"
#include "daemon/owner.h"
#include "daemon/registry-sandbox.h"
#include "daemon/sandbox-cgroup.h"
#include "daemon/sandbox-setup.h"
#include "daemon/sandbox-resume.h"
#include "daemon/workspace-engine.h"
#include "spec/spec.h"
#include "storage/bootstrap.h"
#include "storage/layout.h"
#include "storage/setup.h"
#include "base/log.h"
#include "base/str.h"

/* ---- streaming storage progress as events ---- */

static int on_storage_progress(const StorageProgress *p, void *userdata)
{
        Call *c = userdata;
        if (call_cancelled(c))
                return -ECANCELED;
        json_t *ev = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:s?}", "type", "progress", "stage",
                               progress_stage_to_string(p->stage) ?: "info", "message", p->message ?: "", "current",
                               (json_int_t) p->done, "total", (json_int_t) p->total, "bytes", (json_int_t) p->bytes,
                               "bytes_total", (json_int_t) p->bytes_total, "item", p->item);
        if (ev && call_event(c, ev) == -ECONNRESET)
                return -ECANCELED;
        return 0;
}

/* The call's own cancel flag: set when the client goes away and for
 * every call when the daemon stops (server_stop), so a running
 * debootstrap or copy is stopped at once, not at its next event. */
static StorageMonitor call_monitor(Call *c)
{
        return (StorageMonitor) { .progress = on_storage_progress, .userdata = c, .cancel = &c->cancelled };
}

static void send_warnings(Call *c, char *const *warnings)
{
        STRV_FOREACH(w, warnings) {
                log_warn("%s", *w);
                json_t *ev = json_pack("{s:s, s:s}", "type", "warning", "message", *w);
                if (ev)
                        (void) call_event(c, ev);
        }
}

/* ---- parameters ---- */

static int param_name(Call *c, const char **ret, Error *err)
{
        int r = call_param_string(c, "name", true, ret, err);
        if (r < 0)
                return r;
        if (streq(*ret, LAYOUT_ROOTFS_CACHE))
                return error_set(err, EINVAL, "'%s' is reserved for the rootfs cache; choose another sandbox name",
                                 *ret);
        if (!layout_sandbox_name_is_valid(*ret))
                return error_set(err, EINVAL,
                                 "invalid sandbox name '%s': use 1-63 characters, letters, digits, '_' and '-', "
                                 "starting with a letter or digit",
                                 *ret);
        return 0;
}

static int load_row(Call *c, Registry **ret_reg, SandboxRow *ret, Error *err)
{
        const char *name;
        int r = param_name(c, &name, err);
        if (r < 0)
                return r;
        Registry *reg = call_registry(c, err);
        if (!reg)
                return -EIO;
        r = owner_check_sandbox(c, reg, name, err);
        if (r >= 0)
                r = registry_sandbox_get(reg, name, ret, err);
        if (r < 0)
                return r;
        *ret_reg = reg;
        return 0;
}

/* ---- status and list ---- */

static json_t *row_status_json(Daemon *d, const SandboxRow *row, bool with_paths)
{
        json_t *j = sandbox_row_to_json(row);
        if (!j || !with_paths)
                return j;
        _cleanup_free_ char *rootfs = NULL;
        _cleanup_strv_free_ char **cgroups = NULL;
        _cleanup_error_ Error err = ERROR_INIT;
        if (layout_sandbox_rootfs(d->settings.state_dir, row->name, &rootfs, &err) >= 0)
                (void) json_object_set_new(j, "rootfs", json_string(rootfs));
        if (sandbox_cgroup_paths(d, row->name, &cgroups, &err) >= 0) {
                json_t *a = json_array();
                STRV_FOREACH(p, cgroups)
                        (void) json_array_append_new(a, json_string(*p));
                (void) json_object_set_new(j, "cgroups", a);
        } else
                log_debug("sandbox %s: %s", row->name, error_msg(&err));
        return j;
}

static int action_sandbox_status(Call *c, Error *err)
{
        Registry *reg;
        _cleanup_(sandbox_row_done) SandboxRow row = {};
        int r = load_row(c, &reg, &row, err);
        if (r < 0)
                return r;
        json_t *j = row_status_json(call_daemon(c), &row, true);
        if (!j)
                return error_set(err, ENOMEM, "out of memory");
        return call_reply(c, j, -EBADF);
}

static int action_sandbox_list(Call *c, Error *err)
{
        Registry *reg = call_registry(c, err);
        if (!reg)
                return -EIO;
        SandboxRow *rows = NULL;
        size_t n = 0;
        int r = registry_sandbox_list_owned(reg, call_owner_filter(c), &rows, &n, err);
        if (r < 0)
                return r;
        json_t *a = json_array();
        for (size_t i = 0; a && i < n; i++)
                if (json_array_append_new(a, row_status_json(call_daemon(c), &rows[i], false)) < 0) {
                        json_decref(a);
                        a = NULL;
                }
        sandbox_rows_free(rows, n);
        if (!a)
                return error_set(err, ENOMEM, "out of memory");
        return call_reply(c, json_pack("{s:o}", "sandboxes", a), -EBADF);
}

/* ---- create ---- */

/* {name, and the members of a sandbox spec (spec/spec.h)}; what is not
 * given comes from config.toml, else the built-in defaults. */
static int create_params(Call *c, SandboxSpec *p, Error *err)
{
        const Settings *s = &call_daemon(c)->settings;
        const char *name;
        int r = param_name(c, &name, err);
        if (r >= 0)
                r = sandbox_spec_from_json(call_params(c), p, err);
        if (r < 0)
                return r;
        char **fields[] = { &p->suite, &p->mirror, &p->bootstrap_method };
        const char *defaults[] = { s->suite ?: DEFAULT_SUITE, s->mirror ?: DEFAULT_MIRROR,
                                   s->bootstrap_method ?: DEFAULT_BOOTSTRAP_METHOD };
        for (size_t i = 0; i < ELEMENTSOF(fields); i++)
                if (!*fields[i] && !(*fields[i] = strdup(defaults[i])))
                        return error_set(err, ENOMEM, "out of memory");
        r = sandbox_spec_check(p, err);
        if (r < 0)
                return r;
        if (bootstrap_method_from_string(p->bootstrap_method) == BOOTSTRAP_DEBOOTSTRAP)
                return owner_check_mirror(c, s, p->mirror, err);
        return 0;
}

/* Remove what a failed create or an interrupted one made. */
static void undo_create(Daemon *d, Registry *reg, int64_t id, const char *name)
{
        _cleanup_error_ Error err = ERROR_INIT;
        if (sandbox_cgroup_remove(d, name, &err) < 0) {
                log_warn("sandbox %s: %s", name, error_msg(&err));
                error_clear(&err);
        }
        if (layout_sandbox_remove(d->settings.state_dir, name, &err) < 0) {
                log_warn("sandbox %s: %s", name, error_msg(&err));
                error_clear(&err);
        }
        if (registry_sandbox_delete(reg, id, &err) < 0)
                log_warn("sandbox %s: removing its registry row: %s", name, error_msg(&err));
}

static int create_steps(Call *c, Daemon *d, Registry *reg, const SandboxRow *row, Error *err)
{
        _cleanup_strv_free_ char **warnings = NULL;
        _cleanup_cgroup_ Cgroup *cg = NULL;
        int r = sandbox_cgroup_ensure(d, row, &cg, &warnings, err);
        if (r < 0)
                return r;
        send_warnings(c, warnings);

        /* The row was just inserted, so nothing owns a directory of
         * this name: whatever is there is left from a crash. */
        r = layout_sandbox_remove(d->settings.state_dir, row->name, err);
        if (r < 0)
                return error_wrap(err, "clearing what an earlier sandbox %s left", row->name);

        StorageMonitor mon = call_monitor(c);
        BootstrapOptions o = {
                .state_dir = d->settings.state_dir,
                .sandbox = row->name,
                .suite = row->suite,
                .mirror = row->mirror,
                .debootstrap_binary = d->settings.debootstrap_binary,
                /* The suite caches are root's: root's next sandbox must
                 * never copy what a user's debootstrap made. */
                .skip_cache_fill = row->owner_uid != 0,
        };
        r = bootstrap_rootfs(bootstrap_method_from_string(row->bootstrap_method), &o, &mon, err);
        if (r >= 0 && call_cancelled(c))
                r = error_set(err, ECANCELED, "cancelled");
        if (r < 0)
                return r;
        static const char *const from[] = { SANDBOX_STATE_CREATING, NULL };
        r = registry_sandbox_transition(reg, row->id, from, SANDBOX_STATE_READY, err);
        if (r == 0)
                return error_set(err, ESTALE, "the registry row of sandbox %s changed while it was created",
                                 row->name);
        return r;
}

static int action_sandbox_create(Call *c, Error *err)
{
        Daemon *d = call_daemon(c);
        _cleanup_(sandbox_spec_done) SandboxSpec spec = {};
        int r = create_params(c, &spec, err);
        if (r < 0)
                return r;
        Registry *reg = call_registry(c, err);
        if (!reg)
                return -EIO;
        const SandboxSpec *p = &spec;
        SandboxRow row = {
                .owner_uid = call_uid(c),
                .name = p->name,
                .suite = p->suite,
                .mirror = p->mirror,
                .bootstrap_method = p->bootstrap_method,
                .caps = p->caps,
        };
        r = registry_sandbox_insert(reg, &row, owner_cap(c, d->settings.max_sandboxes_per_user), &row.id, err);
        if (r < 0)
                return r;
        log_info("sandbox %s: creating (%s, %s, by uid %u)", p->name, p->suite, p->bootstrap_method,
                 (unsigned) call_uid(c));

        r = create_steps(c, d, reg, &row, err);
        if (r < 0) {
                undo_create(d, reg, row.id, p->name);
                if (r == -ECANCELED)
                        log_info("sandbox %s: creation cancelled; removed what was made", p->name);
                else
                        log_warn("sandbox %s: creation failed: %s", p->name, error_msg(err));
                return error_wrap(err, "creating sandbox %s (nothing was kept)", p->name);
        }
        log_info("sandbox %s: ready", p->name);

        _cleanup_(sandbox_row_done) SandboxRow done = {};
        r = registry_sandbox_get(reg, p->name, &done, err);
        if (r < 0)
                return r;
        json_t *j = row_status_json(d, &done, true);
        if (!j)
                return error_set(err, ENOMEM, "out of memory");
        return call_reply(c, j, -EBADF);
}

/* ---- start and stop ---- */

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

static const char *const usable_states[] = { SANDBOX_STATE_READY, SANDBOX_STATE_STOPPED, NULL };

static int action_sandbox_start(Call *c, Error *err)
{
        Daemon *d = call_daemon(c);
        Registry *reg;
        _cleanup_(sandbox_row_done) SandboxRow row = {};
        int r = load_row(c, &reg, &row, err);
        if (r < 0 || (r = refuse_busy_state(&row, "start", err)) < 0)
                return r;
        /* The cgroup goes when the host reboots; starting brings it
         * back, with the caps as recorded. */
        _cleanup_strv_free_ char **warnings = NULL;
        _cleanup_cgroup_ Cgroup *cg = NULL;
        r = sandbox_cgroup_ensure(d, &row, &cg, &warnings, err);
        if (r < 0)
                return r;
        int moved = registry_sandbox_transition(reg, row.id, usable_states, SANDBOX_STATE_READY, err);
        if (moved < 0)
                return moved;
        if (moved == 0)
                return error_set(err, EBUSY, "sandbox %s changed state meanwhile; try again", row.name);
        bool changed = !streq(row.state, SANDBOX_STATE_READY);
        if (changed)
                log_info("sandbox %s: started (by uid %u)", row.name, (unsigned) call_uid(c));
        json_t *started = json_array();
        if (!started)
                return error_set(err, ENOMEM, "out of memory");
        if (changed && (r = sandbox_resume_start(d, reg, row.name, row.id, started, &warnings, err)) < 0) {
                json_decref(started);
                return r;
        }
        _cleanup_free_ char *name = strdup(row.name);
        if (!name) {
                json_decref(started);
                return error_set(err, ENOMEM, "out of memory");
        }
        sandbox_row_done(&row);
        r = registry_sandbox_get(reg, name, &row, err);
        if (r < 0) {
                json_decref(started);
                return r;
        }
        json_t *j = row_status_json(d, &row, false);
        json_t *w = json_array();
        STRV_FOREACH(s, warnings)
                (void) json_array_append_new(w, json_string(*s));
        if (!j || !w || json_object_set_new(j, "changed", json_boolean(changed)) < 0 ||
            json_object_set_new(j, "warnings", w) < 0 || json_object_set_new(j, "started", started) < 0) {
                json_decref(j);
                return error_set(err, ENOMEM, "out of memory");
        }
        return call_reply(c, j, -EBADF);
}

static int stop_workspaces(Call *c, Registry *reg, const SandboxRow *row, Error *err)
{
        int r = workspaces_stop_all_in_sandbox(call_daemon(c), reg, row->id, err);
        if (r < 0)
                return error_wrap(err, "stopping the workspaces of sandbox %s", row->name);
        if (r > 0)
                log_info("sandbox %s: stopped %d workspace(s)", row->name, r);
        return 0;
}

static int action_sandbox_stop(Call *c, Error *err)
{
        Registry *reg;
        _cleanup_(sandbox_row_done) SandboxRow row = {};
        int r = load_row(c, &reg, &row, err);
        if (r < 0 || (r = refuse_busy_state(&row, "stop", err)) < 0)
                return r;
        /* Stopped first: no workspace of it starts while the running
         * ones are being stopped. */
        int moved = registry_sandbox_transition(reg, row.id, usable_states, SANDBOX_STATE_STOPPED, err);
        if (moved < 0)
                return moved;
        if (moved == 0)
                return error_set(err, EBUSY, "sandbox %s changed state meanwhile; try again", row.name);
        /* What runs now is what 'enclave start' brings back; a second stop
         * keeps the set of the first. */
        json_t *stopped = json_array();
        if (!stopped)
                return error_set(err, ENOMEM, "out of memory");
        if (!streq(row.state, SANDBOX_STATE_STOPPED) &&
            sandbox_resume_mark(call_daemon(c), reg, row.id, stopped, err) < 0) {
                /* The stop goes on; only the later start will not know. */
                log_warn("sandbox %s: cannot record its running workspaces for 'enclave start': %s", row.name,
                         error_msg(err));
                error_clear(err);
        }
        r = stop_workspaces(c, reg, &row, err);
        if (r < 0) {
                if (streq(row.state, SANDBOX_STATE_READY)) {
                        static const char *const from[] = { SANDBOX_STATE_STOPPED, NULL };
                        _cleanup_error_ Error e2 = ERROR_INIT;
                        (void) registry_sandbox_transition(reg, row.id, from, SANDBOX_STATE_READY, &e2);
                }
                json_decref(stopped);
                return r;
        }
        log_info("sandbox %s: stopped (by uid %u)", row.name, (unsigned) call_uid(c));
        return call_reply(c, json_pack("{s:s, s:s, s:b, s:o}", "name", row.name, "state", SANDBOX_STATE_STOPPED,
                                       "changed", !streq(row.state, SANDBOX_STATE_STOPPED), "stopped", stopped),
                          -EBADF);
}

/* ---- destroy, remove, wipe ---- */

static const char *const destroyable_states[] = { SANDBOX_STATE_READY, SANDBOX_STATE_STOPPED,
                                                  SANDBOX_STATE_DESTROYING, NULL };

/* Move the row to 'destroying' and get rid of its workspaces. */
static int begin_destroy(Daemon *d, Registry *reg, const SandboxRow *row, bool force, Error *err)
{
        int64_t count = 0;
        int moved = registry_sandbox_transition_if_idle(reg, row->id, destroyable_states, SANDBOX_STATE_DESTROYING,
                                                        true, &count, err);
        if (moved < 0)
                return moved;
        if (moved > 0)
                return 0;
        if (count == 0)
                return error_set(err, EBUSY, "sandbox %s changed state meanwhile; try again", row->name);
        _cleanup_free_ char *names = NULL;
        (void) registry_sandbox_workspace_names(reg, row->id, &names, NULL);
        if (!force)
                return error_set(err, EBUSY,
                                 "sandbox %s still has %lld workspace(s) (%s); destroy them first with 'enclave "
                                 "workspace destroy %s <workspace>', or add --force to destroy them with it",
                                 row->name, (long long) count, names ? names : "?", row->name);
        moved = registry_sandbox_transition(reg, row->id, destroyable_states, SANDBOX_STATE_DESTROYING, err);
        if (moved < 0)
                return moved;
        if (moved == 0)
                return error_set(err, EBUSY, "sandbox %s changed state meanwhile; try again", row->name);
        int r = workspaces_destroy_all_in_sandbox(d, reg, row->id, err);
        if (r < 0)
                return error_wrap(err, "destroying the workspaces of sandbox %s (run the command again to retry)",
                                  row->name);
        return 0;
}

/* Everything but the row goes first: a crash in between leaves a
 * 'destroying' row that recovery or a second destroy finishes. */
static int finish_destroy(Daemon *d, Registry *reg, int64_t id, const char *name, Error *err)
{
        int r = sandbox_cgroup_remove(d, name, err);
        if (r >= 0)
                r = layout_sandbox_remove(d->settings.state_dir, name, err);
        if (r >= 0)
                r = registry_sandbox_delete(reg, id, err);
        return r;
}

static int destroy_one(Daemon *d, Registry *reg, const SandboxRow *row, bool force, Error *err)
{
        int r;
        /* A 'destroying' row is a destroy that failed part way: go on. */
        if (!streq(row->state, SANDBOX_STATE_DESTROYING) && (r = refuse_busy_state(row, "destroy", err)) < 0)
                return r;
        r = begin_destroy(d, reg, row, force, err);
        if (r < 0)
                return r;
        r = finish_destroy(d, reg, row->id, row->name, err);
        if (r < 0)
                return error_wrap(err, "destroying sandbox %s (it stays in state 'destroying'; fix the cause and "
                                       "run 'enclave destroy %s' again)", row->name, row->name);
        return 0;
}

static int action_sandbox_destroy(Call *c, Error *err)
{
        Registry *reg;
        _cleanup_(sandbox_row_done) SandboxRow row = {};
        bool force;
        int r = call_param_bool(c, "force", false, &force, err);
        if (r >= 0)
                r = load_row(c, &reg, &row, err);
        if (r < 0)
                return r;
        r = destroy_one(call_daemon(c), reg, &row, force, err);
        if (r < 0)
                return r;
        log_info("sandbox %s: destroyed (by uid %u)", row.name, (unsigned) call_uid(c));
        return call_reply(c, json_pack("{s:s, s:b}", "name", row.name, "destroyed", 1), -EBADF);
}

static int action_sandbox_wipe(Call *c, Error *err)
{
        Daemon *d = call_daemon(c);
        Registry *reg = call_registry(c, err);
        if (!reg)
                return -EIO;
        SandboxRow *rows = NULL;
        size_t n = 0;
        int r = registry_sandbox_list_owned(reg, call_owner_filter(c), &rows, &n, err);
        if (r < 0)
                return r;
        json_t *destroyed = json_array();
        _cleanup_strbuf_ StrBuf failed = STRBUF_INIT;
        size_t n_failed = 0;
        for (size_t i = 0; i < n && !call_cancelled(c); i++) {
                _cleanup_error_ Error e = ERROR_INIT;
                if (destroy_one(d, reg, &rows[i], true, &e) < 0) {
                        strbuf_printf(&failed, "%s%s", n_failed++ ? "; " : "", error_msg(&e));
                        continue;
                }
                log_info("sandbox %s: destroyed by wipe (by uid %u)", rows[i].name, (unsigned) call_uid(c));
                (void) json_array_append_new(destroyed, json_string(rows[i].name));
                _cleanup_free_ char *msg = NULL;
                if (asprintf(&msg, "destroyed sandbox %s", rows[i].name) < 0)
                        msg = NULL;
                json_t *ev = json_pack("{s:s, s:s, s:s}", "type", "destroyed", "name", rows[i].name, "message",
                                       msg ?: rows[i].name);
                if (ev)
                        (void) call_event(c, ev);
        }
        sandbox_rows_free(rows, n);
        if (n_failed > 0) {
                json_decref(destroyed);
                return error_set(err, EBUSY, "%zu sandbox(es) could not be destroyed: %s", n_failed,
                                 failed.data ?: "");
        }
        if (call_cancelled(c)) {
                json_decref(destroyed);
                return error_set(err, ECANCELED, "wipe was cancelled");
        }
        return call_reply(c, json_pack("{s:o}", "destroyed", destroyed ?: json_array()), -EBADF);
}

/* ---- setup ---- */

static int setup_commands(Call *c, char ***ret, Error *err)
{
        json_t *a = json_object_get(call_params(c), "commands");
        if (!json_is_array(a))
                return error_set(err, EINVAL, "parameter 'commands' must be an array of strings");
        if (json_array_size(a) > SPEC_MAX_LIST)
                return error_set(err, E2BIG, "too many setup commands (at most %u)", SPEC_MAX_LIST);
        _cleanup_strv_free_ char **cmds = calloc(json_array_size(a) + 1, sizeof *cmds);
        if (!cmds)
                return error_set(err, ENOMEM, "out of memory");
        size_t i;
        json_t *v;
        json_array_foreach(a, i, v) {
                if (!json_is_string(v) || json_string_length(v) == 0 ||
                    json_string_length(v) > SPEC_MAX_STRING)
                        return error_set(err, EINVAL, "setup command %zu must be a non-empty string of at most %u "
                                         "bytes", i + 1, SPEC_MAX_STRING);
                if (!(cmds[i] = strdup(json_string_value(v))))
                        return error_set(err, ENOMEM, "out of memory");
        }
        *ret = TAKE_PTR(cmds);
        return 0;
}

static int run_setup(Call *c, Daemon *d, Registry *reg, const SandboxRow *row, char *const *cmds, SetupResult *res,
                     Error *err)
{
        StorageMonitor mon = call_monitor(c);
        return sandbox_setup_run(d, reg, row, cmds, &mon, res, err);
}

static int action_sandbox_setup(Call *c, Error *err)
{
        Daemon *d = call_daemon(c);
        Registry *reg;
        _cleanup_(sandbox_row_done) SandboxRow row = {};
        _cleanup_strv_free_ char **cmds = NULL;
        int r = setup_commands(c, &cmds, err);
        if (r >= 0)
                r = load_row(c, &reg, &row, err);
        if (r < 0 || (r = refuse_busy_state(&row, "set up", err)) < 0)
                return r;
        int64_t running = 0;
        int moved = registry_sandbox_transition_if_idle(reg, row.id, usable_states, SANDBOX_STATE_SETTING_UP, false,
                                                        &running, err);
        if (moved < 0)
                return moved;
        if (moved == 0 && running > 0)
                return error_set(err, EBUSY,
                                 "sandbox %s has %lld running workspace(s); setup changes the root filesystem they "
                                 "run on, so stop them first ('enclave stop %s')",
                                 row.name, (long long) running, row.name);
        if (moved == 0)
                return error_set(err, EBUSY, "sandbox %s changed state meanwhile; try again", row.name);
        log_info("sandbox %s: running %zu setup command(s) (by uid %u)", row.name, strv_length(cmds),
                 (unsigned) call_uid(c));

        SetupResult res = {};
        r = run_setup(c, d, reg, &row, cmds, &res, err);
        /* The fingerprint `enclave validate` shows and `up` compares. */
        char digest[SHA256_HEX_SIZE];
        spec_setup_digest(cmds, digest);

        /* A failed or cancelled setup changed the rootfs part way: the
         * old digest no longer describes it, so `up` must run setup
         * again. */
        _cleanup_error_ Error serr = ERROR_INIT;
        int k = registry_sandbox_set_setup_digest(reg, row.id, r < 0 ? NULL : digest, &serr);
        static const char *const from[] = { SANDBOX_STATE_SETTING_UP, NULL };
        if (k >= 0)
                k = registry_sandbox_transition(reg, row.id, from, row.state, &serr);
        if (k < 0)
                log_warn("sandbox %s: recording the setup result: %s", row.name, error_msg(&serr));
        if (r < 0) {
                log_warn("sandbox %s: setup failed: %s", row.name, error_msg(err));
                return error_wrap(err, "setting up sandbox %s (fix the command and run setup again)", row.name);
        }
        if (k < 0) {
                error_move(err, &serr);
                return error_wrap(err, "setting up sandbox %s", row.name);
        }
        log_info("sandbox %s: setup done (%zu command(s))", row.name, res.commands_run);
        return call_reply(c, json_pack("{s:s, s:I, s:s}", "name", row.name, "commands_run",
                                       (json_int_t) res.commands_run, "setup_digest", digest),
                          -EBADF);
}

/* ---- recovery at daemon start ---- */

static int recover_one(Daemon *d, const SandboxRow *row, Error *err)
{
        if (streq(row->state, SANDBOX_STATE_SETTING_UP)) {
                log_warn("sandbox %s: the daemon stopped during setup; setup will run again at the next 'up'",
                         row->name);
                static const char *const from[] = { SANDBOX_STATE_SETTING_UP, NULL };
                int r = registry_sandbox_set_setup_digest(d->registry, row->id, NULL, err);
                if (r >= 0)
                        r = registry_sandbox_transition(d->registry, row->id, from, SANDBOX_STATE_READY, err);
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
        int r = finish_destroy(d, d->registry, row->id, row->name, err);
        return r < 0 ? r : 1;
}

int sandbox_recover_interrupted(Daemon *d, Error *err)
{
        SandboxRow *rows = NULL;
        size_t n = 0;
        int r = registry_sandbox_list(d->registry, &rows, &n, err);
        if (r < 0)
                return error_wrap(err, "recovering sandboxes");
        int changed = 0;
        for (size_t i = 0; i < n; i++) {
                _cleanup_error_ Error e = ERROR_INIT;
                r = recover_one(d, &rows[i], &e);
                if (r < 0)
                        log_warn("sandbox %s: recovery: %s", rows[i].name, error_msg(&e));
                else
                        changed += r;
        }
        sandbox_rows_free(rows, n);
        return changed;
}

const Action sandbox_actions[] = {
        { "sandbox.create", action_sandbox_create, ACTION_LONG | ACTION_MUTATES },
        { "sandbox.start", action_sandbox_start, ACTION_LONG | ACTION_MUTATES },
        { "sandbox.stop", action_sandbox_stop, ACTION_LONG | ACTION_MUTATES },
        { "sandbox.destroy", action_sandbox_destroy, ACTION_LONG | ACTION_MUTATES },
        { "sandbox.remove", action_sandbox_destroy, ACTION_LONG | ACTION_MUTATES },
        { "sandbox.status", action_sandbox_status, 0 },
        { "sandbox.list", action_sandbox_list, 0 },
        { "sandbox.wipe", action_sandbox_wipe, ACTION_LONG | ACTION_MUTATES },
        { "sandbox.setup", action_sandbox_setup, ACTION_LONG | ACTION_MUTATES },
        {},
};
