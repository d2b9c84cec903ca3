/* The workspace side of `cp` (workspace-cp.h). */
#include "engine/workspace-cp.h"
#include "engine/workspace-engine-internal.h"
#include "base/syscalls.h"
#include "runtime/nsclone.h"
#include "runtime/rlimits.h"
#include "runtime/sync.h"
#include "storage/tar-tree.h"
#include "base/fs.h"
#include "base/process.h"
#include "base/str.h"

#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Where the child reports from (SyncMsg.step). */
enum {
        CP_STEP_ENTER = 1, /* descriptors, namespaces, root, hardening */
        CP_STEP_COPY = 2,  /* the copy itself; reached: SyncMsg.text is where it went */
};

typedef struct CpChild {
        int pidfd; /* the workspace's init */
        const HardeningPlan *plan;
        const WorkspaceCpSpec *spec;
        int sock;  /* the child's end of the sync socket */
} CpChild;

static int enter_workspace(int pidfd, const HardeningPlan *plan, Error *err)
{
        /* Every namespace that reading a path can show: /proc/sys/net,
         * /proc/sys/kernel and /proc/sysvipc follow the reader's
         * network, UTS and IPC namespaces, not the mount's. */
        if (sys_setns(pidfd, CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWUTS | CLONE_NEWIPC |
                                     CLONE_NEWCGROUP) < 0)
                return error_setc(err, errno, "entering the workspace's namespaces");
        if (sys_setresgid(0, 0, 0) < 0 || sys_setgroups(0, NULL) < 0 || sys_setresuid(0, 0, 0) < 0)
                return error_setc(err, errno, "switching to the workspace's root");
        if (chdir("/") < 0)
                return error_setc(err, errno, "changing to the workspace's root");
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return error_setc(err, errno, "setting no_new_privs");
        const char *what = NULL;
        int r = plan ? hardening_apply_no_exec(plan, &what) : 0;
        if (r < 0)
                return error_setc(err, -r, "%s", what ? what : "dropping privileges");
        return 0;
}

/* in: into path when it is a directory (keeping the source's name),
 * else into its parent under path's last name. */
static int copy_in(const WorkspaceCpSpec *spec, char **ret_target, Error *err)
{
        struct stat st;
        _cleanup_free_ char *dir = NULL, *name = NULL, *target = NULL;
        if (stat(spec->path, &st) == 0 && S_ISDIR(st.st_mode)) {
                dir = strdup(spec->path);
                name = spec->name ? strdup(spec->name) : NULL;
                target = spec->name ? path_join(spec->path, spec->name) : strdup(spec->path);
        } else {
                if (!spec->name)
                        return error_set(err, ENOTDIR, "%s is not a directory; a tar stream is unpacked into one",
                                         spec->path);
                const char *slash = strrchr(spec->path, '/');
                dir = slash == spec->path ? strdup("/") : strndup(spec->path, (size_t) (slash - spec->path));
                name = strdup(slash + 1);
                target = strdup(spec->path);
        }
        if (!dir || !target || (spec->name && !name))
                return error_set(err, ENOMEM, "out of memory");
        int r = tar_tree_extract(spec->fd, dir, name, 0, err);
        if (r < 0)
                return r;
        *ret_target = TAKE_PTR(target);
        return 0;
}

static int copy_out(const WorkspaceCpSpec *spec, char **ret_target, Error *err)
{
        const char *slash = strrchr(spec->path, '/');
        int r = tar_tree_write(spec->path, slash[1] ? slash + 1 : "root", spec->fd, err);
        if (r < 0)
                return r;
        *ret_target = strdup(spec->path);
        return *ret_target ? 0 : error_set(err, ENOMEM, "out of memory");
}

static int cmp_int(const void *a, const void *b)
{
        return *(const int *) a - *(const int *) b;
}

/* The child is a fork of the daemon: it holds every descriptor the
 * daemon had (its socket, the registry, other clients' connections,
 * the other end of its own stream relay). Keep only what the copy uses,
 * so it never carries root's descriptors into the workspace and a
 * reader that went away gives it EPIPE instead of a pipe that another
 * copy of the read end keeps open forever. */
