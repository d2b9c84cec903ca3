/* Workspace and sandbox cgroups on cgroup v1, hybrid and v2 hosts.
 *
 * A Cgroup is one logical group that exists as a directory in every
 * hierarchy Enclave uses: on v2 one directory in the unified tree; on v1
 * one per controller hierarchy (memory, pids, cpu, cpuacct, blkio,
 * freezer); on hybrid hosts the v1 directories plus one in the unified
 * tree (which has no controllers there but gives race-free cgroup.kill,
 * cgroup.freeze and CLONE_INTO_CGROUP). Every operation covers all of
 * them, so a handle never half-exists.
 *
 * Tree: <root> (cgroup_root_locate, e.g. "enclave-enclave0") / <sandbox>
 * (aggregate caps, no processes) / <workspace> (a leaf: init and every
 * process of the workspace). On v2 the root lives in the daemon's own
 * delegated subtree under systemd (Delegate=yes; the daemon itself moves
 * into a leaf beside it), else at the top of the unified tree; on v1 it
 * is <hierarchy>/<name> in each controller. v2's rules hold throughout:
 * controllers are enabled only in groups without processes, and only
 * leaves hold processes.
 *
 * Limits a host cannot enforce (controller missing or not delegated)
 * are reported as warnings (strings the caller shows once), never
 * ignored in silence. */
#pragma once

#include "base/error.h"
#include "spec/limits.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

typedef enum CgroupMode {
        CGROUP_MODE_V1,     /* only v1 hierarchies */
        CGROUP_MODE_HYBRID, /* v1 controllers plus a unified (v2) tree */
        CGROUP_MODE_V2,     /* only the unified tree */
        _CGROUP_MODE_MAX,
        _CGROUP_MODE_INVALID = -EINVAL,
} CgroupMode;

const char *cgroup_mode_to_string(CgroupMode m);

typedef enum CgroupController {
        CGROUP_CPU,
        CGROUP_CPUACCT, /* v1 only; v2 accounts CPU in cpu.stat of every group */
        CGROUP_MEMORY,
        CGROUP_PIDS,
        CGROUP_IO,      /* v1 "blkio", v2 "io" */
        CGROUP_FREEZER, /* v1 only; v2 has cgroup.freeze in every group */
        _CGROUP_CONTROLLER_MAX,
        _CGROUP_CONTROLLER_INVALID = -EINVAL,
} CgroupController;

#define CGROUP_MASK(c) (1u << (c))
#define CGROUP_MASK_ALL ((1u << _CGROUP_CONTROLLER_MAX) - 1)

/* "cpu", "cpuacct", "memory", "pids", "io", "freezer". */
const char *cgroup_controller_to_string(CgroupController c);
/* Accepts v1 and v2 spellings ("blkio" and "io"). */
CgroupController cgroup_controller_from_string(const char *s);

/* One mounted hierarchy Enclave uses. */
typedef struct CgroupHierarchy {
        bool v2;
        char *mount;          /* e.g. /sys/fs/cgroup/memory or /sys/fs/cgroup */
        unsigned controllers; /* CgroupController mask it provides */
        char *self_path;      /* our own cgroup inside it, from /proc/self/cgroup ("/" at the top) */
} CgroupHierarchy;

#define CGROUP_HIERARCHIES_MAX (_CGROUP_CONTROLLER_MAX + 1)

typedef struct CgroupLayout {
        CgroupMode mode;
        size_t n;
        CgroupHierarchy h[CGROUP_HIERARCHIES_MAX];
} CgroupLayout;

/* Read /proc/self/mountinfo and /proc/self/cgroup. */
int cgroup_layout_detect(CgroupLayout *ret, Error *err);
/* The same from given texts (pure; unit tests). v2_controllers is the
 * content of cgroup.controllers at our own v2 cgroup (NULL: none). */
int cgroup_layout_parse(const char *mountinfo, const char *proc_self_cgroup, const char *v2_controllers,
                        CgroupLayout *ret, Error *err);
void cgroup_layout_done(CgroupLayout *l);

/* One directory of a Cgroup. */
typedef struct CgroupNode {
        bool v2;
        unsigned controllers; /* what limits/stats this node provides */
        char *path;           /* absolute directory */
} CgroupNode;

typedef struct Cgroup {
        CgroupMode mode;
        char *name;           /* path below the Enclave root, "" for the root itself */
        size_t n_nodes;
        CgroupNode nodes[CGROUP_HIERARCHIES_MAX];
} Cgroup;

typedef struct CgroupRootOptions {
        /* On hybrid hosts, leave the unified tree out (v1 only). */
        bool no_unified;
        /* v2: when our own cgroup holds no process but us (a systemd
         * service with Delegate=yes), take it: move into the leaf
         * "<own>/<name>-daemon" and put the root at "<own>/<name>".
         * Without it, or when others share our group (started from a
         * shell or a test), the root goes to the top of the tree. */
        bool move_self;
} CgroupRootOptions;

