/* enclave-bench-proxy: what a published port costs, measured on the real
 * stack (bridge, veth, nftables firewall, port proxy) inside a private
 * network namespace of its own, so nothing on the host is touched.
 *
 *   latency     an HTTP-sized request/response on a fresh connection
 *               (what curl does), through 127.0.0.1:HOST vs straight to
 *               WS_IP:PORT; alternated so drift hits both alike
 *   throughput  N MiB uploaded to and downloaded from the workspace,
 *               through the proxy vs direct
 *
 * Usage: enclave-bench-proxy [REQUESTS [MIB [CC]]]   (root; default 5000 1024)
 *
 * CC sets the default TCP congestion control of the private namespaces
 * (the benchmark's client and the workspace's servers); without it they
 * inherit the host's. The proxy's own sockets use CUBIC either way. */
#include "net/firewall.h"
#include "net/link.h"
#include "net/proxy.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define P_HTTP 8000
#define P_SINK 8001
#define P_SOURCE 8002
#define HOST_OFFSET 10000

static const char request[] = "GET / HTTP/1.1\r\nHost: ws\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n";
static char response[256];
static size_t response_len;
static uint64_t source_bytes;
static int ws_ns = -1;
static uint32_t ws_ip;

static double now_us(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec * 1e6 + (double) ts.tv_nsec / 1e3;
}

static void die(const char *what, const Error *err)
{
        fprintf(stderr, "enclave-bench-proxy: %s: %s\n", what, err ? error_msg(err) : strerror(errno));
        exit(1);
}

static int write_all(int fd, const void *buf, size_t len)
{
        const char *p = buf;
        while (len > 0) {
                ssize_t n = write(fd, p, len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                p += n;
                len -= (size_t) n;
        }
        return 0;
}

/* ---- servers in the workspace (one thread per connection) ---- */

static void *serve_conn(void *arg)
{
        int fd = (int) (intptr_t) arg, port;
        struct sockaddr_in sa;
        socklen_t len = sizeof sa;
        static char big[1 << 17];

        getsockname(fd, (struct sockaddr *) &sa, &len);
        port = ntohs(sa.sin_port);
        if (port == P_HTTP) {
                char buf[1024];
                size_t have = 0;
                ssize_t n;
                while ((n = read(fd, buf + have, sizeof buf - have)) > 0) {
                        have += (size_t) n;
                        if (have >= 4 && memcmp(buf + have - 4, "\r\n\r\n", 4) == 0) {
                                write_all(fd, response, response_len);
                                have = 0;
                        }
                        if (have == sizeof buf)
                                break;
                }
        } else if (port == P_SINK) {
                uint64_t total = 0;
                ssize_t n;
                while ((n = read(fd, big, sizeof big)) > 0)
                        total += (uint64_t) n;
                write_all(fd, &total, sizeof total);
        } else {
                for (uint64_t left = source_bytes; left > 0;) {
                        size_t n = left < sizeof big ? (size_t) left : sizeof big;
                        if (write_all(fd, big, n) < 0)
                                break;
                        left -= n;
                }
        }
        close(fd);
        return NULL;
}

static void *serve(void *arg)
{
        int lfd = (int) (intptr_t) arg;
        for (;;) {
                int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
                if (fd < 0)
                        continue;
                int on = 1;
                setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
                pthread_t t;
                pthread_create(&t, NULL, serve_conn, (void *) (intptr_t) fd);
                pthread_detach(t);
        }
        return NULL;
}

static void start_server(uint16_t port)
{
        int orig;
        if (netns_enter(ws_ns, &orig) < 0)
                die("entering the workspace namespace", NULL);
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        netns_leave(orig);
        int on = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(ws_ip) };
        if (fd < 0 || bind(fd, (struct sockaddr *) &sa, sizeof sa) < 0 || listen(fd, 512) < 0)
                die("starting a workspace server", NULL);
        pthread_t t;
        pthread_create(&t, NULL, serve, (void *) (intptr_t) fd);
        pthread_detach(t);
}

/* ---- clients ---- */

static int dial(uint32_t addr, uint16_t port)
{
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int on = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(addr) };
        if (fd < 0 || connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0)
                die("connecting", NULL);
        return fd;
}

/* One request on a fresh connection; microseconds. */
static double one_request(uint32_t addr, uint16_t port)
{
        char buf[512];
        size_t got = 0;
        double t0 = now_us();
        int fd = dial(addr, port);
        write_all(fd, request, sizeof request - 1);
        while (got < response_len) {
                ssize_t n = read(fd, buf, sizeof buf);
                if (n <= 0)
                        die("reading a response", NULL);
                got += (size_t) n;
        }
        close(fd);
        return now_us() - t0;
}

