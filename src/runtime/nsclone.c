#include "runtime/nsclone.h"

#include "base/syscalls.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

/* With CLONE_PARENT the child's exit signal is the caller's own, and
 * clone3 insists on 0 here. */
static uint64_t exit_signal(uint64_t flags)
{
        return flags & CLONE_PARENT ? 0 : SIGCHLD;
}

static CloneArgs clone_args(const NsClone *a)
{
        CloneArgs c = {
                .flags = a->flags,
                .pidfd = (uint64_t) (uintptr_t) a->ret_pidfd,
                .exit_signal = exit_signal(a->flags),
        };
        if (a->cgroup_fd >= 0) {
                c.flags |= CLONE_INTO_CGROUP;
                c.cgroup = (uint64_t) a->cgroup_fd;
        }
        return c;
}

/* The child continues on a copy of this frame. */
static pid_t clone_fork(const NsClone *a, int (*fn)(void *), void *arg)
{
        CloneArgs c = clone_args(a);
        pid_t pid = sys_clone3(&c);
        if (pid == 0)
                _exit(fn(arg));
        return pid;
}

/* glibc's fork(): its handlers make malloc usable in the child. The
 * pidfd comes from pidfd_open(), race-free on a child not yet reaped. */
static pid_t clone_library(const NsClone *a, int (*fn)(void *), void *arg)
{
        if ((a->flags & ~(uint64_t) CLONE_PIDFD) || a->cgroup_fd >= 0) {
                errno = EINVAL;
                return -1;
        }
        pid_t pid = fork();
        if (pid == 0)
                _exit(fn(arg));
        if (pid < 0 || !(a->flags & CLONE_PIDFD))
                return pid;
        int fd = sys_pidfd_open(pid, 0);
        if (fd < 0) {
                int e = errno;
                (void) kill(pid, SIGKILL);
                (void) waitpid(pid, NULL, 0);
                errno = e;
                return -1;
        }
        *a->ret_pidfd = fd;
        return pid;
}

/* clone3 on [stack, stack + stack_size): the child has no frame to
 * return into, so it calls fn(arg) and exits with its result from
 * assembly. Only x86-64 has it; ENOSYS elsewhere. */
static pid_t clone3_vm(const NsClone *a, int (*fn)(void *), void *arg)
{
#if defined(__x86_64__)
        CloneArgs c = clone_args(a);
        c.stack = (uint64_t) (uintptr_t) a->stack;
        c.stack_size = a->stack_size;
        register long rax __asm__("rax") = SYS_clone3;
        register CloneArgs *rdi __asm__("rdi") = &c;
        register long rsi __asm__("rsi") = (long) sizeof c;
        register int (*r12)(void *) __asm__("r12") = fn;
        register void *r13 __asm__("r13") = arg;
        __asm__ volatile("syscall\n\t"
                         "test %%rax, %%rax\n\t"
                         "jnz 1f\n\t"
                         "xor %%ebp, %%ebp\n\t"
                         "mov %%r13, %%rdi\n\t"
                         "call *%%r12\n\t"
                         "mov %%eax, %%edi\n\t"
                         "mov %[nr_exit], %%eax\n\t"
                         "syscall\n\t"
                         "hlt\n"
                         "1:\n"
                         : "+r"(rax)
                         : "r"(rdi), "r"(rsi), "r"(r12), "r"(r13), [nr_exit] "i"(SYS_exit)
                         : "rcx", "r11", "memory");
        if (rax < 0) {
                errno = (int) -rax;
                return -1;
        }
        return (pid_t) rax;
#else
        (void) a, (void) fn, (void) arg;
        errno = ENOSYS;
        return -1;
#endif
}

/* Returning from fn exits the child. Without clone3 here, clone(2),
 * which cannot start in a cgroup. */
static pid_t clone_vm(const NsClone *a, int (*fn)(void *), void *arg)
{
        pid_t pid = clone3_vm(a, fn, arg);
        if (pid >= 0 || errno != ENOSYS || a->cgroup_fd >= 0)
                return pid;
        return clone(fn, a->stack + a->stack_size, (int) (a->flags | exit_signal(a->flags)), arg, a->ret_pidfd);
}

pid_t ns_clone(NsClone *a, int (*fn)(void *), void *arg)
{
        sigset_t all;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &a->caller_mask);
        pid_t pid = a->library            ? clone_library(a, fn, arg)
                    : a->flags & CLONE_VM ? clone_vm(a, fn, arg)
                                          : clone_fork(a, fn, arg);
        int e = errno;
        pthread_sigmask(SIG_SETMASK, &a->caller_mask, NULL);
        errno = e;
        return pid;
}

bool ns_clone_cgroup_refused(int errnum)
{
        return errnum == EINVAL || errnum == E2BIG || errnum == EOPNOTSUPP || errnum == ENOSYS;
}
