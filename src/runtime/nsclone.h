/* The one way Enclave starts a process in namespaces.
 *
 * ns_clone() is a clone3(2) that runs fn(arg) in the new process and
 * exits with its return value: the workspace's init (runtime/spawn.c),
 * the helpers and command of an exec (runtime/exec.c), the copy of
 * `workspace cp` (engine/workspace-cp.c) and the host namespaces of
 * debootstrap (storage/nsexec.c) all start through it.
 * The child reports a failure before exec with the one child-error
 * protocol of runtime/sync.h (a SyncMsg: step, errno, text).
 *
 *   - Fork-style (no CLONE_VM): the child runs on a copy of the
 *     caller's memory; the caller continues at once.
 *   - vfork-style (CLONE_VM | CLONE_VFORK, with a stack): the child
 *     shares the caller's memory until it executes or exits, so no page
 *     table is copied however large the caller is; the caller waits.
 *   - Library-style (NsClone.library): fork-style through glibc's
 *     fork(), for a child that runs library code (malloc, libarchive)
 *     and never executes. glibc's fork handlers leave malloc and stdio
 *     usable in the child of a multi-threaded caller, which a bare
 *     clone3 does not. It takes no namespace or cgroup: the child joins
 *     the ones it needs itself (setns).
 *
 * Every signal is blocked around the clone, so no handler of the caller
 * ever runs in the child: fn starts with all signals blocked and
 * unblocks what it needs (the caller's mask is in NsClone.caller_mask).
 * glibc's fork handlers do not run either (but library-style); the
 * caller may be multi-threaded, so the child uses only
 * async-signal-safe calls until it executes. */
#pragma once

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct NsClone {
        /* CLONE_NEW*, CLONE_PIDFD, CLONE_VM | CLONE_VFORK, CLONE_FILES,
         * CLONE_PARENT (the exit signal then is the caller's). */
        uint64_t flags;
        int cgroup_fd;       /* unified cgroup directory to start in (CLONE_INTO_CGROUP); < 0: the caller's */
        int *ret_pidfd;      /* with CLONE_PIDFD */
        char *stack;         /* with CLONE_VM: the child's stack, stack_size bytes, 16-byte aligned */
        size_t stack_size;
        bool library;        /* library-style: flags only CLONE_PIDFD, no cgroup_fd */
        sigset_t caller_mask; /* set by ns_clone(): the caller's signal mask */
} NsClone;

/* Start fn(arg) in a new process. Returns its pid, or -1 with errno set
 * (the child never returns here). */
pid_t ns_clone(NsClone *a, int (*fn)(void *), void *arg);

/* After ns_clone() failed with errnum and a cgroup_fd: whether the kernel
 * refused the cgroup (CLONE_INTO_CGROUP needs 5.7 and a group it
 * accepts), so the caller should clone without it and join the group
 * itself. */
bool ns_clone_cgroup_refused(int errnum);