static int close_other_fds(int a, int b, int c)
{
        int keep[3] = { a, b, c };
        qsort(keep, 3, sizeof keep[0], cmp_int);
        unsigned from = 3;
        for (size_t i = 0; i < 3; i++) {
                if (keep[i] < (int) from)
                        continue;
                if ((unsigned) keep[i] > from && sys_close_range(from, (unsigned) keep[i] - 1, 0) < 0)
                        return -errno;
                from = (unsigned) keep[i] + 1;
        }
        return RET_NERRNO(sys_close_range(from, ~0U, 0));
}

static int child_fail(int sock, uint32_t step, const Error *err)
{
        SyncMsg m;
        sync_msg_set_error(&m, step, err);
        sync_send_msg(sock, &m);
        return 1;
}

/* Runs library code (libarchive) and never executes: started
 * library-style by ns_clone(), with every signal blocked. */
static int run_child(void *arg)
{
        const CpChild *c = arg;
        _cleanup_error_ Error err = ERROR_INIT;
        sigset_t none;
        sigemptyset(&none);
        (void) sigprocmask(SIG_SETMASK, &none, NULL);
        (void) prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        int r = close_other_fds(c->pidfd, c->spec->fd, c->sock);
        if (r < 0) {
                error_setc(&err, -r, "closing the daemon's descriptors");
                return child_fail(c->sock, CP_STEP_ENTER, &err);
        }
        r = rlimits_oom_score_reset(0);
        if (r < 0) {
                error_setc(&err, -r, "setting oom_score_adj");
                return child_fail(c->sock, CP_STEP_ENTER, &err);
        }
        if (enter_workspace(c->pidfd, c->plan, &err) < 0)
                return child_fail(c->sock, CP_STEP_ENTER, &err);
        _cleanup_free_ char *target = NULL;
        r = c->spec->direction == WORKSPACE_CP_IN ? copy_in(c->spec, &target, &err)
                                                  : copy_out(c->spec, &target, &err);
        if (r < 0)
                return child_fail(c->sock, CP_STEP_COPY, &err);
        return sync_send_text(c->sock, CP_STEP_COPY, target) < 0;
}

/* Wait for the child, killing it when the request is cancelled. */
static int wait_child(pid_t pid, int pidfd, int cancel_fd)
{
        for (bool killed = false;;) {
                struct pollfd p[2] = { { pidfd, POLLIN, 0 }, { cancel_fd, POLLIN, 0 } };
                int n = poll(p, killed || cancel_fd < 0 ? 1 : 2, -1);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 || p[0].revents)
                        break;
                if (p[1].revents && !killed) {
                        (void) sys_pidfd_send_signal(pidfd, SIGKILL);
                        killed = true;
                }
        }
        return wait_for_exit(pid);
}

int workspace_engine_cp(Engine *eng, RunningWorkspace *rw, const WorkspaceCpSpec *spec, char **ret_target,
                        Error *err)
{
        if (!spec->path || spec->path[0] != '/')
                return error_set(err, EINVAL, "'%s' is not an absolute path in the workspace; write it as /home/...",
                                 spec->path ?: "");
        int pair[2];
        int r = sync_pair(pair);
        if (r < 0)
                return error_setc(err, -r, "creating the sync socket");
        _cleanup_close_ int sock = pair[0], child_sock = pair[1];
        CpChild child = { .pidfd = rw->proc.pidfd, .plan = eng->workspaces->plan, .spec = spec, .sock = child_sock };
        _cleanup_close_ int pidfd = -EBADF;
        NsClone a = { .flags = CLONE_PIDFD, .cgroup_fd = -EBADF, .ret_pidfd = &pidfd, .library = true };
        pid_t pid = ns_clone(&a, run_child, &child);
        if (pid < 0)
                return error_setc(err, errno, "starting the copy");
        child_sock = safe_close(child_sock);
        int status = wait_child(pid, pidfd, spec->cancel_fd);
        SyncMsg m;
        r = sync_recv(sock, &m, NULL, 0);
        if (r > 0 && m.error > 0)
                return sync_msg_error(&m, err);
        if (status == 0 && r > 0 && m.step == CP_STEP_COPY) {
                *ret_target = strdup(m.text[0] ? m.text : spec->path);
                return *ret_target ? 0 : error_set(err, ENOMEM, "out of memory");
        }
        return error_set(err, EIO, "the copy in workspace %s/%s ended with status %d", rw->sandbox, rw->name, status);
}
