/* Reading a token from a terminal or a pipe (see token-input.h). */
#include "auth/token-input.h"
#include "base/fs.h"
#include "base/str.h"

#include <poll.h>
#include <signal.h>
#include <string.h>
#include <termios.h>

static const int prompt_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };

/* Which signal ended the prompt; only written by the handler while the
 * prompt runs. */
static volatile sig_atomic_t prompt_signal;

static void record_signal(int sig)
{
        prompt_signal = sig;
}

typedef struct Prompt {
        int fd;
        bool termios_saved;
        struct termios saved;
        sigset_t old_mask;
        struct sigaction old_actions[ELEMENTSOF(prompt_signals)];
        bool handlers_installed;
} Prompt;

/* Undo everything prompt_begin() did: the terminal first, so that a
 * pending signal delivered on unblocking finds it restored. */
static void prompt_end(Prompt *p)
{
        if (p->termios_saved)
                (void) tcsetattr(p->fd, TCSANOW, &p->saved);
        if (p->handlers_installed) {
                for (size_t i = 0; i < ELEMENTSOF(prompt_signals); i++)
                        (void) sigaction(prompt_signals[i], &p->old_actions[i], NULL);
                (void) sigprocmask(SIG_SETMASK, &p->old_mask, NULL);
        }
        p->termios_saved = p->handlers_installed = false;
}

static int prompt_begin(Prompt *p, int fd, Error *err)
{
        *p = (Prompt) { .fd = fd };
        sigset_t block;
        sigemptyset(&block);
        for (size_t i = 0; i < ELEMENTSOF(prompt_signals); i++)
                sigaddset(&block, prompt_signals[i]);
        /* Blocked outside ppoll(): a signal can only arrive while we
         * wait, never between the check and the wait. */
        if (sigprocmask(SIG_BLOCK, &block, &p->old_mask) < 0)
                return error_setc(err, errno, "blocking signals");
        prompt_signal = 0;
        struct sigaction sa = { .sa_handler = record_signal };
        sigfillset(&sa.sa_mask);
        for (size_t i = 0; i < ELEMENTSOF(prompt_signals); i++)
                (void) sigaction(prompt_signals[i], &sa, &p->old_actions[i]);
        p->handlers_installed = true;

        if (tcgetattr(fd, &p->saved) < 0) {
                int e = errno;
                prompt_end(p);
                return error_setc(err, e, "reading the terminal settings");
        }
        p->termios_saved = true;
        struct termios t = p->saved;
        t.c_lflag &= ~(tcflag_t) (ECHO | ECHOE | ECHOK);
        t.c_lflag |= ECHONL | ICANON;
        if (tcsetattr(fd, TCSAFLUSH, &t) < 0) {
                int e = errno;
                prompt_end(p);
                return error_setc(err, e, "turning off the terminal echo");
        }
        return 0;
}

/* Read one line (including its "\n") into buf; *n is its length. */
static int prompt_read_line(Prompt *p, char *buf, size_t cap, size_t *n, int *ret_signal, Error *err)
{
        sigset_t wait_mask = p->old_mask;
        for (size_t i = 0; i < ELEMENTSOF(prompt_signals); i++)
                sigdelset(&wait_mask, prompt_signals[i]);
        *n = 0;
        for (;;) {
                struct pollfd pfd = { .fd = p->fd, .events = POLLIN };
                if (ppoll(&pfd, 1, NULL, &wait_mask) < 0) {
                        if (errno == EINTR && prompt_signal) {
                                *ret_signal = prompt_signal;
                                return error_set(err, EINTR, "interrupted");
                        }
                        if (errno == EINTR)
                                continue;
                        return error_setc(err, errno, "waiting for the token");
                }
                ssize_t k = read(p->fd, buf + *n, cap - *n);
                if (k < 0 && (errno == EINTR || errno == EAGAIN))
                        continue;
                if (k < 0)
                        return error_setc(err, errno, "reading the token");
                if (k == 0)
                        return 0;
                bool eol = memchr(buf + *n, '\n', (size_t) k) != NULL;
                *n += (size_t) k;
                if (eol)
                        return 0;
                if (*n == cap)
                        return error_set(err, EINVAL, "the token is too long (at most %u bytes)", AUTH_TOKEN_MAX);
        }
}

static int read_terminal(int fd, int prompt_fd, const char *prompt, AuthToken *t, size_t *n, int *ret_signal,
                         Error *err)
{
        Prompt p;
        int r = prompt_begin(&p, fd, err);
        if (r < 0)
                return r;
        if (prompt && prompt_fd >= 0)
                (void) loop_write(prompt_fd, prompt, strlen(prompt));
        r = prompt_read_line(&p, t->data, sizeof t->data - 1, n, ret_signal, err);
        prompt_end(&p);
        return r;
}

static int read_stream(int fd, AuthToken *t, size_t *n, Error *err)
{
        size_t cap = sizeof t->data - 1;
        *n = 0;
        for (;;) {
                ssize_t k = read(fd, t->data + *n, cap - *n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return error_setc(err, errno, "reading the token from standard input");
                if (k == 0)
                        return 0;
                *n += (size_t) k;
                if (*n == cap)
                        return error_set(err, EINVAL, "the token on standard input is too long (at most %u bytes)",
                                         AUTH_TOKEN_MAX);
        }
}

int auth_read_token(int fd, int prompt_fd, const char *prompt, AuthToken *ret, int *ret_signal, Error *err)
{
        auth_token_wipe(ret);
        *ret_signal = 0;
        size_t n = 0;
        int r = isatty(fd) ? read_terminal(fd, prompt_fd, prompt, ret, &n, ret_signal, err)
                           : read_stream(fd, ret, &n, err);
        size_t len = 0;
        if (r >= 0)
                r = auth_token_check(ret->data, n, &len, err);
        if (r < 0) {
                auth_token_wipe(ret);
                return r;
        }
        explicit_wipe(ret->data + len, sizeof ret->data - len);
        ret->len = len;
        return 0;
}
