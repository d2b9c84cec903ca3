/* snapshot.create, .list, .restore, .delete, .export, .import and
 * workspace.snapshot_gc (SPEC §2, docs/snapshots.md): parameters, the
 * owner check and the archive fds the CLI sent, then the engine
 * (engine/workspace-snapshot.h), then the reply. */
#include "daemon/action.h"
#include "daemon/actions-storage.h"
#include "daemon/call.h"
#include "daemon/daemon.h"
#include "daemon/owner.h"
#include "engine/workspace-snapshot.h"
#include "base/log.h"
#include "base/str.h"

/* ---- the workspace a request names ---- */

static int target_open(Call *c, SnapshotTarget *t, Error *err)
{
        Registry *reg = call_registry(c, err);
        if (!reg)
                return -EIO;
        const char *sb, *ws;
        int r = call_param_string(c, "sandbox", true, &sb, err);
        if (r >= 0)
                r = call_param_string(c, "workspace", true, &ws, err);
        if (r >= 0)
                r = owner_check_workspace(c, reg, sb, ws, err);
        if (r < 0)
                return r;
        SnapshotCaller caller = { call_uid(c), owner_cap(c, call_engine(c)->settings.max_snapshots_per_user) };
        return snapshot_target_open(call_engine(c), reg, &caller, sb, ws, t, err);
}

/* Release the workspace before the reply goes out: a client's next
 * request may arrive the moment it has its answer. */
static int reply_and_release(Call *c, SnapshotTarget *t, json_t *res)
{
        snapshot_target_done(t);
        return call_reply(c, res, -EBADF);
}

/* For a deferred create or restore: reply, then flush its copy to disk
 * with only the snapshot claim still held (workspace-snapshot.h). */
static int reply_then_settle(Call *c, SnapshotTarget *t, json_t *res)
{
        SnapshotSettle settle;
        snapshot_target_to_settle(t, &settle);
        int r = call_reply(c, res, -EBADF);
        snapshot_settle_run(&settle);
        return r;
}

/* ---- events and replies ---- */

static void on_message(void *userdata, const char *type, const char *message)
{
        json_t *ev = json_pack("{s:s, s:s, s:s}", "type", type, "stage", "info", "message", message);
        if (ev)
                (void) call_event(userdata, ev);
}

static SnapshotReporter call_reporter(Call *c)
{
        return (SnapshotReporter) { .userdata = c, .message = on_message, .monitor = call_storage_monitor(c) };
}

static json_t *info_to_json(const SnapshotInfo *info)
{
        return json_pack("{s:s, s:I, s:I, s:I, s:I, s:b, s:I, s:I}", "name", info->name, "created_usec",
                         (json_int_t) info->created_usec, "created_at", (json_int_t) (info->created_usec / 1000000),
                         "bytes", (json_int_t) info->bytes, "entries", (json_int_t) info->entries, "has_home",
                         info->has_home, "uid_base", (json_int_t) info->uid_base, "gid_base",
                         (json_int_t) info->gid_base);
}

static json_t *reply_with(json_t *o, const SnapshotTarget *t, const char *note)
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

/* ---- create, list, restore, delete, gc ---- */

