/* Client file descriptors used as given, pipes through a relay
 * (client-fd.h). */
#include "daemon/client-fd.h"
#include "base/fs.h"
#include "base/log.h"

#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#ifndef FUSE_SUPER_MAGIC
#define FUSE_SUPER_MAGIC 0x65735546
#endif

#define RELAY_CHUNK (64u * 1024u)
#define RELAY_WAIT_MS 50

struct ClientStream {
        int client_fd;        /* the client's fd (owned) */
        int own_fd;           /* what the work uses: client_fd, or our pipe end */
        int relay_fd;         /* the relay's end of our pipe (owned by the thread while it runs) */
        int cancel_fd;        /* the call's (not owned) */
        int done_fd;          /* eventfd: the relay thread finished */
        bool writing;
        bool relayed;
        pthread_t thread;
        atomic_bool stop;
        int result;           /* the relay's outcome, read after it finished */
};

/* ---- checks ---- */

static int check_fd(int fd, bool for_writing, bool *ret_pipe, Error *err)
{
        int fl = fcntl(fd, F_GETFL);
        if (fl < 0)
                return error_setc(err, errno, "the file descriptor the client sent");
        if (fl & O_PATH)
                return error_set(err, EBADF, "the file descriptor the client sent was opened with O_PATH, which "
                                 "grants no access to the data; open the file for %s", for_writing ? "writing" : "reading");
        int acc = fl & O_ACCMODE;
        if (for_writing ? acc == O_RDONLY : acc == O_WRONLY)
                return error_set(err, EBADF, "the file descriptor the client sent is not open for %s",
                                 for_writing ? "writing" : "reading");
        struct stat st;
        if (fstat(fd, &st) < 0)
                return error_setc(err, errno, "the file descriptor the client sent");
        if (S_ISFIFO(st.st_mode)) {
                *ret_pipe = true;
                return 0;
        }
        if (!S_ISREG(st.st_mode))
                return error_set(err, EINVAL, "the file descriptor the client sent must be a regular file or a pipe");
        struct statfs fs;
        if (fstatfs(fd, &fs) < 0)
                return error_setc(err, errno, "the file descriptor the client sent");
        if ((unsigned long) fs.f_type == FUSE_SUPER_MAGIC)
                return error_set(err, EINVAL, "the file the client sent lies on a FUSE file system, whose reads and "
                                 "writes its own process may never answer; copy it elsewhere or pipe it in");
        *ret_pipe = false;
        return 0;
}

/* ---- the relay thread ---- */

/* A signal only to interrupt a relay stuck in read() or write() on the
 * client's pipe (poll said it was ready, then someone else drained or
 * filled it). The handler does nothing; it exists so the call returns
 * EINTR (no SA_RESTART). Every other thread keeps it blocked. */
#define RELAY_KICK_SIGNAL (SIGRTMIN + 4)

static void on_kick(int sig)
{
        (void) sig;
}

static pthread_once_t kick_once = PTHREAD_ONCE_INIT;

static void install_kick(void)
{
        struct sigaction sa = { .sa_handler = on_kick };
        sigemptyset(&sa.sa_mask);
        (void) sigaction(RELAY_KICK_SIGNAL, &sa, NULL);
}

/* Wait until fd has events (or the call is cancelled, or stop): 1
 * ready, 0 cancelled/stopped, -errno. */
static int wait_for(ClientStream *s, int fd, short events, short *ret_revents)
{
        for (;;) {
                if (atomic_load(&s->stop))
                        return 0;
                struct pollfd p[2] = { { fd, events, 0 }, { s->cancel_fd, POLLIN, 0 } };
                int n = poll(p, s->cancel_fd >= 0 ? 2 : 1, -1);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (p[1].revents)
                        return 0;
                *ret_revents = p[0].revents;
                return 1;
        }
}

/* Write all of buf to fd (a pipe), waiting for room with poll; at most
 * PIPE_BUF per write, so a write poll() allowed cannot block. */
static int relay_write(ClientStream *s, int fd, const char *buf, size_t n)
{
        while (n > 0) {
                short rev = 0;
                int r = wait_for(s, fd, POLLOUT, &rev);
                if (r <= 0)
                        return r == 0 ? -ECANCELED : r;
                if (rev & (POLLERR | POLLHUP | POLLNVAL))
                        return -EPIPE;
                ssize_t k = write(fd, buf, n > PIPE_BUF ? PIPE_BUF : n);
                if (k < 0 && (errno == EINTR || errno == EAGAIN))
                        continue;
                if (k < 0)
                        return -errno;
                buf += k;
                n -= (size_t) k;
        }
        return 0;
}

