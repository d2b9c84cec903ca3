/* Create, start, stop and destroy of workspaces (workspace-engine.h). */
#include "engine/workspace-engine-internal.h"
#include "base/crashpoint.h"
#include "auth/inject.h"
#include "engine/network.h"
#include "registry/registry-sandbox.h"
#include "registry/registry-workspace.h"
#include "engine/sandbox-cgroup.h"
#include "engine/claims.h"
#include "engine/workspace-dir.h"
#include "engine/workspace-ids.h"
#include "runtime/idrange.h"
#include "runtime/spawn.h"
#include "storage/disk-quota.h"
#include "storage/layout.h"
#include "base/fs.h"
#include "base/log.h"
#include "base/str.h"

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>

/* ---- create ---- */

/* The config column: the spec's registry form plus, with a
 * workspace_dir, the identity of that directory at create. */
static json_t *config_json(const WorkspaceSpec *s, const HostDirId *dir_id)
{
        json_t *o = workspace_spec_to_json(s, SPEC_JSON_REGISTRY);
        if (o && s->workspace_dir && json_object_set_new(o, "workspace_dir_id", workspace_dir_id_to_json(dir_id)) < 0)
                return (json_decref(o), NULL);
        return o;
}

/* A failed create: row (when committed), directory, then the lease. */
static void create_undo(Engine *eng, Registry *reg, const char *sandbox, const char *name, int64_t id, uint32_t base)
{
        _cleanup_error_ Error err = ERROR_INIT;
        if (id > 0)
                (void) registry_workspace_delete(reg, id, &err);
        if (layout_workspace_remove(eng->settings.state_dir, sandbox, name, &err) >= 0)
                (void) workspace_ids_release(base, &err);
        else
                log_warn("workspace %s/%s: %s", sandbox, name, error_msg(&err));
}

int workspace_engine_create(Engine *eng, Registry *reg, uid_t owner, const char *sandbox, const WorkspaceSpec *spec,
                            int64_t *ret_id, Error *err)
{
        const char *state_dir = eng->settings.state_dir;
        int r = workspace_spec_check(spec, err);
        if (r < 0)
                return r;
        _cleanup_(sandbox_row_done) SandboxRow sb = {};
        r = registry_sandbox_get(reg, sandbox, &sb, err);
        if (r < 0)
                return r;
        if (sb.owner_uid != owner)
                return error_set(err, EPERM, "sandbox %s belongs to uid %u: only its owner adds workspaces to it",
                                 sb.name, (unsigned) sb.owner_uid);
        HostDirId dir_id = {};
        if (spec->workspace_dir && (r = workspace_dir_admit(eng, reg, spec->workspace_dir, sb.owner_uid, &dir_id, err)) < 0)
                return r;
        if (streq(sb.state, SANDBOX_STATE_CREATING) || streq(sb.state, SANDBOX_STATE_DESTROYING))
                return error_set(err, EBUSY, "sandbox %s is %s; wait until it is ready", sb.name, sb.state);
        _cleanup_free_ char *ws_dir = NULL;
        r = layout_workspace_dir(state_dir, sandbox, spec->name, &ws_dir, err);
        if (r < 0)
                return r;
        json_t *config = config_json(spec, &dir_id);
        if (!config)
                return error_set(err, ENOMEM, "out of memory");

        /* The host-wide lease first: a crash before the commit leaves a
         * lease without a row, which the next daemon start releases. */
        uint32_t base = 0;
        r = workspace_ids_allocate(eng, reg, sandbox, spec->name, &base, err);
        if (r < 0) {
                json_decref(config);
                return error_wrap(err, "creating workspace %s/%s", sandbox, spec->name);
        }
        crash_point(CRASH_POINT_WORKSPACE_CREATE_LEASED);
        _cleanup_txn_ RegistryTxn txn = {};
        r = registry_txn_begin(reg, &txn, err);
        int64_t id = 0;
        if (r >= 0)
                r = registry_workspace_insert(reg, sb.id, owner, spec->name, config, base,
                                              owner == 0 ? -1 : eng->settings.max_workspaces_per_user, &id, err);
        json_decref(config);
        if (r >= 0 && spec->n_ports > 0)
                r = network_ports_declare(reg, id, spec->ports, spec->n_ports, err);
        if (r < 0) {
                registry_txn_done(&txn);
                create_undo(eng, reg, sandbox, spec->name, -1, base);
                return error_wrap(err, "creating workspace %s/%s", sandbox, spec->name);
        }
        /* No row, so anything at the path is what a crash left behind:
         * a new workspace must never inherit an old upper layer. */
        if (access(ws_dir, F_OK) == 0) {
                log_warn("workspace %s/%s: removing leftovers of an earlier workspace of that name", sandbox,
                         spec->name);
                r = layout_workspace_remove(state_dir, sandbox, spec->name, err);
        }
        if (r >= 0)
                r = layout_workspace_create(state_dir, sandbox, spec->name, base, base, err);
        if (r >= 0)
                crash_point(CRASH_POINT_WORKSPACE_CREATE_DIR);
        if (r >= 0)
                r = registry_txn_commit(&txn, err);
        if (r < 0) {
                registry_txn_done(&txn);
                create_undo(eng, reg, sandbox, spec->name, -1, base);
                return error_wrap(err, "creating workspace %s/%s", sandbox, spec->name);
        }
        crash_point(CRASH_POINT_WORKSPACE_CREATE_COMMITTED);
        if (spec->limits.disk_mb > 0) {
                /* mke2fs takes a while: outside the transaction, undone
                 * with the row on failure. */
                r = disk_quota_create(ws_dir, (uint64_t) spec->limits.disk_mb, base, base, err);
                if (r < 0) {
                        create_undo(eng, reg, sandbox, spec->name, id, base);
                        return error_wrap(err, "creating the %llu MiB disk of workspace %s/%s",
                                          (unsigned long long) spec->limits.disk_mb, sandbox, spec->name);
                }
        }
        workspace_ids_settled(base);
        log_info("workspace %s/%s created (host ids %u-%u)", sandbox, spec->name, base, base + IDRANGE_BLOCK - 1);
        if (ret_id)
                *ret_id = id;
        return 0;
}

