/* Root integration test of the port proxy: a real workspace namespace
 * behind Enclave's bridge and nftables firewall, servers inside it, and
 * clients on 127.0.0.1 of a private host namespace (so the loopback ports
 * used here cannot collide with anything else on the machine). */
#include "base/str.h"
#include "net/firewall.h"
#include "net/link.h"
#include "net/proxy.h"
#include "test.h"
#include "itest-net-util.h"

#include <dirent.h>
#include <pthread.h>
#include <sys/resource.h>

#define WS_REVERSE 9100 /* read to EOF, answer the bytes reversed, close */
#define WS_ECHO 9101    /* echo while reading, close at EOF */
#define WS_SINK 9102    /* count to EOF, answer the count, close */
#define WS_CLOSED 9199  /* nothing listens */

static bool ready;
static Proxy *proxy;
static NlSock *nl;
static Firewall *fw;
static int ws_ns = -1;
static NetSubnet subnet;
static uint32_t ws_ip;
static char ws_ip_s[16], bridge[IFNAMSIZ], veth[IFNAMSIZ];
static int baseline_fds;

static int count_fds(void)
{
        int n = 0;
        DIR *d = opendir("/proc/self/fd");
        if (!d)
                return -1;
        while (readdir(d))
                n++;
        closedir(d);
        return n;
}

