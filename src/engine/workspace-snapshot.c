/* A workspace's snapshots, driven for one request (workspace-snapshot.h). */
#include "engine/workspace-snapshot.h"
#include "base/crashpoint.h"
#include "base/fs.h"
#include "base/log.h"
#include "base/process.h"
#include "base/str.h"
#include "engine/claims.h"
#include "engine/sandbox-cgroup.h"
#include "engine/snapshots.h"
#include "storage/disk-quota.h"
#include "storage/layout.h"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

/* ---- the target ---- */

void snapshot_target_done(SnapshotTarget *t)
{
        if (t->lifecycle_claimed)
                claim_release(t->row.id, CLAIM_LIFECYCLE);
        if (t->claimed)
                claim_release(t->row.id, CLAIM_SNAPSHOT);
        workspace_running_unrefp(&t->rw);
        free(t->ws_dir);
        workspace_row_done(&t->row);
        *t = (SnapshotTarget) {};
}

void snapshot_target_to_settle(SnapshotTarget *t, SnapshotSettle *ret)
{
        *ret = (SnapshotSettle) { .id = t->row.id, .claimed = t->claimed, .ws_dir = TAKE_PTR(t->ws_dir) };
        if (asprintf(&ret->what, "%s/%s", t->row.sandbox, t->row.name) < 0)
                ret->what = NULL;
        t->claimed = false;
        if (ret->claimed)
                claim_settling(ret->id);
        snapshot_target_done(t);
}

void snapshot_settle_run(SnapshotSettle *s)
{
        _cleanup_error_ Error err = ERROR_INIT;
        if (snapshot_settle(s->ws_dir, &err) < 0)
                log_warn("workspace %s: %s", s->what ? s->what : s->ws_dir, error_msg(&err));
        if (s->claimed)
                claim_release(s->id, CLAIM_SNAPSHOT);
        free(s->ws_dir);
        free(s->what);
        *s = (SnapshotSettle) {};
}

/* Whether it runs, asked again (the engine's table or its init). */
static void target_refresh(SnapshotTarget *t)
{
        workspace_running_unrefp(&t->rw);
        t->rw = workspace_engine_get_by_id(t->eng, t->row.id);
}

int snapshot_target_open(Engine *eng, Registry *reg, const SnapshotCaller *caller, const char *sb, const char *ws,
                         SnapshotTarget *t, Error *err)
{
        *t = (SnapshotTarget) { .eng = eng, .reg = reg, .caller = *caller };
        int r = registry_workspace_get(reg, sb, ws, &t->row, err);
        if (r >= 0)
                r = layout_workspace_dir(eng->settings.state_dir, sb, ws, &t->ws_dir, err);
        if (r < 0)
                return r;
        if (!is_dir(t->ws_dir))
                return error_set(err, ENOENT, "the directory of workspace %s/%s is gone (%s); 'enclave doctor' "
                                 "explains, 'enclave registry repair --strict' removes the row", sb, ws, t->ws_dir);
        r = claim_take(t->row.id, CLAIM_SNAPSHOT, sb, ws, err);
        if (r < 0)
                return r;
        t->claimed = true;
        t->workspace_dir = json_string_value(json_object_get(t->row.config, "workspace_dir"));
        t->disk_quota = !t->workspace_dir && disk_quota_present(t->ws_dir);
        target_refresh(t);
        t->running = t->rw || (t->row.pid > 0 && pid_is_same_process(t->row.pid, t->row.pid_start_time));
        return 0;
}

/* Hold off start/stop/destroy for the rest of the request. */
static int target_claim_lifecycle(SnapshotTarget *t, Error *err)
{
        int r = claim_take(t->row.id, CLAIM_LIFECYCLE, t->row.sandbox, t->row.name, err);
        if (r < 0)
                return r;
        t->lifecycle_claimed = true;
        target_refresh(t);
        return 0;
}

/* A new snapshot named name (NULL: a new name) for a non-root owner
 * within max_snapshots; replacing one of its own is fine. */
static int check_quota(const SnapshotTarget *t, const char *name, Error *err)
{
        int64_t cap = t->caller.max_snapshots;
        if (cap < 0 || t->row.owner_uid == 0)
                return 0;
        int64_t n = 0, exists = 0;
        int r = registry_query_int64(t->reg, &n, err, "SELECT count(*) FROM snapshots WHERE owner_uid = ?", "u",
                                     (uint32_t) t->row.owner_uid);
        if (r >= 0 && name)
                r = registry_query_int64(t->reg, &exists, err,
                                         "SELECT count(*) FROM snapshots WHERE workspace_id = ? AND name = ?", "it",
                                         t->row.id, name);
        if (r < 0)
                return r;
        if (n >= cap && !exists)
                return error_set(err, EDQUOT, "uid %u already has %lld snapshot(s), the most a user may have "
                                 "(max_snapshots_per_user in config.toml); delete some first ('enclave workspace "
                                 "snapshot-gc')", (unsigned) t->row.owner_uid, (long long) n);
        return 0;
}

