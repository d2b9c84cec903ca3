/* Run one program on the host in fresh mount, PID and IPC namespaces
 * (debootstrap: it must be real root on the host to make device nodes),
 * streaming its output.
 *
 * The first process of the new PID namespace is a copy of the caller
 * that makes every mount private (nothing ever reaches the host), mounts
 * a private /proc, starts the program, reaps whatever it leaves and
 * exits with its status; the kernel then kills anything still running
 * in the namespace, and every mount dies with it. No `unshare` or
 * `mount` processes are involved: only syscalls. Both processes start
 * through runtime/nsclone.h and report a failure before exec with the
 * child-error message of runtime/sync.h, as a workspace's do.
 *
 * Setup commands do not run here: they run confined like a workspace
 * (storage/setup.h). */
#pragma once

#include "base/error.h"
#include "storage/line-pump.h"
#include "storage/progress.h"

typedef struct NsExecSpec {
        const char *const *argv; /* argv[0]: absolute path */
        const char *const *envp; /* the complete environment */
        const char *cwd;         /* NULL: unchanged */
} NsExecSpec;

/* Run spec to completion, each line of output (stdout and stderr
 * interleaved) to on_line. Returns 0 with *ret_status set to the exit
 * status (0-255, 128+N for signal N) when the program ran; a negative
 * errno when it could not be started (err says which step failed), or
 * -ECANCELED when on_line or mon asked to stop (the whole namespace is
 * killed first). */
int nsexec_run(const NsExecSpec *spec, LineFn on_line, void *userdata, const StorageMonitor *mon, int *ret_status,
               Error *err);
