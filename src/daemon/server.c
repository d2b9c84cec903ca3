#include "daemon/server.h"
#include "daemon/worker.h"
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

/* One queued outgoing frame; fd (if any) rides on its first byte. */
typedef struct OutMsg {
        struct OutMsg *next;
        char *data;
        size_t len;
        size_t off;
        int fd;
} OutMsg;

typedef struct Conn {
        struct Conn *next, *prev;
        uint64_t id;
        int fd;
        struct ucred cred;
        FrameReader in;
        OutMsg *out_head, *out_tail;
        size_t out_bytes;
        Call *call;               /* request in flight (one reference) */
        uint64_t partial_since;   /* when an incomplete request started, 0 = none */
        uint64_t last_activity;
        uint64_t out_stalled_since;
        uint32_t events;          /* registered epoll mask */
        bool read_closed;         /* read end of stream: no more requests */
        bool rdhup_seen;          /* peer shut down its sending side (maybe data left) */
        bool backlog;             /* complete requests wait for their next turn */
        bool closing;             /* close once the output is flushed */
        bool dead;                /* closed; freed after the current batch */
} Conn;

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
        int listen_fd;
        int epoll_fd;
        int event_fd;
        Conn *conns;
        Conn *dead;
        size_t n_conns;
        uint64_t next_conn_id;
        Watch *watches;
        atomic_bool stopping;
        uint64_t stop_deadline;
        atomic_uint n_workers;
        size_t n_user_conns;        /* connections of non-root uids */
        /* Long actions per non-root uid, under workers_lock. */
        pthread_mutex_t workers_lock;
        struct UidCount { uid_t uid; unsigned n; } *uid_workers; /* max_workers entries */
        unsigned n_user_workers;
        pthread_mutex_t post_lock;
        Posted *post_head, *post_tail;
};

/* epoll data for the two fds that are not connections or watches. */
static char tag_listen, tag_event;

static void conn_close(Server *s, Conn *c, const char *why);
static void conn_process(Server *s, Conn *c);

size_t server_n_connections(const Server *s)
{
        return s->n_conns;
}

size_t server_n_workers(const Server *s)
{
        return atomic_load(&((Server *) s)->n_workers);
}

bool server_stopping(const Server *s)
{
        return atomic_load(&((Server *) s)->stopping);
}

static struct UidCount *uid_slot(Server *s, uid_t uid, bool add)
{
        struct UidCount *free_slot = NULL;
        for (unsigned i = 0; i < s->limits.max_workers; i++) {
                if (s->uid_workers[i].n > 0 && s->uid_workers[i].uid == uid)
                        return &s->uid_workers[i];
                if (!free_slot && s->uid_workers[i].n == 0)
                        free_slot = &s->uid_workers[i];
        }
        if (add && free_slot)
                free_slot->uid = uid;
        return add ? free_slot : NULL;
}

/* Worker accounting: 0, or -EBUSY when the daemon has no slot left
 * for uid (root keeps SERVER_ROOT_RESERVED_WORKERS of its own), -EUSERS
 * when uid holds max_workers_per_uid already. */
static int server_worker_acquire(Server *s, uid_t uid)
{
        int r = 0;
        pthread_mutex_lock(&s->workers_lock);
        unsigned n = atomic_load(&s->n_workers);
        struct UidCount *slot = NULL;
        if (n >= s->limits.max_workers)
                r = -EBUSY;
        else if (uid != 0 && s->n_user_workers + SERVER_ROOT_RESERVED_WORKERS >= s->limits.max_workers)
                r = -EBUSY;
        else if (uid != 0 && !(slot = uid_slot(s, uid, true)))
                r = -EBUSY;
        else if (slot && slot->n >= s->limits.max_workers_per_uid)
                r = -EUSERS;
        if (r == 0) {
                atomic_store(&s->n_workers, n + 1);
                if (slot) {
                        slot->n++;
                        s->n_user_workers++;
                }
        }
        pthread_mutex_unlock(&s->workers_lock);
        return r;
}

/* Any thread (a worker's last step, see worker_start()). */
static void server_worker_release(void *userdata, uid_t uid)
{
        Server *s = userdata;
        pthread_mutex_lock(&s->workers_lock);
        if (uid != 0) {
                struct UidCount *slot = uid_slot(s, uid, false);
                if (slot && slot->n > 0) {
                        slot->n--;
                        s->n_user_workers--;
                }
        }
        atomic_fetch_sub(&s->n_workers, 1);
        pthread_mutex_unlock(&s->workers_lock);
}

