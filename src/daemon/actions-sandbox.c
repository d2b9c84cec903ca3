/* sandbox.*: create, start, stop, destroy/remove, status, list, wipe
 * and setup (SPEC §1, §2, §3 `setup`; docs/actions.md): parameters ->
 * spec -> the sandbox lifecycle (engine/sandbox.h) -> reply. */
#include "daemon/action.h"
#include "daemon/actions-storage.h"
#include "daemon/call.h"
#include "daemon/daemon.h"
#include "daemon/owner.h"
#include "registry/registry-sandbox.h"
#include "engine/sandbox.h"
#include "engine/sandbox-status.h"
#include "spec/spec.h"
#include "storage/bootstrap.h"
#include "storage/layout.h"
#include "base/log.h"
#include "base/str.h"

/* ---- warnings as events ---- */

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

static int action_sandbox_status(Call *c, Error *err)
{
        Registry *reg;
        _cleanup_(sandbox_row_done) SandboxRow row = {};
        int r = load_row(c, &reg, &row, err);
        if (r < 0)
                return r;
        json_t *j = sandbox_status_json(call_engine(c), &row, true);
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
                if (json_array_append_new(a, sandbox_status_json(call_engine(c), &rows[i], false)) < 0) {
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
        const Settings *s = &call_daemon(c)->engine.settings;
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
        StorageMonitor mon = call_storage_monitor_items(c);
        _cleanup_strv_free_ char **warnings = NULL;
        r = sandbox_create(&d->engine, reg, &spec, call_uid(c), owner_cap(c, d->engine.settings.max_sandboxes_per_user), &mon,
                           &warnings, err);
        send_warnings(c, warnings);
        if (r < 0)
                return r;
        _cleanup_(sandbox_row_done) SandboxRow done = {};
        r = registry_sandbox_get(reg, spec.name, &done, err);
        if (r < 0)
                return r;
        json_t *j = sandbox_status_json(&d->engine, &done, true);
        if (!j)
                return error_set(err, ENOMEM, "out of memory");
        return call_reply(c, j, -EBADF);
}

/* ---- start and stop ---- */

static int action_sandbox_start(Call *c, Error *err)
{
        Daemon *d = call_daemon(c);
        Registry *reg;
        _cleanup_(sandbox_row_done) SandboxRow row = {};
        int r = load_row(c, &reg, &row, err);
        if (r < 0)
                return r;
        _cleanup_strv_free_ char **warnings = NULL;
        _cleanup_(json_decrefp) json_t *started = json_array();
        if (!started)
                return error_set(err, ENOMEM, "out of memory");
        int changed = sandbox_start(&d->engine, reg, &row, true, started, &warnings, err);
        if (changed < 0)
                return changed;
        if (changed)
                log_info("sandbox %s: started (by uid %u)", row.name, (unsigned) call_uid(c));
        _cleanup_free_ char *name = strdup(row.name);
        if (!name)
                return error_set(err, ENOMEM, "out of memory");
        sandbox_row_done(&row);
        r = registry_sandbox_get(reg, name, &row, err);
        if (r < 0)
                return r;
        json_t *j = sandbox_status_json(&d->engine, &row, false);
        json_t *w = json_array();
        STRV_FOREACH(s, warnings)
                (void) json_array_append_new(w, json_string(*s));
        if (!j || !w || json_object_set_new(j, "changed", json_boolean(changed)) < 0 ||
            json_object_set_new(j, "warnings", w) < 0 || json_object_set(j, "started", started) < 0) {
                json_decref(j);
                return error_set(err, ENOMEM, "out of memory");
        }
        return call_reply(c, j, -EBADF);
}

static int action_sandbox_stop(Call *c, Error *err)
{
        Registry *reg;
        _cleanup_(sandbox_row_done) SandboxRow row = {};
        int r = load_row(c, &reg, &row, err);
        if (r < 0)
                return r;
        json_t *stopped = json_array();
        if (!stopped)
                return error_set(err, ENOMEM, "out of memory");
        r = sandbox_stop(call_engine(c), reg, &row, true, stopped, err);
        if (r < 0) {
                json_decref(stopped);
                return r;
        }
        log_info("sandbox %s: stopped (by uid %u)", row.name, (unsigned) call_uid(c));
        return call_reply(c, json_pack("{s:s, s:s, s:b, s:o}", "name", row.name, "state", SANDBOX_STATE_STOPPED,
                                       "changed", !streq(row.state, SANDBOX_STATE_STOPPED), "stopped", stopped),
                          -EBADF);
}

/* ---- destroy, remove, wipe ---- */

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
        r = sandbox_destroy(call_engine(c), reg, &row, force, err);
        if (r < 0)
                return r;
        log_info("sandbox %s: destroyed (by uid %u)", row.name, (unsigned) call_uid(c));
        return call_reply(c, json_pack("{s:s, s:b}", "name", row.name, "destroyed", 1), -EBADF);
}

