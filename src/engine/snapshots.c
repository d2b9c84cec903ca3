/* Snapshot upkeep outside of one request (snapshots.h). */
#include "engine/snapshots.h"
#include "registry/registry-workspace.h"
#include "storage/disk-quota.h"
#include "storage/layout.h"
#include "base/fs.h"
#include "base/log.h"
#include "base/process.h"
#include "base/str.h"

#include <unistd.h>

/* ---- the registry's snapshots table ---- */

/* A snapshot belongs to its workspace's owner. */
int snapshot_row_put(Registry *reg, int64_t ws_id, const SnapshotInfo *info, Error *err)
{
        int r = registry_run(reg, err,
                             "INSERT INTO snapshots (workspace_id, owner_uid, name, size_bytes, created_at) "
                             "VALUES (?, (SELECT owner_uid FROM workspaces WHERE id = ?), ?, ?, ?) "
                             "ON CONFLICT (workspace_id, name) DO UPDATE SET size_bytes = excluded.size_bytes, "
                             "created_at = excluded.created_at",
                             "iitii", ws_id, ws_id, info->name, (int64_t) info->bytes, info->created_usec / 1000000);
        return r < 0 ? r : 0;
}

int snapshot_row_delete(Registry *reg, int64_t ws_id, const char *name, Error *err)
{
        int r = registry_run(reg, err, "DELETE FROM snapshots WHERE workspace_id = ? AND name = ?", "it", ws_id, name);
        return r < 0 ? r : 0;
}

static int rows_names(Registry *reg, int64_t ws_id, char ***ret, Error *err)
{
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        int r = registry_prepare(reg, "SELECT name FROM snapshots WHERE workspace_id = ? ORDER BY name", &s, err);
        if (r >= 0)
                r = registry_bind(reg, s, err, "i", ws_id);
        if (r < 0)
                return r;
        _cleanup_strv_free_ char **names = NULL;
        while ((r = registry_step(reg, s, err)) > 0)
                if (strv_push(&names, (const char *) sqlite3_column_text(s, 0)) < 0)
                        return error_set(err, ENOMEM, "out of memory");
        if (r < 0)
                return r;
        *ret = TAKE_PTR(names);
        return 0;
}

static bool infos_contain(const SnapshotInfo *a, size_t n, const char *name)
{
        for (size_t i = 0; i < n; i++)
                if (streq(a[i].name, name))
                        return true;
        return false;
}

int snapshot_rows_sync(Registry *reg, int64_t ws_id, const char *ws_dir, bool dry_run, char ***ret_changes,
                       Error *err)
{
        SnapshotInfo *infos = NULL;
        size_t n = 0;
        int r = snapshot_list(ws_dir, &infos, &n, err);
        if (r < 0)
                return r;
        _cleanup_strv_free_ char **names = NULL, **changes = NULL;
        r = rows_names(reg, ws_id, &names, err);
        _cleanup_txn_ RegistryTxn txn = {};
        if (r >= 0 && !dry_run)
                r = registry_txn_begin(reg, &txn, err);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                if (strv_contains(names, infos[i].name))
                        continue;
                if (strv_consume(&changes, strdup(infos[i].name)) < 0)
                        r = error_set(err, ENOMEM, "out of memory");
                else if (!dry_run)
                        r = snapshot_row_put(reg, ws_id, &infos[i], err);
        }
        STRV_FOREACH(name, names) {
                if (r < 0 || infos_contain(infos, n, *name))
                        continue;
                _cleanup_free_ char *what = NULL;
                if (asprintf(&what, "%s (no directory)", *name) < 0 || strv_consume(&changes, TAKE_PTR(what)) < 0)
                        r = error_set(err, ENOMEM, "out of memory");
                else if (!dry_run)
                        r = snapshot_row_delete(reg, ws_id, *name, err);
        }
        snapshot_info_array_free(infos, n);
        if (r >= 0 && !dry_run)
                r = registry_txn_commit(&txn, err);
        if (r < 0)
                return r;
        int count = (int) strv_length(changes);
        if (ret_changes)
                *ret_changes = TAKE_PTR(changes);
        return count;
}

/* ---- the disk image (disk_mb) ---- */


void snapshot_layers_done(SnapshotLayers *l)
{
        l->fd = safe_close(l->fd);
}

int snapshot_layers_open(const char *ws_dir, bool shared, SnapshotLayers *ret, Error *err)
{
        int r = disk_quota_open_root(ws_dir, shared, &ret->fd, err);
        if (r < 0)
                return r;
        snprintf(ret->path, sizeof ret->path, "/proc/self/fd/%d", ret->fd);
        return 0;
}

/* At daemon start: a restore into a disk image that did not finish is
 * rolled back or committed from the journal inside the image. */
static void recover_in_image(const WorkspaceRow *row, const char *ws_dir)
{
        _cleanup_free_ char *marker = path_join(ws_dir, SNAPSHOT_RESTORE_IN_IMAGE);
        if (!marker || access(marker, F_OK) < 0)
                return;
        _cleanup_error_ Error err = ERROR_INIT;
        _cleanup_(snapshot_layers_done) SnapshotLayers l = { .fd = -EBADF };
        if (snapshot_layers_open(ws_dir, false, &l, &err) < 0 || snapshot_recover(l.path, &err) < 0) {
                log_warn("workspace %s/%s: recovering a restore into its disk image: %s", row->sandbox, row->name,
                         error_msg(&err));
                return;
        }
        log_info("workspace %s/%s: recovered a restore into its disk image that did not finish", row->sandbox,
                 row->name);
        (void) unlink(marker);
}

int snapshot_recover_all(Engine *eng)
{
        _cleanup_error_ Error err = ERROR_INIT;
        WorkspaceRow *rows = NULL;
        size_t n = 0;
        if (registry_workspace_list(eng->registry, -1, &rows, &n, &err) < 0) {
                log_warn("snapshots: listing workspaces: %s", error_msg(&err));
                return -1;
        }
        int failed = 0;
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *ws_dir = NULL;
                error_clear(&err);
                if (layout_workspace_dir(eng->settings.state_dir, rows[i].sandbox, rows[i].name, &ws_dir, &err) < 0 ||
                    !is_dir(ws_dir))
                        continue;
                if (!(rows[i].pid > 0 && pid_is_same_process(rows[i].pid, rows[i].pid_start_time)))
                        recover_in_image(&rows[i], ws_dir);
                if (snapshot_recover(ws_dir, &err) < 0 ||
                    snapshot_rows_sync(eng->registry, rows[i].id, ws_dir, false, NULL, &err) < 0) {
                        log_warn("workspace %s/%s: recovering snapshots: %s", rows[i].sandbox, rows[i].name,
                                 error_msg(&err));
                        failed++;
                }
        }
        workspace_rows_free(rows, n);
        return failed;
}
