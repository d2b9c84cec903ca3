/* Root integration test of the daemon's networking layer
 * (src/engine/network.c, registry-network.c) against the real kernel
 * and a real registry, for both firewall backends.
 *
 * Each scenario runs in a private "host" network namespace (so its
 * bridge, firewall and routes never touch the machine); "workspaces"
 * are forked children in network namespaces of their own that run a
 * small TCP echo server on port 7000 answering "<name>:<data>". The
 * registry holds one sandbox and the workspaces' rows, as the workspace
 * engine would create them. All traffic goes to 127.0.0.1 or to
 * addresses of namespaces made here. */
#include "base/fs.h"
#include "base/log.h"
#include "base/process.h"
#include "base/str.h"
#include "engine/network.h"
#include "registry/registry-network.h"
#include "net/proxy.h"
#include "test.h"
#include "itest-net-util.h"

#include <net/if.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>

#define WS_PORT 7000
#define MAX_WS 12

typedef struct Ws {
        char name[8];
        int64_t id;
        pid_t pid;
        int pidfd;
        int ctl;
        WorkspaceNetInfo info;
} Ws;

typedef struct Scenario {
        char dir[64];
        char bridge[IFNAMSIZ];
        char subnet[24];
        char gw[16];
        FirewallBackend backend;
        Engine d;
        Ws ws[MAX_WS];
        size_t n_ws;
        int l_gw, l_meta, l_local;
        char meta[IFNAMSIZ];
} Scenario;

static Scenario *cur;

/* ---- a "workspace" ---- */

static _noreturn_ void ws_child(int sock, const char *name)
{
        char c;
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (unshare(CLONE_NEWNET) < 0 || write(sock, "u", 1) != 1 || read(sock, &c, 1) != 1)
                _exit(1);
        int l = t_listen(T_HOST, "0.0.0.0", WS_PORT);
        if (l < 0 || write(sock, "l", 1) != 1)
                _exit(1);
        for (;;) {
                int fd = accept4(l, NULL, NULL, SOCK_CLOEXEC);
                if (fd < 0)
                        continue;
                char in[64], out[80];
                ssize_t n = read(fd, in, sizeof in - 1);
                if (n > 0) {
                        in[n] = '\0';
                        int m = snprintf(out, sizeof out, "%s:%s", name, in);
                        (void) !write(fd, out, (size_t) m);
                }
                close(fd);
        }
}

static int64_t add_workspace_row(Scenario *s, const char *name)
{
        int64_t id = 0;
        if (registry_run(s->d.registry, NULL, "INSERT INTO workspaces (sandbox_id, name, state) VALUES (1, ?, 'running')",
                         "t", name) < 0)
                return -1;
        id = registry_last_insert_id(s->d.registry);
        return id;
}

