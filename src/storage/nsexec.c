#include "storage/nsexec.h"

#include "base/process.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <linux/mount.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#define LINE_MAX_LEN 4096

/* The kernel's clone_args, version 0 (64 bytes). */
struct clone_args_v0 {
        uint64_t flags;
        uint64_t pidfd;
        uint64_t child_tid;
        uint64_t parent_tid;
        uint64_t exit_signal;
        uint64_t stack;
        uint64_t stack_size;
        uint64_t tls;
};

/* fork()-like clone3 without glibc's atfork handlers: the caller may be
 * multi-threaded, and the child only makes syscalls before execve. */
static pid_t raw_clone(uint64_t flags, int *ret_pidfd)
{
        struct clone_args_v0 a = {
                .flags = flags | (ret_pidfd ? CLONE_PIDFD : 0),
                .pidfd = (uint64_t) (uintptr_t) ret_pidfd,
                .exit_signal = SIGCHLD,
        };
        return (pid_t) syscall(SYS_clone3, &a, sizeof a);
}

/* What the namespace's first process reports when a step fails. */
typedef struct ChildError {
        int error;
        char step[120];
} ChildError;

_noreturn_ static void child_fail(int errfd, const char *step, int code)
{
        ChildError e = { .error = errno };
        size_t i = 0;
        for (; step[i] && i < sizeof e.step - 1; i++)
                e.step[i] = step[i];
        e.step[i] = 0;
        (void) !write(errfd, &e, sizeof e);
        _exit(code);
}

#define CHECK(expr, step)                               \
        do {                                            \
                if ((expr) < 0)                         \
                        child_fail(errfd, step, 125);   \
        } while (0)

static void ensure_dir(const char *path, mode_t mode)
{
        (void) mkdir(path, mode);
}

/* Host objects the namespace needs, captured as detached mounts before
 * pivot_root (afterwards the host tree is gone). With a user namespace
 * no device node can be created, so the nodes are bind mounts of the
 * host's, and /proc must be made while the host's /proc is visible. */
static const char *const dev_nodes[] = { "null", "zero", "full", "random", "urandom", "tty" };

typedef struct HostMounts {
        int proc, sys, resolv;
        int dev[ELEMENTSOF(dev_nodes)];
} HostMounts;

static int clone_tree(const char *path, bool recursive, unsigned attrs)
{
        int fd = open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0));
        if (fd < 0)
                return -1;
        struct mount_attr a = { .attr_set = attrs };
        if (attrs && mount_setattr(fd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &a, sizeof a) < 0) {
                close(fd);
                return -1;
        }
        return fd;
}

