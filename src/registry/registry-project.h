/* Which Enclavefile a sandbox belongs to, and its caps as `up` stores
 * them (registry-project.c). */
#pragma once

#include "base/error.h"
#include "registry/registry.h"
#include "spec/limits.h"

/* The Enclavefile (absolute path) that last brought the sandbox up, in
 * sandboxes.project; *ret NULL when none (made by `enclave create`). */
int registry_project_get(Registry *r, const char *sandbox, char **ret, Error *err);
int registry_project_set(Registry *r, const char *sandbox, const char *project, Error *err);

/* Store the aggregate caps of a sandbox, one transaction. */
int registry_project_set_caps(Registry *r, const char *sandbox, const Limits *caps, Error *err);
