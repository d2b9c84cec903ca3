/* cgroup v2 (unified tree) files: subtree_control, memory, pids, cpu,
 * io, and the core cgroup.freeze / cgroup.kill. */
#include "runtime/cgroup.h"
#include "base/str.h"

#include <inttypes.h>
#include <string.h>

#define V2_WAIT_MS 10000

static const char *v2_name(CgroupController c)
{
        return cgroup_controller_to_string(c);
}

static bool word_in(const char *list, const char *word)
{
        size_t n = strlen(word);
        for (const char *p = list; (p = strstr(p, word)); p += n)
                if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\n' || p[n] == 0))
                        return true;
        return false;
}

int cgroup_v2_enable_controllers(const char *dir, unsigned want, unsigned *ret_enabled, Error *err)
{
        _cleanup_free_ char *current = NULL;
        int r = cgroup_read_file(dir, "cgroup.subtree_control", &current);
        if (r < 0)
                return error_setc(err, -r, "reading %s/cgroup.subtree_control", dir);
        unsigned enabled = 0;
        /* One at a time: a single write with several fails as a whole. A
         * controller that cannot be enabled (not delegated, or processes
         * in dir) is left out; the caller reports what is missing. */
        for (int c = 0; c < _CGROUP_CONTROLLER_MAX; c++) {
                if (!(want & CGROUP_MASK(c)))
                        continue;
                if (word_in(current, v2_name(c))) {
                        enabled |= CGROUP_MASK(c);
                        continue;
                }
                char value[32];
                snprintf(value, sizeof value, "+%s", v2_name(c));
                if (cgroup_write_file(dir, "cgroup.subtree_control", value) == 0)
                        enabled |= CGROUP_MASK(c);
        }
        *ret_enabled = enabled;
        return 0;
}

static int write_or_fail(const CgroupNode *n, const char *file, const char *value, Error *err)
{
        int r = cgroup_write_file(n->path, file, value);
        if (r < 0)
                return error_setc(err, -r, "writing '%s' to %s/%s", value, n->path, file);
        return 0;
}

static int set_memory(const CgroupNode *n, uint64_t memory_mb, Error *err)
{
        char value[32] = "max";
        if (memory_mb)
                snprintf(value, sizeof value, "%" PRIu64, memory_mb << 20);
        int r = write_or_fail(n, "memory.max", value, err);
        if (r < 0)
                return r;
        /* Swap is no way around the limit (absent without swap accounting). */
        r = cgroup_write_file(n->path, "memory.swap.max", memory_mb ? "0" : "max");
        if (r < 0 && r != -ENOENT)
                return error_setc(err, -r, "writing %s/memory.swap.max", n->path);
        return 0;
}

static int set_cpu(const CgroupNode *n, const Limits *l, unsigned ncpus, Error *err)
{
        uint64_t period = 100000;
        _cleanup_free_ char *cur = NULL;
        if (cgroup_read_file(n->path, "cpu.max", &cur) == 0) {
                const char *sp = strchr(cur, ' ');
                unsigned long long p;
                if (sp && sscanf(sp + 1, "%llu", &p) == 1 && p > 0)
                        period = p;
        }
        char value[64];
        uint64_t quota = cgroup_cpu_quota_us(l, ncpus, period);
        if (quota)
                snprintf(value, sizeof value, "%" PRIu64 " %" PRIu64, quota, period);
        else
                snprintf(value, sizeof value, "max %" PRIu64, period);
        return write_or_fail(n, "cpu.max", value, err);
}

int cgroup_v2_set_limits(const CgroupNode *n, const Limits *l, unsigned ncpus, char ***warnings,
                         Error *err)
{
        int r = 0;
        if (n->controllers & CGROUP_MASK(CGROUP_MEMORY))
                r = set_memory(n, (uint64_t) l->memory_mb, err);
        if (r == 0 && (n->controllers & CGROUP_MASK(CGROUP_PIDS))) {
                char value[32] = "max";
                if (l->max_procs)
                        snprintf(value, sizeof value, "%" PRId64, l->max_procs);
                r = write_or_fail(n, "pids.max", value, err);
        }
        if (r == 0 && (n->controllers & CGROUP_MASK(CGROUP_CPU)))
                r = set_cpu(n, l, ncpus, err);
        return r;
}

int cgroup_v2_freeze(const CgroupNode *n, bool freeze, Error *err)
{
        int r = cgroup_write_file(n->path, "cgroup.freeze", freeze ? "1" : "0");
        if (r == -ENOENT)
                return error_set(err, EOPNOTSUPP, "%s has no cgroup.freeze (Linux 5.2 or newer needed)", n->path);
        if (r < 0)
                return error_setc(err, -r, "writing %s/cgroup.freeze", n->path);
        r = cgroup_wait_file(n->path, "cgroup.events", "frozen", freeze ? "1" : "0", V2_WAIT_MS);
        if (r < 0)
                return error_setc(err, -r, "waiting for %s to be %s", n->path, freeze ? "frozen" : "thawed");
        return 0;
}

int cgroup_v2_kill(const CgroupNode *n, Error *err)
{
        int r = cgroup_write_file(n->path, "cgroup.kill", "1");
        if (r == -ENOENT)
                return 0; /* before Linux 5.14 */
        if (r < 0)
                return error_setc(err, -r, "writing %s/cgroup.kill", n->path);
        return 1;
}

static void read_memory(const CgroupNode *n, CgroupStats *st)
{
        uint64_t usage, v;
        _cleanup_free_ char *stat = NULL, *events = NULL;
        if (cgroup_read_u64(n->path, "memory.current", &usage) < 0)
                return;
        if (cgroup_read_file(n->path, "memory.stat", &stat) == 0 && cgroup_parse_keyed(stat, "inactive_file", &v) == 0 &&
            v < usage)
                usage -= v;
        st->memory_used = usage;
        if (cgroup_read_u64(n->path, "memory.max", &v) == 0)
                st->memory_limit = v;
        if (cgroup_read_file(n->path, "memory.events", &events) == 0 && cgroup_parse_keyed(events, "oom_kill", &v) == 0)
                st->oom_kills = v;
        st->available |= CGROUP_MASK(CGROUP_MEMORY);
}

int cgroup_v2_read_stats(const CgroupNode *n, CgroupStats *st)
{
        uint64_t v;
        if (n->controllers & CGROUP_MASK(CGROUP_MEMORY))
                read_memory(n, st);
        if (n->controllers & CGROUP_MASK(CGROUP_CPUACCT)) {
                _cleanup_free_ char *s = NULL;
                if (cgroup_read_file(n->path, "cpu.stat", &s) == 0 && cgroup_parse_keyed(s, "usage_usec", &v) == 0) {
                        st->cpu_usage_ns = v * 1000;
                        st->available |= CGROUP_MASK(CGROUP_CPUACCT);
                }
        }
        if ((n->controllers & CGROUP_MASK(CGROUP_PIDS)) && cgroup_read_u64(n->path, "pids.current", &v) == 0) {
                st->pids_current = v;
                if (cgroup_read_u64(n->path, "pids.max", &v) == 0)
                        st->pids_limit = v;
                st->available |= CGROUP_MASK(CGROUP_PIDS);
        }
        if (n->controllers & CGROUP_MASK(CGROUP_IO)) {
                _cleanup_free_ char *s = NULL;
                if (cgroup_read_file(n->path, "io.stat", &s) == 0) {
                        (void) cgroup_parse_io_stat(s, &st->io_read_bytes, &st->io_write_bytes);
                        st->available |= CGROUP_MASK(CGROUP_IO);
                }
        }
        return 0;
}
