/* The workspace engine's core: its lifetime, the table of running
 * workspaces, claims, what happens when an init exits, adoption after
 * a daemon restart and stats (workspace-engine.h). */
#include "engine/workspace-engine-internal.h"
#include "config/trust.h"
#include "engine/network.h"
#include "registry/registry-workspace.h"
#include "engine/sandbox-cgroup.h"
#include "runtime/idrange.h"
#include "engine/workspace-ids.h"
#include "runtime/lsm.h"
#include "runtime/spawn.h"
#include "storage/layout.h"
#include "base/fs.h"
#include "base/log.h"
#include "base/str.h"

#include <limits.h>
#include <string.h>
#include <time.h>

uint64_t engine_now_us(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

/* ---- RunningWorkspace ---- */

RunningWorkspace *running_new(int64_t id, const char *sandbox, const char *name, WorkspaceSpec *spec,
                              uint32_t uid_base, WorkspaceProcess *proc, Cgroup **cg)
{
        RunningWorkspace *rw = calloc(1, sizeof *rw);
        if (!rw)
                return NULL;
        atomic_init(&rw->n_ref, 1);
        rw->id = id;
        rw->uid_base = uid_base;
        rw->proc = WORKSPACE_PROCESS_NULL;
        rw->exit_status = -1;
        rw->started_at = time(NULL);
        rw->sample_ns = engine_now_us() * 1000u;
        rw->cpu_seed = uid_base / IDRANGE_BLOCK; /* as at start: exec'd commands get init's CPUs */
        rw->sandbox = strdup(sandbox);
        rw->name = strdup(name);
        if (!rw->sandbox || !rw->name) {
                workspace_running_unref(rw);
                return NULL;
        }
        rw->spec = *spec;
        *spec = (WorkspaceSpec) {};
        rw->proc = *proc;
        *proc = WORKSPACE_PROCESS_NULL;
        rw->cgroup = TAKE_PTR(*cg);
        return rw;
}

void workspace_running_unref(RunningWorkspace *rw)
{
        if (!rw || atomic_fetch_sub(&rw->n_ref, 1) > 1)
                return;
        workspace_process_done(&rw->proc);
        cgroup_free(rw->cgroup);
        workspace_spec_done(&rw->spec);
        free(rw->sandbox);
        free(rw->name);
        free(rw);
}

static RunningWorkspace *ref(RunningWorkspace *rw)
{
        atomic_fetch_add(&rw->n_ref, 1);
        return rw;
}

RunningWorkspace *workspace_engine_get(Engine *eng, const char *sandbox, const char *name)
{
        WorkspaceEngine *e = eng->workspaces;
        RunningWorkspace *found = NULL;
        pthread_mutex_lock(&e->lock);
        for (size_t i = 0; i < e->n_running && !found; i++)
                if (streq(e->running[i]->sandbox, sandbox) && streq(e->running[i]->name, name))
                        found = ref(e->running[i]);
        pthread_mutex_unlock(&e->lock);
        return found;
}

RunningWorkspace *workspace_engine_get_by_id(Engine *eng, int64_t id)
{
        WorkspaceEngine *e = eng->workspaces;
        RunningWorkspace *found = NULL;
        pthread_mutex_lock(&e->lock);
        for (size_t i = 0; i < e->n_running && !found; i++)
                if (e->running[i]->id == id)
                        found = ref(e->running[i]);
        pthread_mutex_unlock(&e->lock);
        return found;
}

/* ---- the table ---- */

int engine_track(WorkspaceEngine *e, RunningWorkspace *rw, Error *err)
{
        pthread_mutex_lock(&e->lock);
        RunningWorkspace **nr = realloc(e->running, (e->n_running + 1) * sizeof *nr);
        if (!nr) {
                pthread_mutex_unlock(&e->lock);
                return error_set(err, ENOMEM, "out of memory");
        }
        e->running = nr;
        e->running[e->n_running++] = ref(rw);
        pthread_mutex_unlock(&e->lock);
        /* An init that already exited leaves its pidfd readable: the
         * watch reports it as soon as it is added. */
        int r = workspace_watch_add(e->watch, rw->proc.pidfd, rw);
        if (r < 0) {
                pthread_mutex_lock(&e->lock);
                for (size_t i = 0; i < e->n_running; i++)
                        if (e->running[i] == rw) {
                                e->running[i] = e->running[--e->n_running];
                                break;
                        }
                pthread_mutex_unlock(&e->lock);
                workspace_running_unref(rw);
                return error_setc(err, -r, "watching workspace %s/%s", rw->sandbox, rw->name);
        }
        return 0;
}

int engine_wait_gone(WorkspaceEngine *e, RunningWorkspace *rw, unsigned timeout_ms)
{
        struct timespec deadline;
        clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_sec += timeout_ms / 1000;
        deadline.tv_nsec += (long) (timeout_ms % 1000) * 1000000L;
        if (deadline.tv_nsec >= 1000000000L) {
                deadline.tv_sec++;
                deadline.tv_nsec -= 1000000000L;
        }
        pthread_mutex_lock(&e->lock);
        int r = 0;
        while (!rw->gone && r == 0)
                r = pthread_cond_timedwait(&e->changed, &e->lock, &deadline);
        bool gone = rw->gone;
        pthread_mutex_unlock(&e->lock);
        return gone ? 1 : 0;
}

/* ---- when an init exits ---- */

int engine_cgroup_remove(const Cgroup *cg, Error *err)
{
        int r = cgroup_destroy(cg, err);
        if (r != -EBUSY)
                return r;
        /* Something was left (a process that escaped the PID namespace's
         * end cannot exist, but a racing exec might): kill, then remove. */
        error_clear(err);
        r = cgroup_kill(cg, err);
        if (r < 0)
                return r;
        return cgroup_destroy(cg, err);
}

static Registry *watch_registry(WorkspaceEngine *e)
{
        if (e->watch_registry)
                return e->watch_registry;
        _cleanup_error_ Error err = ERROR_INIT;
        if (registry_open(e->eng->registry_path, &e->watch_registry, &err) < 0)
                log_error("workspace watch: opening the registry: %s", error_msg(&err));
        return e->watch_registry;
}

static void log_end(const RunningWorkspace *rw, bool requested, int status, uint64_t oom)
{
        if (oom > 0)
                log_warn("workspace %s/%s: the kernel's OOM killer ended %llu process(es) in it (memory_mb = %llu)",
                         rw->sandbox, rw->name, (unsigned long long) oom, (unsigned long long) rw->spec.limits.memory_mb);
        if (requested)
                log_info("workspace %s/%s stopped", rw->sandbox, rw->name);
        else if (status == 0)
                log_info("workspace %s/%s: its run command finished (status 0)", rw->sandbox, rw->name);
        else if (status > 128)
                log_warn("workspace %s/%s: init ended by signal %d (%s)", rw->sandbox, rw->name, status - 128,
                         strsignal(status - 128));
        else if (status > 0)
                log_warn("workspace %s/%s: its run command exited with status %d", rw->sandbox, rw->name, status);
        else
                log_warn("workspace %s/%s: its init is gone", rw->sandbox, rw->name);
}

/* Watch thread: init of rw exited. Everything but the registry record
 * and the wake-up happens here; end_batch() records all inits that
 * ended in this wakeup in one transaction (a batch `down` pays one
 * commit, not one per workspace). */
static void on_workspace_exit(void *userdata, void *context)
{
        WorkspaceEngine *e = context;
        RunningWorkspace *rw = userdata;
        Engine *eng = e->eng;

        uint64_t t0 = engine_now_us();
        int status = -1;
        if (rw->proc.is_child)
                (void) workspace_wait(&rw->proc, 0, &status);

        uint64_t oom = 0;
        if (rw->cgroup) {
                CgroupStats st;
                if (cgroup_read_stats(rw->cgroup, &st, NULL) >= 0)
                        oom = st.oom_kills;
                _cleanup_error_ Error cerr = ERROR_INIT;
                if (engine_cgroup_remove(rw->cgroup, &cerr) < 0)
                        log_warn("workspace %s/%s: removing its cgroup: %s", rw->sandbox, rw->name,
                                 error_msg(&cerr));
        }
        uint64_t t1 = engine_now_us();
        network_ports_stop(eng, rw->id);
        network_release_workspace(eng, rw->id);
        log_debug("workspace %s/%s: cleanup took %.2f ms (cgroup %.2f, network %.2f)", rw->sandbox, rw->name,
                  (double) (engine_now_us() - t0) / 1000.0, (double) (t1 - t0) / 1000.0,
                  (double) (engine_now_us() - t1) / 1000.0);

        RunningWorkspace **ne = realloc(e->ended, (e->n_ended + 1) * sizeof *ne);
        pthread_mutex_lock(&e->lock);
        rw->exit_status = status;
        rw->oom_kills = oom;
        if (ne) {
                e->ended = ne;
                e->ended[e->n_ended++] = rw;
        }
        pthread_mutex_unlock(&e->lock);
        if (!ne) {
                log_error("workspace %s/%s: out of memory recording its end", rw->sandbox, rw->name);
                e->ended_oom = rw;
        }
}

static const char *end_state(const RunningWorkspace *rw)
{
        /* With SIGKILL after the grace period init's status is 137; a
         * stop that was asked for is still a stop. */
        return rw->stop_requested || rw->exit_status == 0 ? WORKSPACE_STATE_STOPPED : WORKSPACE_STATE_FAILED;
}

static void record_ends(WorkspaceEngine *e, RunningWorkspace **ended, size_t n)
{
        Registry *reg = watch_registry(e);
        if (!reg)
                return;
        _cleanup_error_ Error err = ERROR_INIT;
        _cleanup_txn_ RegistryTxn txn = {};
        int r = registry_txn_begin(reg, &txn, &err);
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = registry_workspace_record_end(reg, ended[i]->id, end_state(ended[i]), ended[i]->exit_status,
                                                  ended[i]->oom_kills, &err);
        if (r >= 0)
                r = registry_txn_commit(&txn, &err);
        if (r < 0)
                log_error("recording the end of %zu workspace(s): %s", n, error_msg(&err));
}

/* Watch thread, after the exits of one wakeup. */
static void end_batch(void *context)
{
        WorkspaceEngine *e = context;
        RunningWorkspace *single[1];
        RunningWorkspace **ended = e->ended;
        size_t n = e->n_ended;
        if (e->ended_oom) {
                single[0] = TAKE_PTR(e->ended_oom);
                ended = single;
                n = 1;
        }
        if (n == 0)
                return;
        uint64_t t0 = engine_now_us();
        record_ends(e, ended, n);
        log_debug("recorded the end of %zu workspace(s) in %.2f ms", n, (double) (engine_now_us() - t0) / 1000.0);
        for (size_t i = 0; i < n; i++)
                log_end(ended[i], ended[i]->stop_requested, ended[i]->exit_status, ended[i]->oom_kills);

        pthread_mutex_lock(&e->lock);
        for (size_t i = 0; i < n; i++) {
                for (size_t k = 0; k < e->n_running; k++)
                        if (e->running[k] == ended[i]) {
                                e->running[k] = e->running[--e->n_running];
                                break;
                        }
                ended[i]->gone = true;
        }
        pthread_cond_broadcast(&e->changed);
        pthread_mutex_unlock(&e->lock);
        for (size_t i = 0; i < n; i++)
                workspace_running_unref(ended[i]); /* the table's reference */
        if (ended == e->ended)
                e->n_ended = 0;
        else if (e->n_ended > 0)
                end_batch(e);
}

/* ---- lifetime ---- */

/* enclave-init: init_binary of config.toml, else beside our own binary,
 * else the installed one, and only a file nobody but root can change
 * (config/trust.h). $ENCLAVE_INIT names nothing for root: under
 * `sudo -E` it would be a user's choice of what every workspace runs. */
static int open_init(const Settings *s, int *ret_fd, Error *err)
{
        _cleanup_free_ char *path = NULL;
        int r = trust_find_program(s->init_binary, "enclave-init", &path, err);
        if (r < 0)
                return error_wrap(err, "enclave-init");
        if (trust_env_ignored("ENCLAVE_INIT")) {
                char real[PATH_MAX];
                if (!realpath(getenv("ENCLAVE_INIT"), real) || !streq(real, path))
                        log_warn("ENCLAVE_INIT is ignored (root runs only what init_binary in config.toml names or "
                                 "what lies beside the daemon); using %s", path);
        }
        int fd = workspace_init_open(path, err);
        if (fd < 0)
                return fd;
        *ret_fd = fd;
        return 0;
}

/* Nothing configured: Enclave's own profile where AppArmor is enabled,
 * from beside our binary (a build tree: <tree>/data/apparmor) or where
 * `make install` put it. A profile that cannot be loaded is a warning:
 * the other layers still hold, and doctor says what is missing. */
static const char *default_apparmor_profile(void)
{
        char here[PATH_MAX] = "";
        ssize_t n = readlink("/proc/self/exe", here, sizeof here - 64);
        if (n > 0) {
                here[n] = 0;
                char *slash = strrchr(here, '/');
                if (slash)
                        strcpy(slash, "/../data/apparmor/" LSM_APPARMOR_DEFAULT_PROFILE);
        }
        /* Root loads it into the kernel: only a file nobody but root can
         * change will do (config/trust.h), else a user could loosen it. */
        const char *candidates[] = { here, ENCLAVE_APPARMORDIR "/" LSM_APPARMOR_DEFAULT_PROFILE };
        _cleanup_free_ char *real[ELEMENTSOF(candidates)] = {};
        const char *files[ELEMENTSOF(candidates) + 1] = {};
        size_t n_files = 0;
        for (size_t i = 0; i < ELEMENTSOF(candidates); i++) {
                _cleanup_error_ Error terr = ERROR_INIT;
                if (!candidates[i][0] || access(candidates[i], F_OK) < 0)
                        continue;
                if (trust_check_file(candidates[i], "the AppArmor profile", &real[i], &terr) < 0) {
                        log_warn("not loading %s: %s", candidates[i], error_msg(&terr));
                        continue;
                }
                files[n_files++] = real[i];
        }
        bool loaded;
        _cleanup_error_ Error err = ERROR_INIT;
        int r = lsm_apparmor_default(files, &loaded, &err);
        if (r < 0) {
                log_warn("AppArmor is enabled, but its workspace profile %s cannot be loaded: %s; workspaces run "
                         "without an AppArmor profile", LSM_APPARMOR_DEFAULT_PROFILE, error_msg(&err));
                return NULL;
        }
        if (r == 0)
                return NULL;
        if (loaded)
                log_info("loaded the AppArmor profile %s", LSM_APPARMOR_DEFAULT_PROFILE);
        log_info("workspaces run under the AppArmor profile %s", LSM_APPARMOR_DEFAULT_PROFILE);
        return LSM_APPARMOR_DEFAULT_PROFILE;
}

static int build_hardening(WorkspaceEngine *e, Error *err)
{
        const Settings *s = &e->eng->settings;
        _cleanup_free_ char *cache = NULL;
        int r = layout_cache_dir(s->state_dir, &cache, err);
        if (r < 0)
                return r;
        r = mkdir_p(cache, 0700);
        if (r < 0)
                return error_setc(err, -r, "creating %s", cache);
        HardeningConfig hc = {
                .apparmor_profile = s->workspace_apparmor_profile,
                .selinux_label = s->workspace_selinux_label,
                .cache_dir = cache,
        };
        if (!s->workspace_apparmor_profile && !(s->workspace_selinux_label && *s->workspace_selinux_label))
                hc.apparmor_profile = default_apparmor_profile();
        r = hardening_plan_new(&hc, &e->plan, err);
        if (r < 0)
                return error_wrap(err, "the workspace hardening cannot be prepared (check the "
                                       "workspace_apparmor_profile / workspace_selinux_label setting, from the "
                                       "command line or %s)", s->path ? s->path : "config.toml");
        return 0;
}

static void ensure_subids(void)
{
        _cleanup_error_ Error err = ERROR_INIT;
        bool added = false;
        if (idrange_ensure_root(IDRANGE_SUBUID_PATH, IDRANGE_SUBGID_PATH, IDRANGE_DEFAULT_BLOCKS, &added, &err) < 0)
                log_warn("cannot make sure root has subordinate ids (%s): %s; workspaces cannot be created until "
                         "root has a range in both files", IDRANGE_SUBUID_PATH, error_msg(&err));
        else if (added)
                log_info("added a subordinate id range for root (%u blocks of %u ids) to %s and %s", IDRANGE_DEFAULT_BLOCKS,
                         IDRANGE_BLOCK, IDRANGE_SUBUID_PATH, IDRANGE_SUBGID_PATH);
}

static void engine_free(WorkspaceEngine *e)
{
        if (!e)
                return;
        e->watch = workspace_watch_free(e->watch);
        for (size_t i = 0; i < e->n_running; i++)
                workspace_running_unref(e->running[i]);
        free(e->running);
        free(e->ended);
        registry_close(e->watch_registry);
        hardening_plan_free(e->plan);
        safe_close(e->init_fd);
        pthread_cond_destroy(&e->changed);
        pthread_mutex_destroy(&e->lock);
        free(e);
}

int workspace_engine_init(Engine *eng, Error *err)
{
        WorkspaceEngine *e = calloc(1, sizeof *e);
        if (!e)
                return error_set(err, ENOMEM, "out of memory");
        e->eng = eng;
        e->init_fd = -EBADF;
        pthread_mutex_init(&e->lock, NULL);
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&e->changed, &ca);
        pthread_condattr_destroy(&ca);
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        e->ncpus = n > 0 ? (unsigned) n : 1;

        ensure_subids();
        int r = workspace_ids_init(eng, err);
        if (r >= 0)
                r = open_init(&eng->settings, &e->init_fd, err);
        if (r >= 0)
                r = build_hardening(e, err);
        if (r >= 0)
                r = workspace_watch_new(on_workspace_exit, end_batch, e, &e->watch, err);
        if (r < 0) {
                engine_free(e);
                return error_wrap(err, "starting the workspace engine");
        }
        eng->workspaces = e;
        return 0;
}

