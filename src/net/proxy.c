#include "net/proxy.h"

#include "base/log.h"
#include "net/port.h"
#include "net/proxy-peer.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

/* Per direction. A pipe holds pages only while data is queued, so this
 * bounds memory per connection (2 MiB when both directions stall) rather
 * than reserving it; the size lets one splice move a large burst, which
 * measurably helps bulk throughput over 64 KiB. */
#define PROXY_PIPE_SIZE (1024 * 1024)
/* A splice that moved at least this much is part of a bulk transfer. */
#define PROXY_BULK_BYTES (32 * 1024)
#define PROXY_MAX_EVENTS 64
/* Anyone on the host may connect to a published port, and each relayed
 * connection costs the daemon six descriptors and up to two pipes of
 * queued data. So a port relays at most PROXY_MAX_CONNS_PER_PORT
 * connections at once and all ports together PROXY_MAX_CONNS; more wait
 * in the listener's backlog until one ends. Only the first
 * PROXY_BIG_PIPES connections get PROXY_PIPE_SIZE pipes, the others the
 * kernel's default (64 KiB): at most about 250 MiB of queued data and
 * 6144 descriptors, whoever connects. */
#define PROXY_MAX_CONNS_PER_PORT 256
#define PROXY_MAX_CONNS 1024
#define PROXY_BIG_PIPES 64
/* And one local user's connections (the uid owning the client socket,
 * proxy-peer.h) at most a quarter of them, whichever ports they go to:
 * a connection beyond its share is closed at once, since the listener
 * cannot leave it alone in the backlog and take the next user's. Root
 * is not counted. A connection whose owner cannot be told (the client
 * is gone already) counts as uid -1's. */
#define PROXY_MAX_CONNS_PER_UID (PROXY_MAX_CONNS / 4)

typedef enum HandlerKind {
        H_WAKE,
        H_LISTENER,
        H_CLIENT,
        H_UPSTREAM,
} HandlerKind;

typedef struct Handler {
        HandlerKind kind;
} Handler;

typedef struct Mapping Mapping;

typedef struct Relay {
        int rd, wr;      /* the pipe */
        size_t queued;   /* bytes in the pipe */
        bool src_eof;    /* source sent FIN */
        bool done;       /* FIN passed on to the destination */
        /* Readiness as epoll last reported it; cleared on EAGAIN. Saves
         * the syscall that would only return EAGAIN again. */
        bool src_ready, dst_ready;
} Relay;

typedef struct Conn {
        Handler client_h, upstream_h;
        int client, upstream;
        bool connecting;
        bool dead;       /* closed; freed after the current epoll round */
        bool big;        /* its pipes are PROXY_PIPE_SIZE */
        uid_t uid;       /* who connected (proxy-peer.h) */
        Relay c2u, u2c;
        Mapping *m;
        struct Conn *prev, *next;
} Conn;

struct Mapping {
        Handler h;
        int listen_fd;
        bool paused;     /* out of fds or at a cap: accept resumes when a connection ends */
        bool dead;       /* unpublished; freed after the current epoll round */
        uint16_t host_port, ws_port;
        uint32_t ws_addr;
        char *tag;
        unsigned nconns;
        uint64_t accepted;
        Conn *conns;
        Mapping *next;
};

typedef enum CmdKind {
        CMD_PUBLISH,
        CMD_UNPUBLISH,
        CMD_UNPUBLISH_TAG,
        CMD_LIST,
        CMD_STOP,
} CmdKind;

typedef struct Cmd {
        CmdKind kind;
        uint16_t host_port, ws_port;
        uint32_t ws_addr;
        const char *tag;
        /* results */
        int r;
        Error err;
        ProxyMapping *list;
        size_t n_list;
        bool done;
        struct Cmd *next;
} Cmd;

struct Proxy {
        pthread_t thread;
        bool running;
        int epfd;
        int wake_fd;
        Handler wake_h;
        Mapping *mappings;
        unsigned paused;
        unsigned nconns, nbig; /* open connections, and those with big pipes */
        int diag_fd;           /* sock_diag, for the uid of each client */
        /* Open connections per non-root uid (PROXY_MAX_CONNS_PER_UID);
         * n_uids entries, at most one per connection. */
        struct { uid_t uid; unsigned n; } uids[PROXY_MAX_CONNS];
        size_t n_uids;
        /* Closed connections and mappings wait here until no event of the
         * current epoll round can point to them any more. */
        Conn *dead_conns;
        Mapping *dead_mappings;