/* ---- epoll registration ---- */

static uint32_t conn_wanted_events(const Conn *c)
{
        /* EPOLLRDHUP is level-triggered: ask once, or a half-closed
         * client with a long call in flight would spin the loop. */
        uint32_t ev = c->rdhup_seen ? 0 : EPOLLRDHUP;
        /* One request at a time per connection: stop reading while one
         * is in flight so the input buffer stays bounded. */
        if (!c->call && !c->read_closed && !c->closing && !c->backlog)
                ev |= EPOLLIN;
        if (c->out_head)
                ev |= EPOLLOUT;
        return ev;
}

static void conn_update_events(Server *s, Conn *c)
{
        if (c->dead)
                return;
        uint32_t ev = conn_wanted_events(c);
        if (ev == c->events)
                return;
        struct epoll_event e = { .events = ev, .data.ptr = c };
        if (epoll_ctl(s->epoll_fd, EPOLL_CTL_MOD, c->fd, &e) < 0) {
                log_warn("epoll_ctl on connection %llu: %m", (unsigned long long) c->id);
                conn_close(s, c, "epoll failure");
                return;
        }
        c->events = ev;
}

/* ---- output ---- */

static void outmsg_free(OutMsg *m)
{
        safe_close(m->fd);
        free(m->data);
        free(m);
}

static ssize_t send_with_fd(int sockfd, const char *buf, size_t len, int fd)
{
        union {
                struct cmsghdr align;
                char buf[CMSG_SPACE(sizeof(int))];
        } control = {};
        struct iovec iov = { .iov_base = (void *) buf, .iov_len = len };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
        if (fd >= 0) {
                mh.msg_control = control.buf;
                mh.msg_controllen = sizeof control.buf;
                struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
                cm->cmsg_level = SOL_SOCKET;
                cm->cmsg_type = SCM_RIGHTS;
                cm->cmsg_len = CMSG_LEN(sizeof(int));
                memcpy(CMSG_DATA(cm), &fd, sizeof(int));
        }
        return sendmsg(sockfd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
}

/* Write as much as the socket takes now. Returns 0 or a negative errno
 * for a broken connection. */
static int conn_flush(Server *s, Conn *c, uint64_t now)
{
        while (c->out_head) {
                OutMsg *m = c->out_head;
                ssize_t n = send_with_fd(c->fd, m->data + m->off, m->len - m->off, m->off == 0 ? m->fd : -EBADF);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN) {
                                if (!c->out_stalled_since)
                                        c->out_stalled_since = now;
                                break;
                        }
                        return -errno;
                }
                c->out_stalled_since = 0;
                c->last_activity = now;
                if (m->off == 0)
                        m->fd = safe_close(m->fd); /* the kernel holds its own reference now */
                m->off += (size_t) n;
                c->out_bytes -= (size_t) n;
                if (m->off == m->len) {
                        c->out_head = m->next;
                        if (!c->out_head)
                                c->out_tail = NULL;
                        outmsg_free(m);
                }
        }
        return 0;
}

static Conn *conn_find(Server *s, uint64_t id)
{
        for (Conn *c = s->conns; c; c = c->next)
                if (c->id == id)
                        return c->dead ? NULL : c;
        return NULL;
}

/* Queue a frame; a client whose unread output exceeds the bound is
 * dropped instead of letting the daemon grow or wait. */
static int conn_queue(Server *s, Conn *c, char *frame, size_t len, int fd)
{
        if (c->out_bytes + len > s->limits.max_out_bytes) {
                free(frame);
                safe_close(fd);
                conn_close(s, c, "client does not read its replies");
                return -ECONNRESET;
        }
        OutMsg *m = malloc(sizeof *m);
        if (!m) {
                free(frame);
                safe_close(fd);
                return -ENOMEM;
        }
        *m = (OutMsg) { .data = frame, .len = len, .fd = fd };
        if (c->out_tail)
                c->out_tail->next = m;
        else
                c->out_head = m;
        c->out_tail = m;
        c->out_bytes += len;

        int r = conn_flush(s, c, now_monotonic_ns());
        if (r < 0) {
                conn_close(s, c, "write failed");
                return -ECONNRESET;
        }
        if (c->closing && !c->out_head) {
                conn_close(s, c, NULL);
                return 0;
        }
        conn_update_events(s, c);
        return 0;
}

/* Loop thread: queue a frame (and fd, owned) for connection conn_id.
 * -ECONNRESET when it is gone (the fd is closed). */
