/* Reading a token for `auth login`: from a pipe, and from a terminal
 * (a pty made here) with echo off while reading, restored afterwards —
 * also when SIGINT interrupts the prompt. */
#include "auth/token-input.h"
#include "base/fs.h"
#include "base/process.h"
#include "test.h"

#include <fcntl.h>
#include <signal.h>
#include <termios.h>
#include <time.h>

static int pipe_with(const char *data, size_t len)
{
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0)
                return -errno;
        if (loop_write(p[1], data, len) < 0) {
                close(p[0]);
                close(p[1]);
                return -EIO;
        }
        close(p[1]);
        return p[0];
}

static int read_from_pipe(const char *data, size_t len, AuthToken *t, Error *err)
{
        _cleanup_close_ int fd = pipe_with(data, len);
        if (fd < 0)
                return fd;
        int sig;
        return auth_read_token(fd, -1, "unused", t, &sig, err);
}

TEST(pipe_gives_the_trimmed_token)
{
        _cleanup_auth_token_ AuthToken t = {};
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_OK(read_from_pipe("tok-123\n", 8, &t, &err));
        ASSERT_EQ(t.len, 7);
        ASSERT_STREQ(t.data, "tok-123");
        ASSERT_OK(read_from_pipe("no-newline", 10, &t, &err));
        ASSERT_STREQ(t.data, "no-newline");
}

TEST(pipe_refuses_empty_multiline_and_oversized_input)
{
        _cleanup_auth_token_ AuthToken t = {};
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_EQ(read_from_pipe("", 0, &t, &err), -EINVAL);
        ASSERT_CONTAINS(error_msg(&err), "empty");
        error_clear(&err);
        ASSERT_EQ(read_from_pipe("\n", 1, &t, &err), -EINVAL);
        error_clear(&err);
        ASSERT_EQ(read_from_pipe("a\nb\n", 4, &t, &err), -EINVAL);
        ASSERT_CONTAINS(error_msg(&err), "line break");
        error_clear(&err);
        static char big[AUTH_TOKEN_MAX + 64];
        memset(big, 'a', sizeof big);
        ASSERT_EQ(read_from_pipe(big, sizeof big, &t, &err), -EINVAL);
        ASSERT_CONTAINS(error_msg(&err), "too long");
        /* Left wiped on failure. */
        for (size_t i = 0; i < sizeof t.data; i++)
                ASSERT_EQ(t.data[i], 0);
}

/* ---- a terminal ---- */

typedef struct Pty {
        int master;
        int slave;
} Pty;

static int pty_open(Pty *p)
{
        p->master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (p->master < 0 || grantpt(p->master) < 0 || unlockpt(p->master) < 0)
                return -errno;
        const char *name = ptsname(p->master);
        p->slave = name ? open(name, O_RDWR | O_NOCTTY | O_CLOEXEC) : -1;
        return p->slave < 0 ? -errno : 0;
}

static bool echo_is_on(int fd)
{
        struct termios t;
        return tcgetattr(fd, &t) == 0 && (t.c_lflag & ECHO);
}

/* A child that waits until the reader has turned echo off, then either
 * types line into the terminal or sends SIGINT to the reader. */
static pid_t start_typist(const Pty *p, const char *line, bool interrupt)
{
        pid_t reader = getpid();
        pid_t pid = fork();
        if (pid != 0)
                return pid;
        for (int i = 0; i < 5000 && echo_is_on(p->slave); i++) {
                struct timespec ts = { 0, 1000000 };
                nanosleep(&ts, NULL);
        }
        if (echo_is_on(p->slave))
                _exit(2);
        if (interrupt)
                kill(reader, SIGINT);
        else if (loop_write(p->master, line, strlen(line)) < 0)
                _exit(3);
        _exit(0);
}

TEST(terminal_prompt_hides_input_and_restores_echo)
{
        Pty p;
        if (pty_open(&p) < 0)
                SKIP("no pseudo-terminals here");
        ASSERT_TRUE(echo_is_on(p.slave));
        int prompt[2];
        ASSERT_OK(RET_NERRNO(pipe2(prompt, O_CLOEXEC)));

        pid_t typist = start_typist(&p, "typed-secret\n", false);
        ASSERT_TRUE(typist > 0);
        _cleanup_auth_token_ AuthToken t = {};
        _cleanup_error_ Error err = ERROR_INIT;
        int sig = -1;
        int r = auth_read_token(p.slave, prompt[1], "github token (input hidden): ", &t, &sig, &err);
        ASSERT_EQ(wait_for_exit(typist), 0); /* it saw echo off */
        ASSERT_OK(r);
        ASSERT_EQ(sig, 0);
        ASSERT_STREQ(t.data, "typed-secret");
        ASSERT_TRUE(echo_is_on(p.slave));

        close(prompt[1]);
        char buf[128] = {};
        ASSERT_TRUE(read(prompt[0], buf, sizeof buf - 1) > 0);
        ASSERT_STREQ(buf, "github token (input hidden): ");
        close(prompt[0]);

        /* With echo off and ECHONL, the terminal shows only the newline. */
        char echoed[256] = {};
        int fl = fcntl(p.master, F_GETFL);
        fcntl(p.master, F_SETFL, fl | O_NONBLOCK);
        ssize_t n = read(p.master, echoed, sizeof echoed - 1);
        ASSERT_TRUE(n <= 0 || !strstr(echoed, "typed-secret"));
        close(p.master);
        close(p.slave);
}

static volatile sig_atomic_t saw_sigint;
static void count_sigint(int sig)
{
        saw_sigint++;
}

TEST(sigint_during_the_prompt_restores_the_terminal)
{
        Pty p;
        if (pty_open(&p) < 0)
                SKIP("no pseudo-terminals here");
        struct sigaction mine = { .sa_handler = count_sigint }, before;
        ASSERT_OK(RET_NERRNO(sigaction(SIGINT, &mine, &before)));

        pid_t typist = start_typist(&p, NULL, true);
        ASSERT_TRUE(typist > 0);
        AuthToken t;
        memset(&t, 'X', sizeof t);
        _cleanup_error_ Error err = ERROR_INIT;
        int sig = 0;
        int r = auth_read_token(p.slave, -1, "prompt: ", &t, &sig, &err);
        ASSERT_EQ(wait_for_exit(typist), 0);
        ASSERT_EQ(r, -EINTR);
        ASSERT_EQ(sig, SIGINT);
        ASSERT_TRUE(echo_is_on(p.slave));
        for (size_t i = 0; i < sizeof t.data; i++)
                ASSERT_EQ(t.data[i], 0);

        /* The caller's handler and signal mask are back. */
        struct sigaction now;
        ASSERT_OK(RET_NERRNO(sigaction(SIGINT, NULL, &now)));
        ASSERT_TRUE(now.sa_handler == count_sigint);
        sigset_t mask;
        ASSERT_OK(RET_NERRNO(sigprocmask(SIG_SETMASK, NULL, &mask)));
        ASSERT_FALSE(sigismember(&mask, SIGINT));
        ASSERT_EQ(saw_sigint, 0); /* consumed by the prompt, not leaked */
        sigaction(SIGINT, &before, NULL);
        close(p.master);
        close(p.slave);
}