        pthread_mutex_t lock;
        pthread_cond_t cond;
        Cmd *queue;
        bool stopping;
};

#define container_of(ptr, type, member) ((type *) ((char *) (ptr) - offsetof(type, member)))

/* ---- connections ---- */

static void relay_close(Relay *r)
{
        r->rd = safe_close(r->rd);
        r->wr = safe_close(r->wr);
}

static void resume_paused(Proxy *p)
{
        if (p->paused == 0)
                return;
        for (Mapping *m = p->mappings; m; m = m->next)
                if (m->paused) {
                        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &m->h };
                        (void) epoll_ctl(p->epfd, EPOLL_CTL_MOD, m->listen_fd, &ev);
                        m->paused = false;
                }
        p->paused = 0;
}

/* Deregister before closing: close() only drops an epoll registration
 * once every copy of the file is closed, and a child the daemon is
 * forking at that moment briefly holds copies, so a closed fd could
 * still report events for a handler that is already freed. */
static void unwatch_and_close(Proxy *p, int fd)
{
        if (fd < 0)
                return;
        (void) epoll_ctl(p->epfd, EPOLL_CTL_DEL, fd, NULL);
        safe_close(fd);
}

/* The count of uid's open connections (added when missing); NULL for
 * root, which has no share. */
static unsigned *uid_count(Proxy *p, uid_t uid)
{
        if (uid == 0)
                return NULL;
        for (size_t i = 0; i < p->n_uids; i++)
                if (p->uids[i].uid == uid)
                        return &p->uids[i].n;
        if (p->n_uids >= ELEMENTSOF(p->uids))
                return NULL; /* cannot happen: one entry per open connection at most */
        p->uids[p->n_uids].uid = uid;
        p->uids[p->n_uids].n = 0;
        return &p->uids[p->n_uids++].n;
}

/* Drop uid's entry when it counts nothing (a connection that never
 * started). */
static void uid_prune(Proxy *p, uid_t uid)
{
        for (size_t i = 0; i < p->n_uids; i++)
                if (p->uids[i].uid == uid && p->uids[i].n == 0) {
                        p->uids[i] = p->uids[--p->n_uids];
                        return;
                }
}

static void uid_release(Proxy *p, uid_t uid)
{
        for (size_t i = 0; i < p->n_uids; i++)
                if (p->uids[i].uid == uid) {
                        if (--p->uids[i].n == 0)
                                p->uids[i] = p->uids[--p->n_uids];
                        return;
                }
}

static void conn_close(Proxy *p, Conn *c)
{
        unwatch_and_close(p, c->client);
        unwatch_and_close(p, c->upstream);
        c->client = c->upstream = -EBADF;
        relay_close(&c->c2u);
        relay_close(&c->u2c);
        Mapping *m = c->m;
        if (c->prev)
                c->prev->next = c->next;
        else
                m->conns = c->next;
        if (c->next)
                c->next->prev = c->prev;
        m->nconns--;
        p->nconns--;
        uid_release(p, c->uid);
        if (c->big)
                p->nbig--;
        c->dead = true;
        c->next = p->dead_conns;
        p->dead_conns = c;
        resume_paused(p);
}

static int relay_open(Relay *r, bool big)
{
        int fds[2];
        if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) < 0)
                return -errno;
        r->rd = fds[0];
        r->wr = fds[1];
        if (big)
                (void) fcntl(r->wr, F_SETPIPE_SZ, PROXY_PIPE_SIZE);
        return 0;
}

/* Move what can move from src to dst through the pipe without blocking.
 * Stops only on EAGAIN of some fd (so epoll reports the next change) or
 * when nothing is left; < 0 on a connection error. */