int workspace_engine_run_state(Engine *eng, const char *sandbox, const char *name, RunState *ret)
{
        _cleanup_free_ char *ws_dir = NULL, *path = NULL;
        if (layout_workspace_dir(eng->settings.state_dir, sandbox, name, &ws_dir, NULL) < 0 ||
            !(path = path_join(ws_dir, RUN_STATE_FILE)))
                return -ENOMEM;
        /* Written by init inside the workspace: untrusted, bounded. */
        _cleanup_close_ int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        char buf[96];
        ssize_t n = pread(fd, buf, sizeof buf, 0);
        if (n <= 0)
                return -ENOENT;
        return run_state_parse(buf, (size_t) n, ret) < 0 ? -EBADMSG : 0;
}

/* ---- start ---- */

void workspace_start_info_done(WorkspaceStartInfo *i)
{
        i->warnings = strv_free(i->warnings);
}

/* A workspace's CLAIM_LIFECYCLE (engine/claims.h) for one scope. */
typedef struct Held {
        bool held;
        int64_t id;
} Held;

static void held_done(Held *h)
{
        if (h->held)
                claim_release(h->id, CLAIM_LIFECYCLE);
}

static int take_claim(const WorkspaceRow *row, Held *ret, Error *err)
{
        int r = claim_take(row->id, CLAIM_LIFECYCLE, row->sandbox, row->name, err);
        if (r < 0)
                return r;
        *ret = (Held) { true, row->id };
        return 0;
}

typedef struct PrepareCtx {
        Engine *eng;
        int64_t id;
        WorkspaceNetInfo net;
        bool net_done;
        uint64_t net_us;
} PrepareCtx;

/* The child joins its cgroup itself (WorkspaceSpawnConfig.cgroup). */
static int prepare_child(pid_t pid, int pidfd, void *userdata, Error *err)
{
        PrepareCtx *p = userdata;
        uint64_t t0 = engine_now_us();
        int r = network_prepare_workspace(p->eng, p->id, pid, pidfd, &p->net, err);
        if (r < 0)
                return error_wrap(err, "connecting its network");
        p->net_done = true;
        p->net_us = engine_now_us() - t0;
        crash_point(CRASH_POINT_WORKSPACE_START_NETWORK);
        return 0;
}

typedef struct SpawnJob {
        const WorkspaceSpawnConfig *cfg;
        WorkspaceProcess proc;
        Error err;
        int r;
} SpawnJob;

static void spawn_on_watch_thread(void *arg)
{
        SpawnJob *j = arg;
        j->r = workspace_spawn(j->cfg, &j->proc, &j->err);
}

