#include "runtime/spawn.h"

#include "base/fs.h"
#include "base/log.h"
#include "base/process.h"
#include "base/str.h"
#include "base/syscalls.h"
#include "runtime/hostdir.h"
#include "runtime/idmap.h"
#include "runtime/idrange.h"
#include "runtime/log-files.h"
#include "runtime/logs.h"
#include "runtime/nsclone.h"
#include "runtime/rootfs.h"
#include "runtime/sync.h"

#include <sched.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/wait.h>

/* Sync steps (docs/runtime.md). Failures carry the stage they hit. */
enum {
        SPAWN_STEP_GO = 1,   /* parent -> child: maps written, hook done; fds: root, home */
        SPAWN_STEP_EXEC = 2, /* child -> parent: set up, exec of init follows */
        SPAWN_STAGE_CREDS = 10,
        SPAWN_STAGE_ROOT = 11,
        SPAWN_STAGE_HARDEN = 12,
        SPAWN_STAGE_FDS = 13,
        SPAWN_STAGE_EXEC = 14,
        SPAWN_STAGE_CGROUP = 15,
};

#define SPAWN_CLONE_FLAGS \
        (CLONE_PIDFD | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWUTS | CLONE_NEWIPC)

/* Where init finds its log descriptors (passed as --log-fds=3,4,5) and
 * its restart state file (--state-fd=6). */
#define INIT_LOG_FD_FIRST 3
#define INIT_STATE_FD 6

static char *const default_env[] = {
        (char *) "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        (char *) "HOME=/home",
        NULL,
};

/* Everything the child needs, prepared before clone3: the child works
 * on its copy and never allocates. */
typedef struct SpawnChild {
        int parent_sock; /* the parent's end, closed first */
        int sock;
        int init_fd;
        int log_fds[3];
        int state_fd;
        NewRootSpec root;
        char *const *argv;
        char *const *envp;
        const HardeningPlan *hardening;
        const Limits *limits;     /* affinity already done: no cpu_percent */
        bool die_with_caller;
        int cgroup_fds[CGROUP_HIERARCHIES_MAX]; /* joined with "0" (cgroup_open_join_fds) */
        /* root.cgroup_views[].fd are inherited too (kept open) */
        const char *cgroup_paths[CGROUP_HIERARCHIES_MAX];
        size_t n_cgroup_fds;
} SpawnChild;

/* ---- init binary ---- */

static int copy_into(int dst, int src, off_t size)
{
        off_t off = 0;
        while (off < size) {
                ssize_t n = sendfile(dst, src, &off, (size_t) (size - off));
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        return -EIO;
        }
        return 0;
}