static int relay_pump(Relay *r, int src, int dst)
{
        for (;;) {
                bool progress = false;
                if (!r->src_eof && r->src_ready && r->queued < PROXY_PIPE_SIZE) {
                        ssize_t n = splice(src, NULL, r->wr, NULL, PROXY_PIPE_SIZE - r->queued,
                                           SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
                        if (n > 0) {
                                r->queued += (size_t) n;
                                progress = true;
                                /* In a bulk transfer, let the sender (or
                                 * the receiver) on this CPU run before the
                                 * next splice: each splice then moves more
                                 * and the relay wakes less. On a busy host
                                 * this took downloads from ~65 % of a
                                 * direct connection to par; on an idle
                                 * CPU it returns at once. */
                                if ((size_t) n >= PROXY_BULK_BYTES)
                                        sched_yield();
                        } else if (n == 0) {
                                r->src_eof = true;
                                progress = true;
                        } else if (errno == EAGAIN)
                                r->src_ready = false;
                        else if (errno != EINTR)
                                return -errno;
                }
                if (r->queued > 0 && r->dst_ready) {
                        ssize_t n = splice(r->rd, NULL, dst, NULL, r->queued, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
                        if (n > 0) {
                                r->queued -= (size_t) n;
                                /* The EAGAIN that cleared src_ready may have
                                 * meant "pipe full" (slots, not bytes):
                                 * with room again, read once more. */
                                r->src_ready = true;
                                progress = true;
                        } else if (n < 0 && errno == EAGAIN)
                                r->dst_ready = false;
                        else if (n < 0 && errno != EINTR)
                                return -errno;
                }
                if (!progress)
                        break;
        }
        if (r->src_eof && r->queued == 0 && !r->done) {
                /* Half-close: the peer sees EOF and may still answer. */
                if (shutdown(dst, SHUT_WR) < 0 && errno != ENOTCONN)
                        return -errno;
                r->done = true;
        }
        return 0;
}

#define EV_READABLE (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)
#define EV_WRITABLE (EPOLLOUT | EPOLLHUP | EPOLLERR)

/* events: what epoll reported for the client or upstream socket. */
static void conn_run(Proxy *p, Conn *c, bool upstream, uint32_t events)
{
        if (c->dead)
                return;
        Relay *in = upstream ? &c->u2c : &c->c2u, *out = upstream ? &c->c2u : &c->u2c;
        if (events & EV_READABLE)
                in->src_ready = true;
        if (events & EV_WRITABLE)
                out->dst_ready = true;
        if (c->connecting) {
                int e = 0;
                socklen_t len = sizeof e;
                if (getsockopt(c->upstream, SOL_SOCKET, SO_ERROR, &e, &len) < 0)
                        e = errno;
                if (e == EINPROGRESS || e == EALREADY)
                        return;
                if (e != 0) {
                        log_debug("proxy: connecting to workspace port %u: %s", c->m->ws_port, strerror(e));
                        conn_close(p, c);
                        return;
                }
                /* Still in progress if the socket has no peer yet. */
                struct sockaddr_in peer;
                socklen_t plen = sizeof peer;
                if (getpeername(c->upstream, (struct sockaddr *) &peer, &plen) < 0)
                        return;
                c->connecting = false;
        }
        if (relay_pump(&c->c2u, c->client, c->upstream) < 0 || relay_pump(&c->u2c, c->upstream, c->client) < 0) {
                conn_close(p, c);
                return;
        }
        if (c->c2u.done && c->u2c.done)
                conn_close(p, c);
}

/* Both legs of a relay are host-local (loopback and the bridge). A
 * pacing congestion control such as BBR, which hosts often make the
 * default for their WAN traffic, only adds timer-driven gaps on a link
 * that never drops, and through two legs that halves bulk throughput;
 * CUBIC does not pace. Failure just keeps the host default. Accepted
 * sockets inherit both settings from the listener. */
static void local_socket_tune(int fd)
{
        int on = 1;
        static const char cc[] = "cubic";
        (void) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
        (void) setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, cc, sizeof cc - 1);
}

static int conn_start(Proxy *p, Mapping *m, int client_fd, uid_t uid, unsigned *uid_n)
{
        _cleanup_close_ int client = client_fd;
        Conn *c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        *c = (Conn) { .client_h.kind = H_CLIENT, .upstream_h.kind = H_UPSTREAM, .client = -EBADF,
                      .upstream = -EBADF, .m = m, .uid = uid,
                      .c2u = { .rd = -EBADF, .wr = -EBADF, .src_ready = true, .dst_ready = true },
                      .u2c = { .rd = -EBADF, .wr = -EBADF, .src_ready = true, .dst_ready = true } };
        c->next = m->conns;
        if (m->conns)
                m->conns->prev = c;
        m->conns = c;
        m->nconns++;
        m->accepted++;
        p->nconns++;
        if (uid_n)
                (*uid_n)++;
        c->big = p->nbig < PROXY_BIG_PIPES;
        if (c->big)
                p->nbig++;
        c->client = TAKE_FD(client);

        int r = relay_open(&c->c2u, c->big);
        if (r >= 0)
                r = relay_open(&c->u2c, c->big);
        if (r >= 0) {
                c->upstream = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
                if (c->upstream < 0)
                        r = -errno;
        }
        if (r >= 0) {
                local_socket_tune(c->upstream);
                struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(m->ws_port),
                                          .sin_addr.s_addr = htonl(m->ws_addr) };
                if (connect(c->upstream, (struct sockaddr *) &to, sizeof to) < 0) {
                        if (errno == EINPROGRESS)
                                c->connecting = true;
                        else
                                r = -errno;
                }
        }
        if (r >= 0) {
                struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET };
                ev.data.ptr = &c->client_h;
                if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, c->client, &ev) < 0)
                        r = -errno;
                ev.data.ptr = &c->upstream_h;
                if (r >= 0 && epoll_ctl(p->epfd, EPOLL_CTL_ADD, c->upstream, &ev) < 0)
                        r = -errno;
        }
        if (r < 0) {
                conn_close(p, c);
                return r;
        }
        if (!c->connecting)
                conn_run(p, c, false, 0);
        return 0;
}

