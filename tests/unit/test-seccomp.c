/* The seccomp policy: generation, caching, and what the BPF does when
 * loaded (in a forked child: no_new_privs + filter need no privileges). */
#include "base/fs.h"
#include "base/process.h"
#include "runtime/seccomp.h"
#include "test.h"

#include <sched.h>
#include <signal.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

static char *make_tmp(void)
{
        char *d = strdup("/tmp/enctest-seccomp-XXXXXX");
        if (d && !mkdtemp(d)) {
                free(d);
                return NULL;
        }
        return d;
}

TEST(build_gives_nonempty_bpf)
{
        _cleanup_seccomp_filter_ SeccompFilter f = SECCOMP_FILTER_INIT;
        ASSERT_OK(seccomp_filter_build(&f, NULL));
        ASSERT_TRUE(f.n_insns > 10);
        ASSERT_TRUE(f.n_insns <= BPF_MAXINSNS);
        ASSERT_FALSE(f.from_cache);
        /* Deterministic: a second build is byte for byte the same. */
        _cleanup_seccomp_filter_ SeccompFilter g = SECCOMP_FILTER_INIT;
        ASSERT_OK(seccomp_filter_build(&g, NULL));
        ASSERT_EQ(f.n_insns, g.n_insns);
        ASSERT_EQ(memcmp(f.insns, g.insns, f.n_insns * sizeof *f.insns), 0);
}

TEST(cache_is_used_second_time_and_identical)
{
        _cleanup_free_ char *dir = make_tmp();
        ASSERT_NOT_NULL(dir);
        _cleanup_free_ char *cache = path_join(dir, "cache");
        _cleanup_seccomp_filter_ SeccompFilter a = SECCOMP_FILTER_INIT, b = SECCOMP_FILTER_INIT;
        ASSERT_OK(seccomp_filter_get(cache, &a, NULL));
        ASSERT_FALSE(a.from_cache);
        _cleanup_free_ char *path = seccomp_filter_cache_path(cache);
        ASSERT_EQ(access(path, R_OK), 0);
        ASSERT_OK(seccomp_filter_get(cache, &b, NULL));
        ASSERT_TRUE(b.from_cache);
        ASSERT_EQ(a.n_insns, b.n_insns);
        ASSERT_EQ(memcmp(a.insns, b.insns, a.n_insns * sizeof *a.insns), 0);

        /* A damaged cache file is rebuilt, never loaded. */
        _cleanup_free_ char *data = NULL;
        size_t len;
        ASSERT_OK(read_full_file(path, 1 << 20, &data, &len));
        data[len - 1] ^= 0x55;
        ASSERT_OK(write_file_atomic(path, data, len, 0600));
        _cleanup_seccomp_filter_ SeccompFilter c = SECCOMP_FILTER_INIT;
        ASSERT_OK(seccomp_filter_get(cache, &c, NULL));
        ASSERT_FALSE(c.from_cache);
        ASSERT_EQ(memcmp(a.insns, c.insns, a.n_insns * sizeof *a.insns), 0);
        ASSERT_OK(rm_rf(dir));
}

TEST(fingerprint_is_stable_hex)
{
        char a[65], b[65];
        seccomp_policy_fingerprint(a);
        seccomp_policy_fingerprint(b);
        ASSERT_STREQ(a, b);
        ASSERT_EQ(strlen(a), 64);
        ASSERT_EQ(strspn(a, "0123456789abcdef"), 64);
}

TEST(policy_table_names_the_required_calls)
{
        const char *required[] = { "init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load",
                                   "bpf", "perf_event_open", "keyctl", "add_key", "request_key", "userfaultfd",
                                   "io_uring_setup", "io_uring_enter", "io_uring_register", "open_by_handle_at",
                                   "reboot", "swapon", "swapoff", "settimeofday", "clock_settime", "clock_adjtime",
                                   "adjtimex", "mount", "umount2", "fsopen", "open_tree", "move_mount", "setns",
                                   "clone3" };
        size_t n;
        const SeccompDenial *d = seccomp_policy_denials(&n);
        for (size_t i = 0; i < ELEMENTSOF(required); i++) {
                bool found = false;
                for (size_t j = 0; j < n; j++)
                        if (streq(d[j].name, required[i])) {
                                found = true;
                                ASSERT_EQ(d[j].error, streq(required[i], "clone3") ? ENOSYS : EPERM);
                                ASSERT_TRUE(d[j].why && *d[j].why);
                        }
                if (!found)
                        TEST_FAIL("%s missing from the policy", required[i]);
        }
}

/* In the child: 0 when every expectation holds, else the failing step. */
static int expect(long r, int want_errno)
{
        if (want_errno == 0)
                return r >= 0 ? 0 : 1;
        return r < 0 && errno == want_errno ? 0 : 1;
}

static int child_checks(const SeccompFilter *f)
{
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || seccomp_filter_install(f->insns, f->n_insns) < 0)
                return 100;
        /* personality: only PER_LINUX, PER_LINUX32 and the query pass. */
        unsigned long allowed[] = { 0, 8, 0xffffffffUL };
        for (size_t i = 0; i < ELEMENTSOF(allowed); i++)
                if (expect(syscall(SYS_personality, allowed[i]), 0))
                        return 10 + (int) i;
        unsigned long denied[] = { 1, 2, 6, 7, 9, 0xc, 0x10, 0x18, 0x40000, 0x20000, 0x20008, ADDR_NO_RANDOMIZE,
                                   0x80000000UL, 0xfffffffeUL, 0x7fffffffUL, 0xfffffff7UL, 0x100000000UL,
                                   0x100000008UL };
        for (size_t i = 0; i < ELEMENTSOF(denied); i++)
                if (expect(syscall(SYS_personality, denied[i]), EPERM))
                        return 20 + (int) i;
        if (expect(syscall(SYS_personality, 0), 0))
                return 40;
        /* Denied outright. */
        if (expect(syscall(SYS_keyctl, 0, -3, 0), EPERM) || expect(syscall(SYS_bpf, 0, NULL, 0), EPERM) ||
            expect(syscall(SYS_setns, -1, 0), EPERM) || expect(syscall(SYS_umount2, "/enctest-none", 0), EPERM))
                return 50;
        /* Namespace flags, but not other unshare/clone flags. */
        if (expect(syscall(SYS_unshare, CLONE_NEWUSER), EPERM) || expect(syscall(SYS_unshare, CLONE_NEWNET), EPERM) ||
            expect(syscall(SYS_unshare, CLONE_NEWUSER | CLONE_FS), EPERM))
                return 60;
        if (expect(syscall(SYS_unshare, CLONE_FS), 0))
                return 61;
        if (expect(syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, NULL, NULL, NULL, NULL), EPERM))
                return 62;
        struct { uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls; } ca = {
                .exit_signal = SIGCHLD
        };
        if (expect(syscall(SYS_clone3, &ca, sizeof ca), ENOSYS))
                return 63;
        /* libc's fork (clone without namespace flags) works. */
        pid_t p = fork();
        if (p == 0)
                _exit(0);
        if (p < 0 || waitpid(p, NULL, 0) != p)
                return 70;
        return 0;
}

TEST(loaded_filter_denies_and_allows_as_documented)
{
        _cleanup_seccomp_filter_ SeccompFilter f = SECCOMP_FILTER_INIT;
        ASSERT_OK(seccomp_filter_build(&f, NULL));
        pid_t pid = fork();
        ASSERT_TRUE(pid >= 0);
        if (pid == 0)
                _exit(child_checks(&f));
        ASSERT_EQ(wait_for_exit(pid), 0);
}
