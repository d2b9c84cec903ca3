/* Attacks on the host boundary, for the tests of docs/security.md.
 * Static and standalone (it runs inside workspaces whatever their libc,
 * and on the host as the tests' stand-in for a subverted process).
 *
 *   boundary-probe inject-write PID FD MIB
 *       Attach to PID with ptrace and make it write MIB MiB into its
 *       descriptor FD (an injected mmap for the buffer, then write
 *       calls, as a debugger would). Prints "attach: <error>" and exits
 *       2 when attaching is refused; "wrote N" and exits 0 when every
 *       write returned; "wrote N, then: <error>" and exits 1 when one
 *       failed.
 *   boundary-probe read-init
 *       What a workspace process can get from its init: prints one line
 *       per attempt, "<what> ok" or "<what> <error>" (ptrace attach,
 *       /proc/1/mem, /proc/1/fd/3 for writing, /proc/1/environ,
 *       pidfd_getfd of fd 3). Also attaches to a child of its own, the
 *       positive control ("ptrace-own-child ok").
 *   boundary-probe steal-fd PID FD TEXT DELAY_MS
 *       Take descriptor FD of PID with pidfd_getfd, wait DELAY_MS, write
 *       TEXT into it. Prints "stolen" or "steal: <error>", then
 *       "write ok" or "write: <error>".
 *   boundary-probe wait-comm NAME TIMEOUT_MS
 *       Print the pid of the first process (other than itself) whose
 *       comm is NAME, waiting up to TIMEOUT_MS.
 *   boundary-probe sleep-echo MS TEXT
 *       Sleep MS milliseconds, then print TEXT (a victim for steal-fd,
 *       run under a name of its own).
 *   boundary-probe setfcap FILE
 *       Give FILE file capabilities (cap_setuid, effective), the way
 *       setcap does. Prints "setfcap ok" or "setfcap: <error>".
 *   boundary-probe mknod PATH
 *       mknod a character device (1:3, like /dev/null) at PATH; prints
 *       "mknod ok" or "mknod: <error>". */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <sys/user.h>
#endif

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

static int pidfd_getfd_of(pid_t pid, int fd)
{
        int pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
        if (pidfd < 0)
                return -1;
        int r = (int) syscall(SYS_pidfd_getfd, pidfd, fd, 0);
        int e = errno;
        close(pidfd);
        errno = e;
        return r;
}

/* ---- inject-write ---- */

#if defined(__x86_64__)
/* Wait for the next syscall stop of pid, passing over (and suppressing)
 * any signal stop. Returns 0 or -1. */
static int wait_syscall_stop(pid_t pid)
{
        for (;;) {
                int st;
                if (waitpid(pid, &st, __WALL) < 0)
                        return -1;
                if (!WIFSTOPPED(st))
                        return -1;
                if (WSTOPSIG(st) == (SIGTRAP | 0x80))
                        return 0;
                if (ptrace(PTRACE_SYSCALL, pid, 0, 0) < 0)
                        return -1;
        }
}

/* Run one system call in the stopped tracee at the syscall instruction
 * at insn; returns its result (a negative errno on failure). */
static long inject(pid_t pid, const struct user_regs_struct *base, unsigned long insn, long nr, long a1, long a2,
                   long a3, long a4, long a5, long a6)
{
        struct user_regs_struct r = *base;
        r.rip = insn;
        r.rax = (unsigned long) nr;
        r.orig_rax = (unsigned long) -1;
        r.rdi = (unsigned long) a1;
        r.rsi = (unsigned long) a2;
        r.rdx = (unsigned long) a3;
        r.r10 = (unsigned long) a4;
        r.r8 = (unsigned long) a5;
        r.r9 = (unsigned long) a6;
        if (ptrace(PTRACE_SETREGS, pid, 0, &r) < 0)
                return -errno;
        if (ptrace(PTRACE_SYSCALL, pid, 0, 0) < 0 || wait_syscall_stop(pid) < 0) /* entry */
                return -EIO;
        if (ptrace(PTRACE_SYSCALL, pid, 0, 0) < 0 || wait_syscall_stop(pid) < 0) /* exit */
                return -EIO;
        if (ptrace(PTRACE_GETREGS, pid, 0, &r) < 0)
                return -errno;
        return (long) r.rax;
}

