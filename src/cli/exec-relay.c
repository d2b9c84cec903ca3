/* The CLI side of exec: stdio stand-ins for terminals and the pty relay
 * (exec-relay.h). */
#include "cli/exec-relay.h"
#include "base/fs.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <time.h>

/* How long output is still copied after the command ended, for data a
 * background process keeps writing to an inherited pipe. */
#define RELAY_DRAIN_MS 250
#define RELAY_BUF 65536

static int64_t now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- without a pty ---- */

/* One direction: from -> buf -> to. Data read but not yet written waits
 * in buf; only our own pipe ends are non-blocking (the user's fds are
 * shared with the shell and stay as they are). */
typedef struct Pair {
        int from, to;     /* our pipe end, or 0-2 */
        bool input;       /* toward the command: to is our pipe end */
        bool open;        /* from still delivers */
        char *buf;
        size_t len, off;
} Pair;

struct StdioRelay {
        int sent[3];
        Pair pairs[3];
        size_t n_pairs;
        int stop_fd;
        pthread_t thread;
        bool started;
};

static void pair_close(Pair *p)
{
        if (p->from > 2)
                p->from = safe_close(p->from);
        if (p->input && p->to > 2)
                p->to = safe_close(p->to);
        p->open = false;
        p->len = p->off = 0;
}

/* Read what from has now into buf; false at end of file or error. */
static bool pair_fill(Pair *p)
{
        ssize_t n = read(p->from, p->buf, RELAY_BUF);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
                return true;
        if (n <= 0)
                return false;
        p->len = (size_t) n;
        p->off = 0;
        return true;
}

/* Write what buf holds: all of it to the user's fds (blocking, as a
 * direct write would), as much as fits to our non-blocking pipe. False
 * when the other side is gone. */
static bool pair_flush(Pair *p)
{
        while (p->off < p->len) {
                ssize_t n = write(p->to, p->buf + p->off, p->len - p->off);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        return true;
                if (n < 0)
                        return false;
                p->off += (size_t) n;
        }
        p->len = p->off = 0;
        return true;
}

static bool pair_busy(const Pair *p)
{
        return p->open || p->len > p->off;
}

static void *relay_main(void *userdata)
{
        StdioRelay *r = userdata;
        int64_t deadline = -1;
        for (;;) {
                struct pollfd p[4];
                size_t idx[4], n = 0;
                bool outputs_busy = false;
                for (size_t i = 0; i < r->n_pairs; i++) {
                        Pair *pr = &r->pairs[i];
                        if (!pair_busy(pr))
                                continue;
                        outputs_busy |= !pr->input;
                        /* Waiting for room in our pipe, or for data. */
                        bool pending = pr->len > pr->off;
                        p[n] = (struct pollfd) { pending ? pr->to : pr->from, pending ? POLLOUT : POLLIN, 0 };
                        idx[n++] = i;
                }
                if (!outputs_busy && deadline >= 0)
                        return NULL;
                int timeout = -1;
                if (deadline >= 0) {
                        int64_t left = deadline - now_ms();
                        if (left <= 0)
                                return NULL;
                        timeout = (int) left;
                }
                size_t stop_idx = n;
                if (deadline < 0)
                        p[n++] = (struct pollfd) { r->stop_fd, POLLIN, 0 };
                int k = poll(p, n, timeout);
                if (k < 0 && errno != EINTR)
                        return NULL;
                if (k <= 0)
                        continue;
                for (size_t j = 0; j < n; j++) {
                        if (!p[j].revents)
                                continue;
                        if (j == stop_idx) {
                                /* The command ended: no more input for it. */
                                deadline = now_ms() + RELAY_DRAIN_MS;
                                for (size_t i = 0; i < r->n_pairs; i++)
                                        if (r->pairs[i].input)
                                                pair_close(&r->pairs[i]);
                                continue;
                        }
                        Pair *pr = &r->pairs[idx[j]];
                        if (!pair_busy(pr))
                                continue;
                        /* End of file (an input's pipe closes: EOF for the
                         * command) or the other side gone: this pair is done. */
                        bool ok = pr->len > pr->off ? pair_flush(pr) : pair_fill(pr) && pair_flush(pr);
                        if (!ok)
                                pair_close(pr);
                }
        }
}

