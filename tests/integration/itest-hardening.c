/* Root integration test of workspace hardening against the real kernel.
 *
 * A child is cloned into new user (mapped to an unprivileged host range),
 * mount, PID, network, UTS and IPC namespaces, mounts its own /proc and
 * /sys, applies the masks, rlimits and hardening_apply_final() exactly as
 * a workspace does, and execs tests/helpers/hardening-probe. Every probe
 * check becomes one test here. The same probe then runs in the same
 * namespaces WITHOUT hardening: calls it reports as possible there prove
 * that the filter, not the environment, denies them.
 *
 * The probe runs before main() (from a constructor) because test.h
 * prints the plan first and each relayed check is its own test case. */
#include "base/fs.h"
#include "base/process.h"
#include "base/str.h"
#include "runtime/hardening.h"
#include "runtime/lsm.h"
#include "runtime/rlimits.h"
#include "runtime/seccomp.h"
#include "base/syscalls.h"
#include "test.h"

#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <linux/filter.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

/* Host ids of the test's user namespace: far above real users and
 * Enclave's own allocations. */
#define TEST_ID_BASE 3900000000u
#define TEST_ID_COUNT 65536

typedef struct Relayed {
        char *name;
        bool ok;
} Relayed;

static Relayed relayed[200];
static size_t n_relayed, next_relayed;
static char tmp_dir[64];

static void relay_test(void)
{
        const Relayed *r = &relayed[next_relayed++];
        if (!r->ok)
                TEST_FAIL("%s", r->name);
}

static void relay(bool ok, const char *fmt, ...) _printf_(2, 3);
static void relay(bool ok, const char *fmt, ...)
{
        if (n_relayed >= ELEMENTSOF(relayed))
                return;
        va_list ap;
        va_start(ap, fmt);
        char *name;
        if (vasprintf(&name, fmt, ap) < 0)
                name = NULL;
        va_end(ap);
        relayed[n_relayed] = (Relayed) { name ? name : (char *) "(out of memory)", ok };
        test_register(relayed[n_relayed].name, relay_test);
        n_relayed++;
}

static void child_fail(int fd, const char *what, int r)
{
        dprintf(fd, "not ok - setup %s: %s\n", what, strerror(-r));
        _exit(1);
}

/* Runs in the cloned child: pid 1 of its PID namespace. */
_noreturn_ static void probe_child(int sync_fd, int out_fd, const char *probe, const HardeningPlan *plan)
{
        char c;
        int r;
        if (read(sync_fd, &c, 1) != 1)
                _exit(1);
        if (sys_setresgid(0, 0, 0) < 0 || sys_setgroups(0, NULL) < 0 || sys_setresuid(0, 0, 0) < 0)
                child_fail(out_fd, "becoming root of the user namespace", -errno);
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                child_fail(out_fd, "making mounts private", -errno);
        if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
                child_fail(out_fd, "mounting /proc", -errno);
        if (mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
                child_fail(out_fd, "mounting /sys", -errno);
        if (plan) {
                const char *what = NULL;
                r = hardening_apply_masks_full(&what);
                if (r < 0)
                        child_fail(out_fd, what ? what : "masks", r);
                Limits l = { .max_open_files = 512, .cpu_seconds = 600 };
                r = rlimits_apply_full(&l, 0, &what);
                if (r < 0)
                        child_fail(out_fd, what, r);
                r = hardening_apply_final_full(plan, &what);
                if (r < 0)
                        child_fail(out_fd, what, r);
        }
        if (dup2(out_fd, STDOUT_FILENO) < 0)
                _exit(1);
        char *argv[] = { (char *) probe, (char *) (plan ? "--masks" : "--plain"), NULL };
        char *envp[] = { NULL };
        execve(probe, argv, envp);
        dprintf(STDOUT_FILENO, "not ok - setup executing %s: %s\n", probe, strerror(errno));
        _exit(1);
}

static int write_map(pid_t pid, const char *file)
{
        char path[64], map[64];
        snprintf(path, sizeof path, "/proc/%d/%s", (int) pid, file);
        snprintf(map, sizeof map, "0 %u %u\n", TEST_ID_BASE, TEST_ID_COUNT);
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        return loop_write(fd, map, strlen(map));
}

/* Clone into fresh namespaces, run the probe, return its TAP output. */
static int run_probe(const char *probe, const HardeningPlan *plan, char **ret)
{
        int out[2], sync[2];
        if (pipe2(out, O_CLOEXEC) < 0 || pipe2(sync, O_CLOEXEC) < 0)
                return -errno;
        unsigned long flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWUTS |
                              CLONE_NEWIPC;
        pid_t pid = (pid_t) syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL);
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                close(out[0]);
                close(sync[1]);
                probe_child(sync[0], out[1], probe, plan);
        }
        _cleanup_pid_ pid_t child = pid;
        close(out[1]);
        close(sync[0]);
        int r = write_map(pid, "uid_map");
        if (r == 0)
                r = write_map(pid, "gid_map");
        if (r == 0 && write(sync[1], "x", 1) != 1)
                r = -EPIPE;
        close(sync[1]);
        char *text = NULL;
        if (r == 0)
                r = read_full_fd(out[0], 1 << 20, &text, NULL);
        close(out[0]);
        if (r < 0)
                return r;
        child = 0;
        (void) wait_for_exit(pid);
        *ret = text;
        return 0;
}

