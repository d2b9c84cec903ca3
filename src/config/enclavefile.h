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

#include "runtime/run-state.h"

#include "config/diagnostics.h"
#include "base/sha256.h"
#include "config/values.h"

#include <jansson.h>

#define ENCLAVEFILE_NAME "Enclavefile"
#define ENCLAVEFILE_MAX_SIZE (1024u * 1024)      /* bytes */
#define ENCLAVEFILE_MAX_WORKSPACES 1000u
#define ENCLAVEFILE_MAX_LIST 1000u               /* setup, ports, env, auth, env_tokens entries */
#define ENCLAVEFILE_MAX_STRING (128u * 1024 - 1) /* run, a setup command, an env value (MAX_ARG_STRLEN) */

/* Ranges of the numeric keys (inclusive). 0 in the model means "not set". */
#define LIMIT_MEMORY_MB_MIN 16
#define LIMIT_MEMORY_MB_MAX (16 * 1024 * 1024)      /* 16 TiB */
#define LIMIT_CPU_PERCENT_MIN 1
#define LIMIT_CPU_PERCENT_MAX 100                   /* % of the whole machine */
#define LIMIT_MAX_PROCS_MIN 1
#define LIMIT_MAX_PROCS_MAX 4194304                 /* PID_MAX_LIMIT */
#define LIMIT_CPU_SECONDS_MIN 1
#define LIMIT_CPU_SECONDS_MAX (10 * 365 * 24 * 3600) /* ten years */
#define LIMIT_MAX_OPEN_FILES_MIN 16
#define LIMIT_MAX_OPEN_FILES_MAX 1048576            /* default fs.nr_open */
#define LIMIT_DISK_MB_MIN 16 /* DISK_QUOTA_MIN_MB: ext4's journal alone takes 4 MiB */
#define LIMIT_DISK_MB_MAX (16 * 1024 * 1024)        /* 16 TiB */

/* Where a table started, for messages of later stages ("up"). */
typedef struct EnclavefilePos {
        unsigned line, col;
} EnclavefilePos;

typedef struct EnclavefileSandbox {
        char *name;
        char *suite;            /* default DEFAULT_SUITE */
        char *bootstrap_method; /* default DEFAULT_BOOTSTRAP_METHOD */
        char *mirror;           /* default DEFAULT_MIRROR */
        int64_t memory_mb;      /* aggregate caps; 0 = no cap */
        int64_t cpu_percent;
        int64_t max_procs;
        char **setup;           /* NULL-terminated, never NULL (may be empty) */
        EnclavefilePos pos;
} EnclavefileSandbox;

typedef struct EnclavefileWorkspace {
        char *key;            /* the table key of [workspace.<key>] */
        char *name;           /* "name", default the key */
        char *run;            /* NULL: the workspace starts idle */
        RunRestart restart;   /* "restart": when init starts run again; default no */
        char *workspace_dir;  /* absolute canonical directory; NULL: managed /home */
        int64_t cpu_seconds;  /* 0 = not set, for every limit */
        int64_t cpu_percent;
        int64_t memory_mb;
        int64_t max_procs;
        int64_t max_open_files;
        int64_t disk_mb;
        char **auth;          /* provider names, NULL-terminated, never NULL */
        char **env_tokens;    /* token variable names, NULL-terminated, never NULL */
        PortSpec *ports;
        size_t n_ports;
        char **env;           /* "NAME=value" in document order, NULL-terminated, never NULL; after
                               * enclavefile_load() also those of env_file (env wins) */
        char *env_file;       /* "env_file": as written, relative to the Enclavefile; NULL: none */
        EnclavefilePos env_file_pos;
        EnclavefilePos pos;
} EnclavefileWorkspace;

typedef struct Enclavefile {
        char *display_name;   /* as given, used in messages */
        char *path;           /* absolute path of the file; NULL when parsed from a buffer */
        char *base_dir;       /* absolute directory relative paths resolve against */
        EnclavefileSandbox sandbox;
        EnclavefileWorkspace *workspaces; /* in document order */
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

const EnclavefileWorkspace *enclavefile_find_workspace(const Enclavefile *ef, const char *name);

/* SHA-256 over the setup list: a change of any command, their order or
 * number changes it. Lower-case hex. */
void enclavefile_setup_digest(const Enclavefile *ef, char out[static SHA256_HEX_SIZE]);

/* The resolved configuration, defaults filled in. Unset limits are
 * JSON null. NULL on OOM. */
json_t *enclavefile_to_json(const Enclavefile *ef);

/* The same as an aligned, human-readable listing. NULL on OOM. */
char *enclavefile_format(const Enclavefile *ef);
