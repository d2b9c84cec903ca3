/* Running a command inside a running workspace (`exec`, `enter`, `run`).
 *
 * The command joins every namespace of the workspace's init (one
 * setns() on its pidfd), becomes the workspace's root, starts in a
 * directory below /home (resolved inside the workspace, never by host
 * path), and gets either the caller's descriptors as stdin/stdout/stderr
 * (pipes and redirections behave like a local command; no byte is
 * copied) or a pty allocated inside the workspace's own devpts, whose
 * master is returned to the caller. A host terminal is never handed in.
 *
 * The process is a child of the caller (it can waitid() on the returned
 * pidfd, which works from an event loop). It is created with
 * vfork-style clones that share the caller's memory until exec, so no
 * page table is copied; the caller's memory is made non-dumpable for
 * that reason (see docs/runtime.md). Safe to call from any thread. */
#pragma once

#include "base/error.h"
#include "runtime/hardening.h"
#include "runtime/rlimits.h"

#include <stdint.h>
#include <sys/types.h>

/* Exit statuses of `exec` when the command never ran (SPEC §2). */
#define EXEC_STATUS_FAILED 125        /* Enclave itself failed */
#define EXEC_STATUS_CANNOT_EXECUTE 126
#define EXEC_STATUS_NOT_FOUND 127

typedef struct ExecConfig {
        int ws_pidfd;                 /* pidfd of the workspace's init */
        char *const *argv;            /* argv[0] without '/' is looked up in the PATH of env */
        char *const *env;             /* complete environment; NULL: default PATH and HOME */
        const char *cwd;              /* absolute, /home or below; NULL: /home */
        bool cwd_root;                /* start in the workspace's / instead (sandbox setup); cwd unused */
        bool pty;                     /* allocate a pty inside the workspace */
        unsigned short rows, cols;    /* initial pty size; 0: kernel default */
        int stdio[3];                 /* without pty: the command's fds 0-2; < 0: /dev/null inside */
        /* The workspace's cgroup: its unified-tree directory (< 0: none),
         * entered with CLONE_INTO_CGROUP, and the files the command joins
         * the other hierarchies with by writing "0" (v1 "tasks", from
         * cgroup_open_join_fds(cg, true, ...); may be NULL). */
        int cgroup_dir_fd;
        const int *cgroup_join_fds;
        size_t n_cgroup_join_fds;
        const HardeningPlan *hardening; /* same plan as the workspace's init; NULL: no drop (tests) */
        const Limits *limits;           /* rlimits; NULL: inherited from the caller */
        unsigned cpu_seed;              /* as the workspace's init got it (rlimits_cpu_pick()) */
} ExecConfig;

typedef struct ExecProcess {
        pid_t pid;       /* host pid of the command */
        int pidfd;       /* owned; poll for POLLIN, then exec_process_wait() */
        int pty_master;  /* owned; -EBADF without pty */
} ExecProcess;

#define EXEC_PROCESS_NULL ((ExecProcess) { 0, -EBADF, -EBADF })

/* An ExecConfig with every fd unset (stdio -1, no pty). */
void exec_config_init(ExecConfig *c, int ws_pidfd, char *const *argv);

/* Start the command. On success *ret owns the pidfd (and pty master).
 * When the command could not be started, returns a negative errno with
 * a message, and *ret_status (may be NULL) is the exit status `exec`
 * must report: 127 not found, 126 cannot execute, 125 anything else. */
int workspace_exec(const ExecConfig *c, ExecProcess *ret, int *ret_status, Error *err);

/* Wait for the command (blocking) and reap it. Returns its exit status
 * (0-255, 128+N for signal N) or a negative errno. */
int exec_process_wait(ExecProcess *p);

/* As exec_process_wait(), but SIGKILL the command once cancel_fd
 * (may be -1: never) becomes readable, then keep waiting for it. */
int exec_process_wait_cancellable(ExecProcess *p, int cancel_fd);

/* Close the pidfd and pty master; does not signal the process. */
void exec_process_done(ExecProcess *p);
#define _cleanup_exec_process_ _cleanup_(exec_process_done)