/* Stop polling the listener until a connection closes. */
static void mapping_pause(Proxy *p, Mapping *m)
{
        struct epoll_event ev = { .events = 0, .data.ptr = &m->h };
        (void) epoll_ctl(p->epfd, EPOLL_CTL_MOD, m->listen_fd, &ev);
        m->paused = true;
        p->paused++;
}

/* Who connected: the owner of the client socket, (uid_t) -1 when that
 * cannot be told. */
static uid_t client_uid(Proxy *p, const Mapping *m, const struct sockaddr_in *peer)
{
        struct sockaddr_in local = { .sin_family = AF_INET, .sin_port = htons(m->host_port),
                                     .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        uid_t uid;
        if (p->diag_fd < 0 || peer->sin_family != AF_INET || proxy_peer_uid(p->diag_fd, peer, &local, &uid) < 0)
                return (uid_t) -1;
        return uid;
}

static void mapping_accept(Proxy *p, Mapping *m)
{
        if (m->dead)
                return;
        for (;;) {
                if (m->nconns >= PROXY_MAX_CONNS_PER_PORT || p->nconns >= PROXY_MAX_CONNS) {
                        mapping_pause(p, m);
                        return;
                }
                struct sockaddr_in peer;
                socklen_t len = sizeof peer;
                int fd = accept4(m->listen_fd, (struct sockaddr *) &peer, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (fd < 0) {
                        if (errno == EINTR || errno == ECONNABORTED)
                                continue;
                        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                                mapping_pause(p, m);
                        return;
                }
                uid_t uid = client_uid(p, m, &peer);
                unsigned *uid_n = uid_count(p, uid);
                if (uid_n && *uid_n >= PROXY_MAX_CONNS_PER_UID) {
                        log_debug("proxy: uid %u holds %u connections, its share; closing one to port %u",
                                  (unsigned) uid, *uid_n, m->host_port);
                        safe_close(fd);
                        continue;
                }
                int r = conn_start(p, m, fd, uid, uid_n);
                if (r < 0) {
                        uid_prune(p, uid);
                        log_debug("proxy: relaying a connection on port %u: %s", m->host_port, strerror(-r));
                }
        }
}

/* ---- commands (run on the proxy thread) ---- */

static Mapping *mapping_find(Proxy *p, uint16_t host_port, Mapping ***ret_prev)
{
        Mapping **pp = &p->mappings;
        for (; *pp; pp = &(*pp)->next)
                if ((*pp)->host_port == host_port) {
                        if (ret_prev)
                                *ret_prev = pp;
                        return *pp;
                }
        return NULL;
}

static void mapping_free(Proxy *p, Mapping *m)
{
        while (m->conns)
                conn_close(p, m->conns);
        if (m->paused && p->paused > 0)
                p->paused--;
        unwatch_and_close(p, m->listen_fd);
        m->listen_fd = -EBADF;
        m->dead = true;
        m->next = p->dead_mappings;
        p->dead_mappings = m;
}

static void free_dead(Proxy *p)
{
        while (p->dead_conns) {
                Conn *c = p->dead_conns;
                p->dead_conns = c->next;
                free(c);
        }
        while (p->dead_mappings) {
                Mapping *m = p->dead_mappings;
                p->dead_mappings = m->next;
                free(m->tag);
                free(m);
        }
}

static int do_publish(Proxy *p, Cmd *c)
{
        char a[NET_ADDR_STRLEN];

        if (mapping_find(p, c->host_port, NULL))
                return error_set(&c->err, EADDRINUSE, "127.0.0.1:%u is already published", c->host_port);
        _cleanup_close_ int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return error_setc(&c->err, errno, "creating a socket for 127.0.0.1:%u", c->host_port);
        /* Lets a port be published again while old connections linger in
         * TIME_WAIT; a port someone listens on is still refused. */
        int on = 1;
        (void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
        local_socket_tune(fd);
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(c->host_port),
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        if (bind(fd, (struct sockaddr *) &sa, sizeof sa) < 0) {
                if (errno == EADDRINUSE)
                        return error_set(&c->err, EADDRINUSE,
                                         "port %u on 127.0.0.1 is already in use by another program; choose another "
                                         "host port",
                                         c->host_port);
                return error_setc(&c->err, errno, "binding 127.0.0.1:%u", c->host_port);
        }
        if (listen(fd, SOMAXCONN) < 0)
                return error_setc(&c->err, errno, "listening on 127.0.0.1:%u", c->host_port);

        Mapping *m = calloc(1, sizeof *m);
        if (!m || !(m->tag = strdup(c->tag ? c->tag : ""))) {
                free(m);
                return error_setc(&c->err, ENOMEM, "publishing 127.0.0.1:%u", c->host_port);
        }
        m->h.kind = H_LISTENER;
        m->host_port = c->host_port;
        m->ws_addr = c->ws_addr;
        m->ws_port = c->ws_port;
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &m->h };
        if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
                int e = errno;
                free(m->tag);
                free(m);
                return error_setc(&c->err, e, "publishing 127.0.0.1:%u", c->host_port);
        }
        m->listen_fd = TAKE_FD(fd);
        /* Keep the list ordered by port for proxy_list(). */
        Mapping **pp = &p->mappings;
        while (*pp && (*pp)->host_port < m->host_port)
                pp = &(*pp)->next;
        m->next = *pp;
        *pp = m;
        log_debug("proxy: 127.0.0.1:%u -> %s:%u", m->host_port, net_addr_format(m->ws_addr, a), m->ws_port);
        return 0;
}

static int do_unpublish(Proxy *p, Cmd *c)
{
        Mapping **pp;
        Mapping *m = mapping_find(p, c->host_port, &pp);
        if (!m)
                return error_set(&c->err, ENOENT, "127.0.0.1:%u is not published", c->host_port);
        *pp = m->next;
        mapping_free(p, m);
        return 0;
}

static int do_unpublish_tag(Proxy *p, Cmd *c)
{
        int n = 0;
        for (Mapping **pp = &p->mappings; *pp;) {
                Mapping *m = *pp;
                if (streq(m->tag, c->tag)) {
                        *pp = m->next;
                        mapping_free(p, m);
                        n++;
                } else
                        pp = &m->next;
        }
        return n;
}

static int do_list(Proxy *p, Cmd *c)
{
        size_t n = 0, i = 0;
        for (Mapping *m = p->mappings; m; m = m->next)
                n++;
        ProxyMapping *list = calloc(n ? n : 1, sizeof *list);
        if (!list)
                return error_setc(&c->err, ENOMEM, "listing published ports");
        for (Mapping *m = p->mappings; m; m = m->next, i++) {
                list[i] = (ProxyMapping) { .host_port = m->host_port, .ws_addr = m->ws_addr, .ws_port = m->ws_port,
                                           .tag = strdup(m->tag), .connections = m->nconns,
                                           .accepted = m->accepted };
                if (!list[i].tag) {
                        proxy_mappings_free(list, i);
                        return error_setc(&c->err, ENOMEM, "listing published ports");
                }
        }
        c->list = list;
        c->n_list = n;
        return 0;
}

static bool run_commands(Proxy *p)
{
        uint64_t v;
        bool stop = false;

        /* Only a wake-up: the queue below is the truth. */
        ssize_t n = read(p->wake_fd, &v, sizeof v);
        (void) n;
        pthread_mutex_lock(&p->lock);
        Cmd *q = p->queue;
        p->queue = NULL;
        pthread_mutex_unlock(&p->lock);

        /* The queue is LIFO; run in submission order. */
        Cmd *rev = NULL;
        while (q) {
                Cmd *next = q->next;
                q->next = rev;
                rev = q;
                q = next;
        }
        for (Cmd *c = rev, *next; c; c = next) {
                next = c->next;
                switch (c->kind) {
                case CMD_PUBLISH:
                        c->r = do_publish(p, c);
                        break;
                case CMD_UNPUBLISH:
                        c->r = do_unpublish(p, c);
                        break;
                case CMD_UNPUBLISH_TAG:
                        c->r = do_unpublish_tag(p, c);
                        break;
                case CMD_LIST:
                        c->r = do_list(p, c);
                        break;
                case CMD_STOP:
                        stop = true;
                        c->r = 0;
                        break;
                }
                pthread_mutex_lock(&p->lock);
                c->done = true;
                pthread_cond_broadcast(&p->cond);
                pthread_mutex_unlock(&p->lock);
        }
        return stop;
}

static void *proxy_thread(void *userdata)
{
        Proxy *p = userdata;
        struct epoll_event events[PROXY_MAX_EVENTS];
        sigset_t all;

        /* Process-directed signals belong to the daemon's other threads;
         * a SIGPIPE from splice() into a closed socket stays pending here
         * instead of killing the process (EPIPE is handled). */
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, NULL);
        (void) pthread_setname_np(pthread_self(), "enclave-proxy");

        for (;;) {
                int n = epoll_wait(p->epfd, events, PROXY_MAX_EVENTS, -1);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        log_debug("proxy: epoll_wait: %m");
                        break;
                }
                bool stop = false;
                for (int i = 0; i < n; i++) {
                        Handler *h = events[i].data.ptr;
                        switch (h->kind) {
                        case H_WAKE:
                                stop = run_commands(p) || stop;
                                break;
                        case H_LISTENER:
                                mapping_accept(p, container_of(h, Mapping, h));
                                break;
                        case H_CLIENT:
                                conn_run(p, container_of(h, Conn, client_h), false, events[i].events);
                                break;
                        case H_UPSTREAM:
                                conn_run(p, container_of(h, Conn, upstream_h), true, events[i].events);
                                break;
                        }
                }
                free_dead(p);
                if (stop)
                        break;
        }
        return NULL;
}