/* The files a workspace gets at start: resolv.conf and its tokens. */
typedef struct StartFiles {
        WorkspaceFile files[1 + AUTH_PLAN_FILES_MAX];
        char paths[AUTH_PLAN_FILES_MAX][128];
        size_t n;
        void *resolv_data; /* owned */
} StartFiles;

static void start_files_done(StartFiles *f)
{
        free(f->resolv_data);
}

static int start_files(Engine *eng, const AuthPlan *plan, StartFiles *f, Error *err)
{
        WorkspaceFile resolv;
        int r = network_resolv_conf(eng, &resolv, err);
        if (r < 0)
                return error_wrap(err, "preparing /etc/resolv.conf");
        f->resolv_data = (void *) resolv.data;
        f->files[f->n++] = resolv;
        for (size_t i = 0; i < plan->n_files; i++) {
                snprintf(f->paths[i], sizeof f->paths[i], AUTH_RUN_DIR "/%s/%s", plan->files[i].dir,
                         plan->files[i].name);
                f->files[f->n++] = (WorkspaceFile) {
                        .path = f->paths[i],
                        .data = plan->files[i].data,
                        .size = plan->files[i].size,
                        .mode = AUTH_FILE_MODE,
                };
        }
        return 0;
}

static int strv_extend(char ***dst, char *const *src)
{
        STRV_FOREACH(s, src)
                if (strv_push(dst, *s) < 0)
                        return -ENOMEM;
        return 0;
}

/* Undo a start whose init never became a tracked workspace. */
static void start_undo(Engine *eng, PrepareCtx *ctx, const Cgroup *cg)
{
        if (ctx->net_done) {
                network_ports_stop(eng, ctx->id);
                network_release_workspace(eng, ctx->id);
        }
        _cleanup_error_ Error err = ERROR_INIT;
        if (cg && engine_cgroup_remove(cg, &err) < 0)
                log_warn("removing the cgroup of a failed start: %s", error_msg(&err));
}