static Ws *ws_spawn(Scenario *s, const char *name)
{
        Ws *w = &s->ws[s->n_ws];
        *w = (Ws) { .pidfd = -EBADF, .ctl = -EBADF };
        snprintf(w->name, sizeof w->name, "%s", name);
        w->id = add_workspace_row(s, name);
        if (w->id <= 0)
                return NULL;
        int sp[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
                return NULL;
        w->pid = fork();
        if (w->pid < 0)
                return NULL;
        if (w->pid == 0) {
                close(sp[0]);
                ws_child(sp[1], name);
        }
        close(sp[1]);
        w->ctl = sp[0];
        s->n_ws++;
        char c;
        if (read(w->ctl, &c, 1) != 1)
                return NULL;
        w->pidfd = pidfd_open_fd(w->pid);
        return w->pidfd >= 0 ? w : NULL;
}

/* Tell the child its network is there; it starts listening. */
static int ws_go(Ws *w)
{
        char c;
        if (write(w->ctl, "g", 1) != 1 || read(w->ctl, &c, 1) != 1)
                return -EIO;
        return 0;
}

static void ws_kill(Ws *w)
{
        if (w->pid > 0) {
                kill(w->pid, SIGKILL);
                (void) wait_for_exit(w->pid);
                w->pid = 0;
        }
        w->pidfd = safe_close(w->pidfd);
        w->ctl = safe_close(w->ctl);
}

static int ws_netns(const Ws *w)
{
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/ns/net", (int) w->pid);
        return open(path, O_RDONLY | O_CLOEXEC);
}

/* ---- probes ---- */

/* Ask 127.0.0.1:port; the answer ("a:hi") in buf, or a negative errno. */
static int ask(uint16_t port, char *buf, size_t size)
{
        int fd = t_connect(T_HOST, NULL, "127.0.0.1", port, 1000);
        if (fd < 0)
                return fd;
        struct timeval tv = { .tv_sec = 2 };
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        if (write(fd, "hi", 2) != 2) {
                close(fd);
                return -EIO;
        }
        size_t len = 0;
        ssize_t n;
        while (len < size - 1 && (n = read(fd, buf + len, size - 1 - len)) > 0)
                len += (size_t) n;
        buf[len] = '\0';
        close(fd);
        return len > 0 ? 0 : -ECONNRESET;
}

static bool firewall_has(Scenario *s, const char *veth)
{
        _cleanup_free_ char *out = NULL;
        if (s->backend == FIREWALL_NFTABLES)
                (void) t_sh_out(T_HOST, &out, "nft list set bridge %s leases", s->bridge);
        else
                (void) t_sh_out(T_HOST, &out, "iptables-save -t filter");
        return out && strstr(out, veth);
}

/* Anything of this instance in the firewall at all. */
static bool firewall_any(Scenario *s)
{
        _cleanup_free_ char *out = NULL;
        if (s->backend == FIREWALL_NFTABLES)
                (void) t_sh_out(T_HOST, &out, "nft list tables");
        else
                (void) t_sh_out(T_HOST, &out, "iptables-save; iptables-save -t nat");
        return out && strstr(out, s->bridge);
}

static bool link_exists(const char *name)
{
        return if_nametoindex(name) > 0;
}

static int lease_of(Scenario *s, int64_t id, char ip[static 16])
{
        uint32_t a;
        int r = registry_lease_get(s->d.registry, id, &a, NULL);
        if (r < 0)
                return r;
        net_addr_format(a, ip);
        return 0;
}

static int prepare(Scenario *s, Ws *w, double *ms, Error *err)
{
        double t0 = t_now_ms();
        int r = network_prepare_workspace(&s->d, w->id, w->pid, w->pidfd, &w->info, err);
        if (ms)
                *ms = t_now_ms() - t0;
        return r;
}

static int cmp_double(const void *a, const void *b)
{
        double x = *(const double *) a, y = *(const double *) b;
        return x < y ? -1 : x > y;
}

/* ---- scenario ---- */

static void scenario_cleanup(void)
{
        Scenario *s = cur;
        if (!s)
                return;
        for (size_t i = 0; i < s->n_ws; i++)
                ws_kill(&s->ws[i]);
        network_shutdown(&s->d);
        s->d.registry = registry_close(s->d.registry);
        free(s->d.registry_path);
        settings_done(&s->d.settings);
        safe_close(s->l_gw);
        safe_close(s->l_meta);
        safe_close(s->l_local);
        (void) rm_rf(s->dir);
        free(s);
        cur = NULL;
}

static int set_string(char **field, const char *v)
{
        free(*field);
        *field = strdup(v);
        return *field ? 0 : -ENOMEM;
}

static Scenario *scenario_new(FirewallBackend backend, char suffix, int subnet_octet)
{
        scenario_cleanup();
        log_setup(LOG_LEVEL_WARN); /* ENCLAVE_LOG=debug shows the daemon's timings */
        Scenario *s = calloc(1, sizeof *s);
        if (!s)
                abort();
        cur = s;
        s->l_gw = s->l_meta = s->l_local = -EBADF;
        s->backend = backend;
        snprintf(s->bridge, sizeof s->bridge, "enct%sn%c", t_tag(), suffix);
        snprintf(s->subnet, sizeof s->subnet, "10.239.%d.0/24", subnet_octet);
        snprintf(s->gw, sizeof s->gw, "10.239.%d.1", subnet_octet);
        snprintf(s->meta, sizeof s->meta, "enct%sm%c", t_tag(), suffix);
        snprintf(s->dir, sizeof s->dir, "/tmp/enctest-network-%d-%c", (int) getpid(), suffix);
        if (mkdir_p(s->dir, 0700) < 0 || settings_defaults(&s->d.settings) < 0)
                abort();
        if (set_string(&s->d.settings.bridge, s->bridge) < 0 || set_string(&s->d.settings.subnet, s->subnet) < 0 ||
            set_string(&s->d.settings.state_dir, s->dir) < 0)
                abort();
        s->d.settings.firewall = backend;
        s->d.registry_path = path_join(s->dir, REGISTRY_FILE);
        if (!s->d.registry_path || registry_open(s->d.registry_path, &s->d.registry, NULL) < 0)
                abort();
        if (registry_run(s->d.registry, NULL,
                         "INSERT INTO sandboxes (id, name, suite, mirror, bootstrap_method, state) "
                         "VALUES (1, 'sb', 'bookworm', 'http://deb.debian.org/debian', 'cached_rootfs', 'ready')",
                         "") < 0)
                abort();
        return s;
}

static void restart(Scenario *s)
{
        _cleanup_error_ Error err = ERROR_INIT;
        network_shutdown(&s->d);
        ASSERT_NULL(s->d.network);
        if (network_init(&s->d, &err) < 0 || network_reconcile(&s->d, &err) < 0)
                TEST_FAIL("restart: %s", error_msg(&err));
}

static void run_scenario(FirewallBackend backend, char suffix, int octet)
{
        _cleanup_error_ Error err = ERROR_INIT;
        char buf[128], ip[16];

        if (geteuid() != 0)
                SKIP("needs root");
        ASSERT_OK(t_private_host());
        Scenario *s = scenario_new(backend, suffix, octet);

        /* Start: settings checked, nothing created on the host. */
        ASSERT_OK(network_init(&s->d, &err));
        ASSERT_OK(network_reconcile(&s->d, &err));
        ASSERT_FALSE(link_exists(s->bridge));
        ASSERT_FALSE(firewall_any(s));

        /* Two workspaces; the first sets up bridge and firewall. */
        Ws *a = ws_spawn(s, "a"), *b = ws_spawn(s, "b");
        ASSERT_TRUE(a && b);
        double ms_first, ms_b;
        if (prepare(s, a, &ms_first, &err) < 0)
                TEST_FAIL("prepare a: %s", error_msg(&err));
        ASSERT_OK(prepare(s, b, &ms_b, &err));
        ASSERT_OK(ws_go(a));
        ASSERT_OK(ws_go(b));
        ASSERT_TRUE(link_exists(s->bridge));
        ASSERT_TRUE(link_exists(a->info.veth) && link_exists(b->info.veth));
        ASSERT_TRUE(firewall_has(s, a->info.veth) && firewall_has(s, b->info.veth));
        snprintf(buf, sizeof buf, "10.239.%d.2", octet);
        ASSERT_STREQ(a->info.ip, buf);
        snprintf(buf, sizeof buf, "10.239.%d.3", octet);
        ASSERT_STREQ(b->info.ip, buf);
        ASSERT_OK(lease_of(s, a->id, ip));
        ASSERT_STREQ(ip, a->info.ip);
        _cleanup_free_ char *ws_ip = NULL;
        {
                _cleanup_stmt_ sqlite3_stmt *st = NULL;
                ASSERT_OK(registry_prepare(s->d.registry, "SELECT ip FROM workspaces WHERE id = ?", &st, NULL));
                ASSERT_OK(registry_bind(s->d.registry, st, NULL, "i", a->id));
                ASSERT_EQ(registry_step(s->d.registry, st, NULL), 1);
                ASSERT_OK(registry_column_strdup(st, 0, &ws_ip));
        }
        ASSERT_STREQ(ws_ip, a->info.ip);

        /* Acquiring again reuses the lease. */
        NetSubnet sub;
        uint32_t again;
        ASSERT_OK(net_subnet_parse(s->subnet, &sub, NULL));
        ASSERT_OK(registry_lease_acquire(s->d.registry, &sub, a->id, &again, NULL, NULL));
        ASSERT_STREQ(net_addr_format(again, ip), a->info.ip);

        /* No IPv6 on the workspace's links but lo's ::1. */
        _cleanup_free_ char *v6 = NULL;
        snprintf(buf, sizeof buf, "/proc/%d/net/if_inet6", (int) a->pid);
        if (read_full_file(buf, 65536, &v6, NULL) >= 0)
                for (char *line = v6; line && *line;) {
                        char *nl = strchr(line, '\n');
                        if (nl)
                                *nl = 0;
                        ASSERT_TRUE(strlen(line) > 3 && streq(line + strlen(line) - 3, " lo"));
                        line = nl ? nl + 1 : NULL;
                }

        /* Timing: more workspaces, median of the steady state. */
        double times[MAX_WS];
        size_t n_times = 0;
        times[n_times++] = ms_b;
        while (s->n_ws < MAX_WS) {
                char name[8];
                snprintf(name, sizeof name, "t%zu", s->n_ws);
                Ws *t = ws_spawn(s, name);
                ASSERT_NOT_NULL(t);
                ASSERT_OK(prepare(s, t, &times[n_times++], &err));
        }
        qsort(times, n_times, sizeof times[0], cmp_double);
        printf("# %s: network_prepare_workspace first (with bridge + firewall setup) %.2f ms, median of %zu "
               "%.2f ms, max %.2f ms\n",
               firewall_backend_to_string(backend), ms_first, n_times, times[n_times / 2], times[n_times - 1]);
        for (size_t i = 2; i < s->n_ws; i++) {
                network_release_workspace(&s->d, s->ws[i].id);
                ASSERT_FALSE(link_exists(s->ws[i].info.veth));
                ws_kill(&s->ws[i]);
        }

        /* Isolation through the daemon's setup: A reaches neither B,
         * nor the bridge address, nor 169.254.169.254 on the host. */
        _cleanup_close_ int ns_a = ws_netns(a);
        ASSERT_TRUE(ns_a >= 0);
        ASSERT_OK(t_reach(ns_a, NULL, a->info.ip, WS_PORT)); /* its own server works */
        ASSERT_TRUE(t_reach(ns_a, NULL, b->info.ip, WS_PORT) < 0);
        s->l_gw = t_listen(T_HOST, s->gw, 8081);
        ASSERT_TRUE(s->l_gw >= 0);
        ASSERT_TRUE(t_reach(ns_a, NULL, s->gw, 8081) < 0);
        ASSERT_EQ(t_sh(T_HOST, "ip link add %s type veth peer name %sp && ip addr add 169.254.169.254/32 dev %s && "
                               "ip link set %s up",
                       s->meta, s->meta, s->meta, s->meta),
                  0);
        s->l_meta = t_listen(T_HOST, "169.254.169.254", 80);
        ASSERT_TRUE(s->l_meta >= 0);
        ASSERT_TRUE(t_reach(ns_a, NULL, "169.254.169.254", 80) < 0);
        ASSERT_OK(t_reach(T_HOST, NULL, "169.254.169.254", 80)); /* the listener itself works */

        /* Ports: the same workspace port in both, host ports unique. */
        uint16_t h1 = (uint16_t) (20000 + (getpid() % 10000)), h2 = h1 + 1, h3 = h1 + 2;
        PortSpec pa = { h1, WS_PORT }, pb = { h2, WS_PORT }, clash = { h1, WS_PORT };
        ASSERT_OK(network_ports_declare(s->d.registry, a->id, &pa, 1, &err));
        ASSERT_OK(network_ports_declare(s->d.registry, b->id, &pb, 1, &err));
        ASSERT_EQ(network_ports_declare(s->d.registry, b->id, &clash, 1, &err), -EEXIST);
        ASSERT_CONTAINS(error_msg(&err), "already published by workspace sb/a");
        error_clear(&err);
        ASSERT_OK(network_ports_declare(s->d.registry, b->id, &pb, 1, &err)); /* unchanged after the failure */
        ASSERT_OK(network_ports_start(&s->d, a->id, &err));
        ASSERT_OK(network_ports_start(&s->d, a->id, &err)); /* idempotent */
        ASSERT_OK(network_ports_start(&s->d, b->id, &err));
        ASSERT_OK(ask(h1, buf, sizeof buf));
        ASSERT_STREQ(buf, "a:hi");
        ASSERT_OK(ask(h2, buf, sizeof buf));
        ASSERT_STREQ(buf, "b:hi");

        /* A host port another program holds: a clear error, and nothing
         * of the workspace stays half published. */
        s->l_local = t_listen(T_HOST, "127.0.0.1", h3);
        ASSERT_TRUE(s->l_local >= 0);
        PortSpec pa3[] = { { h1, WS_PORT }, { h3, WS_PORT } };
        ASSERT_OK(network_ports_declare(s->d.registry, a->id, pa3, 2, &err));
        network_ports_stop(&s->d, a->id);
        ASSERT_TRUE(network_ports_start(&s->d, a->id, &err) < 0);
        ASSERT_CONTAINS(error_msg(&err), "in use");
        error_clear(&err);
        ASSERT_TRUE(ask(h1, buf, sizeof buf) < 0);
        ASSERT_OK(network_ports_declare(s->d.registry, a->id, &pa, 1, &err));
        ASSERT_OK(network_ports_start(&s->d, a->id, &err));
        ASSERT_OK(ask(h1, buf, sizeof buf));

        /* A daemon restart: leases, links and firewall entries stay;
         * the ports come back. */
        network_shutdown(&s->d);
        ASSERT_TRUE(ask(h1, buf, sizeof buf) < 0);
        ASSERT_TRUE(link_exists(a->info.veth));
        restart(s);
        ASSERT_OK(lease_of(s, a->id, ip));
        ASSERT_STREQ(ip, a->info.ip);
        ASSERT_OK(ask(h1, buf, sizeof buf));
        ASSERT_STREQ(buf, "a:hi");
        ASSERT_OK(ask(h2, buf, sizeof buf));
        ASSERT_STREQ(buf, "b:hi");
        ASSERT_TRUE(firewall_has(s, a->info.veth) && firewall_has(s, b->info.veth));
        ASSERT_TRUE(t_reach(ns_a, NULL, b->info.ip, WS_PORT) < 0);

        /* B died while the daemon was down (marked stopped by
         * reconcile_workspaces): the restart removes what it left. */
        network_shutdown(&s->d);
        ws_kill(b);
        ASSERT_TRUE(registry_run(s->d.registry, NULL, "UPDATE workspaces SET state = 'stopped' WHERE id = ?", "i",
                                 b->id) >= 0);
        restart(s);
        ASSERT_EQ(lease_of(s, b->id, ip), -ENOENT);
        ASSERT_FALSE(link_exists(b->info.veth));
        ASSERT_FALSE(firewall_has(s, b->info.veth));
        ASSERT_TRUE(ask(h2, buf, sizeof buf) < 0);
        ASSERT_OK(ask(h1, buf, sizeof buf));
        ASSERT_TRUE(firewall_has(s, a->info.veth));

        /* resolv.conf for inside: built from the host's files. */
        WorkspaceFile rf = {};
        int rr = network_resolv_conf(&s->d, &rf, &err);
        if (rr >= 0) {
                ASSERT_STREQ(rf.path, "/etc/resolv.conf");
                ASSERT_CONTAINS((const char *) rf.data, "nameserver ");
                ASSERT_FALSE(strstr((const char *) rf.data, "127.0.0.53"));
                free((void *) rf.data);
        } else
                printf("# no usable nameserver on this host: %s\n", error_msg(&err));
        error_clear(&err);

        /* Stop of A: nothing of it remains; the bridge stays. */
        network_ports_stop(&s->d, a->id);
        ASSERT_TRUE(ask(h1, buf, sizeof buf) < 0);
        ws_kill(a);
        network_release_workspace(&s->d, a->id);
        network_release_workspace(&s->d, a->id); /* idempotent */
        ASSERT_FALSE(link_exists(a->info.veth));
        ASSERT_FALSE(firewall_has(s, a->info.veth));
        ASSERT_EQ(lease_of(s, a->id, ip), -ENOENT);
        ASSERT_TRUE(link_exists(s->bridge));

        /* Destroy of the last workspace: bridge and firewall go. */
        ASSERT_EQ(network_teardown_if_unused(&s->d, &err), 0);
        ASSERT_TRUE(registry_run(s->d.registry, NULL, "DELETE FROM workspaces", "") >= 0);
        ASSERT_EQ(network_teardown_if_unused(&s->d, &err), 1);
        ASSERT_FALSE(link_exists(s->bridge));
        ASSERT_FALSE(firewall_any(s));
        int64_t n_ports = -1;
        ASSERT_OK(registry_query_int64(s->d.registry, &n_ports, NULL, "SELECT count(*) FROM ports", ""));
        ASSERT_EQ(n_ports, 0);
        ASSERT_EQ(network_teardown_if_unused(&s->d, &err), 0); /* nothing left to do */
        (void) t_sh(T_HOST, "ip link del %s", s->meta);
        scenario_cleanup();
}

TEST(nftables_workspaces_ports_restart_teardown)
{
        run_scenario(FIREWALL_NFTABLES, 'n', 10 + (getpid() % 100));
}

TEST(iptables_workspaces_ports_restart_teardown)
{
        if (t_sh(T_HOST, "command -v iptables-restore") != 0)
                SKIP("iptables is not installed");
        run_scenario(FIREWALL_IPTABLES, 'i', 120 + (getpid() % 100));
}

TEST(subnet_overlapping_a_host_route_is_refused)
{
        _cleanup_error_ Error err = ERROR_INIT;
        if (geteuid() != 0)
                SKIP("needs root");
        ASSERT_OK(t_private_host());
        Scenario *s = scenario_new(FIREWALL_NFTABLES, 'o', 5);
        /* A host network inside the configured subnet. */
        ASSERT_EQ(t_sh(T_HOST, "ip link add %s type veth peer name %sp && ip addr add 10.239.5.128/25 dev %s && "
                               "ip link set %s up",
                       s->meta, s->meta, s->meta, s->meta),
                  0);
        ASSERT_OK(network_init(&s->d, &err)); /* checked lazily */
        Ws *w = ws_spawn(s, "w");
        ASSERT_NOT_NULL(w);
        ASSERT_TRUE(prepare(s, w, NULL, &err) < 0);
        ASSERT_CONTAINS(error_msg(&err), "overlaps the host route");
        printf("# %s\n", error_msg(&err));
        ASSERT_FALSE(link_exists(s->bridge));
        ASSERT_EQ(lease_of(s, w->id, (char[16]) {}), -ENOENT);
        (void) t_sh(T_HOST, "ip link del %s", s->meta);
        scenario_cleanup();
}

TEST(invalid_settings_are_refused_at_init)
{
        _cleanup_error_ Error err = ERROR_INIT;
        Scenario *s = scenario_new(FIREWALL_AUTO, 'x', 6);
        ASSERT_OK(set_string(&s->d.settings.subnet, "10.239.6.1/24"));
        ASSERT_TRUE(network_init(&s->d, &err) < 0);
        ASSERT_CONTAINS(error_msg(&err), "subnet");
        ASSERT_NULL(s->d.network);
        scenario_cleanup();
}

TEST(cleanup)
{
        scenario_cleanup();
}