char *snapshot_target_home_note(const SnapshotTarget *t)
{
        char *s = NULL;
        if (t->workspace_dir) {
                if (asprintf(&s, "/home is the host directory %s (workspace_dir), which snapshots never copy, "
                             "restore or delete; only the workspace's own changes to the system (its overlay upper "
                             "layer) are captured", t->workspace_dir) < 0)
                        return NULL;
        }
        return s;
}

int snapshot_target_fail(const SnapshotTarget *t, int r, const char *what, Error *err)
{
        if (r == -ECANCELED && !err->msg)
                return error_set(err, ECANCELED, "%s of workspace %s/%s was cancelled; nothing changed", what,
                                 t->row.sandbox, t->row.name);
        if (!err->msg)
                return error_setc(err, -r, "%s of workspace %s/%s", what, t->row.sandbox, t->row.name);
        int k = error_wrap(err, "%s of workspace %s/%s", what, t->row.sandbox, t->row.name);
        if (k == -ENOENT && strstr(error_msg(err), "no snapshot")) {
                _cleanup_free_ char *msg = strdup(error_msg(err));
                return error_set(err, ENOENT, "%s; 'enclave snapshot list %s %s' shows its snapshots",
                                 msg ? msg : "no such snapshot", t->row.sandbox, t->row.name);
        }
        return k;
}

static void report(const SnapshotReporter *rep, const char *type, const char *message)
{
        if (rep->message)
                rep->message(rep->userdata, type, message);
}

/* Record a new snapshot's row; without one the snapshot goes again. */
static int record_or_remove(SnapshotTarget *t, const SnapshotInfo *info, const char *what, Error *err)
{
        int r = snapshot_row_put(t->reg, t->row.id, info, err);
        if (r >= 0)
                return 0;
        _cleanup_error_ Error derr = ERROR_INIT;
        if (snapshot_delete(t->ws_dir, info->name, &derr) < 0)
                log_warn("snapshot %s: %s", info->name, error_msg(&derr));
        return error_wrap(err, "recording %s %s (it was removed again)", what, info->name);
}

/* ---- create ---- */

/* The running workspace's cgroup to freeze: the engine's, else the
 * group opened by name (an adopted workspace without a handle). */
static int target_cgroup(const SnapshotTarget *t, Cgroup **own, const Cgroup **ret, Error *err)
{
        if (t->rw && t->rw->cgroup) {
                *ret = t->rw->cgroup;
                return 0;
        }
        _cleanup_cgroup_ Cgroup *sb = NULL;
        int r = sandbox_cgroup_open(t->eng, t->row.sandbox, &sb, err);
        if (r >= 0)
                r = cgroup_open(sb, t->row.name, own, err);
        if (r < 0)
                return error_wrap(err, "workspace %s/%s runs but its cgroup cannot be opened to freeze it (stop it "
                                  "first: enclave workspace stop %s %s)", t->row.sandbox, t->row.name, t->row.sandbox,
                                  t->row.name);
        *ret = *own;
        return 0;
}

/* The disk image's layers to copy from; a stopped workspace's image is
 * attached for this copy alone, so no start meanwhile. */
static int create_open_layers(SnapshotTarget *t, SnapshotLayers *layers, Error *err)
{
        if (!t->running) {
                int r = target_claim_lifecycle(t, err);
                if (r < 0)
                        return r;
                t->running = t->rw != NULL;
        }
        int r = snapshot_layers_open(t->ws_dir, t->running, layers, err);
        return r < 0 ? snapshot_target_fail(t, r, "snapshot", err) : 0;
}

static int create_copy(SnapshotTarget *t, const char *name, const Cgroup *cg, const char *layers_dir,
                       const SnapshotReporter *rep, SnapshotInfo *ret, Error *err)
{
        SnapshotFreezer fr = {};
        if (cg)
                fr = snapshot_freezer_for_cgroup(cg);
        SnapshotCreateOptions o = {
                .name = name,
                .with_home = !t->workspace_dir,
                .uid_base = t->row.uid_base,
                .gid_base = t->row.gid_base,
                .freezer = cg ? &fr : NULL,
                .mon = &rep->monitor,
                .defer_sync = true,
                .layers_dir = layers_dir,
        };
        return snapshot_create(t->ws_dir, &o, ret, err);
}

