/* setrlimit() for workspace processes; see rlimits.h for semantics. */
#include "runtime/rlimits.h"

#include "runtime/sync.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static int set_limit(int resource, uint64_t soft, uint64_t hard)
{
        struct rlimit rl = { .rlim_cur = (rlim_t) soft, .rlim_max = (rlim_t) hard };
        return setrlimit(resource, &rl) < 0 ? -errno : 0;
}

size_t rlimits_cpu_pick(const cpu_set_t *allowed, unsigned percent, unsigned seed, cpu_set_t *ret)
{
        size_t n = (size_t) CPU_COUNT(allowed);
        CPU_ZERO(ret);
        if (percent == 0 || percent >= 100 || n == 0)
                return 0;
        size_t want = ((size_t) percent * n + 99) / 100;
        if (want >= n)
                return 0;
        /* The allowed CPUs in order; take `want` of them from seed % n on. */
        size_t skip = seed % n, taken = 0, seen = 0;
        for (size_t pass = 0; pass < 2 && taken < want; pass++)
                for (int cpu = 0; cpu < CPU_SETSIZE && taken < want; cpu++) {
                        if (!CPU_ISSET(cpu, allowed))
                                continue;
                        if (pass == 0 && seen++ < skip)
                                continue;
                        if (!CPU_ISSET(cpu, ret)) {
                                CPU_SET(cpu, ret);
                                taken++;
                        }
                }
        return taken;
}

void rlimits_cpu_list(const cpu_set_t *set, char *buf, size_t size)
{
        size_t len = 0;
        buf[0] = 0;
        for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
                if (!CPU_ISSET(cpu, set))
                        continue;
                int last = cpu;
                while (last + 1 < CPU_SETSIZE && CPU_ISSET(last + 1, set))
                        last++;
                int n = last > cpu ? snprintf(buf + len, size - len, "%s%d-%d", len ? "," : "", cpu, last)
                                   : snprintf(buf + len, size - len, "%s%d", len ? "," : "", cpu);
                if (n < 0 || (size_t) n >= size - len)
                        break;
                len += (size_t) n;
                cpu = last;
        }
        if (len + 1 < size) {
                buf[len] = '\n';
                buf[len + 1] = 0;
        }
}

static int set_affinity(const Limits *l, unsigned cpu_seed)
{
        cpu_set_t allowed, pick;
        if (l->cpu_percent == 0)
                return 0;
        if (sched_getaffinity(0, sizeof allowed, &allowed) < 0)
                return -errno;
        if (rlimits_cpu_pick(&allowed, (unsigned) l->cpu_percent, cpu_seed, &pick) == 0)
                return 0;
        return sched_setaffinity(0, sizeof pick, &pick) < 0 ? -errno : 0;
}

int rlimits_apply_full(const Limits *l, unsigned cpu_seed, const char **ret_what)
{
        const char *what = NULL;
        int r = 0;

        if (l->cpu_seconds > 0) {
                /* cpu_seconds is at most ten years: no overflow. */
                what = "RLIMIT_CPU";
                uint64_t soft = (uint64_t) l->cpu_seconds;
                r = set_limit(RLIMIT_CPU, soft, soft + RLIMITS_CPU_GRACE_SECONDS);
        }
        if (r == 0 && l->max_procs > 0) {
                what = "RLIMIT_NPROC";
                r = set_limit(RLIMIT_NPROC, (uint64_t) l->max_procs, (uint64_t) l->max_procs);
        }
        if (r == 0 && l->max_open_files > 0) {
                what = "RLIMIT_NOFILE";
                r = set_limit(RLIMIT_NOFILE, (uint64_t) l->max_open_files, (uint64_t) l->max_open_files);
        }
        if (r == 0) {
                what = "CPU affinity";
                r = set_affinity(l, cpu_seed);
        }
        if (r < 0 && ret_what)
                *ret_what = what;
        return r;
}

int rlimits_apply(const Limits *l, unsigned cpu_seed)
{
        return rlimits_apply_full(l, cpu_seed, NULL);
}

int rlimits_oom_score_reset(pid_t pid)
{
        char path[64] = "/proc/", num[24];
        sync_strlcat(path, pid > 0 ? sync_utoa((uint64_t) pid, num) : "self", sizeof path);
        sync_strlcat(path, "/oom_score_adj", sizeof path);
        int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        sync_utoa(RLIMITS_OOM_SCORE_ADJ, num);
        size_t len = strlen(num);
        ssize_t n = write(fd, num, len);
        int r = n < 0 ? -errno : (size_t) n == len ? 0 : -EIO;
        close(fd);
        /* Refused only below the floor a privileged writer set, without
         * CAP_SYS_RESOURCE: the process is above 0 already, not shielded. */
        return r == -EACCES ? 0 : r;
}