static int server_send(Server *s, uint64_t conn_id, char *frame, size_t len, int fd)
{
        Conn *c = conn_find(s, conn_id);
        if (!c) {
                free(frame);
                safe_close(fd);
                return -ECONNRESET;
        }
        return conn_queue(s, c, frame, len, fd);
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

/* Encode and send an error for a request that never became a call
 * (bad frame, denied, rate limited, ...). Loop thread. */
static int send_error(Server *s, uint64_t conn_id, json_t *id, int code, ProtoErrorKind kind, const char *message)
{
        json_t *msg = message_error(id, code, kind, message);
        char *frame = NULL;
        size_t len = 0;
        int r = msg ? frame_encode(msg, PROTOCOL_MAX_MESSAGE, &frame, &len) : -ENOMEM;
        json_decref(msg);
        if (r < 0)
                return r;
        return server_send(s, conn_id, frame, len, -EBADF);
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
                Conn *c = conn_find(s, p->conn_id);
                if (c)
                        (void) conn_queue(s, c, p->frame, p->len, p->fd);
                else {
                        free(p->frame);
                        safe_close(p->fd);
                }
                if (p->final_call) {
                        c = conn_find(s, p->conn_id);
                        if (c && c->call == p->final_call) {
                                c->call = call_unref(c->call);
                                /* Pipelined requests waiting behind this one;
                                 * an incomplete one's timeout starts now. */
                                c->partial_since = 0;
                                conn_process(s, c);
                                conn_update_events(s, c);
                        }
                        call_unref(p->final_call);
                }
                free(p);
                p = next;
        }
}

/* ---- connections ---- */

static void conn_free(Conn *c)
{
        while (c->out_head) {
                OutMsg *m = c->out_head;
                c->out_head = m->next;
                outmsg_free(m);
        }
        frame_reader_done(&c->in);
        free(c);
}

static void conn_close(Server *s, Conn *c, const char *why)
{
        if (c->dead)
                return;
        if (why)
                log_debug("closing connection %llu (uid %u): %s", (unsigned long long) c->id, (unsigned) c->cred.uid,
                          why);
        c->dead = true;
        (void) epoll_ctl(s->epoll_fd, EPOLL_CTL_DEL, c->fd, NULL);
        c->fd = safe_close(c->fd);
        if (c->call) {
                /* The action learns through call_cancelled(); its late
                 * messages find no connection and are dropped. */
                call_cancel(c->call);
                c->call = call_unref(c->call);
        }
        s->n_conns--;
        if (c->cred.uid != 0)
                s->n_user_conns--;
        /* Freed after the current epoll batch: a later event in the same
         * batch may still point at it. */
        if (c->prev)
                c->prev->next = c->next;
        else
                s->conns = c->next;
        if (c->next)
                c->next->prev = c->prev;
        c->prev = NULL;
        c->next = s->dead;
        s->dead = c;
}

/* Reply with an error, then close once it is flushed. */
static void conn_fail(Server *s, Conn *c, json_t *id, int code, ProtoErrorKind kind, const char *message)
{
        log_debug("connection %llu (uid %u): %s", (unsigned long long) c->id, (unsigned) c->cred.uid, message);
        c->closing = true;
        if (send_error(s, c->id, id, code, kind, message) < 0 || c->dead)
                return;
        if (!c->out_head)
                conn_close(s, c, NULL);
        else
                conn_update_events(s, c);
}

static size_t conns_of_uid(Server *s, uid_t uid)
{
        size_t n = 0;
        for (Conn *c = s->conns; c; c = c->next)
                if (c->cred.uid == uid)
                        n++;
        return n;
}

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
                if (s->n_conns >= s->limits.max_connections) {
                        refuse_connection(fd, "daemon busy: too many connections; retry shortly");
                        continue;
                }
                /* Other uids never take the connections kept for root. */
                if (cred.uid != 0 && s->n_user_conns + SERVER_ROOT_RESERVED_CONNECTIONS >= s->limits.max_connections) {
                        refuse_connection(fd, "daemon busy: too many connections; retry shortly");
                        continue;
                }
                if (cred.uid != 0 && conns_of_uid(s, cred.uid) >= s->limits.max_connections_per_uid) {
                        refuse_connection(fd, "daemon busy: this user has too many connections open "
                                              "(max_connections_per_user); close some or retry shortly");
                        continue;
                }
                Conn *c = calloc(1, sizeof *c);
                if (!c)
                        return;
                c->fd = fd;
                c->id = ++s->next_conn_id;
                c->cred = cred;
                c->last_activity = now_monotonic_ns();
                frame_reader_init(&c->in, PROTOCOL_MAX_REQUEST);
                c->events = EPOLLIN | EPOLLRDHUP;
                struct epoll_event e = { .events = c->events, .data.ptr = c };
                if (epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, fd, &e) < 0) {
                        log_warn("epoll_ctl: %m");
                        free(c);
                        continue;
                }
                TAKE_FD(fd);
                c->next = s->conns;
                if (s->conns)
                        s->conns->prev = c;
                s->conns = c;
                s->n_conns++;
                if (cred.uid != 0)
                        s->n_user_conns++;
        }
}

