/* Escape-oriented probe for workspace hardening. Static, standalone (it
 * runs inside workspaces, whatever their libc), speaks TAP.
 *
 * Every check states what a hardened workspace must see: each denied
 * system call fails with EPERM (clone3: ENOSYS), the capability sets
 * are the documented default, no_new_privs is set, seccomp is in filter
 * mode, masked paths read empty and read-only paths refuse writes.
 * Each call runs in a forked child, so a call that unexpectedly works
 * (a new namespace, a personality change) does not change the probe.
 *
 * Line format: "ok - <id> <what>" / "not ok - <id> <what>"; <id> is one
 * word so a test can compare a hardened and an unhardened run. */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int failures;

static void report(int ok, const char *id, const char *what, const char *detail)
{
        printf("%sok - %s %s%s\n", ok ? "" : "not ", id, what, detail);
        if (!ok)
                failures++;
}

typedef long (*CallFn)(void);

/* Run fn in a child; returns the call's result as 0 (success) or -errno. */
static long run_isolated(CallFn fn)
{
        int pfd[2];
        if (pipe(pfd) < 0)
                return -errno;
        pid_t pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                close(pfd[0]);
                errno = 0;
                long r = fn();
                long v = r < 0 ? -(long) errno : 0;
                (void) !write(pfd[1], &v, sizeof v);
                _exit(0);
        }
        close(pfd[1]);
        long v = -EIO;
        if (read(pfd[0], &v, sizeof v) != sizeof v)
                v = -EIO;
        close(pfd[0]);
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        return v;
}

static void expect_error(const char *id, CallFn fn, int want)
{
        long r = run_isolated(fn);
        char detail[96];
        if (r == -want)
                snprintf(detail, sizeof detail, "%s", strerror(want));
        else if (r == 0)
                snprintf(detail, sizeof detail, "nothing: the call succeeded (want %s)", strerror(want));
        else
                snprintf(detail, sizeof detail, "%s (want %s)", strerror((int) -r), strerror(want));
        report(r == -want, id, "denied with ", detail);
}

static void expect_success(const char *id, CallFn fn)
{
        long r = run_isolated(fn);
        report(r == 0, id, "works: ", r == 0 ? "yes" : strerror((int) -r));
}

/* ---- the calls; arguments are harmless, so that without a filter
 * the call fails with its own error or does nothing lasting ---- */

