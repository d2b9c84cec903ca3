/* The server: accepts connections within their caps, reads their
 * requests (one at a time each, a few per turn), hands them to
 * admission.c, carries workers' frames to the loop, and runs the epoll
 * loop with its deadlines and its stop. A connection's output queue
 * lives in conn.c, the worker slots in worker-slots.c. */
#include "daemon/server.h"
#include "daemon/admission.h"
#include "daemon/conn.h"
#include "daemon/worker-slots.h"
#include "config/daemon-options.h"
#include "base/log.h"
#include "base/str.h"

#include <pthread.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#define MS_TO_NS(ms) ((uint64_t) (ms) * 1000000ull)
#define FILLS_PER_WAKEUP 4
#define REQUESTS_PER_TURN 16
#define EPOLL_BATCH 64

/* An extra fd watched by the loop (signalfd, ...). */
typedef struct Watch {
        struct Watch *next;
        int fd;
        ServerFdFn fn;
        void *userdata;
} Watch;

/* A frame a worker thread handed to the loop. */
typedef struct Posted {
        struct Posted *next;
        uint64_t conn_id;
        char *frame;
        size_t len;
        int fd;
        Call *final_call;
} Posted;

struct Server {
        ServerContext ctx;
        CallHost call_host;       /* what every call of this server shares */
        ServerLimits limits;
        Admission admission;
        int listen_fd;
        int epoll_fd;
        int event_fd;
        ConnTable table;
        Watch *watches;
        atomic_bool stopping;
        uint64_t stop_deadline;
        WorkerSlots workers;
        pthread_mutex_t post_lock;
        Posted *post_head, *post_tail;
};

/* epoll data for the two fds that are not connections or watches. */
static char tag_listen, tag_event;

static void conn_process(Server *s, Conn *c);

size_t server_n_connections(const Server *s)
{
        return s->table.n_conns;
}

size_t server_n_workers(const Server *s)
{
        return worker_slots_in_use(&s->workers);
}

bool server_stopping(const Server *s)
{
        return atomic_load(&((Server *) s)->stopping);
}

/* ---- frames for the loop ---- */

/* Loop thread: queue a frame (and fd, owned) for connection conn_id.
 * -ECONNRESET when it is gone (the fd is closed). */
static int server_send(Server *s, uint64_t conn_id, char *frame, size_t len, int fd)
{
        Conn *c = conn_find(&s->table, conn_id);
        if (!c) {
                free(frame);
                safe_close(fd);
                return -ECONNRESET;
        }
        return conn_queue(&s->table, c, frame, len, fd);
}

/* Any thread: hand a frame to the loop. final_call (a reference, moved
 * in) marks the call's last message. */
static int server_post(Server *s, uint64_t conn_id, char *frame, size_t len, int fd, Call *final_call)
{
        Posted *p = malloc(sizeof *p);
        if (!p) {
                free(frame);
                safe_close(fd);
                call_unref(final_call);
                return -ENOMEM;
        }
        *p = (Posted) { .conn_id = conn_id, .frame = frame, .len = len, .fd = fd, .final_call = final_call };
        pthread_mutex_lock(&s->post_lock);
        if (s->post_tail)
                s->post_tail->next = p;
        else
                s->post_head = p;
        s->post_tail = p;
        pthread_mutex_unlock(&s->post_lock);
        uint64_t one = 1;
        (void) !write(s->event_fd, &one, sizeof one);
        return 0;
}

/* The CallHost of server.c's calls (call.h). */
static int host_send(void *loop, uint64_t conn_id, char *frame, size_t len, int fd)
{
        return server_send(loop, conn_id, frame, len, fd);
}

static int host_post(void *loop, uint64_t conn_id, char *frame, size_t len, int fd, Call *final_call)
{
        return server_post(loop, conn_id, frame, len, fd, final_call);
}

static bool host_stopping(void *loop)
{
        return server_stopping(loop);
}

