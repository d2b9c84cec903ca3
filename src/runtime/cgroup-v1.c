/* cgroup v1 controller files: memory, pids, cpu, cpuacct, blkio, freezer. */
#include "runtime/cgroup.h"
#include "base/str.h"

#include <dirent.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define V1_WAIT_MS 10000

static int write_or_fail(const CgroupNode *n, const char *file, const char *value, Error *err)
{
        int r = cgroup_write_file(n->path, file, value);
        if (r < 0)
                return error_setc(err, -r, "writing '%s' to %s/%s", value, n->path, file);
        return 0;
}

static int set_memory(const CgroupNode *n, uint64_t memory_mb, Error *err)
{
        char value[32] = "-1";
        if (memory_mb)
                snprintf(value, sizeof value, "%" PRIu64, memory_mb << 20);

        /* memory+swap must stay >= memory at every step: lift it, set
         * memory, then pin memory+swap to the same value so swap is no
         * way around the limit. The memsw files exist only with swap
         * accounting. */
        int r = cgroup_write_file(n->path, "memory.memsw.limit_in_bytes", "-1");
        bool memsw = r != -ENOENT;
        if (r < 0 && memsw)
                return error_setc(err, -r, "writing %s/memory.memsw.limit_in_bytes", n->path);
        r = write_or_fail(n, "memory.limit_in_bytes", value, err);
        if (r < 0 || !memsw)
                return r;
        return write_or_fail(n, "memory.memsw.limit_in_bytes", value, err);
}

/* v1 refuses a child quota above its parent's (v2 caps it instead).
 * Follow v2: clamp to the parent, and say so. */
static int set_cpu_quota(const CgroupNode *n, uint64_t quota, char ***warnings, Error *err)
{
        char value[32] = "-1";
        if (quota)
                snprintf(value, sizeof value, "%" PRIu64, quota);
        int r = cgroup_write_file(n->path, "cpu.cfs_quota_us", value);
        if (r != -EINVAL || !quota)
                return r < 0 ? error_setc(err, -r, "writing '%s' to %s/cpu.cfs_quota_us", value, n->path) : 0;

        char parent[PATH_MAX];
        snprintf(parent, sizeof parent, "%s", n->path);
        uint64_t pq;
        if (cgroup_read_u64(dirname(parent), "cpu.cfs_quota_us", &pq) < 0 || pq == CGROUP_UNLIMITED || pq >= quota)
                return error_setc(err, EINVAL, "writing '%s' to %s/cpu.cfs_quota_us", value, n->path);
        if (warnings) {
                char *w;
                if (asprintf(&w, "cpu quota of %s clamped to its parent's %" PRIu64 " us per period", n->path, pq) >= 0)
                        (void) strv_consume(warnings, w);
        }
        snprintf(value, sizeof value, "%" PRIu64, pq);
        return write_or_fail(n, "cpu.cfs_quota_us", value, err);
}

/* Since Linux 6.9 blk-throttle is set up for a disk only when some
 * group first configures it, and until then v1's
 * blkio.throttle.io_service_bytes stays 0 for every group (stats showed
 * no block I/O at all). A rule of 0 ("no limit") for the disk sets it
 * up: it throttles nothing and is not even listed, but from then on
 * the disk's I/O is counted for every group. Once per disk name and
 * process (the set-up lasts as long as the disk): a start reads only
 * the names in /sys/block; new disks (loop devices of disk quotas) are
 * set up at the next workspace start. Older kernels count without it.
 * Best effort: a disk that refuses is skipped. */
#define IO_ACCOUNTED_MAX 256
static pthread_mutex_t io_accounted_lock = PTHREAD_MUTEX_INITIALIZER;
static char io_accounted[IO_ACCOUNTED_MAX][NAME_MAX + 1];
static size_t n_io_accounted;

static bool io_accounted_has(const char *name)
{
        for (size_t i = 0; i < n_io_accounted; i++)
                if (streq(io_accounted[i], name))
                        return true;
        return false;
}

static void enable_io_accounting(const CgroupNode *n)
{
        DIR *dir = opendir("/sys/block");
        if (!dir)
                return;
        pthread_mutex_lock(&io_accounted_lock);
        struct dirent *de;
        while ((de = readdir(dir)) && n_io_accounted < IO_ACCOUNTED_MAX) {
                if (de->d_name[0] == '.' || io_accounted_has(de->d_name))
                        continue;
                char path[PATH_MAX], text[32];
                snprintf(path, sizeof path, "/sys/block/%s/dev", de->d_name);
                FILE *f = fopen(path, "re");
                unsigned maj, min;
                bool ok = f && fgets(text, sizeof text, f) && sscanf(text, "%u:%u", &maj, &min) == 2;
                if (f)
                        fclose(f);
                if (!ok)
                        continue;
                snprintf(text, sizeof text, "%u:%u 0", maj, min);
                if (cgroup_write_file(n->path, "blkio.throttle.read_bps_device", text) == 0)
                        snprintf(io_accounted[n_io_accounted++], NAME_MAX + 1, "%s", de->d_name);
        }
        pthread_mutex_unlock(&io_accounted_lock);
        closedir(dir);
}