static void capture_host(HostMounts *h, int errfd)
{
        int fs = fsopen("proc", FSOPEN_CLOEXEC);
        CHECK(fs, "creating /proc");
        CHECK(fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0), "creating /proc");
        h->proc = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
        CHECK(h->proc, "creating /proc");
        close(fs);
        h->sys = clone_tree("/sys", true, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
        CHECK(h->sys, "binding /sys");
        for (size_t i = 0; i < ELEMENTSOF(dev_nodes); i++) {
                char path[32] = "/dev/";
                for (size_t k = 0; dev_nodes[i][k]; k++)
                        path[5 + k] = dev_nodes[i][k];
                h->dev[i] = clone_tree(path, false, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC);
                CHECK(h->dev[i], "binding device nodes");
        }
        /* No resolver on the host is not an error: setup just has no DNS. */
        h->resolv = clone_tree("/etc/resolv.conf", false, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
}

static void attach(int errfd, int tree_fd, const char *target, const char *step)
{
        CHECK(move_mount(tree_fd, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH), step);
        close(tree_fd);
}

static void make_dev(const HostMounts *h, int errfd)
{
        ensure_dir("/dev", 0755);
        CHECK(mount("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=4m"),
              "mounting a tmpfs on /dev");
        for (size_t i = 0; i < ELEMENTSOF(dev_nodes); i++) {
                char path[32] = "/dev/";
                for (size_t k = 0; dev_nodes[i][k]; k++)
                        path[5 + k] = dev_nodes[i][k];
                int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
                CHECK(fd, "creating device nodes in /dev");
                close(fd);
                attach(errfd, h->dev[i], path, "binding device nodes");
        }
        ensure_dir("/dev/pts", 0755);
        CHECK(mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620"),
              "mounting /dev/pts");
        CHECK(symlink("pts/ptmx", "/dev/ptmx"), "creating /dev/ptmx");
        ensure_dir("/dev/shm", 01777);
        CHECK(mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777"), "mounting /dev/shm");
        CHECK(symlink("/proc/self/fd", "/dev/fd"), "creating /dev/fd");
        CHECK(symlink("/proc/self/fd/0", "/dev/stdin"), "creating /dev/stdin");
        CHECK(symlink("/proc/self/fd/1", "/dev/stdout"), "creating /dev/stdout");
        CHECK(symlink("/proc/self/fd/2", "/dev/stderr"), "creating /dev/stderr");
}

/* The host's resolver configuration, read-only over the rootfs's. The
 * target is resolved after pivot_root, so a symlink in the rootfs
 * stays inside it. A rootfs without /etc gets no resolver. */
static void bind_resolv_conf(int errfd, int tree_fd)
{
        if (tree_fd < 0)
                return;
        int fd = open("/etc/resolv.conf", O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
        if (fd < 0) {
                close(tree_fd);
                return;
        }
        close(fd);
        attach(errfd, tree_fd, "/etc/resolv.conf", "bind-mounting the host's /etc/resolv.conf");
}

/* Everything below happens in the private mount namespace; every
 * target is resolved after pivot_root, inside the rootfs. */
static void enter_rootfs(const NsExecSpec *s, int errfd)
{
        HostMounts h;
        capture_host(&h, errfd);
        CHECK(mount(s->rootfs, s->rootfs, NULL, MS_BIND | MS_REC, NULL), "bind-mounting the rootfs");
        CHECK(chdir(s->rootfs), "entering the rootfs");
        CHECK(syscall(SYS_pivot_root, ".", "."), "pivot_root into the rootfs");
        /* The old root is stacked over the new one: detach it. */
        CHECK(umount2(".", MNT_DETACH), "detaching the host's root");
        CHECK(chdir("/"), "entering the rootfs");
        ensure_dir("/proc", 0555);
        attach(errfd, h.proc, "/proc", "mounting /proc");
        ensure_dir("/sys", 0555);
        attach(errfd, h.sys, "/sys", "mounting /sys");
        make_dev(&h, errfd);
        bind_resolv_conf(errfd, h.resolv);
}

_noreturn_ static void exec_program(const NsExecSpec *s, int outfd, int errfd)
{
        int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(outfd, 1) < 0 || dup2(outfd, 2) < 0)
                child_fail(errfd, "setting up standard input and output", 125);
        (void) setsid();
        const char *cwd = s->cwd ? s->cwd : (s->rootfs ? "/" : NULL);
        if (cwd && chdir(cwd) < 0)
                child_fail(errfd, "changing to the working directory", 125);
        execve(s->argv[0], (char *const *) s->argv, (char *const *) s->envp);
        child_fail(errfd, "executing the program", errno == ENOENT ? 127 : 126);
}

/* The first process of the new PID namespace. */
_noreturn_ static void namespace_init(const NsExecSpec *s, int outfd, int errfd, int syncfd)
{
        (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
        (void) prctl(PR_SET_NAME, "enclave-nsinit");
        /* Wait until the parent has written the id maps. */
        char go;
        if (read(syncfd, &go, 1) != 1)
                _exit(125);
        close(syncfd);
        /* Before any mount: nothing below may propagate to the host. */
        CHECK(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), "making mounts private");
        if (s->rootfs)
                enter_rootfs(s, errfd);
        else
                CHECK(mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL),
                      "mounting /proc");
        if (s->hostname)
                CHECK(sethostname(s->hostname, strlen(s->hostname)), "setting the hostname");

        pid_t main_pid = raw_clone(0, NULL);
        if (main_pid < 0)
                child_fail(errfd, "starting the program", 125);
        if (main_pid == 0)
                exec_program(s, outfd, errfd);
        close(outfd);
        for (;;) {
                int status;
                pid_t p = waitpid(-1, &status, 0);
                if (p < 0 && errno == EINTR)
                        continue;
                if (p < 0)
                        _exit(125);
                if (p != main_pid)
                        continue;
                /* Leaving kills the rest of the namespace. */
                if (WIFEXITED(status))
                        _exit(WEXITSTATUS(status));
                _exit(128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0));
        }
}

/* Every id maps to itself: files keep their real owners on disk, while
 * the capabilities of "root" inside stop at the namespace. */
static int write_identity_maps(pid_t pid)
{
        static const char map[] = "0 0 4294967295\n";
        const char *files[] = { "uid_map", "gid_map" };
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                char path[64];
                snprintf(path, sizeof path, "/proc/%d/%s", (int) pid, files[i]);
                _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
                if (fd < 0)
                        return -errno;
                if (write(fd, map, sizeof map - 1) != (ssize_t) (sizeof map - 1))
                        return -errno;
        }
        return 0;
}

typedef struct LineSplitter {
        char buf[LINE_MAX_LEN + 1];
        size_t len;
        NsExecLineFn fn;
        void *userdata;
} LineSplitter;

static int emit_line(LineSplitter *ls)
{
        ls->buf[ls->len] = 0;
        ls->len = 0;
        return ls->fn ? ls->fn(ls->buf, ls->userdata) : 0;
}

/* Lines end at \n or \r (progress bars redraw with \r); empty lines
 * made by \r\n are dropped, other empty lines kept. */
