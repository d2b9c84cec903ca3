/* Helpers for the root networking tests (itest-net*.c).
 *
 * Each scenario runs in a private "host" network namespace of its own
 * (unshare(CLONE_NEWNET) of the test process), so the firewall rules,
 * forwarding sysctls and a Docker-style FORWARD DROP policy it sets up
 * never touch the real host or tests running beside it. Workspaces and
 * the "outside" are further namespaces held open by fds. Sockets are
 * created inside a namespace by switching the calling thread in and out
 * (a socket stays in the namespace it was made in). All traffic goes to
 * addresses on these namespaces or to 127.0.0.0/8. */
#pragma once

#include "net/netlink.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>

#define T_HOST -1 /* "the current (private host) namespace" */

static inline uint32_t t_addr(const char *s)
{
        struct in_addr a;
        if (inet_pton(AF_INET, s, &a) != 1)
                abort();
        return ntohl(a.s_addr);
}

static inline double t_now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec * 1e3 + (double) ts.tv_nsec / 1e6;
}

/* Run a shell command, inside ns_fd unless T_HOST; returns its exit
 * status. Output goes to *out when out is not NULL, else is discarded. */
static inline int t_sh_out(int ns_fd, char **out, const char *fmt, ...)
{
        char cmd[2048];
        int pfd[2];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(cmd, sizeof cmd, fmt, ap);
        va_end(ap);
        if (pipe2(pfd, O_CLOEXEC) < 0)
                return -errno;
        pid_t pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                if (ns_fd >= 0 && setns(ns_fd, CLONE_NEWNET) < 0)
                        _exit(126);
                /* Let commands name our namespace fds as /proc/self/fd/N. */
                for (int fd = 3; fd < 256; fd++)
                        if (fd != pfd[1])
                                (void) fcntl(fd, F_SETFD, 0);
                int devnull = open("/dev/null", O_RDWR);
                dup2(devnull, 0);
                dup2(pfd[1], 1);
                dup2(out ? pfd[1] : devnull, 2);
                execl("/bin/sh", "sh", "-c", cmd, (char *) NULL);
                _exit(127);
        }
        close(pfd[1]);
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        char chunk[4096];
        ssize_t n;
        while ((n = read(pfd[0], chunk, sizeof chunk)) > 0)
                fwrite(chunk, 1, (size_t) n, f);
        fclose(f);
        close(pfd[0]);
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        if (out)
                *out = buf;
        else
                free(buf);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

#define t_sh(ns_fd, ...) t_sh_out(ns_fd, NULL, __VA_ARGS__)

/* A new network namespace, held by the returned fd. */
static inline int t_netns_new(void)
{
        int orig = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        if (orig < 0 || unshare(CLONE_NEWNET) < 0)
                abort();
        int fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        if (fd < 0 || setns(orig, CLONE_NEWNET) < 0)
                abort();
        close(orig);
        return fd;
}

/* Move the whole test into a fresh private host namespace with lo up. */
static inline int t_private_host(void)
{
        if (unshare(CLONE_NEWNET) < 0)
                return -errno;
        return t_sh(T_HOST, "ip link set lo up") == 0 ? 0 : -EIO;
}

static inline int t_socket_in(int ns_fd, int type, int proto)
{
        int orig = -1, fd;
        if (ns_fd >= 0 && netns_enter(ns_fd, &orig) < 0)
                return -errno;
        fd = socket(AF_INET, type | SOCK_CLOEXEC, proto);
        int e = errno;
        if (ns_fd >= 0)
                netns_leave(orig);
        return fd < 0 ? -e : fd;
}

static inline int t_listen(int ns_fd, const char *addr, uint16_t port)
{
        int fd = t_socket_in(ns_fd, SOCK_STREAM, 0);
        if (fd < 0)
                return fd;
        int on = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(t_addr(addr)) };
        if (bind(fd, (struct sockaddr *) &sa, sizeof sa) < 0 || listen(fd, 64) < 0) {
                int e = errno;
                close(fd);
                return -e;
        }
        return fd;
}

/* Connect from ns_fd (optionally bound to src) with a timeout; a dropped
 * SYN ends in -ETIMEDOUT. Returns the connected fd (blocking again). */
