/* Sandbox parent cgroups below the daemon's root group
 * (sandbox-cgroup.h). */
#include "daemon/sandbox-cgroup.h"
#include "daemon/daemon.h"
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

int sandbox_cgroup_root_name(const Daemon *d, char *buf, size_t size)
{
        int n = snprintf(buf, size, SANDBOX_CGROUP_ROOT_PREFIX "%s", d->settings.bridge ? d->settings.bridge : "");
        return n < 0 || (size_t) n >= size ? -ENAMETOOLONG : 0;
}

static int open_root(const Daemon *d, Cgroup **ret, char ***warnings, Error *err)
{
        char name[64];
        if (sandbox_cgroup_root_name(d, name, sizeof name) < 0)
                return error_set(err, ENAMETOOLONG, "the bridge name is too long for a cgroup name");
        /* On v2, the daemon's own processes may need to leave its cgroup
         * so that the cgroup can hand controllers to Enclave's root. */
        CgroupRootOptions opts = { .move_self = true };
        int r = cgroup_root_open(name, &opts, ret, warnings, err);
        if (r < 0)
                return error_wrap(err, "opening the daemon's cgroup root");
        return 0;
}

static WorkspaceLimits row_caps(const SandboxRow *row)
{
        return (WorkspaceLimits) {
                .memory_mb = row->memory_mb > 0 ? (uint64_t) row->memory_mb : 0,
                .max_procs = row->max_procs > 0 ? (uint64_t) row->max_procs : 0,
                .cpu_percent = row->cpu_percent > 0 ? (unsigned) row->cpu_percent : 0,
        };
}

int sandbox_cgroup_ensure(const Daemon *d, const SandboxRow *row, Cgroup **ret, char ***warnings, Error *err)
{
        _unused_ _cleanup_(unlockp) pthread_mutex_t *lock = lock_root();
        _cleanup_cgroup_ Cgroup *root = NULL;
        int r = open_root(d, &root, warnings, err);
        if (r < 0)
                return r;
        WorkspaceLimits caps = row_caps(row);
        r = cgroup_create(root, row->name, &caps, ret, warnings, err);
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
 * (the unified tree's "<root>-daemon" group of move_self counts as
 * one: the root then stays, which is right, the daemon lives there). */
static void remove_root_if_empty(const Cgroup *root)
{
        for (size_t i = 0; i < root->n_nodes; i++)
                if (dir_has_subdirs(root->nodes[i].path))
                        return;
        _cleanup_error_ Error err = ERROR_INIT;
        if (cgroup_destroy(root, &err) < 0)
                log_debug("leaving the cgroup root in place: %s", error_msg(&err));
}

int sandbox_cgroup_open(const Daemon *d, const char *sandbox, Cgroup **ret, Error *err)
{
        _unused_ _cleanup_(unlockp) pthread_mutex_t *lock = lock_root();
        _cleanup_cgroup_ Cgroup *root = NULL;
        int r = open_root(d, &root, NULL, err);
        if (r < 0)
                return r;
        r = cgroup_open(root, sandbox, ret, err);
        /* Opening the root creates it: do not leave it behind for a
         * sandbox that has no group (a status after a reboot). */
        if (r == -ENOENT)
                remove_root_if_empty(root);
        return r;
}

int sandbox_cgroup_remove(const Daemon *d, const char *sandbox, Error *err)
{
        _cleanup_cgroup_ Cgroup *cg = NULL;
        int r = sandbox_cgroup_open(d, sandbox, &cg, err);
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
        _cleanup_cgroup_ Cgroup *root = NULL;
        r = open_root(d, &root, NULL, err);
        if (r < 0)
                return r;
        remove_root_if_empty(root);
        return 0;
}

int sandbox_cgroup_paths(const Daemon *d, const char *sandbox, char ***ret, Error *err)
{
        _cleanup_cgroup_ Cgroup *cg = NULL;
        _cleanup_strv_free_ char **paths = NULL;
        int r = sandbox_cgroup_open(d, sandbox, &cg, err);
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