typedef struct WipeSink {
        Call *call;
        json_t *destroyed; /* their names */
} WipeSink;

static void on_wipe_destroyed(void *userdata, const char *name)
{
        WipeSink *s = userdata;
        (void) json_array_append_new(s->destroyed, json_string(name));
        _cleanup_free_ char *msg = NULL;
        if (asprintf(&msg, "destroyed sandbox %s", name) < 0)
                msg = NULL;
        json_t *ev = json_pack("{s:s, s:s, s:s}", "type", "destroyed", "name", name, "message", msg ?: name);
        if (ev)
                (void) call_event(s->call, ev);
}

static bool on_wipe_cancelled(void *userdata)
{
        WipeSink *s = userdata;
        return call_cancelled(s->call);
}

static int action_sandbox_wipe(Call *c, Error *err)
{
        Registry *reg = call_registry(c, err);
        if (!reg)
                return -EIO;
        WipeSink sink = { c, json_array() };
        SandboxWipeReporter rep = { &sink, on_wipe_destroyed, on_wipe_cancelled };
        int r = sandbox_wipe(call_engine(c), reg, call_owner_filter(c), call_uid(c), &rep, err);
        if (r < 0) {
                json_decref(sink.destroyed);
                return r;
        }
        return call_reply(c, json_pack("{s:o}", "destroyed", sink.destroyed ?: json_array()), -EBADF);
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

static int action_sandbox_setup(Call *c, Error *err)
{
        Registry *reg;
        _cleanup_(sandbox_row_done) SandboxRow row = {};
        _cleanup_strv_free_ char **cmds = NULL;
        int r = setup_commands(c, &cmds, err);
        if (r >= 0)
                r = load_row(c, &reg, &row, err);
        if (r < 0)
                return r;
        log_info("sandbox %s: running %zu setup command(s) (by uid %u)", row.name, strv_length(cmds),
                 (unsigned) call_uid(c));
        StorageMonitor mon = call_storage_monitor_items(c);
        SetupResult res = {};
        r = sandbox_setup(call_engine(c), reg, &row, cmds, &mon, &res, err);
        if (r < 0 && res.commands_run > 0)
                return error_wrap(err, "setting up sandbox %s (fix the command and run setup again)", row.name);
        if (r < 0)
                return r;
        log_info("sandbox %s: setup done (%zu command(s))", row.name, res.commands_run);
        /* The fingerprint `enclave validate` shows and `up` compares. */
        char digest[SHA256_HEX_SIZE];
        spec_setup_digest(cmds, digest);
        return call_reply(c, json_pack("{s:s, s:I, s:s}", "name", row.name, "commands_run",
                                       (json_int_t) res.commands_run, "setup_digest", digest),
                          -EBADF);
}

const Action sandbox_actions[] = {
        { PROTO_ACTION_SANDBOX_CREATE, action_sandbox_create, ACTION_LONG | ACTION_MUTATES },
        { PROTO_ACTION_SANDBOX_START, action_sandbox_start, ACTION_LONG | ACTION_MUTATES },
        { PROTO_ACTION_SANDBOX_STOP, action_sandbox_stop, ACTION_LONG | ACTION_MUTATES },
        { PROTO_ACTION_SANDBOX_DESTROY, action_sandbox_destroy, ACTION_LONG | ACTION_MUTATES },
        { PROTO_ACTION_SANDBOX_REMOVE, action_sandbox_destroy, ACTION_LONG | ACTION_MUTATES },
        { PROTO_ACTION_SANDBOX_STATUS, action_sandbox_status, 0 },
        { PROTO_ACTION_SANDBOX_LIST, action_sandbox_list, 0 },
        { PROTO_ACTION_SANDBOX_WIPE, action_sandbox_wipe, ACTION_LONG | ACTION_MUTATES },
        { PROTO_ACTION_SANDBOX_SETUP, action_sandbox_setup, ACTION_LONG | ACTION_MUTATES },
        {},
};