/* Checks that must be possible without the filter on any host where
 * user namespaces work: they prove the hardened results come from it. */
static const char *const must_work_unhardened[] = {
        "unshare_newuser", "clone_newuser", "clone3", "mount", "umount2", "name_to_handle_at", "setns",
        "personality_bsd", "personality_addr_no_randomize", "unshare_newns", "fsopen", "open_tree",
        "seccomp_mode", "no_new_privs", "cap_bounding",
};

/* "ok - id rest" or "not ok - id rest": ok flag, id, rest. */
static bool parse_tap(const char *line, bool *ok, char *id, size_t id_size, const char **rest)
{
        const char *p = startswith(line, "ok - ");
        *ok = p != NULL;
        if (!p)
                p = startswith(line, "not ok - ");
        if (!p)
                return false;
        size_t n = strcspn(p, " ");
        if (n >= id_size)
                n = id_size - 1;
        memcpy(id, p, n);
        id[n] = 0;
        *rest = p[n] ? p + n + 1 : "";
        return true;
}

static void relay_output(const char *text, bool hardened)
{
        size_t seen = 0, unhardened_possible = 0;
        bool found[ELEMENTSOF(must_work_unhardened)] = { false };
        _cleanup_strv_free_ char **lines = NULL;
        for (const char *p = text; *p;) {
                const char *end = strchr(p, '\n');
                size_t len = end ? (size_t) (end - p) : strlen(p);
                char line[512], id[128];
                const char *rest;
                bool ok;
                snprintf(line, sizeof line, "%.*s", (int) (len < sizeof line ? len : sizeof line - 1), p);
                p = end ? end + 1 : p + len;
                if (!parse_tap(line, &ok, id, sizeof id, &rest))
                        continue;
                seen++;
                if (hardened) {
                        relay(ok, "hardened: %s %s", id, rest);
                        continue;
                }
                if (!ok)
                        unhardened_possible++;
                for (size_t i = 0; i < ELEMENTSOF(must_work_unhardened); i++)
                        if (streq(id, must_work_unhardened[i])) {
                                found[i] = true;
                                relay(!ok, "unhardened: %s differs without hardening: %s", id, rest);
                        }
        }
        if (hardened) {
                relay(seen >= 60, "hardened: probe reported %zu checks", seen);
                return;
        }
        for (size_t i = 0; i < ELEMENTSOF(must_work_unhardened); i++)
                if (!found[i])
                        relay(false, "unhardened: probe reported %s", must_work_unhardened[i]);
        printf("# without hardening %zu of %zu probe checks were not blocked\n", unhardened_possible, seen);
}

