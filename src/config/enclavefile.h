/* The Enclavefile model (SPEC §3): one [sandbox] and any number of
 * [workspace.<key>] tables, parsed with the TOML parser and validated
 * completely before anything acts on it.
 *
 * Loading never stops at the first problem: every problem goes into a
 * Diagnostics list as "FILE:LINE:COL: message" naming the key and what
 * to do. A model is returned only when there is no problem at all, with
 * every default filled in and workspace_dir resolved to an absolute,
 * canonical directory. */
#pragma once

#include "config/diagnostics.h"
#include "spec/spec.h"

#include <jansson.h>

#define ENCLAVEFILE_NAME "Enclavefile"
#define ENCLAVEFILE_MAX_SIZE (1024u * 1024)      /* bytes */
#define ENCLAVEFILE_MAX_WORKSPACES 1000u

/* Where a table started, for messages of later stages ("up"). */
typedef struct EnclavefilePos {
        unsigned line, col;
} EnclavefilePos;

/* Where one workspace came from in the file. */
typedef struct EnclavefileTable {
        char *key;            /* the table key of [workspace.<key>]; the name defaults to it */
        char *env_file;       /* "env_file": as written, relative to the Enclavefile; NULL: none */
        EnclavefilePos env_file_pos;
        EnclavefilePos pos;
} EnclavefileTable;

/* The project: the specs of its sandbox and workspaces (spec/spec.h),
 * every default filled in: the sandbox's suite, bootstrap_method, mirror
 * and setup, and each workspace's auth, env_tokens and env are set
 * (possibly empty); workspace_dir is absolute and canonical; env holds
 * the variables of env_file first (env wins, enclavefile_load()). */
typedef struct Enclavefile {
        char *display_name;   /* as given, used in messages */
        char *path;           /* absolute path of the file; NULL when parsed from a buffer */
        char *base_dir;       /* absolute directory relative paths resolve against */
        SandboxSpec sandbox;
        EnclavefilePos sandbox_pos;
        WorkspaceSpec *workspaces; /* in document order */
        EnclavefileTable *tables;  /* one per workspace; NULL when rebuilt from JSON */
        size_t n_workspaces;
} Enclavefile;

/* Read, parse and validate the file at path. Problems are added to
 * diag, named after path as given. Returns 0 and *ret on success;
 * -ENOENT when the file does not exist, -EINVAL when it has problems,
 * another negative errno when it cannot be read (all with a diagnostic). */
int enclavefile_load(const char *path, Enclavefile **ret, Diagnostics *diag);

/* Parse and validate len bytes. display_name names the file in
 * diagnostics; base_dir (absolute, existing) is where relative paths
 * resolve. Same returns as enclavefile_load(). */
int enclavefile_parse_buffer(const char *data, size_t len, const char *display_name, const char *base_dir,
                             Enclavefile **ret, Diagnostics *diag);

Enclavefile *enclavefile_free(Enclavefile *ef);
DEFINE_CLEANUP_FUNC(Enclavefile, enclavefile_free);
#define _cleanup_enclavefile_ _cleanup_(enclavefile_freep)

/* The workspace of that name, or NULL. */
const WorkspaceSpec *enclavefile_find_workspace(const Enclavefile *ef, const char *name);

/* The resolved configuration, defaults filled in: {"path", "base_dir",
 * "sandbox": SPEC_JSON_WIRE + "setup_digest", "workspaces": [SPEC_JSON_WIRE
 * + "key"]}. Unset limits are JSON null. NULL on OOM. */
json_t *enclavefile_to_json(const Enclavefile *ef);

/* The same as an aligned, human-readable listing. NULL on OOM. */
char *enclavefile_format(const Enclavefile *ef);
