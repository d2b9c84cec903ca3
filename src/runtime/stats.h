/* Per-workspace statistics straight from the kernel: the workspace's
 * cgroup, its network namespace (/proc/<init>/net/dev) and two samples
 * for a CPU percentage. Cheap enough to read for every workspace on
 * every `enclave stats` refresh. */
#pragma once

#include "base/error.h"
#include "runtime/cgroup.h"

#include <sys/types.h>

typedef struct NetDevTotals {
        uint64_t rx_bytes, rx_packets;
        uint64_t tx_bytes, tx_packets;
} NetDevTotals;

typedef struct WorkspaceStats {
        CgroupStats cg;
        NetDevTotals net;     /* all interfaces except lo */
        bool has_net;
        uint64_t sampled_ns;  /* CLOCK_MONOTONIC when read */
} WorkspaceStats;

/* Read cgroup stats of cg and network totals of init_pid's network
 * namespace (init_pid <= 0: skip network). */
int stats_read(const Cgroup *cg, pid_t init_pid, WorkspaceStats *ret, Error *err);

/* Parse /proc/<pid>/net/dev, summing every interface but "lo". */
int stats_parse_net_dev(const char *text, NetDevTotals *ret);

/* CPU use between two samples as a percentage of the whole machine
 * (0..100, the unit of cpu_percent limits). 0 when the samples are in
 * the wrong order or too close. */
double stats_cpu_percent(const WorkspaceStats *prev, const WorkspaceStats *cur, unsigned ncpus);

/* Same from raw numbers (pure; unit tests). */
double stats_cpu_percent_raw(uint64_t prev_usage_ns, uint64_t prev_time_ns, uint64_t cur_usage_ns,
                             uint64_t cur_time_ns, unsigned ncpus);
