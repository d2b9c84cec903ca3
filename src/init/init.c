/* enclave-init: pid 1 of every workspace.
 *
 * Statically linked, no dependencies. It blocks all catchable signals
 * and reads them from a signalfd (no async handlers, no races), starts
 * the workspace's run command (if any) through /bin/sh -c, reaps every
 * zombie in the PID namespace, and forwards termination signals to the
 * run command. A PID-namespace init ignores signals it has no handler
 * for, so handling SIGTERM explicitly is what makes stop fast.
 *
 * Usage: enclave-init [--log-fds=A,B,S] [--log-max=BYTES] [--restart=POLICY --state-fd=N] [--] [COMMAND]
 *   --log-fds: three inherited descriptors, the two halves of the log
 *   and the rotation count that says which half is active
 *   (runtime/log-files.h).
 *   The run command's stdout and stderr go through two pipes that the
 *   log writer (a child of init, "enclave-log") drains into the active
 *   half, each line stamped with its time and stream
 *   (runtime/log-record.h); past --log-max bytes (default 8 MiB) it
 *   truncates the other half and continues there. The daemon is never
 *   in this path.
 *
 * Neither process can be inspected from inside the workspace: init is
 * executed from a file the workspace may not read, so the kernel makes
 * it non-dumpable and ties its memory to the initial user namespace
 * (only host root may ptrace it or read /proc/1/mem or /proc/1/fd), and
 * it sets PR_SET_DUMPABLE 0 as well; the writer inherits both. Only the
 * writer holds the log files, under RLIMIT_FSIZE = --log-max, which a
 * workspace cannot raise: even a subverted writer cannot grow a half
 * beyond the cap. Init itself keeps no descriptor of the log files.
 *   With COMMAND: run it via /bin/sh -c; exit with its status once it
 *   has exited (SIGTERM is forwarded to it and its process group).
 *   Without COMMAND: stay idle until SIGTERM/SIGINT, then exit 0.
 *   --restart=no|on-failure|always: start COMMAND again when it ends
 *   (on-failure: with a status other than 0) after a growing delay,
 *   instead of exiting; the state goes to --state-fd
 *   (runtime/run-state.h). A termination signal still ends init. */
#include "base/syscalls.h"
#include "runtime/log-files.h"
#include "runtime/log-record.h"
#include "runtime/run-state.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* One output stream of the run command: a pipe, and the part of a line
 * read from it but not yet logged. */
typedef struct LogPipe {
        int rd, wr;
        LogStream stream;
        char pending[LOG_RECORD_TEXT_MAX];
        size_t len;
        uint64_t since_usec; /* CLOCK_REALTIME when pending's first byte was read */
        uint64_t since_ms;   /* the same on CLOCK_MONOTONIC, for the flush timer */
} LogPipe;

/* A partial line waits this long for its end before it is logged as is. */
#define LOG_PARTIAL_WAIT_MS 1000

typedef struct Log {
        int fd[2];          /* the two halves, O_APPEND */
        int state_fd;       /* rotation count; half count % 2 is active */
        uint64_t count;
        int active;
        unsigned long long size; /* bytes in the active half */
        unsigned long long max;
        LogPipe pipe[2];    /* the run command's stdout and stderr */
        pid_t writer;       /* the log writer process; 0 when there is none (any more) */
} Log;

static Log *the_log; /* only for say(); init is single-threaded */

/* Init's own messages go where the run command's errors go. */
static void say(const char *msg)
{
        int fd = the_log && the_log->pipe[1].wr >= 0 ? the_log->pipe[1].wr : STDERR_FILENO;
        (void) !write(fd, msg, strlen(msg));
}