/* ---- requests ---- */

static bool request_policy_allows(Server *s, Conn *c, const Request *req, const struct ucred *cred)
{
        _cleanup_free_ char *reason = NULL;
        if (policy_check(s->ctx.policy, cred->uid, req->action, &reason))
                return true;
        log_info("uid %u: %s", (unsigned) cred->uid, reason ? reason : "denied");
        (void) send_error(s, c->id, req->id, EACCES, PROTO_ERR_DENIED, reason ? reason : "denied");
        return false;
}

static bool request_allowed(Server *s, Conn *c, const Request *req, const Action *a, const struct ucred *cred)
{
        if ((a->flags & ACTION_ROOT_ONLY) && cred->uid != 0) {
                _cleanup_free_ char *m = NULL;
                if (asprintf(&m, "denied: '%s' may only be run by root", a->name) < 0)
                        m = NULL;
                (void) send_error(s, c->id, req->id, EPERM, PROTO_ERR_DENIED, m ? m : "denied");
                return false;
        }
        return request_policy_allows(s, c, req, cred);
}

static bool request_within_rate(Server *s, Conn *c, const Request *req, const struct ucred *cred)
{
        uint64_t wait_ns = 0;
        RateLimitResult rl = ratelimiter_take(s->ctx.ratelimit, cred->uid, now_monotonic_ns(), &wait_ns);
        if (rl == RATELIMIT_OK)
                return true;
        unsigned long long wait_ms = (wait_ns + 999999) / 1000000;
        _cleanup_free_ char *m = NULL;
        if (rl == RATELIMIT_UID) {
                if (asprintf(&m, "rate limited: uid %u sent more than %.0f requests in a burst (%.0f/s sustained); "
                             "retry in %llu ms", (unsigned) cred->uid, s->ctx.ratelimit->config.uid_burst,
                             s->ctx.ratelimit->config.uid_rate, wait_ms) < 0)
                        m = NULL;
        } else if (asprintf(&m, "rate limited: the daemon is receiving more than %.0f requests/s from all users; "
                            "retry in %llu ms", s->ctx.ratelimit->config.global_rate, wait_ms) < 0)
                m = NULL;
        log_info("%s", m ? m : "rate limited");
        (void) send_error(s, c->id, req->id, EAGAIN, PROTO_ERR_RATE_LIMITED, m ? m : "rate limited");
        return false;
}

static const Action *request_action(Server *s, Conn *c, const Request *req, const struct ucred *cred)
{
        const Action *a = s->ctx.find_action(req->action, s->ctx.enable_test_actions);
        if (a)
                return a;
        _cleanup_free_ char *m = NULL;
        if (s->ctx.action_is_reserved(req->action)) {
                /* A denied user learns it is denied, not what is built. */
                if (!request_policy_allows(s, c, req, cred))
                        return NULL;
                if (asprintf(&m, "action '%s' is not built yet in enclave %s", req->action, ENCLAVE_VERSION) < 0)
                        m = NULL;
                (void) send_error(s, c->id, req->id, ENOSYS, PROTO_ERR_NOT_BUILT, m ? m : "not built");
        } else {
                if (asprintf(&m, "unknown action '%s'", req->action) < 0)
                        m = NULL;
                (void) send_error(s, c->id, req->id, EOPNOTSUPP, PROTO_ERR_UNKNOWN_ACTION,
                                       m ? m : "unknown action");
        }
        return NULL;
}

/* A long action on its own thread, within the worker limits. */
static int server_start_worker(Server *s, Call *call)
{
        uid_t uid = call_uid(call);
        int r = server_worker_acquire(s, uid);
        if (r < 0)
                return r;
        r = worker_start(call, server_worker_release, s);
        if (r < 0)
                server_worker_release(s, uid);
        return r;
}