static char empty[] = "";
static long c_init_module(void) { return syscall(SYS_init_module, NULL, 0, empty); }
static long c_finit_module(void) { return syscall(SYS_finit_module, -1, empty, 0); }
static long c_delete_module(void) { return syscall(SYS_delete_module, "enctest_none", O_NONBLOCK); }
static long c_kexec_load(void) { return syscall(SYS_kexec_load, 0, 0, NULL, 0); }
static long c_kexec_file_load(void) { return syscall(SYS_kexec_file_load, -1, -1, 0, empty, 0); }
static long c_bpf(void) { char attr[128] = { 0 }; return syscall(SYS_bpf, 0 /* MAP_CREATE */, attr, sizeof attr); }
static long c_perf_event_open(void) { char attr[128] = { 0 }; return syscall(SYS_perf_event_open, attr, 0, -1, -1, 0); }
static long c_keyctl(void) { return syscall(SYS_keyctl, 0 /* GET_KEYRING_ID */, -3 /* session */, 0); }
static long c_add_key(void) { return syscall(SYS_add_key, "enctest-no-such-type", "x", "x", 1, -2); }
static long c_request_key(void) { return syscall(SYS_request_key, "enctest-no-such-type", "x", NULL, 0); }
static long c_userfaultfd(void) { return syscall(SYS_userfaultfd, O_CLOEXEC | 1 /* USER_MODE_ONLY */); }
static long c_io_uring_setup(void) { char p[120] = { 0 }; return syscall(SYS_io_uring_setup, 1, p); }
static long c_io_uring_enter(void) { return syscall(SYS_io_uring_enter, -1, 0, 0, 0, NULL, 0); }
static long c_io_uring_register(void) { return syscall(SYS_io_uring_register, -1, 0, NULL, 0); }
static long c_open_by_handle_at(void) { char h[136] = { 0 }; return syscall(SYS_open_by_handle_at, -1, h, 0); }
static long c_name_to_handle_at(void)
{
        struct { unsigned int bytes; int type; unsigned char h[128]; } fh = { .bytes = 128 };
        int mount_id;
        return syscall(SYS_name_to_handle_at, AT_FDCWD, "/", &fh, &mount_id, 0);
}
static long c_lookup_dcookie(void) { return syscall(SYS_lookup_dcookie, 0, NULL, 0); }
static long c_uselib(void) { return syscall(SYS_uselib, "/enctest-none"); }
static long c_reboot(void) { return syscall(SYS_reboot, 0, 0, 0, NULL); /* bad magic */ }
static long c_swapon(void) { return syscall(SYS_swapon, "/enctest-none", 0); }
static long c_swapoff(void) { return syscall(SYS_swapoff, "/enctest-none"); }
static long c_settimeofday(void) { return syscall(SYS_settimeofday, NULL, NULL); }
static long c_clock_settime(void) { return syscall(SYS_clock_settime, CLOCK_REALTIME, NULL); }
static long c_clock_adjtime(void) { return syscall(SYS_clock_adjtime, CLOCK_REALTIME, NULL); }
static long c_adjtimex(void) { return syscall(SYS_adjtimex, NULL); }
static long c_acct(void) { return syscall(SYS_acct, NULL); }
static long c_quotactl(void) { return syscall(SYS_quotactl, 0, NULL, 0, NULL); }
#ifdef SYS_quotactl_fd
static long c_quotactl_fd(void) { return syscall(SYS_quotactl_fd, -1, 0, 0, NULL); }
#endif
static long c_nfsservctl(void) { return syscall(SYS_nfsservctl, 0, NULL, NULL); }
static long c_syslog(void) { return syscall(SYS_syslog, 10 /* SIZE_BUFFER */, NULL, 0); }
#if defined(__x86_64__)
static long c_iopl(void) { return syscall(SYS_iopl, 0); }
static long c_ioperm(void) { return syscall(SYS_ioperm, 0, 0, 0); }
static long c_create_module(void) { return syscall(SYS_create_module, NULL, 0); }
static long c_get_kernel_syms(void) { return syscall(SYS_get_kernel_syms, NULL); }
static long c_query_module(void) { return syscall(SYS_query_module, NULL, 0, NULL, 0, NULL); }
#endif
static long c_mount(void) { return syscall(SYS_mount, "enctest", "/enctest-none", "tmpfs", 0, NULL); }
static long c_umount2(void) { return syscall(SYS_umount2, "/enctest-none", 0); }
static long c_pivot_root(void) { return syscall(SYS_pivot_root, "/enctest-none", "/enctest-none"); }
static long c_fsopen(void) { return syscall(SYS_fsopen, "tmpfs", 0); }
static long c_fsconfig(void) { return syscall(SYS_fsconfig, -1, 0, NULL, NULL, 0); }
static long c_fsmount(void) { return syscall(SYS_fsmount, -1, 0, 0); }
static long c_fspick(void) { return syscall(SYS_fspick, AT_FDCWD, "/enctest-none", 0); }
static long c_open_tree(void) { return syscall(SYS_open_tree, AT_FDCWD, "/enctest-none", 0); }
static long c_move_mount(void) { return syscall(SYS_move_mount, -1, "", -1, "", 0); }
static long c_mount_setattr(void) { return syscall(SYS_mount_setattr, -1, "", 0, NULL, 0); }
static long c_open_tree_attr(void) { return syscall(467, AT_FDCWD, "/enctest-none", 0, NULL, 0); }
static long c_setns(void) { return syscall(SYS_setns, -1, 0); }
static long c_unshare_user(void) { return syscall(SYS_unshare, CLONE_NEWUSER); }
static long c_unshare_mount(void) { return syscall(SYS_unshare, CLONE_NEWNS); }
static long c_unshare_net(void) { return syscall(SYS_unshare, CLONE_NEWNET); }
static long c_clone_newuser(void)
{
        long r = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, NULL, NULL, NULL, NULL);
        if (r == 0)
                _exit(0);
        if (r > 0)
                waitpid((pid_t) r, NULL, 0);
        return r;
}
static long c_clone3(void)
{
        struct clone_args a = { .exit_signal = SIGCHLD };
        long r = syscall(SYS_clone3, &a, sizeof a);
        if (r == 0)
                _exit(0);
        if (r > 0)
                waitpid((pid_t) r, NULL, 0);
        return r;
}
static long c_personality_bsd(void) { return syscall(SYS_personality, 0x0006 /* PER_BSD */); }
static long c_personality_norandom(void) { return syscall(SYS_personality, ADDR_NO_RANDOMIZE); }
static long c_personality_high(void) { return syscall(SYS_personality, 0x100000000UL); }
static long c_personality_query(void) { return syscall(SYS_personality, 0xffffffffUL) < 0 ? -1 : 0; }
static long c_personality_linux(void) { return syscall(SYS_personality, PER_LINUX); }
static long c_personality_linux32(void) { return syscall(SYS_personality, PER_LINUX32); }
#if defined(__x86_64__)
/* getpid through the i386 entry point (int 0x80, nr 20). */
static long c_i386_entry(void)
{
        long r;
        __asm__ volatile("int $0x80" : "=a"(r) : "a"(20L) : "memory", "rcx", "r11", "r8", "r9", "r10");
        if (r < 0 && r > -4096) {
                errno = (int) -r;
                return -1;
        }
        return 0;
}
/* getpid through the x32 entry point. */
static long c_x32_entry(void) { return syscall(0x40000000L | SYS_getpid); }
#endif
static long c_fork(void)
{
        pid_t p = fork();
        if (p == 0)
                _exit(0);
        if (p > 0)
                waitpid(p, NULL, 0);
        return p < 0 ? -1 : 0;
}
static long c_ptrace_traceme(void) { return ptrace(PTRACE_TRACEME, 0, NULL, NULL); }