static uint64_t clock_usec(clockid_t id)
{
        struct timespec ts;
        clock_gettime(id, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

static void log_rotate(Log *l)
{
        int next = !l->active;
        (void) !ftruncate(l->fd[next], 0);
        l->count++;
        (void) log_state_write(l->state_fd, l->count);
        l->active = next;
        l->size = 0;
}

/* How much of buf goes into a half with room bytes left: all of it when
 * it fits, else up to its last line end within room, so halves start
 * with whole lines; 0 means "rotate first". Only a line longer than the
 * whole cap is split. */
static size_t log_fit(const Log *l, const char *buf, size_t n)
{
        size_t room = (size_t) (l->max - l->size);
        if (n <= room)
                return n;
        for (size_t i = room; i > 0; i--)
                if (buf[i - 1] == '\n')
                        return i;
        return l->size > 0 ? 0 : room;
}

/* Never more than the cap into one half: the rest goes to the other
 * half after rotating (RLIMIT_FSIZE would refuse it anyway). */
static void log_write_data(Log *l, const char *buf, size_t n)
{
        while (n > 0) {
                size_t fit = l->size >= l->max ? 0 : log_fit(l, buf, n);
                if (fit == 0) {
                        log_rotate(l);
                        continue;
                }
                ssize_t w = write(l->fd[l->active], buf, fit);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w < 0 && errno == EFBIG && l->size > 0) {
                        /* The half is fuller than counted (someone else
                         * wrote to it): at the cap, so rotate. */
                        l->size = l->max;
                        continue;
                }
                if (w < 0)
                        return; /* disk full or similar: drop, never block the command */
                buf += w;
                n -= (size_t) w;
                l->size += (unsigned long long) w;
        }
        if (l->size >= l->max)
                log_rotate(l);
}

/* Log what p holds as one record (runtime/log-record.h). */
static void log_emit(Log *l, LogPipe *p, int partial)
{
        static char rec[LOG_RECORD_HEADER_MAX + LOG_RECORD_TEXT_MAX + 1];
        size_t n = log_record_header(rec, p->since_usec, p->stream, partial);
        memcpy(rec + n, p->pending, p->len);
        n += p->len;
        rec[n++] = '\n';
        p->len = 0;
        log_write_data(l, rec, n);
}

/* Cut what was read from p into lines, each logged as a record; the
 * end of a line not yet seen waits in p->pending. */
static void log_take(Log *l, LogPipe *p, const char *buf, size_t n)
{
        while (n > 0) {
                if (p->len == 0) {
                        p->since_usec = clock_usec(CLOCK_REALTIME);
                        p->since_ms = clock_usec(CLOCK_MONOTONIC) / 1000;
                }
                const char *nl = memchr(buf, '\n', n);
                size_t upto = nl ? (size_t) (nl - buf) : n;
                size_t room = sizeof p->pending - p->len;
                size_t take = upto < room ? upto : room;
                memcpy(p->pending + p->len, buf, take);
                p->len += take;
                buf += take;
                n -= take;
                if (take < upto) {
                        log_emit(l, p, 1); /* longer than a record holds */
                } else if (nl) {
                        log_emit(l, p, 0);
                        buf++;
                        n--;
                }
        }
}

/* Log a partial line that waited long enough for its end (all of them
 * when force). Returns the ms until the next one is due, or -1. */
static int log_flush_partial(Log *l, int force)
{
        int wait = -1;
        uint64_t now = clock_usec(CLOCK_MONOTONIC) / 1000;
        for (int i = 0; i < 2; i++) {
                LogPipe *p = &l->pipe[i];
                if (p->len == 0)
                        continue;
                uint64_t due = p->since_ms + LOG_PARTIAL_WAIT_MS;
                if (force || now >= due)
                        log_emit(l, p, 1);
                else if (wait < 0 || due - now < (uint64_t) wait)
                        wait = (int) (due - now);
        }
        return wait;
}

/* Move everything pipe p holds into the log (or nowhere, when the
 * writer is gone and init keeps the command from SIGPIPE). Non-blocking.
 * Returns 0 at end of file (no writer left), 1 otherwise. */
static int log_drain(Log *l, LogPipe *p, int discard)
{
        char buf[65536];
        for (;;) {
                ssize_t n = read(p->rd, buf, sizeof buf);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n == 0)
                        return 0;
                if (n < 0)
                        return 1;
                if (!discard)
                        log_take(l, p, buf, (size_t) n);
        }
}