/* /dev/null has nothing to steal: it is passed as it is. */
static bool is_dev_null(int fd)
{
        struct stat st;
        return fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3);
}

/* What the command gets as fd: never one of ours, always a pipe this
 * relay copies through (except /dev/null). Another process of the
 * workspace could take a passed fd with pidfd_getfd() and keep using it
 * after the command ended; a pipe of ours is dead once we stop. */
static int stand_in(int fd, bool input, bool relay_stdin, StdioRelay *r, Error *err)
{
        if (is_dev_null(fd) || (input && isatty(fd) && !relay_stdin)) {
                r->sent[fd] = open("/dev/null", (input ? O_RDONLY : O_WRONLY) | O_CLOEXEC | O_NOCTTY);
                return r->sent[fd] < 0 ? error_setc(err, errno, "opening /dev/null") : 0;
        }
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0)
                return error_setc(err, errno, "creating a pipe");
        Pair *pr = &r->pairs[r->n_pairs++];
        if (input) {
                r->sent[fd] = p[0];
                *pr = (Pair) { .from = fd, .to = p[1], .input = true, .open = true };
                (void) fcntl(p[1], F_SETFL, O_NONBLOCK);
        } else {
                r->sent[fd] = p[1];
                *pr = (Pair) { .from = p[0], .to = fd, .open = true };
        }
        pr->buf = malloc(RELAY_BUF);
        return pr->buf ? 0 : error_set(err, ENOMEM, "out of memory");
}

static void relay_free(StdioRelay *r)
{
        for (size_t i = 0; i < 3; i++)
                safe_close(r->sent[i]);
        for (size_t i = 0; i < r->n_pairs; i++) {
                pair_close(&r->pairs[i]);
                free(r->pairs[i].buf);
        }
        safe_close(r->stop_fd);
        free(r);
}

int stdio_relay_start(bool relay_stdin, int ret_fds[3], StdioRelay **ret, Error *err)
{
        StdioRelay *r = calloc(1, sizeof *r);
        if (!r)
                return error_set(err, ENOMEM, "out of memory");
        r->sent[0] = r->sent[1] = r->sent[2] = r->stop_fd = -EBADF;
        /* A reader that went away must be an error, not our death. */
        signal(SIGPIPE, SIG_IGN);
        int k = 0;
        for (int fd = 0; fd < 3 && k >= 0; fd++)
                k = stand_in(fd, fd == 0, relay_stdin, r, err);
        if (k >= 0 && (r->stop_fd = eventfd(0, EFD_CLOEXEC)) < 0)
                k = error_setc(err, errno, "creating an eventfd");
        if (k >= 0 && r->n_pairs > 0) {
                k = -pthread_create(&r->thread, NULL, relay_main, r);
                if (k < 0)
                        error_setc(err, -k, "starting the output relay");
                r->started = k >= 0;
        }
        if (k < 0) {
                relay_free(r);
                return k;
        }
        for (size_t i = 0; i < 3; i++)
                ret_fds[i] = r->sent[i];
        *ret = r;
        return 0;
}

void stdio_relay_finish(StdioRelay *r)
{
        if (!r)
                return;
        /* Our copies of the pipe ends the command got: without them the
         * output pipes reach end of file once the command's side closes. */
        for (size_t i = 0; i < 3; i++)
                r->sent[i] = safe_close(r->sent[i]);
        if (r->started) {
                (void) eventfd_write(r->stop_fd, 1);
                pthread_join(r->thread, NULL);
        }
        relay_free(r);
}

/* ---- with a pty ---- */

/* The terminal state to restore, also from a signal handler. */
static struct termios saved_termios;
static volatile sig_atomic_t termios_saved;

static void terminal_restore(void)
{
        if (termios_saved) {
                (void) tcsetattr(STDIN_FILENO, TCSANOW, &saved_termios);
                termios_saved = 0;
        }
}

static void on_fatal_signal(int sig)
{
        terminal_restore();
        signal(sig, SIG_DFL);
        raise(sig);
}

static const int fatal_signals[] = { SIGTERM, SIGHUP, SIGINT, SIGQUIT };

