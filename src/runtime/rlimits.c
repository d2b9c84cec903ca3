/* setrlimit() for workspace processes; see rlimits.h for semantics. */
#include "runtime/rlimits.h"

#include <errno.h>
#include <stddef.h>
#include <sys/resource.h>

static int set_limit(int resource, uint64_t soft, uint64_t hard)
{
        struct rlimit rl = { .rlim_cur = (rlim_t) soft, .rlim_max = (rlim_t) hard };
        return setrlimit(resource, &rl) < 0 ? -errno : 0;
}

int rlimits_apply_full(const WorkspaceLimits *l, const char **ret_what)
{
        const char *what = NULL;
        int r = 0;

        if (l->cpu_seconds > 0) {
                uint64_t hard = l->cpu_seconds + RLIMITS_CPU_GRACE_SECONDS;
                if (hard < l->cpu_seconds)
                        hard = UINT64_MAX;
                what = "RLIMIT_CPU";
                r = set_limit(RLIMIT_CPU, l->cpu_seconds, hard);
        }
        if (r == 0 && l->max_procs > 0) {
                what = "RLIMIT_NPROC";
                r = set_limit(RLIMIT_NPROC, l->max_procs, l->max_procs);
        }
        if (r == 0 && l->max_open_files > 0) {
                what = "RLIMIT_NOFILE";
                r = set_limit(RLIMIT_NOFILE, l->max_open_files, l->max_open_files);
        }
        if (r < 0 && ret_what)
                *ret_what = what;
        return r;
}

int rlimits_apply(const WorkspaceLimits *l)
{
        return rlimits_apply_full(l, NULL);
}
