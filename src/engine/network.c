/* The daemon's networking: see network.h and docs/networking.md.
 *
 * Lifetime of host state:
 *   - daemon start creates nothing; the bridge and the firewall come
 *     with the first workspace that starts (or, after a restart, with
 *     the first adopted running workspace);
 *   - while the daemon runs they stay, even with no workspace running
 *     (cheap, and the next start does not pay for them);
 *   - `daemon stop` leaves them and every running workspace's veth,
 *     lease and firewall entry alone: workspaces outlive the daemon;
 *   - when no workspace exists any more (destroy of the last one,
 *     `workspace wipe`), network_teardown_if_unused() removes the
 *     bridge and both firewall tables, so nothing of Enclave is left;
 *     a daemon that starts with no running workspace removes what a
 *     crashed predecessor left the same way.
 *
 * One mutex serialises every change to the host (netlink socket,
 * firewall handle) and the Network's own registry connection; the
 * proxy is thread-safe by itself. */
#include "engine/network.h"
#include "registry/registry-network.h"
#include "net/firewall.h"
#include "net/link.h"
#include "spec/metadata.h"
#include "net/netlink.h"
#include "net/proxy.h"
#include "net/resolv.h"
#include "base/log.h"
#include "base/str.h"
#include "base/syscalls.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct Network {
        pthread_mutex_t lock;
        char *bridge;
        NetSubnet subnet;
        NetSubnet *metadata_allow; /* config.toml metadata_allow */
        size_t n_metadata_allow;
        FirewallBackend backend;
        char *registry_path;
        Registry *reg;   /* own connection, opened at first use (under lock) */
        Registry *startup_reg; /* the loop's, while network_reconcile() runs */
        NlSock *nl;      /* host netns (under lock) */
        Firewall *fw;    /* opened at first setup (under lock) */
        bool ready;      /* bridge + firewall set up (under lock) */
        LinkReaper *reaper; /* deletes retired veths of stopped workspaces */
        Proxy *proxy;
        /* Addresses of running sandbox setups (under lock): no registry
         * row, taken from the top of the subnet, never leased to a
         * workspace meanwhile. */
        uint32_t setup_addrs[NETWORK_SETUPS_MAX];
        size_t n_setups;
};

static int network_get(Engine *eng, Network **ret, Error *err)
{
        if (!eng->network)
                return error_set(err, ENOTCONN, "the daemon's networking is not initialised");
        *ret = eng->network;
        return 0;
}

static void unlockp(pthread_mutex_t **m)
{
        if (*m)
                pthread_mutex_unlock(*m);
}
#define _cleanup_unlock_ _cleanup_(unlockp)

/* The registry connection for the current caller (under lock). Opened
 * only when a workspace first needs it: a daemon that never starts a
 * workspace keeps a single connection. */
static Registry *reg_locked(Network *n, Error *err)
{
        if (n->startup_reg)
                return n->startup_reg;
        if (n->reg)
                return n->reg;
        if (registry_open(n->registry_path, &n->reg, err) < 0) {
                error_wrap(err, "opening the registry for networking");
                return NULL;
        }
        /* Leases only matter while their workspaces' processes run, and
         * none survives the host going down, so a lease need not wait for
         * an fsync (5-15 ms on a busy disk, most of a start). WAL with
         * synchronous=NORMAL stays consistent, and a daemon that is
         * killed loses nothing: the pages are in the kernel. */
        _cleanup_error_ Error e = ERROR_INIT;
        if (registry_exec(n->reg, "PRAGMA synchronous = NORMAL", &e) < 0)
                log_warn("network: %s", error_msg(&e));
        return n->reg;
}

static pthread_mutex_t *network_lock(Network *n)
{
        pthread_mutex_lock(&n->lock);
        return &n->lock;
}

static void veth_name(const Network *n, int64_t workspace_id, char ret[static IFNAMSIZ])
{
        char id[24];
        snprintf(id, sizeof id, "%lld", (long long) workspace_id);
        if (net_veth_name(n->bridge, id, ret) < 0)
                ret[0] = '\0'; /* cannot happen: a valid bridge name and a number */
}