static int relay_run(ClientStream *s)
{
        /* Reading: client -> our pipe; writing: our pipe -> client. */
        int from = s->writing ? s->relay_fd : s->client_fd;
        int to = s->writing ? s->client_fd : s->relay_fd;
        _cleanup_free_ char *buf = malloc(RELAY_CHUNK);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                short rev = 0;
                int r = wait_for(s, from, POLLIN, &rev);
                if (r <= 0)
                        return r == 0 ? -ECANCELED : r;
                ssize_t n = read(from, buf, RELAY_CHUNK);
                if (n < 0 && (errno == EINTR || errno == EAGAIN))
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        return 0;
                r = relay_write(s, to, buf, (size_t) n);
                if (r < 0)
                        return r;
        }
}

static void *relay_main(void *userdata)
{
        ClientStream *s = userdata;
        sigset_t kick;
        sigemptyset(&kick);
        sigaddset(&kick, RELAY_KICK_SIGNAL);
        (void) pthread_sigmask(SIG_UNBLOCK, &kick, NULL);
        s->result = relay_run(s);
        /* The work sees end of input, or a broken pipe for its output. */
        s->relay_fd = safe_close(s->relay_fd);
        (void) eventfd_write(s->done_fd, 1);
        return NULL;
}

static int start_relay(Call *c, ClientStream *s, Error *err)
{
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0)
                return error_setc(err, errno, "creating a pipe");
        /* Our end of the pipe for the thread, non-blocking: it only ever
         * waits in poll(). */
        s->relay_fd = s->writing ? p[0] : p[1];
        s->own_fd = s->writing ? p[1] : p[0];
        if (fcntl(s->relay_fd, F_SETFL, O_NONBLOCK) < 0)
                return error_setc(err, errno, "setting up the relay");
        s->cancel_fd = call_cancel_fd(c);
        if (s->cancel_fd < 0)
                return error_setc(err, -s->cancel_fd, "setting up the relay");
        s->done_fd = eventfd(0, EFD_CLOEXEC);
        if (s->done_fd < 0)
                return error_setc(err, errno, "setting up the relay");
        pthread_once(&kick_once, install_kick);
        int r = pthread_create(&s->thread, NULL, relay_main, s);
        if (r != 0)
                return error_setc(err, r, "starting the relay thread");
        s->relayed = true;
        return 0;
}

static void stream_free(ClientStream *s)
{
        if (s->own_fd != s->client_fd)
                safe_close(s->own_fd);
        safe_close(s->client_fd);
        safe_close(s->relay_fd);
        safe_close(s->done_fd);
        free(s);
}

int client_stream_open(Call *c, int fd, bool for_writing, ClientStream **ret, Error *err)
{
        bool pipe = false;
        int r = check_fd(fd, for_writing, &pipe, err);
        if (r < 0) {
                safe_close(fd);
                return r;
        }
        ClientStream *s = calloc(1, sizeof *s);
        if (!s) {
                safe_close(fd);
                return error_set(err, ENOMEM, "out of memory");
        }
        *s = (ClientStream) { .client_fd = fd, .own_fd = fd, .relay_fd = -EBADF, .cancel_fd = -EBADF,
                              .done_fd = -EBADF, .writing = for_writing };
        atomic_init(&s->stop, false);
        if (pipe && (r = start_relay(c, s, err)) < 0) {
                stream_free(s);
                return r;
        }
        *ret = s;
        return 0;
}

int client_stream_fd(const ClientStream *s)
{
        return s->own_fd;
}

bool client_stream_relayed(const ClientStream *s)
{
        return s->relayed;
}

int client_stream_close(ClientStream *s, Error *err)
{
        if (!s)
                return 0;
        if (!s->relayed) {
                stream_free(s);
                return 0;
        }
        /* A reader stops now; a writer's relay first delivers what the
         * work wrote (its end of our pipe closes here), unless cancelled. */
        if (!s->writing)
                atomic_store(&s->stop, true);
        s->own_fd = safe_close(s->own_fd);
        for (;;) {
                struct pollfd p = { s->done_fd, POLLIN, 0 };
                if (poll(&p, 1, RELAY_WAIT_MS) > 0)
                        break;
                /* Stuck in read() or write() on the client's pipe although
                 * poll() said it was ready: interrupt it. */
                if (atomic_load(&s->stop) || (s->cancel_fd >= 0 && poll(&(struct pollfd) { s->cancel_fd, POLLIN, 0 },
                                                                           1, 0) > 0)) {
                        atomic_store(&s->stop, true);
                        (void) pthread_kill(s->thread, RELAY_KICK_SIGNAL);
                }
        }
        pthread_join(s->thread, NULL);
        int r = s->writing ? s->result : 0;
        stream_free(s);
        if (r == -ECANCELED)
                return error_set(err, ECANCELED, "the client went away before it had all the data");
        if (r < 0)
                return error_setc(err, -r, "passing the data to the client");
        return 0;
}