/* Where Enclave's root group `name` (one path component) is, decided
 * once: the daemon calls this at startup only, so later operations never
 * re-read its own cgroup and nothing nests. On v2, the controllers the
 * base offers are enabled for the root. Makes no directory. */
int cgroup_root_locate(const char *name, const CgroupRootOptions *opts, Cgroup **ret, Error *err);
int cgroup_root_locate_layout(const CgroupLayout *layout, const char *name, const CgroupRootOptions *opts,
                              Cgroup **ret, Error *err);
/* Create the located root's directories when missing and enable its
 * controllers for its children. Warnings: controllers Enclave needs
 * that the host lacks. */
int cgroup_root_ensure(const Cgroup *root, char ***warnings, Error *err);

/* cgroup_root_locate() + cgroup_root_ensure() (tests, tools). */
int cgroup_root_open(const char *name, const CgroupRootOptions *opts, Cgroup **ret, char ***warnings,
                     Error *err);
/* Same with a given layout (tests). */
int cgroup_root_open_layout(const CgroupLayout *layout, const char *name, const CgroupRootOptions *opts,
                            Cgroup **ret, char ***warnings, Error *err);

/* Create (or reuse) parent/name and apply limits (NULL: none). */
int cgroup_create(const Cgroup *parent, const char *name, const Limits *limits, Cgroup **ret,
                  char ***warnings, Error *err);
/* Open an existing parent/name (daemon restart); -ENOENT when absent. */
int cgroup_open(const Cgroup *parent, const char *name, Cgroup **ret, Error *err);

Cgroup *cgroup_free(Cgroup *cg);
DEFINE_CLEANUP_FUNC(Cgroup, cgroup_free);
#define _cleanup_cgroup_ _cleanup_(cgroup_freep)

/* memory_mb (RAM + swap: swap is not a way around the limit), max_procs
 * (pids.max), cpu_percent and cpus (cgroup_cpu_quota_us()). An
 * unset (0) field removes that limit, so a changed Enclavefile applies. */
int cgroup_set_limits(const Cgroup *cg, const Limits *l, char ***warnings, Error *err);

/* The tasks all of Enclave's workspaces may have together when
 * config.toml does not say (max_procs_total = 0): 3/4 of what the host
 * allows, the smaller of kernel.pid_max and kernel.threads-max, so the
 * host keeps a quarter for itself. *ret_host (may be NULL) gets that
 * host figure. */
uint64_t cgroup_procs_total_default(uint64_t *ret_host);

/* Write pids.max (0: "max") in every directory of cg that has the pids
 * controller. Returns 1 when written, 0 when no directory has it (the
 * cap cannot be enforced), or a negative errno. */
int cgroup_set_pids_max(const Cgroup *cg, uint64_t max, Error *err);

/* The CPU quota of l in microseconds per period on a machine with ncpus
 * CPUs: cpu_percent of all of them, or cpus of one (the smaller when
 * both are set); 0 when no CPU limit is set. Never below 1000 us, the
 * kernel's minimum. */
uint64_t cgroup_cpu_quota_us(const Limits *l, unsigned ncpus, uint64_t period_us);

/* Move pid into the group in every hierarchy. */
int cgroup_attach(const Cgroup *cg, pid_t pid, Error *err);
/* An O_DIRECTORY fd of the unified-tree directory for clone3's
 * CLONE_INTO_CGROUP, or -ENOENT when the group has none. */
int cgroup_open_unified_fd(const Cgroup *cg);
/* Open cgroup.procs of every directory for writing (O_WRONLY|O_CLOEXEC)
 * into fds[0..n) so a forked child can join with write(fd, "0") without
 * allocating. Returns the number opened (<= n_fds) or a negative errno
 * (nothing left open). */
int cgroup_open_procs_fds(const Cgroup *cg, int *fds, size_t n_fds);
/* For a single-threaded child that joins the group itself with
 * write(fd, "0") (no allocation, and much cheaper than cgroup_attach()
 * from outside on v1): v1 "tasks" and v2 "cgroup.procs" of every
 * directory, without the unified one when skip_unified (the child was
 * cloned into it with CLONE_INTO_CGROUP). paths[i] (may be NULL) is the
 * directory of fds[i], for messages. Returns the number opened or a
 * negative errno (nothing left open). */
int cgroup_open_join_fds(const Cgroup *cg, bool skip_unified, int *fds, const char **paths, size_t n_fds);
/* How a new process enters a group: born in its unified directory
 * (dir_fd, for ns_clone()'s cgroup_fd; -EBADF when it has none or when
 * not asked for) and joining every other directory itself by writing
 * "0" to fds[] (paths[] name them, for messages). */
typedef struct CgroupEntry {
        int dir_fd;
        int fds[CGROUP_HIERARCHIES_MAX];
        const char *paths[CGROUP_HIERARCHIES_MAX];
        size_t n;
} CgroupEntry;

