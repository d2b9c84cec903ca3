/* `enclave workspace cp` inside a running workspace: a tar stream
 * between the client's pipe and the workspace's files.
 *
 * The work runs in a child of the daemon that joins the workspace's
 * user and mount namespaces and becomes the workspace's root, with the
 * workspace's hardening: every path resolves inside the workspace (a
 * symlink there cannot lead out of it), what it writes belongs to the
 * workspace's root, and it holds no power over the host. The daemon
 * never opens a host path for it: the host side is the client's, which
 * reads or writes the stream with its own rights. */
#pragma once

#include "engine/workspace-engine.h"

typedef enum WorkspaceCpDirection {
        WORKSPACE_CP_IN,  /* the stream's tree goes into the workspace */
        WORKSPACE_CP_OUT, /* a tree of the workspace goes into the stream */
} WorkspaceCpDirection;

typedef struct WorkspaceCpSpec {
        WorkspaceCpDirection direction;
        const char *path;  /* absolute, inside the workspace */
        /* in: the name the top of the stream gets when path is an
         * existing directory (the source's own name); NULL keeps the
         * stream's names (a tar the user gave). */
        const char *name;
        int fd;            /* the client's pipe (or file): read for in, written for out */
        int cancel_fd;     /* readable when the request is cancelled; < 0: none */
} WorkspaceCpSpec;

/* Copy; *ret_target gets where it went (in) or what was read (out). */
int workspace_engine_cp(Engine *eng, RunningWorkspace *rw, const WorkspaceCpSpec *spec, char **ret_target,
                        Error *err);