static int action_snapshot_create(Call *c, Error *err)
{
        const char *name;
        int r = param_snapshot_name(c, false, &name, err);
        if (r < 0)
                return r;
        _cleanup_(snapshot_target_done) SnapshotTarget t = {};
        r = target_open(c, &t, err);
        if (r < 0)
                return r;
        SnapshotReporter rep = call_reporter(c);
        _cleanup_(snapshot_info_done) SnapshotInfo info = {};
        bool frozen = false;
        r = workspace_snapshot_create(&t, name, &rep, &info, &frozen, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *note = snapshot_target_home_note(&t);
        json_t *res = reply_with(info_to_json(&info), &t, note);
        if (res)
                json_object_set_new(res, "frozen", json_boolean(frozen));
        return reply_then_settle(c, &t, res);
}

static int action_snapshot_list(Call *c, Error *err)
{
        _cleanup_(snapshot_target_done) SnapshotTarget t = {};
        int r = target_open(c, &t, err);
        if (r < 0)
                return r;
        SnapshotInfo *infos = NULL;
        size_t n = 0;
        r = snapshot_list(t.ws_dir, &infos, &n, err);
        if (r < 0)
                return snapshot_target_fail(&t, r, "listing the snapshots", err);
        json_t *a = json_array();
        for (size_t i = 0; a && i < n; i++)
                json_array_append_new(a, info_to_json(&infos[i]));
        snapshot_info_array_free(infos, n);
        _cleanup_free_ char *note = snapshot_target_home_note(&t);
        json_t *res = reply_with(json_pack("{s:o}", "snapshots", a ?: json_array()), &t, note);
        return reply_and_release(c, &t, res);
}

static int action_snapshot_restore(Call *c, Error *err)
{
        const char *name;
        int r = param_snapshot_name(c, true, &name, err);
        if (r < 0)
                return r;
        _cleanup_(snapshot_target_done) SnapshotTarget t = {};
        r = target_open(c, &t, err);
        if (r < 0)
                return r;
        SnapshotReporter rep = call_reporter(c);
        _cleanup_(snapshot_info_done) SnapshotInfo info = {};
        r = workspace_snapshot_restore(&t, name, &rep, &info, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *note = snapshot_target_home_note(&t);
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
        _cleanup_(snapshot_target_done) SnapshotTarget t = {};
        r = target_open(c, &t, err);
        if (r >= 0)
                r = workspace_snapshot_delete(&t, name, err);
        if (r < 0)
                return r;
        return reply_and_release(c, &t, reply_with(json_pack("{s:s, s:b}", "name", name, "deleted", 1), &t, NULL));
}

static int action_snapshot_gc(Call *c, Error *err)
{
        int64_t keep;
        int r = call_param_int(c, "keep", false, 0, 1000000, SNAPSHOT_GC_KEEP_DEFAULT, &keep, err);
        if (r < 0)
                return r;
        _cleanup_(snapshot_target_done) SnapshotTarget t = {};
        _cleanup_strv_free_ char **deleted = NULL, **kept = NULL;
        r = target_open(c, &t, err);
        if (r >= 0)
                r = workspace_snapshot_gc(&t, (size_t) keep, &deleted, &kept, err);
        if (r < 0)
                return r;
        json_t *res = reply_with(json_pack("{s:I, s:o, s:o}", "keep", (json_int_t) keep, "kept", strv_to_json(kept),
                                           "deleted", strv_to_json(deleted)),
                                 &t, NULL);
        return reply_and_release(c, &t, res);
}

/* ---- export and import ---- */

static int action_snapshot_export(Call *c, Error *err)
{
        const char *name;
        TarballCompression comp;
        _cleanup_client_stream_ ClientStream *out = NULL;
        int r = param_snapshot_name(c, true, &name, err);
        if (r >= 0)
                r = call_param_compression(c, &comp, err);
        if (r >= 0)
                r = call_take_archive(c, "snapshot.export", true, &out, err);
        if (r < 0)
                return r;
        _cleanup_(snapshot_target_done) SnapshotTarget t = {};
        r = target_open(c, &t, err);
        if (r < 0)
                return r;
        StorageMonitor mon = call_storage_monitor(c);
        _cleanup_(snapshot_info_done) SnapshotInfo info = {};
        TarballStats stats = {};
        r = workspace_snapshot_export(&t, name, client_stream_fd(out), comp, &mon, &info, &stats, err);
        if (r < 0)
                return r;
        r = call_archive_finish(&out, err);
        if (r < 0)
                return snapshot_target_fail(&t, r, "export", err);
        log_info("workspace %s/%s: exported snapshot %s (%llu entries, by uid %u)", t.row.sandbox, t.row.name, name,
                 (unsigned long long) stats.entries, (unsigned) call_uid(c));
        json_t *res = reply_with(info_to_json(&info), &t, NULL);
        if (res) {
                json_object_set_new(res, "archive_entries", json_integer((json_int_t) stats.entries));
                json_object_set_new(res, "archive_bytes", json_integer((json_int_t) stats.bytes));
        }
        return reply_and_release(c, &t, res);
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
                r = call_take_archive(c, "snapshot.import", false, &in, err);
        if (r < 0)
                return r;
        _cleanup_(snapshot_target_done) SnapshotTarget t = {};
        r = target_open(c, &t, err);
        if (r < 0)
                return r;
        /* The client's file, read only through the fd it sent (never
         * reopened: that would be a fresh open as root). */
        StorageMonitor mon = call_storage_monitor(c);
        _cleanup_(snapshot_info_done) SnapshotInfo info = {};
        r = workspace_snapshot_import(&t, name, client_stream_fd(in), replace, &mon, &info, err);
        /* Done with the client's data: stop its relay before the reply. */
        in = (client_stream_close(in, NULL), NULL);
        if (r < 0)
                return r;
        _cleanup_free_ char *note = snapshot_target_home_note(&t);
        return reply_and_release(c, &t, reply_with(info_to_json(&info), &t, note));
}

const Action snapshot_actions[] = {
        { PROTO_ACTION_SNAPSHOT_CREATE, action_snapshot_create, ACTION_LONG | ACTION_MUTATES },
        { PROTO_ACTION_SNAPSHOT_LIST, action_snapshot_list, ACTION_LONG },
        { PROTO_ACTION_SNAPSHOT_RESTORE, action_snapshot_restore, ACTION_LONG | ACTION_MUTATES },
        { PROTO_ACTION_SNAPSHOT_DELETE, action_snapshot_delete, ACTION_LONG | ACTION_MUTATES },
        { PROTO_ACTION_SNAPSHOT_EXPORT, action_snapshot_export, ACTION_LONG },
        { PROTO_ACTION_SNAPSHOT_IMPORT, action_snapshot_import, ACTION_LONG | ACTION_MUTATES },
        { PROTO_ACTION_WORKSPACE_SNAPSHOT_GC, action_snapshot_gc, ACTION_LONG | ACTION_MUTATES },
        {},
};
