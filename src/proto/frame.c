#include "proto/frame.h"
#include "base/str.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

/* Read-ahead beyond the frame being assembled, so pipelined requests
 * need few syscalls while the buffer stays bounded. */
#define READ_CHUNK (64u * 1024u)

void frame_reader_init(FrameReader *r, size_t max_body)
{
        *r = (FrameReader) { .max_body = max_body };
}

void frame_reader_done(FrameReader *r)
{
        if (r->buf)
                explicit_wipe(r->buf, r->len);
        free(r->buf);
        for (size_t i = 0; i < r->n_fds; i++)
                safe_close(r->fds[i]);
        *r = (FrameReader) { .max_body = r->max_body };
}

static uint32_t header_length(const char *p)
{
        const unsigned char *u = (const unsigned char *) p;
        return (uint32_t) u[0] << 24 | (uint32_t) u[1] << 16 | (uint32_t) u[2] << 8 | u[3];
}

static bool announced_too_large(const FrameReader *r)
{
        return r->len >= PROTOCOL_HEADER_SIZE && header_length(r->buf) > r->max_body;
}

static int reader_reserve(FrameReader *r, size_t *ret_room)
{
        size_t limit = PROTOCOL_HEADER_SIZE + r->max_body + READ_CHUNK;
        /* Full: the first frame is complete (no valid frame is longer
         * than the limit), so the caller must consume before reading. */
        if (r->len >= limit)
                return -ENOBUFS;
        size_t want = r->len + READ_CHUNK;
        if (want > limit)
                want = limit;
        if (r->cap < want) {
                size_t cap = r->cap ? r->cap : 4096;
                while (cap < want)
                        cap *= 2;
                if (cap > limit)
                        cap = limit;
                char *nb = realloc(r->buf, cap);
                if (!nb)
                        return -ENOMEM;
                r->buf = nb;
                r->cap = cap;
        }
        *ret_room = want - r->len;
        return 0;
}

/* Queue the fds of every SCM_RIGHTS message; close what does not fit. */
static int reader_collect_fds(FrameReader *r, struct msghdr *mh)
{
        int r_err = 0;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
                if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
                        continue;
                size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                int fds[PROTOCOL_MAX_FDS * 2];
                if (n > ELEMENTSOF(fds))
                        n = ELEMENTSOF(fds);
                memcpy(fds, CMSG_DATA(c), n * sizeof(int));
                for (size_t i = 0; i < n; i++) {
                        if (r->n_fds < PROTOCOL_MAX_FDS)
                                r->fds[r->n_fds++] = fds[i];
                        else {
                                safe_close(fds[i]);
                                r_err = -ETOOMANYREFS;
                        }
                }
        }
        if (mh->msg_flags & MSG_CTRUNC)
                r_err = -ETOOMANYREFS;
        return r_err;
}

ssize_t frame_reader_fill(FrameReader *r, int sockfd)
{
        if (announced_too_large(r))
                return -EMSGSIZE;
        size_t room;
        int k = reader_reserve(r, &room);
        if (k < 0)
                return k;

        union {
                struct cmsghdr align;
                char buf[CMSG_SPACE(sizeof(int) * PROTOCOL_MAX_FDS * 2)];
        } control;
        struct iovec iov = { .iov_base = r->buf + r->len, .iov_len = room };
        struct msghdr mh = {
                .msg_iov = &iov,
                .msg_iovlen = 1,
                .msg_control = control.buf,
                .msg_controllen = sizeof control.buf,
        };
        ssize_t n;
        do
                n = recvmsg(sockfd, &mh, MSG_CMSG_CLOEXEC);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return errno == EWOULDBLOCK ? -EAGAIN : -errno;
        k = reader_collect_fds(r, &mh);
        r->len += (size_t) n;
        if (k < 0)
                return k;
        if (announced_too_large(r))
                return -EMSGSIZE;
        return n;
}

int frame_reader_next(FrameReader *r, char **ret, size_t *ret_len)
{
        if (r->len < PROTOCOL_HEADER_SIZE)
                return 0;
        uint32_t n = header_length(r->buf);
        if (n > r->max_body)
                return -EMSGSIZE;
        if (n == 0)
                return -EBADMSG;
        if (r->len < PROTOCOL_HEADER_SIZE + n)
                return 0;
        char *body = malloc((size_t) n + 1);
        if (!body)
                return -ENOMEM;
        memcpy(body, r->buf + PROTOCOL_HEADER_SIZE, n);
        body[n] = 0;
        size_t used = PROTOCOL_HEADER_SIZE + n;
        memmove(r->buf, r->buf + used, r->len - used);
        r->len -= used;
        /* Requests may carry secrets (auth.login): leave no stale copy. */
        explicit_wipe(r->buf + r->len, used);
        *ret = body;
        if (ret_len)
                *ret_len = n;
        return 1;
}

bool frame_reader_partial(const FrameReader *r)
{
        return r->len > 0;
}

bool frame_reader_has_frame(const FrameReader *r)
{
        if (r->len < PROTOCOL_HEADER_SIZE)
                return false;
        uint32_t n = header_length(r->buf);
        /* A bad header is something to act on, too. */
        return n == 0 || n > r->max_body || r->len >= PROTOCOL_HEADER_SIZE + n;
}

int frame_reader_take_fds(FrameReader *r, size_t n, int *ret)
{
        if (n > r->n_fds)
                return -EBADMSG;
        memcpy(ret, r->fds, n * sizeof(int));
        memmove(r->fds, r->fds + n, (r->n_fds - n) * sizeof(int));
        r->n_fds -= n;
        return 0;
}

int frame_encode(json_t *msg, size_t max_body, char **ret, size_t *ret_len)
{
        size_t n = json_dumpb(msg, NULL, 0, JSON_COMPACT);
        if (n == 0)
                return -EINVAL;
        if (n > max_body)
                return -EMSGSIZE;
        char *buf = malloc(PROTOCOL_HEADER_SIZE + n);
        if (!buf)
                return -ENOMEM;
        if (json_dumpb(msg, buf + PROTOCOL_HEADER_SIZE, n, JSON_COMPACT) != n) {
                free(buf);
                return -EIO;
        }
        buf[0] = (char) (n >> 24);
        buf[1] = (char) (n >> 16);
        buf[2] = (char) (n >> 8);
        buf[3] = (char) n;
        *ret = buf;
        *ret_len = PROTOCOL_HEADER_SIZE + n;
        return 0;
}

int frame_send_all(int sockfd, const char *buf, size_t len, const int *fds, size_t n_fds)
{
        if (n_fds > PROTOCOL_MAX_FDS)
                return -ETOOMANYREFS;
        union {
                struct cmsghdr align;
                char buf[CMSG_SPACE(sizeof(int) * PROTOCOL_MAX_FDS)];
        } control;
        bool fds_pending = n_fds > 0;

        while (len > 0) {
                struct iovec iov = { .iov_base = (void *) buf, .iov_len = len };
                struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
                if (fds_pending) {
                        memset(&control, 0, sizeof control);
                        mh.msg_control = control.buf;
                        mh.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
                        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
                        c->cmsg_level = SOL_SOCKET;
                        c->cmsg_type = SCM_RIGHTS;
                        c->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
                        memcpy(CMSG_DATA(c), fds, sizeof(int) * n_fds);
                }
                ssize_t n = sendmsg(sockfd, &mh, MSG_NOSIGNAL);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                fds_pending = false;
                buf += n;
                len -= (size_t) n;
        }
        return 0;
}