static int parse_fds(const char *s, int out[3])
{
        char *end;
        for (int i = 0; i < 3; i++) {
                errno = 0;
                long v = strtol(s, &end, 10);
                if (errno || end == s || v < 0 || v > 65535)
                        return -1;
                out[i] = (int) v;
                if (i < 2) {
                        if (*end != ',')
                                return -1;
                        s = end + 1;
                }
        }
        return *end ? -1 : 0;
}

static int log_setup(Log *l, const int fds[3], unsigned long long max)
{
        for (int i = 0; i < 3; i++) {
                struct stat st;
                if (fstat(fds[i], &st) < 0 || !S_ISREG(st.st_mode))
                        return -1;
                /* Keep them away from the run command. */
                if (fcntl(fds[i], F_SETFD, FD_CLOEXEC) < 0)
                        return -1;
        }
        l->fd[0] = fds[0];
        l->fd[1] = fds[1];
        l->state_fd = fds[2];
        l->max = max;
        l->count = log_state_read(l->state_fd);
        l->active = log_state_active(l->count);
        struct stat st;
        l->size = fstat(l->fd[l->active], &st) == 0 ? (unsigned long long) st.st_size : 0;
        if (l->size >= l->max)
                log_rotate(l);
        else
                (void) log_state_write(l->state_fd, l->count);

        for (int i = 0; i < 2; i++) {
                int p[2];
                if (pipe2(p, O_CLOEXEC) < 0)
                        return -1;
                l->pipe[i] = (LogPipe) { .rd = p[0], .wr = p[1],
                                         .stream = i ? LOG_STREAM_STDERR : LOG_STREAM_STDOUT };
                (void) fcntl(p[0], F_SETFL, O_NONBLOCK);
                (void) fcntl(p[0], F_SETPIPE_SZ, 256 * 1024);
        }
        return 0;
}

/* Drain both pipes (into the log unless discard); a pipe whose every
 * writer is gone is closed, its partial line logged. */
static void log_drain_all(Log *l, const struct pollfd *p, int discard)
{
        for (int i = 0; i < 2; i++) {
                LogPipe *lp = &l->pipe[i];
                if (lp->rd < 0 || (p && !p[i].revents))
                        continue;
                if (log_drain(l, lp, discard) == 0) {
                        lp->rd = (close(lp->rd), -1);
                        if (!discard && lp->len)
                                log_emit(l, lp, 1);
                }
        }
}

/* The log writer: the only process that holds the log files. Its
 * RLIMIT_FSIZE is the cap (soft = hard; raising it needs
 * CAP_SYS_RESOURCE in the host's user namespace), so no half can grow
 * beyond it whatever this process is made to do. It drains the pipes
 * until init sends SIGTERM (drain once more, exit); the signalfd it
 * inherits reads its own signals. */
static void log_writer_main(Log *l, int sfd)
{
        (void) prctl(PR_SET_NAME, "enclave-log", 0, 0, 0);
        (void) prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
        for (int i = 0; i < 2; i++)
                l->pipe[i].wr = (close(l->pipe[i].wr), -1);
        struct rlimit fsize = { (rlim_t) l->max, (rlim_t) l->max };
        if (setrlimit(RLIMIT_FSIZE, &fsize) < 0)
                _exit(125);
        int wait = -1;
        for (;;) {
                struct pollfd p[3] = { { .fd = l->pipe[0].rd, .events = POLLIN },
                                       { .fd = l->pipe[1].rd, .events = POLLIN },
                                       { .fd = sfd, .events = POLLIN } };
                if (poll(p, 3, wait) < 0) {
                        if (errno == EINTR)
                                continue;
                        _exit(125);
                }
                log_drain_all(l, p, 0);
                wait = log_flush_partial(l, 0);
                for (;;) {
                        struct signalfd_siginfo si;
                        ssize_t n = read(sfd, &si, sizeof si);
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n != (ssize_t) sizeof si)
                                break;
                        if (si.ssi_signo == SIGTERM) {
                                log_drain_all(l, NULL, 0);
                                (void) log_flush_partial(l, 1);
                                _exit(0);
                        }
                }
        }
}

