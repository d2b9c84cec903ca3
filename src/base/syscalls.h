/* The one place Enclave makes a raw system call: thin wrappers for the
 * calls glibc 2.36 does not wrap (clone3, openat2, pidfd_*, close_range
 * flags, capget/capset, seccomp) or must not wrap (credential changes,
 * see below), and the constants older headers lack. Each is a bare
 * syscall(2): it returns -1 and sets errno like libc, takes no locks and
 * allocates nothing, so it is safe in a child cloned from a
 * multi-threaded process. The new mount API (open_tree, fsopen,
 * fsconfig, fsmount, move_mount, mount_setattr) comes from
 * <sys/mount.h>. Header-only, so the static enclave-init uses it too. */
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/openat2.h>

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif
/* An enum in glibc's <sys/wait.h> since 2.36 (hence #ifndef is always
 * true): a macro of the same value after it is harmless. */
#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif
#ifndef OPEN_TREE_CLOEXEC
#define OPEN_TREE_CLOEXEC O_CLOEXEC
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

/* The clone3(2) argument block (CLONE_ARGS_SIZE_VER2). Our own copy so
 * that <linux/sched.h> and <sched.h> never meet in one file. */
typedef struct CloneArgs {
        uint64_t flags;
        uint64_t pidfd;
        uint64_t child_tid;
        uint64_t parent_tid;
        uint64_t exit_signal;
        uint64_t stack;
        uint64_t stack_size;
        uint64_t tls;
        uint64_t set_tid;
        uint64_t set_tid_size;
        uint64_t cgroup;
} CloneArgs;

/* clone3 without CLONE_VM: returns like fork(). The child runs on a
 * copy of the caller's stack, so plain C may continue after it. */
static inline pid_t sys_clone3(CloneArgs *args)
{
        return (pid_t) syscall(SYS_clone3, args, sizeof *args);
}

static inline int sys_openat2(int dirfd, const char *path, uint64_t flags, uint64_t resolve)
{
        struct open_how how = { .flags = flags, .mode = 0, .resolve = resolve };
        return (int) syscall(SYS_openat2, dirfd, path, &how, sizeof how);
}

static inline int sys_pidfd_send_signal(int pidfd, int sig)
{
        return (int) syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

static inline int sys_pidfd_open(pid_t pid, unsigned flags)
{
        return (int) syscall(SYS_pidfd_open, pid, flags);
}

/* <linux/capability.h> and <linux/filter.h> types, declared only. */
struct __user_cap_header_struct;
struct __user_cap_data_struct;
struct sock_fprog;

static inline int sys_capget(struct __user_cap_header_struct *hdr, struct __user_cap_data_struct *data)
{
        return (int) syscall(SYS_capget, hdr, data);
}

static inline int sys_capset(struct __user_cap_header_struct *hdr, const struct __user_cap_data_struct *data)
{
        return (int) syscall(SYS_capset, hdr, data);
}

static inline int sys_seccomp(unsigned op, unsigned flags, const struct sock_fprog *prog)
{
        return (int) syscall(SYS_seccomp, op, flags, prog);
}

static inline int sys_close_range(unsigned first, unsigned last, unsigned flags)
{
        return (int) syscall(SYS_close_range, first, last, flags);
}

static inline int sys_pivot_root(const char *new_root, const char *put_old)
{
        return (int) syscall(SYS_pivot_root, new_root, put_old);
}

/* Credential changes must bypass glibc: its wrappers broadcast the
 * change to every thread it believes exists, which in a child cloned
 * from a threaded process (or one sharing its memory) means signalling
 * threads of the parent. The raw calls change only the calling task. */
static inline int sys_setresuid(uid_t r, uid_t e, uid_t s)
{
        return (int) syscall(SYS_setresuid, r, e, s);
}

static inline int sys_setresgid(gid_t r, gid_t e, gid_t s)
{
        return (int) syscall(SYS_setresgid, r, e, s);
}

static inline int sys_setgroups(size_t n, const gid_t *list)
{
        return (int) syscall(SYS_setgroups, n, list);
}

static inline int sys_setns(int fd, int nstype)
{
        return (int) syscall(SYS_setns, fd, nstype);
}

static inline int sys_execveat(int dirfd, const char *path, char *const argv[], char *const envp[], int flags)
{
        return (int) syscall(SYS_execveat, dirfd, path, argv, envp, flags);
}
