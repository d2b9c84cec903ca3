#include "runtime/exec.h"

#include "base/syscalls.h"
#include "runtime/nsclone.h"
#include "runtime/sync.h"

#include <poll.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <termios.h>
#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/asan_interface.h>
#endif

#define EXEC_NS_FLAGS \
        (CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWCGROUP)
#define EXEC_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define EXEC_STACK_SIZE (128 * 1024)

/* Where a failure happened, for the exit status `exec` reports. */
enum {
        EXEC_STEP_JOIN = 1,    /* first helper: cgroup, namespaces, root, cwd, pty, starting the command */
        EXEC_STEP_COMMAND = 2, /* the command before exec: stdio, rlimits, hardening */
        EXEC_STEP_EXEC = 3,    /* execve itself: 127 when not found, 126 otherwise */
};

static char *const exec_default_env[] = {
        (char *) "PATH=" EXEC_DEFAULT_PATH,
        (char *) "HOME=/home",
        NULL,
};

/* Shared by the caller and both helpers (same memory until exec). The
 * helpers only write results here; the caller reads them once the
 * vfork-style clones have released it. */
typedef struct ExecShared {
        const ExecConfig *c;
        char *const *envp;
        const char *cwd_rel;    /* path below /home, "" for /home itself, NULL for / */
        char *stack_b;          /* the second helper's stack, EXEC_STACK_SIZE bytes */
        int procs_fd;           /* unified "cgroup.procs" when CLONE_INTO_CGROUP was refused */
        int pty_master;
        int pty_slave;
        int pidfd;
        pid_t pid;
        SyncMsg fail;           /* failure before exec (fail.error > 0) */
} ExecShared;

void exec_config_init(ExecConfig *c, int ws_pidfd, char *const *argv)
{
        *c = (ExecConfig) { .ws_pidfd = ws_pidfd, .argv = argv, .stdio = { -1, -1, -1 }, .cgroup_dir_fd = -EBADF };
}

static int shared_fail(ExecShared *s, uint32_t step, int errnum, const char *what, const char *arg)
{
        sync_msg_set_failure(&s->fail, step, errnum, what, arg);
        return 1;
}

static int fail_status(const SyncMsg *m)
{
        if (m->step != EXEC_STEP_EXEC)
                return EXEC_STATUS_FAILED;
        return m->error == ENOENT ? EXEC_STATUS_NOT_FOUND : EXEC_STATUS_CANNOT_EXECUTE;
}

/* ---- second helper: inside the workspace, becomes the command ---- */

