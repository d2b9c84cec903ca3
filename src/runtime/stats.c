/* Workspace statistics: cgroup numbers, network totals of the
 * workspace's network namespace, CPU percentage from two samples. */
#include "runtime/stats.h"
#include "base/fs.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

int stats_parse_net_dev(const char *text, NetDevTotals *ret)
{
        NetDevTotals t = { 0 };
        /* Two header lines, then "  name: rx_bytes rx_packets errs drop
         * fifo frame compressed multicast tx_bytes tx_packets ...". */
        for (const char *p = text; p && *p;) {
                const char *end = strchr(p, '\n');
                size_t len = end ? (size_t) (end - p) : strlen(p);
                char line[512];
                if (len < sizeof line) {
                        memcpy(line, p, len);
                        line[len] = 0;
                        char *colon = strchr(line, ':');
                        if (colon) {
                                *colon = 0;
                                char *name = line + strspn(line, " \t");
                                unsigned long long v[10];
                                if (!streq(name, "lo") &&
                                    sscanf(colon + 1, "%llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
                                           &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9]) == 10) {
                                        t.rx_bytes += v[0];
                                        t.rx_packets += v[1];
                                        t.tx_bytes += v[8];
                                        t.tx_packets += v[9];
                                }
                        }
                }
                p = end ? end + 1 : NULL;
        }
        *ret = t;
        return 0;
}

static uint64_t monotonic_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

int stats_read(const Cgroup *cg, pid_t init_pid, WorkspaceStats *ret, Error *err)
{
        WorkspaceStats s = { .sampled_ns = monotonic_ns() };
        int r = cgroup_read_stats(cg, &s.cg, err);
        if (r < 0)
                return r;
        if (init_pid > 0) {
                char path[64];
                _cleanup_free_ char *text = NULL;
                snprintf(path, sizeof path, "/proc/%d/net/dev", (int) init_pid);
                r = read_full_file(path, 1 << 20, &text, NULL);
                if (r < 0)
                        return error_setc(err, -r, "reading %s", path);
                stats_parse_net_dev(text, &s.net);
                s.has_net = true;
        }
        *ret = s;
        return 0;
}

double stats_cpu_percent_raw(uint64_t prev_usage_ns, uint64_t prev_time_ns, uint64_t cur_usage_ns,
                             uint64_t cur_time_ns, unsigned ncpus)
{
        if (cur_time_ns <= prev_time_ns || cur_usage_ns < prev_usage_ns || ncpus == 0)
                return 0.0;
        double pct = 100.0 * (double) (cur_usage_ns - prev_usage_ns) / ((double) (cur_time_ns - prev_time_ns) * ncpus);
        return pct > 100.0 ? 100.0 : pct;
}

double stats_cpu_percent(const WorkspaceStats *prev, const WorkspaceStats *cur, unsigned ncpus)
{
        return stats_cpu_percent_raw(prev->cg.cpu_usage_ns, prev->sampled_ns, cur->cg.cpu_usage_ns, cur->sampled_ns,
                                     ncpus);
}
