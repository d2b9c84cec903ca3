/* Setup commands inside a busybox rootfs: order, output streaming,
 * private namespaces, failure reporting, cancellation, that nothing
 * stays mounted on the host, and that setup is confined like a
 * workspace (docs/security.md "Setup commands"): its own unprivileged
 * host ids, network namespace, hardening, nodev; no host sysctl, no
 * listener on the host's 127.0.0.1. Needs root. The daemon's part (the
 * network on the bridge, apt from Debian's mirror) is
 * tests/integration/test-boundary-setup.sh. */
#include "test.h"
#include "itest-common.h"

#include "base/fs.h"
#include "base/str.h"
#include "runtime/hardening.h"
#include "runtime/spawn.h"
#include "storage/setup.h"
#include "itest-net-util.h"

#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/sysmacros.h>
#include <time.h>

static char *scratch;
static char *rootfs;
static char *work;
static int init_fd = -EBADF;
static HardeningPlan *plan;
/* Host ids far from anything real, per test process. */
static uint32_t id_base;
static const char resolv[] = "nameserver 192.0.2.53\n";

static const char *init_path(void)
{
        static char p[PATH_MAX];
        const char *e = getenv("ENCLAVE_INIT");
        if (e && *e)
                return e;
        ssize_t n = readlink("/proc/self/exe", p, sizeof p - 32);
        if (n < 0)
                return "build/enclave-init";
        p[n] = 0;
        for (int i = 0; i < 2; i++) {
                char *slash = strrchr(p, '/');
                if (slash)
                        *slash = 0;
        }
        strcat(p, "/enclave-init");
        return p;
}

static void make_world(void)
{
        if (rootfs)
                return;
        if (geteuid() != 0)
                SKIP("needs root");
        char tmpl[] = "/tmp/enctest-setup-XXXXXX";
        ASSERT_NOT_NULL(mkdtemp(tmpl));
        scratch = strdup(tmpl);
        _cleanup_free_ char *dir = path_join(scratch, "rootfs");
        make_busybox_rootfs(dir);
        rootfs = TAKE_PTR(dir);
        work = path_join(scratch, "work");
        ASSERT_OK(mkdir(work, 0700) < 0 ? -errno : 0);
        _cleanup_error_ Error err = ERROR_INIT;
        init_fd = workspace_init_open(init_path(), &err);
        ASSERT_OK_E(init_fd, err);
        _cleanup_free_ char *cache = path_join(scratch, "cache");
        HardeningConfig hc = { .cache_dir = cache };
        ASSERT_OK_E(hardening_plan_new(&hc, &plan, &err), err);
        id_base = 3200000000u + (uint32_t) (getpid() % 512) * 65536u;
}

__attribute__((destructor)) static void cleanup_world(void)
{
        if (scratch)
                (void) rm_rf(scratch);
        plan = hardening_plan_free(plan);
        safe_close(init_fd);
}

typedef struct Collected {
        char **lines;
        char **infos;
        atomic_bool cancel;
        bool cancel_on_output;
} Collected;

static int collect(const StorageProgress *p, void *userdata)
{
        Collected *c = userdata;
        if (p->stage == PROGRESS_STAGE_OUTPUT) {
                strv_push(&c->lines, p->message);
                if (c->cancel_on_output)
                        atomic_store(&c->cancel, true);
        } else
                strv_push(&c->infos, p->message);
        return 0;
}

static SetupTarget target_for(const char *root)
{
        static WorkspaceFile files[] = { { "/etc/resolv.conf", resolv, sizeof resolv - 1, 0644 } };
        return (SetupTarget) { .spawn = { .rootfs = root, .ws_dir = work, .uid_base = id_base, .gid_base = id_base,
                                          .init_fd = init_fd, .hardening = plan, .files = files, .n_files = 1 } };
}

static int run(char **cmds, Collected *c, SetupResult *res, Error *err)
{
        StorageMonitor mon = { .progress = collect, .userdata = c, .cancel = &c->cancel };
        SetupTarget t = target_for(rootfs);
        return setup_run(&t, cmds, &mon, res, err);
}

static size_t mount_lines(void)
{
        _cleanup_free_ char *buf = NULL;
        if (read_full_file("/proc/self/mountinfo", 1 << 22, &buf, NULL) < 0)
                return 0;
        size_t n = 0;
        for (char *p = buf; *p; p++)
                n += *p == '\n';
        return n;
}

