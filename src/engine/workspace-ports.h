/* `enclave workspace port publish|unpublish|list` (SPEC §6): a
 * workspace's mappings live in the ports table; those of a running
 * workspace are active in the daemon's port proxy (engine/network.h).
 * Each call is a few statements and one proxy command, so the
 * workspace.port.* adapters (daemon/actions-ports.c) run them on the
 * event loop. */
#pragma once

#include "base/error.h"
#include "engine/engine.h"
#include "registry/registry-network.h"
#include "spec/spec.h"

#include <stdbool.h>
#include <stdint.h>

/* The workspace of a request, found by name (the caller may act on it:
 * checked before). */
typedef struct PortWorkspace {
        const char *sandbox;
        const char *workspace;
        int64_t id;
        bool running;   /* holds a lease */
        uint32_t addr;  /* its address while running */
} PortWorkspace;

int port_workspace_lookup(Registry *reg, const char *sandbox, const char *workspace, PortWorkspace *ret,
                          Error *err);

/* Add a mapping (declared: as from create/up, else as `port publish`)
 * and activate it at once when the workspace runs; a failure to listen
 * undoes the row. */
int workspace_port_publish(Engine *eng, Registry *reg, const PortWorkspace *w, const PortSpec *spec, bool declared,
                           Error *err);

/* Remove the mapping of host_port (-ENOENT with a message when there is
 * none) and close its listener when it was active. */
int workspace_port_unpublish(Engine *eng, Registry *reg, const PortWorkspace *w, uint16_t host_port,
                             bool *ret_was_active, Error *err);

typedef struct PortState {
        NetPort port;
        bool active;
        unsigned connections; /* open now */
        uint64_t accepted;    /* since publish */
} PortState;

/* The workspace's mappings, each with its state in the proxy. */
int workspace_port_list(Engine *eng, Registry *reg, const PortWorkspace *w, PortState **ret, size_t *ret_n,
                        Error *err);