int workspace_snapshot_create(SnapshotTarget *t, const char *name, const SnapshotReporter *rep, SnapshotInfo *ret,
                              bool *ret_frozen, Error *err)
{
        int r = check_quota(t, name, err);
        if (r < 0)
                return r;
        _cleanup_(snapshot_layers_done) SnapshotLayers layers = { .fd = -EBADF };
        if (t->disk_quota && (r = create_open_layers(t, &layers, err)) < 0)
                return r;
        _cleanup_cgroup_ Cgroup *own_cg = NULL;
        const Cgroup *cg = NULL;
        if (t->running && (r = target_cgroup(t, &own_cg, &cg, err)) < 0)
                return r;
        _cleanup_free_ char *note = snapshot_target_home_note(t);
        if (note)
                report(rep, "note", note);
        if (cg)
                report(rep, "info", "the workspace runs: it is frozen while its state is copied");
        r = create_copy(t, name, cg, t->disk_quota ? layers.path : NULL, rep, ret, err);
        snapshot_layers_done(&layers);
        if (r < 0)
                return snapshot_target_fail(t, r, "snapshot", err);
        crash_point(CRASH_POINT_SNAPSHOT_CREATE_PUBLISHED);
        r = record_or_remove(t, ret, "snapshot", err);
        if (r < 0)
                return r;
        log_info("workspace %s/%s: snapshot %s created (%llu entries, %llu bytes%s, by uid %u)", t->row.sandbox,
                 t->row.name, ret->name, (unsigned long long) ret->entries, (unsigned long long) ret->bytes,
                 cg ? ", frozen" : "", (unsigned) t->caller.uid);
        *ret_frozen = cg != NULL;
        return 0;
}

/* ---- restore ---- */

static int restore_marker(const SnapshotTarget *t, bool set, Error *err)
{
        _cleanup_free_ char *p = path_join(t->ws_dir, SNAPSHOT_RESTORE_IN_IMAGE);
        if (!p)
                return error_set(err, ENOMEM, "out of memory");
        if (!set)
                return unlink(p) < 0 && errno != ENOENT ? error_setc(err, errno, "removing %s", p) : 0;
        int r = write_file_atomic(p, "", 0, 0600);
        return r < 0 ? error_setc(err, -r, "writing %s", p) : 0;
}

/* Swap the layers in (inside the disk image when there is one, with
 * the marker that recovery reads set meanwhile). */
static int restore_layers(SnapshotTarget *t, const char *name, const SnapshotReporter *rep, Error *err)
{
        SnapshotRestoreOptions o = { .mon = &rep->monitor, .defer_sync = !t->disk_quota };
        _cleanup_(snapshot_layers_done) SnapshotLayers layers = { .fd = -EBADF };
        int r;
        if (t->disk_quota) {
                r = snapshot_layers_open(t->ws_dir, false, &layers, err);
                if (r >= 0)
                        r = restore_marker(t, true, err);
                if (r < 0)
                        return r;
                o.layers_dir = layers.path;
        }
        r = snapshot_restore(t->ws_dir, name, &o, err);
        if (t->disk_quota) {
                snapshot_layers_done(&layers);
                _cleanup_error_ Error merr = ERROR_INIT;
                if (restore_marker(t, false, &merr) < 0)
                        log_warn("%s", error_msg(&merr));
        }
        return r;
}

int workspace_snapshot_restore(SnapshotTarget *t, const char *name, const SnapshotReporter *rep, SnapshotInfo *ret,
                               Error *err)
{
        /* Its overlay must not be mounted while the upper layer is
         * swapped: hold off a start for the whole restore, then check. */
        int r = target_claim_lifecycle(t, err);
        if (r < 0)
                return r;
        t->running = t->running || t->rw;
        if (t->running)
                return error_set(err, EBUSY, "workspace %s/%s is running; stop it first: enclave workspace stop %s %s",
                                 t->row.sandbox, t->row.name, t->row.sandbox, t->row.name);
        r = snapshot_read_info(t->ws_dir, name, ret, err);
        if (r < 0)
                return snapshot_target_fail(t, r, "restore", err);
        _cleanup_free_ char *note = snapshot_target_home_note(t);
        if (note)
                report(rep, "note", note);
        r = restore_layers(t, name, rep, err);
        if (r < 0)
                return snapshot_target_fail(t, r, "restore", err);
        log_info("workspace %s/%s: restored snapshot %s (by uid %u)", t->row.sandbox, t->row.name, name,
                 (unsigned) t->caller.uid);
        return 0;
}

/* ---- delete and gc ---- */

