/* Internal to the registry: the migration steps. */
#pragma once

#include "registry/registry.h"

/* SQL that takes the schema from from_version to from_version + 1, or
 * NULL past the last step. */
const char *registry_migration(int from_version);