typedef struct Check {
        const char *id;
        CallFn fn;
        int want; /* errno, or 0 for "must work" */
} Check;

static const Check checks[] = {
        { "init_module", c_init_module, EPERM },
        { "finit_module", c_finit_module, EPERM },
        { "delete_module", c_delete_module, EPERM },
        { "kexec_load", c_kexec_load, EPERM },
        { "kexec_file_load", c_kexec_file_load, EPERM },
        { "bpf", c_bpf, EPERM },
        { "perf_event_open", c_perf_event_open, EPERM },
        { "keyctl", c_keyctl, EPERM },
        { "add_key", c_add_key, EPERM },
        { "request_key", c_request_key, EPERM },
        { "userfaultfd", c_userfaultfd, EPERM },
        { "io_uring_setup", c_io_uring_setup, EPERM },
        { "io_uring_enter", c_io_uring_enter, EPERM },
        { "io_uring_register", c_io_uring_register, EPERM },
        { "open_by_handle_at", c_open_by_handle_at, EPERM },
        { "name_to_handle_at", c_name_to_handle_at, EPERM },
        { "lookup_dcookie", c_lookup_dcookie, EPERM },
        { "uselib", c_uselib, EPERM },
        { "reboot", c_reboot, EPERM },
        { "swapon", c_swapon, EPERM },
        { "swapoff", c_swapoff, EPERM },
        { "settimeofday", c_settimeofday, EPERM },
        { "clock_settime", c_clock_settime, EPERM },
        { "clock_adjtime", c_clock_adjtime, EPERM },
        { "adjtimex", c_adjtimex, EPERM },
        { "acct", c_acct, EPERM },
        { "quotactl", c_quotactl, EPERM },
#ifdef SYS_quotactl_fd
        { "quotactl_fd", c_quotactl_fd, EPERM },
#endif
        { "nfsservctl", c_nfsservctl, EPERM },
        { "syslog", c_syslog, EPERM },
#if defined(__x86_64__)
        { "iopl", c_iopl, EPERM },
        { "ioperm", c_ioperm, EPERM },
        { "create_module", c_create_module, EPERM },
        { "get_kernel_syms", c_get_kernel_syms, EPERM },
        { "query_module", c_query_module, EPERM },
#endif
        { "mount", c_mount, EPERM },
        { "umount2", c_umount2, EPERM },
        { "pivot_root", c_pivot_root, EPERM },
        { "fsopen", c_fsopen, EPERM },
        { "fsconfig", c_fsconfig, EPERM },
        { "fsmount", c_fsmount, EPERM },
        { "fspick", c_fspick, EPERM },
        { "open_tree", c_open_tree, EPERM },
        { "move_mount", c_move_mount, EPERM },
        { "mount_setattr", c_mount_setattr, EPERM },
        { "open_tree_attr", c_open_tree_attr, EPERM },
        { "setns", c_setns, EPERM },
        { "unshare_newuser", c_unshare_user, EPERM },
        { "unshare_newns", c_unshare_mount, EPERM },
        { "unshare_newnet", c_unshare_net, EPERM },
        { "clone_newuser", c_clone_newuser, EPERM },
        { "clone3", c_clone3, ENOSYS },
        { "personality_bsd", c_personality_bsd, EPERM },
        { "personality_addr_no_randomize", c_personality_norandom, EPERM },
        { "personality_upper_bits", c_personality_high, EPERM },
#if defined(__x86_64__)
        { "i386_entry", c_i386_entry, EPERM },
        { "x32_entry", c_x32_entry, EPERM },
#endif
        /* What must keep working. */
        { "personality_query", c_personality_query, 0 },
        { "personality_linux", c_personality_linux, 0 },
        { "personality_linux32", c_personality_linux32, 0 },
        { "fork", c_fork, 0 },
        { "ptrace_traceme", c_ptrace_traceme, 0 },
};

