/* Auth provider names as users type them: one check shared by the CLI
 * and the daemon, so both refuse an unknown provider with the same
 * message ("did you mean", then the full list). The names and their
 * token variables themselves live in config/values.h. */
#pragma once

#include "base/error.h"

/* 0 when provider is one of auth_providers[]; otherwise -EINVAL with
 * a message naming the closest provider and listing all of them. */
int auth_provider_check(const char *provider, Error *err);

/* "enclave, github, npm" (static storage). */
const char *auth_providers_list(void);