static int feed(LineSplitter *ls, const char *data, size_t n, bool *last_cr)
{
        for (size_t i = 0; i < n; i++) {
                char ch = data[i];
                if (ch == '\n' || ch == '\r') {
                        bool skip = ch == '\n' && *last_cr && ls->len == 0;
                        *last_cr = ch == '\r';
                        if (skip)
                                continue;
                        if (emit_line(ls) < 0)
                                return -ECANCELED;
                        continue;
                }
                *last_cr = false;
                ls->buf[ls->len++] = ch;
                if (ls->len == LINE_MAX_LEN && emit_line(ls) < 0)
                        return -ECANCELED;
        }
        return 0;
}

static int pump_output(int outfd, int pidfd, LineSplitter *ls, const StorageMonitor *mon)
{
        char chunk[8192];
        bool out_open = true, exited = false, last_cr = false;
        while (out_open || !exited) {
                struct pollfd p[2] = {
                        { .fd = out_open ? outfd : -1, .events = POLLIN },
                        { .fd = exited ? -1 : pidfd, .events = POLLIN },
                };
                if (storage_monitor_cancelled(mon))
                        return -ECANCELED;
                int n = poll(p, 2, 200);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (p[1].revents)
                        exited = true;
                if (!out_open || !p[0].revents)
                        continue;
                ssize_t k = read(outfd, chunk, sizeof chunk);
                if (k < 0) {
                        if (errno == EINTR || errno == EAGAIN)
                                continue;
                        return -errno;
                }
                if (k == 0) {
                        out_open = false;
                        if (ls->len > 0 && emit_line(ls) < 0)
                                return -ECANCELED;
                        continue;
                }
                int r = feed(ls, chunk, (size_t) k, &last_cr);
                if (r < 0)
                        return r;
        }
        return 0;
}

int nsexec_run(const NsExecSpec *spec, NsExecLineFn on_line, void *userdata,
               const StorageMonitor *mon, int *ret_status, Error *err)
{
        if (!spec->argv || !spec->argv[0] || spec->argv[0][0] != '/')
                return error_set(err, EINVAL, "program path must be absolute");
        int out[2], errp[2], syncp[2];
        if (pipe2(syncp, O_CLOEXEC) < 0)
                return error_setc(err, errno, "creating sync pipe");
        _cleanup_close_ int sync_r = syncp[0], sync_w = syncp[1];
        if (pipe2(out, O_CLOEXEC) < 0)
                return error_setc(err, errno, "creating output pipe");
        _cleanup_close_ int out_r = out[0], out_w = out[1];
        if (pipe2(errp, O_CLOEXEC) < 0)
                return error_setc(err, errno, "creating status pipe");
        _cleanup_close_ int err_r = errp[0], err_w = errp[1];

        uint64_t flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | (spec->hostname ? CLONE_NEWUTS : 0) |
                         (spec->user_ns ? CLONE_NEWUSER : 0);
        int pidfd_raw = -1;
        _cleanup_pid_ pid_t pid = raw_clone(flags, &pidfd_raw);
        if (pid < 0)
                return error_setc(err, errno, "creating namespaces");
        if (pid == 0) {
                close(out_r);
                close(err_r);
                close(sync_w);
                namespace_init(spec, out_w, err_w, sync_r);
        }
        _cleanup_close_ int pidfd = pidfd_raw;
        out_w = safe_close(out_w);
        err_w = safe_close(err_w);
        sync_r = safe_close(sync_r);
        if (spec->user_ns) {
                int r = write_identity_maps(pid);
                if (r < 0)
                        return error_setc(err, -r, "writing the id maps of the setup user namespace");
        }
        if (write(sync_w, "g", 1) != 1)
                return error_setc(err, errno, "starting the namespace");
        sync_w = safe_close(sync_w);

        LineSplitter *ls = malloc(sizeof *ls);
        if (!ls)
                return error_set(err, ENOMEM, "out of memory");
        *ls = (LineSplitter) { .fn = on_line, .userdata = userdata };
        int r = pump_output(out_r, pidfd, ls, mon);
        free(ls);
        if (r == -ECANCELED)
                return error_set(err, ECANCELED, "cancelled");
        if (r < 0)
                return error_setc(err, -r, "reading program output");

        int status = wait_for_exit(pid);
        pid = 0;
        if (status < 0)
                return error_setc(err, -status, "waiting for the program");

        ChildError ce;
        ssize_t n = read(err_r, &ce, sizeof ce);
        if (n == (ssize_t) sizeof ce) {
                ce.step[sizeof ce.step - 1] = 0;
                return error_setc(err, ce.error ? ce.error : EIO, "%s%s%s", ce.step,
                                  streq(ce.step, "executing the program") ? " " : "",
                                  streq(ce.step, "executing the program") ? spec->argv[0] : "");
        }
        *ret_status = status;
        return 0;
}