#define CGROUP_ENTRY_NULL { .dir_fd = -EBADF }

/* Open the entry of cg (NULL: an empty entry). With into, the unified
 * directory is opened for CLONE_INTO_CGROUP and left out of fds[];
 * without (the kernel refused it), the child joins every directory. */
int cgroup_entry_open(const Cgroup *cg, bool into, CgroupEntry *e, Error *err);
void cgroup_entry_done(CgroupEntry *e);

/* True when v1 directories exist, i.e. cgroup_attach() is needed even
 * after CLONE_INTO_CGROUP. */
bool cgroup_needs_attach(const Cgroup *cg);

/* Freeze and wait until the kernel reports the group frozen; thaw. */
int cgroup_freeze(const Cgroup *cg, Error *err);
int cgroup_thaw(const Cgroup *cg, Error *err);

/* Kill every process (v2 cgroup.kill when available; else freeze,
 * SIGKILL every pid, thaw, repeat) and wait until the group is empty. */
int cgroup_kill(const Cgroup *cg, Error *err);

/* Number of processes (cgroup.procs lines) in the group. */
int cgroup_count_procs(const Cgroup *cg, uint64_t *ret);

/* Remove the group and everything below it in every hierarchy
 * (bottom-up rmdir). Fails with -EBUSY when processes remain (kill
 * first). Missing directories are fine. */
int cgroup_destroy(const Cgroup *cg, Error *err);

#define CGROUP_UNLIMITED UINT64_MAX

typedef struct CgroupStats {
        uint64_t memory_used;  /* bytes, without reclaimable page cache */
        uint64_t memory_limit; /* bytes, CGROUP_UNLIMITED when none */
        uint64_t cpu_usage_ns;
        uint64_t pids_current; /* tasks charged to the pids controller */
        uint64_t pids_limit;   /* CGROUP_UNLIMITED when none */
        uint64_t procs;        /* processes in the group */
        uint64_t threads;      /* threads in the group */
        uint64_t io_read_bytes;
        uint64_t io_write_bytes;
        uint64_t oom_kills;
        unsigned available;    /* CgroupController mask that produced numbers */
} CgroupStats;

int cgroup_read_stats(const Cgroup *cg, CgroupStats *ret, Error *err);

/* ---- pure parsers (unit-tested) ---- */

/* "key value" lines (memory.stat, memory.events, memory.oom_control,
 * cpu.stat): -ENOENT when the key is missing. */
int cgroup_parse_keyed(const char *text, const char *key, uint64_t *ret);
/* A single number or "max" (CGROUP_UNLIMITED); v1's "huge" limits
 * (>= 2^62) also mean unlimited. */
int cgroup_parse_limit(const char *text, uint64_t *ret);
/* v1 blkio.throttle.io_service_bytes(_recursive): sum of Read/Write. */
int cgroup_parse_blkio_v1(const char *text, uint64_t *ret_read, uint64_t *ret_write);
/* v2 io.stat: sum of rbytes=/wbytes=. */
int cgroup_parse_io_stat(const char *text, uint64_t *ret_read, uint64_t *ret_write);
/* Number of non-empty lines (cgroup.procs, tasks). */
uint64_t cgroup_count_lines(const char *text);
/* Path of our group in a hierarchy from /proc/self/cgroup text:
 * controller name for v1 ("memory"), NULL for the v2 "0::" line. */
int cgroup_parse_self(const char *proc_self_cgroup, const char *controller, char **ret);

/* ---- backends (cgroup-v1.c, cgroup-v2.c), used by cgroup.c ---- */

int cgroup_v1_set_limits(const CgroupNode *n, const Limits *l, unsigned ncpus, char ***warnings,
                         Error *err);
int cgroup_v1_freeze(const CgroupNode *n, bool freeze, Error *err);
int cgroup_v1_read_stats(const CgroupNode *n, CgroupStats *st);

int cgroup_v2_enable_controllers(const char *dir, unsigned want, unsigned *ret_enabled, Error *err);
int cgroup_v2_set_limits(const CgroupNode *n, const Limits *l, unsigned ncpus, char ***warnings,
                         Error *err);
int cgroup_v2_freeze(const CgroupNode *n, bool freeze, Error *err);
/* 1 when cgroup.kill was written, 0 when the kernel has none. */
int cgroup_v2_kill(const CgroupNode *n, Error *err);
int cgroup_v2_read_stats(const CgroupNode *n, CgroupStats *st);

/* Small file helpers shared by the backends. */
int cgroup_write_file(const char *dir, const char *file, const char *value);
/* Poll file until its content (or, with key, the keyed value) equals
 * want; -ETIMEDOUT after timeout_ms. */
int cgroup_wait_file(const char *dir, const char *file, const char *key, const char *want, unsigned timeout_ms);
int cgroup_read_file(const char *dir, const char *file, char **ret);
int cgroup_read_u64(const char *dir, const char *file, uint64_t *ret);