/* The loop's side of server_post(). */
static void server_drain_posted(Server *s)
{
        uint64_t v;
        (void) !read(s->event_fd, &v, sizeof v);

        pthread_mutex_lock(&s->post_lock);
        Posted *p = s->post_head;
        s->post_head = s->post_tail = NULL;
        pthread_mutex_unlock(&s->post_lock);

        while (p) {
                Posted *next = p->next;
                Conn *c = conn_find(&s->table, p->conn_id);
                if (c)
                        (void) conn_queue(&s->table, c, p->frame, p->len, p->fd);
                else {
                        free(p->frame);
                        safe_close(p->fd);
                }
                if (p->final_call) {
                        c = conn_find(&s->table, p->conn_id);
                        if (c && c->call == p->final_call) {
                                c->call = call_unref(c->call);
                                /* Pipelined requests waiting behind this one;
                                 * an incomplete one's timeout starts now. */
                                c->partial_since = 0;
                                conn_process(s, c);
                                conn_update_events(&s->table, c);
                        }
                        call_unref(p->final_call);
                }
                free(p);
                p = next;
        }
}

/* ---- accept ---- */

/* Refuse a connection politely: the client must see "busy", never
 * mistake it for "daemon not running". */
static void refuse_connection(int fd, const char *message)
{
        json_t *msg = message_error(NULL, EAGAIN, PROTO_ERR_BUSY, message);
        char *frame = NULL;
        size_t len;
        if (msg && frame_encode(msg, PROTOCOL_MAX_MESSAGE, &frame, &len) >= 0)
                (void) !send(fd, frame, len, MSG_DONTWAIT | MSG_NOSIGNAL);
        free(frame);
        json_decref(msg);
}

static void server_accept(Server *s)
{
        for (int i = 0; i < 64; i++) {
                _cleanup_close_ int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (fd < 0) {
                        if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                                log_warn("accepting a connection: %m");
                        return;
                }
                struct ucred cred;
                socklen_t sl = sizeof cred;
                if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &sl) < 0)
                        continue;
                if (s->table.n_conns >= s->limits.max_connections) {
                        refuse_connection(fd, "daemon busy: too many connections; retry shortly");
                        continue;
                }
                /* Other uids never take the connections kept for root. */
                if (cred.uid != 0 &&
                    s->table.n_user_conns + SERVER_ROOT_RESERVED_CONNECTIONS >= s->limits.max_connections) {
                        refuse_connection(fd, "daemon busy: too many connections; retry shortly");
                        continue;
                }
                if (cred.uid != 0 && conns_of_uid(&s->table, cred.uid) >= s->limits.max_connections_per_uid) {
                        refuse_connection(fd, "daemon busy: this user has too many connections open "
                                              "(max_connections_per_user); close some or retry shortly");
                        continue;
                }
                Conn *c;
                int r = conn_add(&s->table, fd, &cred, &c);
                if (r == -ENOMEM)
                        return; /* retried on the next wakeup */
                if (r < 0)
                        continue;
                TAKE_FD(fd);
        }
}

/* ---- reading requests ---- */

/* After the client's end of stream: close once nothing is left to do. */
static void conn_maybe_finish(Server *s, Conn *c)
{
        if (c->dead || !c->read_closed || c->call || c->backlog)
                return;
        if (frame_reader_has_frame(&c->in))
                return;
        if (frame_reader_partial(&c->in))
                conn_close(&s->table, c, "client closed in the middle of a request");
        else if (!c->out_head)
                conn_close(&s->table, c, "client finished");
}

/* Handle the complete requests buffered, one at a time, at most
 * REQUESTS_PER_TURN before other connections get their turn: a client
 * that pipelines thousands of requests does not starve the others. */
