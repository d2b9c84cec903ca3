/* The hardening plan: prepared on the trusted side, applied in the
 * workspace child without allocating. */
#include "runtime/hardening.h"
#include "runtime/caps.h"
#include "runtime/lsm.h"
#include "runtime/masks.h"
#include "runtime/seccomp.h"

#include <sys/prctl.h>

struct HardeningPlan {
        SeccompFilter filter;
        LsmExec lsm;
        uint64_t caps;
};

int hardening_plan_new(const HardeningConfig *cfg, HardeningPlan **ret, Error *err)
{
        _cleanup_(hardening_plan_freep) HardeningPlan *p = calloc(1, sizeof *p);
        if (!p)
                return error_set(err, ENOMEM, "preparing workspace hardening: out of memory");
        p->caps = caps_default_set();

        int r = lsm_exec_resolve(cfg->apparmor_profile, cfg->selinux_label, &p->lsm, err);
        if (r < 0)
                return error_wrap(err, "preparing workspace hardening");
        r = seccomp_filter_get(cfg->cache_dir, &p->filter, err);
        if (r < 0)
                return error_wrap(err, "preparing workspace hardening");
        *ret = TAKE_PTR(p);
        return 0;
}

HardeningPlan *hardening_plan_free(HardeningPlan *p)
{
        if (!p)
                return NULL;
        seccomp_filter_done(&p->filter);
        lsm_exec_done(&p->lsm);
        free(p);
        return NULL;
}

const struct sock_filter *hardening_plan_bpf(const HardeningPlan *p, size_t *ret_n_insns)
{
        *ret_n_insns = p->filter.n_insns;
        return p->filter.insns;
}

bool hardening_plan_bpf_from_cache(const HardeningPlan *p)
{
        return p->filter.from_cache;
}

uint64_t hardening_plan_caps(const HardeningPlan *p)
{
        return p->caps;
}

int hardening_apply_masks_full(const char **ret_path)
{
        return masks_apply(ret_path);
}

int hardening_apply_masks(void)
{
        return masks_apply(NULL);
}

static int apply_final(const HardeningPlan *p, bool exec_label, const char **ret_what)
{
        const char *what = NULL;
        int r = caps_reduce(p->caps, &what);

        /* The exec label is written before no_new_privs: with
         * no_new_privs set, LSMs restrict which transitions an exec may
         * make. */
        if (r == 0 && exec_label) {
                what = "writing the LSM exec label";
                r = lsm_exec_apply(&p->lsm);
        }
        if (r == 0) {
                what = "setting no_new_privs";
                r = prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ? -errno : 0;
        }
        /* Last: after this, the only call left to make is execve(). */
        if (r == 0) {
                what = "loading the seccomp filter";
                r = seccomp_filter_install(p->filter.insns, p->filter.n_insns);
        }
        if (r < 0 && ret_what)
                *ret_what = what;
        return r;
}

int hardening_apply_final_full(const HardeningPlan *p, const char **ret_what)
{
        return apply_final(p, true, ret_what);
}

int hardening_apply_no_exec(const HardeningPlan *p, const char **ret_what)
{
        return apply_final(p, false, ret_what);
}

int hardening_apply_final(const HardeningPlan *p)
{
        return hardening_apply_final_full(p, NULL);
}