static int start_spawn(Engine *eng, Registry *reg, const WorkspaceRow *row, WorkspaceStartInfo *ret, Error *err)
{
        WorkspaceEngine *e = eng->workspaces;
        const char *state_dir = eng->settings.state_dir;
        /* Decoded once: the spawn uses it, then the RunningWorkspace keeps it. */
        _cleanup_(workspace_spec_done) WorkspaceSpec spec = {};
        int r = workspace_config_spec(row, &spec, err);
        if (r < 0)
                return r;
        const char *home_dir = spec.workspace_dir;

        _cleanup_free_ char *ws_dir = NULL, *rootfs = NULL;
        r = layout_workspace_dir(state_dir, row->sandbox, row->name, &ws_dir, err);
        if (r >= 0)
                r = layout_sandbox_rootfs(state_dir, row->sandbox, &rootfs, err);
        if (r < 0)
                return r;
        HostDirId dir_id;
        bool have_dir_id = false;
        if (home_dir && (r = workspace_dir_prepare_start(home_dir, row->config, row->owner_uid, &dir_id, &have_dir_id,
                                                         &ret->warnings, err)) < 0)
                return r;
        /* Checked at every start, not only at create: its host ids must
         * still be its own on this host. */
        r = workspace_ids_check(row, err);
        if (r < 0)
                return r;
        if (spec.limits.disk_mb > 0 && !home_dir && !disk_quota_present(ws_dir)) {
                /* Its create was cut short between the row and the image:
                 * never start it without the limit it was created with. */
                log_warn("workspace %s/%s: its %llu MiB disk image is missing (its create did not finish); making "
                         "it now", row->sandbox, row->name, (unsigned long long) spec.limits.disk_mb);
                r = disk_quota_create(ws_dir, spec.limits.disk_mb, row->uid_base, row->gid_base, err);
                if (r < 0)
                        return error_wrap(err, "making its disk image");
        }

        uint64_t t0 = engine_now_us();
        _cleanup_(sandbox_row_done) SandboxRow sb = {};
        r = registry_sandbox_get(reg, row->sandbox, &sb, err);
        if (r < 0)
                return r;
        _cleanup_cgroup_ Cgroup *sbcg = NULL, *cg = NULL;
        r = sandbox_cgroup_ensure(eng, &sb, &sbcg, &ret->warnings, err);
        if (r >= 0)
                r = cgroup_create(sbcg, row->name, &spec.limits, &cg, &ret->warnings, err);
        if (r < 0)
                return error_wrap(err, "creating its cgroup");
        crash_point(CRASH_POINT_WORKSPACE_START_CGROUP);

        uint64_t t1 = engine_now_us();
        _cleanup_auth_plan_ AuthPlan *plan = NULL;
        r = auth_plan_build(state_dir, row->owner_uid, spec.auth, spec.env_tokens, &plan, err);
        if (r < 0) {
                start_undo(eng, &(PrepareCtx) {}, cg);
                return error_wrap(err, "preparing its tokens");
        }
        (void) strv_extend(&ret->warnings, plan->warnings);
        _cleanup_(start_files_done) StartFiles files = {};
        _cleanup_strv_free_ char **full_env = NULL;
        r = start_files(eng, plan, &files, err);
        if (r >= 0 && engine_env_build(&full_env, spec.env, plan->env, NULL) < 0)
                r = error_set(err, ENOMEM, "out of memory");
        if (r < 0) {
                start_undo(eng, &(PrepareCtx) {}, cg);
                return r;
        }

        PrepareCtx ctx = { .eng = eng, .id = row->id };
        WorkspaceSpawnConfig cfg = {
                .name = row->name,
                .rootfs = rootfs,
                .ws_dir = ws_dir,
                .home_dir = home_dir,
                .home_dir_id = have_dir_id ? &dir_id : NULL,
                .attach_disk = !home_dir && disk_quota_present(ws_dir) ? disk_quota_attach : NULL,
                .uid_base = row->uid_base,
                .gid_base = row->gid_base,
                .init_fd = e->init_fd,
                .run = spec.run,
                .restart = spec.restart,
                .env = full_env,
                .files = files.files,
                .n_files = files.n,
                .cgroup = cg,
                .prepare = prepare_child,
                .prepare_userdata = &ctx,
                .hardening = e->plan,
                .limits = &spec.limits,
                .cpu_seed = row->uid_base / IDRANGE_BLOCK,
        };
        SpawnJob job = { .cfg = &cfg, .proc = WORKSPACE_PROCESS_NULL };
        uint64_t t2 = engine_now_us();
        r = workspace_watch_call(e->watch, spawn_on_watch_thread, &job);
        if (r >= 0)
                r = job.r;
        if (r < 0) {
                if (job.err.msg)
                        error_move(err, &job.err);
                else
                        error_setc(err, -r, "starting its init");
                start_undo(eng, &ctx, cg);
                return r;
        }
        plan = auth_plan_free(plan); /* wipe the token copies now */
        uint64_t t3 = engine_now_us();
        crash_point(CRASH_POINT_WORKSPACE_START_SPAWNED);

        r = registry_workspace_set_running(reg, row->id, job.proc.pid, job.proc.start_time, err);
        if (r < 0) {
                (void) workspace_signal(&job.proc, SIGKILL);
                (void) workspace_wait(&job.proc, -1, NULL);
                workspace_process_done(&job.proc);
                start_undo(eng, &ctx, cg);
                return error_wrap(err, "recording it as running");
        }
        crash_point(CRASH_POINT_WORKSPACE_START_RECORDED);
        pid_t pid = job.proc.pid;
        _cleanup_running_ RunningWorkspace *rw =
                running_new(row->id, row->sandbox, row->name, &spec, row->uid_base, &job.proc, &cg);
        if (!rw) {
                workspace_process_done(&job.proc);
                return error_set(err, ENOMEM, "out of memory");
        }
        rw->owner_uid = row->owner_uid;
        r = engine_track(e, rw, err);
        if (r < 0) {
                (void) workspace_signal(&rw->proc, SIGKILL);
                return r;
        }
        ret->pid = pid;
        snprintf(ret->ip, sizeof ret->ip, "%s", ctx.net.ip);
        uint64_t t4 = engine_now_us();

        r = network_ports_start(eng, row->id, err);
        if (r < 0) {
                /* A declared port that cannot be published is a failed
                 * start: nothing of the workspace stays. */
                pthread_mutex_lock(&e->lock);
                rw->stop_requested = true;
                pthread_mutex_unlock(&e->lock);
                (void) workspace_signal(&rw->proc, SIGKILL);
                (void) engine_wait_gone(e, rw, 10000);
                return error_wrap(err, "publishing its ports");
        }
        log_debug("workspace %s/%s: start steps: cgroup %.2f ms, files %.2f ms, spawn %.2f ms (network %.2f), record %.2f ms, "
                  "ports %.2f ms", row->sandbox, row->name, (double) (t1 - t0) / 1000.0, (double) (t2 - t1) / 1000.0,
                  (double) (t3 - t2) / 1000.0, (double) ctx.net_us / 1000.0, (double) (t4 - t3) / 1000.0,
                  (double) (engine_now_us() - t4) / 1000.0);
        return 0;
}

