/* The workspaces `enclave stop SB` stopped, which `enclave start SB`
 * brings back, as `docker compose stop` and `start` do. sandbox.stop
 * marks the workspaces that run (workspaces.resume, registry schema 3)
 * before it stops them; sandbox.start starts the marked ones and clears
 * every mark, so a second start, or a start after `down` or after a
 * workspace was stopped on its own, starts nothing unexpected. */
#pragma once

#include "engine/engine.h"
#include "registry/registry.h"

#include <jansson.h>

/* Mark exactly the running workspaces of the sandbox; their names are
 * appended to names (a JSON array; may be NULL). */
int sandbox_resume_mark(Engine *eng, Registry *reg, int64_t sandbox_id, json_t *names, Error *err);

/* Start the marked workspaces of a sandbox that is ready, clearing the
 * marks first. The names started go to started; a workspace that does
 * not start is a warning in *warnings, not a failure of the start. */
int sandbox_resume_start(Engine *eng, Registry *reg, const char *sandbox, int64_t sandbox_id, json_t *started,
                         char ***warnings, Error *err);
