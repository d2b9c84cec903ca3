/* What a sandbox and a workspace are declared to be: the one typed form
 * of an Enclavefile's tables, of `enclave create` and `enclave workspace
 * create`, of the requests that carry them and of what the registry
 * keeps. The Enclavefile loader (config/enclavefile.c), the CLI, the
 * protocol, the engines and the registry all pass these, and their JSON
 * comes from one codec (spec_*_to_json / *_from_json below).
 *
 * The value rules live here too, so each is written once: names
 * (base/str.h), limits (limits.h), ports, providers, suites (values.h),
 * and the rules between keys (workspace_spec_check()). */
#pragma once

#include "base/error.h"
#include "base/sha256.h"
#include "spec/limits.h"
#include "spec/restart.h"
#include "spec/values.h"

#include <jansson.h>

#define SPEC_MAX_LIST 1000u                /* setup, ports, env, auth, env_tokens entries */
#define SPEC_MAX_STRING (128u * 1024 - 1)  /* run, a setup command, an env value (MAX_ARG_STRLEN) */

typedef struct SandboxSpec {
        char *name;
        char *suite;            /* NULL: the daemon's default (config.toml, else DEFAULT_SUITE) */
        char *bootstrap_method; /* NULL: likewise */
        char *mirror;           /* NULL: likewise */
        Limits caps;            /* over all its workspaces together; LIMIT_SANDBOX rows only */
        char **setup;           /* commands, NULL-terminated; NULL or empty: none */
} SandboxSpec;

typedef struct WorkspaceSpec {
        char *name;
        char *run;              /* NULL: the workspace starts idle */
        RunRestart restart;     /* when init starts run again */
        char *workspace_dir;    /* absolute canonical host directory as /home; NULL: managed /home */
        Limits limits;          /* LIMIT_WORKSPACE rows only */
        char **auth;            /* provider names, NULL-terminated (NULL: none) */
        char **env_tokens;      /* token variable names, likewise */
        PortSpec *ports;
        size_t n_ports;
        char **env;             /* "NAME=value" in order, likewise; a later NAME wins */
} WorkspaceSpec;

void sandbox_spec_done(SandboxSpec *s);
void workspace_spec_done(WorkspaceSpec *s);

/* The rules between values, and each value again (a spec built from a
 * request is not a parsed file): names, ranges, env names (no token
 * variable, nothing ENCLAVE_*), providers, token variables, restart, run
 * size, an absolute workspace_dir, disk_mb not with workspace_dir, each
 * host port once. err says what and how to fix it. */
int workspace_spec_check(const WorkspaceSpec *s, Error *err);
/* Name, suite, method and mirror when given, caps in range, setup sizes. */
int sandbox_spec_check(const SandboxSpec *s, Error *err);

/* SHA-256 over a setup list, lower-case hex: a change of any command,
 * their order or number changes it. `up` runs setup again when the
 * digest of the file's list differs from the one recorded. */
void spec_setup_digest(char *const *setup, char out[static SHA256_HEX_SIZE]);

/* ---- JSON ----
 *
 * One codec, in the shapes the documented interfaces have:
 *
 *   SPEC_JSON_WIRE        `enclave validate --json`, project.up and the
 *                         create requests: every limit flat (null when not
 *                         set), env {"NAME": "value"}, ports [{"spec",
 *                         "host_ip", "host_port", "workspace_port",
 *                         "protocol"}]
 *   SPEC_JSON_REGISTRY    a workspace's config column (docs/json.md): env
 *                         ["NAME=value"], "limits": {only the set ones},
 *                         no name and no ports (they have their own table)
 *   SPEC_JSON_DEFINITION  what `up` compares (engine/project.c): WIRE
 *                         without the name, auth, env_tokens and ports
 *                         sorted, env by name, so a reordered list is no
 *                         change
 *
 * The readers accept every shape (limits flat or under "limits", env as
 * object or list, ports as strings or objects), check every value (the
 * message names the member) and ignore members they do not know (newer
 * clients; "key", "setup_digest", "workspace_dir_id"). A missing or null
 * member is "not set"; so is a limit of 0. */
typedef enum SpecJsonForm {
        SPEC_JSON_WIRE,
        SPEC_JSON_REGISTRY,
        SPEC_JSON_DEFINITION,
} SpecJsonForm;

json_t *workspace_spec_to_json(const WorkspaceSpec *s, SpecJsonForm form);
int workspace_spec_from_json(json_t *o, WorkspaceSpec *ret, Error *err);
json_t *sandbox_spec_to_json(const SandboxSpec *s, SpecJsonForm form);
int sandbox_spec_from_json(json_t *o, SandboxSpec *ret, Error *err);

/* The limits of scope as members of o: set ones only (REGISTRY), or
 * every one with null for unset (WIRE). */
int limits_to_json(const Limits *l, unsigned scope, SpecJsonForm form, json_t *o);
/* Limits of scope from the members of o; others are ignored. */
int limits_from_json(json_t *o, unsigned scope, Limits *ret, Error *err);

/* A NULL-terminated list (NULL: empty) as a JSON array of strings;
 * NULL on OOM. */
json_t *strv_to_json(char *const *v);

/* Keys whose values differ between two DEFINITION objects, in their
 * order, NULL-terminated (empty when equal; NULL on OOM). A NULL
 * definition differs in every key. */
char **spec_definition_diff(json_t *a, json_t *b);