/* ---- /proc/self/status ---- */

static int status_field(const char *name, char *out, size_t size)
{
        FILE *f = fopen("/proc/self/status", "re");
        if (!f)
                return -errno;
        char line[256];
        size_t n = strlen(name);
        int r = -ENOENT;
        while (fgets(line, sizeof line, f))
                if (strncmp(line, name, n) == 0 && line[n] == ':') {
                        char *v = line + n + 1;
                        v += strspn(v, " \t");
                        v[strcspn(v, "\n")] = 0;
                        snprintf(out, size, "%s", v);
                        r = 0;
                        break;
                }
        fclose(f);
        return r;
}

static void expect_status(const char *id, const char *field, const char *want)
{
        char v[128] = "(missing)";
        (void) status_field(field, v, sizeof v);
        char detail[256];
        snprintf(detail, sizeof detail, "%s: %s (want %s)", field, v, want);
        report(strcmp(v, want) == 0, id, "", detail);
}

/* ---- masked and read-only paths ---- */

static void expect_masked_file(const char *path)
{
        char id[128], detail[160], buf[64];
        snprintf(id, sizeof id, "masked:%s", path);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                int err = errno;
                snprintf(detail, sizeof detail, "cannot be opened (%s)", strerror(err));
                report(err == ENOENT || err == EACCES || err == EPERM, id, "", detail);
                return;
        }
        ssize_t n = read(fd, buf, sizeof buf);
        close(fd);
        snprintf(detail, sizeof detail, "reads %zd bytes", n);
        report(n <= 0, id, "", detail);
}

static void expect_masked_dir(const char *path)
{
        char id[128], detail[160];
        snprintf(id, sizeof id, "masked:%s", path);
        struct stat st;
        if (stat(path, &st) < 0) {
                int err = errno;
                snprintf(detail, sizeof detail, "absent (%s)", strerror(err));
                report(err == ENOENT, id, "", detail);
                return;
        }
        /* An empty read-only tmpfs: nothing inside, nothing creatable. */
        char probe[256];
        snprintf(probe, sizeof probe, "%s/enctest-probe", path);
        int made = mkdir(probe, 0700) == 0;
        int err = errno;
        if (made)
                rmdir(probe);
        int entries = 0;
        int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
                char buf[4096];
                long n = syscall(SYS_getdents64, dfd, buf, sizeof buf);
                /* "." and ".." only: two records. */
                for (long off = 0; off < n;) {
                        unsigned short reclen = *(unsigned short *) (buf + off + 16);
                        entries++;
                        off += reclen;
                }
                close(dfd);
        }
        snprintf(detail, sizeof detail, "%d entries, mkdir inside: %s", entries - 2,
                 made ? "worked" : strerror(err));
        report(!made && entries <= 2, id, "", detail);
}

