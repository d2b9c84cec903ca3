/* Setup commands inside a busybox rootfs: order, output streaming,
 * private namespaces, failure reporting, cancellation, and that nothing
 * stays mounted on the host. Needs root. */
#include "test.h"
#include "itest-common.h"

#include "base/fs.h"
#include "base/str.h"
#include "storage/setup.h"

#include <signal.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <time.h>

/* ASSERT_OK that shows the Error's message on failure. */
static char *scratch;
static char *rootfs;

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
}

__attribute__((destructor)) static void cleanup_world(void)
{
        if (scratch)
                (void) rm_rf(scratch);
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

static int run(char **cmds, Collected *c, SetupResult *res, Error *err)
{
        StorageMonitor mon = { .progress = collect, .userdata = c, .cancel = &c->cancel };
        return setup_run(rootfs, cmds, NULL, &mon, res, err);
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
                "cat /proc/1/comm",
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
        /* nsinit and the shell (and ls, grep): nothing of the host. */
        ASSERT_TRUE(strv_contains(c.lines, "3") || strv_contains(c.lines, "4") || strv_contains(c.lines, "2"));
        ASSERT_TRUE(strv_contains(c.lines, "enclave-nsinit"));
        ASSERT_TRUE(strv_contains(c.lines, "dev-ok"));
        ASSERT_TRUE(strv_contains(c.lines, "sys-ro"));
        ASSERT_TRUE(strv_contains(c.lines, "resolv-ro"));
        ASSERT_TRUE(strv_contains(c.lines, "DEBIAN_FRONTEND=noninteractive"));
        ASSERT_TRUE(strv_contains(c.lines, "HOME=/root"));
        ASSERT_TRUE(strv_contains(c.lines, "LANG=C.UTF-8"));
        ASSERT_TRUE(strv_contains(c.lines, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"));

        /* The host's resolver file was shown inside, never written into the rootfs. */
        _cleanup_free_ char *host_resolv = NULL, *inner = NULL;
        _cleanup_free_ char *rootfs_resolv = path_join(rootfs, "etc/resolv.conf");
        if (read_full_file("/etc/resolv.conf", 1 << 16, &host_resolv, NULL) >= 0 && host_resolv[0]) {
                char *nl = strchr(host_resolv, '\n');
                if (nl)
                        *nl = 0;
                ASSERT_TRUE(strv_contains(c.lines, host_resolv));
        }
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
        ASSERT_TRUE(strv_contains(c.lines, "0 0 4294967295"));
        ASSERT_TRUE(strv_contains(c.lines, "mknod-refused"));
        ASSERT_TRUE(strv_contains(c.lines, "sysctl-refused"));
        /* A mount of its own is fine: it lives in the namespace. */
        ASSERT_TRUE(strv_contains(c.lines, "tmpfs-ok"));
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
        char *cmds[] = { "true", NULL };
        _cleanup_error_ Error err = ERROR_INIT;
        int r = setup_run(tmpl, cmds, NULL, NULL, NULL, &err);
        (void) rm_rf(tmpl);
        ASSERT_TRUE(r < 0);
        ASSERT_CONTAINS(error_msg(&err), "/bin/sh");
        ASSERT_CONTAINS(error_msg(&err), "setup command 1/1");
}
