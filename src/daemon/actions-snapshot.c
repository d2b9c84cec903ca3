/* snapshot.create, .list, .restore, .delete, .export, .import and
 * workspace.snapshot_gc (SPEC §2, docs/snapshots.md) on top of
 * src/storage/snapshot.h.
 *
 * A snapshot holds the workspace's writable state: its overlay upper
 * layer and its managed /home. A host workspace_dir (the user's own
 * project directory) and a disk_mb image are never captured; replies
 * say so in "note". The snapshot directories are the truth; the
 * registry's snapshots table mirrors them (name, size, time) and is
 * changed right after each operation, with the operation undone when
 * the row cannot be written. Snapshot operations of one workspace run
 * one at a time. Archives are opened by the CLI and passed as fds. */
#include "base/crashpoint.h"
#include "daemon/action.h"
#include "daemon/actions-storage.h"
#include "daemon/call.h"
#include "daemon/client-fd.h"
#include "daemon/daemon.h"
#include "daemon/owner.h"
#include "registry/registry-workspace.h"
#include "engine/claims.h"
#include "engine/snapshots.h"
#include "engine/sandbox-cgroup.h"
#include "engine/workspace-engine.h"
#include "storage/archive.h"
#include "storage/disk-quota.h"
#include "storage/layout.h"
#include "storage/snapshot.h"
#include "base/fs.h"
#include "base/log.h"
#include "base/process.h"
#include "base/str.h"

#include <fcntl.h>
#include <sys/stat.h>

/* ---- the workspace a request names ---- */

typedef struct Target {
        Registry *reg;               /* this call's registry connection */
        WorkspaceRow row;
        char *ws_dir;
        const char *workspace_dir;   /* from row.config; NULL: managed /home */
        bool disk_quota;             /* /home lives in disk.img */
        RunningWorkspace *rw;        /* NULL when this daemon does not run it */
        bool running;
        bool claimed;
        bool lifecycle_claimed;      /* set while start/stop/destroy are held off */
} Target;

static void target_done(Target *t)
{
        if (t->lifecycle_claimed)
                claim_release(t->row.id, CLAIM_LIFECYCLE);
        if (t->claimed)
                claim_release(t->row.id, CLAIM_SNAPSHOT);
        workspace_running_unrefp(&t->rw);
        free(t->ws_dir);
        workspace_row_done(&t->row);
}

/* Release the workspace before the reply goes out: a client's next
 * request may arrive the moment it has its answer. */
static int reply_and_release(Call *c, Target *t, json_t *res)
{
        target_done(t);
        *t = (Target) {};
        return call_reply(c, res, -EBADF);
}

/* For a deferred create or restore: reply, then flush its copy to disk
 * (snapshot_settle) with only the snapshot claim still held, so the
 * workspace may start meanwhile and the next snapshot operation waits
 * for the flush. A failed flush is logged; the next settle (or
 * recovery at daemon start) tries again. */
static int reply_then_settle(Call *c, Target *t, json_t *res)
{
        int64_t id = t->row.id;
        bool claimed = t->claimed;
        _cleanup_free_ char *ws_dir = TAKE_PTR(t->ws_dir);
        _cleanup_free_ char *what = NULL;
        if (asprintf(&what, "%s/%s", t->row.sandbox, t->row.name) < 0)
                what = NULL;
        t->claimed = false;
        if (claimed)
                claim_settling(id);
        target_done(t);
        *t = (Target) {};
        int r = call_reply(c, res, -EBADF);
        _cleanup_error_ Error err = ERROR_INIT;
        if (snapshot_settle(ws_dir, &err) < 0)
                log_warn("workspace %s: %s", what ? what : ws_dir, error_msg(&err));
        if (claimed)
                claim_release(id, CLAIM_SNAPSHOT);
        return r;
}