static int probe_path(char *buf, size_t size)
{
        char exe[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n < 0)
                return -errno;
        exe[n] = 0;
        snprintf(buf, size, "%s/helpers/hardening-probe", dirname(exe));
        return access(buf, X_OK) < 0 ? -errno : 0;
}

__attribute__((constructor(200))) static void run_probes(void)
{
        char probe[PATH_MAX];
        _cleanup_error_ Error err = ERROR_INIT;

        snprintf(tmp_dir, sizeof tmp_dir, "/tmp/enctest-hardening-%d", (int) getpid());
        if (probe_path(probe, sizeof probe) < 0) {
                relay(false, "hardening-probe is built (make build/tests/helpers/hardening-probe)");
                return;
        }
        _cleanup_free_ char *cache = path_join(tmp_dir, "cache");
        HardeningConfig cfg = { .cache_dir = cache };
        _cleanup_hardening_plan_ HardeningPlan *plan = NULL;
        int r = hardening_plan_new(&cfg, &plan, &err);
        relay(r == 0, "hardening plan prepared (%s)", r < 0 ? error_msg(&err) : "ok");
        if (r < 0)
                return;

        _cleanup_free_ char *hardened = NULL, *plain = NULL;
        r = run_probe(probe, plan, &hardened);
        relay(r == 0, "hardened probe ran (%s)", r < 0 ? strerror(-r) : "ok");
        if (r == 0)
                relay_output(hardened, true);
        r = run_probe(probe, NULL, &plain);
        relay(r == 0, "unhardened probe ran (%s)", r < 0 ? strerror(-r) : "ok");
        if (r == 0)
                relay_output(plain, false);
}

__attribute__((destructor)) static void cleanup_tmp(void)
{
        if (tmp_dir[0])
                (void) rm_rf(tmp_dir);
}

/* ---- direct tests of the building blocks ---- */

TEST(plan_bpf_is_cached_and_identical)
{
        _cleanup_free_ char *cache = path_join(tmp_dir, "cache2");
        HardeningConfig cfg = { .cache_dir = cache };
        _cleanup_hardening_plan_ HardeningPlan *a = NULL, *b = NULL;
        ASSERT_OK(hardening_plan_new(&cfg, &a, NULL));
        ASSERT_OK(hardening_plan_new(&cfg, &b, NULL));
        size_t na, nb;
        const struct sock_filter *pa = hardening_plan_bpf(a, &na), *pb = hardening_plan_bpf(b, &nb);
        ASSERT_FALSE(hardening_plan_bpf_from_cache(a));
        ASSERT_TRUE(hardening_plan_bpf_from_cache(b));
        ASSERT_TRUE(na > 0);
        ASSERT_EQ(na, nb);
        ASSERT_EQ(memcmp(pa, pb, na * sizeof *pa), 0);
        ASSERT_EQ(hardening_plan_caps(a), 0xa80425fbu);
}

TEST(apparmor_configured_but_absent_is_a_clear_error)
{
        _cleanup_error_ Error err = ERROR_INIT;
        HardeningConfig cfg = { .apparmor_profile = "enclave-workspace" };
        HardeningPlan *p = NULL;
        if (access("/sys/module/apparmor/parameters/enabled", F_OK) == 0)
                SKIP("AppArmor present on this host");
        ASSERT_EQ(hardening_plan_new(&cfg, &p, &err), -EOPNOTSUPP);
        ASSERT_NULL(p);
        ASSERT_CONTAINS(error_msg(&err), "AppArmor profile 'enclave-workspace'");
        ASSERT_CONTAINS(error_msg(&err), "AppArmor is not enabled");
}

TEST(selinux_configured_but_absent_is_a_clear_error)
{
        _cleanup_error_ Error err = ERROR_INIT;
        HardeningConfig cfg = { .selinux_label = "system_u:system_r:container_t:s0" };
        HardeningPlan *p = NULL;
        if (access("/sys/fs/selinux/enforce", F_OK) == 0)
                SKIP("SELinux present on this host");
        ASSERT_EQ(hardening_plan_new(&cfg, &p, &err), -EOPNOTSUPP);
        ASSERT_CONTAINS(error_msg(&err), "SELinux is not enabled");
}

