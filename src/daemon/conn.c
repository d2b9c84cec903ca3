#include "daemon/conn.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/str.h"

#include <string.h>
#include <sys/epoll.h>

int conn_add(ConnTable *t, int fd, const struct ucred *cred, Conn **ret)
{
        Conn *c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        c->fd = fd;
        c->id = ++t->next_id;
        c->cred = *cred;
        c->last_activity = now_monotonic_ns();
        frame_reader_init(&c->in, PROTOCOL_MAX_REQUEST);
        c->events = EPOLLIN | EPOLLRDHUP;
        struct epoll_event e = { .events = c->events, .data.ptr = c };
        if (epoll_ctl(t->epoll_fd, EPOLL_CTL_ADD, fd, &e) < 0) {
                int r = -errno;
                log_warn("epoll_ctl: %m");
                free(c);
                return r;
        }
        c->next = t->conns;
        if (t->conns)
                t->conns->prev = c;
        t->conns = c;
        t->n_conns++;
        if (cred->uid != 0)
                t->n_user_conns++;
        *ret = c;
        return 0;
}

Conn *conn_find(ConnTable *t, uint64_t id)
{
        for (Conn *c = t->conns; c; c = c->next)
                if (c->id == id)
                        return c->dead ? NULL : c;
        return NULL;
}

size_t conns_of_uid(const ConnTable *t, uid_t uid)
{
        size_t n = 0;
        for (const Conn *c = t->conns; c; c = c->next)
                if (c->cred.uid == uid)
                        n++;
        return n;
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

void conn_update_events(ConnTable *t, Conn *c)
{
        if (c->dead)
                return;
        uint32_t ev = conn_wanted_events(c);
        if (ev == c->events)
                return;
        struct epoll_event e = { .events = ev, .data.ptr = c };
        if (epoll_ctl(t->epoll_fd, EPOLL_CTL_MOD, c->fd, &e) < 0) {
                log_warn("epoll_ctl on connection %llu: %m", (unsigned long long) c->id);
                conn_close(t, c, "epoll failure");
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

int conn_flush(Conn *c, uint64_t now)
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

/* Dropping a client that does not read, instead of letting the daemon
 * grow or wait. */
int conn_queue(ConnTable *t, Conn *c, char *frame, size_t len, int fd)
{
        if (c->out_bytes + len > t->max_out_bytes) {
                free(frame);
                safe_close(fd);
                conn_close(t, c, "client does not read its replies");
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

        int r = conn_flush(c, now_monotonic_ns());
        if (r < 0) {
                conn_close(t, c, "write failed");
                return -ECONNRESET;
        }
        if (c->closing && !c->out_head) {
                conn_close(t, c, NULL);
                return 0;
        }
        conn_update_events(t, c);
        return 0;
}

int conn_send_error(ConnTable *t, Conn *c, json_t *id, int code, ProtoErrorKind kind, const char *message)
{
        json_t *msg = message_error(id, code, kind, message);
        char *frame = NULL;
        size_t len = 0;
        int r = msg ? frame_encode(msg, PROTOCOL_MAX_MESSAGE, &frame, &len) : -ENOMEM;
        json_decref(msg);
        if (r < 0)
                return r;
        if (c->dead) {
                free(frame);
                return -ECONNRESET;
        }
        return conn_queue(t, c, frame, len, -EBADF);
}

void conn_fail(ConnTable *t, Conn *c, json_t *id, int code, ProtoErrorKind kind, const char *message)
{
        log_debug("connection %llu (uid %u): %s", (unsigned long long) c->id, (unsigned) c->cred.uid, message);
        c->closing = true;
        if (conn_send_error(t, c, id, code, kind, message) < 0 || c->dead)
                return;
        if (!c->out_head)
                conn_close(t, c, NULL);
        else
                conn_update_events(t, c);
}

/* ---- close ---- */

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

void conn_close(ConnTable *t, Conn *c, const char *why)
{
        if (c->dead)
                return;
        if (why)
                log_debug("closing connection %llu (uid %u): %s", (unsigned long long) c->id, (unsigned) c->cred.uid,
                          why);
        c->dead = true;
        (void) epoll_ctl(t->epoll_fd, EPOLL_CTL_DEL, c->fd, NULL);
        c->fd = safe_close(c->fd);
        if (c->call) {
                /* The action learns through call_cancelled(); its late
                 * messages find no connection and are dropped. */
                call_cancel(c->call);
                c->call = call_unref(c->call);
        }
        t->n_conns--;
        if (c->cred.uid != 0)
                t->n_user_conns--;
        /* Freed after the current epoll batch: a later event in the same
         * batch may still point at it. */
        if (c->prev)
                c->prev->next = c->next;
        else
                t->conns = c->next;
        if (c->next)
                c->next->prev = c->prev;
        c->prev = NULL;
        c->next = t->dead;
        t->dead = c;
}

void conns_reap(ConnTable *t)
{
        while (t->dead) {
                Conn *c = t->dead;
                t->dead = c->next;
                conn_free(c);
        }
}