/* Fork the writer; init then closes its own descriptors of the log
 * files and keeps only the pipes' read ends, to drain (and drop) output
 * should the writer die, so the run command never gets SIGPIPE. */
static int log_start_writer(Log *l, int sfd)
{
        pid_t pid = fork();
        if (pid < 0)
                return -1;
        if (pid == 0)
                log_writer_main(l, sfd);
        l->writer = pid;
        for (int i = 0; i < 2; i++)
                l->fd[i] = (close(l->fd[i]), -1);
        l->state_fd = (close(l->state_fd), -1);
        return 0;
}

/* At exit: let the writer drain what the pipe holds, for at most a
 * second (it may have been stopped from inside). */
static void log_stop_writer(Log *l)
{
        if (l->writer <= 0)
                return;
        int pidfd = sys_pidfd_open(l->writer, 0);
        (void) kill(l->writer, SIGTERM);
        if (pidfd >= 0) {
                struct pollfd p = { .fd = pidfd, .events = POLLIN };
                (void) poll(&p, 1, 1000);
                close(pidfd);
        }
}

static pid_t spawn_command(const char *command, const Log *log)
{
        pid_t pid = fork();
        if (pid != 0)
                return pid;
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        /* Its own process group, so a signal reaches its children too. */
        setpgid(0, 0);
        if (log) {
                if (dup2(log->pipe[0].wr, STDOUT_FILENO) < 0 || dup2(log->pipe[1].wr, STDERR_FILENO) < 0)
                        _exit(125);
        }
        execl("/bin/sh", "sh", "-c", command, (char *) NULL);
        int e = errno;
        say("enclave-init: cannot execute /bin/sh: ");
        say(strerror(e));
        say("\n");
        _exit(e == ENOENT ? 127 : 126);
}

/* Reap everything that exited; returns the run command's wait status
 * through *cmd_status when it was among them. A log writer that died
 * (killed from inside) is forgotten: init drains the pipe from then on. */
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
                if (the_log && p == the_log->writer)
                        the_log->writer = 0;
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

typedef struct Options {
        int log_fds[3];
        int have_log;
        unsigned long long log_max;
        RunRestart restart;
        int state_fd;
        const char *command;
} Options;

/* ---- restart policy (runtime/run-state.h) ---- */

typedef struct Restart {
        RunRestart policy;
        int state_fd;        /* -1: none */
        RunState state;
        uint64_t delay_ms;   /* the last delay; 0 before the first */
        uint64_t started_ms; /* CLOCK_MONOTONIC, start of the current run */
        uint64_t due_ms;     /* CLOCK_MONOTONIC of the next start; 0: none pending */
        pid_t old_group;     /* process group of the run that ended */
} Restart;

static uint64_t clock_ms(clockid_t id)
{
        struct timespec ts;
        clock_gettime(id, &ts);
        return (uint64_t) ts.tv_sec * 1000u + (uint64_t) ts.tv_nsec / 1000000u;
}

static void restart_publish(const Restart *rs)
{
        char buf[80];
        if (rs->state_fd < 0)
                return;
        size_t n = run_state_format(&rs->state, buf);
        if (pwrite(rs->state_fd, buf, n, 0) == (ssize_t) n)
                (void) !ftruncate(rs->state_fd, (off_t) n);
}

static void say_u64(uint64_t v)
{
        char buf[24];
        buf[run_state_u64(buf, v)] = 0;
        say(buf);
}

/* The run command ended with status: 1 when it is to be started again
 * (the start is scheduled), 0 when init should exit with it. */
static int restart_schedule(Restart *rs, pid_t group, int status)
{
        rs->state.last_status = status;
        if (!run_restart_wanted(rs->policy, status)) {
                restart_publish(rs);
                return 0;
        }
        uint64_t now = clock_ms(CLOCK_MONOTONIC);
        rs->delay_ms = run_restart_delay(rs->delay_ms, now - rs->started_ms);
        rs->due_ms = now + rs->delay_ms;
        rs->state.next_ms = clock_ms(CLOCK_REALTIME) + rs->delay_ms;
        rs->old_group = group;
        /* What it left running in its group gets the same signal a stop sends. */
        (void) kill(-group, SIGTERM);
        restart_publish(rs);
        say("enclave-init: the run command exited with status ");
        say_u64((uint64_t) status);
        say("; starting it again in ");
        say_u64(rs->delay_ms);
        say(" ms (restart=");
        say(run_restart_to_string(rs->policy));
        say(")\n");
        return 1;
}