static void conn_process(Server *s, Conn *c)
{
        c->backlog = false;
        for (unsigned n = 0; !c->dead && !c->call && !c->closing; n++) {
                if (!frame_reader_has_frame(&c->in))
                        break;
                if (n >= REQUESTS_PER_TURN) {
                        c->backlog = true;
                        break;
                }
                _cleanup_free_ char *body = NULL;
                size_t len = 0;
                int r = frame_reader_next(&c->in, &body, &len);
                if (r == -EMSGSIZE) {
                        _cleanup_free_ char *m = NULL;
                        if (asprintf(&m, "request too large or not a valid frame (limit %u bytes); closing connection",
                                     PROTOCOL_MAX_REQUEST) < 0)
                                m = NULL;
                        conn_fail(&s->table, c, NULL, EMSGSIZE, PROTO_ERR_TOO_LARGE, m ? m : "request too large");
                        return;
                }
                if (r <= 0) {
                        conn_fail(&s->table, c, NULL, EBADMSG, PROTO_ERR_INVALID, "invalid frame; closing connection");
                        return;
                }
                admission_handle(&s->admission, c, body, len);
                explicit_wipe(body, len);
        }
        if (c->dead)
                return;
        /* The request timeout runs while an incomplete request sits in
         * the buffer with nothing else to do. */
        bool incomplete = frame_reader_partial(&c->in) && !frame_reader_has_frame(&c->in);
        if (!incomplete)
                c->partial_since = 0;
        else if (!c->partial_since)
                c->partial_since = now_monotonic_ns();
        conn_maybe_finish(s, c);
}

static void conn_on_readable(Server *s, Conn *c)
{
        for (int i = 0; i < FILLS_PER_WAKEUP && !c->dead && !c->call && !c->closing && !c->backlog; i++) {
                ssize_t n = frame_reader_fill(&c->in, c->fd);
                if (n == -EAGAIN || n == -ENOBUFS)
                        break;
                if (n == 0) {
                        c->read_closed = true;
                        break;
                }
                if (n == -EMSGSIZE) {
                        conn_process(s, c); /* serves what came before, replies "too large" and closes */
                        if (!c->dead && !c->closing)
                                conn_fail(&s->table, c, NULL, EMSGSIZE, PROTO_ERR_TOO_LARGE, "request too large");
                        return;
                }
                if (n == -ETOOMANYREFS) {
                        conn_fail(&s->table, c, NULL, ETOOMANYREFS, PROTO_ERR_INVALID,
                                  "too many file descriptors sent; closing connection");
                        return;
                }
                if (n < 0) {
                        conn_close(&s->table, c, "read failed");
                        return;
                }
                c->last_activity = now_monotonic_ns();
                conn_process(s, c);
        }
        if (!c->dead && !c->backlog)
                conn_process(s, c);
        if (!c->dead)
                conn_update_events(&s->table, c);
}

static void conn_on_event(Server *s, Conn *c, uint32_t events)
{
        if (c->dead)
                return;
        if (events & EPOLLERR) {
                conn_close(&s->table, c, "socket error");
                return;
        }
        if (events & EPOLLOUT) {
                if (conn_flush(c, now_monotonic_ns()) < 0) {
                        conn_close(&s->table, c, "write failed");
                        return;
                }
                if (c->closing && !c->out_head) {
                        conn_close(&s->table, c, NULL);
                        return;
                }
        }
        if (events & EPOLLIN)
                conn_on_readable(s, c);
        if (c->dead)
                return;
        if (events & EPOLLHUP) {
                /* Both directions are gone: nobody can read a reply. */
                conn_close(&s->table, c, "client hung up");
                return;
        }
        /* Requests still queued in the kernel are read once the call in
         * flight ends; end of stream is then seen as a 0-byte read. */
        if (events & EPOLLRDHUP)
                c->rdhup_seen = true;
        conn_maybe_finish(s, c);
        conn_update_events(&s->table, c);
}