static int read_all(int fd, char *buf, size_t cap, size_t *ret_len)
{
        size_t len = 0;
        for (;;) {
                ssize_t n = read(fd, buf + len, cap - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        break;
                len += (size_t) n;
                if (len == cap)
                        break;
        }
        *ret_len = len;
        return 0;
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

/* ---- servers inside the workspace ---- */

typedef struct Served {
        int fd;
        int mode;
} Served;

static void *serve_one(void *arg)
{
        Served s = *(Served *) arg;
        free(arg);
        static char buf[1 << 16];
        if (s.mode == WS_REVERSE) {
                char *all = malloc(1 << 20);
                size_t len = 0;
                read_all(s.fd, all, 1 << 20, &len);
                for (size_t i = 0; i < len / 2; i++) {
                        char t = all[i];
                        all[i] = all[len - 1 - i];
                        all[len - 1 - i] = t;
                }
                write_all(s.fd, all, len);
                free(all);
        } else if (s.mode == WS_ECHO) {
                char b[4096];
                ssize_t n;
                while ((n = read(s.fd, b, sizeof b)) > 0)
                        if (write_all(s.fd, b, (size_t) n) < 0)
                                break;
        } else {
                uint64_t total = 0;
                ssize_t n;
                while ((n = read(s.fd, buf, sizeof buf)) > 0)
                        total += (uint64_t) n;
                write_all(s.fd, &total, sizeof total);
        }
        close(s.fd);
        return NULL;
}

static void *serve(void *arg)
{
        int mode = (int) (intptr_t) arg;
        int lfd = t_listen(ws_ns, ws_ip_s, (uint16_t) mode);
        if (lfd < 0)
                abort();
        for (;;) {
                int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
                if (fd < 0)
                        continue;
                Served *s = malloc(sizeof *s);
                *s = (Served) { fd, mode };
                pthread_t t;
                pthread_create(&t, NULL, serve_one, s);
                pthread_detach(t);
        }
        return NULL;
}

static int client(uint16_t port)
{
        return t_connect(T_HOST, NULL, "127.0.0.1", port, 1000);
}

static ProxyMapping *find_mapping(ProxyMapping *m, size_t n, uint16_t port)
{
        for (size_t i = 0; i < n; i++)
                if (m[i].host_port == port)
                        return &m[i];
        return NULL;
}

static unsigned connections_of(uint16_t port)
{
        ProxyMapping *m = NULL;
        size_t n = 0;
        if (proxy_list(proxy, &m, &n, NULL) < 0)
                abort();
        ProxyMapping *x = find_mapping(m, n, port);
        unsigned c = x ? x->connections : 0;
        proxy_mappings_free(m, n);
        return c;
}

/* The proxy's accept and close run on its own thread: wait for it to
 * catch up. The bound only ends a hung test; a slow machine (an emulated
 * VM takes seconds for 200 connections) must never fail here. */
static bool wait_connections(uint16_t port, unsigned want)
{
        double end = t_now_ms() + 60000;
        unsigned got;
        while ((got = connections_of(port)) != want) {
                if (t_now_ms() > end) {
                        printf("# port %u: %u connections, want %u\n", port, got, want);
                        return false;
                }
                usleep(5000);
        }
        return true;
}

TEST(setup)
{
        _cleanup_error_ Error err = ERROR_INIT;
        if (geteuid() != 0)
                SKIP("needs root");
        ASSERT_OK(t_private_host());
        /* The daemon that runs the proxy raises its fd limit to the hard
         * one; so does this test, which also holds both ends of every
         * connection (a systemd service starts with a soft limit of 1024,
         * too few for 200 proxied connections). */
        struct rlimit rl;
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
                rl.rlim_cur = rl.rlim_max;
                (void) setrlimit(RLIMIT_NOFILE, &rl);
        }
        snprintf(bridge, sizeof bridge, "enct%sp", t_tag());
        ASSERT_OK(net_subnet_parse("10.240.40.0/24", &subnet, NULL));
        ASSERT_OK(nl_open(&nl, &err));
        ASSERT_OK(link_bridge_setup(nl, bridge, &subnet, &err));
        FirewallConfig c = { .backend = FIREWALL_NFTABLES, .bridge = bridge, .subnet = &subnet };
        ASSERT_OK(firewall_open(&c, &fw, &err));
        ASSERT_OK(firewall_setup(fw, NULL, &err));
        ws_ns = t_netns_new();
        ws_ip = net_subnet_gateway(&subnet) + 1;
        net_addr_format(ws_ip, ws_ip_s);
        ASSERT_OK(net_veth_name(bridge, "proxy-ws", veth));
        FirewallWorkspace f = { .host_veth = veth, .addr = ws_ip };
        ASSERT_OK(firewall_add_workspace(fw, &f, &err));
        LinkWorkspace lw = { .bridge = bridge, .host_veth = veth, .netns_fd = ws_ns, .subnet = &subnet, .addr = ws_ip };
        ASSERT_OK(link_workspace_attach(nl, &lw, &err));
        int modes[] = { WS_REVERSE, WS_ECHO, WS_SINK };
        for (size_t i = 0; i < ELEMENTSOF(modes); i++) {
                pthread_t t;
                ASSERT_EQ(pthread_create(&t, NULL, serve, (void *) (intptr_t) modes[i]), 0);
                pthread_detach(t);
        }
        /* The servers listen once they answer directly. */
        for (double end = t_now_ms() + 30000; t_reach(T_HOST, NULL, ws_ip_s, WS_SINK) < 0 && t_now_ms() < end;)
                usleep(10000);
        usleep(50000);
        baseline_fds = count_fds();
        ASSERT_OK(proxy_new(&proxy, &err));
        ready = true;
}

TEST(publish_and_echo)
{
        _cleanup_error_ Error err = ERROR_INIT;
        char buf[16];
        size_t len;
        if (!ready)
                SKIP("no setup");
        ASSERT_OK(proxy_publish(proxy, 31001, ws_ip, WS_ECHO, "ws-a", &err));
        int c = client(31001);
        ASSERT_TRUE(c >= 0);
        ASSERT_OK(write_all(c, "ping", 4));
        ASSERT_EQ(read(c, buf, sizeof buf), 4);
        ASSERT_TRUE(memcmp(buf, "ping", 4) == 0);
        ASSERT_TRUE(wait_connections(31001, 1));
        close(c);
        ASSERT_TRUE(wait_connections(31001, 0));

        ProxyMapping *m = NULL;
        size_t n = 0;
        ASSERT_OK(proxy_list(proxy, &m, &n, &err));
        ProxyMapping *x = find_mapping(m, n, 31001);
        ASSERT_NOT_NULL(x);
        ASSERT_EQ(x->ws_addr, ws_ip);
        ASSERT_EQ(x->ws_port, WS_ECHO);
        ASSERT_STREQ(x->tag, "ws-a");
        ASSERT_EQ(x->accepted, 1);
        proxy_mappings_free(m, n);
        (void) len;
}

TEST(half_close_still_gets_reply)
{
        _cleanup_error_ Error err = ERROR_INIT;
        char buf[64];
        size_t len = 0;
        if (!ready)
                SKIP("no setup");
        ASSERT_OK(proxy_publish(proxy, 31002, ws_ip, WS_REVERSE, "ws-a", &err));
        int c = client(31002);
        ASSERT_TRUE(c >= 0);
        ASSERT_OK(write_all(c, "hello world", 11));
        /* The server answers only after it saw EOF. */
        ASSERT_OK(shutdown(c, SHUT_WR));
        ASSERT_OK(read_all(c, buf, sizeof buf, &len));
        ASSERT_EQ(len, 11);
        ASSERT_TRUE(memcmp(buf, "dlrow olleh", 11) == 0);
        close(c);
        ASSERT_TRUE(wait_connections(31002, 0));
}

TEST(only_loopback_and_port_in_use)
{
        _cleanup_error_ Error err = ERROR_INIT;
        char gw[16];
        if (!ready)
                SKIP("no setup");
        /* Bound to 127.0.0.1 only: not on other loopback or host addresses. */
        net_addr_format(net_subnet_gateway(&subnet), gw);
        ASSERT_EQ(t_reach(T_HOST, NULL, "127.0.0.2", 31001), -ECONNREFUSED);
        ASSERT_EQ(t_reach(T_HOST, NULL, gw, 31001), -ECONNREFUSED);

        int other = t_listen(T_HOST, "127.0.0.1", 31003);
        ASSERT_TRUE(other >= 0);
        ASSERT_EQ(proxy_publish(proxy, 31003, ws_ip, WS_ECHO, "ws-a", &err), -EADDRINUSE);
        ASSERT_CONTAINS(err.msg, "port 31003 on 127.0.0.1 is already in use");
        error_clear(&err);
        close(other);
        ASSERT_EQ(proxy_publish(proxy, 31001, ws_ip, WS_ECHO, "ws-a", &err), -EADDRINUSE);
        ASSERT_CONTAINS(err.msg, "127.0.0.1:31001 is already published");
        error_clear(&err);
        ASSERT_EQ(proxy_publish(proxy, 0, ws_ip, WS_ECHO, "ws-a", &err), -EINVAL);
}

TEST(unpublish_closes_listener_and_connections)
{
        _cleanup_error_ Error err = ERROR_INIT;
        char buf[8];
        if (!ready)
                SKIP("no setup");
        int c = client(31001);
        ASSERT_TRUE(c >= 0);
        ASSERT_TRUE(wait_connections(31001, 1));
        ASSERT_OK(proxy_unpublish(proxy, 31001, &err));
        ASSERT_EQ(t_reach(T_HOST, NULL, "127.0.0.1", 31001), -ECONNREFUSED);
        ssize_t n = read(c, buf, sizeof buf);
        ASSERT_TRUE(n <= 0); /* EOF or reset, not a hang */
        close(c);
        ASSERT_EQ(proxy_unpublish(proxy, 31001, &err), -ENOENT);
        ASSERT_CONTAINS(err.msg, "not published");
        /* And the port can be published again right away. */
        ASSERT_OK(proxy_publish(proxy, 31001, ws_ip, WS_ECHO, "ws-b", &err));
}

TEST(upstream_refused_closes_client)
{
        _cleanup_error_ Error err = ERROR_INIT;
        char buf[8];
        if (!ready)
                SKIP("no setup");
        ASSERT_OK(proxy_publish(proxy, 31004, ws_ip, WS_CLOSED, "ws-a", &err));
        int c = client(31004);
        ASSERT_TRUE(c >= 0);
        struct pollfd p = { .fd = c, .events = POLLIN };
        ASSERT_EQ(poll(&p, 1, 2000), 1);
        ASSERT_TRUE(read(c, buf, sizeof buf) <= 0);
        close(c);
        ASSERT_TRUE(wait_connections(31004, 0));
}

typedef struct Pumped {
        int fd;
        const unsigned char *data;
        size_t len;
} Pumped;

static void *writer(void *arg)
{
        Pumped *p = arg;
        write_all(p->fd, p->data, p->len);
        shutdown(p->fd, SHUT_WR);
        return NULL;
}

TEST(bulk_data_intact_both_ways)
{
        if (!ready)
                SKIP("no setup");
        size_t len = 32u << 20;
        unsigned char *data = malloc(len), *back = malloc(len);
        ASSERT_TRUE(data && back);
        uint64_t x = 0x9e3779b97f4a7c15ULL;
        for (size_t i = 0; i < len; i++) {
                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                data[i] = (unsigned char) x;
        }
        int c = client(31001); /* echo */
        ASSERT_TRUE(c >= 0);
        Pumped p = { c, data, len };
        pthread_t t;
        ASSERT_EQ(pthread_create(&t, NULL, writer, &p), 0);
        size_t got = 0;
        ASSERT_OK(read_all(c, (char *) back, len, &got));
        pthread_join(t, NULL);
        ASSERT_EQ(got, len);
        ASSERT_TRUE(memcmp(data, back, len) == 0);
        char extra;
        ASSERT_EQ(read(c, &extra, 1), 0); /* the echo server closed after EOF */
        close(c);
        free(data);
        free(back);

        /* Upload 256 MiB into the sink and compare its count. */
        ASSERT_OK(proxy_publish(proxy, 31005, ws_ip, WS_SINK, "ws-a", NULL));
        c = client(31005);
        ASSERT_TRUE(c >= 0);
        static char chunk[1 << 16];
        double t0 = t_now_ms();
        for (int i = 0; i < 4096; i++)
                ASSERT_OK(write_all(c, chunk, sizeof chunk));
        shutdown(c, SHUT_WR);
        uint64_t total = 0;
        size_t n = 0;
        ASSERT_OK(read_all(c, (char *) &total, sizeof total, &n));
        printf("# 256 MiB upload through the proxy: %.0f ms\n", t_now_ms() - t0);
        ASSERT_EQ(n, sizeof total);
        ASSERT_EQ(total, 4096ull << 16);
        close(c);
}

TEST(many_concurrent_connections)
{
        enum { N = 200 };
        int fds[N];
        if (!ready)
                SKIP("no setup");
        for (int i = 0; i < N; i++) {
                fds[i] = client(31001);
                ASSERT_TRUE(fds[i] >= 0);
        }
        ASSERT_TRUE(wait_connections(31001, N));
        for (int i = 0; i < N; i++) {
                char msg[16], buf[16];
                int len = snprintf(msg, sizeof msg, "conn %d", i);
                ASSERT_OK(write_all(fds[i], msg, (size_t) len));
                ASSERT_EQ(read(fds[i], buf, sizeof buf), len);
                ASSERT_TRUE(memcmp(buf, msg, (size_t) len) == 0);
        }
        /* Resets from the client side must not leak anything either. */
        for (int i = 0; i < N; i++) {
                if (i % 2) {
                        struct linger lg = { 1, 0 };
                        setsockopt(fds[i], SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
                }
                close(fds[i]);
        }
        ASSERT_TRUE(wait_connections(31001, 0));
}

TEST(unpublish_by_tag)
{
        _cleanup_error_ Error err = ERROR_INIT;
        ProxyMapping *m = NULL;
        size_t n = 0;
        if (!ready)
                SKIP("no setup");
        /* ws-a: 31002 31004 31005; ws-b: 31001 */
        ASSERT_EQ(proxy_unpublish_tag(proxy, "ws-a"), 3);
        ASSERT_OK(proxy_list(proxy, &m, &n, &err));
        ASSERT_EQ(n, 1);
        ASSERT_EQ(m[0].host_port, 31001);
        proxy_mappings_free(m, n);
        ASSERT_EQ(proxy_unpublish_tag(proxy, "ws-a"), 0);
}

TEST(free_releases_everything)
{
        if (!ready)
                SKIP("no setup");
        int c = client(31001);
        ASSERT_TRUE(c >= 0);
        ASSERT_TRUE(wait_connections(31001, 1));
        proxy = proxy_free(proxy);
        ASSERT_EQ(t_reach(T_HOST, NULL, "127.0.0.1", 31001), -ECONNREFUSED);
        close(c);
        /* Every listener, connection, pipe, epoll and eventfd is gone
         * (the test's own server threads may still be closing theirs). */
        int n = count_fds();
        for (double end = t_now_ms() + 30000; n > baseline_fds && t_now_ms() < end; n = count_fds())
                usleep(10000);
        ASSERT_TRUE(n <= baseline_fds);
}

TEST(cleanup)
{
        _cleanup_error_ Error err = ERROR_INIT;
        if (!ready)
                SKIP("no setup");
        ASSERT_OK(firewall_teardown(fw, &err));
        fw = firewall_free(fw);
        LinkWorkspace lw = { .bridge = bridge, .host_veth = veth, .subnet = &subnet, .addr = ws_ip };
        ASSERT_OK(link_workspace_detach(nl, &lw, &err));
        ASSERT_OK(link_delete(nl, bridge, &err));
        nl = nl_free(nl);
        _cleanup_free_ char *links = NULL, *tables = NULL;
        ASSERT_EQ(t_sh_out(T_HOST, &links, "ip -o link show"), 0);
        ASSERT_TRUE(strstr(links, bridge) == NULL && strstr(links, veth) == NULL);
        ASSERT_EQ(t_sh_out(T_HOST, &tables, "nft list tables"), 0);
        ASSERT_TRUE(strstr(tables, bridge) == NULL);
}