static void request_start(Server *s, Conn *c, const Request *req, const Action *a, const struct ucred *cred)
{
        int fds[PROTOCOL_MAX_FDS];
        if (frame_reader_take_fds(&c->in, req->n_fds, fds) < 0) {
                conn_fail(s, c, req->id, EBADMSG, PROTO_ERR_INVALID,
                          "request announced more file descriptors than were sent");
                return;
        }
        Call *call = call_new(&s->call_host, c->id, a, req->id, req->params, cred, fds, (unsigned) req->n_fds);
        if (!call) {
                (void) send_error(s, c->id, req->id, ENOMEM, PROTO_ERR_FAILED, "out of memory");
                return;
        }
        c->call = call_ref(call);
        if (a->flags & ACTION_LONG) {
                int r = server_start_worker(s, call);
                if (r < 0) {
                        c->call = call_unref(c->call);
                        _cleanup_free_ char *m = NULL;
                        if (r == -EUSERS && asprintf(&m, "daemon busy: uid %u already runs %u long operations, the "
                                                     "most one user may (max_long_actions_per_user); retry when "
                                                     "one has finished", (unsigned) cred->uid,
                                                     s->limits.max_workers_per_uid) < 0)
                                m = NULL;
                        (void) send_error(s, c->id, req->id, EAGAIN, PROTO_ERR_BUSY,
                                               m ? m : "daemon busy: too many long operations in flight; retry "
                                                       "shortly");
                }
                /* else c->call stays until the worker's final message. */
        } else {
                call_run_inline(call);
                if (!c->dead && c->call == call)
                        c->call = call_unref(c->call);
        }
        call_unref(call);
}

static void conn_handle_request(Server *s, Conn *c, const char *body, size_t len)
{
        _cleanup_error_ Error err = ERROR_INIT;
        Request req;
        ProtoErrorKind kind;

        /* Identity as of now, for every request. */
        struct ucred cred;
        socklen_t sl = sizeof cred;
        if (getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &cred, &sl) < 0) {
                conn_close(s, c, "SO_PEERCRED failed");
                return;
        }
        if (request_parse(body, len, &req, &kind, &err) < 0) {
                (void) send_error(s, c->id, req.id, err.code, kind, error_msg(&err));
                request_done(&req);
                return;
        }
        if (server_stopping(s)) {
                (void) send_error(s, c->id, req.id, ESHUTDOWN, PROTO_ERR_SHUTDOWN, "daemon is stopping");
                request_done(&req);
                return;
        }
        log_debug("uid %u pid %d: %s", (unsigned) cred.uid, (int) cred.pid, req.action);
        const Action *a = NULL;
        if (request_within_rate(s, c, &req, &cred) && (a = request_action(s, c, &req, &cred)) &&
            request_allowed(s, c, &req, a, &cred))
                request_start(s, c, &req, a, &cred);
        else if (req.n_fds > 0 && !c->dead) {
                /* Drop the fds that came with a refused request. */
                int fds[PROTOCOL_MAX_FDS];
                if (frame_reader_take_fds(&c->in, req.n_fds, fds) >= 0)
                        for (size_t i = 0; i < req.n_fds; i++)
                                safe_close(fds[i]);
        }
        request_done(&req);
}

/* After the client's end of stream: close once nothing is left to do. */
static void conn_maybe_finish(Server *s, Conn *c)
{
        if (c->dead || !c->read_closed || c->call || c->backlog)
                return;
        if (frame_reader_has_frame(&c->in))
                return;
        if (frame_reader_partial(&c->in))
                conn_close(s, c, "client closed in the middle of a request");
        else if (!c->out_head)
                conn_close(s, c, "client finished");
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
                        conn_fail(s, c, NULL, EMSGSIZE, PROTO_ERR_TOO_LARGE, m ? m : "request too large");
                        return;
                }
                if (r <= 0) {
                        conn_fail(s, c, NULL, EBADMSG, PROTO_ERR_INVALID, "invalid frame; closing connection");
                        return;
                }
                conn_handle_request(s, c, body, len);
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
                                conn_fail(s, c, NULL, EMSGSIZE, PROTO_ERR_TOO_LARGE, "request too large");
                        return;
                }
                if (n == -ETOOMANYREFS) {
                        conn_fail(s, c, NULL, ETOOMANYREFS, PROTO_ERR_INVALID,
                                  "too many file descriptors sent; closing connection");
                        return;
                }
                if (n < 0) {
                        conn_close(s, c, "read failed");
                        return;
                }
                c->last_activity = now_monotonic_ns();
                conn_process(s, c);
        }
        if (!c->dead && !c->backlog)
                conn_process(s, c);
        if (!c->dead)
                conn_update_events(s, c);
}

