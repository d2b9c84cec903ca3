/* The local owner of a proxied connection (proxy-peer.h). */
#include "net/proxy-peer.h"

#include "base/macro.h"

#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

int proxy_peer_open(void)
{
        int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
        if (fd < 0)
                return -errno;
        /* The kernel answers at once; never let the proxy thread hang. */
        struct timeval tv = { .tv_sec = 1 };
        (void) setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        return fd;
}

int proxy_peer_uid(int diag_fd, const struct sockaddr_in *client, const struct sockaddr_in *listener, uid_t *ret)
{
        /* The client's socket: its source is the client, its destination
         * the listener. Not a dump: the kernel looks up that one socket. */
        struct {
                struct nlmsghdr nlh;
                struct inet_diag_req_v2 req;
        } q = {
                .nlh = { .nlmsg_len = sizeof q, .nlmsg_type = SOCK_DIAG_BY_FAMILY, .nlmsg_flags = NLM_F_REQUEST,
                         .nlmsg_seq = 1 },
                .req = { .sdiag_family = AF_INET, .sdiag_protocol = IPPROTO_TCP, .idiag_states = ~0U,
                         .id = { .idiag_sport = client->sin_port, .idiag_dport = listener->sin_port,
                                 .idiag_src = { client->sin_addr.s_addr }, .idiag_dst = { listener->sin_addr.s_addr },
                                 .idiag_cookie = { INET_DIAG_NOCOOKIE, INET_DIAG_NOCOOKIE } } },
        };
        struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
        if (sendto(diag_fd, &q, sizeof q, 0, (struct sockaddr *) &kernel, sizeof kernel) < 0)
                return -errno;
        union {
                struct nlmsghdr nlh;
                char buf[1024];
        } a;
        for (;;) {
                ssize_t n = recv(diag_fd, &a, sizeof a, 0);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                for (struct nlmsghdr *h = &a.nlh; NLMSG_OK(h, (size_t) n); h = NLMSG_NEXT(h, n)) {
                        if (h->nlmsg_seq != q.nlh.nlmsg_seq)
                                continue;
                        if (h->nlmsg_type == NLMSG_ERROR) {
                                const struct nlmsgerr *e = NLMSG_DATA(h);
                                return h->nlmsg_len >= NLMSG_LENGTH(sizeof *e) && e->error < 0 ? e->error : -EPROTO;
                        }
                        if (h->nlmsg_type == SOCK_DIAG_BY_FAMILY &&
                            h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct inet_diag_msg))) {
                                const struct inet_diag_msg *m = NLMSG_DATA(h);
                                *ret = (uid_t) m->idiag_uid;
                                return 0;
                        }
                }
        }
}