static int parse_args(int argc, char **argv, Options *o)
{
        o->have_log = 0;
        o->log_max = LOG_DEFAULT_MAX_BYTES;
        o->restart = RUN_RESTART_NO;
        o->state_fd = -1;
        o->command = NULL;
        int i = 1;
        for (; i < argc; i++) {
                const char *a = argv[i];
                if (strcmp(a, "--") == 0) {
                        i++;
                        break;
                }
                if (strncmp(a, "--log-fds=", 10) == 0) {
                        if (parse_fds(a + 10, o->log_fds) < 0)
                                return -1;
                        o->have_log = 1;
                } else if (strncmp(a, "--log-max=", 10) == 0) {
                        char *end;
                        errno = 0;
                        o->log_max = strtoull(a + 10, &end, 10);
                        if (errno || *end || o->log_max < 4096)
                                return -1;
                } else if (strncmp(a, "--restart=", 10) == 0) {
                        o->restart = run_restart_from_string(a + 10);
                        if (o->restart == _RUN_RESTART_INVALID)
                                return -1;
                } else if (strncmp(a, "--state-fd=", 11) == 0) {
                        char *end;
                        errno = 0;
                        long v = strtol(a + 11, &end, 10);
                        if (errno || *end || v < 0 || v > 65535)
                                return -1;
                        o->state_fd = (int) v;
                } else if (strncmp(a, "--", 2) == 0)
                        return -1;
                else
                        break;
        }
        if (i < argc)
                o->command = argv[i];
        return 0;
}

/* Returns 1 when init should exit now with *ret. *cmd becomes 0 while
 * a restart is pending. */
static int handle_signal(int sig, pid_t *cmd, Restart *rs, int *stopping, int *cmd_status, int *cmd_done, int *ret)
{
        if (sig == SIGCHLD) {
                reap_zombies(*cmd, cmd_status, cmd_done);
                if (*cmd && *cmd_done) {
                        *ret = exit_code(*cmd_status);
                        *cmd_done = 0;
                        if (!*stopping && restart_schedule(rs, *cmd, *ret)) {
                                *cmd = 0;
                                return 0;
                        }
                        return 1;
                }
                return 0;
        }
        if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP || sig == SIGQUIT)
                *stopping = 1;
        if (!*cmd) {
                /* Idle, or waiting to start the run command again. */
                *ret = 0;
                return *stopping;
        }
        /* Forward to the run command's process group. */
        if (kill(-*cmd, sig) < 0)
                (void) kill(*cmd, sig);
        return 0;
}

