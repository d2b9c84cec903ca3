#include "runtime/sync.h"

#include <string.h>
#include <sys/socket.h>

int sync_pair(int fds[2])
{
        return RET_NERRNO(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds));
}

size_t sync_strlcpy(char *dst, const char *src, size_t size)
{
        size_t n = strlen(src);
        if (size > 0) {
                size_t c = n < size - 1 ? n : size - 1;
                memcpy(dst, src, c);
                dst[c] = 0;
        }
        return n;
}

size_t sync_strlcat(char *dst, const char *src, size_t size)
{
        size_t l = strnlen(dst, size);
        if (l == size)
                return l + strlen(src);
        return l + sync_strlcpy(dst + l, src, size - l);
}

char *sync_utoa(uint64_t v, char *buf)
{
        char tmp[21];
        size_t n = 0;
        do {
                tmp[n++] = (char) ('0' + v % 10);
                v /= 10;
        } while (v);
        for (size_t i = 0; i < n; i++)
                buf[i] = tmp[n - 1 - i];
        buf[n] = 0;
        return buf;
}

static int send_msg(int sock, const SyncMsg *m, const int *fds, size_t n_fds)
{
        if (n_fds > SYNC_MAX_FDS)
                return -EINVAL;
        struct iovec iov = { .iov_base = (void *) m, .iov_len = sizeof *m };
        union {
                struct cmsghdr align;
                char buf[CMSG_SPACE(sizeof(int) * SYNC_MAX_FDS)];
        } control;
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
        if (n_fds > 0) {
                memset(&control, 0, sizeof control);
                mh.msg_control = control.buf;
                mh.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
                struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
                memcpy(CMSG_DATA(c), fds, sizeof(int) * n_fds);
        }
        for (;;) {
                ssize_t n = sendmsg(sock, &mh, MSG_NOSIGNAL);
                if (n >= 0)
                        return n == (ssize_t) sizeof *m ? 0 : -EIO;
                if (errno != EINTR)
                        return -errno;
        }
}

int sync_send_step(int sock, uint32_t step, const int *fds, size_t n_fds)
{
        SyncMsg m;
        memset(&m, 0, sizeof m);
        m.step = step;
        return send_msg(sock, &m, fds, n_fds);
}

int sync_send_text(int sock, uint32_t step, const char *text)
{
        SyncMsg m;
        memset(&m, 0, sizeof m);
        m.step = step;
        sync_strlcpy(m.text, text, sizeof m.text);
        return send_msg(sock, &m, NULL, 0);
}

void sync_msg_set_failure(SyncMsg *m, uint32_t step, int errnum, const char *what, const char *arg)
{
        m->step = step;
        m->error = errnum > 0 ? errnum : EIO;
        m->whole = 0;
        sync_strlcpy(m->text, what ? what : "", sizeof m->text);
        if (arg) {
                sync_strlcat(m->text, " ", sizeof m->text);
                sync_strlcat(m->text, arg, sizeof m->text);
        }
}

void sync_msg_set_error(SyncMsg *m, uint32_t step, const Error *err)
{
        memset(m, 0, sizeof *m);
        m->step = step;
        m->error = err && err->code > 0 ? err->code : EIO;
        m->whole = 1;
        sync_strlcpy(m->text, error_msg(err), sizeof m->text);
}

int sync_msg_error(const SyncMsg *m, Error *err)
{
        int code = m->error > 0 ? m->error : EPROTO;
        if (m->whole)
                return error_set(err, code, "%s", m->text);
        return error_setc(err, code, "%s", m->text);
}

void sync_send_msg(int sock, const SyncMsg *m)
{
        (void) send_msg(sock, m, NULL, 0);
}

void sync_send_failure(int sock, uint32_t step, int errnum, const char *what, const char *arg)
{
        SyncMsg m;
        memset(&m, 0, sizeof m);
        sync_msg_set_failure(&m, step, errnum, what, arg);
        sync_send_msg(sock, &m);
}

int sync_recv(int sock, SyncMsg *ret, int *fds, size_t n_fds)
{
        for (size_t i = 0; i < n_fds; i++)
                fds[i] = -EBADF;
        union {
                struct cmsghdr align;
                char buf[CMSG_SPACE(sizeof(int) * SYNC_MAX_FDS)];
        } control;
        struct iovec iov = { .iov_base = ret, .iov_len = sizeof *ret };
        struct msghdr mh = {
                .msg_iov = &iov,
                .msg_iovlen = 1,
                .msg_control = control.buf,
                .msg_controllen = sizeof control.buf,
        };
        ssize_t n;
        for (;;) {
                n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
                if (n >= 0)
                        break;
                if (errno != EINTR)
                        return -errno;
        }
        /* Take ownership of every received fd, even unexpected ones. */
        size_t got = 0;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
                if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
                        continue;
                size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                int tmp[SYNC_MAX_FDS];
                if (k > SYNC_MAX_FDS)
                        k = SYNC_MAX_FDS;
                memcpy(tmp, CMSG_DATA(c), k * sizeof(int));
                for (size_t i = 0; i < k; i++) {
                        if (got < n_fds)
                                fds[got++] = tmp[i];
                        else
                                safe_close(tmp[i]);
                }
        }
        if (n == 0)
                return 0;
        if (n != (ssize_t) sizeof *ret || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
                for (size_t i = 0; i < n_fds; i++)
                        fds[i] = safe_close(fds[i]);
                return -EBADMSG;
        }
        ret->text[SYNC_TEXT_MAX - 1] = 0;
        return 1;
}

int sync_expect(int sock, uint32_t step, const char *what, int *fds, size_t n_fds, Error *err)
{
        SyncMsg m;
        int r = sync_recv(sock, &m, fds, n_fds);
        if (r < 0)
                return error_setc(err, -r, "waiting for %s", what);
        if (r == 0)
                return error_set(err, EPIPE, "child exited during %s", what);
        if (m.error > 0) {
                for (size_t i = 0; i < n_fds; i++)
                        fds[i] = safe_close(fds[i]);
                return sync_msg_error(&m, err);
        }
        if (m.step != step)
                return error_set(err, EPROTO, "expected step %u (%s), got step %u", step, what, m.step);
        return 0;
}
