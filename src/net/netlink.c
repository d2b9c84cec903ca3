#include "net/netlink.h"

#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <sched.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define NL_RECV_SIZE 32768 /* MNL_SOCKET_DUMP_SIZE: a dump never truncates */

struct NlSock {
        struct mnl_socket *mnl;
        uint32_t seq;
        char *rbuf;
        /* /proc/sys/net/ipv6/conf of the socket's namespace, opened with
         * it (a lookup below /proc/sys/net walks one entry per namespace
         * on the host, so it is made once); -errno when it could not be,
         * -ENOENT on a kernel without IPv6. */
        int ipv6_conf;
};

static int nl_setup(struct mnl_socket *mnl)
{
        static const int opts[] = { NETLINK_EXT_ACK, NETLINK_CAP_ACK, NETLINK_GET_STRICT_CHK };
        int on = 1;

        for (size_t i = 0; i < ELEMENTSOF(opts); i++)
                if (mnl_socket_setsockopt(mnl, opts[i], &on, sizeof on) < 0)
                        /* Older kernels lack strict checking; dumps are then
                         * filtered in user space, which the callers do anyway. */
                        if (opts[i] != NETLINK_GET_STRICT_CHK)
                                return -errno;
        if (mnl_socket_bind(mnl, 0, MNL_SOCKET_AUTOPID) < 0)
                return -errno;
        return 0;
}