/* ---- public API ---- */

static int submit(Proxy *p, Cmd *c)
{
        uint64_t one = 1;

        pthread_mutex_lock(&p->lock);
        if (p->stopping) {
                pthread_mutex_unlock(&p->lock);
                return -ESHUTDOWN;
        }
        c->next = p->queue;
        p->queue = c;
        pthread_mutex_unlock(&p->lock);
        if (write(p->wake_fd, &one, sizeof one) < 0 && errno != EAGAIN)
                return -errno;
        pthread_mutex_lock(&p->lock);
        while (!c->done)
                pthread_cond_wait(&p->cond, &p->lock);
        pthread_mutex_unlock(&p->lock);
        return 0;
}

int proxy_new(Proxy **ret, Error *err)
{
        Proxy *p = calloc(1, sizeof *p);
        if (!p)
                return error_setc(err, ENOMEM, "starting the port proxy");
        p->epfd = epoll_create1(EPOLL_CLOEXEC);
        p->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        p->diag_fd = proxy_peer_open();
        if (p->diag_fd < 0)
                log_warn("port proxy: no sock_diag (%s): connections are not shared out per user",
                         strerror(-p->diag_fd));
        pthread_mutex_init(&p->lock, NULL);
        pthread_cond_init(&p->cond, NULL);
        p->wake_h.kind = H_WAKE;
        int r = 0;
        if (p->epfd < 0 || p->wake_fd < 0)
                r = -errno;
        if (r >= 0) {
                struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &p->wake_h };
                if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, p->wake_fd, &ev) < 0)
                        r = -errno;
        }
        if (r >= 0) {
                r = -pthread_create(&p->thread, NULL, proxy_thread, p);
                p->running = r >= 0;
        }
        if (r < 0) {
                proxy_free(p);
                return error_setc(err, -r, "starting the port proxy");
        }
        *ret = p;
        return 0;
}