int workspace_init_open(const char *path, Error *err)
{
        _cleanup_close_ int src = open(path, O_RDONLY | O_CLOEXEC);
        if (src < 0)
                return error_setc(err, errno, "opening the workspace init %s", path);
        struct stat st;
        if (fstat(src, &st) < 0)
                return error_setc(err, errno, "checking %s", path);
        if (!S_ISREG(st.st_mode) || !(st.st_mode & 0111))
                return error_set(err, EACCES, "%s is not an executable file", path);
        _cleanup_close_ int mfd = memfd_create("enclave-init", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
        if (mfd < 0 && errno == EINVAL)
                mfd = memfd_create("enclave-init", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (mfd < 0)
                return error_setc(err, errno, "creating a memfd for the workspace init");
        int r = copy_into(mfd, src, st.st_size);
        if (r < 0)
                return error_setc(err, -r, "copying %s into a memfd", path);
        /* Execute-only for everyone but host root: a workspace cannot
         * read it, so the kernel makes every init non-dumpable at exec and
         * ties its memory to the host's user namespace. No workspace
         * process may then ptrace init or open /proc/1/mem or /proc/1/fd. */
        if (fchmod(mfd, 0111) < 0)
                return error_setc(err, errno, "making the workspace init memfd execute-only");
        if (fcntl(mfd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) < 0)
                return error_setc(err, errno, "sealing the workspace init memfd");
        /* exec refuses a file that is open for writing: keep only a
         * read-only descriptor of the sealed memfd. */
        char p[64];
        snprintf(p, sizeof p, "/proc/self/fd/%d", mfd);
        int ro = open(p, O_RDONLY | O_CLOEXEC);
        if (ro < 0)
                return error_setc(err, errno, "reopening the workspace init memfd read-only");
        return ro;
}

/* ---- child ---- */

_noreturn_ static void child_fail(int sock, uint32_t stage, int errnum, const char *what, const char *arg)
{
        sync_send_failure(sock, stage, errnum, what, arg);
        _exit(125);
}

static void reset_signal_dispositions(void)
{
        struct sigaction dfl = { .sa_handler = SIG_DFL };
        for (int sig = 1; sig < NSIG; sig++)
                if (sig != SIGKILL && sig != SIGSTOP)
                        (void) sigaction(sig, &dfl, NULL);
}

/* Root of the new user namespace (host uid_base), no supplementary
 * groups of the daemon. Raw syscalls: see syscalls.h. */
static void become_workspace_root(int sock)
{
        if (sys_setresgid(0, 0, 0) < 0)
                child_fail(sock, SPAWN_STAGE_CREDS, errno, "switching to gid 0 of the workspace", NULL);
        if (sys_setgroups(0, NULL) < 0)
                child_fail(sock, SPAWN_STAGE_CREDS, errno, "dropping supplementary groups", NULL);
        if (sys_setresuid(0, 0, 0) < 0)
                child_fail(sock, SPAWN_STAGE_CREDS, errno, "switching to uid 0 of the workspace", NULL);
}

/* Before the cgroup namespace exists, so the workspace's group is its
 * root. A single-threaded process moving itself: see
 * cgroup_open_join_fds(). */
static void join_cgroups(SpawnChild *c)
{
        for (size_t i = 0; i < c->n_cgroup_fds; i++) {
                if (write(c->cgroup_fds[i], "0", 1) != 1)
                        child_fail(c->sock, SPAWN_STAGE_CGROUP, errno, "joining cgroup", c->cgroup_paths[i]);
                close(c->cgroup_fds[i]);
        }
}

static int dup_high(int fd)
{
        int n = fcntl(fd, F_DUPFD_CLOEXEC, 10);
        if (n >= 0)
                close(fd);
        return n;
}

/* 0-2: /dev/null of the workspace; 3-5: the log files; 6: the restart
 * state; everything else close-on-exec (a stray fd without O_CLOEXEC
 * must not reach init). */
static void arrange_fds(SpawnChild *c)
{
        c->sock = dup_high(c->sock);
        if (c->sock < 0)
                _exit(125);
        c->init_fd = dup_high(c->init_fd);
        if (c->init_fd < 0)
                child_fail(c->sock, SPAWN_STAGE_FDS, errno, "moving the init descriptor", NULL);
        for (int i = 0; i < 3; i++) {
                c->log_fds[i] = dup_high(c->log_fds[i]);
                if (c->log_fds[i] < 0)
                        child_fail(c->sock, SPAWN_STAGE_FDS, errno, "moving the log descriptors", NULL);
        }
        c->state_fd = dup_high(c->state_fd);
        if (c->state_fd < 0)
                child_fail(c->sock, SPAWN_STAGE_FDS, errno, "moving the state descriptor", NULL);
        int null = open("/dev/null", O_RDWR | O_CLOEXEC | O_NOCTTY);
        if (null < 0 || (null = dup_high(null)) < 0)
                child_fail(c->sock, SPAWN_STAGE_FDS, errno, "opening", "/dev/null");
        for (int i = 0; i < 3; i++)
                if (dup2(null, i) < 0)
                        child_fail(c->sock, SPAWN_STAGE_FDS, errno, "setting up stdio of init", NULL);
        close(null);
        for (int i = 0; i < 3; i++) {
                if (dup2(c->log_fds[i], INIT_LOG_FD_FIRST + i) < 0)
                        child_fail(c->sock, SPAWN_STAGE_FDS, errno, "passing the log descriptors", NULL);
                close(c->log_fds[i]);
        }
        if (dup2(c->state_fd, INIT_STATE_FD) < 0)
                child_fail(c->sock, SPAWN_STAGE_FDS, errno, "passing the state descriptor", NULL);
        close(c->state_fd);
        if (sys_close_range(INIT_STATE_FD + 1, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
                child_fail(c->sock, SPAWN_STAGE_FDS, errno, "marking descriptors close-on-exec", NULL);
}

/* Close every inherited descriptor of the daemon except stdio and
 * those in keep[]: none of them has any business in a process that is
 * about to become the workspace (O_CLOEXEC would only act at exec). */
static void close_all_except(int *keep, size_t n)
{
        for (size_t i = 1; i < n; i++)
                for (size_t j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
                        int t = keep[j];
                        keep[j] = keep[j - 1];
                        keep[j - 1] = t;
                }
        unsigned from = 3;
        for (size_t i = 0; i < n; i++) {
                if (keep[i] < 3)
                        continue;
                if ((unsigned) keep[i] > from)
                        (void) sys_close_range(from, (unsigned) keep[i] - 1, 0);
                from = (unsigned) keep[i] + 1;
        }
        (void) sys_close_range(from, ~0U, 0);
}

_noreturn_ static void child_main(SpawnChild *c)
{
        int keep[6 + 2 * CGROUP_HIERARCHIES_MAX] = { c->sock,       c->init_fd,   c->log_fds[0],
                                                     c->log_fds[1], c->log_fds[2], c->state_fd };
        size_t n_keep = 6;
        for (size_t i = 0; i < c->n_cgroup_fds; i++)
                keep[n_keep++] = c->cgroup_fds[i];
        for (size_t i = 0; i < c->root.n_cgroup_views; i++)
                keep[n_keep++] = c->root.cgroup_views[i].fd;
        close_all_except(keep, n_keep);
        reset_signal_dispositions();
        /* Die with the spawning thread while setting up; cleared before
         * exec, since init must outlive the daemon. */
        (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
        umask(022);

        SyncMsg m;
        int fds[3];
        int r = sync_recv(c->sock, &m, fds, 3);
        if (r <= 0 || m.step != SPAWN_STEP_GO || fds[0] < 0)
                _exit(125); /* parent gave up; it reports why */
        c->root.root_fd = fds[0];
        c->root.home_fd = fds[1];
        c->root.tmp_fd = fds[2];

        join_cgroups(c);
        become_workspace_root(c->sock);
        /* After joining the workspace's cgroup (and after the prepare
         * hook, which may have moved us), so that cgroup is the root of
         * the new cgroup namespace. */
        if (unshare(CLONE_NEWCGROUP) < 0)
                child_fail(c->sock, SPAWN_STAGE_CREDS, errno, "creating the cgroup namespace", NULL);

        SyncMsg f;
        r = newroot_setup(&c->root, &f);
        if (r < 0) {
                f.step = SPAWN_STAGE_ROOT;
                sync_send_msg(c->sock, &f);
                _exit(125);
        }
        close(c->root.root_fd);
        for (size_t i = 0; i < c->root.n_cgroup_views; i++)
                close(c->root.cgroup_views[i].fd);
        if (c->root.home_fd >= 0)
                close(c->root.home_fd);
        if (c->root.tmp_fd >= 0)
                close(c->root.tmp_fd);

        const char *what = NULL;
        r = hardening_apply_masks_full(&what);
        if (r < 0)
                child_fail(c->sock, SPAWN_STAGE_HARDEN, -r, "masking", what);
        arrange_fds(c);
        if (chdir("/home") < 0 && chdir("/") < 0)
                child_fail(c->sock, SPAWN_STAGE_HARDEN, errno, "changing directory", "/");
        if (c->limits) {
                r = rlimits_apply_full(c->limits, 0, &what);
                if (r < 0)
                        child_fail(c->sock, SPAWN_STAGE_HARDEN, -r, "setting resource limit", what);
        }
        /* Last: after this the child holds only what init may keep. */
        if (c->hardening) {
                r = hardening_apply_final_full(c->hardening, &what);
                if (r < 0)
                        child_fail(c->sock, SPAWN_STAGE_HARDEN, -r, what ? what : "dropping privileges", NULL);
        }

        r = sync_send_step(c->sock, SPAWN_STEP_EXEC, NULL, 0);
        if (r < 0)
                _exit(125);
        /* A workspace outlives the daemon; a setup does not. Set again
         * here: the credential change above cleared it. */
        (void) prctl(PR_SET_PDEATHSIG, c->die_with_caller ? SIGKILL : 0);
        /* Signals stay blocked across exec: a PID-namespace init drops
         * any signal it has neither blocked nor a handler for, so a
         * SIGTERM sent right after spawn returns must find it blocked
         * (queued) until init reads it from its signalfd. */
        sys_execveat(c->init_fd, "", c->argv, c->envp, AT_EMPTY_PATH);
        child_fail(c->sock, SPAWN_STAGE_EXEC, errno, "executing enclave-init", NULL);
}

/* ---- parent ---- */

/* Kills and reaps the child unless disarmed: no half-started workspace
 * survives a failed spawn (its mounts die with its mount namespace). */
typedef struct SpawnGuard {
        pid_t pid;
        int pidfd;
} SpawnGuard;

static void spawn_guard_done(SpawnGuard *g)
{
        if (g->pidfd >= 0) {
                (void) sys_pidfd_send_signal(g->pidfd, SIGKILL);
                siginfo_t si;
                (void) waitid((idtype_t) P_PIDFD, (id_t) g->pidfd, &si, WEXITED);
                g->pidfd = safe_close(g->pidfd);
        }
}

static int validate(const WorkspaceSpawnConfig *c, Error *err)
{
        if (!c->name || !name_is_valid(c->name))
                return error_set(err, EINVAL, "invalid workspace name \"%s\"", c->name ? c->name : "");
        if (!c->rootfs || !c->ws_dir)
                return error_set(err, EINVAL, "workspace %s: rootfs and workspace dir are required", c->name);
        if (c->uid_base == 0 || c->gid_base == 0 || c->uid_base > UINT32_MAX - IDRANGE_BLOCK ||
            c->gid_base > UINT32_MAX - IDRANGE_BLOCK)
                return error_set(err, EINVAL, "workspace %s: invalid host id base %u:%u", c->name, c->uid_base,
                                 c->gid_base);
        if (c->init_fd < 0)
                return error_set(err, EBADF, "workspace %s: no init binary", c->name);
        if (c->sandbox_setup && (c->attach_disk || c->home_dir))
                return error_set(err, EINVAL, "workspace %s: a sandbox setup has no /home of its own", c->name);
        if (c->attach_disk && c->home_dir)
                return error_set(err, EINVAL, "workspace %s: disk_mb cannot be combined with workspace_dir", c->name);
        for (size_t i = 0; i < c->n_files; i++)
                if (!c->files[i].path || c->files[i].path[0] != '/')
                        return error_set(err, EINVAL, "workspace %s: file path must be absolute", c->name);
        return 0;
}

/* The directory behind /home as an O_PATH fd: a workspace_dir is opened
 * without following symlinks and must still be the directory recorded
 * at create (hostdir.h); the managed <ws>/home lies in the root-only
 * state dir. */
static int open_home_dir(const WorkspaceSpawnConfig *c, const char *home_default, Error *err)
{
        if (!c->home_dir) {
                int fd = open(home_default, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                return fd < 0 ? error_setc(err, errno, "opening %s", home_default) : fd;
        }
        HostDirId id;
        _cleanup_close_ int fd = hostdir_open(c->home_dir, &id, err);
        if (fd < 0)
                return fd;
        if (c->home_dir_id) {
                int r = hostdir_verify(c->home_dir, &id, c->home_dir_id, err);
                if (r < 0)
                        return r;
        }
        return TAKE_FD(fd);
}

/* /home (and with a disk quota /tmp, and the image's root, whose
 * upper/ and work/ are the overlay's) as detached mounts. */
static int prepare_home(const WorkspaceSpawnConfig *c, const char *home_default, int *ret_home, int *ret_tmp,
                        int *ret_layers, Error *err)
{
        if (c->attach_disk)
                return c->attach_disk(c->ws_dir, ret_home, ret_tmp, ret_layers, err);
        _cleanup_close_ int dir = open_home_dir(c, home_default, err);
        if (dir < 0)
                return dir;
        int home = home_open_mount(dir, c->home_dir ? c->home_dir : home_default, c->uid_base, c->gid_base, err);
        if (home < 0)
                return home;
        *ret_home = home;
        return 0;
}

/* The overlay's upper and work dirs on the host: <ws>/upper and
 * <ws>/work. With a disk quota they are the image's instead, so that
 * everything the workspace writes counts against disk_mb. */
static int host_layer_paths(const char *ws_dir, char **ret_upper, char **ret_work)
{
        *ret_upper = path_join(ws_dir, "upper");
        *ret_work = path_join(ws_dir, "work");
        return *ret_upper && *ret_work ? 0 : -ENOMEM;
}

/* Host-side mounts, after the maps exist: idmapped lower, home (and the
 * disk image), overlay. */
static int prepare_mounts(const WorkspaceSpawnConfig *c, pid_t pid, int *ret_root, int *ret_home, int *ret_tmp,
                          Error *err)
{
        char p[64];
        snprintf(p, sizeof p, "/proc/%d/ns/user", (int) pid);
        _cleanup_close_ int userns = open(p, O_RDONLY | O_CLOEXEC);
        if (userns < 0)
                return error_setc(err, errno, "opening %s", p);
        if (c->sandbox_setup) {
                int root = rootfs_open_writable(c->rootfs, userns, err);
                if (root < 0)
                        return root;
                *ret_root = root;
                *ret_home = *ret_tmp = -EBADF;
                return 0;
        }
        _cleanup_close_ int lower = rootfs_open_lower(c->rootfs, userns, err);
        if (lower < 0)
                return lower;
        _cleanup_free_ char *home_default = path_join(c->ws_dir, "home"), *upper = NULL, *work = NULL;
        if (!home_default)
                return -ENOMEM;
        /* layers is only needed until the overlay holds its own references. */
        _cleanup_close_ int home = -EBADF, tmp = -EBADF, layers = -EBADF;
        int r = prepare_home(c, home_default, &home, &tmp, &layers, err);
        if (r < 0)
                return r;
        OverlayLowerMode mode;
        _cleanup_close_ int root = -EBADF;
        if (layers >= 0) {
                root = rootfs_open_overlay_layers(lower, layers, &mode, err);
        } else {
                if (host_layer_paths(c->ws_dir, &upper, &work) < 0)
                        return -ENOMEM;
                root = rootfs_open_overlay(lower, upper, work, &mode, err);
        }
        if (root < 0 && layers >= 0) {
                /* Should a kernel refuse the image's layers every way:
                 * keep the upper layer on the host then (the quota covers
                 * /home and /tmp only), and say so. */
                log_warn("workspace %s: the overlay refused its upper layer in the disk image (%s); it stays in "
                         "%s/upper, outside disk_mb", c->name, error_msg(err), c->ws_dir);
                error_clear(err);
                if (host_layer_paths(c->ws_dir, &upper, &work) < 0)
                        return -ENOMEM;
                root = rootfs_open_overlay(lower, upper, work, &mode, err);
        }
        if (root < 0)
                return root;
        log_debug("workspace %s: overlay lower layer passed as %s", c->name, overlay_lower_mode_to_string(mode));
        *ret_root = TAKE_FD(root);
        *ret_home = TAKE_FD(home);
        *ret_tmp = TAKE_FD(tmp);
        return 0;
}

static int wait_for_exec(int sock, Error *err)
{
        int r = sync_expect(sock, SPAWN_STEP_EXEC, "workspace setup", NULL, 0, err);
        if (r < 0)
                return r;
        /* Success is the socket closing on exec (O_CLOEXEC). */
        SyncMsg m;
        r = sync_recv(sock, &m, NULL, 0);
        if (r < 0)
                return error_setc(err, -r, "waiting for enclave-init to start");
        if (r > 0)
                return sync_msg_error(&m, err);
        return 0;
}

static void spawn_cgroup_to_child(const CgroupEntry *sc, SpawnChild *child)
{
        for (size_t i = 0; i < sc->n; i++) {
                child->cgroup_fds[i] = sc->fds[i];
                child->cgroup_paths[i] = sc->paths[i];
        }
        child->n_cgroup_fds = sc->n;
}

/* Read-only clones of the workspace's own cgroup directories for
 * /sys/fs/cgroup inside (newroot.h). Taken before clone3, so the child
 * inherits them; freezer is left out (nothing sizes itself from it). */
typedef struct SpawnCgroupViews {
        NewRootCgroupView v[CGROUP_HIERARCHIES_MAX];
        char names[CGROUP_HIERARCHIES_MAX][64];
        size_t n;
} SpawnCgroupViews;

static void spawn_cgroup_views_done(SpawnCgroupViews *sv)
{
        for (size_t i = 0; i < sv->n; i++)
                safe_close(sv->v[i].fd);
        sv->n = 0;
}

/* The hierarchy's usual directory name: "" for the whole /sys/fs/cgroup
 * on a v2 host, "unified" for the v2 tree of a hybrid one, the
 * controllers ("cpu,cpuacct", "blkio") for a v1 hierarchy. */
static void cgroup_view_name(const Cgroup *cg, const CgroupNode *node, char *buf, size_t size)
{
        buf[0] = 0;
        if (node->v2) {
                if (cg->mode != CGROUP_MODE_V2)
                        snprintf(buf, size, "unified");
                return;
        }
        for (int ctl = 0; ctl < _CGROUP_CONTROLLER_MAX; ctl++)
                if (node->controllers & CGROUP_MASK(ctl)) {
                        size_t len = strlen(buf);
                        snprintf(buf + len, size - len, "%s%s", len ? "," : "",
                                 ctl == CGROUP_IO ? "blkio" : cgroup_controller_to_string((CgroupController) ctl));
                }
}

static int spawn_cgroup_views_open(const Cgroup *cg, SpawnCgroupViews *sv, Error *err)
{
        for (size_t i = 0; cg && i < cg->n_nodes; i++) {
                const CgroupNode *node = &cg->nodes[i];
                /* A v1 freezer hierarchy has no controller Enclave uses
                         * when the unified tree freezes (mask 0). */
                if (!node->v2 && (node->controllers & ~CGROUP_MASK(CGROUP_FREEZER)) == 0)
                        continue;
                _cleanup_close_ int fd = open_tree(AT_FDCWD, node->path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
                if (fd < 0)
                        return error_setc(err, errno, "cloning cgroup %s", node->path);
                struct mount_attr a = {
                        .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
                        .propagation = MS_PRIVATE, /* not a peer of the host's cgroup mount */
                };
                if (mount_setattr(fd, "", AT_EMPTY_PATH, &a, sizeof a) < 0)
                        return error_setc(err, errno, "making the clone of cgroup %s read-only", node->path);
                cgroup_view_name(cg, node, sv->names[sv->n], sizeof sv->names[sv->n]);
                sv->v[sv->n] = (NewRootCgroupView) { .fd = TAKE_FD(fd), .name = sv->names[sv->n] };
                sv->n++;
        }
        return 0;
}

/* The CPUs of a workspace with cpu_percent (rlimits.h), picked from
 * this thread's affinity as exec does from the daemon's. The parent
 * sets them on the child while it waits for GO: a sleeping task only
 * gets a new mask, where a running one that changes its own must be
 * migrated and wait for a turn on its new CPU (measured: milliseconds
 * on a loaded host). The list goes to /sys/devices/system/cpu/online. */
typedef struct SpawnCpus {
        bool pinned;
        cpu_set_t set;
        char list[256];
        Limits child_limits; /* the limits without the affinity, which is done */
} SpawnCpus;

static const Limits *spawn_cpus_pick(const Limits *l, unsigned cpu_seed, SpawnCpus *sc)
{
        cpu_set_t allowed;
        if (!l || l->cpu_percent == 0 || sched_getaffinity(0, sizeof allowed, &allowed) < 0 ||
            rlimits_cpu_pick(&allowed, (unsigned) l->cpu_percent, cpu_seed, &sc->set) == 0)
                return l;
        sc->pinned = true;
        rlimits_cpu_list(&sc->set, sc->list, sizeof sc->list);
        sc->child_limits = *l;
        sc->child_limits.cpu_percent = 0;
        return &sc->child_limits;
}

static int spawn_child(void *arg)
{
        SpawnChild *c = arg;
        close(c->parent_sock);
        child_main(c);
}

/* Into every namespace (and the unified cgroup when dir_fd is open). */
static pid_t clone_child(SpawnChild *child, int cgroup_dir_fd, int *ret_pidfd)
{
        NsClone a = { .flags = SPAWN_CLONE_FLAGS, .cgroup_fd = cgroup_dir_fd, .ret_pidfd = ret_pidfd };
        return ns_clone(&a, spawn_child, child);
}

static int spawn_run(const WorkspaceSpawnConfig *c, const SpawnCpus *cpus, int sock, SpawnGuard *g,
                     WorkspaceProcess *ret, Error *err)
{
        IdMapLine u = { 0, c->uid_base, IDRANGE_BLOCK }, gm = { 0, c->gid_base, IDRANGE_BLOCK };
        int r = idmap_write(g->pid, &u, &gm, err);
        if (r < 0)
                return r;
        r = rlimits_oom_score_reset(g->pid);
        if (r < 0)
                return error_setc(err, -r, "setting the workspace's oom_score_adj");
        _cleanup_close_ int root = -EBADF, home = -EBADF, tmp = -EBADF;
        r = prepare_mounts(c, g->pid, &root, &home, &tmp, err);
        if (r < 0)
                return r;
        if (c->prepare) {
                r = c->prepare(g->pid, g->pidfd, c->prepare_userdata, err);
                if (r < 0)
                        return r;
        }
        if (cpus->pinned && sched_setaffinity(g->pid, sizeof cpus->set, &cpus->set) < 0)
                return error_setc(err, errno, "setting the CPUs of the workspace (cpu_percent)");
        int fds[3] = { root, home, tmp };
        r = sync_send_step(sock, SPAWN_STEP_GO, fds, tmp >= 0 ? 3 : home >= 0 ? 2 : 1);
        if (r < 0)
                return error_setc(err, -r, "handing the mounts to the workspace");
        /* From here the workspace's mount namespace alone holds the
         * disk quota's mounts: it unmounts (and its loop device
         * unbinds) when that namespace dies. */
        root = safe_close(root);
        home = safe_close(home);
        tmp = safe_close(tmp);
        r = wait_for_exec(sock, err);
        if (r < 0)
                return r;
        uint64_t start;
        r = pid_start_time(g->pid, &start);
        if (r < 0)
                return error_setc(err, -r, "reading the start time of pid %d", (int) g->pid);
        *ret = (WorkspaceProcess) { .pid = g->pid, .pidfd = g->pidfd, .start_time = start, .is_child = true };
        g->pidfd = -EBADF;
        return 0;
}

int workspace_spawn(const WorkspaceSpawnConfig *c, WorkspaceProcess *ret, Error *err)
{
        int r = validate(c, err);
        if (r < 0)
                return r;
        r = workspace_dirs_ensure(c->ws_dir, c->uid_base, c->gid_base, err);
        if (r < 0)
                return error_wrap(err, "preparing workspace %s", c->name);
        _cleanup_close_ int log0 = -EBADF, log1 = -EBADF, logs = -EBADF;
        int logfds[3];
        r = workspace_log_open_for_init(c->ws_dir, logfds, err);
        if (r < 0)
                return error_wrap(err, "preparing workspace %s", c->name);
        log0 = logfds[0], log1 = logfds[1], logs = logfds[2];

        char fds_arg[48], max_arg[48];
        snprintf(fds_arg, sizeof fds_arg, "--log-fds=%d,%d,%d", INIT_LOG_FD_FIRST, INIT_LOG_FD_FIRST + 1,
                 INIT_LOG_FD_FIRST + 2);
        snprintf(max_arg, sizeof max_arg, "--log-max=%llu",
                 (unsigned long long) (c->log_max_bytes ? c->log_max_bytes : LOG_DEFAULT_MAX_BYTES));
        char restart_arg[48], state_arg[24];
        snprintf(restart_arg, sizeof restart_arg, "--restart=%s",
                 run_restart_to_string(c->restart) ? run_restart_to_string(c->restart) : "no");
        snprintf(state_arg, sizeof state_arg, "--state-fd=%d", INIT_STATE_FD);
        char *argv[] = { (char *) "enclave-init", fds_arg, max_arg, restart_arg, state_arg, (char *) "--",
                         (char *) c->run, NULL };
        _cleanup_free_ char *state_path = path_join(c->ws_dir, RUN_STATE_FILE);
        if (!state_path)
                return error_set(err, ENOMEM, "out of memory");
        _cleanup_close_ int state_fd =
                open(state_path, O_RDWR | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
        if (state_fd < 0)
                return error_setc(err, errno, "preparing workspace %s: opening %s", c->name, state_path);

        _cleanup_(spawn_cgroup_views_done) SpawnCgroupViews views = {};
        r = spawn_cgroup_views_open(c->cgroup, &views, err);
        if (r < 0)
                return error_wrap(err, "preparing workspace %s", c->name);
        SpawnCpus cpus = {};
        const Limits *child_limits = spawn_cpus_pick(c->limits, c->cpu_seed, &cpus);

        int pair[2];
        r = sync_pair(pair);
        if (r < 0)
                return error_setc(err, -r, "creating the sync socket");
        _cleanup_close_ int sock = pair[0], child_sock = pair[1];

        NewRootTmpfsSizes sizes = newroot_tmpfs_sizes(c->limits ? c->limits->memory_mb : 0);
        SpawnChild child = {
                .parent_sock = sock,
                .sock = child_sock,
                .init_fd = c->init_fd,
                .log_fds = { log0, log1, logs },
                .state_fd = state_fd,
                .root = { .hostname = c->name, .root_fd = -EBADF, .home_fd = -EBADF, .tmp_fd = -EBADF,
                          .tmp_size_bytes = c->tmp_size_bytes ? c->tmp_size_bytes : sizes.tmp,
                          .shm_size_bytes = sizes.shm, .run_size_bytes = sizes.run,
                          .files = c->files, .n_files = c->n_files,
                          .cgroup_views = views.v, .n_cgroup_views = views.n,
                          .cpus_online = cpus.pinned ? cpus.list : NULL, .sandbox_setup = c->sandbox_setup },
                .argv = argv,
                .envp = c->env ? c->env : default_env,
                .hardening = c->hardening,
                .limits = child_limits,
                .die_with_caller = c->sandbox_setup,
        };

        _cleanup_(cgroup_entry_done) CgroupEntry sc = CGROUP_ENTRY_NULL;
        r = cgroup_entry_open(c->cgroup, true, &sc, err);
        if (r < 0)
                return error_wrap(err, "preparing workspace %s", c->name);
        spawn_cgroup_to_child(&sc, &child);

        int pidfd = -EBADF;
        pid_t pid = clone_child(&child, sc.dir_fd, &pidfd);
        int e = errno;
        if (pid < 0 && sc.dir_fd >= 0 && ns_clone_cgroup_refused(e)) {
                /* A kernel without CLONE_INTO_CGROUP (before 5.7), or a
                 * group it refuses: the child joins every directory. */
                r = cgroup_entry_open(c->cgroup, false, &sc, err);
                if (r < 0)
                        return error_wrap(err, "preparing workspace %s", c->name);
                spawn_cgroup_to_child(&sc, &child);
                pid = clone_child(&child, -EBADF, &pidfd);
                e = errno;
        }
        if (pid < 0)
                return error_setc(err, e, "creating the namespaces of workspace %s", c->name);
        cgroup_entry_done(&sc); /* the child has its copies */
        spawn_cgroup_views_done(&views);
        _cleanup_(spawn_guard_done) SpawnGuard g = { pid, pidfd };
        child_sock = safe_close(child_sock);

        r = spawn_run(c, &cpus, sock, &g, ret, err);
        if (r < 0)
                return error_wrap(err, "starting workspace %s", c->name);
        return 0;
}
