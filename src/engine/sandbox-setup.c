/* A sandbox's setup as a workspace (sandbox-setup.h). */
#include "engine/sandbox-setup.h"
#include "engine/network.h"
#include "engine/sandbox-cgroup.h"
#include "engine/workspace-engine.h"
#include "engine/workspace-ids.h"
#include "storage/layout.h"
#include "base/fs.h"
#include "base/log.h"
#include "base/str.h"

#include <stdio.h>
#include <sys/stat.h>

/* The name of a setup's id lease: never a workspace's (those start with
 * a letter or digit), so repair treats a leftover lease as an orphan. */
#define SETUP_LEASE_NAME "_setup"
/* Its cgroup below the sandbox's (names follow workspace rules; no
 * workspace of the sandbox runs during a setup, so none has a group). */
#define SETUP_CGROUP_NAME "enclave-setup"

typedef struct SetupNet {
        Engine *eng;
        WorkspaceNetInfo info;
} SetupNet;

static int prepare_net(pid_t pid, int pidfd, void *userdata, Error *err)
{
        SetupNet *n = userdata;
        int r = network_prepare_setup(n->eng, pid, pidfd, &n->info, err);
        return r < 0 ? error_wrap(err, "connecting its network") : 0;
}

static void release_net(void *userdata)
{
        SetupNet *n = userdata;
        network_release_setup(n->eng, &n->info);
        n->info = (WorkspaceNetInfo) {};
}

static void log_warnings(const char *sandbox, char **warnings)
{
        STRV_FOREACH(w, warnings)
                log_warn("sandbox %s setup: %s", sandbox, *w);
}

/* Everything of one setup that needs undoing, in reverse. */
typedef struct SetupRun {
        char *scratch;
        uint32_t base;
        Cgroup *sbcg, *cg;
        WorkspaceFile resolv;
} SetupRun;

static void setup_run_done(SetupRun *s)
{
        _cleanup_error_ Error e = ERROR_INIT;
        int r = s->cg ? cgroup_destroy(s->cg, &e) : 0;
        if (r == -EBUSY) {
                /* Every namespace of the setup is gone; this cannot happen. */
                error_clear(&e);
                r = cgroup_kill(s->cg, &e);
                if (r >= 0)
                        r = cgroup_destroy(s->cg, &e);
        }
        if (r < 0) {
                log_warn("removing the setup's cgroup: %s", error_msg(&e));
                error_clear(&e);
        }
        s->cg = cgroup_free(s->cg);
        s->sbcg = cgroup_free(s->sbcg);
        if (s->scratch)
                (void) rm_rf(s->scratch);
        free(s->scratch);
        if (s->base && workspace_ids_release(s->base, &e) < 0)
                log_warn("releasing the setup's host id block %u: %s", s->base, error_msg(&e));
        free((void *) s->resolv.data);
        *s = (SetupRun) {};
}

int sandbox_setup_run(Engine *eng, Registry *reg, const SandboxRow *row, char *const *commands, const StorageMonitor *mon,
                      SetupResult *ret, Error *err)
{
        const char *state_dir = eng->settings.state_dir;
        int init_fd;
        const HardeningPlan *plan;
        int r = workspace_engine_setup_basics(eng, &init_fd, &plan);
        if (r < 0)
                return error_set(err, -r, "the workspace engine is not running");
        _cleanup_free_ char *rootfs = NULL, *sb_dir = NULL, *hostname = NULL;
        r = layout_sandbox_rootfs(state_dir, row->name, &rootfs, err);
        if (r >= 0)
                r = layout_sandbox_dir(state_dir, row->name, &sb_dir, err);
        if (r < 0)
                return r;
        if (asprintf(&hostname, "%s-setup", row->name) < 0)
                return error_set(err, ENOMEM, "out of memory");

        _cleanup_(setup_run_done) SetupRun s = {};
        s.scratch = path_join(sb_dir, "setup");
        if (!s.scratch)
                return error_set(err, ENOMEM, "out of memory");
        (void) rm_rf(s.scratch); /* what a crashed setup left */
        if (mkdir(s.scratch, 0700) < 0)
                return error_setc(err, errno, "creating %s", s.scratch);
        r = workspace_ids_allocate(eng, reg, row->name, SETUP_LEASE_NAME, &s.base, err);
        if (r < 0)
                return error_wrap(err, "leasing a host id block for the setup");
        _cleanup_strv_free_ char **warnings = NULL;
        r = sandbox_cgroup_ensure(eng, row, &s.sbcg, &warnings, err);
        if (r >= 0)
                r = cgroup_create(s.sbcg, SETUP_CGROUP_NAME, &(Limits) {}, &s.cg, &warnings, err);
        if (r < 0)
                return error_wrap(err, "creating the setup's cgroup");
        log_warnings(row->name, warnings);
        r = network_resolv_conf(eng, &s.resolv, err);
        if (r < 0)
                return r;

        SetupNet net = { .eng = eng };
        SetupTarget t = {
                .spawn = {
                        .name = hostname,
                        .rootfs = rootfs,
                        .ws_dir = s.scratch,
                        .uid_base = s.base,
                        .gid_base = s.base,
                        .init_fd = init_fd,
                        .files = &s.resolv,
                        .n_files = 1,
                        .cgroup = s.cg,
                        .prepare = prepare_net,
                        .prepare_userdata = &net,
                        .hardening = plan,
                },
                .done = release_net,
                .done_userdata = &net,
        };
        return setup_run(&t, commands, mon, ret, err);
}