int workspace_engine_setup_basics(Engine *eng, int *ret_init_fd, const HardeningPlan **ret_plan)
{
        if (!eng->workspaces)
                return -ENOTCONN;
        *ret_init_fd = eng->workspaces->init_fd;
        *ret_plan = eng->workspaces->plan;
        return 0;
}

void workspace_engine_shutdown(Engine *eng)
{
        workspace_ids_done();
        engine_free(eng->workspaces);
        eng->workspaces = NULL;
}

/* ---- after a daemon restart ---- */

static Cgroup *open_workspace_cgroup(Engine *eng, const char *sandbox, const char *name)
{
        _cleanup_cgroup_ Cgroup *sb = NULL;
        Cgroup *cg = NULL;
        _cleanup_error_ Error err = ERROR_INIT;
        if (sandbox_cgroup_open(eng, sandbox, &sb, &err) < 0 || cgroup_open(sb, name, &cg, &err) < 0) {
                log_debug("workspace %s/%s: no cgroup: %s", sandbox, name, error_msg(&err));
                return NULL;
        }
        return cg;
}

int workspace_engine_adopt(Engine *eng, const ReconcileWorkspace *ws, Error *err)
{
        _cleanup_workspace_row_ WorkspaceRow row = {};
        int r = registry_workspace_get(eng->registry, ws->sandbox, ws->name, &row, err);
        if (r < 0)
                return r;
        _cleanup_workspace_process_ WorkspaceProcess proc = WORKSPACE_PROCESS_NULL;
        r = workspace_adopt(ws->pid, ws->pid_start_time, &proc, err);
        if (r < 0)
                return r;
        _cleanup_cgroup_ Cgroup *cg = open_workspace_cgroup(eng, ws->sandbox, ws->name);
        if (!cg)
                log_warn("workspace %s/%s: its cgroup is gone; limits and stats are not available until it "
                         "restarts", ws->sandbox, ws->name);
        _cleanup_(workspace_spec_done) WorkspaceSpec spec = {};
        _cleanup_error_ Error serr = ERROR_INIT;
        if (workspace_config_spec(&row, &spec, &serr) < 0)
                log_warn("workspace %s/%s: %s; its commands run without its environment until it restarts",
                         ws->sandbox, ws->name, error_msg(&serr));
        _cleanup_running_ RunningWorkspace *rw =
                running_new(row.id, row.sandbox, row.name, &spec, row.uid_base, &proc, &cg);
        if (!rw)
                return error_set(err, ENOMEM, "out of memory");
        rw->owner_uid = row.owner_uid;
        if (row.started_at > 0)
                rw->started_at = row.started_at;
        r = engine_track(eng->workspaces, rw, err);
        if (r < 0)
                return r;
        log_info("workspace %s/%s adopted (pid %d)", ws->sandbox, ws->name, (int) ws->pid);
        return 0;
}