static void reset_signals(void)
{
        struct sigaction dfl = { .sa_handler = SIG_DFL };
        for (int sig = 1; sig < NSIG; sig++)
                if (sig != SIGKILL && sig != SIGSTOP)
                        (void) sigaction(sig, &dfl, NULL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
}

static int setup_stdio(ExecShared *s)
{
        const ExecConfig *c = s->c;
        int fds[3];
        if (s->pty_slave >= 0) {
                if (setsid() < 0)
                        return shared_fail(s, EXEC_STEP_COMMAND, errno, "creating a session", NULL);
                if (ioctl(s->pty_slave, TIOCSCTTY, 0) < 0)
                        return shared_fail(s, EXEC_STEP_COMMAND, errno, "setting the controlling terminal", NULL);
                for (int i = 0; i < 3; i++)
                        fds[i] = s->pty_slave;
        } else
                for (int i = 0; i < 3; i++) {
                        fds[i] = c->stdio[i];
                        if (fds[i] < 0) {
                                fds[i] = open("/dev/null", O_RDWR | O_CLOEXEC | O_NOCTTY);
                                if (fds[i] < 0)
                                        return shared_fail(s, EXEC_STEP_COMMAND, errno, "opening", "/dev/null");
                        }
                }
        /* Move out of 0-2 first so no dup2 overwrites a later source. */
        for (int i = 0; i < 3; i++) {
                fds[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
                if (fds[i] < 0)
                        return shared_fail(s, EXEC_STEP_COMMAND, errno, "duplicating stdio", NULL);
        }
        for (int i = 0; i < 3; i++)
                if (dup2(fds[i], i) < 0)
                        return shared_fail(s, EXEC_STEP_COMMAND, errno, "setting up stdio", NULL);
        if (sys_close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
                return shared_fail(s, EXEC_STEP_COMMAND, errno, "marking descriptors close-on-exec", NULL);
        return 0;
}

static const char *env_path(char *const *envp)
{
        for (char *const *e = envp; *e; e++)
                if (strncmp(*e, "PATH=", 5) == 0)
                        return *e + 5;
        return EXEC_DEFAULT_PATH;
}

/* execvpe() semantics with the PATH of the command's environment
 * (glibc's looks at the caller's). Returns the errno that decides the
 * exit status: ENOENT -> 127, anything else -> 126. */
static int exec_search(char *const *argv, char *const *envp)
{
        const char *file = argv[0];
        if (strchr(file, '/')) {
                execve(file, argv, envp);
                return errno;
        }
        bool eacces = false;
        char buf[PATH_MAX];
        size_t fl = strlen(file);
        for (const char *p = env_path(envp);;) {
                const char *colon = strchrnul(p, ':');
                size_t dl = (size_t) (colon - p);
                if (dl == 0) {
                        dl = 1;
                        p = ".";
                }
                if (dl + 1 + fl + 1 <= sizeof buf) {
                        memcpy(buf, p, dl);
                        buf[dl] = '/';
                        memcpy(buf + dl + 1, file, fl + 1);
                        execve(buf, argv, envp);
                        if (errno == EACCES)
                                eacces = true;
                        else if (errno != ENOENT && errno != ENOTDIR)
                                return errno;
                }
                if (*colon == 0)
                        break;
                p = colon + 1;
        }
        return eacces ? EACCES : ENOENT;
}

/* Returning from a clone() function exits the (single-threaded)
 * process with that status; no noreturn call on this foreign stack. */
static int helper_command(void *arg)
{
        ExecShared *s = arg;
        reset_signals();
        if (setup_stdio(s))
                return EXEC_STATUS_FAILED;
        const char *what = NULL;
        if (s->c->limits) {
                int r = rlimits_apply_full(s->c->limits, s->c->cpu_seed, &what);
                if (r < 0) {
                        shared_fail(s, EXEC_STEP_COMMAND, -r, "setting resource limit", what);
                        return EXEC_STATUS_FAILED;
                }
        }
        /* Last step before exec, as for the workspace's init. */
        if (s->c->hardening) {
                int r = hardening_apply_final_full(s->c->hardening, &what);
                if (r < 0) {
                        shared_fail(s, EXEC_STEP_COMMAND, -r, what ? what : "dropping privileges", NULL);
                        return EXEC_STATUS_FAILED;
                }
        }
        int e = exec_search(s->c->argv, s->envp);
        shared_fail(s, EXEC_STEP_EXEC, e, "executing", s->c->argv[0]);
        return fail_status(&s->fail);
}

/* ---- first helper: joins the workspace, forks the command ---- */

/* Before setns, as the host's root in the host's cgroup namespace. The
 * helper is a single-threaded process moving itself through v1 "tasks",
 * which skips the kernel's global threadgroup lock (see
 * cgroup_open_join_fds()); the command inherits the groups. */
static int join_cgroups(ExecShared *s)
{
        for (size_t i = 0; i < s->c->n_cgroup_join_fds; i++)
                if (pwrite(s->c->cgroup_join_fds[i], "0", 1, 0) != 1)
                        return shared_fail(s, EXEC_STEP_JOIN, errno, "joining the workspace cgroup", NULL);
        if (s->procs_fd >= 0 && pwrite(s->procs_fd, "0", 1, 0) != 1)
                return shared_fail(s, EXEC_STEP_JOIN, errno, "joining the workspace cgroup", NULL);
        return 0;
}

static int become_root(ExecShared *s)
{
        if (sys_setresgid(0, 0, 0) < 0 || sys_setgroups(0, NULL) < 0 || sys_setresuid(0, 0, 0) < 0)
                return shared_fail(s, EXEC_STEP_JOIN, errno, "switching to the workspace's root", NULL);
        return 0;
}

/* cwd is resolved inside the workspace: /home from its root, the rest
 * strictly beneath /home (no "..", no absolute or magic symlinks). */
static int enter_cwd(ExecShared *s)
{
        if (!s->cwd_rel)
                return chdir("/") < 0 ? shared_fail(s, EXEC_STEP_JOIN, errno, "changing to", "/") : 0;
        int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root < 0)
                return shared_fail(s, EXEC_STEP_JOIN, errno, "opening the workspace root", NULL);
        int home = sys_openat2(root, "home", O_PATH | O_DIRECTORY | O_CLOEXEC,
                               RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
        int e = errno;
        close(root);
        if (home < 0)
                return shared_fail(s, EXEC_STEP_JOIN, e, "opening", "/home");
        int dir = home;
        if (s->cwd_rel[0]) {
                dir = sys_openat2(home, s->cwd_rel, O_PATH | O_DIRECTORY | O_CLOEXEC,
                                  RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS);
                e = errno;
                close(home);
                if (dir < 0)
                        return shared_fail(s, EXEC_STEP_JOIN, e,
                                           e == EXDEV ? "working directory leaves /home:" : "opening working directory",
                                           s->c->cwd);
        }
        int r = fchdir(dir);
        e = errno;
        close(dir);
        if (r < 0)
                return shared_fail(s, EXEC_STEP_JOIN, e, "changing to", s->c->cwd);
        return 0;
}

static int open_pty(ExecShared *s)
{
        int m = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (m < 0)
                return shared_fail(s, EXEC_STEP_JOIN, errno, "opening the workspace's", "/dev/ptmx");
        s->pty_master = m;
        int unlock = 0;
        if (ioctl(m, TIOCSPTLCK, &unlock) < 0)
                return shared_fail(s, EXEC_STEP_JOIN, errno, "unlocking the pty", NULL);
        if (s->c->rows && s->c->cols) {
                struct winsize ws = { .ws_row = s->c->rows, .ws_col = s->c->cols };
                (void) ioctl(m, TIOCSWINSZ, &ws);
        }
        /* The peer by fd, not by a path that could be swapped. */
        int sl = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (sl < 0)
                return shared_fail(s, EXEC_STEP_JOIN, errno, "opening the pty peer", NULL);
        s->pty_slave = sl;
        return 0;
}

static int helper_join(void *arg)
{
        ExecShared *s = arg;
        if (join_cgroups(s))
                return 1;
        /* Still host root: the daemon's own value (systemd may shield
         * it) is not the command's. */
        int r = rlimits_oom_score_reset(0);
        if (r < 0)
                return shared_fail(s, EXEC_STEP_JOIN, -r, "setting oom_score_adj", NULL);
        if (sys_setns(s->c->ws_pidfd, EXEC_NS_FLAGS) < 0)
                return shared_fail(s, EXEC_STEP_JOIN, errno, "entering the workspace's namespaces", NULL);
        if (become_root(s) || enter_cwd(s))
                return 1;
        if (s->c->pty && open_pty(s))
                return 1;
        /* CLONE_PARENT: the command is the caller's child, so the caller
         * can reap it and read its status. It shares this memory until
         * exec (CLONE_VM|CLONE_VFORK); its fd table is its own. */
        NsClone a = {
                .flags = CLONE_VM | CLONE_VFORK | CLONE_PARENT | CLONE_PIDFD,
                .cgroup_fd = -EBADF,
                .ret_pidfd = &s->pidfd,
                .stack = s->stack_b,
                .stack_size = EXEC_STACK_SIZE,
        };
        pid_t pid = ns_clone(&a, helper_command, s);
        if (pid < 0)
                return shared_fail(s, EXEC_STEP_JOIN, errno, "starting the command", NULL);
        s->pid = pid;
        return 0;
}

/* ---- caller ---- */

/* The first helper, born in the workspace's unified cgroup when the
 * kernel allows (CLONE_INTO_CGROUP costs nothing, unlike a move through
 * cgroup.procs, which waits for the kernel's global threadgroup lock).
 * Otherwise it joins that group too by writing "0" to its cgroup.procs
 * (*procs_fd, opened here for the caller to close). */
static pid_t clone_helper(ExecShared *s, char *stack, size_t stack_size, int *procs_fd)
{
        NsClone a = {
                .flags = CLONE_VM | CLONE_VFORK | CLONE_FILES,
                .cgroup_fd = s->c->cgroup_dir_fd,
                .stack = stack,
                .stack_size = stack_size,
        };
        if (a.cgroup_fd >= 0) {
                pid_t pid = ns_clone(&a, helper_join, s);
                if (pid >= 0 || !ns_clone_cgroup_refused(errno))
                        return pid;
                *procs_fd = openat(a.cgroup_fd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
                if (*procs_fd < 0)
                        return -1;
                s->procs_fd = *procs_fd;
                a.cgroup_fd = -EBADF;
        }
        return ns_clone(&a, helper_join, s);
}

static int check_cwd(const char *cwd, const char **ret_rel, Error *err)
{
        const char *rest = strncmp(cwd, "/home", 5) == 0 ? cwd + 5 : NULL;
        if (!rest || (*rest && *rest != '/'))
                return error_set(err, EINVAL, "working directory %s is outside /home; give --cwd /home or a "
                                 "directory below it", cwd);
        while (*rest == '/')
                rest++;
        *ret_rel = rest;
        return 0;
}

static void reap_pidfd(int pidfd)
{
        siginfo_t si;
        while (waitid((idtype_t) P_PIDFD, (id_t) pidfd, &si, WEXITED) < 0 && errno == EINTR)
                ;
}

int workspace_exec(const ExecConfig *c, ExecProcess *ret, int *ret_status, Error *err)
{
        if (ret_status)
                *ret_status = EXEC_STATUS_FAILED;
        if (c->ws_pidfd < 0)
                return error_set(err, EBADF, "workspace is not running");
        if (!c->argv || !c->argv[0] || !c->argv[0][0])
                return error_set(err, EINVAL, "no command given");
        ExecShared s = {
                .c = c,
                .envp = c->env ? c->env : exec_default_env,
                .cwd_rel = "",
                .pty_master = -EBADF,
                .pty_slave = -EBADF,
                .pidfd = -EBADF,
                .procs_fd = -EBADF,
        };
        int r = c->cwd_root ? 0 : check_cwd(c->cwd ? c->cwd : "/home", &s.cwd_rel, err);
        if (r < 0)
                return r;
        if (c->cwd_root)
                s.cwd_rel = NULL;

        char *stack = mmap(NULL, 2 * EXEC_STACK_SIZE, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
        if (stack == MAP_FAILED)
                return error_setc(err, errno, "allocating helper stacks");
#ifdef __SANITIZE_ADDRESS__
        /* The helpers' frames end in exec and never return, so ASan's
         * redzones of them stay in the shadow of these addresses, where
         * the next mapping may land: start from a clean shadow. */
        ASAN_UNPOISON_MEMORY_REGION(stack, 2 * EXEC_STACK_SIZE);
#endif
        s.stack_b = stack;

        /* The helpers share this memory while they hold workspace
         * credentials: nothing inside may ptrace or read it. */
        (void) prctl(PR_SET_DUMPABLE, 0);
        /* CLONE_FILES: the pidfd and pty master the helper opens land in
         * the caller's fd table. Not CLONE_FS: setns needs its own. */
        int procs_fd = -EBADF;
        pid_t helper = clone_helper(&s, stack + EXEC_STACK_SIZE, EXEC_STACK_SIZE, &procs_fd);
        int e = errno;
        if (helper > 0)
                (void) waitpid(helper, NULL, 0);
        munmap(stack, 2 * EXEC_STACK_SIZE);
        safe_close(procs_fd);
        safe_close(s.pty_slave);
        if (helper < 0) {
                safe_close(s.pty_master);
                return error_setc(err, e, "starting the exec helper");
        }

        if (s.fail.error > 0) {
                if (s.pidfd >= 0) {
                        /* The command failed before or at exec and has exited. */
                        reap_pidfd(s.pidfd);
                        safe_close(s.pidfd);
                }
                safe_close(s.pty_master);
                if (ret_status)
                        *ret_status = fail_status(&s.fail);
                return sync_msg_error(&s.fail, err);
        }
        if (s.pidfd < 0) {
                safe_close(s.pty_master);
                return error_set(err, EIO, "exec helper exited without starting the command");
        }
        *ret = (ExecProcess) { .pid = s.pid, .pidfd = s.pidfd, .pty_master = s.pty_master };
        return 0;
}

int exec_process_wait(ExecProcess *p)
{
        if (p->pidfd < 0)
                return -EBADF;
        siginfo_t si = { 0 };
        for (;;) {
                if (waitid((idtype_t) P_PIDFD, (id_t) p->pidfd, &si, WEXITED) == 0)
                        break;
                if (errno != EINTR)
                        return -errno;
        }
        p->pid = 0;
        if (si.si_code == CLD_EXITED)
                return si.si_status;
        return 128 + si.si_status;
}

int exec_process_wait_cancellable(ExecProcess *p, int cancel_fd)
{
        for (bool killed = false;;) {
                struct pollfd fds[2] = { { p->pidfd, POLLIN, 0 }, { cancel_fd, POLLIN, 0 } };
                int n = poll(fds, killed || cancel_fd < 0 ? 1 : 2, -1);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (fds[0].revents)
                        return exec_process_wait(p);
                if (!killed && fds[1].revents) {
                        (void) sys_pidfd_send_signal(p->pidfd, SIGKILL);
                        killed = true;
                }
        }
}

void exec_process_done(ExecProcess *p)
{
        p->pidfd = safe_close(p->pidfd);
        p->pty_master = safe_close(p->pty_master);
}
