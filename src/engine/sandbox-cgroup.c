/* Sandbox parent cgroups below the daemon's root group
 * (sandbox-cgroup.h). */
#include "engine/sandbox-cgroup.h"
#include "engine/engine.h"
#include "base/log.h"
#include "base/str.h"

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>

/* Serialises opening/creating the root and removing it when empty:
 * without it, one thread could remove the empty root just after
 * another opened it to create a sandbox group inside. Protects no
 * data, only that pair of directory operations. */
static pthread_mutex_t root_lock = PTHREAD_MUTEX_INITIALIZER;

static void unlockp(pthread_mutex_t **m)
{
        if (*m)
                pthread_mutex_unlock(*m);
}

static pthread_mutex_t *lock_root(void)
{
        pthread_mutex_lock(&root_lock);
        return &root_lock;
}

int sandbox_cgroup_root_name(const Engine *eng, char *buf, size_t size)
{
        int n = snprintf(buf, size, SANDBOX_CGROUP_ROOT_PREFIX "%s", eng->settings.bridge ? eng->settings.bridge : "");
        return n < 0 || (size_t) n >= size ? -ENAMETOOLONG : 0;
}

int sandbox_cgroup_init(Engine *eng)
{
        char name[64];
        if (sandbox_cgroup_root_name(eng, name, sizeof name) < 0) {
                log_warn("cgroups: the bridge name is too long for a cgroup name; no cgroup limits");
                return 0;
        }
        /* Under systemd with Delegate=yes the daemon leaves its service
         * group for a leaf, so that group may hand controllers on. */
        CgroupRootOptions opts = { .move_self = true };
        _cleanup_error_ Error err = ERROR_INIT;
        int r = cgroup_root_locate(name, &opts, &eng->cgroup_root, &err);
        if (r < 0) {
                log_warn("cgroups: %s; workspaces get no cgroup limits", error_msg(&err));
                return 0;
        }
        for (size_t i = 0; i < eng->cgroup_root->n_nodes; i++)
                log_debug("cgroup root: %s", eng->cgroup_root->nodes[i].path);
        return 0;
}

void sandbox_cgroup_done(Engine *eng)
{
        eng->cgroup_root = cgroup_free(eng->cgroup_root);
}

uint64_t sandbox_cgroup_procs_total(const Engine *eng, uint64_t *ret_host)
{
        if (eng->settings.max_procs_total > 0) {
                if (ret_host)
                        *ret_host = 0;
                return (uint64_t) eng->settings.max_procs_total;
        }
        return cgroup_procs_total_default(ret_host);
}

/* The root as located at startup, its directories made when missing,
 * with its pids cap (written every time: a root removed when empty
 * comes back without it). A host without the pids controller already
 * got its warning from cgroup_root_ensure(). */
static int open_root(const Engine *eng, const Cgroup **ret, char ***warnings, Error *err)
{
        if (!eng->cgroup_root)
                return error_set(err, ENOENT, "no usable cgroup hierarchy on this host (see enclave doctor)");
        int r = cgroup_root_ensure(eng->cgroup_root, warnings, err);
        if (r < 0)
                return error_wrap(err, "opening the daemon's cgroup root");
        r = cgroup_set_pids_max(eng->cgroup_root, sandbox_cgroup_procs_total(eng, NULL), err);
        if (r < 0)
                return error_wrap(err, "capping the pids of all workspaces (max_procs_total)");
        *ret = eng->cgroup_root;
        return 0;
}

int sandbox_cgroup_ensure(const Engine *eng, const SandboxRow *row, Cgroup **ret, char ***warnings, Error *err)
{
        _unused_ _cleanup_(unlockp) pthread_mutex_t *lock = lock_root();
        const Cgroup *root = NULL;
        int r = open_root(eng, &root, warnings, err);
        if (r < 0)
                return r;
        r = cgroup_create(root, row->name, &row->caps, ret, warnings, err);
        if (r < 0)
                return error_wrap(err, "creating the cgroup of sandbox %s", row->name);
        return 0;
}

static bool dir_has_subdirs(const char *path)
{
        DIR *dir = opendir(path);
        if (!dir)
                return false;
        bool found = false;
        struct dirent *de;
        while (!found && (de = readdir(dir)))
                found = de->d_type == DT_DIR && !streq(de->d_name, ".") && !streq(de->d_name, "..");
        closedir(dir);
        return found;
}

/* Remove the root when no group is left below it in any hierarchy
 * (the daemon's own leaf, if any, is beside the root, not below it). */
static void remove_root_if_empty(const Cgroup *root)
{
        for (size_t i = 0; i < root->n_nodes; i++)
                if (dir_has_subdirs(root->nodes[i].path))
                        return;
        _cleanup_error_ Error err = ERROR_INIT;
        if (cgroup_destroy(root, &err) < 0)
                log_debug("leaving the cgroup root in place: %s", error_msg(&err));
}

int sandbox_cgroup_open(const Engine *eng, const char *sandbox, Cgroup **ret, Error *err)
{
        if (!eng->cgroup_root)
                return error_set(err, ENOENT, "no usable cgroup hierarchy on this host");
        /* Opening never creates anything: a sandbox without a group (a
         * status after a reboot) leaves no root behind. */
        return cgroup_open(eng->cgroup_root, sandbox, ret, err);
}

int sandbox_cgroup_remove(const Engine *eng, const char *sandbox, Error *err)
{
        _cleanup_cgroup_ Cgroup *cg = NULL;
        int r = sandbox_cgroup_open(eng, sandbox, &cg, err);
        if (r == -ENOENT)
                error_clear(err);
        else if (r < 0)
                return r;
        else {
                /* Killing waits for the processes to die: outside the
                 * lock, so other sandboxes are not held up meanwhile. */
                uint64_t procs = 0;
                if (cgroup_count_procs(cg, &procs) >= 0 && procs > 0) {
                        log_warn("sandbox %s: killing %llu process(es) left in its cgroup", sandbox,
                                 (unsigned long long) procs);
                        r = cgroup_kill(cg, err);
                        if (r < 0)
                                return error_wrap(err, "killing the processes left in the cgroup of sandbox %s",
                                                  sandbox);
                }
                r = cgroup_destroy(cg, err);
                if (r < 0)
                        return error_wrap(err, "removing the cgroup of sandbox %s", sandbox);
        }
        _unused_ _cleanup_(unlockp) pthread_mutex_t *lock = lock_root();
        if (eng->cgroup_root)
                remove_root_if_empty(eng->cgroup_root);
        return 0;
}

int sandbox_cgroup_paths(const Engine *eng, const char *sandbox, char ***ret, Error *err)
{
        _cleanup_cgroup_ Cgroup *cg = NULL;
        _cleanup_strv_free_ char **paths = NULL;
        int r = sandbox_cgroup_open(eng, sandbox, &cg, err);
        if (r == -ENOENT) {
                error_clear(err);
                cg = NULL;
        } else if (r < 0)
                return r;
        for (size_t i = 0; cg && i < cg->n_nodes; i++)
                if (strv_push(&paths, cg->nodes[i].path) < 0)
                        return error_set(err, ENOMEM, "out of memory");
        if (!paths && !(paths = calloc(1, sizeof *paths)))
                return error_set(err, ENOMEM, "out of memory");
        *ret = TAKE_PTR(paths);
        return 0;
}