int workspace_engine_start(Engine *eng, Registry *reg, const char *sandbox, const char *name, WorkspaceStartInfo *ret,
                           Error *err)
{
        uint64_t t0 = engine_now_us();
        *ret = (WorkspaceStartInfo) {};
        _cleanup_workspace_row_ WorkspaceRow row = {};
        int r = registry_workspace_get(reg, sandbox, name, &row, err);
        if (r < 0)
                return r;
        if (!streq(row.sandbox_state, SANDBOX_STATE_READY)) {
                if (streq(row.sandbox_state, SANDBOX_STATE_STOPPED))
                        return error_set(err, EBUSY, "sandbox %s is stopped; start it first with 'enclave start %s'",
                                         sandbox, sandbox);
                return error_set(err, EBUSY, "sandbox %s is %s; wait until it is ready", sandbox, row.sandbox_state);
        }
        _cleanup_(held_done) Held claim = {};
        r = take_claim(&row, &claim, err);
        if (r < 0)
                return r;
        _cleanup_running_ RunningWorkspace *rw = workspace_engine_get_by_id(eng, row.id);
        if (rw) {
                ret->already_running = true;
                ret->pid = rw->proc.pid;
                snprintf(ret->ip, sizeof ret->ip, "%s", row.ip ? row.ip : "");
                return 0;
        }
        r = start_spawn(eng, reg, &row, ret, err);
        if (r < 0)
                return error_wrap(err, "starting workspace %s/%s", sandbox, name);
        ret->elapsed_us = engine_now_us() - t0;
        log_info("workspace %s/%s started (pid %d%s%s) in %.1f ms", sandbox, name, (int) ret->pid,
                 ret->ip[0] ? ", " : "", ret->ip, (double) ret->elapsed_us / 1000.0);
        return 0;
}

/* ---- stop ---- */

static int stop_running(WorkspaceEngine *e, RunningWorkspace *rw, unsigned grace_ms, bool *ret_killed, Error *err)
{
        pthread_mutex_lock(&e->lock);
        rw->stop_requested = true;
        pthread_mutex_unlock(&e->lock);
        *ret_killed = false;
        int r = workspace_signal(&rw->proc, SIGTERM);
        if (r < 0 && r != -ESRCH)
                return error_setc(err, -r, "sending SIGTERM to workspace %s/%s", rw->sandbox, rw->name);
        crash_point(CRASH_POINT_WORKSPACE_STOP_SIGNALLED);
        if (engine_wait_gone(e, rw, grace_ms))
                return 0;
        *ret_killed = true;
        log_info("workspace %s/%s did not stop within %u ms; killing it", rw->sandbox, rw->name, grace_ms);
        r = workspace_signal(&rw->proc, SIGKILL);
        if (r < 0 && r != -ESRCH)
                return error_setc(err, -r, "sending SIGKILL to workspace %s/%s", rw->sandbox, rw->name);
        if (engine_wait_gone(e, rw, 30000))
                return 0;
        return error_set(err, ETIMEDOUT, "workspace %s/%s did not end 30 s after SIGKILL", rw->sandbox, rw->name);
}

int workspace_engine_stop(Engine *eng, Registry *reg, const char *sandbox, const char *name, unsigned grace_ms,
                          WorkspaceStopInfo *ret, Error *err)
{
        uint64_t t0 = engine_now_us();
        *ret = (WorkspaceStopInfo) {};
        _cleanup_running_ RunningWorkspace *rw = workspace_engine_get(eng, sandbox, name);
        if (!rw) {
                /* Not running: only say whether it exists. */
                _cleanup_workspace_row_ WorkspaceRow row = {};
                return registry_workspace_get(reg, sandbox, name, &row, err);
        }
        WorkspaceRow key = { .id = rw->id, .sandbox = rw->sandbox, .name = rw->name };
        _cleanup_(held_done) Held claim = {};
        int r = take_claim(&key, &claim, err);
        if (r < 0)
                return r;
        ret->was_running = true;
        r = stop_running(eng->workspaces, rw, grace_ms, &ret->killed, err);
        ret->elapsed_us = engine_now_us() - t0;
        return r;
}