TEST(both_lsm_labels_are_refused)
{
        _cleanup_error_ Error err = ERROR_INIT;
        HardeningConfig cfg = { .apparmor_profile = "a", .selinux_label = "b" };
        HardeningPlan *p = NULL;
        ASSERT_EQ(hardening_plan_new(&cfg, &p, &err), -EINVAL);
        ASSERT_CONTAINS(error_msg(&err), "configure only that one");
}

static void write_text(const char *root, const char *rel, const char *text)
{
        _cleanup_free_ char *p = path_join(root, rel);
        _cleanup_free_ char *dir = strdup(p);
        ASSERT_OK(mkdir_p(dirname(dir), 0755));
        ASSERT_OK(write_file_atomic(p, text, strlen(text), 0644));
}

/* A fake /sys + /proc tree stands in for an AppArmor/SELinux host. */
TEST(lsm_resolution_against_a_fake_host)
{
        _cleanup_free_ char *root = path_join(tmp_dir, "fake-aa");
        write_text(root, "sys/module/apparmor/parameters/enabled", "Y\n");
        write_text(root, "sys/kernel/security/apparmor/profiles",
                   "docker-default (enforce)\nenclave-ws (enforce)\n/usr/bin/man (complain)\n");
        write_text(root, "proc/self/attr/apparmor/exec", "");

        _cleanup_lsm_exec_ LsmExec l = LSM_EXEC_INIT;
        ASSERT_OK(lsm_exec_resolve_at(root, "enclave-ws", NULL, &l, NULL));
        ASSERT_EQ(l.kind, LSM_APPARMOR);
        ASSERT_STREQ(l.value, "exec enclave-ws");
        ASSERT_STREQ(l.attr_path, "/proc/thread-self/attr/apparmor/exec");

        _cleanup_error_ Error err = ERROR_INIT;
        LsmExec m = LSM_EXEC_INIT;
        ASSERT_EQ(lsm_exec_resolve_at(root, "enclave", NULL, &m, &err), -ENOENT);
        ASSERT_CONTAINS(error_msg(&err), "is not loaded on this host");

        _cleanup_free_ char *se = path_join(tmp_dir, "fake-se");
        write_text(se, "sys/fs/selinux/enforce", "1");
        write_text(se, "sys/fs/selinux/context", "");
        _cleanup_lsm_exec_ LsmExec s = LSM_EXEC_INIT;
        ASSERT_OK(lsm_exec_resolve_at(se, NULL, "system_u:system_r:container_t:s0", &s, NULL));
        ASSERT_EQ(s.kind, LSM_SELINUX);
        ASSERT_STREQ(s.attr_path, "/proc/thread-self/attr/exec");
}

TEST(rlimits_are_applied)
{
        pid_t pid = fork();
        ASSERT_TRUE(pid >= 0);
        if (pid == 0) {
                Limits l = { .cpu_seconds = 30, .memory_mb = 4096, .max_procs = 77, .max_open_files = 99 };
                struct rlimit rl, as_before;
                if (getrlimit(RLIMIT_AS, &as_before) < 0 || rlimits_apply(&l, 0) < 0)
                        _exit(1);
                if (getrlimit(RLIMIT_CPU, &rl) < 0 || rl.rlim_cur != 30 || rl.rlim_max != 30 + RLIMITS_CPU_GRACE_SECONDS)
                        _exit(2);
                /* memory_mb is the cgroup's: address space stays as it was. */
                if (getrlimit(RLIMIT_AS, &rl) < 0 || rl.rlim_cur != as_before.rlim_cur)
                        _exit(3);
                if (getrlimit(RLIMIT_NPROC, &rl) < 0 || rl.rlim_cur != 77 || rl.rlim_max != 77)
                        _exit(4);
                if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur != 99)
                        _exit(5);
                /* Unset fields keep what was inherited. */
                Limits none = { 0 };
                if (rlimits_apply(&none, 0) < 0 || getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur != 99)
                        _exit(6);
                _exit(0);
        }
        ASSERT_EQ(wait_for_exit(pid), 0);
}