static int cmp_double(const void *a, const void *b)
{
        double x = *(const double *) a, y = *(const double *) b;
        return x < y ? -1 : x > y;
}

static double pct(double *v, size_t n, double p)
{
        return v[(size_t) (p * (double) (n - 1))];
}

static double upload(uint32_t addr, uint16_t port, uint64_t bytes)
{
        static char chunk[1 << 17];
        int fd = dial(addr, port);
        double t0 = now_us();
        for (uint64_t left = bytes; left > 0;) {
                size_t n = left < sizeof chunk ? (size_t) left : sizeof chunk;
                if (write_all(fd, chunk, n) < 0)
                        die("uploading", NULL);
                left -= n;
        }
        shutdown(fd, SHUT_WR);
        uint64_t total = 0;
        if (read(fd, &total, sizeof total) != sizeof total || total != bytes)
                die("upload count", NULL);
        double dt = now_us() - t0;
        close(fd);
        return (double) bytes / (1 << 20) / (dt / 1e6);
}

static double download(uint32_t addr, uint16_t port, uint64_t bytes)
{
        static char chunk[1 << 17];
        int fd = dial(addr, port);
        double t0 = now_us();
        uint64_t total = 0;
        ssize_t n;
        while ((n = read(fd, chunk, sizeof chunk)) > 0)
                total += (uint64_t) n;
        double dt = now_us() - t0;
        close(fd);
        if (total != bytes)
                die("download count", NULL);
        return (double) bytes / (1 << 20) / (dt / 1e6);
}

/* ---- the world ---- */

static void lo_up(void)
{
        _cleanup_error_ Error err = ERROR_INIT;
        _cleanup_nl_ NlSock *nl = NULL;
        NlBatch b;
        if (nl_open(&nl, &err) < 0)
                die("netlink", &err);
        nl_batch_init(&b);
        nl_msg_begin(&b, RTM_NEWLINK, 0, "bringing up lo");
        struct ifinfomsg *ifi = nl_msg_put_header(&b, sizeof *ifi);
        ifi->ifi_index = 1;
        ifi->ifi_flags = IFF_UP;
        ifi->ifi_change = IFF_UP;
        if (nl_batch_send(nl, &b, &err) < 0)
                die("lo up", &err);
}

/* Per network namespace; namespaces made later inherit it. */
static void set_congestion_control(const char *cc)
{
        int fd = open("/proc/sys/net/ipv4/tcp_congestion_control", O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write_all(fd, cc, strlen(cc)) < 0)
                die("setting the congestion control", NULL);
        close(fd);
}

static char *congestion_control(char buf[static 32])
{
        int fd = open("/proc/sys/net/ipv4/tcp_congestion_control", O_RDONLY | O_CLOEXEC);
        ssize_t n = fd < 0 ? -1 : read(fd, buf, 31);
        buf[n > 0 ? n - 1 : 0] = 0;
        if (fd >= 0)
                close(fd);
        return buf;
}

static int netns_new(void)
{
        int orig = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        if (orig < 0 || unshare(CLONE_NEWNET) < 0)
                die("unshare", NULL);
        int fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        if (fd < 0 || setns(orig, CLONE_NEWNET) < 0)
                die("setns", NULL);
        close(orig);
        return fd;
}