/* ---- destroy ---- */

static int destroy_row(Engine *eng, Registry *reg, const WorkspaceRow *row, unsigned grace_ms, Error *err)
{
        const char *state_dir = eng->settings.state_dir;
        _cleanup_(held_done) Held claim = {};
        int r = take_claim(row, &claim, err);
        if (r < 0)
                return r;
        _cleanup_running_ RunningWorkspace *rw = workspace_engine_get_by_id(eng, row->id);
        if (rw) {
                bool killed;
                r = stop_running(eng->workspaces, rw, grace_ms, &killed, err);
                if (r < 0)
                        return error_wrap(err, "stopping it");
        }
        /* The row first: a crash after this leaves only a directory,
         * which the next create of that name removes. */
        r = registry_workspace_delete(reg, row->id, err);
        if (r < 0)
                return error_wrap(err, "removing it from the registry");
        crash_point(CRASH_POINT_WORKSPACE_DESTROY_ROW);
        network_ports_stop(eng, row->id);
        network_release_workspace(eng, row->id);
        _cleanup_free_ char *ws_dir = NULL;
        r = layout_workspace_dir(state_dir, row->sandbox, row->name, &ws_dir, err);
        /* A snapshot flush still running there would trip over the removal. */
        claim_wait_settled(row->id);
        if (r >= 0 && disk_quota_present(ws_dir))
                r = disk_quota_remove(ws_dir, err);
        if (r >= 0)
                r = layout_workspace_remove(state_dir, row->sandbox, row->name, err);
        /* Only now no file owned by its host ids is left. */
        if (r >= 0)
                crash_point(CRASH_POINT_WORKSPACE_DESTROY_FILES);
        if (r >= 0)
                r = workspace_ids_release(row->uid_base, err);
        if (r < 0)
                return error_wrap(err, "removing its files");
        _cleanup_cgroup_ Cgroup *sbcg = NULL, *cg = NULL;
        _cleanup_error_ Error cerr = ERROR_INIT;
        if (sandbox_cgroup_open(eng, row->sandbox, &sbcg, &cerr) >= 0 && cgroup_open(sbcg, row->name, &cg, &cerr) >= 0 &&
            engine_cgroup_remove(cg, &cerr) < 0)
                log_warn("workspace %s/%s: removing its cgroup: %s", row->sandbox, row->name, error_msg(&cerr));
        log_info("workspace %s/%s destroyed", row->sandbox, row->name);
        return 0;
}

static void teardown_network_if_unused(Engine *eng)
{
        _cleanup_error_ Error err = ERROR_INIT;
        if (network_teardown_if_unused(eng, &err) < 0)
                log_warn("network: %s", error_msg(&err));
}

int workspace_engine_destroy(Engine *eng, Registry *reg, const char *sandbox, const char *name, unsigned grace_ms,
                             Error *err)
{
        _cleanup_workspace_row_ WorkspaceRow row = {};
        int r = registry_workspace_get(reg, sandbox, name, &row, err);
        if (r < 0)
                return r;
        r = destroy_row(eng, reg, &row, grace_ms, err);
        if (r < 0)
                return error_wrap(err, "destroying workspace %s/%s", sandbox, name);
        teardown_network_if_unused(eng);
        return 0;
}

/* ---- whole sandboxes ---- */

/* SIGTERM to every running workspace of rows, then one shared grace
 * period, then SIGKILL for those left: a batch stops as fast as its
 * slowest member, not as the sum. */
