/* Pure parts of cgroups and stats: layout detection from mountinfo,
 * control-file parsers, CPU quota math, /proc/net/dev, CPU percent. */
#include "runtime/cgroup.h"
#include "runtime/stats.h"
#include "test.h"

static const char hybrid_mountinfo[] =
        "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
        "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
        "33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
        "34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset\n"
        "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
        "36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices\n"
        "37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer\n"
        "38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio\n"
        "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
        "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
        "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

static const char hybrid_self[] = "9:name=systemd:/\n8:pids:/\n7:blkio:/\n6:freezer:/\n5:devices:/\n"
                                  "4:memory:/process_api/e0c5\n3:cpuset:/\n2:cpuacct:/\n1:cpu:/\n0::/\n";

static const CgroupHierarchy *find(const CgroupLayout *l, const char *mount)
{
        for (size_t i = 0; i < l->n; i++)
                if (streq(l->h[i].mount, mount))
                        return &l->h[i];
        return NULL;
}

TEST(layout_hybrid_host)
{
        CgroupLayout l;
        ASSERT_OK(cgroup_layout_parse(hybrid_mountinfo, hybrid_self, "hugetlb\n", &l, NULL));
        ASSERT_EQ(l.mode, CGROUP_MODE_HYBRID);
        ASSERT_EQ(l.n, 7); /* cpu cpuacct memory freezer blkio pids + unified; no cpuset/devices/systemd */
        const CgroupHierarchy *m = find(&l, "/sys/fs/cgroup/memory");
        ASSERT_NOT_NULL(m);
        ASSERT_FALSE(m->v2);
        ASSERT_EQ(m->controllers, CGROUP_MASK(CGROUP_MEMORY));
        ASSERT_STREQ(m->self_path, "/process_api/e0c5");
        const CgroupHierarchy *b = find(&l, "/sys/fs/cgroup/blkio");
        ASSERT_NOT_NULL(b);
        ASSERT_EQ(b->controllers, CGROUP_MASK(CGROUP_IO));
        const CgroupHierarchy *u = find(&l, "/sys/fs/cgroup/unified");
        ASSERT_NOT_NULL(u);
        ASSERT_TRUE(u->v2);
        /* hugetlb is of no use to us: only the core features remain. */
        ASSERT_EQ(u->controllers, CGROUP_MASK(CGROUP_CPUACCT) | CGROUP_MASK(CGROUP_FREEZER));
        ASSERT_STREQ(u->self_path, "/");
        ASSERT_STREQ(cgroup_mode_to_string(l.mode), "hybrid");
        cgroup_layout_done(&l);
}

TEST(layout_pure_v2_in_a_container_root)
{
        const char mi[] = "25 1 0:22 /kubepods/pod1 /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n";
        const char self[] = "0::/kubepods/pod1/enclave.service\n";
        CgroupLayout l;
        ASSERT_OK(cgroup_layout_parse(mi, self, "cpuset cpu io memory pids\n", &l, NULL));
        ASSERT_EQ(l.mode, CGROUP_MODE_V2);
        ASSERT_EQ(l.n, 1);
        ASSERT_STREQ(l.h[0].self_path, "/enclave.service");
        ASSERT_EQ(l.h[0].controllers, CGROUP_MASK_ALL);
        cgroup_layout_done(&l);
}

TEST(layout_v1_comounted_and_none)
{
        const char mi[] = "30 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
                          "31 25 0:27 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n";
        CgroupLayout l;
        ASSERT_OK(cgroup_layout_parse(mi, "4:memory:/\n3:cpu,cpuacct:/system.slice\n", NULL, &l, NULL));
        ASSERT_EQ(l.mode, CGROUP_MODE_V1);
        ASSERT_EQ(l.n, 2);
        ASSERT_EQ(l.h[0].controllers, CGROUP_MASK(CGROUP_CPU) | CGROUP_MASK(CGROUP_CPUACCT));
        ASSERT_STREQ(l.h[0].self_path, "/system.slice");
        cgroup_layout_done(&l);

        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_EQ(cgroup_layout_parse("1 0 0:1 / / rw - ext4 /dev/sda rw\n", "0::/\n", NULL, &l, &err), -ENOENT);
        ASSERT_CONTAINS(error_msg(&err), "no cgroup file system");
}