static void expect_readonly(const char *id, const char *path, int dir)
{
        char detail[160];
        int r, err;
        if (dir) {
                char p[256];
                snprintf(p, sizeof p, "%s/enctest-probe", path);
                r = mkdir(p, 0700);
                err = errno;
                if (r == 0)
                        rmdir(p);
        } else {
                r = open(path, O_WRONLY | O_CLOEXEC);
                err = errno;
                if (r >= 0)
                        close(r);
                if (r < 0 && err == ENOENT) {
                        report(1, id, "", "absent on this kernel");
                        return;
                }
        }
        /* EACCES is fine too: without CAP_NET_ADMIN or host root, sysctl
         * files refuse writes before the mount is even asked. */
        snprintf(detail, sizeof detail, "write refused with %s", r < 0 ? strerror(err) : "nothing (it worked)");
        report(r < 0 && (err == EROFS || err == EACCES), id, "", detail);
}

static void expect_readonly_mount(const char *id, const char *path)
{
        struct statvfs sv;
        if (statvfs(path, &sv) < 0) {
                report(0, id, "statvfs: ", strerror(errno));
                return;
        }
        report((sv.f_flag & ST_RDONLY) != 0, id, "mounted ", (sv.f_flag & ST_RDONLY) ? "read-only" : "read-write");
}

int main(int argc, char **argv)
{
        int with_masks = argc > 1 && strcmp(argv[1], "--masks") == 0;
        setvbuf(stdout, NULL, _IOLBF, 0);

        for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++) {
                if (checks[i].want)
                        expect_error(checks[i].id, checks[i].fn, checks[i].want);
                else
                        expect_success(checks[i].id, checks[i].fn);
        }

        /* Docker's default set: CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID
         * SETUID SETPCAP NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD
         * AUDIT_WRITE SETFCAP. */
        expect_status("cap_effective", "CapEff", "00000000a80425fb");
        expect_status("cap_permitted", "CapPrm", "00000000a80425fb");
        expect_status("cap_bounding", "CapBnd", "00000000a80425fb");
        expect_status("cap_inheritable", "CapInh", "0000000000000000");
        expect_status("cap_ambient", "CapAmb", "0000000000000000");
        expect_status("no_new_privs", "NoNewPrivs", "1");
        expect_status("seccomp_mode", "Seccomp", "2");

        if (with_masks) {
                const char *files[] = { "/proc/kallsyms", "/proc/kcore", "/proc/modules", "/proc/keys",
                                        "/proc/key-users", "/proc/timer_list", "/proc/latency_stats",
                                        "/proc/config.gz", "/sys/kernel/vmcoreinfo", "/sys/kernel/notes" };
                const char *dirs[] = { "/proc/acpi", "/proc/scsi", "/sys/firmware", "/sys/module",
                                       "/sys/kernel/debug", "/sys/kernel/security", "/sys/fs/bpf",
                                       "/sys/kernel/btf", "/sys/kernel/slab", "/sys/fs/pstore", "/proc/asound" };
                for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
                        expect_masked_file(files[i]);
                for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
                        expect_masked_dir(dirs[i]);
                /* sysctl files check permissions of their own before the
                 * mount is consulted, so look at the mount itself too. */
                expect_readonly_mount("readonly-mount:/proc/sys", "/proc/sys");
                expect_readonly_mount("readonly-mount:/sys", "/sys");
                expect_readonly("readonly:/proc/sys", "/proc/sys/net/ipv4/ip_forward", 0);
                expect_readonly("readonly:/proc/sysrq-trigger", "/proc/sysrq-trigger", 0);
                expect_readonly("readonly:/sys", "/sys/kernel", 1);
        }
        printf("# %d failed\n", failures);
        return failures ? 1 : 0;
}