static int target_open(Call *c, Target *t, Error *err)
{
        Daemon *d = call_daemon(c);
        t->reg = call_registry(c, err);
        if (!t->reg)
                return -EIO;
        Registry *reg = t->reg;
        const char *sb, *ws;
        int r = call_param_string(c, "sandbox", true, &sb, err);
        if (r >= 0)
                r = call_param_string(c, "workspace", true, &ws, err);
        if (r >= 0)
                r = owner_check_workspace(c, reg, sb, ws, err);
        if (r >= 0)
                r = registry_workspace_get(reg, sb, ws, &t->row, err);
        if (r >= 0)
                r = layout_workspace_dir(d->engine.settings.state_dir, sb, ws, &t->ws_dir, err);
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
        t->rw = workspace_engine_get_by_id(&d->engine, t->row.id);
        t->running = t->rw ||
                     (t->row.pid > 0 && pid_is_same_process(t->row.pid, t->row.pid_start_time));
        return 0;
}

/* A new snapshot named name (NULL: a new name) for a non-root owner
 * within max_snapshots_per_user; replacing one of its own is fine. */
static int check_snapshot_quota(Call *c, const Target *t, const char *name, Error *err)
{
        int64_t cap = owner_cap(c, call_daemon(c)->engine.settings.max_snapshots_per_user);
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

/* Why /home is not part of this workspace's snapshots, or NULL. */
static char *home_note(const Target *t)
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


static int restore_marker(const Target *t, bool set, Error *err)
{
        _cleanup_free_ char *p = path_join(t->ws_dir, SNAPSHOT_RESTORE_IN_IMAGE);
        if (!p)
                return error_set(err, ENOMEM, "out of memory");
        if (!set)
                return unlink(p) < 0 && errno != ENOENT ? error_setc(err, errno, "removing %s", p) : 0;
        int r = write_file_atomic(p, "", 0, 0600);
        return r < 0 ? error_setc(err, -r, "writing %s", p) : 0;
}

/* ---- progress ---- */

static void send_info(Call *c, const char *type, const char *message)
{
        json_t *ev = json_pack("{s:s, s:s, s:s}", "type", type, "stage", "info", "message", message);
        if (ev)
                (void) call_event(c, ev);
}

/* A storage failure with its cause, or a plain word for a cancel. */
static int storage_fail(Error *err, int r, const char *what, const Target *t)
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

static json_t *info_to_json(const SnapshotInfo *info)
{
        return json_pack("{s:s, s:I, s:I, s:I, s:I, s:b, s:I, s:I}", "name", info->name, "created_usec",
                         (json_int_t) info->created_usec, "created_at", (json_int_t) (info->created_usec / 1000000),
                         "bytes", (json_int_t) info->bytes, "entries", (json_int_t) info->entries, "has_home",
                         info->has_home, "uid_base", (json_int_t) info->uid_base, "gid_base",
                         (json_int_t) info->gid_base);
}

static json_t *reply_with(json_t *o, const Target *t, const char *note)
{
        if (!o)
                return NULL;
        json_object_set_new(o, "sandbox", json_string(t->row.sandbox));
        json_object_set_new(o, "workspace", json_string(t->row.name));
        json_object_set_new(o, "note", note ? json_string(note) : json_null());
        return o;
}

static int param_snapshot_name(Call *c, bool required, const char **ret, Error *err)
{
        int r = call_param_string(c, "name", required, ret, err);
        if (r < 0 || !*ret)
                return r;
        return snapshot_check_name(*ret, err);
}

/* ---- create ---- */

/* The running workspace's cgroup to freeze: the engine's, else the
 * group opened by name (an adopted workspace without a handle). */
static int target_cgroup(Call *c, const Target *t, Cgroup **own, const Cgroup **ret, Error *err)
{
        if (t->rw && t->rw->cgroup) {
                *ret = t->rw->cgroup;
                return 0;
        }
        _cleanup_cgroup_ Cgroup *sb = NULL;
        int r = sandbox_cgroup_open(call_engine(c), t->row.sandbox, &sb, err);
        if (r >= 0)
                r = cgroup_open(sb, t->row.name, own, err);
        if (r < 0)
                return error_wrap(err, "workspace %s/%s runs but its cgroup cannot be opened to freeze it (stop it "
                                  "first: enclave workspace stop %s %s)", t->row.sandbox, t->row.name, t->row.sandbox,
                                  t->row.name);
        *ret = *own;
        return 0;
}

static int action_snapshot_create(Call *c, Error *err)
{
        const char *name;
        int r = param_snapshot_name(c, false, &name, err);
        if (r < 0)
                return r;
        _cleanup_(target_done) Target t = {};
        r = target_open(c, &t, err);
        if (r >= 0)
                r = check_snapshot_quota(c, &t, name, err);
        if (r < 0)
                return r;
        _cleanup_(snapshot_layers_done) SnapshotLayers layers = { .fd = -EBADF };
        if (t.disk_quota) {
                if (!t.running) {
                        /* The image is attached for this copy: no start meanwhile. */
                        r = claim_take(t.row.id, CLAIM_LIFECYCLE, t.row.sandbox, t.row.name, err);
                        if (r < 0)
                                return r;
                        t.lifecycle_claimed = true;
                        workspace_running_unrefp(&t.rw);
                        t.rw = workspace_engine_get_by_id(call_engine(c), t.row.id);
                        t.running = t.rw != NULL;
                }
                r = snapshot_layers_open(t.ws_dir, t.running, &layers, err);
                if (r < 0)
                        return storage_fail(err, r, "snapshot", &t);
        }
        _cleanup_cgroup_ Cgroup *own_cg = NULL;
        const Cgroup *cg = NULL;
        if (t.running && (r = target_cgroup(c, &t, &own_cg, &cg, err)) < 0)
                return r;
        SnapshotFreezer fr = {};
        if (cg)
                fr = snapshot_freezer_for_cgroup(cg);
        _cleanup_free_ char *note = home_note(&t);
        if (note)
                send_info(c, "note", note);
        if (cg)
                send_info(c, "info", "the workspace runs: it is frozen while its state is copied");
        StorageMonitor mon = call_storage_monitor(c);
        SnapshotCreateOptions o = {
                .name = name,
                .with_home = !t.workspace_dir,
                .uid_base = t.row.uid_base,
                .gid_base = t.row.gid_base,
                .freezer = cg ? &fr : NULL,
                .mon = &mon,
                .defer_sync = true,
                .layers_dir = t.disk_quota ? layers.path : NULL,
        };
        _cleanup_(snapshot_info_done) SnapshotInfo info = {};
        r = snapshot_create(t.ws_dir, &o, &info, err);
        snapshot_layers_done(&layers);
        if (r < 0)
                return storage_fail(err, r, "snapshot", &t);
        crash_point(CRASH_POINT_SNAPSHOT_CREATE_PUBLISHED);
        r = snapshot_row_put(t.reg, t.row.id, &info, err);
        if (r < 0) {
                _cleanup_error_ Error derr = ERROR_INIT;
                if (snapshot_delete(t.ws_dir, info.name, &derr) < 0)
                        log_warn("snapshot %s: %s", info.name, error_msg(&derr));
                return error_wrap(err, "recording snapshot %s (it was removed again)", info.name);
        }
        log_info("workspace %s/%s: snapshot %s created (%llu entries, %llu bytes%s, by uid %u)", t.row.sandbox,
                 t.row.name, info.name, (unsigned long long) info.entries, (unsigned long long) info.bytes,
                 cg ? ", frozen" : "", (unsigned) call_uid(c));
        json_t *res = reply_with(info_to_json(&info), &t, note);
        if (res)
                json_object_set_new(res, "frozen", json_boolean(cg != NULL));
        return reply_then_settle(c, &t, res);
}

/* ---- list ---- */

static int action_snapshot_list(Call *c, Error *err)
{
        _cleanup_(target_done) Target t = {};
        int r = target_open(c, &t, err);
        if (r < 0)
                return r;
        SnapshotInfo *infos = NULL;
        size_t n = 0;
        r = snapshot_list(t.ws_dir, &infos, &n, err);
        if (r < 0)
                return storage_fail(err, r, "listing the snapshots", &t);
        json_t *a = json_array();
        for (size_t i = 0; a && i < n; i++)
                json_array_append_new(a, info_to_json(&infos[i]));
        snapshot_info_array_free(infos, n);
        _cleanup_free_ char *note = home_note(&t);
        json_t *res = reply_with(json_pack("{s:o}", "snapshots", a ?: json_array()), &t, note);
        return reply_and_release(c, &t, res);
}

/* ---- restore and delete ---- */

static int action_snapshot_restore(Call *c, Error *err)
{
        const char *name;
        int r = param_snapshot_name(c, true, &name, err);
        if (r < 0)
                return r;
        _cleanup_(target_done) Target t = {};
        r = target_open(c, &t, err);
        if (r < 0)
                return r;
        /* Its overlay must not be mounted while the upper layer is
         * swapped: hold off a start for the whole restore, then check. */
        r = claim_take(t.row.id, CLAIM_LIFECYCLE, t.row.sandbox, t.row.name, err);
        if (r < 0)
                return r;
        t.lifecycle_claimed = true;
        workspace_running_unrefp(&t.rw);
        t.rw = workspace_engine_get_by_id(call_engine(c), t.row.id);
        t.running = t.running || t.rw;
        if (t.running)
                return error_set(err, EBUSY, "workspace %s/%s is running; stop it first: enclave workspace stop %s %s",
                                 t.row.sandbox, t.row.name, t.row.sandbox, t.row.name);
        _cleanup_(snapshot_info_done) SnapshotInfo info = {};
        r = snapshot_read_info(t.ws_dir, name, &info, err);
        if (r < 0)
                return storage_fail(err, r, "restore", &t);
        _cleanup_free_ char *note = home_note(&t);
        if (note)
                send_info(c, "note", note);
        StorageMonitor mon = call_storage_monitor(c);
        SnapshotRestoreOptions o = { .mon = &mon, .defer_sync = !t.disk_quota };
        _cleanup_(snapshot_layers_done) SnapshotLayers layers = { .fd = -EBADF };
        if (t.disk_quota) {
                r = snapshot_layers_open(t.ws_dir, false, &layers, err);
                if (r >= 0)
                        r = restore_marker(&t, true, err);
                if (r < 0)
                        return storage_fail(err, r, "restore", &t);
                o.layers_dir = layers.path;
        }
        r = snapshot_restore(t.ws_dir, name, &o, err);
        if (t.disk_quota) {
                snapshot_layers_done(&layers);
                _cleanup_error_ Error merr = ERROR_INIT;
                if (restore_marker(&t, false, &merr) < 0)
                        log_warn("%s", error_msg(&merr));
        }
        if (r < 0)
                return storage_fail(err, r, "restore", &t);
        log_info("workspace %s/%s: restored snapshot %s (by uid %u)", t.row.sandbox, t.row.name, name,
                 (unsigned) call_uid(c));
        json_t *res = reply_with(info_to_json(&info), &t, note);
        if (res)
                json_object_set_new(res, "restored", json_true());
        return t.disk_quota ? reply_and_release(c, &t, res) : reply_then_settle(c, &t, res);
}

static int action_snapshot_delete(Call *c, Error *err)
{
        const char *name;
        int r = param_snapshot_name(c, true, &name, err);
        if (r < 0)
                return r;
        _cleanup_(target_done) Target t = {};
        r = target_open(c, &t, err);
        if (r < 0)
                return r;
        r = snapshot_delete(t.ws_dir, name, err);
        if (r < 0)
                return storage_fail(err, r, "deleting a snapshot", &t);
        r = snapshot_row_delete(t.reg, t.row.id, name, err);
        if (r < 0)
                log_warn("snapshot %s: its registry row stays: %s", name, error_msg(err));
        error_clear(err);
        return reply_and_release(c, &t, reply_with(json_pack("{s:s, s:b}", "name", name, "deleted", 1), &t, NULL));
}

/* ---- gc ---- */

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

static int action_snapshot_gc(Call *c, Error *err)
{
        int64_t keep;
        int r = call_param_int(c, "keep", false, 0, 1000000, SNAPSHOT_GC_KEEP_DEFAULT, &keep, err);
        if (r < 0)
                return r;
        _cleanup_(target_done) Target t = {};
        r = target_open(c, &t, err);
        if (r < 0)
                return r;
        _cleanup_strv_free_ char **deleted = NULL;
        r = snapshot_gc(t.ws_dir, (size_t) keep, &deleted, err);
        if (r < 0)
                return storage_fail(err, r, "snapshot gc", &t);
        if (rows_delete(t.reg, t.row.id, deleted, err) < 0) {
                log_warn("snapshot gc: registry rows stay: %s", error_msg(err));
                error_clear(err);
        }
        SnapshotInfo *infos = NULL;
        size_t n = 0;
        json_t *kept = json_array(), *gone = json_array();
        if (snapshot_list(t.ws_dir, &infos, &n, NULL) >= 0)
                for (size_t i = 0; kept && i < n; i++)
                        json_array_append_new(kept, json_string(infos[i].name));
        snapshot_info_array_free(infos, n);
        STRV_FOREACH(d, deleted)
                if (gone)
                        json_array_append_new(gone, json_string(*d));
        log_info("workspace %s/%s: snapshot gc kept %zu, deleted %zu", t.row.sandbox, t.row.name, n,
                 strv_length(deleted));
        json_t *res = reply_with(json_pack("{s:I, s:o, s:o}", "keep", (json_int_t) keep, "kept", kept ?: json_array(),
                                           "deleted", gone ?: json_array()),
                                 &t, NULL);
        return reply_and_release(c, &t, res);
}

/* ---- export and import ---- */

/* The archive the client sent, used only through that fd (client-fd.h). */
static int take_archive(Call *c, const char *what, bool for_writing, ClientStream **ret, Error *err)
{
        if (call_n_fds(c) != 1)
                return error_set(err, EINVAL, "snapshot.%s needs exactly one file descriptor (the archive)", what);
        int fd = call_take_fd(c, 0);
        if (fd < 0)
                return error_set(err, EBADF, "the archive's file descriptor is missing");
        int r = client_stream_open(c, fd, for_writing, ret, err);
        return r < 0 ? error_wrap(err, "the archive") : 0;
}

static int action_snapshot_export(Call *c, Error *err)
{
        const char *name;
        TarballCompression comp;
        _cleanup_client_stream_ ClientStream *out = NULL;
        int r = param_snapshot_name(c, true, &name, err);
        if (r >= 0)
                r = call_param_compression(c, &comp, err);
        if (r >= 0)
                r = take_archive(c, "export", true, &out, err);
        if (r < 0)
                return r;
        int fd = client_stream_fd(out);
        _cleanup_(target_done) Target t = {};
        r = target_open(c, &t, err);
        if (r < 0)
                return r;
        _cleanup_(snapshot_info_done) SnapshotInfo info = {};
        _cleanup_free_ char *dir = NULL;
        r = snapshot_read_info(t.ws_dir, name, &info, err);
        if (r >= 0)
                r = layout_snapshot_dir(call_daemon(c)->engine.settings.state_dir, t.row.sandbox, t.row.name, name, &dir, err);
        if (r < 0)
                return storage_fail(err, r, "export", &t);
        _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd < 0)
                return error_setc(err, errno, "opening snapshot %s", name);
        StorageMonitor mon = call_storage_monitor(c);
        TarballStats stats = {};
        r = tarball_export_fd(dfd, fd, comp, &mon, &stats, err);
        if (r >= 0 && !client_stream_relayed(out) && fsync(fd) < 0 && errno != EINVAL)
                r = error_setc(err, errno, "writing the archive");
        if (r >= 0) {
                r = client_stream_close(TAKE_PTR(out), err);
                if (r < 0)
                        error_wrap(err, "writing the archive");
        }
        if (r < 0)
                return storage_fail(err, r, "export", &t);
        log_info("workspace %s/%s: exported snapshot %s (%llu entries, by uid %u)", t.row.sandbox, t.row.name, name,
                 (unsigned long long) stats.entries, (unsigned) call_uid(c));
        json_t *res = reply_with(info_to_json(&info), &t, NULL);
        if (res) {
                json_object_set_new(res, "archive_entries", json_integer((json_int_t) stats.entries));
                json_object_set_new(res, "archive_bytes", json_integer((json_int_t) stats.bytes));
        }
        return reply_and_release(c, &t, res);
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

static int action_snapshot_import(Call *c, Error *err)
{
        const char *name;
        bool replace;
        _cleanup_client_stream_ ClientStream *in = NULL;
        int r = param_snapshot_name(c, false, &name, err);
        if (r >= 0)
                r = call_param_bool(c, "replace", false, &replace, err);
        if (r >= 0)
                r = take_archive(c, "import", false, &in, err);
        if (r < 0)
                return r;
        _cleanup_(target_done) Target t = {};
        r = target_open(c, &t, err);
        if (r < 0)
                return r;
        char auto_name[SNAPSHOT_NAME_MAX + 1];
        if (!name) {
                r = pick_name(t.ws_dir, auto_name, sizeof auto_name, err);
                if (r < 0)
                        return r;
                name = auto_name;
        }
        r = check_snapshot_quota(c, &t, name, err);
        if (r < 0)
                return r;
        /* The client's file, read only through the fd it sent (never
         * reopened: that would be a fresh open as root). */
        StorageMonitor mon = call_storage_monitor(c);
        SnapshotImportOptions o = {
                .name = name,
                .archive_fd = client_stream_fd(in),
                .replace = replace,
                .uid_base = t.row.uid_base,
                .gid_base = t.row.gid_base,
                .mon = &mon,
        };
        _cleanup_(snapshot_info_done) SnapshotInfo info = {};
        r = snapshot_import(t.ws_dir, NULL, &o, &info, err);
        /* Done with the client's data: stop its relay before the reply. */
        in = (client_stream_close(in, NULL), NULL);
        if (r < 0)
                return storage_fail(err, r, "import", &t);
        r = snapshot_row_put(t.reg, t.row.id, &info, err);
        if (r < 0) {
                _cleanup_error_ Error derr = ERROR_INIT;
                if (snapshot_delete(t.ws_dir, info.name, &derr) < 0)
                        log_warn("snapshot %s: %s", info.name, error_msg(&derr));
                return error_wrap(err, "recording imported snapshot %s (it was removed again)", info.name);
        }
        log_info("workspace %s/%s: imported snapshot %s (%llu entries, by uid %u)", t.row.sandbox, t.row.name,
                 info.name, (unsigned long long) info.entries, (unsigned) call_uid(c));
        _cleanup_free_ char *note = home_note(&t);
        return reply_and_release(c, &t, reply_with(info_to_json(&info), &t, note));
}

const Action snapshot_actions[] = {
        { "snapshot.create", action_snapshot_create, ACTION_LONG | ACTION_MUTATES },
        { "snapshot.list", action_snapshot_list, ACTION_LONG },
        { "snapshot.restore", action_snapshot_restore, ACTION_LONG | ACTION_MUTATES },
        { "snapshot.delete", action_snapshot_delete, ACTION_LONG | ACTION_MUTATES },
        { "snapshot.export", action_snapshot_export, ACTION_LONG },
        { "snapshot.import", action_snapshot_import, ACTION_LONG | ACTION_MUTATES },
        { "workspace.snapshot_gc", action_snapshot_gc, ACTION_LONG | ACTION_MUTATES },
        {},
};
