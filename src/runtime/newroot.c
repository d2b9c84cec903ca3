#include "runtime/newroot.h"

#include "base/macro.h"
#include "base/syscalls.h"
#include "runtime/sync.h"

#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>

/* Record what failed (with errno) in *fail; evaluates to the negative
 * errno. The caller sets the step. */
#define FAIL(w, a)                                          \
        ({                                                  \
                int _e = errno > 0 ? errno : EIO;           \
                sync_msg_set_failure(fail, 0, _e, (w), (a)); \
                -_e;                                        \
        })

/* Host device nodes bind-mounted into the private /dev. A user
 * namespace cannot mknod, and binding the host's nodes (from devtmpfs,
 * owned by the initial namespace) keeps them usable. */
static const char *const dev_nodes[] = { "null", "zero", "full", "random", "urandom", "tty" };
#define N_DEV_NODES ELEMENTSOF(dev_nodes)

static int mkdir_if_missing(const char *path, mode_t mode)
{
        if (mkdir(path, mode) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

/* mkdir -p of the parent directories of path (absolute). */
static int mkdir_parents(const char *path)
{
        char buf[PATH_MAX];
        if (sync_strlcpy(buf, path, sizeof buf) >= sizeof buf) {
                errno = ENAMETOOLONG;
                return -ENAMETOOLONG;
        }
        for (char *s = buf + 1; *s; s++) {
                if (*s != '/')
                        continue;
                *s = 0;
                if (mkdir(buf, 0755) < 0 && errno != EEXIST)
                        return -errno;
                *s = '/';
        }
        return 0;
}

static int open_dev_clones(int fds[N_DEV_NODES], SyncMsg *fail)
{
        for (size_t i = 0; i < N_DEV_NODES; i++) {
                char path[32] = "/dev/";
                sync_strlcat(path, dev_nodes[i], sizeof path);
                fds[i] = open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
                if (fds[i] < 0)
                        return FAIL("cloning host device", dev_nodes[i]);
                /* Not a peer of the host's /dev (shared under systemd). */
                struct mount_attr a = { .propagation = MS_PRIVATE };
                if (mount_setattr(fds[i], "", AT_EMPTY_PATH, &a, sizeof a) < 0)
                        return FAIL("making private the clone of host device", dev_nodes[i]);
        }
        return 0;
}

/* Attach the overlay on top of "/" and make it the root. cwd is the
 * overlay while it is attached, so pivot_root(".", ".") stacks the old
 * root on top of it; the caller detaches that later. */
static int enter_new_root(int root_fd, SyncMsg *fail)
{
        if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
                return FAIL("making the mount namespace a slave of the host", NULL);
        if (fchdir(root_fd) < 0)
                return FAIL("entering the overlay root", NULL);
        if (move_mount(root_fd, "", AT_FDCWD, "/", MOVE_MOUNT_F_EMPTY_PATH) < 0)
                return FAIL("attaching the overlay root", NULL);
        if (sys_pivot_root(".", ".") < 0)
                return FAIL("pivot_root into the overlay", NULL);
        return 0;
}

static int mount_proc_sys(SyncMsg *fail)
{
        if (mkdir_if_missing("/proc", 0555) < 0)
                return FAIL("creating", "/proc");
        if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
                return FAIL("mounting", "/proc");
        if (mkdir_if_missing("/sys", 0555) < 0)
                return FAIL("creating", "/sys");
        if (mount("sysfs", "/sys", "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
                return FAIL("mounting read-only", "/sys");
        return 0;
}

static int detach_old_root(SyncMsg *fail)
{
        if (umount2(".", MNT_DETACH) < 0)
                return FAIL("detaching the host root", NULL);
        if (chdir("/") < 0)
                return FAIL("changing to", "/");
        /* Nothing below the new root may propagate anywhere. */
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                return FAIL("making the workspace mounts private", NULL);
        return 0;
}

NewRootTmpfsSizes newroot_tmpfs_sizes(uint64_t memory_mb)
{
        if (memory_mb == 0)
                return (NewRootTmpfsSizes) { NEWROOT_SHM_DEFAULT, NEWROOT_RUN_DEFAULT, NEWROOT_TMP_DEFAULT };
        uint64_t mem = memory_mb << 20;
        uint64_t shm = mem / 2 < NEWROOT_SHM_DEFAULT ? NEWROOT_SHM_DEFAULT : mem / 2;
        uint64_t run = mem / 4 < NEWROOT_RUN_DEFAULT ? mem / 4 : NEWROOT_RUN_DEFAULT;
        return (NewRootTmpfsSizes) { shm < mem ? shm : mem, run, mem };
}

/* "mode=MODE" plus ",size=BYTES" when size > 0 (async-signal-safe). */
static const char *tmpfs_opts(char *buf, size_t len, const char *mode, uint64_t size)
{
        buf[0] = 0;
        sync_strlcat(buf, mode, len);
        if (size > 0) {
                char num[24];
                sync_strlcat(buf, ",size=", len);
                sync_strlcat(buf, sync_utoa(size, num), len);
        }
        return buf;
}

static int mount_dev(const int dev_fds[N_DEV_NODES], uint64_t shm_size, SyncMsg *fail)
{
        if (mkdir_if_missing("/dev", 0755) < 0)
                return FAIL("creating", "/dev");
        if (mount("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k,nr_inodes=256") < 0)
                return FAIL("mounting tmpfs on", "/dev");
        for (size_t i = 0; i < N_DEV_NODES; i++) {
                char path[32] = "/dev/";
                sync_strlcat(path, dev_nodes[i], sizeof path);
                int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
                if (fd < 0)
                        return FAIL("creating", path);
                close(fd);
                if (move_mount(dev_fds[i], "", AT_FDCWD, path, MOVE_MOUNT_F_EMPTY_PATH) < 0)
                        return FAIL("bind-mounting host device on", path);
        }
        if (mkdir("/dev/pts", 0755) < 0)
                return FAIL("creating", "/dev/pts");
        if (mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
                  "newinstance,ptmxmode=0666,mode=0620,gid=5") < 0)
                return FAIL("mounting a private devpts on", "/dev/pts");
        if (mkdir("/dev/shm", 01777) < 0)
                return FAIL("creating", "/dev/shm");
        char opts[64];
        if (mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, tmpfs_opts(opts, sizeof opts, "mode=1777", shm_size)) < 0)
                return FAIL("mounting tmpfs on", "/dev/shm");
        static const char *const links[][2] = {
                { "pts/ptmx", "/dev/ptmx" },       { "/proc/self/fd", "/dev/fd" },
                { "/proc/self/fd/0", "/dev/stdin" }, { "/proc/self/fd/1", "/dev/stdout" },
                { "/proc/self/fd/2", "/dev/stderr" },
        };
        for (size_t i = 0; i < ELEMENTSOF(links); i++)
                if (symlink(links[i][0], links[i][1]) < 0)
                        return FAIL("creating symlink", links[i][1]);
        return 0;
}

static int mount_tmp(uint64_t tmp_size, uint64_t run_size, int tmp_fd, SyncMsg *fail)
{
        char opts[64];
        tmpfs_opts(opts, sizeof opts, "mode=1777", tmp_size);
        if (mkdir_if_missing("/tmp", 01777) < 0)
                return FAIL("creating", "/tmp");
        if (tmp_fd >= 0) {
                /* The disk quota's tmp/: already nosuid,nodev and empty. */
                if (move_mount(tmp_fd, "", AT_FDCWD, "/tmp", MOVE_MOUNT_F_EMPTY_PATH) < 0)
                        return FAIL("attaching", "/tmp");
        } else if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0)
                return FAIL("mounting tmpfs on", "/tmp");
        /* /run holds runtime state only; a private tmpfs also gives
         * /run/enclave (tokens) a home that never touches disk. */
        if (mkdir_if_missing("/run", 0755) < 0)
                return FAIL("creating", "/run");
        if (mount("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, tmpfs_opts(opts, sizeof opts, "mode=0755", run_size)) < 0)
                return FAIL("mounting tmpfs on", "/run");
        if (mkdir("/run/lock", 01777) < 0 || chmod("/run/lock", 01777) < 0)
                return FAIL("creating", "/run/lock");
        return 0;
}

static int mount_home(int home_fd, SyncMsg *fail)
{
        if (home_fd < 0)
                return 0;
        if (mkdir_if_missing("/home", 0755) < 0)
                return FAIL("creating", "/home");
        if (move_mount(home_fd, "", AT_FDCWD, "/home", MOVE_MOUNT_F_EMPTY_PATH) < 0)
                return FAIL("attaching", "/home");
        return 0;
}

static int write_all(int fd, const void *data, size_t size)
{
        const char *p = data;
        while (size > 0) {
                ssize_t n = write(fd, p, size);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += n;
                size -= (size_t) n;
        }
        return 0;
}

static int write_files(const WorkspaceFile *files, size_t n, SyncMsg *fail)
{
        for (size_t i = 0; i < n; i++) {
                const WorkspaceFile *f = &files[i];
                if (f->path[0] != '/') {
                        errno = EINVAL;
                        return FAIL("file path is not absolute:", f->path);
                }
                if (mkdir_parents(f->path) < 0)
                        return FAIL("creating the parent directories of", f->path);
                if (unlink(f->path) < 0 && errno != ENOENT)
                        return FAIL("replacing", f->path);
                int fd = open(f->path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
                if (fd < 0)
                        return FAIL("creating", f->path);
                int r = write_all(fd, f->data, f->size);
                if (r >= 0 && fchmod(fd, f->mode) < 0)
                        r = -errno;
                close(fd);
                if (r < 0) {
                        errno = -r;
                        return FAIL("writing", f->path);
                }
        }
        return 0;
}

/* Is name present in text as a whitespace-delimited word? */
static bool hosts_has_name(const char *text, size_t len, const char *name)
{
        size_t nl = strlen(name);
        for (size_t i = 0; i + nl <= len; i++) {
                if (memcmp(text + i, name, nl) != 0)
                        continue;
                bool before = i == 0 || text[i - 1] == ' ' || text[i - 1] == '\t';
                bool after = i + nl == len || strchr(" \t\n#", text[i + nl]);
                if (before && after)
                        return true;
        }
        return false;
}

/* Write the pieces in order to fd; stops at the first error. */
static int write_pieces(int fd, const char *const *pieces, size_t n)
{
        int r = 0;
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = write_all(fd, pieces[i], strlen(pieces[i]));
        return r;
}

/* Open an existing regular file for writing (flags), or create it with
 * mode when it is missing; *ret_created says which. A symlink (e.g.
 * into /run) gives ELOOP. */
static int open_or_create(const char *path, int flags, mode_t mode, bool *ret_created)
{
        *ret_created = false;
        int fd = open(path, flags | O_NOFOLLOW | O_CLOEXEC);
        if (fd >= 0 || errno != ENOENT)
                return fd;
        if (mkdir_if_missing("/etc", 0755) < 0)
                return -1;
        *ret_created = true;
        return open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
}

/* /etc/hostname and /etc/hosts name the workspace, as on any Linux box:
 * an existing /etc/hosts gets the name appended when it lacks it, a
 * missing one (debootstrap makes none) is created with localhost for
 * IPv4 and IPv6 (without it `getent hosts localhost` fails and servers
 * binding "localhost" hang). Every write lands in the workspace's upper
 * layer, never the shared rootfs. Best effort, as a file the workspace
 * made unwritable (or a symlink) is its own choice: only a failed write
 * fails the start. */
static int write_host_files(const char *name, SyncMsg *fail)
{
        bool created;
        int fd = open_or_create("/etc/hostname", O_WRONLY | O_TRUNC, 0644, &created);
        if (fd >= 0) {
                const char *const line[] = { name, "\n" };
                int r = write_pieces(fd, line, ELEMENTSOF(line));
                close(fd);
                if (r < 0) {
                        errno = -r;
                        return FAIL("writing", "/etc/hostname");
                }
        }

        static char buf[65536];
        fd = open_or_create("/etc/hosts", O_RDWR | O_APPEND, 0644, &created);
        if (fd < 0)
                return 0;
        int r = 0;
        if (created) {
                const char *const hosts[] = {
                        "127.0.0.1\tlocalhost\n127.0.1.1\t", name,
                        "\n::1\tlocalhost ip6-localhost ip6-loopback\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n",
                };
                r = write_pieces(fd, hosts, ELEMENTSOF(hosts));
        } else {
                ssize_t n = read(fd, buf, sizeof buf);
                if (n >= 0 && !hosts_has_name(buf, (size_t) n, name)) {
                        const char *const line[] = { n > 0 && buf[n - 1] != '\n' ? "\n" : "", "127.0.1.1\t", name,
                                                     "\n" };
                        r = write_pieces(fd, line, ELEMENTSOF(line));
                }
        }
        close(fd);
        if (r < 0) {
                errno = -r;
                return FAIL("updating", "/etc/hosts");
        }
        return 0;
}

/* The workspace's own cgroups at /sys/fs/cgroup, read-only (runtimes
 * size heaps and thread pools from memory.max, cpu.max and their v1
 * forms). The workspace's cgroup namespace is rooted at its own group,
 * so mountinfo and /proc/self/cgroup show "/" as in any container. */
static int mount_cgroup_views(const NewRootCgroupView *v, size_t n, SyncMsg *fail)
{
        static const char dir[] = "/sys/fs/cgroup";
        if (n == 0)
                return 0;
        if (n == 1 && v[0].name[0] == 0) {
                if (move_mount(v[0].fd, "", AT_FDCWD, dir, MOVE_MOUNT_F_EMPTY_PATH) < 0)
                        return FAIL("attaching the workspace's cgroup on", dir);
                return 0;
        }
        if (mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755,size=16k,nr_inodes=64") < 0)
                return FAIL("mounting tmpfs on", dir);
        char path[96], part[96];
        for (size_t i = 0; i < n; i++) {
                sync_strlcpy(path, "/sys/fs/cgroup/", sizeof path);
                sync_strlcat(path, v[i].name, sizeof path);
                if (mkdir(path, 0755) < 0)
                        return FAIL("creating", path);
                if (move_mount(v[i].fd, "", AT_FDCWD, path, MOVE_MOUNT_F_EMPTY_PATH) < 0)
                        return FAIL("attaching the workspace's cgroup on", path);
                /* "cpu,cpuacct" is also reachable as "cpu" and "cpuacct". */
                if (!strchr(v[i].name, ','))
                        continue;
                for (const char *p = v[i].name; *p;) {
                        size_t len = strcspn(p, ",");
                        if (len + sizeof "/sys/fs/cgroup/" > sizeof part)
                                break;
                        memcpy(part, "/sys/fs/cgroup/", sizeof "/sys/fs/cgroup/");
                        memcpy(part + sizeof "/sys/fs/cgroup/" - 1, p, len);
                        part[sizeof "/sys/fs/cgroup/" - 1 + len] = 0;
                        if (symlink(v[i].name, part) < 0 && errno != EEXIST)
                                return FAIL("creating symlink", part);
                        p += len + (p[len] == ',');
                }
        }
        if (mount(NULL, dir, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
                return FAIL("making read-only:", dir);
        return 0;
}

/* data as a file on /run (src), bound read-only over dst (which must
 * exist). */
static int bind_file(const char *src, const char *dst, const void *data, size_t size, mode_t mode,
                     SyncMsg *fail)
{
        if (mkdir_parents(src) < 0)
                return FAIL("creating the parent directories of", src);
        int fd = open(src, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode);
        if (fd < 0)
                return FAIL("creating", src);
        int r = write_all(fd, data, size);
        close(fd);
        if (r < 0) {
                errno = -r;
                return FAIL("writing", src);
        }
        if (mount(src, dst, NULL, MS_BIND, NULL) < 0)
                return FAIL("bind-mounting a file on", dst);
        if (mount(NULL, dst, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
                return FAIL("making read-only:", dst);
        return 0;
}

/* A sandbox's setup changes the rootfs itself: its files (resolv.conf)
 * are shown read-only over their paths for as long as it runs, never
 * written into the rootfs. A path that cannot exist (no /etc) is left
 * out; a missing file is created empty, a symlink is followed inside
 * the new root. */
static int bind_files(const WorkspaceFile *files, size_t n, SyncMsg *fail)
{
        for (size_t i = 0; i < n; i++) {
                char src[48] = "/run/enclave/setup-files/", num[24];
                sync_strlcat(src, sync_utoa(i, num), sizeof src);
                int fd = open(files[i].path, O_WRONLY | O_CREAT | O_NOCTTY | O_CLOEXEC, 0644);
                if (fd < 0)
                        continue;
                close(fd);
                int r = bind_file(src, files[i].path, files[i].data, files[i].size, files[i].mode, fail);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* sysconf(_SC_NPROCESSORS_ONLN), os.cpu_count() and getconf count the
 * CPUs in /sys/devices/system/cpu/online: show the workspace's own. */
static int bind_cpus_online(const char *list, SyncMsg *fail)
{
        if (!list)
                return 0;
        return bind_file("/run/enclave/cpus-online", "/sys/devices/system/cpu/online", list, strlen(list), 0444, fail);
}

static int loopback_up(SyncMsg *fail)
{
        int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (s < 0)
                return FAIL("opening a socket to configure", "lo");
        struct ifreq ifr;
        memset(&ifr, 0, sizeof ifr);
        sync_strlcpy(ifr.ifr_name, "lo", sizeof ifr.ifr_name);
        int r = 0;
        if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
                r = FAIL("reading the flags of", "lo");
        else {
                ifr.ifr_flags |= IFF_UP;
                if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
                        r = FAIL("bringing up", "lo");
        }
        close(s);
        return r;
}

int newroot_setup(const NewRootSpec *s, SyncMsg *fail)
{
        int dev_fds[N_DEV_NODES];
        int r = open_dev_clones(dev_fds, fail);
        if (r < 0)
                return r;
        r = enter_new_root(s->root_fd, fail);
        if (r < 0)
                return r;
        r = mount_proc_sys(fail);
        if (r < 0)
                return r;
        r = detach_old_root(fail);
        if (r < 0)
                return r;
        r = mount_dev(dev_fds, s->shm_size_bytes, fail);
        if (r < 0)
                return r;
        for (size_t i = 0; i < N_DEV_NODES; i++)
                close(dev_fds[i]);
        r = mount_tmp(s->tmp_size_bytes, s->run_size_bytes, s->tmp_fd, fail);
        if (r < 0)
                return r;
        r = mount_home(s->home_fd, fail);
        if (r < 0)
                return r;
        r = mount_cgroup_views(s->cgroup_views, s->n_cgroup_views, fail);
        if (r < 0)
                return r;
        r = s->sandbox_setup ? bind_files(s->files, s->n_files, fail) : write_files(s->files, s->n_files, fail);
        if (r < 0)
                return r;
        r = bind_cpus_online(s->cpus_online, fail);
        if (r < 0)
                return r;
        if (sethostname(s->hostname, strlen(s->hostname)) < 0)
                return FAIL("setting the hostname to", s->hostname);
        /* A setup leaves the rootfs's own hostname files alone. */
        r = s->sandbox_setup ? 0 : write_host_files(s->hostname, fail);
        if (r < 0)
                return r;
        return loopback_up(fail);
}
