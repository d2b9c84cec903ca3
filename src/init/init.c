/* enclave-init: pid 1 of every workspace.
 *
 * Statically linked, no dependencies. It blocks all catchable signals
 * and reads them from a signalfd (no async handlers, no races), starts
 * the workspace's run command (if any) through /bin/sh -c, reaps every
 * zombie in the PID namespace, and forwards termination signals to the
 * run command. A PID-namespace init ignores signals it has no handler
 * for, so handling SIGTERM explicitly is what makes stop fast.
 *
 * Usage: enclave-init [COMMAND]
 *   With COMMAND: run it via /bin/sh -c; exit with its status once it
 *   has exited and SIGTERM was received, or right away when it exits on
 *   its own.
 *   Without COMMAND: stay idle until SIGTERM/SIGINT, then exit 0. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

static void say(const char *msg)
{
        (void) !write(STDERR_FILENO, msg, strlen(msg));
}

static pid_t spawn_command(const char *command, const sigset_t *orig)
{
        pid_t pid = fork();
        if (pid != 0)
                return pid;
        sigprocmask(SIG_SETMASK, orig, NULL);
        /* Its own process group, so a signal reaches its children too. */
        setpgid(0, 0);
        execl("/bin/sh", "sh", "-c", command, (char *) NULL);
        say("enclave-init: cannot execute /bin/sh\n");
        _exit(errno == ENOENT ? 127 : 126);
}

/* Reap everything that exited; returns the run command's wait status
 * through *cmd_status when it was among them. */
static void reap_zombies(pid_t cmd, int *cmd_status, int *cmd_done)
{
        for (;;) {
                int st;
                pid_t p = waitpid(-1, &st, WNOHANG);
                if (p <= 0)
                        return;
                if (p == cmd) {
                        *cmd_status = st;
                        *cmd_done = 1;
                }
        }
}

static int exit_code(int st)
{
        if (WIFEXITED(st))
                return WEXITSTATUS(st);
        if (WIFSIGNALED(st))
                return 128 + WTERMSIG(st);
        return 1;
}

int main(int argc, char **argv)
{
        sigset_t all, orig;
        sigfillset(&all);
        /* Crash signals stay deliverable: blocking them hides faults. */
        sigdelset(&all, SIGSEGV);
        sigdelset(&all, SIGBUS);
        sigdelset(&all, SIGILL);
        sigdelset(&all, SIGFPE);
        sigdelset(&all, SIGABRT);
        sigdelset(&all, SIGTRAP);
        sigdelset(&all, SIGSYS);
        if (sigprocmask(SIG_BLOCK, &all, &orig) < 0) {
                say("enclave-init: sigprocmask failed\n");
                return 125;
        }
        int sfd = signalfd(-1, &all, SFD_CLOEXEC);
        if (sfd < 0) {
                say("enclave-init: signalfd failed\n");
                return 125;
        }
        if (getpid() != 1)
                (void) prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);

        const char *command = argc > 1 ? argv[1] : NULL;
        pid_t cmd = command ? spawn_command(command, &orig) : 0;
        if (cmd < 0) {
                say("enclave-init: fork failed\n");
                return 125;
        }

        int cmd_status = 0, cmd_done = 0, stopping = 0;
        for (;;) {
                struct signalfd_siginfo si;
                ssize_t n = read(sfd, &si, sizeof si);
                if (n != (ssize_t) sizeof si) {
                        if (n < 0 && errno == EINTR)
                                continue;
                        say("enclave-init: reading signals failed\n");
                        return 125;
                }
                int sig = (int) si.ssi_signo;
                if (sig == SIGCHLD) {
                        reap_zombies(cmd, &cmd_status, &cmd_done);
                        if (cmd && cmd_done)
                                return exit_code(cmd_status);
                        continue;
                }
                if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP || sig == SIGQUIT)
                        stopping = 1;
                if (!cmd) {
                        if (stopping)
                                return 0;
                        continue;
                }
                /* Forward to the run command's process group. */
                if (kill(-cmd, sig) < 0)
                        (void) kill(cmd, sig);
        }
}