TEST(parse_self)
{
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL;
        ASSERT_OK(cgroup_parse_self(hybrid_self, "memory", &a));
        ASSERT_STREQ(a, "/process_api/e0c5");
        ASSERT_OK(cgroup_parse_self(hybrid_self, NULL, &b));
        ASSERT_STREQ(b, "/");
        ASSERT_OK(cgroup_parse_self("3:cpu,cpuacct:/x y\n", "cpuacct", &c));
        ASSERT_STREQ(c, "/x y");
        char *d = NULL;
        ASSERT_EQ(cgroup_parse_self(hybrid_self, "hugetlb", &d), -ENOENT);
        ASSERT_EQ(cgroup_parse_self("1:cpuacct:/\n", "cpu", &d), -ENOENT);
}

TEST(parse_keyed_files)
{
        const char stat[] = "cache 4096\nrss 8192\ntotal_inactive_file 123\ninactive_file 7\n";
        uint64_t v;
        ASSERT_OK(cgroup_parse_keyed(stat, "inactive_file", &v));
        ASSERT_EQ(v, 7);
        ASSERT_OK(cgroup_parse_keyed(stat, "total_inactive_file", &v));
        ASSERT_EQ(v, 123);
        ASSERT_EQ(cgroup_parse_keyed(stat, "rs", &v), -ENOENT);
        ASSERT_OK(cgroup_parse_keyed("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n", "oom_kill", &v));
        ASSERT_EQ(v, 3);
        ASSERT_OK(cgroup_parse_keyed("low 0\nhigh 0\nmax 5\noom 2\noom_kill 2\noom_group_kill 0\n", "oom_kill", &v));
        ASSERT_EQ(v, 2);
        ASSERT_OK(cgroup_parse_keyed("usage_usec 1500\nuser_usec 1000\n", "usage_usec", &v));
        ASSERT_EQ(v, 1500);
}

TEST(parse_limits)
{
        uint64_t v;
        ASSERT_OK(cgroup_parse_limit("max\n", &v));
        ASSERT_EQ(v, CGROUP_UNLIMITED);
        ASSERT_OK(cgroup_parse_limit("-1\n", &v));
        ASSERT_EQ(v, CGROUP_UNLIMITED);
        ASSERT_OK(cgroup_parse_limit("9223372036854771712\n", &v));
        ASSERT_EQ(v, CGROUP_UNLIMITED);
        ASSERT_OK(cgroup_parse_limit("268435456\n", &v));
        ASSERT_EQ(v, 268435456);
        ASSERT_EQ(cgroup_parse_limit("12x\n", &v), -EINVAL);
        ASSERT_EQ(cgroup_parse_limit("", &v), -EINVAL);
}

TEST(parse_io)
{
        uint64_t r, w;
        ASSERT_OK(cgroup_parse_blkio_v1("8:0 Read 4096\n8:0 Write 512\n8:0 Sync 0\n8:16 Read 1\n8:16 Write 2\n"
                                        "8:0 Total 4608\nTotal 4611\n", &r, &w));
        ASSERT_EQ(r, 4097);
        ASSERT_EQ(w, 514);
        ASSERT_OK(cgroup_parse_blkio_v1("Total 0\n", &r, &w));
        ASSERT_EQ(r + w, 0);
        ASSERT_OK(cgroup_parse_io_stat("8:0 rbytes=100 wbytes=20 rios=1 wios=1 dbytes=0 dios=0\n"
                                       "254:0 rbytes=5 wbytes=7 rios=1 wios=1\n", &r, &w));
        ASSERT_EQ(r, 105);
        ASSERT_EQ(w, 27);
}

TEST(count_lines)
{
        ASSERT_EQ(cgroup_count_lines(""), 0);
        ASSERT_EQ(cgroup_count_lines("1\n2\n3\n"), 3);
        ASSERT_EQ(cgroup_count_lines("1\n\n2"), 2);
}