static bool mounted_below(const char *dir)
{
        _cleanup_free_ char *buf = NULL;
        if (read_full_file("/proc/self/mountinfo", 1 << 22, &buf, NULL) < 0)
                return true;
        return strstr(buf, dir) != NULL;
}

TEST(commands_run_in_order_inside_rootfs)
{
        make_world();
        size_t before = mount_lines();
        char *cmds[] = { "echo one > /marker", "echo two >> /marker", "cat /marker", NULL };
        Collected c = { 0 };
        _cleanup_error_ Error err = ERROR_INIT;
        SetupResult res;
        ASSERT_OK_E(run(cmds, &c, &res, &err), err);
        ASSERT_EQ(res.commands_run, 3);
        _cleanup_free_ char *marker = path_join(rootfs, "marker");
        _cleanup_free_ char *content = NULL;
        ASSERT_OK(read_full_file(marker, 4096, &content, NULL));
        ASSERT_STREQ(content, "one\ntwo\n");
        ASSERT_EQ(strv_length(c.lines), 2);
        ASSERT_STREQ(c.lines[0], "one");
        ASSERT_STREQ(c.lines[1], "two");
        ASSERT_EQ(strv_length(c.infos), 3);
        ASSERT_CONTAINS(c.infos[2], "running setup command 3/3: cat /marker");
        ASSERT_EQ(mount_lines(), before);
        ASSERT_FALSE(mounted_below(scratch));
        strv_free(c.lines);
        strv_free(c.infos);
}

