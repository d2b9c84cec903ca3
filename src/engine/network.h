/* The daemon's networking (SPEC §6): bridge, firewall, address leases,
 * one veth pair per running workspace, the workspace resolv.conf and
 * published ports. A thin layer over src/net/ that keeps leases and
 * ports in the registry (registry-network.c).
 *
 * NOTE for the workspace engine (workspace-engine.c):
 *   - workspace.create: call network_ports_declare(reg, id, ports, n, err)
 *     inside (or right after) the create transaction with the
 *     workspace's --port / Enclavefile `ports` (replaces the declared set;
 *     a host port another workspace already uses is a clear error). The
 *     `ports` table is the one place ports live: do not keep them in the
 *     config JSON as well. `up` applying changed ports calls it again.
 *   - start, in the spawn prepare hook (worker thread, child waiting):
 *     network_prepare_workspace(eng, id, pid, pidfd, &info, err), then
 *     store info.ip in workspaces.ip if you want it there; after the
 *     workspace is recorded running: network_ports_start(eng, id, err).
 *     The resolv.conf file for NewRootSpec.files: network_resolv_conf().
 *   - stop / destroy, after the workspace's init is gone:
 *     network_ports_stop(eng, id) then network_release_workspace(eng, id).
 *   - destroy / wipe, after the workspace rows are deleted:
 *     network_teardown_if_unused(eng) (removes bridge + firewall when no
 *     workspace exists any more).
 * Every function is safe to call from worker threads at the same time
 * (the Network serialises its host changes with a mutex) and uses the
 * Network's own registry connection: do NOT hold a registry write
 * transaction open while calling network_prepare_workspace(),
 * network_release_workspace() or network_ports_start() (they would
 * wait for it). network_prepare_workspace() records the address in
 * workspaces.ip itself and network_release_workspace() clears it. */
#pragma once

#include "base/error.h"
#include "spec/values.h"
#include "engine/engine.h"
#include "runtime/newroot.h"

#include <stdint.h>
#include <sys/types.h>

typedef struct WorkspaceNetInfo {
        char ip[16];   /* leased address, dotted quad */
        char veth[16]; /* host end of the veth pair */
} WorkspaceNetInfo;

typedef struct Network Network;

/* Daemon start: check the settings (bridge name, subnet) and start the
 * port proxy thread. Creates no host state: the bridge, firewall and
 * the route-overlap check happen at the first network_prepare_workspace(). */
int network_init(Engine *eng, Error *err);

/* Daemon stop: stop the proxy thread. Running workspaces keep their
 * veths, leases and firewall entries (they outlive the daemon). */
void network_shutdown(Engine *eng);

/* From the spawn prepare hook while the child waits. First use sets up
 * bridge + firewall (idempotent). Leases (or reuses) the workspace's
 * address, allows it in the firewall, then creates the veth pair with
 * eth0 inside the child's network namespace (pidfd when >= 0, else
 * /proc/<pid>/ns/net). On failure nothing of this workspace remains
 * except its lease row is released again. */
int network_prepare_workspace(Engine *eng, int64_t workspace_id, pid_t pid, int pidfd, WorkspaceNetInfo *ret,
                              Error *err);

/* After the workspace's init is gone: firewall entry, host veth and
 * lease go away. Idempotent; problems are logged. */
void network_release_workspace(Engine *eng, int64_t workspace_id);

/* A sandbox's setup (storage/setup.h) on the bridge like a workspace,
 * from the spawn prepare hook: an address from the top of the subnet
 * (no registry row: a setup lives only as long as its request), the
 * firewall entry and the veth pair. At most NETWORK_SETUPS_MAX at once;
 * their addresses are never leased to a workspace meanwhile. */
#define NETWORK_SETUPS_MAX 32
int network_prepare_setup(Engine *eng, pid_t pid, int pidfd, WorkspaceNetInfo *ret, Error *err);
/* After the setup's namespace is gone. Idempotent; problems are logged. */
void network_release_setup(Engine *eng, const WorkspaceNetInfo *info);

/* /etc/resolv.conf for inside the workspace. ret->data is allocated
 * and owned by the CALLER: free((void *) ret->data) once the spawn is
 * done. ret->path is a static string. */
int network_resolv_conf(Engine *eng, WorkspaceFile *ret, Error *err);

/* Publish the workspace's ports (declared and added by `port publish`)
 * on 127.0.0.1 through the proxy; the workspace must hold a lease
 * (i.e. run). A host port in use is a clear error and nothing of this
 * workspace stays published. */
int network_ports_start(Engine *eng, int64_t workspace_id, Error *err);
/* Close the workspace's listeners and connections. Idempotent. */
void network_ports_stop(Engine *eng, int64_t workspace_id);

/* Daemon start, after reconcile_workspaces(): drop firewall entries,
 * veths and leases of workspaces that are not running, and publish the
 * ports of the running (adopted) ones. Sets up the firewall only when a
 * workspace runs. */
int network_reconcile(Engine *eng, Error *err);

/* Replace the declared ports of a workspace (one transaction). A host
 * port already used by another workspace is -EEXIST with a message
 * naming it. Mappings added by `port publish` (declared = 0) stay. */
int network_ports_declare(Registry *r, int64_t workspace_id, const PortSpec *ports, size_t n, Error *err);

/* Remove bridge and firewall tables when no workspace exists any more
 * (after the last destroy / workspace wipe), so nothing is left on the
 * host. Returns 1 when it tore down, 0 when workspaces remain. */
int network_teardown_if_unused(Engine *eng, Error *err);


/* For workspace-ports.c: the daemon's proxy (NULL before network_init),
 * the owner tag of a workspace's mappings in it ("ws:ID"), and the
 * mapping of host_port in a proxy_list() that carries tag, or NULL. */
struct Proxy *network_proxy(Engine *eng);
void network_port_tag(int64_t workspace_id, char buf[static 32]);
struct ProxyMapping;
const struct ProxyMapping *network_port_mapping(const struct ProxyMapping *m, size_t n, uint16_t host_port,
                                                const char *tag);
