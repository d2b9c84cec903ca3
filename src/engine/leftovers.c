/* Leftovers of operations cut short (leftovers.h). */
#include "engine/leftovers.h"
#include "registry/registry-sandbox.h"
#include "registry/registry-workspace.h"
#include "engine/sandbox-cgroup.h"
#include "engine/workspace-engine.h"
#include "storage/layout.h"
#include "storage/loopdev.h"
#include "storage/staging.h"
#include "base/fs.h"
#include "base/log.h"
#include "base/process.h"
#include "base/str.h"

#include <limits.h>
#include <string.h>
#include <sys/stat.h>

bool leftover_cgroup_frozen(const Cgroup *cg)
{
        for (size_t i = 0; i < cg->n_nodes; i++) {
                _cleanup_free_ char *v = NULL;
                const CgroupNode *n = &cg->nodes[i];
                if (n->v2) {
                        if (cgroup_read_file(n->path, "cgroup.freeze", &v) >= 0 && v[0] == '1')
                                return true;
                } else if (cgroup_read_file(n->path, "freezer.state", &v) >= 0 &&
                           (startswith(v, "FROZEN") || startswith(v, "FREEZING")))
                        return true;
        }
        return false;
}

int leftover_workspace_of_path(const char *state_dir, const char *path, char **ret_sandbox, char **ret_name)
{
        const char *rest = startswith(path, state_dir);
        if (!rest || !(rest = startswith(rest, "/sandboxes/")))
                return -EINVAL;
        const char *slash = strchr(rest, '/');
        const char *ws = slash ? startswith(slash, "/workspaces/") : NULL;
        const char *end = ws ? strchr(ws, '/') : NULL;
        if (!end)
                return -EINVAL;
        _cleanup_free_ char *sb = strndup(rest, (size_t) (slash - rest));
        _cleanup_free_ char *name = strndup(ws, (size_t) (end - ws));
        if (!sb || !name)
                return -ENOMEM;
        if (!name_is_valid(sb) || !name_is_valid(name))
                return -EINVAL;
        *ret_sandbox = TAKE_PTR(sb);
        *ret_name = TAKE_PTR(name);
        return 0;
}

/* ---- at daemon start ---- */

static void sweep_tmp(Engine *eng)
{
        _cleanup_free_ char *tmp = NULL;
        _cleanup_strv_free_ char **removed = NULL, **left = NULL;
        _cleanup_error_ Error e = ERROR_INIT;
        if (layout_tmp_dir(eng->settings.state_dir, &tmp, &e) < 0 || staging_sweep(tmp, true, &removed, &left, &e) < 0) {
                log_warn("emptying tmp/: %s", error_msg(&e));
                return;
        }
        STRV_FOREACH(l, left)
                log_warn("could not remove %s", *l);
}

/* A workspace counts as running when the engine watches it (adopted
 * by now) or its row says running with a live pid (adoption failed:
 * doctor reports it; it must not be killed). */
static bool workspace_runs(Engine *eng, const char *sandbox, const char *name)
{
        _cleanup_running_ RunningWorkspace *rw = workspace_engine_get(eng, sandbox, name);
        if (rw)
                return true;
        _cleanup_workspace_row_ WorkspaceRow row = {};
        if (registry_workspace_get(eng->registry, sandbox, name, &row, NULL) < 0)
                return false;
        return streq(row.state, WORKSPACE_STATE_RUNNING) && row.pid > 0 &&
               pid_is_same_process(row.pid, row.pid_start_time);
}

static void clean_group(Engine *eng, const Cgroup *sb, const char *sandbox, const char *name)
{
        _cleanup_cgroup_ Cgroup *cg = NULL;
        _cleanup_error_ Error e = ERROR_INIT;
        if (cgroup_open(sb, name, &cg, &e) < 0)
                return;
        bool runs = workspace_runs(eng, sandbox, name);
        if (leftover_cgroup_frozen(cg)) {
                /* Only a snapshot freezes, and none runs before we serve. */
                if (cgroup_thaw(cg, &e) < 0)
                        log_warn("workspace %s/%s: thawing its cgroup: %s", sandbox, name, error_msg(&e));
                else
                        log_info("workspace %s/%s: thawed (a snapshot of it was cut short)", sandbox, name);
                error_clear(&e);
        }
        if (runs)
                return;
        uint64_t procs = 0;
        if (cgroup_count_procs(cg, &procs) >= 0 && procs > 0) {
                log_info("workspace %s/%s does not run, yet %llu process(es) run in its cgroup (a start cut "
                         "short): killing them", sandbox, name, (unsigned long long) procs);
                if (cgroup_kill(cg, &e) < 0) {
                        log_warn("workspace %s/%s: %s", sandbox, name, error_msg(&e));
                        return;
                }
        }
        if (cgroup_destroy(cg, &e) < 0)
                log_warn("workspace %s/%s: removing its cgroup: %s", sandbox, name, error_msg(&e));
        else
                log_info("workspace %s/%s: removed its stale cgroup", sandbox, name);
}

/* Child groups of sb in any hierarchy, once each. */
static char **child_groups(const Cgroup *sb)
{
        char **names = NULL;
        for (size_t j = 0; j < sb->n_nodes; j++) {
                _cleanup_closedir_ DIR *dp = opendir(sb->nodes[j].path);
                struct dirent *de;
                while (dp && (de = readdir(dp)))
                        if (de->d_type == DT_DIR && de->d_name[0] != '.' && !strv_contains(names, de->d_name) &&
                            strv_push(&names, de->d_name) < 0)
                                return strv_free(names);
        }
        return names;
}

static void clean_cgroups(Engine *eng)
{
        SandboxRow *rows = NULL;
        size_t n = 0;
        _cleanup_error_ Error e = ERROR_INIT;
        if (registry_sandbox_list(eng->registry, &rows, &n, &e) < 0) {
                log_warn("checking workspace cgroups: %s", error_msg(&e));
                return;
        }
        for (size_t i = 0; i < n; i++) {
                _cleanup_cgroup_ Cgroup *sb = NULL;
                if (sandbox_cgroup_open(eng, rows[i].name, &sb, NULL) < 0)
                        continue;
                _cleanup_strv_free_ char **names = child_groups(sb);
                STRV_FOREACH(name, names)
                        clean_group(eng, sb, rows[i].name, *name);
        }
        sandbox_rows_free(rows, n);
}

/* A killed init's mount namespace is torn down asynchronously; its
 * disk image unbinds from its loop device right after. */
static void wait_loop_devices(Engine *eng)
{
        char state[PATH_MAX];
        if (!realpath(eng->settings.state_dir, state))
                return;
        LoopBinding *v = NULL;
        size_t n = 0;
        if (loopdev_list_below(state, &v, &n) < 0)
                return;
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *sb = NULL, *name = NULL;
                if (leftover_workspace_of_path(state, v[i].backing, &sb, &name) < 0 || workspace_runs(eng, sb, name))
                        continue;
                struct stat st;
                if (stat(v[i].backing, &st) < 0)
                        continue;
                int nr = -1;
                if (loopdev_wait_unbound(st.st_dev, st.st_ino, 2000, &nr) == -EBUSY)
                        log_warn("loop%d still holds %s, whose workspace does not run (a mount holds it: see "
                                 "enclave doctor)", nr, v[i].backing);
        }
        loop_bindings_free(v, n);
}

void reconcile_leftovers(Engine *eng)
{
        sweep_tmp(eng);
        clean_cgroups(eng);
        wait_loop_devices(eng);
}