static void conn_on_event(Server *s, Conn *c, uint32_t events)
{
        if (c->dead)
                return;
        if (events & EPOLLERR) {
                conn_close(s, c, "socket error");
                return;
        }
        if (events & EPOLLOUT) {
                if (conn_flush(s, c, now_monotonic_ns()) < 0) {
                        conn_close(s, c, "write failed");
                        return;
                }
                if (c->closing && !c->out_head) {
                        conn_close(s, c, NULL);
                        return;
                }
        }
        if (events & EPOLLIN)
                conn_on_readable(s, c);
        if (c->dead)
                return;
        if (events & EPOLLHUP) {
                /* Both directions are gone: nobody can read a reply. */
                conn_close(s, c, "client hung up");
                return;
        }
        /* Requests still queued in the kernel are read once the call in
         * flight ends; end of stream is then seen as a 0-byte read. */
        if (events & EPOLLRDHUP)
                c->rdhup_seen = true;
        conn_maybe_finish(s, c);
        conn_update_events(s, c);
}

/* Connections that used up their turn continue here. */
static void server_run_backlog(Server *s)
{
        for (Conn *c = s->conns, *next; c; c = next) {
                next = c->next;
                if (!c->backlog || c->dead || c->call)
                        continue;
                conn_process(s, c);
                conn_update_events(s, c);
        }
}

/* ---- deadlines ---- */

static void server_check_deadlines(Server *s, uint64_t now)
{
        const ServerLimits *l = &s->limits;
        for (Conn *c = s->conns, *next; c; c = next) {
                next = c->next;
                if (c->out_head && c->out_stalled_since &&
                    now - c->out_stalled_since > MS_TO_NS(l->write_timeout_ms)) {
                        conn_close(s, c, "client stopped reading");
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
                        conn_fail(s, c, NULL, ETIMEDOUT, PROTO_ERR_TIMEOUT, m ? m : "request timed out");
                        continue;
                }
                if (!c->partial_since && !c->out_head && now - c->last_activity > MS_TO_NS(l->idle_timeout_ms))
                        conn_close(s, c, "idle");
        }
}

static int server_next_timeout_ms(Server *s)
{
        for (Conn *c = s->conns; c; c = c->next)
                if (c->backlog && !c->call)
                        return 0;
        for (Conn *c = s->conns; c; c = c->next)
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
        for (Conn *c = s->conns, *next; c; c = next) {
                next = c->next;
                if (c->call)
                        call_cancel(c->call);
                else if (!c->out_head)
                        conn_close(s, c, "daemon stopping");
                else
                        c->closing = true;
        }
}

static bool server_stop_done(Server *s, uint64_t now)
{
        if (now >= s->stop_deadline)
                return true;
        if (atomic_load(&s->n_workers) > 0)
                return false;
        for (Conn *c = s->conns; c; c = c->next)
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

static void server_reap_dead(Server *s)
{
        while (s->dead) {
                Conn *c = s->dead;
                s->dead = c->next;
                conn_free(c);
        }
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
                server_reap_dead(s);
        }
        /* Posted messages of workers that finished during the grace period. */
        server_drain_posted(s);
        for (Conn *c = s->conns, *next; c; c = next) {
                next = c->next;
                conn_close(s, c, "daemon stopped");
        }
        server_reap_dead(s);
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
        pthread_mutex_init(&s->post_lock, NULL);
        pthread_mutex_init(&s->workers_lock, NULL);
        atomic_init(&s->stopping, false);
        atomic_init(&s->n_workers, 0);

        int r = 0;
        s->uid_workers = calloc(s->limits.max_workers + 1, sizeof *s->uid_workers);
        if (!s->uid_workers) {
                pthread_mutex_destroy(&s->workers_lock);
                pthread_mutex_destroy(&s->post_lock);
                free(s);
                return -ENOMEM;
        }
        s->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
        if (s->epoll_fd < 0)
                r = -errno;
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
        for (Conn *c = s->conns, *next; c; c = next) {
                next = c->next;
                conn_close(s, c, NULL);
        }
        server_reap_dead(s);
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
        pthread_mutex_destroy(&s->workers_lock);
        free(s->uid_workers);
        free(s);
        return NULL;
}