static inline int t_connect(int ns_fd, const char *src, const char *dst, uint16_t port, int timeout_ms)
{
        int fd = t_socket_in(ns_fd, SOCK_STREAM, 0);
        if (fd < 0)
                return fd;
        if (src) {
                struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(t_addr(src)) };
                if (bind(fd, (struct sockaddr *) &sa, sizeof sa) < 0) {
                        int e = errno;
                        close(fd);
                        return -e;
                }
        }
        fcntl(fd, F_SETFL, O_NONBLOCK);
        struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(t_addr(dst)) };
        int r = connect(fd, (struct sockaddr *) &to, sizeof to);
        if (r < 0 && errno != EINPROGRESS) {
                int e = errno;
                close(fd);
                return -e;
        }
        if (r < 0) {
                struct pollfd p = { .fd = fd, .events = POLLOUT };
                if (poll(&p, 1, timeout_ms) <= 0) {
                        close(fd);
                        return -ETIMEDOUT;
                }
                int e = 0;
                socklen_t len = sizeof e;
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len);
                if (e) {
                        close(fd);
                        return -e;
                }
        }
        fcntl(fd, F_SETFL, 0);
        return fd;
}

/* Accept one connection within timeout; *peer gets its source address. */
static inline int t_accept(int lfd, int timeout_ms, uint32_t *peer)
{
        struct pollfd p = { .fd = lfd, .events = POLLIN };
        if (poll(&p, 1, timeout_ms) <= 0)
                return -ETIMEDOUT;
        struct sockaddr_in sa;
        socklen_t len = sizeof sa;
        int fd = accept4(lfd, (struct sockaddr *) &sa, &len, SOCK_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (peer)
                *peer = ntohl(sa.sin_addr.s_addr);
        return fd;
}

/* Reachability of a TCP port: connect, and for listeners we own check the
 * accept side too. 0 when reached, negative errno otherwise. */
static inline int t_reach(int ns_fd, const char *src, const char *dst, uint16_t port)
{
        int fd = t_connect(ns_fd, src, dst, port, 400);
        if (fd < 0)
                return fd;
        close(fd);
        return 0;
}

static inline uint16_t t_csum(const void *data, size_t len)
{
        const uint16_t *p = data;
        uint32_t sum = 0;
        for (; len > 1; len -= 2)
                sum += *p++;
        if (len)
                sum += *(const uint8_t *) p;
        while (sum >> 16)
                sum = (sum & 0xffff) + (sum >> 16);
        return (uint16_t) ~sum;
}

/* One ICMP echo from ns_fd to dst; 0 when answered. */
static inline int t_ping(int ns_fd, const char *dst, int timeout_ms)
{
        int fd = t_socket_in(ns_fd, SOCK_RAW, IPPROTO_ICMP);
        if (fd < 0)
                return fd;
        struct icmphdr h = { .type = ICMP_ECHO, .un.echo.id = htons((uint16_t) getpid()), .un.echo.sequence = htons(1) };
        h.checksum = t_csum(&h, sizeof h);
        struct sockaddr_in to = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(t_addr(dst)) };
        if (sendto(fd, &h, sizeof h, 0, (struct sockaddr *) &to, sizeof to) < 0) {
                int e = errno;
                close(fd);
                return -e;
        }
        double end = t_now_ms() + timeout_ms;
        for (;;) {
                int left = (int) (end - t_now_ms());
                struct pollfd p = { .fd = fd, .events = POLLIN };
                if (left <= 0 || poll(&p, 1, left) <= 0) {
                        close(fd);
                        return -ETIMEDOUT;
                }
                char buf[256];
                ssize_t n = recv(fd, buf, sizeof buf, 0);
                if (n >= 28) {
                        const struct icmphdr *r = (const void *) (buf + (buf[0] & 0xf) * 4);
                        if (r->type == ICMP_ECHOREPLY && r->un.echo.id == h.un.echo.id) {
                                close(fd);
                                return 0;
                        }
                }
        }
}

/* Short unique tag for names: 4 hex digits from the pid. */
static inline const char *t_tag(void)
{
        static char tag[8];
        if (!tag[0])
                snprintf(tag, sizeof tag, "%04x", (unsigned) getpid() & 0xffff);
        return tag;
}