/* Connections that used up their turn continue here. */
static void server_run_backlog(Server *s)
{
        for (Conn *c = s->table.conns, *next; c; c = next) {
                next = c->next;
                if (!c->backlog || c->dead || c->call)
                        continue;
                conn_process(s, c);
                conn_update_events(&s->table, c);
        }
}

/* ---- deadlines ---- */

static void server_check_deadlines(Server *s, uint64_t now)
{
        const ServerLimits *l = &s->limits;
        for (Conn *c = s->table.conns, *next; c; c = next) {
                next = c->next;
                if (c->out_head && c->out_stalled_since &&
                    now - c->out_stalled_since > MS_TO_NS(l->write_timeout_ms)) {
                        conn_close(&s->table, c, "client stopped reading");
                        continue;
                }
                if (c->call)
                        continue;
                if (c->partial_since && now - c->partial_since > MS_TO_NS(l->request_timeout_ms)) {
                        _cleanup_free_ char *m = NULL;
                        if (asprintf(&m, "request timed out: incomplete request after %u ms; closing connection",
                                     l->request_timeout_ms) < 0)
                                m = NULL;
                        /* Best effort: a client that does not read gets cut
                         * off by the write timeout instead. */
                        conn_fail(&s->table, c, NULL, ETIMEDOUT, PROTO_ERR_TIMEOUT, m ? m : "request timed out");
                        continue;
                }
                if (!c->partial_since && !c->out_head && now - c->last_activity > MS_TO_NS(l->idle_timeout_ms))
                        conn_close(&s->table, c, "idle");
        }
}

static int server_next_timeout_ms(Server *s)
{
        for (Conn *c = s->table.conns; c; c = c->next)
                if (c->backlog && !c->call)
                        return 0;
        for (Conn *c = s->table.conns; c; c = c->next)
                if (c->partial_since || c->out_head)
                        return 100;
        return server_stopping(s) ? 50 : 1000;
}

/* ---- stop ---- */

void server_stop(Server *s)
{
        if (atomic_exchange(&s->stopping, true))
                return;
        s->stop_deadline = now_monotonic_ns() + MS_TO_NS(DAEMON_STOP_GRACE_MS);
        if (s->listen_fd >= 0) {
                (void) epoll_ctl(s->epoll_fd, EPOLL_CTL_DEL, s->listen_fd, NULL);
                s->listen_fd = safe_close(s->listen_fd);
        }
        for (Conn *c = s->table.conns, *next; c; c = next) {
                next = c->next;
                if (c->call)
                        call_cancel(c->call);
                else if (!c->out_head)
                        conn_close(&s->table, c, "daemon stopping");
                else
                        c->closing = true;
        }
}

static bool server_stop_done(Server *s, uint64_t now)
{
        if (now >= s->stop_deadline)
                return true;
        if (worker_slots_in_use(&s->workers) > 0)
                return false;
        for (Conn *c = s->table.conns; c; c = c->next)
                if (c->out_head || c->call)
                        return false;
        return true;
}

/* ---- the loop ---- */

static void server_dispatch(Server *s, struct epoll_event *e)
{
        if (e->data.ptr == &tag_listen) {
                if (!server_stopping(s))
                        server_accept(s);
                return;
        }
        if (e->data.ptr == &tag_event) {
                server_drain_posted(s);
                return;
        }
        for (Watch *w = s->watches; w; w = w->next)
                if ((void *) w == e->data.ptr) {
                        w->fn(w->userdata, e->events);
                        return;
                }
        conn_on_event(s, e->data.ptr, e->events);
}

int server_run(Server *s)
{
        struct epoll_event events[EPOLL_BATCH];
        for (;;) {
                uint64_t now = now_monotonic_ns();
                if (server_stopping(s) && server_stop_done(s, now))
                        break;
                int n = epoll_wait(s->epoll_fd, events, EPOLL_BATCH, server_next_timeout_ms(s));
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                for (int i = 0; i < n; i++)
                        server_dispatch(s, &events[i]);
                server_run_backlog(s);
                server_check_deadlines(s, now_monotonic_ns());
                conns_reap(&s->table);
        }
        /* Posted messages of workers that finished during the grace period. */
        server_drain_posted(s);
        for (Conn *c = s->table.conns, *next; c; c = next) {
                next = c->next;
                conn_close(&s->table, c, "daemon stopped");
        }
        conns_reap(&s->table);
        return 0;
}

