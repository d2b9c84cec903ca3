/* Typed registry access for networking: address leases (ip_leases) and
 * published ports (ports). A lease exists while a workspace runs (SPEC
 * §6: released on stop/destroy) and survives daemon restarts with it;
 * ports rows are the workspace's mappings, declared (create/up) or added
 * by `port publish` (declared = 0), whether or not it runs. */
#pragma once

#include "base/error.h"
#include "spec/values.h"
#include "registry/registry.h"
#include "spec/address.h"

typedef struct NetLease {
        int64_t workspace_id;
        uint32_t addr;  /* host order */
        bool running;   /* the workspace's state is running/starting/stopping */
} NetLease;

typedef struct NetPort {
        uint16_t host_port;
        uint16_t workspace_port;
        bool declared;
} NetPort;

/* The workspace's lease, or -ENOENT. */
int registry_lease_get(Registry *r, int64_t workspace_id, uint32_t *ret, Error *err);

/* Reuse the workspace's lease when it has one inside subnet, else take
 * the lowest free address (one transaction, which also records the
 * address in workspaces.ip). -ENOSPC with a message when the subnet is
 * full. *ret_new says whether a new lease was made. */
int registry_lease_acquire(Registry *r, const NetSubnet *subnet, int64_t workspace_id, uint32_t *ret,
                           bool *ret_new, Error *err);

/* Drop the lease (and workspaces.ip). Returns 1 when there was one. */
int registry_lease_release(Registry *r, int64_t workspace_id, Error *err);

/* Every lease with whether its workspace runs. */
int registry_leases_list(Registry *r, NetLease **ret, size_t *ret_n, Error *err);

/* Replace the declared (declared = 1) mappings of a workspace. Runs in
 * its own transaction, or inside the caller's when one is open. A host
 * port used by another workspace is -EEXIST naming it; a mapping the
 * workspace had published by hand with the same host port becomes
 * declared. */
int registry_ports_declare(Registry *r, int64_t workspace_id, const PortSpec *ports, size_t n, Error *err);

/* Add one mapping (port publish). -EEXIST naming the owner when the
 * host port is taken (also by this workspace). */
int registry_port_add(Registry *r, int64_t workspace_id, const PortSpec *p, bool declared, Error *err);

/* Remove the mapping of host_port from the workspace; -ENOENT when it
 * has none. */
int registry_port_remove(Registry *r, int64_t workspace_id, uint16_t host_port, Error *err);

/* The workspace's mappings, ordered by host port. */
int registry_ports_list(Registry *r, int64_t workspace_id, NetPort **ret, size_t *ret_n, Error *err);

/* Number of workspaces in the registry (any state). */
int registry_workspaces_total(Registry *r, int64_t *ret, Error *err);