int cgroup_v1_set_limits(const CgroupNode *n, const Limits *l, unsigned ncpus, char ***warnings,
                         Error *err)
{
        int r = 0;
        if (n->controllers & CGROUP_MASK(CGROUP_IO))
                enable_io_accounting(n);
        if (n->controllers & CGROUP_MASK(CGROUP_MEMORY))
                r = set_memory(n, (uint64_t) l->memory_mb, err);
        if (r == 0 && (n->controllers & CGROUP_MASK(CGROUP_PIDS))) {
                char value[32] = "max";
                if (l->max_procs)
                        snprintf(value, sizeof value, "%" PRId64, l->max_procs);
                r = write_or_fail(n, "pids.max", value, err);
        }
        if (r == 0 && (n->controllers & CGROUP_MASK(CGROUP_CPU))) {
                uint64_t period;
                if (cgroup_read_u64(n->path, "cpu.cfs_period_us", &period) < 0 || period == 0 ||
                    period == CGROUP_UNLIMITED)
                        period = 100000;
                r = set_cpu_quota(n, cgroup_cpu_quota_us(l, ncpus, period), warnings, err);
        }
        return r;
}

int cgroup_v1_freeze(const CgroupNode *n, bool freeze, Error *err)
{
        const char *state = freeze ? "FROZEN" : "THAWED";
        int r = write_or_fail(n, "freezer.state", state, err);
        if (r < 0)
                return r;
        /* FREEZING until every task stopped. */
        r = cgroup_wait_file(n->path, "freezer.state", NULL, state, V1_WAIT_MS);
        if (r < 0)
                return error_setc(err, -r, "waiting for %s to become %s", n->path, state);
        return 0;
}

static void read_memory(const CgroupNode *n, CgroupStats *st)
{
        uint64_t usage, v;
        _cleanup_free_ char *stat = NULL, *oom = NULL;

        if (cgroup_read_u64(n->path, "memory.usage_in_bytes", &usage) < 0)
                return;
        /* Like `free`: inactive page cache is reclaimable, not used. */
        if (cgroup_read_file(n->path, "memory.stat", &stat) == 0 &&
            cgroup_parse_keyed(stat, "total_inactive_file", &v) == 0 && v < usage)
                usage -= v;
        st->memory_used = usage;
        if (cgroup_read_u64(n->path, "memory.limit_in_bytes", &v) == 0)
                st->memory_limit = v;
        if (cgroup_read_file(n->path, "memory.oom_control", &oom) == 0 && cgroup_parse_keyed(oom, "oom_kill", &v) == 0)
                st->oom_kills = v;
        st->available |= CGROUP_MASK(CGROUP_MEMORY);
}

static void read_io(const CgroupNode *n, CgroupStats *st)
{
        _cleanup_free_ char *s = NULL;
        if (cgroup_read_file(n->path, "blkio.throttle.io_service_bytes_recursive", &s) < 0 &&
            cgroup_read_file(n->path, "blkio.throttle.io_service_bytes", &s) < 0)
                return;
        (void) cgroup_parse_blkio_v1(s, &st->io_read_bytes, &st->io_write_bytes);
        st->available |= CGROUP_MASK(CGROUP_IO);
}

int cgroup_v1_read_stats(const CgroupNode *n, CgroupStats *st)
{
        uint64_t v;
        if (n->controllers & CGROUP_MASK(CGROUP_MEMORY))
                read_memory(n, st);
        if ((n->controllers & CGROUP_MASK(CGROUP_CPUACCT)) && cgroup_read_u64(n->path, "cpuacct.usage", &v) == 0) {
                st->cpu_usage_ns = v;
                st->available |= CGROUP_MASK(CGROUP_CPUACCT);
        }
        if ((n->controllers & CGROUP_MASK(CGROUP_PIDS)) && cgroup_read_u64(n->path, "pids.current", &v) == 0) {
                st->pids_current = v;
                if (cgroup_read_u64(n->path, "pids.max", &v) == 0)
                        st->pids_limit = v;
                st->available |= CGROUP_MASK(CGROUP_PIDS);
        }
        if (n->controllers & CGROUP_MASK(CGROUP_IO))
                read_io(n, st);
        return 0;
}
