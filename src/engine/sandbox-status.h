/* What sandbox.status, sandbox.list and sandbox.create show of a
 * sandbox: its registry row, with paths its rootfs directory and the
 * directories of its cgroup. */
#pragma once

#include "engine/engine.h"
#include "registry/registry-sandbox.h"

#include <jansson.h>

/* sandbox_row_to_json(), with with_paths also "rootfs" and "cgroups"
 * (what cannot be read is left out). NULL when out of memory. */
json_t *sandbox_status_json(const Engine *eng, const SandboxRow *row, bool with_paths);