int workspace_snapshot_delete(SnapshotTarget *t, const char *name, Error *err)
{
        int r = snapshot_delete(t->ws_dir, name, err);
        if (r < 0)
                return snapshot_target_fail(t, r, "deleting a snapshot", err);
        _cleanup_error_ Error rerr = ERROR_INIT;
        if (snapshot_row_delete(t->reg, t->row.id, name, &rerr) < 0)
                log_warn("snapshot %s: its registry row stays: %s", name, error_msg(&rerr));
        return 0;
}

static int rows_delete(Registry *reg, int64_t ws_id, char *const *names, Error *err)
{
        _cleanup_txn_ RegistryTxn txn = {};
        int r = registry_txn_begin(reg, &txn, err);
        STRV_FOREACH(n, names)
                if (r >= 0)
                        r = snapshot_row_delete(reg, ws_id, *n, err);
        if (r >= 0)
                r = registry_txn_commit(&txn, err);
        return r;
}

int workspace_snapshot_gc(SnapshotTarget *t, size_t keep, char ***ret_deleted, char ***ret_kept, Error *err)
{
        _cleanup_strv_free_ char **deleted = NULL;
        int r = snapshot_gc(t->ws_dir, keep, &deleted, err);
        if (r < 0)
                return snapshot_target_fail(t, r, "snapshot gc", err);
        _cleanup_error_ Error rerr = ERROR_INIT;
        if (rows_delete(t->reg, t->row.id, deleted, &rerr) < 0)
                log_warn("snapshot gc: registry rows stay: %s", error_msg(&rerr));
        SnapshotInfo *infos = NULL;
        size_t n = 0;
        _cleanup_strv_free_ char **kept = calloc(1, sizeof *kept);
        if (snapshot_list(t->ws_dir, &infos, &n, NULL) >= 0)
                for (size_t i = 0; kept && i < n; i++)
                        (void) strv_push(&kept, infos[i].name);
        snapshot_info_array_free(infos, n);
        log_info("workspace %s/%s: snapshot gc kept %zu, deleted %zu", t->row.sandbox, t->row.name, n,
                 strv_length(deleted));
        *ret_deleted = TAKE_PTR(deleted);
        *ret_kept = TAKE_PTR(kept);
        return 0;
}

/* ---- export and import ---- */

int workspace_snapshot_export(SnapshotTarget *t, const char *name, int out_fd, TarballCompression comp,
                              const StorageMonitor *mon, SnapshotInfo *ret, TarballStats *ret_stats, Error *err)
{
        _cleanup_free_ char *dir = NULL;
        int r = snapshot_read_info(t->ws_dir, name, ret, err);
        if (r >= 0)
                r = layout_snapshot_dir(t->eng->settings.state_dir, t->row.sandbox, t->row.name, name, &dir, err);
        if (r < 0)
                return snapshot_target_fail(t, r, "export", err);
        _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd < 0)
                return error_setc(err, errno, "opening snapshot %s", name);
        r = tarball_export_fd(dfd, out_fd, comp, mon, ret_stats, err);
        return r < 0 ? snapshot_target_fail(t, r, "export", err) : 0;
}

/* A free timestamp name for an import without --name. */
static int pick_name(const char *ws_dir, char *buf, size_t size, Error *err)
{
        time_t now = time(NULL);
        for (unsigned seq = 1; seq < 1000; seq++) {
                if (snapshot_name_from_time(now, seq, buf, size) < 0)
                        break;
                _cleanup_(snapshot_info_done) SnapshotInfo info = {};
                if (snapshot_read_info(ws_dir, buf, &info, NULL) == -ENOENT)
                        return 0;
        }
        return error_set(err, EEXIST, "cannot find a free snapshot name; pass --name");
}

int workspace_snapshot_import(SnapshotTarget *t, const char *name, int in_fd, bool replace,
                              const StorageMonitor *mon, SnapshotInfo *ret, Error *err)
{
        char auto_name[SNAPSHOT_NAME_MAX + 1];
        int r;
        if (!name) {
                r = pick_name(t->ws_dir, auto_name, sizeof auto_name, err);
                if (r < 0)
                        return r;
                name = auto_name;
        }
        r = check_quota(t, name, err);
        if (r < 0)
                return r;
        SnapshotImportOptions o = {
                .name = name,
                .archive_fd = in_fd,
                .replace = replace,
                .uid_base = t->row.uid_base,
                .gid_base = t->row.gid_base,
                .mon = mon,
        };
        r = snapshot_import(t->ws_dir, NULL, &o, ret, err);
        if (r < 0)
                return snapshot_target_fail(t, r, "import", err);
        r = record_or_remove(t, ret, "imported snapshot", err);
        if (r < 0)
                return r;
        log_info("workspace %s/%s: imported snapshot %s (%llu entries, by uid %u)", t->row.sandbox, t->row.name,
                 ret->name, (unsigned long long) ret->entries, (unsigned) t->caller.uid);
        return 0;
}