TEST(cpu_quota_math)
{
        /* percent of the whole machine: 50 % of 2 CPUs = one full CPU. */
        ASSERT_EQ(cgroup_cpu_quota_us(&(Limits) { .cpu_percent = 50 }, 2, 100000), 100000);
        ASSERT_EQ(cgroup_cpu_quota_us(&(Limits) { .cpu_percent = 25 }, 2, 100000), 50000);
        ASSERT_EQ(cgroup_cpu_quota_us(&(Limits) { .cpu_percent = 100 }, 8, 100000), 800000);
        ASSERT_EQ(cgroup_cpu_quota_us(&(Limits) { .cpu_percent = 10 }, 1, 250000), 25000);
        ASSERT_EQ(cgroup_cpu_quota_us(&(Limits) { .cpu_percent = 0 }, 4, 100000), 0);
        /* Never below the kernel's 1 ms minimum. */
        ASSERT_EQ(cgroup_cpu_quota_us(&(Limits) { .cpu_percent = 1 }, 1, 10000), 1000);
        ASSERT_EQ(cgroup_cpu_quota_us(&(Limits) { .cpu_percent = 50 }, 0, 100000), 50000);
        /* cpus counts CPUs (kept x1000): 1.5 is one and a half periods. */
        ASSERT_EQ(cgroup_cpu_quota_us(&(Limits) { .cpus = 1500 }, 8, 100000), 150000);
        ASSERT_EQ(cgroup_cpu_quota_us(&(Limits) { .cpus = 10 }, 1, 100000), 1000);
        ASSERT_EQ(cgroup_cpu_quota_us(&(Limits) { .cpus = 10 }, 1, 10000), 1000);
        /* Both set: the smaller quota. */
        ASSERT_EQ(cgroup_cpu_quota_us(&(Limits) { .cpus = 1500, .cpu_percent = 50 }, 2, 100000), 100000);
        ASSERT_EQ(cgroup_cpu_quota_us(&(Limits) { .cpus = 500, .cpu_percent = 50 }, 2, 100000), 50000);
}

TEST(controller_names)
{
        ASSERT_EQ(cgroup_controller_from_string("blkio"), CGROUP_IO);
        ASSERT_EQ(cgroup_controller_from_string("io"), CGROUP_IO);
        ASSERT_EQ(cgroup_controller_from_string("memory"), CGROUP_MEMORY);
        ASSERT_EQ(cgroup_controller_from_string("hugetlb"), _CGROUP_CONTROLLER_INVALID);
        ASSERT_STREQ(cgroup_controller_to_string(CGROUP_PIDS), "pids");
}

TEST(net_dev_excludes_lo)
{
        const char text[] =
                "Inter-|   Receive                                                |  Transmit\n"
                " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n"
                "    lo: 4499529     344    0    0    0     0          0         0  4499529     344    0    0    0     0       0          0\n"
                "  eth0:    1000      10    0    0    0     0          0         0     2000      20    0    0    0     0       0          0\n"
                "veth-x:1       2    0    0    0     0          0         0     3      4    0    0    0     0       0          0\n";
        NetDevTotals t;
        ASSERT_OK(stats_parse_net_dev(text, &t));
        ASSERT_EQ(t.rx_bytes, 1001);
        ASSERT_EQ(t.rx_packets, 12);
        ASSERT_EQ(t.tx_bytes, 2003);
        ASSERT_EQ(t.tx_packets, 24);
}

TEST(cpu_percent_of_whole_machine)
{
        /* 1 s of CPU in 1 s on 2 CPUs: half the machine. */
        double p = stats_cpu_percent_raw(0, 0, 1000000000, 1000000000, 2);
        ASSERT_TRUE(p > 49.99 && p < 50.01);
        ASSERT_TRUE(stats_cpu_percent_raw(5, 10, 5, 20, 2) == 0.0);
        ASSERT_TRUE(stats_cpu_percent_raw(10, 10, 5, 20, 2) == 0.0); /* counter went back */
        ASSERT_TRUE(stats_cpu_percent_raw(0, 20, 5, 10, 2) == 0.0);  /* samples swapped */
        ASSERT_TRUE(stats_cpu_percent_raw(0, 0, 4000000000, 1000000000, 2) == 100.0);
}