int nl_open(NlSock **ret, Error *err)
{
        _cleanup_free_ NlSock *s = calloc(1, sizeof *s);
        if (!s)
                return error_setc(err, ENOMEM, "opening rtnetlink socket");
        s->rbuf = malloc(NL_RECV_SIZE);
        if (!s->rbuf)
                return error_setc(err, ENOMEM, "opening rtnetlink socket");
        s->mnl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
        if (!s->mnl) {
                int r = errno;
                free(s->rbuf);
                return error_setc(err, r, "opening rtnetlink socket");
        }
        int r = nl_setup(s->mnl);
        if (r < 0) {
                mnl_socket_close(s->mnl);
                free(s->rbuf);
                return error_setc(err, -r, "setting up rtnetlink socket");
        }
        /* Start the sequence somewhere unpredictable so stale replies from
         * a previous user of this port id cannot match. */
        s->seq = (uint32_t) time(NULL) ^ ((uint32_t) getpid() << 16);
        s->ipv6_conf = open("/proc/sys/net/ipv6/conf", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (s->ipv6_conf < 0)
                s->ipv6_conf = -errno;
        *ret = TAKE_PTR(s);
        return 0;
}

int nl_ipv6_sysctl_write(NlSock *s, const char *name, const char *value)
{
        if (s->ipv6_conf < 0)
                return s->ipv6_conf == -ENOENT ? 0 : s->ipv6_conf;
        return net_sysctl_write_at(s->ipv6_conf, name, value);
}

NlSock *nl_free(NlSock *s)
{
        if (!s)
                return NULL;
        if (s->mnl)
                mnl_socket_close(s->mnl);
        safe_close(s->ipv6_conf);
        free(s->rbuf);
        free(s);
        return NULL;
}

int netns_enter(int netns_fd, int *ret_orig)
{
        _cleanup_close_ int orig = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        if (orig < 0)
                return -errno;
        if (setns(netns_fd, CLONE_NEWNET) < 0)
                return -errno;
        *ret_orig = TAKE_FD(orig);
        return 0;
}

void netns_leave(int orig)
{
        if (setns(orig, CLONE_NEWNET) < 0)
                abort();
        safe_close(orig);
}

void nl_batch_init(NlBatch *b)
{
        b->len = 0;
        b->n = 0;
        b->overflow = false;
        b->cur = NULL;
}

static size_t cur_room(const NlBatch *b)
{
        return NL_BATCH_SIZE - (size_t) ((char *) b->cur - b->buf);
}

static void msg_finish(NlBatch *b)
{
        if (b->cur)
                b->len += NLMSG_ALIGN(b->cur->nlmsg_len);
        b->cur = NULL;
}

struct nlmsghdr *nl_msg_begin(NlBatch *b, uint16_t type, uint16_t flags, const char *what)
{
        msg_finish(b);
        if (b->overflow || b->n >= NL_BATCH_MAX_MSGS || NL_BATCH_SIZE - b->len < NLMSG_HDRLEN + 256) {
                b->overflow = true;
                /* Keep building into the last slot; the batch never goes out. */
                b->cur = (struct nlmsghdr *) b->buf;
                memset(b->cur, 0, NLMSG_HDRLEN);
                b->cur->nlmsg_len = NLMSG_HDRLEN;
                return b->cur;
        }
        b->cur = mnl_nlmsg_put_header(b->buf + b->len);
        b->cur->nlmsg_type = type;
        b->cur->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
        b->what[b->n++] = what;
        return b->cur;
}

void *nl_msg_put_header(NlBatch *b, size_t size)
{
        static _Alignas(8) char scratch[256];

        if (!b->cur || b->overflow || b->cur->nlmsg_len + MNL_ALIGN(size) > cur_room(b) ||
            size > sizeof scratch) {
                b->overflow = true;
                memset(scratch, 0, sizeof scratch);
                return scratch;
        }
        return mnl_nlmsg_put_extra_header(b->cur, size);
}

void nl_put(NlBatch *b, uint16_t type, const void *data, size_t len)
{
        if (!b->cur || b->overflow || len > UINT16_MAX ||
            !mnl_attr_put_check(b->cur, cur_room(b), type, len, data))
                b->overflow = true;
}

void nl_put_u8(NlBatch *b, uint16_t type, uint8_t v)
{
        nl_put(b, type, &v, sizeof v);
}

void nl_put_u32(NlBatch *b, uint16_t type, uint32_t v)
{
        nl_put(b, type, &v, sizeof v);
}

void nl_put_str(NlBatch *b, uint16_t type, const char *s)
{
        nl_put(b, type, s, strlen(s) + 1);
}

struct nlattr *nl_nest_begin(NlBatch *b, uint16_t type)
{
        if (!b->cur || b->overflow)
                return NULL;
        struct nlattr *nest = mnl_attr_nest_start_check(b->cur, cur_room(b), type);
        if (!nest)
                b->overflow = true;
        return nest;
}

void nl_nest_end(NlBatch *b, struct nlattr *nest)
{
        if (nest && !b->overflow)
                mnl_attr_nest_end(b->cur, nest);
}

/* The kernel's extended-ack message in an NLMSG_ERROR, if any. */
static const char *extack_message(const struct nlmsghdr *nlh)
{
        const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
        if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
                return NULL;
        size_t off = sizeof *e;
        if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
                off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
        if (MNL_ALIGN(off) + NLMSG_HDRLEN > nlh->nlmsg_len)
                return NULL;
        const struct nlattr *a;
        mnl_attr_for_each(a, nlh, MNL_ALIGN(off)) {
                if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG &&
                    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) >= 0)
                        return mnl_attr_get_str(a);
        }
        return NULL;
}

static int error_from_ack(const struct nlmsghdr *nlh, const char *what, Error *err)
{
        const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
        int code = -e->error;
        const char *ext = extack_message(nlh);
        if (ext && *ext)
                return error_set(err, code, "%s: %s (kernel: %s)", what ? what : "netlink request",
                                 strerror(code), ext);
        return error_setc(err, code, "%s", what ? what : "netlink request");
}

static int nl_send(NlSock *s, NlBatch *b, uint32_t *ret_first_seq, Error *err)
{
        msg_finish(b);
        if (b->overflow)
                return error_set(err, E2BIG, "netlink request does not fit in %d bytes / %d messages",
                                 NL_BATCH_SIZE, NL_BATCH_MAX_MSGS);
        if (b->n == 0)
                return 0;
        uint32_t first = s->seq;
        struct nlmsghdr *nlh;
        size_t off = 0;
        for (size_t i = 0; i < b->n; i++, off += NLMSG_ALIGN(nlh->nlmsg_len)) {
                nlh = (struct nlmsghdr *) (b->buf + off);
                nlh->nlmsg_seq = s->seq++;
        }
        ssize_t n = mnl_socket_sendto(s->mnl, b->buf, b->len);
        if (n < 0)
                return error_setc(err, errno, "sending netlink request (%s)", b->what[0]);
        *ret_first_seq = first;
        return 0;
}