static int terminal_raw(Error *err)
{
        if (tcgetattr(STDIN_FILENO, &saved_termios) < 0)
                return error_setc(err, errno, "reading the terminal settings");
        termios_saved = 1;
        static bool registered;
        if (!registered) {
                atexit(terminal_restore);
                registered = true;
        }
        for (size_t i = 0; i < ELEMENTSOF(fatal_signals); i++)
                signal(fatal_signals[i], on_fatal_signal);
        struct termios raw = saved_termios;
        cfmakeraw(&raw);
        if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) < 0) {
                terminal_restore();
                return error_setc(err, errno, "switching the terminal to raw mode");
        }
        return 0;
}

bool terminal_size(unsigned short *rows, unsigned short *cols)
{
        struct winsize ws;
        if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) < 0 && ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) < 0)
                return false;
        *rows = ws.ws_row;
        *cols = ws.ws_col;
        return true;
}

static void forward_size(int master)
{
        struct winsize ws;
        if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 || ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
                (void) ioctl(master, TIOCSWINSZ, &ws);
}

/* Copy what the master has; false once the command's side is closed. */
static bool master_out(int master)
{
        char buf[RELAY_BUF];
        ssize_t n = read(master, buf, sizeof buf);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
                return true;
        if (n <= 0) /* EIO: every holder of the peer closed it */
                return false;
        return loop_write(STDOUT_FILENO, buf, (size_t) n) >= 0;
}

static void master_drain(int master)
{
        int fl = fcntl(master, F_GETFL);
        if (fl >= 0)
                (void) fcntl(master, F_SETFL, fl | O_NONBLOCK);
        char buf[RELAY_BUF];
        for (;;) {
                ssize_t n = read(master, buf, sizeof buf);
                if (n <= 0 || loop_write(STDOUT_FILENO, buf, (size_t) n) < 0)
                        return;
        }
}

typedef struct PtyLoop {
        int master;
        int stop_fd;
        int sig_fd;
        bool input;
        bool input_tty;
} PtyLoop;

static void pty_loop(PtyLoop *l)
{
        for (;;) {
                struct pollfd p[4] = {
                        { l->master, POLLIN, 0 },
                        { l->stop_fd, POLLIN, 0 },
                        { l->sig_fd, l->sig_fd >= 0 ? POLLIN : 0, 0 },
                        { STDIN_FILENO, l->input ? POLLIN : 0, 0 },
                };
                if (poll(p, 4, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return;
                }
                if (p[0].revents && !master_out(l->master))
                        return;
                if (p[1].revents) {
                        master_drain(l->master);
                        return;
                }
                if (p[2].revents) {
                        struct signalfd_siginfo si;
                        while (read(l->sig_fd, &si, sizeof si) == (ssize_t) sizeof si)
                                ;
                        forward_size(l->master);
                }
                if (p[3].revents) {
                        char buf[RELAY_BUF];
                        ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
                        if (n > 0)
                                (void) loop_write(l->master, buf, (size_t) n);
                        else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
                                /* End of a piped stdin: the pty's end-of-file character. */
                                l->input = false;
                                if (!l->input_tty)
                                        (void) loop_write(l->master, "\x04", 1);
                        }
                }
        }
}

int pty_relay_run(int master, int stop_fd, bool input, Error *err)
{
        _cleanup_close_ int m = master;
        bool input_tty = input && isatty(STDIN_FILENO);
        /* A closed stdout ends the relay (EPIPE) with the terminal restored. */
        signal(SIGPIPE, SIG_IGN);
        sigset_t winch, old;
        sigemptyset(&winch);
        sigaddset(&winch, SIGWINCH);
        sigprocmask(SIG_BLOCK, &winch, &old);
        _cleanup_close_ int sig_fd = signalfd(-1, &winch, SFD_CLOEXEC | SFD_NONBLOCK);
        if (input_tty) {
                int r = terminal_raw(err);
                if (r < 0) {
                        sigprocmask(SIG_SETMASK, &old, NULL);
                        return r;
                }
        }
        /* The size may have changed since the request went out. */
        forward_size(m);
        PtyLoop l = { .master = m, .stop_fd = stop_fd, .sig_fd = sig_fd, .input = input, .input_tty = input_tty };
        pty_loop(&l);
        terminal_restore();
        sigprocmask(SIG_SETMASK, &old, NULL);
        return 0;
}