int workspace_engine_cleanup_dead(Engine *eng, const ReconcileWorkspace *ws, Error *err)
{
        _cleanup_cgroup_ Cgroup *cg = open_workspace_cgroup(eng, ws->sandbox, ws->name);
        if (!cg)
                return 0;
        CgroupStats st;
        if (cgroup_read_stats(cg, &st, NULL) >= 0 && st.oom_kills > 0) {
                log_warn("workspace %s/%s: the kernel's OOM killer ended %llu process(es) in it", ws->sandbox,
                         ws->name, (unsigned long long) st.oom_kills);
                (void) registry_run(eng->registry, NULL, "UPDATE workspaces SET oom_kills = oom_kills + ? WHERE id = ?",
                                    "ii", (int64_t) st.oom_kills, ws->id);
        }
        int r = engine_cgroup_remove(cg, err);
        if (r < 0)
                return error_wrap(err, "removing its cgroup");
        return 0;
}

/* ---- stats ---- */

int workspace_engine_stats(Engine *eng, RunningWorkspace *rw, WorkspaceStats *ret, double *ret_cpu_percent, Error *err)
{
        WorkspaceEngine *e = eng->workspaces;
        if (!rw->cgroup)
                return error_set(err, ENOENT, "workspace %s/%s has no cgroup (it was adopted without one); restart "
                                 "it to get stats", rw->sandbox, rw->name);
        int r = stats_read(rw->cgroup, rw->proc.pid, ret, err);
        if (r < 0)
                return r;
        pthread_mutex_lock(&e->lock);
        *ret_cpu_percent = stats_cpu_percent_raw(rw->sample_cpu_ns, rw->sample_ns, ret->cg.cpu_usage_ns,
                                                 ret->sampled_ns, e->ncpus);
        rw->sample_cpu_ns = ret->cg.cpu_usage_ns;
        rw->sample_ns = ret->sampled_ns;
        pthread_mutex_unlock(&e->lock);
        return 0;
}
