/* Run one program in fresh mount, PID, IPC and (optionally) UTS
 * namespaces, with the host's network, streaming its output.
 *
 * The first process of the new PID namespace is a copy of the caller
 * that prepares the mounts (private propagation first, so nothing ever
 * reaches the host), starts the program, reaps whatever it leaves and
 * exits with its status; the kernel then kills anything still running
 * in the namespace, and every mount dies with it. No `unshare`, `mount`
 * or `chroot` processes are involved: only syscalls.
 *
 * With a rootfs the program runs inside it (pivot_root) with its own
 * /proc, a read-only /sys, a small /dev on tmpfs (null zero full random
 * urandom tty ptmx, /dev/pts, /dev/shm) and the host's /etc/resolv.conf
 * bind-mounted read-only over the rootfs's. Without one it runs in the
 * host's tree with only a private /proc.
 *
 * With user_ns the namespaces belong to a new user namespace in which
 * every id maps to itself: files written keep their real owners (a
 * rootfs stays owned by real root), but root's capabilities reach no
 * further than the namespace: no device nodes, no mounting of host
 * file systems, no host sysctls, modules or network configuration. The
 * device nodes in /dev are then bind mounts of the host's. */
#pragma once

#include "base/error.h"
#include "storage/progress.h"

typedef struct NsExecSpec {
        const char *const *argv; /* argv[0]: absolute path (inside rootfs when set) */
        const char *const *envp; /* the complete environment */
        const char *rootfs;      /* NULL: stay in the host's root */
        const char *hostname;    /* non-NULL: new UTS namespace with this name */
        const char *cwd;         /* NULL: "/" with a rootfs, else unchanged */
        bool user_ns;            /* identity-mapped user namespace (see below) */
} NsExecSpec;

/* One line of output (stdout and stderr interleaved), without its end
 * of line. Return a negative value to stop the program. */
typedef int (*NsExecLineFn)(const char *line, void *userdata);

/* Run spec to completion. Returns 0 with *ret_status set to the exit
 * status (0-255, 128+N for signal N) when the program ran; a negative
 * errno when it could not be started (err says which step failed), or
 * -ECANCELED when on_line or mon asked to stop (the whole namespace is
 * killed first). */
int nsexec_run(const NsExecSpec *spec, NsExecLineFn on_line, void *userdata,
               const StorageMonitor *mon, int *ret_status, Error *err);