int server_watch_fd(Server *s, int fd, ServerFdFn fn, void *userdata)
{
        Watch *w = calloc(1, sizeof *w);
        if (!w)
                return -ENOMEM;
        *w = (Watch) { .next = s->watches, .fd = fd, .fn = fn, .userdata = userdata };
        struct epoll_event e = { .events = EPOLLIN, .data.ptr = w };
        if (epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, fd, &e) < 0) {
                int r = -errno;
                free(w);
                return r;
        }
        s->watches = w;
        return 0;
}

int server_new(const ServerContext *ctx, int listen_fd, const ServerLimits *limits, Server **ret)
{
        _cleanup_close_ int lfd = listen_fd;
        Server *s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        s->ctx = *ctx;
        s->call_host = (CallHost) { .daemon = ctx->daemon, .engine = ctx->engine, .send = host_send,
                                    .post = host_post, .stopping = host_stopping, .loop = s };
        s->limits = *limits;
        s->listen_fd = -EBADF;
        s->event_fd = -EBADF;
        atomic_init(&s->stopping, false);

        int r = worker_slots_init(&s->workers, limits->max_workers, limits->max_workers_per_uid,
                                  SERVER_ROOT_RESERVED_WORKERS);
        if (r < 0) {
                free(s);
                return r;
        }
        pthread_mutex_init(&s->post_lock, NULL);
        s->admission = (Admission) { .policy = ctx->policy, .ratelimit = ctx->ratelimit,
                                     .enable_test_actions = ctx->enable_test_actions,
                                     .find_action = ctx->find_action, .action_is_reserved = ctx->action_is_reserved,
                                     .call_host = &s->call_host, .conns = &s->table, .workers = &s->workers };
        s->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
        if (s->epoll_fd < 0)
                r = -errno;
        s->table = (ConnTable) { .epoll_fd = s->epoll_fd, .max_out_bytes = limits->max_out_bytes };
        if (r == 0) {
                s->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
                if (s->event_fd < 0)
                        r = -errno;
        }
        if (r == 0) {
                struct epoll_event e = { .events = EPOLLIN, .data.ptr = &tag_event };
                if (epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, s->event_fd, &e) < 0)
                        r = -errno;
        }
        if (r == 0) {
                struct epoll_event e = { .events = EPOLLIN, .data.ptr = &tag_listen };
                if (epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, lfd, &e) < 0)
                        r = -errno;
        }
        if (r < 0) {
                server_free(s);
                return r;
        }
        s->listen_fd = TAKE_FD(lfd);
        *ret = s;
        return 0;
}

Server *server_free(Server *s)
{
        if (!s)
                return NULL;
        for (Conn *c = s->table.conns, *next; c; c = next) {
                next = c->next;
                conn_close(&s->table, c, NULL);
        }
        conns_reap(&s->table);
        pthread_mutex_lock(&s->post_lock);
        for (Posted *p = s->post_head, *next; p; p = next) {
                next = p->next;
                free(p->frame);
                safe_close(p->fd);
                call_unref(p->final_call);
                free(p);
        }
        s->post_head = s->post_tail = NULL;
        pthread_mutex_unlock(&s->post_lock);
        while (s->watches) {
                Watch *w = s->watches;
                s->watches = w->next;
                free(w);
        }
        safe_close(s->listen_fd);
        safe_close(s->event_fd);
        safe_close(s->epoll_fd);
        pthread_mutex_destroy(&s->post_lock);
        worker_slots_done(&s->workers);
        free(s);
        return NULL;
}
