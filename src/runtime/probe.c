/* Host feature probes (probe.h). */
#include "runtime/probe.h"

#include "base/fs.h"
#include "base/process.h"
#include "base/str.h"
#include "base/syscalls.h"
#include "runtime/idmap.h"
#include "runtime/rootfs.h"

#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* Any block of host ids will do: the mapping is only looked at, never
 * used to own anything. */
#define PROBE_ID_BASE 100000U

static int probe_userns_fd(Error *err)
{
        IdMapLine m = { 0, PROBE_ID_BASE, 65536 };
        return idmap_userns_open(&m, &m, err);
}

int probe_user_namespaces(Error *err)
{
        _cleanup_close_ int fd = probe_userns_fd(err);
        return fd < 0 ? fd : 0;
}

int probe_idmapped_mount(const char *dir, Error *err)
{
        _cleanup_close_ int userns = probe_userns_fd(err);
        if (userns < 0)
                return userns;
        _cleanup_close_ int fd = rootfs_open_lower(dir, userns, err);
        return fd < 0 ? fd : 0;
}

static int make_dirs(const char *scratch, char **lower, char **upper, char **work, Error *err)
{
        *lower = path_join(scratch, "lower");
        *upper = path_join(scratch, "upper");
        *work = path_join(scratch, "work");
        if (!*lower || !*upper || !*work)
                return error_set(err, ENOMEM, "out of memory");
        const char *const dirs[] = { *lower, *upper, *work };
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++)
                if (mkdir(dirs[i], 0700) < 0)
                        return error_setc(err, errno, "creating %s", dirs[i]);
        /* Like a workspace: upper and work belong to its id range. */
        if (chown(*upper, PROBE_ID_BASE, PROBE_ID_BASE) < 0 || chown(*work, PROBE_ID_BASE, PROBE_ID_BASE) < 0)
                return error_setc(err, errno, "chown in %s", scratch);
        return 0;
}

static int overlay_try(const char *scratch, OverlayLowerMode *ret_mode, Error *err)
{
        _cleanup_free_ char *lower = NULL, *upper = NULL, *work = NULL;
        int r = make_dirs(scratch, &lower, &upper, &work, err);
        if (r < 0)
                return r;
        _cleanup_close_ int userns = probe_userns_fd(err);
        if (userns < 0)
                return userns;
        _cleanup_close_ int lower_fd = rootfs_open_lower(lower, userns, err);
        if (lower_fd < 0)
                return lower_fd;
        _cleanup_close_ int ovl = rootfs_open_overlay(lower_fd, upper, work, ret_mode, err);
        return ovl < 0 ? ovl : 0;
}

int probe_overlay_on_idmapped(const char *scratch_dir, OverlayLowerMode *ret_mode, Error *err)
{
        int r = overlay_try(scratch_dir, ret_mode, err);
        /* The detached mounts went with their fds; what is left are
         * plain directories. */
        _cleanup_close_ int dfd = open(scratch_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd >= 0) {
                const char *const names[] = { "lower", "upper", "work" };
                for (size_t i = 0; i < ELEMENTSOF(names); i++)
                        (void) rm_rf_at(dfd, names[i]);
        }
        return r;
}

int probe_pidfd(Error *err)
{
        _cleanup_close_ int fd = sys_pidfd_open(getpid(), 0);
        if (fd < 0)
                return error_setc(err, errno, "pidfd_open");
        return 0;
}

int probe_clone3(Error *err)
{
        CloneArgs args = { .exit_signal = SIGCHLD };
        pid_t pid = sys_clone3(&args);
        if (pid < 0)
                return error_setc(err, errno, "clone3");
        if (pid == 0)
                _exit(0);
        int r = wait_for_exit(pid);
        if (r < 0)
                return error_setc(err, -r, "waiting for the clone3 child");
        if (r != 0)
                return error_set(err, EPROTO, "the clone3 child exited with status %d", r);
        return 0;
}

int probe_loop_control(Error *err)
{
        _cleanup_close_ int fd = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
        if (fd < 0)
                return error_setc(err, errno, "opening /dev/loop-control");
        return 0;
}

static bool is_executable_file(const char *path)
{
        struct stat st;
        return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

int probe_find_executable(const char *name, char **ret_path)
{
        if (!name || !*name)
                return -ENOENT;
        if (strchr(name, '/')) {
                if (!is_executable_file(name))
                        return -ENOENT;
                *ret_path = strdup(name);
                return *ret_path ? 0 : -ENOMEM;
        }
        const char *path = getenv("PATH");
        _cleanup_free_ char *copy = strdup(path && *path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        if (!copy)
                return -ENOMEM;
        char *save = NULL;
        for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
                _cleanup_free_ char *p = path_join(dir, name);
                if (!p)
                        return -ENOMEM;
                if (is_executable_file(p)) {
                        *ret_path = TAKE_PTR(p);
                        return 0;
                }
        }
        return -ENOENT;
}

bool probe_lsm_enabled(const char *lsm)
{
        _cleanup_free_ char *list = NULL;
        if (read_full_file("/sys/kernel/security/lsm", 4096, &list, NULL) >= 0) {
                char *save = NULL;
                for (char *w = strtok_r(list, ",\n", &save); w; w = strtok_r(NULL, ",\n", &save))
                        if (streq(w, lsm))
                                return true;
                return false;
        }
        if (streq(lsm, "apparmor")) {
                _cleanup_free_ char *on = NULL;
                return read_full_file("/sys/module/apparmor/parameters/enabled", 64, &on, NULL) >= 0 && on[0] == 'Y';
        }
        if (streq(lsm, "selinux"))
                return access("/sys/fs/selinux/enforce", F_OK) == 0;
        return false;
}