/* A setup's host veth, named after its address. */
static void setup_veth_name(const Network *n, uint32_t addr, char ret[static IFNAMSIZ])
{
        char id[32], a[NET_ADDR_STRLEN];
        snprintf(id, sizeof id, "setup:%s", net_addr_format(addr, a));
        if (net_veth_name(n->bridge, id, ret) < 0)
                ret[0] = '\0';
}

static bool is_setup_addr(const Network *n, uint32_t addr)
{
        for (size_t i = 0; i < n->n_setups; i++)
                if (n->setup_addrs[i] == addr)
                        return true;
        return false;
}

void network_port_tag(int64_t workspace_id, char buf[static 32])
{
        snprintf(buf, 32, "ws:%lld", (long long) workspace_id);
}

static uint64_t now_us(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

/* ---- init / shutdown ---- */

static Network *network_free(Network *n)
{
        if (!n)
                return NULL;
        n->proxy = proxy_free(n->proxy);
        n->reaper = link_reaper_free(n->reaper);
        n->fw = firewall_free(n->fw);
        n->nl = nl_free(n->nl);
        n->reg = registry_close(n->reg);
        pthread_mutex_destroy(&n->lock);
        free(n->bridge);
        free(n->metadata_allow);
        free(n->registry_path);
        free(n);
        return NULL;
}
DEFINE_CLEANUP_FUNC(Network, network_free);

int network_init(Engine *eng, Error *err)
{
        const Settings *s = &eng->settings;
        if (!s->bridge || !bridge_name_is_valid(s->bridge))
                return error_set(err, EINVAL, "invalid \"bridge\" in config.toml: \"%s\"; use 1-15 letters, digits, "
                                 "'_', '-' or '.'", s->bridge ? s->bridge : "");
        _cleanup_(network_freep) Network *n = calloc(1, sizeof *n);
        if (!n)
                return error_set(err, ENOMEM, "out of memory");
        pthread_mutex_init(&n->lock, NULL);
        n->backend = s->firewall;
        n->bridge = strdup(s->bridge);
        if (!n->bridge)
                return error_set(err, ENOMEM, "out of memory");
        int r = net_subnet_parse(s->subnet ? s->subnet : "", &n->subnet, err);
        if (r < 0)
                return error_wrap(err, "invalid \"subnet\" in config.toml");
        size_t n_allow = strv_length(s->metadata_allow);
        if (n_allow > 0 && !(n->metadata_allow = calloc(n_allow, sizeof *n->metadata_allow)))
                return error_set(err, ENOMEM, "out of memory");
        for (size_t i = 0; i < n_allow; i++) {
                r = net_metadata_allow_parse(s->metadata_allow[i], &n->metadata_allow[i], err);
                if (r < 0)
                        return error_wrap(err, "invalid \"metadata_allow\" in config.toml");
        }
        n->n_metadata_allow = n_allow;
        n->registry_path = strdup(eng->registry_path);
        if (!n->registry_path)
                return error_set(err, ENOMEM, "out of memory");
        r = nl_open(&n->nl, err);
        if (r >= 0)
                r = link_reaper_new(&n->reaper, err);
        if (r < 0)
                return error_wrap(err, "networking");
        r = proxy_new(&n->proxy, err);
        if (r < 0)
                return error_wrap(err, "starting the port proxy");
        eng->network = TAKE_PTR(n);
        return 0;
}

void network_shutdown(Engine *eng)
{
        /* Nothing on the host is undone here: running workspaces keep
         * their links, leases and firewall entries. */
        eng->network = network_free(eng->network);
}

struct Proxy *network_proxy(Engine *eng)
{
        return eng->network ? eng->network->proxy : NULL;
}

/* ---- bridge + firewall ---- */

static int firewall_open_locked(Network *n, Error *err)
{
        if (n->fw)
                return 0;
        FirewallConfig c = { .backend = n->backend, .bridge = n->bridge, .subnet = &n->subnet,
                             .metadata_allow = n->metadata_allow, .n_metadata_allow = n->n_metadata_allow };
        int r = firewall_open(&c, &n->fw, err);
        if (r < 0)
                return error_wrap(err, "firewall (\"firewall\" = \"%s\" in config.toml)",
                                  firewall_backend_to_string(n->backend));
        return 0;
}

/* The leases the firewall should allow: at runtime every lease (a
 * workspace being started holds one before it is marked running). */
static int live_leases(Network *n, Registry *reg, bool running_only, FirewallWorkspace **ret, char (**ret_names)[IFNAMSIZ],
                       size_t *ret_n, Error *err)
{
        _cleanup_free_ NetLease *leases = NULL;
        size_t n_leases = 0;
        int r = registry_leases_list(reg, &leases, &n_leases, err);
        if (r < 0)
                return r;
        _cleanup_free_ FirewallWorkspace *live = calloc(n_leases + n->n_setups + 1, sizeof *live);
        _cleanup_free_ char (*names)[IFNAMSIZ] = calloc(n_leases + n->n_setups + 1, IFNAMSIZ);
        if (!live || !names)
                return error_set(err, ENOMEM, "out of memory");
        size_t k = 0;
        for (size_t i = 0; i < n->n_setups; i++) {
                setup_veth_name(n, n->setup_addrs[i], names[k]);
                live[k] = (FirewallWorkspace) { .host_veth = names[k], .addr = n->setup_addrs[i] };
                k++;
        }
        for (size_t i = 0; i < n_leases; i++) {
                if (leases[i].addr == 0 || (running_only && !leases[i].running))
                        continue;
                veth_name(n, leases[i].workspace_id, names[k]);
                live[k] = (FirewallWorkspace) { .host_veth = names[k], .addr = leases[i].addr };
                k++;
        }
        *ret = TAKE_PTR(live);
        *ret_names = TAKE_PTR(names);
        *ret_n = k;
        return 0;
}

/* Bridge, firewall rules, and the firewall's workspace set made equal
 * to the leases. Idempotent; the first call of a daemon's life (or after
 * a teardown) does the work. */
static int ensure_ready_locked(Network *n, Registry *reg, bool running_only, Error *err)
{
        if (n->ready)
                return 0;
        uint64_t t0 = now_us();
        int r = link_bridge_setup(n->nl, n->bridge, &n->subnet, err);
        if (r < 0)
                return error_wrap(err, "setting up bridge %s", n->bridge);
        r = firewall_open_locked(n, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *notice = NULL;
        r = firewall_setup(n->fw, &notice, err);
        if (r < 0)
                return error_wrap(err, "setting up the %s firewall for %s",
                                  firewall_backend_to_string(firewall_backend(n->fw)), n->bridge);
        if (notice)
                log_warn("network: %s", notice);
        _cleanup_free_ FirewallWorkspace *live = NULL;
        _cleanup_free_ char (*names)[IFNAMSIZ] = NULL;
        size_t n_live = 0;
        r = live_leases(n, reg, running_only, &live, &names, &n_live, err);
        if (r < 0)
                return r;
        r = firewall_reconcile(n->fw, live, n_live, err);
        if (r < 0)
                return error_wrap(err, "loading the firewall's workspace set");
        char sub[NET_SUBNET_STRLEN];
        const char *flavour = firewall_iptables_flavour(n->fw);
        log_info("network: bridge %s (%s), firewall %s%s%s, %zu workspace(s) allowed, set up in %.1f ms", n->bridge,
                 net_subnet_format(&n->subnet, sub), firewall_backend_to_string(firewall_backend(n->fw)),
                 flavour ? "/" : "", flavour ? flavour : "", n_live, (double) (now_us() - t0) / 1000.0);
        n->ready = true;
        return 0;
}

static int teardown_locked(Network *n, Error *err)
{
        int r = firewall_open_locked(n, err);
        if (r < 0)
                return r;
        r = firewall_teardown(n->fw, err);
        if (r < 0)
                return error_wrap(err, "removing the firewall of %s", n->bridge);
        /* Deleting the bridge detaches (not deletes) leftover ports;
         * none exist when no workspace runs, and stale ones are removed
         * by the caller. Retired veths go first, so none outlives it. */
        link_reaper_flush(n->reaper);
        r = link_delete(n->nl, n->bridge, err);
        if (r < 0)
                return error_wrap(err, "removing bridge %s", n->bridge);
        n->ready = false;
        log_info("network: removed bridge %s and its firewall (no workspace left)", n->bridge);
        return 0;
}

int network_teardown_if_unused(Engine *eng, Error *err)
{
        Network *n = NULL;
        int r = network_get(eng, &n, err);
        if (r < 0)
                return r;
        _unused_ _cleanup_unlock_ pthread_mutex_t *l = network_lock(n);
        Registry *reg = reg_locked(n, err);
        if (!reg)
                return -EIO;
        int64_t total = 0;
        r = registry_workspaces_total(reg, &total, err);
        if (r < 0)
                return r;
        if (total > 0 || n->n_setups > 0)
                return 0;
        if (!n->ready && if_nametoindex(n->bridge) == 0)
                return 0; /* nothing was set up */
        r = teardown_locked(n, err);
        return r < 0 ? r : 1;
}

/* ---- one workspace ---- */

/* The child's network namespace. /proc/<pid> is racy on its own: the
 * pidfd proves afterwards that pid was still the same process. */
static int open_netns(pid_t pid, int pidfd, Error *err)
{
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/ns/net", (int) pid);
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return error_setc(err, errno, "opening the network namespace of process %d", (int) pid);
        if (pidfd >= 0 && sys_pidfd_send_signal(pidfd, 0) < 0)
                return error_setc(err, errno, "workspace process %d is gone", (int) pid);
        return TAKE_FD(fd);
}

int network_prepare_workspace(Engine *eng, int64_t workspace_id, pid_t pid, int pidfd, WorkspaceNetInfo *ret,
                              Error *err)
{
        Network *n = NULL;
        int r = network_get(eng, &n, err);
        if (r < 0)
                return r;
        uint64_t t0 = now_us();
        _cleanup_close_ int netns = open_netns(pid, pidfd, err);
        if (netns < 0)
                return netns;

        _unused_ _cleanup_unlock_ pthread_mutex_t *l = network_lock(n);
        Registry *reg = reg_locked(n, err);
        if (!reg)
                return -EIO;
        r = ensure_ready_locked(n, reg, false, err);
        if (r < 0)
                return r;
        uint64_t t_lease = now_us();
        uint32_t addr;
        r = registry_lease_acquire(reg, &n->subnet, workspace_id, &addr, NULL, err);
        if (r < 0)
                return error_wrap(err, "leasing an address");
        if (is_setup_addr(n, addr)) {
                /* Only when the subnet is all but full. */
                (void) registry_lease_release(reg, workspace_id, NULL);
                char buf[NET_SUBNET_STRLEN];
                return error_set(err, ENOSPC, "no free address left in subnet %s while sandbox setups run; try "
                                 "again when they are done, or choose a larger \"subnet\" in config.toml",
                                 net_subnet_format(&n->subnet, buf));
        }
        uint64_t t_fw = now_us(), t_link = 0;
        char veth[IFNAMSIZ];
        veth_name(n, workspace_id, veth);
        FirewallWorkspace fws = { .host_veth = veth, .addr = addr };
        LinkWorkspace lw = {
                .bridge = n->bridge, .host_veth = veth, .netns_fd = netns, .subnet = &n->subnet, .addr = addr,
        };
        /* Firewall first: until the lease is in the set, the port's
         * frames are dropped, so there is no window without
         * anti-spoofing. A leftover veth (crashed start) is replaced. */
        r = firewall_add_workspace(n->fw, &fws, err);
        if (r >= 0) {
                t_link = now_us();
                (void) link_delete(n->nl, veth, NULL);
                r = link_workspace_attach(n->nl, &lw, err);
                if (r < 0)
                        (void) firewall_remove_workspace(n->fw, &fws, NULL);
        }
        if (r < 0) {
                _cleanup_error_ Error e = ERROR_INIT;
                if (registry_lease_release(reg, workspace_id, &e) < 0)
                        log_warn("network: releasing the lease of workspace %lld: %s", (long long) workspace_id,
                                 error_msg(&e));
                return error_wrap(err, "connecting the workspace to %s", n->bridge);
        }
        *ret = (WorkspaceNetInfo) {};
        net_addr_format(addr, ret->ip);
        snprintf(ret->veth, sizeof ret->veth, "%s", veth);
        uint64_t t_end = now_us();
        log_debug("network: workspace %lld on %s as %s in %.2f ms (lease %.2f, firewall %.2f, link %.2f)",
                  (long long) workspace_id, veth, ret->ip, (double) (t_end - t0) / 1000.0,
                  (double) (t_fw - t_lease) / 1000.0, (double) (t_link - t_fw) / 1000.0,
                  (double) (t_end - t_link) / 1000.0);
        return 0;
}

/* Off the bridge at once; the link itself is deleted in the background
 * (link_workspace_retire()). Anything unexpected: deleted right here. */
static int unlink_locked(Network *n, const LinkWorkspace *lw, Error *err)
{
        char retired[IFNAMSIZ];
        _cleanup_error_ Error e = ERROR_INIT;
        int r = link_workspace_retire(n->nl, lw, retired, &e);
        if (r == 0)
                return 0;
        if (r > 0 && link_reaper_add(n->reaper, retired) >= 0)
                return 0;
        if (r < 0)
                log_debug("network: retiring %s: %s; deleting it now", lw->host_veth, error_msg(&e));
        r = link_workspace_detach(n->nl, lw, err);
        if (r >= 0 && retired[0])
                r = link_delete(n->nl, retired, err);
        return r;
}

static void release_locked(Network *n, Registry *reg, int64_t workspace_id, bool have_lease, uint32_t addr)
{
        _cleanup_error_ Error e = ERROR_INIT;
        char veth[IFNAMSIZ];
        veth_name(n, workspace_id, veth);
        if (have_lease && n->fw) {
                FirewallWorkspace fws = { .host_veth = veth, .addr = addr };
                if (firewall_remove_workspace(n->fw, &fws, &e) < 0) {
                        log_warn("network: workspace %lld: %s", (long long) workspace_id, error_msg(&e));
                        error_clear(&e);
                }
        }
        int r;
        if (have_lease) {
                LinkWorkspace lw = { .bridge = n->bridge, .host_veth = veth, .netns_fd = -EBADF,
                                     .subnet = &n->subnet, .addr = addr };
                r = unlink_locked(n, &lw, &e);
        } else
                r = link_delete(n->nl, veth, &e);
        if (r < 0) {
                log_warn("network: workspace %lld: removing %s: %s", (long long) workspace_id, veth, error_msg(&e));
                error_clear(&e);
        }
        if (registry_lease_release(reg, workspace_id, &e) < 0)
                log_warn("network: workspace %lld: releasing its lease: %s", (long long) workspace_id, error_msg(&e));
}

void network_release_workspace(Engine *eng, int64_t workspace_id)
{
        Network *n = eng->network;
        if (!n)
                return;
        _unused_ _cleanup_unlock_ pthread_mutex_t *l = network_lock(n);
        _cleanup_error_ Error e = ERROR_INIT;
        Registry *reg = reg_locked(n, &e);
        if (!reg) {
                log_warn("network: workspace %lld: %s", (long long) workspace_id, error_msg(&e));
                return;
        }
        uint32_t addr = 0;
        int r = registry_lease_get(reg, workspace_id, &addr, &e);
        if (r < 0 && r != -ENOENT)
                log_warn("network: workspace %lld: %s", (long long) workspace_id, error_msg(&e));
        release_locked(n, reg, workspace_id, r == 0, addr);
}

/* ---- sandbox setup ---- */

/* The highest address no workspace leases and no setup uses (workspaces
 * take the lowest). */
static int setup_addr_pick(Network *n, Registry *reg, uint32_t *ret, Error *err)
{
        _cleanup_free_ NetLease *leases = NULL;
        size_t n_leases = 0;
        int r = registry_leases_list(reg, &leases, &n_leases, err);
        if (r < 0)
                return r;
        uint32_t gw = net_subnet_gateway(&n->subnet);
        for (uint32_t a = net_subnet_broadcast(&n->subnet) - 1; a > gw; a--) {
                bool used = is_setup_addr(n, a);
                for (size_t i = 0; i < n_leases && !used; i++)
                        used = leases[i].addr == a;
                if (!used) {
                        *ret = a;
                        return 0;
                }
        }
        char buf[NET_SUBNET_STRLEN];
        return error_set(err, ENOSPC, "no free address left in subnet %s for the setup",
                         net_subnet_format(&n->subnet, buf));
}

int network_prepare_setup(Engine *eng, pid_t pid, int pidfd, WorkspaceNetInfo *ret, Error *err)
{
        Network *n = NULL;
        int r = network_get(eng, &n, err);
        if (r < 0)
                return r;
        _cleanup_close_ int netns = open_netns(pid, pidfd, err);
        if (netns < 0)
                return netns;
        _unused_ _cleanup_unlock_ pthread_mutex_t *l = network_lock(n);
        if (n->n_setups == NETWORK_SETUPS_MAX)
                return error_set(err, EBUSY, "%d sandbox setups run already; try again when one is done",
                                 NETWORK_SETUPS_MAX);
        Registry *reg = reg_locked(n, err);
        if (!reg)
                return -EIO;
        r = ensure_ready_locked(n, reg, false, err);
        uint32_t addr = 0;
        if (r >= 0)
                r = setup_addr_pick(n, reg, &addr, err);
        if (r < 0)
                return r;
        char veth[IFNAMSIZ];
        setup_veth_name(n, addr, veth);
        FirewallWorkspace fws = { .host_veth = veth, .addr = addr };
        LinkWorkspace lw = {
                .bridge = n->bridge, .host_veth = veth, .netns_fd = netns, .subnet = &n->subnet, .addr = addr,
        };
        r = firewall_add_workspace(n->fw, &fws, err);
        if (r >= 0) {
                (void) link_delete(n->nl, veth, NULL);
                r = link_workspace_attach(n->nl, &lw, err);
                if (r < 0)
                        (void) firewall_remove_workspace(n->fw, &fws, NULL);
        }
        if (r < 0)
                return error_wrap(err, "connecting the setup to %s", n->bridge);
        n->setup_addrs[n->n_setups++] = addr;
        *ret = (WorkspaceNetInfo) {};
        net_addr_format(addr, ret->ip);
        snprintf(ret->veth, sizeof ret->veth, "%s", veth);
        return 0;
}

void network_release_setup(Engine *eng, const WorkspaceNetInfo *info)
{
        Network *n = eng->network;
        uint32_t addr;
        if (!n || !info->ip[0] || net_addr_parse(info->ip, &addr) < 0)
                return;
        _unused_ _cleanup_unlock_ pthread_mutex_t *l = network_lock(n);
        for (size_t i = 0; i < n->n_setups; i++)
                if (n->setup_addrs[i] == addr) {
                        n->setup_addrs[i] = n->setup_addrs[--n->n_setups];
                        break;
                }
        _cleanup_error_ Error e = ERROR_INIT;
        char veth[IFNAMSIZ];
        setup_veth_name(n, addr, veth);
        FirewallWorkspace fws = { .host_veth = veth, .addr = addr };
        if (n->fw && firewall_remove_workspace(n->fw, &fws, &e) < 0) {
                log_warn("network: setup %s: %s", info->ip, error_msg(&e));
                error_clear(&e);
        }
        LinkWorkspace lw = { .bridge = n->bridge, .host_veth = veth, .netns_fd = -EBADF, .subnet = &n->subnet,
                             .addr = addr };
        if (unlink_locked(n, &lw, &e) < 0)
                log_warn("network: setup %s: removing %s: %s", info->ip, veth, error_msg(&e));
}

/* ---- DNS ---- */

int network_resolv_conf(Engine *eng, WorkspaceFile *ret, Error *err)
{
        char *content = NULL;
        int r = resolv_build_from_files(RESOLV_HOST_PATH, RESOLV_RESOLVED_UPSTREAM_PATH, &content, err);
        if (r < 0)
                return error_wrap(err, "building the workspace's /etc/resolv.conf");
        *ret = (WorkspaceFile) { .path = "/etc/resolv.conf", .data = content, .size = strlen(content), .mode = 0644 };
        return 0;
}

/* ---- ports ---- */

const ProxyMapping *network_port_mapping(const ProxyMapping *m, size_t n, uint16_t host_port, const char *tag)
{
        for (size_t i = 0; i < n; i++)
                if (m[i].host_port == host_port && m[i].tag && streq(m[i].tag, tag))
                        return &m[i];
        return NULL;
}

/* Publish ports[] for a workspace at addr; on a failure everything of
 * the workspace is unpublished again. */
static int ports_publish(Network *n, int64_t workspace_id, uint32_t addr, const NetPort *ports, size_t n_ports,
                         Error *err)
{
        char tag[32];
        network_port_tag(workspace_id, tag);
        ProxyMapping *active = NULL;
        size_t n_active = 0;
        int r = proxy_list(n->proxy, &active, &n_active, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n_ports && r >= 0; i++) {
                if (network_port_mapping(active, n_active, ports[i].host_port, tag))
                        continue;
                r = proxy_publish(n->proxy, ports[i].host_port, addr, ports[i].workspace_port, tag, err);
        }
        proxy_mappings_free(active, n_active);
        if (r < 0) {
                (void) proxy_unpublish_tag(n->proxy, tag);
                return r;
        }
        return 0;
}

int network_ports_start(Engine *eng, int64_t workspace_id, Error *err)
{
        Network *n = NULL;
        int r = network_get(eng, &n, err);
        if (r < 0)
                return r;
        uint32_t addr;
        _cleanup_free_ NetPort *ports = NULL;
        size_t n_ports = 0;
        {
                _unused_ _cleanup_unlock_ pthread_mutex_t *l = network_lock(n);
                Registry *reg = reg_locked(n, err);
                if (!reg)
                        return -EIO;
                r = registry_lease_get(reg, workspace_id, &addr, err);
                if (r == -ENOENT)
                        return error_set(err, ENOENT, "the workspace has no address (it does not run)");
                if (r < 0)
                        return r;
                r = registry_ports_list(reg, workspace_id, &ports, &n_ports, err);
                if (r < 0)
                        return r;
        }
        r = ports_publish(n, workspace_id, addr, ports, n_ports, err);
        if (r < 0)
                return error_wrap(err, "publishing ports");
        return 0;
}

void network_ports_stop(Engine *eng, int64_t workspace_id)
{
        if (!eng->network)
                return;
        char tag[32];
        network_port_tag(workspace_id, tag);
        (void) proxy_unpublish_tag(eng->network->proxy, tag);
}

int network_ports_declare(Registry *r, int64_t workspace_id, const PortSpec *ports, size_t n, Error *err)
{
        return registry_ports_declare(r, workspace_id, ports, n, err);
}

/* ---- daemon start ---- */

/* Links on our bridge that belong to no live workspace. */
static void remove_stale_ports_locked(Network *n, const FirewallWorkspace *live, size_t n_live)
{
        _cleanup_error_ Error e = ERROR_INIT;
        char **ports = NULL;
        if (link_bridge_ports(n->nl, n->bridge, &ports, &e) < 0) {
                log_warn("network: listing the ports of %s: %s", n->bridge, error_msg(&e));
                return;
        }
        for (size_t i = 0; ports[i]; i++) {
                bool keep = false;
                for (size_t j = 0; j < n_live && !keep; j++)
                        keep = streq(ports[i], live[j].host_veth);
                if (keep)
                        continue;
                log_info("network: removing stale link %s", ports[i]);
                if (link_delete(n->nl, ports[i], &e) < 0) {
                        log_warn("network: %s", error_msg(&e));
                        error_clear(&e);
                }
        }
        strv_free(ports);
}

/* The part of network_reconcile() under the lock: stale leases and
 * links go, and with running workspaces the bridge and firewall are
 * set up for exactly them. Returns their leases (the running ones). */
static int reconcile_locked(Network *n, Registry *reg, NetLease **ret, size_t *ret_n, Error *err)
{
        _cleanup_free_ NetLease *leases = NULL;
        size_t n_leases = 0, n_running = 0;
        int r = registry_leases_list(reg, &leases, &n_leases, err);
        if (r < 0)
                return r;
        /* Leases of workspaces that do not run: a crashed daemon's (or
         * a workspace killed while it was down) leftovers. */
        for (size_t i = 0; i < n_leases; i++) {
                if (leases[i].running && leases[i].addr != 0) {
                        leases[n_running++] = leases[i];
                        continue;
                }
                log_info("network: releasing the stale lease of workspace %lld", (long long) leases[i].workspace_id);
                release_locked(n, reg, leases[i].workspace_id, leases[i].addr != 0, leases[i].addr);
        }
        *ret_n = 0;
        if (n_running == 0) {
                /* Nothing runs: whatever is left of ours goes. */
                if (if_nametoindex(n->bridge) == 0)
                        return 0;
                _cleanup_error_ Error e = ERROR_INIT;
                remove_stale_ports_locked(n, NULL, 0);
                if (teardown_locked(n, &e) < 0)
                        log_warn("network: %s", error_msg(&e));
                return 0;
        }
        r = ensure_ready_locked(n, reg, true, err);
        if (r < 0)
                return r;
        _cleanup_free_ FirewallWorkspace *live = NULL;
        _cleanup_free_ char (*names)[IFNAMSIZ] = NULL;
        size_t n_live = 0;
        r = live_leases(n, reg, true, &live, &names, &n_live, err);
        if (r < 0)
                return r;
        remove_stale_ports_locked(n, live, n_live);
        *ret = TAKE_PTR(leases);
        *ret_n = n_running;
        return 0;
}

static void set_startup_registry(Network *n, Registry *reg)
{
        _unused_ _cleanup_unlock_ pthread_mutex_t *l = network_lock(n);
        n->startup_reg = reg;
}

int network_reconcile(Engine *eng, Error *err)
{
        Network *n = NULL;
        int r = network_get(eng, &n, err);
        if (r < 0)
                return r;
        /* The loop thread's own connection: nothing else uses it before
         * the daemon serves. */
        set_startup_registry(n, eng->registry);
        _cleanup_free_ NetLease *running = NULL;
        size_t n_running = 0;
        {
                _unused_ _cleanup_unlock_ pthread_mutex_t *l = network_lock(n);
                r = reconcile_locked(n, eng->registry, &running, &n_running, err);
        }
        for (size_t i = 0; r >= 0 && i < n_running; i++) {
                _cleanup_error_ Error e = ERROR_INIT;
                if (network_ports_start(eng, running[i].workspace_id, &e) < 0)
                        log_warn("network: workspace %lld: %s", (long long) running[i].workspace_id, error_msg(&e));
        }
        set_startup_registry(n, NULL);
        if (r < 0)
                return r;
        if (n_running > 0)
                log_info("network: %zu running workspace(s) adopted", n_running);
        return 0;
}
