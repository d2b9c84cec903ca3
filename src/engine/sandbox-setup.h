/* Running a sandbox's setup commands, confined like a workspace
 * (storage/setup.h, docs/security.md "Setup commands"). The daemon's
 * part: a host id block of the setup's own (leased host-wide while it
 * runs, like a workspace's), a cgroup below the sandbox's (its caps
 * apply), a network namespace on the bridge behind the workspaces' NAT
 * and firewall (network_prepare_setup()), the managed resolv.conf, and
 * the engine's init and hardening plan. */
#pragma once

#include "engine/engine.h"
#include "registry/registry-sandbox.h"
#include "storage/setup.h"

/* Run commands in row's rootfs. reg is the caller's registry connection
 * (no transaction open). Errors as setup_run(); warnings about caps the
 * host cannot enforce are logged. */
int sandbox_setup_run(Engine *eng, Registry *reg, const SandboxRow *row, char *const *commands, const StorageMonitor *mon,
                      SetupResult *ret, Error *err);