static int stop_rows(Engine *eng, const WorkspaceRow *rows, size_t n, unsigned grace_ms, Error *err)
{
        WorkspaceEngine *e = eng->workspaces;
        _cleanup_free_ RunningWorkspace **rws = calloc(n + 1, sizeof *rws);
        _cleanup_free_ Held *claims = calloc(n + 1, sizeof *claims);
        if (!rws || !claims)
                return error_set(err, ENOMEM, "out of memory");
        int r = 0, stopped = 0;
        for (size_t i = 0; i < n; i++) {
                RunningWorkspace *rw = workspace_engine_get_by_id(eng, rows[i].id);
                if (!rw)
                        continue;
                _cleanup_error_ Error cerr = ERROR_INIT;
                if (take_claim(&rows[i], &claims[i], &cerr) < 0) {
                        workspace_running_unref(rw);
                        if (r == 0)
                                r = error_set(err, EBUSY, "%s", error_msg(&cerr));
                        continue;
                }
                rws[i] = rw;
                pthread_mutex_lock(&e->lock);
                rw->stop_requested = true;
                pthread_mutex_unlock(&e->lock);
                (void) workspace_signal(&rw->proc, SIGTERM);
        }
        uint64_t deadline = engine_now_us() + (uint64_t) grace_ms * 1000u;
        for (size_t i = 0; i < n; i++) {
                if (!rws[i])
                        continue;
                uint64_t now = engine_now_us();
                unsigned left = now < deadline ? (unsigned) ((deadline - now) / 1000u) : 0;
                if (!engine_wait_gone(e, rws[i], left)) {
                        (void) workspace_signal(&rws[i]->proc, SIGKILL);
                        if (!engine_wait_gone(e, rws[i], 30000) && r == 0)
                                r = error_set(err, ETIMEDOUT, "workspace %s/%s did not end 30 s after SIGKILL",
                                              rws[i]->sandbox, rws[i]->name);
                }
                stopped++;
                workspace_running_unref(rws[i]);
                held_done(&claims[i]);
        }
        return r < 0 ? r : stopped;
}

int workspaces_stop_all_in_sandbox(Engine *eng, Registry *reg, int64_t sandbox_id, Error *err)
{
        WorkspaceRow *rows = NULL;
        size_t n = 0;
        int r = registry_workspace_list(reg, sandbox_id, &rows, &n, err);
        if (r < 0)
                return r;
        r = stop_rows(eng, rows, n, WORKSPACE_STOP_GRACE_MS_DEFAULT, err);
        workspace_rows_free(rows, n);
        return r;
}

int workspaces_destroy_all_in_sandbox(Engine *eng, Registry *reg, int64_t sandbox_id, Error *err)
{
        WorkspaceRow *rows = NULL;
        size_t n = 0;
        int r = registry_workspace_list(reg, sandbox_id, &rows, &n, err);
        if (r < 0)
                return r;
        r = stop_rows(eng, rows, n, WORKSPACE_STOP_GRACE_MS_DEFAULT, err);
        int destroyed = 0;
        for (size_t i = 0; r >= 0 && i < n; i++) {
                r = destroy_row(eng, reg, &rows[i], 0, err);
                if (r < 0)
                        r = error_wrap(err, "destroying workspace %s/%s", rows[i].sandbox, rows[i].name);
                else
                        destroyed++;
        }
        workspace_rows_free(rows, n);
        teardown_network_if_unused(eng);
        return r < 0 ? r : destroyed;
}

/* The ids of owner's sandboxes (< 0: every sandbox), by name. */
static int owned_sandbox_ids(Registry *reg, int64_t owner, int64_t **ret, size_t *ret_n, Error *err)
{
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        int r = registry_prepare(reg, "SELECT id FROM sandboxes WHERE ? < 0 OR owner_uid = ? ORDER BY name", &s, err);
        if (r >= 0)
                r = registry_bind(reg, s, err, "ii", owner, owner);
        if (r < 0)
                return r;
        _cleanup_free_ int64_t *ids = NULL;
        size_t n = 0;
        while ((r = registry_step(reg, s, err)) > 0) {
                int64_t *ni = realloc(ids, (n + 1) * sizeof *ni);
                if (!ni)
                        return error_set(err, ENOMEM, "out of memory");
                ids = ni;
                ids[n++] = sqlite3_column_int64(s, 0);
        }
        if (r < 0)
                return r;
        *ret = TAKE_PTR(ids);
        *ret_n = n;
        return 0;
}

int workspaces_wipe(Engine *eng, Registry *reg, int64_t owner, Error *err)
{
        /* A workspace belongs to its sandbox's owner: a user's wipe goes
         * through the user's own sandboxes only. */
        _cleanup_free_ int64_t *ids = NULL;
        size_t n_ids = 0;
        int r = owned_sandbox_ids(reg, owner, &ids, &n_ids, err);
        if (r < 0)
                return r;
        int n = 0;
        for (size_t i = 0; i < n_ids; i++) {
                r = workspaces_destroy_all_in_sandbox(eng, reg, ids[i], err);
                if (r < 0)
                        return r;
                n += r;
        }
        return n;
}