int main(int argc, char **argv)
{
        /* Already non-dumpable from exec (see the top); this also holds
         * where that does not apply. */
        (void) prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
        Options opt;
        if (parse_args(argc, argv, &opt) < 0) {
                say("usage: enclave-init [--log-fds=A,B,S] [--log-max=BYTES] [--restart=POLICY --state-fd=N] [--] "
                    "[COMMAND]\n");
                return 125;
        }
        sigset_t all;
        sigfillset(&all);
        /* Crash signals stay deliverable: blocking them hides faults. */
        sigdelset(&all, SIGSEGV);
        sigdelset(&all, SIGBUS);
        sigdelset(&all, SIGILL);
        sigdelset(&all, SIGFPE);
        sigdelset(&all, SIGABRT);
        sigdelset(&all, SIGTRAP);
        sigdelset(&all, SIGSYS);
        /* SETMASK, not BLOCK: the spawner execs us with every signal
         * blocked (so none sent early is lost); crash signals must be
         * deliverable again. Pending ones show up on the signalfd. */
        if (sigprocmask(SIG_SETMASK, &all, NULL) < 0) {
                say("enclave-init: sigprocmask failed\n");
                return 125;
        }
        int sfd = signalfd(-1, &all, SFD_CLOEXEC | SFD_NONBLOCK);
        if (sfd < 0) {
                say("enclave-init: signalfd failed\n");
                return 125;
        }
        if (getpid() != 1)
                (void) prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);

        static Log log;
        if (opt.have_log && !opt.command) {
                /* Idle: nothing will ever be logged. */
                for (int i = 0; i < 3; i++)
                        close(opt.log_fds[i]);
        } else if (opt.have_log) {
                if (log_setup(&log, opt.log_fds, opt.log_max) < 0) {
                        say("enclave-init: invalid log descriptors\n");
                        return 125;
                }
                the_log = &log;
                if (log_start_writer(&log, sfd) < 0) {
                        say("enclave-init: cannot start the log writer\n");
                        return 125;
                }
        }

        Restart rs = { .policy = opt.command ? opt.restart : RUN_RESTART_NO, .state_fd = opt.state_fd,
                       .state = { .last_status = -1 } };
        if (rs.state_fd >= 0 && !opt.command)
                rs.state_fd = (close(rs.state_fd), -1); /* idle: nothing to restart */
        if (rs.state_fd >= 0)
                (void) fcntl(rs.state_fd, F_SETFD, FD_CLOEXEC);
        restart_publish(&rs);
        rs.started_ms = clock_ms(CLOCK_MONOTONIC);
        pid_t cmd = opt.command ? spawn_command(opt.command, the_log) : 0;
        if (cmd < 0) {
                say("enclave-init: fork failed\n");
                return 125;
        }
        /* Only the command holds the write end now: its exit (and that
         * of everything it started) shows as EOF. With a restart policy
         * init keeps it for the next run. */
        if (the_log && rs.policy == RUN_RESTART_NO)
                for (int i = 0; i < 2; i++)
                        log.pipe[i].wr = (close(log.pipe[i].wr), -1);

        int cmd_status = 0, cmd_done = 0, stopping = 0, ret = 0;
        for (;;) {
                /* The pipes are init's to drain only once the writer is gone. */
                int drain = the_log && log.writer == 0;
                struct pollfd p[3] = { { .fd = drain ? log.pipe[0].rd : -1, .events = POLLIN },
                                       { .fd = drain ? log.pipe[1].rd : -1, .events = POLLIN },
                                       { .fd = sfd, .events = POLLIN } };
                int timeout = -1;
                if (rs.due_ms) {
                        uint64_t now = clock_ms(CLOCK_MONOTONIC);
                        timeout = rs.due_ms > now ? (int) (rs.due_ms - now) : 0;
                }
                if (poll(p, 3, timeout) < 0) {
                        if (errno == EINTR)
                                continue;
                        say("enclave-init: poll failed\n");
                        return 125;
                }
                if (rs.due_ms && !stopping && clock_ms(CLOCK_MONOTONIC) >= rs.due_ms) {
                        /* Whatever of the last run ignored SIGTERM goes now. */
                        (void) kill(-rs.old_group, SIGKILL);
                        rs.due_ms = 0;
                        rs.state.restarts++;
                        rs.state.next_ms = 0;
                        rs.started_ms = clock_ms(CLOCK_MONOTONIC);
                        cmd = spawn_command(opt.command, the_log);
                        if (cmd < 0) {
                                say("enclave-init: fork failed\n");
                                return 125;
                        }
                        restart_publish(&rs);
                }
                if (drain)
                        log_drain_all(&log, p, 1);
                for (;;) {
                        struct signalfd_siginfo si;
                        ssize_t n = read(sfd, &si, sizeof si);
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n < 0 && errno == EAGAIN)
                                break;
                        if (n != (ssize_t) sizeof si) {
                                say("enclave-init: reading signals failed\n");
                                return 125;
                        }
                        if (handle_signal((int) si.ssi_signo, &cmd, &rs, &stopping, &cmd_status, &cmd_done, &ret)) {
                                if (the_log)
                                        log_stop_writer(&log);
                                return ret;
                        }
                }
        }
}