int nl_batch_call(NlSock *s, NlBatch *b, NlReplyFn cb, void *userdata, Error *err)
{
        uint32_t first = 0;
        size_t acked = 0;
        int r, result = 0;

        r = nl_send(s, b, &first, err);
        if (r < 0 || b->n == 0)
                return r;
        /* Collect every ack, even after a failure, so no stale reply is
         * left in the socket for the next request. */
        while (acked < b->n) {
                ssize_t n = mnl_socket_recvfrom(s->mnl, s->rbuf, NL_RECV_SIZE);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return result < 0 ? result : error_setc(err, errno, "reading netlink reply (%s)", b->what[0]);
                }
                const struct nlmsghdr *nlh = (const struct nlmsghdr *) s->rbuf;
                int len = (int) n;
                for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
                        uint32_t idx = nlh->nlmsg_seq - first;
                        if (idx >= b->n)
                                continue; /* not ours */
                        if (nlh->nlmsg_type == NLMSG_ERROR) {
                                const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
                                acked++;
                                if (e->error != 0 && result == 0)
                                        result = error_from_ack(nlh, b->what[idx], err);
                        } else if (cb && result == 0) {
                                r = cb(nlh, userdata);
                                if (r < 0)
                                        result = error_setc(err, -r, "%s", b->what[idx]);
                        }
                }
        }
        return result;
}

int nl_batch_send(NlSock *s, NlBatch *b, Error *err)
{
        return nl_batch_call(s, b, NULL, NULL, err);
}

int nl_dump(NlSock *s, NlBatch *b, NlReplyFn cb, void *userdata, Error *err)
{
        uint32_t first = 0;
        int r, result = 0;

        if (b->n != 1)
                return error_set(err, EINVAL, "a netlink dump takes exactly one request");
        b->cur->nlmsg_flags |= NLM_F_DUMP;
        r = nl_send(s, b, &first, err);
        if (r < 0)
                return r;
        for (;;) {
                ssize_t n = mnl_socket_recvfrom(s->mnl, s->rbuf, NL_RECV_SIZE);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return error_setc(err, errno, "reading netlink dump (%s)", b->what[0]);
                }
                const struct nlmsghdr *nlh = (const struct nlmsghdr *) s->rbuf;
                int len = (int) n;
                for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
                        if (nlh->nlmsg_seq != first)
                                continue;
                        if (nlh->nlmsg_type == NLMSG_DONE)
                                return result;
                        if (nlh->nlmsg_type == NLMSG_ERROR) {
                                const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
                                if (e->error == 0)
                                        return result; /* the ack after DONE */
                                return error_from_ack(nlh, b->what[0], err);
                        }
                        if (result == 0) {
                                r = cb(nlh, userdata);
                                if (r < 0)
                                        result = error_setc(err, -r, "%s", b->what[0]);
                        }
                }
        }
}

int net_sysctl_write(const char *path, const char *value)
{
        return net_sysctl_write_at(AT_FDCWD, path, value);
}

int net_sysctl_write_at(int dir_fd, const char *path, const char *value)
{
        _cleanup_close_ int fd = openat(dir_fd, path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        size_t len = strlen(value);
        ssize_t n = write(fd, value, len);
        if (n < 0)
                return -errno;
        return (size_t) n == len ? 0 : -EIO;
}

int net_sysctl_read_int(const char *path, int *ret)
{
        char buf[32];
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        ssize_t n = read(fd, buf, sizeof buf - 1);
        if (n < 0)
                return -errno;
        buf[n] = 0;
        char *end;
        errno = 0;
        long v = strtol(buf, &end, 10);
        if (errno || end == buf)
                return -EINVAL;
        *ret = (int) v;
        return 0;
}