Proxy *proxy_free(Proxy *p)
{
        if (!p)
                return NULL;
        if (p->running) {
                Cmd c = { .kind = CMD_STOP };
                if (submit(p, &c) < 0)
                        pthread_cancel(p->thread);
                pthread_join(p->thread, NULL);
        }
        pthread_mutex_lock(&p->lock);
        p->stopping = true;
        pthread_mutex_unlock(&p->lock);
        /* The thread is gone: its state is ours now. */
        while (p->mappings) {
                Mapping *m = p->mappings;
                p->mappings = m->next;
                mapping_free(p, m);
        }
        free_dead(p);
        safe_close(p->epfd);
        safe_close(p->wake_fd);
        safe_close(p->diag_fd);
        pthread_mutex_destroy(&p->lock);
        pthread_cond_destroy(&p->cond);
        free(p);
        return NULL;
}

int proxy_publish(Proxy *p, uint16_t host_port, uint32_t ws_addr, uint16_t ws_port, const char *tag, Error *err)
{
        Cmd c = { .kind = CMD_PUBLISH, .host_port = host_port, .ws_addr = ws_addr, .ws_port = ws_port, .tag = tag };
        if (host_port == 0 || ws_port == 0)
                return error_set(err, EINVAL, "ports must be 1-65535");
        int r = submit(p, &c);
        if (r < 0)
                return error_setc(err, -r, "publishing 127.0.0.1:%u", host_port);
        if (c.r < 0)
                error_move(err, &c.err);
        error_clear(&c.err);
        return c.r;
}