static int inject_write(pid_t pid, int fd, long mib)
{
        if (ptrace(PTRACE_SEIZE, pid, 0, PTRACE_O_TRACESYSGOOD) < 0) {
                printf("attach: %s\n", strerror(errno));
                return 2;
        }
        int st;
        if (ptrace(PTRACE_INTERRUPT, pid, 0, 0) < 0 || waitpid(pid, &st, __WALL) < 0) {
                printf("attach: interrupt: %s\n", strerror(errno));
                return 2;
        }
        struct user_regs_struct saved;
        if (ptrace(PTRACE_GETREGS, pid, 0, &saved) < 0) {
                printf("attach: getregs: %s\n", strerror(errno));
                return 2;
        }
        /* A process stopped in a blocking call sits right after its
         * syscall instruction (0f 05). */
        unsigned long insn = saved.rip - 2;
        errno = 0;
        long word = ptrace(PTRACE_PEEKTEXT, pid, insn, 0);
        if (errno || (word & 0xffff) != 0x050f) {
                printf("attach: no syscall instruction at the stop\n");
                ptrace(PTRACE_DETACH, pid, 0, 0);
                return 2;
        }
        const long chunk = 1L << 20;
        long buf = inject(pid, &saved, insn, SYS_mmap, 0, chunk, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        long total = 0;
        int rc = 0;
        if (buf < 0 && buf > -4096) {
                printf("wrote 0, then: mmap: %s\n", strerror((int) -buf));
                rc = 1;
        }
        for (long i = 0; rc == 0 && i < mib; i++) {
                long n = inject(pid, &saved, insn, SYS_write, fd, buf, chunk, 0, 0, 0);
                if (n < 0) {
                        printf("wrote %ld, then: %s\n", total, strerror((int) -n));
                        rc = 1;
                        break;
                }
                total += n; /* a short write: the next one tells why */
        }
        if (rc == 0)
                printf("wrote %ld\n", total);
        if (buf > 0)
                (void) inject(pid, &saved, insn, SYS_munmap, buf, chunk, 0, 0, 0, 0);
        ptrace(PTRACE_SETREGS, pid, 0, &saved);
        ptrace(PTRACE_DETACH, pid, 0, 0);
        return rc;
}
#else
static int inject_write(pid_t pid, int fd, long mib)
{
        (void) pid, (void) fd, (void) mib;
        printf("attach: not implemented on this architecture\n");
        return 3;
}
#endif

/* ---- read-init ---- */

static void attempt(const char *what, int ok, int e)
{
        printf("%s %s\n", what, ok ? "ok" : strerror(e));
}

static void read_init(void)
{
        long r = ptrace(PTRACE_ATTACH, 1, 0, 0);
        attempt("ptrace-attach", r == 0, errno);
        if (r == 0) {
                waitpid(1, NULL, __WALL);
                ptrace(PTRACE_DETACH, 1, 0, 0);
        }
        int fd = open("/proc/1/mem", O_RDONLY | O_CLOEXEC);
        attempt("proc-mem", fd >= 0, errno);
        if (fd >= 0)
                close(fd);
        fd = open("/proc/1/fd/3", O_WRONLY | O_APPEND | O_CLOEXEC);
        attempt("proc-fd-write", fd >= 0, errno);
        if (fd >= 0)
                close(fd);
        char link[256];
        ssize_t n = readlink("/proc/1/fd/3", link, sizeof link);
        attempt("proc-fd-readlink", n >= 0, errno);
        fd = open("/proc/1/environ", O_RDONLY | O_CLOEXEC);
        char c;
        int ok = fd >= 0 && read(fd, &c, 1) >= 0;
        attempt("proc-environ", ok, errno);
        if (fd >= 0)
                close(fd);
        fd = pidfd_getfd_of(1, 3);
        attempt("pidfd-getfd", fd >= 0, errno);
        if (fd >= 0)
                close(fd);
        struct iovec local = { &c, 1 }, remote = { (void *) 0x400000, 1 };
        n = process_vm_readv(1, &local, 1, &remote, 1, 0);
        attempt("process-vm-readv", n >= 0 || errno == EFAULT, errno);

        /* Positive control: ptrace works on a process of our own. */
        pid_t child = fork();
        if (child == 0) {
                pause();
                _exit(0);
        }
        r = ptrace(PTRACE_ATTACH, child, 0, 0);
        attempt("ptrace-own-child", r == 0, errno);
        if (r == 0)
                waitpid(child, NULL, __WALL);
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
}

/* ---- steal-fd, wait-comm ---- */

static int steal_fd(pid_t pid, int fd, const char *text, long delay_ms)
{
        int s = pidfd_getfd_of(pid, fd);
        if (s < 0) {
                printf("steal: %s\n", strerror(errno));
                fflush(stdout);
                return 1;
        }
        printf("stolen\n");
        fflush(stdout);
        struct timespec ts = { delay_ms / 1000, (delay_ms % 1000) * 1000000L };
        nanosleep(&ts, NULL);
        signal(SIGPIPE, SIG_IGN);
        ssize_t n = write(s, text, strlen(text));
        if (n < 0)
                printf("write: %s\n", strerror(errno));
        else
                printf("write ok\n");
        return n < 0;
}

static int wait_comm(const char *name, long timeout_ms)
{
        for (long waited = 0; waited <= timeout_ms; waited += 10) {
                DIR *d = opendir("/proc");
                struct dirent *e;
                while (d && (e = readdir(d))) {
                        char *end;
                        long pid = strtol(e->d_name, &end, 10);
                        if (*end || pid <= 0 || pid == getpid())
                                continue;
                        char path[64], comm[64] = "";
                        snprintf(path, sizeof path, "/proc/%ld/comm", pid);
                        FILE *f = fopen(path, "re");
                        if (!f)
                                continue;
                        if (fgets(comm, sizeof comm, f))
                                comm[strcspn(comm, "\n")] = 0;
                        fclose(f);
                        if (strcmp(comm, name) == 0) {
                                printf("%ld\n", pid);
                                closedir(d);
                                return 0;
                        }
                }
                if (d)
                        closedir(d);
                struct timespec ts = { 0, 10000000L };
                nanosleep(&ts, NULL);
        }
        return 1;
}

/* ---- setfcap, mknod ---- */

static int set_fcap(const char *file)
{
        /* struct vfs_cap_data, revision 2: cap_setuid (7) permitted and
         * effective. */
        uint32_t data[5] = { 0x02000000 | 0x1 /* VFS_CAP_REVISION_2 | EFFECTIVE */, 1u << 7, 0, 0, 0 };
        if (setxattr(file, "security.capability", data, sizeof data, 0) < 0) {
                printf("setfcap: %s\n", strerror(errno));
                return 1;
        }
        printf("setfcap ok\n");
        return 0;
}

static int do_mknod(const char *path)
{
        if (mknod(path, S_IFCHR | 0666, makedev(1, 3)) < 0) {
                printf("mknod: %s\n", strerror(errno));
                return 1;
        }
        printf("mknod ok\n");
        return 0;
}

int main(int argc, char **argv)
{
        setvbuf(stdout, NULL, _IOLBF, 0);
        if (argc == 5 && strcmp(argv[1], "inject-write") == 0)
                return inject_write(atoi(argv[2]), atoi(argv[3]), atol(argv[4]));
        if (argc == 2 && strcmp(argv[1], "read-init") == 0) {
                read_init();
                return 0;
        }
        if (argc == 6 && strcmp(argv[1], "steal-fd") == 0)
                return steal_fd(atoi(argv[2]), atoi(argv[3]), argv[4], atol(argv[5]));
        if (argc == 4 && strcmp(argv[1], "wait-comm") == 0)
                return wait_comm(argv[2], atol(argv[3]));
        if (argc == 4 && strcmp(argv[1], "sleep-echo") == 0) {
                long ms = atol(argv[2]);
                struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
                nanosleep(&ts, NULL);
                printf("%s\n", argv[3]);
                return 0;
        }
        if (argc == 3 && strcmp(argv[1], "setfcap") == 0)
                return set_fcap(argv[2]);
        if (argc == 3 && strcmp(argv[1], "mknod") == 0)
                return do_mknod(argv[2]);
        fprintf(stderr, "usage: boundary-probe inject-write PID FD MIB | read-init | steal-fd PID FD TEXT DELAY_MS |\n"
                        "       wait-comm NAME TIMEOUT_MS | sleep-echo MS TEXT | setfcap FILE | mknod PATH\n");
        return 64;
}