TEST(private_pid_uts_and_mounts)
{
        make_world();
        char host_name[256];
        ASSERT_OK(gethostname(host_name, sizeof host_name));
        char *cmds[] = {
                "echo pid=$$",
                "hostname",
                "ls /proc | grep -c '^[0-9]'",
                "tr '\\0' ' ' </proc/1/cmdline; echo",
                "test -c /dev/null && test -c /dev/urandom && echo dev-ok",
                "grep -q ' /sys sysfs ro' /proc/mounts 2>/dev/null || grep ' /sys ' /proc/mounts | grep -q ro && echo sys-ro",
                "echo x > /etc/resolv.conf 2>/dev/null || echo resolv-ro",
                "cat /etc/resolv.conf | head -1",
                "env | sort",
                NULL,
        };
        Collected c = { 0 };
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_OK_E(run(cmds, &c, NULL, &err), err);
        ASSERT_TRUE(strv_contains(c.lines, "pid=2"));
        ASSERT_TRUE(strv_contains(c.lines, "enclave-setup"));
        /* init and the shell (and ls, grep): nothing of the host. */
        ASSERT_TRUE(strv_contains(c.lines, "3") || strv_contains(c.lines, "4") || strv_contains(c.lines, "2"));
        bool init_seen = false;
        STRV_FOREACH(l, c.lines)
                init_seen |= strncmp(*l, "enclave-init", 12) == 0;
        ASSERT_TRUE(init_seen);
        ASSERT_TRUE(strv_contains(c.lines, "dev-ok"));
        ASSERT_TRUE(strv_contains(c.lines, "sys-ro"));
        ASSERT_TRUE(strv_contains(c.lines, "resolv-ro"));
        ASSERT_TRUE(strv_contains(c.lines, "DEBIAN_FRONTEND=noninteractive"));
        ASSERT_TRUE(strv_contains(c.lines, "HOME=/root"));
        ASSERT_TRUE(strv_contains(c.lines, "LANG=C.UTF-8"));
        ASSERT_TRUE(strv_contains(c.lines, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"));

        /* The resolver file it was given was shown inside, read-only, and
         * never written into the rootfs. */
        _cleanup_free_ char *inner = NULL;
        _cleanup_free_ char *rootfs_resolv = path_join(rootfs, "etc/resolv.conf");
        ASSERT_TRUE(strv_contains(c.lines, "nameserver 192.0.2.53"));
        ASSERT_OK(read_full_file(rootfs_resolv, 1 << 16, &inner, NULL));
        ASSERT_STREQ(inner, "");

        char now_name[256];
        ASSERT_OK(gethostname(now_name, sizeof now_name));
        ASSERT_STREQ(now_name, host_name);
        ASSERT_FALSE(mounted_below(scratch));
        strv_free(c.lines);
        strv_free(c.infos);
}

TEST(root_inside_is_confined_but_owns_files)
{
        make_world();
        char *cmds[] = {
                "cat /proc/self/uid_map | tr -s ' ' | sed 's/^ //'",
                "mknod /made-node c 1 3 2>/dev/null && echo mknod-worked || echo mknod-refused",
                "mkdir -p /mnt && mount -t tmpfs none /mnt 2>/dev/null && echo tmpfs-ok || echo tmpfs-refused",
                "echo 1 > /proc/sys/kernel/sysrq 2>/dev/null && echo sysctl-worked || echo sysctl-refused",
                "touch /owned-by-root && echo x > /chowned && chown 1234:5678 /chowned && chmod 4755 /chowned",
                NULL,
        };
        Collected c = { 0 };
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_OK_E(run(cmds, &c, NULL, &err), err);
        /* Root inside is a host id of the setup's own block. */
        char map[64];
        snprintf(map, sizeof map, "0 %u 65536", id_base);
        ASSERT_TRUE(strv_contains(c.lines, map));
        ASSERT_TRUE(strv_contains(c.lines, "mknod-refused"));
        ASSERT_TRUE(strv_contains(c.lines, "sysctl-refused"));
        /* No mounts either: the workspace hardening applies. */
        ASSERT_TRUE(strv_contains(c.lines, "tmpfs-refused"));
        struct stat st;
        _cleanup_free_ char *owned = path_join(rootfs, "owned-by-root"), *chowned = path_join(rootfs, "chowned");
        _cleanup_free_ char *node = path_join(rootfs, "made-node");
        ASSERT_OK(stat(owned, &st));
        ASSERT_EQ(st.st_uid, 0);
        ASSERT_EQ(st.st_gid, 0);
        ASSERT_OK(stat(chowned, &st));
        ASSERT_EQ(st.st_uid, 1234);
        ASSERT_EQ(st.st_gid, 5678);
        ASSERT_EQ(st.st_mode & 07777, 04755);
        ASSERT_TRUE(access(node, F_OK) < 0);
        ASSERT_FALSE(mounted_below(scratch));
        strv_free(c.lines);
        strv_free(c.infos);
}

TEST(first_failure_stops_and_is_reported)
{
        make_world();
        char *cmds[] = { "true", "echo before-failure; exit 3", "touch /should-not-exist", NULL };
        Collected c = { 0 };
        _cleanup_error_ Error err = ERROR_INIT;
        SetupResult res;
        ASSERT_EQ(run(cmds, &c, &res, &err), -EIO);
        ASSERT_CONTAINS(error_msg(&err), "setup command 2/3 failed with exit status 3: echo before-failure; exit 3");
        ASSERT_EQ(res.failed_index, 1);
        ASSERT_EQ(res.exit_status, 3);
        ASSERT_EQ(res.commands_run, 2);
        ASSERT_TRUE(strv_contains(c.lines, "before-failure"));
        _cleanup_free_ char *p = path_join(rootfs, "should-not-exist");
        ASSERT_TRUE(access(p, F_OK) < 0);
        ASSERT_FALSE(mounted_below(scratch));
        strv_free(c.lines);
        strv_free(c.infos);
}

TEST(signal_death_reports_128_plus_signal)
{
        make_world();
        char *cmds[] = { "kill -9 $$", NULL };
        Collected c = { 0 };
        _cleanup_error_ Error err = ERROR_INIT;
        SetupResult res;
        ASSERT_EQ(run(cmds, &c, &res, &err), -EIO);
        ASSERT_EQ(res.exit_status, 128 + SIGKILL);
        ASSERT_CONTAINS(error_msg(&err), "exit status 137");
        strv_free(c.lines);
        strv_free(c.infos);
}

static bool process_with_cmdline(const char *needle)
{
        _cleanup_closedir_ DIR *d = opendir("/proc");
        struct dirent *de;
        while (d && (de = readdir(d))) {
                if (de->d_name[0] < '0' || de->d_name[0] > '9')
                        continue;
                char path[300];
                snprintf(path, sizeof path, "/proc/%s/cmdline", de->d_name);
                _cleanup_free_ char *buf = NULL;
                size_t len = 0;
                if (read_full_file(path, 4096, &buf, &len) < 0)
                        continue;
                for (size_t i = 0; i + 1 < len; i++)
                        if (buf[i] == 0)
                                buf[i] = ' ';
                if (strstr(buf, needle))
                        return true;
        }
        return false;
}

TEST(cancel_kills_the_whole_namespace)
{
        make_world();
        char *cmds[] = { "sleep 31337 & echo started; sleep 31337", "touch /after-cancel", NULL };
        Collected c = { .cancel_on_output = true };
        _cleanup_error_ Error err = ERROR_INIT;
        time_t t0 = time(NULL);
        ASSERT_EQ(run(cmds, &c, NULL, &err), -ECANCELED);
        ASSERT_TRUE(time(NULL) - t0 < 10);
        ASSERT_FALSE(process_with_cmdline("sleep 31337"));
        _cleanup_free_ char *p = path_join(rootfs, "after-cancel");
        ASSERT_TRUE(access(p, F_OK) < 0);
        ASSERT_FALSE(mounted_below(scratch));
        strv_free(c.lines);
        strv_free(c.infos);
}

TEST(missing_shell_is_a_clear_error)
{
        if (geteuid() != 0)
                SKIP("needs root");
        char tmpl[] = "/tmp/enctest-setup-empty-XXXXXX";
        ASSERT_NOT_NULL(mkdtemp(tmpl));
        make_world();
        char *cmds[] = { "true", NULL };
        _cleanup_error_ Error err = ERROR_INIT;
        SetupTarget t = target_for(tmpl);
        int r = setup_run(&t, cmds, NULL, NULL, &err);
        (void) rm_rf(tmpl);
        ASSERT_TRUE(r < 0);
        ASSERT_CONTAINS(error_msg(&err), "/bin/sh");
        ASSERT_CONTAINS(error_msg(&err), "setup command 1/1");
}

/* The issue-15 reproduction: with an identity user map, setup's root was
 * host uid 0 to sysctl and wrote kernel.core_pattern. Whatever the
 * values, they must be the same after. */
TEST(host_sysctls_unchanged)
{
        make_world();
        static const char *const knobs[] = { "/proc/sys/kernel/core_pattern", "/proc/sys/kernel/sysrq" };
        char *before[2] = { NULL, NULL };
        for (size_t i = 0; i < 2; i++)
                (void) read_full_file(knobs[i], 4096, &before[i], NULL);
        ASSERT_NOT_NULL(before[0]);
        char *cmds[] = {
                "echo '|/bin/enctest-core %p' > /proc/sys/kernel/core_pattern 2>/dev/null && echo core-written || "
                "echo core-refused",
                "if [ -e /proc/sys/kernel/sysrq ]; then echo 176 > /proc/sys/kernel/sysrq 2>/dev/null && "
                "echo sysrq-written || echo sysrq-refused; else echo sysrq-absent; fi",
                NULL,
        };
        Collected c = { 0 };
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_OK_E(run(cmds, &c, NULL, &err), err);
        ASSERT_TRUE(strv_contains(c.lines, "core-refused"));
        ASSERT_TRUE(strv_contains(c.lines, "sysrq-refused") || strv_contains(c.lines, "sysrq-absent"));
        for (size_t i = 0; i < 2; i++) {
                _cleanup_free_ char *after = NULL;
                (void) read_full_file(knobs[i], 4096, &after, NULL);
                if (before[i])
                        ASSERT_STREQ(after, before[i]);
                free(before[i]);
        }
        strv_free(c.lines);
        strv_free(c.infos);
}

/* The workspace hardening: capability bounding set, no_new_privs,
 * seccomp; its own network namespace (without the daemon's hook: lo
 * only) where the host's 127.0.0.1 is out of reach, beside a listener
 * of its own that answers (the positive control). */
TEST(hardened_and_in_its_own_network)
{
        make_world();
        int l = t_listen(T_HOST, "127.0.0.1", 0);
        ASSERT_TRUE(l >= 0);
        struct sockaddr_in a;
        socklen_t alen = sizeof a;
        ASSERT_OK(getsockname(l, (struct sockaddr *) &a, &alen));
        char probe[256];
        snprintf(probe, sizeof probe,
                 "nc -w 1 127.0.0.1 %u </dev/null >/dev/null 2>&1 && echo host-reached || echo host-unreachable",
                 (unsigned) ntohs(a.sin_port));
        char *cmds[] = {
                "grep -E '^(CapBnd|NoNewPrivs|Seccomp):' /proc/self/status | tr -s '\\t' ' '",
                "ls /sys/class/net | tr '\\n' ' '; echo",
                probe,
                "(echo own-listener | nc -l -p 7777 >/dev/null 2>&1 &) ; sleep 0.2; nc -w 1 127.0.0.1 7777 </dev/null",
                NULL,
        };
        Collected c = { 0 };
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_OK_E(run(cmds, &c, NULL, &err), err);
        STRV_FOREACH(line, c.lines)
                printf("# %s\n", *line);
        ASSERT_TRUE(strv_contains(c.lines, "CapBnd: 00000000a80425fb"));
        ASSERT_TRUE(strv_contains(c.lines, "NoNewPrivs: 1"));
        ASSERT_TRUE(strv_contains(c.lines, "Seccomp: 2"));
        ASSERT_TRUE(strv_contains(c.lines, "lo "));
        ASSERT_TRUE(strv_contains(c.lines, "host-unreachable"));
        ASSERT_TRUE(strv_contains(c.lines, "own-listener"));
        close(l);
        strv_free(c.lines);
        strv_free(c.infos);
}

/* A device node in the rootfs (debootstrap makes some; an import could
 * bring any) is dead inside: the setup's root mount is nodev. The host
 * can use the same node (the positive control). */
TEST(device_nodes_in_the_rootfs_are_dead)
{
        make_world();
        _cleanup_free_ char *node = path_join(rootfs, "enctest-null");
        ASSERT_OK(mknod(node, S_IFCHR | 0666, makedev(1, 3)) < 0 ? -errno : 0);
        int fd = open(node, O_WRONLY | O_CLOEXEC);
        ASSERT_TRUE(fd >= 0);
        close(fd);
        char *cmds[] = { "echo x > /enctest-null 2>/dev/null && echo node-works || echo node-dead", NULL };
        Collected c = { 0 };
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_OK_E(run(cmds, &c, NULL, &err), err);
        ASSERT_TRUE(strv_contains(c.lines, "node-dead"));
        unlink(node);
        strv_free(c.lines);
        strv_free(c.infos);
}

/* In a mount namespace of the caller's own: a rootfs on a shared mount
 * (as on any systemd host), one command. The rootfs is removed with the
 * scratch dir. Returns the exit status for
 * the parent: 0 when the command ran and printed its line. */
static int shared_rootfs_child(void)
{
        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                return 2;
        _cleanup_free_ char *dir = path_join(scratch, "shared");
        /* A bind mount of the scratch dir's own file system: tmpfs takes
         * idmapped mounts only from Linux 6.3. */
        if (mkdir(dir, 0755) < 0 || mount(dir, dir, NULL, MS_BIND, NULL) < 0 ||
            mount(NULL, dir, NULL, MS_SHARED, NULL) < 0)
                return 3;
        _cleanup_free_ char *root = path_join(dir, "rootfs");
        make_busybox_rootfs(root);
        char *cmds[] = { "echo on-a-shared-mount", NULL };
        Collected c = { 0 };
        _cleanup_error_ Error err = ERROR_INIT;
        StorageMonitor mon = { .progress = collect, .userdata = &c, .cancel = &c.cancel };
        SetupTarget t = target_for(root);
        if (setup_run(&t, cmds, &mon, NULL, &err) < 0) {
                printf("# %s\n", error_msg(&err));
                return 1;
        }
        return strv_contains(c.lines, "on-a-shared-mount") ? 0 : 4;
}

/* systemd makes every mount shared; the setup's root, a clone of the
 * rootfs's mount, must still become the root of its namespace (it was
 * a peer of the host's mount, and pivot_root refused it: EINVAL). */
TEST(a_rootfs_on_a_shared_mount)
{
        make_world();
        fflush(stdout);
        pid_t pid = fork();
        ASSERT_TRUE(pid >= 0);
        if (pid == 0) {
                int r = shared_rootfs_child();
                fflush(stdout);
                _exit(r);
        }
        int status;
        ASSERT_EQ(waitpid(pid, &status, 0), pid);
        _cleanup_free_ char *dir = path_join(scratch, "shared");
        (void) rmdir(dir);
        ASSERT_TRUE(WIFEXITED(status));
        ASSERT_EQ(WEXITSTATUS(status), 0);
}