int main(int argc, char **argv)
{
        _cleanup_error_ Error err = ERROR_INIT;
        size_t requests = argc > 1 ? strtoul(argv[1], NULL, 10) : 5000;
        uint64_t mib = argc > 2 ? strtoull(argv[2], NULL, 10) : 1024;
        const char *cc = argc > 3 ? argv[3] : NULL;
        NlSock *nl = NULL;
        Firewall *fw = NULL;
        Proxy *proxy = NULL;
        NetSubnet subnet;
        char veth[IFNAMSIZ], a[NET_ADDR_STRLEN];
        const char *bridge = "enctbench";

        if (geteuid() != 0) {
                fprintf(stderr, "enclave-bench-proxy: needs root (it builds a bridge and namespaces)\n");
                return 1;
        }
        if (requests < 10)
                requests = 10;
        source_bytes = mib << 20;
        response_len = (size_t) snprintf(response, sizeof response,
                                         "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n"
                                         "Server: bench\r\n\r\nhello, world\n");

        /* Everything lives in a private namespace that dies with us. */
        if (unshare(CLONE_NEWNET) < 0)
                die("unshare", NULL);
        lo_up();
        if (cc)
                set_congestion_control(cc);
        net_subnet_parse("10.240.250.0/24", &subnet, NULL);
        if (nl_open(&nl, &err) < 0 || link_bridge_setup(nl, bridge, &subnet, &err) < 0)
                die("bridge", &err);
        FirewallConfig fc = { .backend = FIREWALL_NFTABLES, .bridge = bridge, .subnet = &subnet };
        if (firewall_open(&fc, &fw, &err) < 0 || firewall_setup(fw, NULL, &err) < 0)
                die("firewall", &err);
        ws_ns = netns_new();
        ws_ip = net_subnet_gateway(&subnet) + 1;
        net_veth_name(bridge, "bench", veth);
        FirewallWorkspace fwws = { .host_veth = veth, .addr = ws_ip };
        LinkWorkspace lw = { .bridge = bridge, .host_veth = veth, .netns_fd = ws_ns, .subnet = &subnet, .addr = ws_ip };
        if (firewall_add_workspace(fw, &fwws, &err) < 0 || link_workspace_attach(nl, &lw, &err) < 0)
                die("workspace", &err);
        start_server(P_HTTP);
        start_server(P_SINK);
        start_server(P_SOURCE);
        if (proxy_new(&proxy, &err) < 0)
                die("proxy", &err);
        uint16_t ports[] = { P_HTTP, P_SINK, P_SOURCE };
        for (size_t i = 0; i < 3; i++)
                if (proxy_publish(proxy, (uint16_t) (ports[i] + HOST_OFFSET), ws_ip, ports[i], "bench", &err) < 0)
                        die("publish", &err);
        uint32_t lo = INADDR_LOOPBACK;

        char ccbuf[32];
        printf("# stack: bridge %s, workspace %s behind veth + nftables, proxy 127.0.0.1:%d -> %s:%d\n", bridge,
               net_addr_format(ws_ip, a), P_HTTP + HOST_OFFSET, a, P_HTTP);
        printf("# congestion control of client and servers: %s\n", congestion_control(ccbuf));
        for (int i = 0; i < 200; i++) {
                one_request(ws_ip, P_HTTP);
                one_request(lo, P_HTTP + HOST_OFFSET);
        }
        double *direct = calloc(requests, sizeof(double)), *proxied = calloc(requests, sizeof(double));
        for (size_t i = 0; i < requests; i++) {
                direct[i] = one_request(ws_ip, P_HTTP);
                proxied[i] = one_request(lo, P_HTTP + HOST_OFFSET);
        }
        qsort(direct, requests, sizeof(double), cmp_double);
        qsort(proxied, requests, sizeof(double), cmp_double);
        printf("latency (new connection + request + response, %zu each, microseconds)\n", requests);
        printf("  direct   median %7.1f  p90 %7.1f  p99 %7.1f\n", pct(direct, requests, 0.5),
               pct(direct, requests, 0.9), pct(direct, requests, 0.99));
        printf("  proxied  median %7.1f  p90 %7.1f  p99 %7.1f\n", pct(proxied, requests, 0.5),
               pct(proxied, requests, 0.9), pct(proxied, requests, 0.99));
        printf("  added by the proxy: median %.1f us (%.3f ms)\n", pct(proxied, requests, 0.5) - pct(direct, requests, 0.5),
               (pct(proxied, requests, 0.5) - pct(direct, requests, 0.5)) / 1000);

        /* Best of three per direction and path, alternating. */
        double up_d = 0, up_p = 0, down_d = 0, down_p = 0;
        for (int i = 0; i < 3; i++) {
                double v;
                if ((v = upload(ws_ip, P_SINK, source_bytes)) > up_d)
                        up_d = v;
                if ((v = upload(lo, P_SINK + HOST_OFFSET, source_bytes)) > up_p)
                        up_p = v;
                if ((v = download(ws_ip, P_SOURCE, source_bytes)) > down_d)
                        down_d = v;
                if ((v = download(lo, P_SOURCE + HOST_OFFSET, source_bytes)) > down_p)
                        down_p = v;
        }
        printf("throughput (%llu MiB, best of 3, MiB/s)\n", (unsigned long long) mib);
        printf("  upload    direct %7.0f  proxied %7.0f  (%.0f %%)\n", up_d, up_p, 100 * up_p / up_d);
        printf("  download  direct %7.0f  proxied %7.0f  (%.0f %%)\n", down_d, down_p, 100 * down_p / down_d);

        proxy_free(proxy);
        firewall_teardown(fw, NULL);
        firewall_free(fw);
        link_workspace_detach(nl, &lw, NULL);
        link_delete(nl, bridge, NULL);
        nl_free(nl);
        free(direct);
        free(proxied);
        return 0;
}