int proxy_unpublish(Proxy *p, uint16_t host_port, Error *err)
{
        Cmd c = { .kind = CMD_UNPUBLISH, .host_port = host_port };
        int r = submit(p, &c);
        if (r < 0)
                return error_setc(err, -r, "unpublishing 127.0.0.1:%u", host_port);
        if (c.r < 0)
                error_move(err, &c.err);
        error_clear(&c.err);
        return c.r;
}

int proxy_unpublish_tag(Proxy *p, const char *tag)
{
        Cmd c = { .kind = CMD_UNPUBLISH_TAG, .tag = tag };
        int r = submit(p, &c);
        return r < 0 ? r : c.r;
}

int proxy_list(Proxy *p, ProxyMapping **ret, size_t *ret_n, Error *err)
{
        Cmd c = { .kind = CMD_LIST };
        int r = submit(p, &c);
        if (r < 0)
                return error_setc(err, -r, "listing published ports");
        if (c.r < 0) {
                error_move(err, &c.err);
                return c.r;
        }
        *ret = c.list;
        *ret_n = c.n_list;
        return 0;
}

void proxy_mappings_free(ProxyMapping *m, size_t n)
{
        if (!m)
                return;
        for (size_t i = 0; i < n; i++)
                free(m[i].tag);
        free(m);
}
