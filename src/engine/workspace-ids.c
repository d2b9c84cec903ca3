/* Host id blocks of this state dir's workspaces (workspace-ids.h). */
#include "engine/workspace-ids.h"
#include "registry/registry.h"
#include "storage/disk-quota.h"
#include "storage/layout.h"
#include "base/fs.h"
#include "base/log.h"
#include "base/str.h"

#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const IdLeaseHost host = {
        .dir = IDLEASE_DIR,
        .subuid_path = IDRANGE_SUBUID_PATH,
        .subgid_path = IDRANGE_SUBGID_PATH,
        .registry_name = REGISTRY_FILE,
};

/* One daemon per process: its canonical state dir, and the blocks
 * leased by creates whose row is not committed yet. */
static pthread_mutex_t ids_lock = PTHREAD_MUTEX_INITIALIZER;
static char *state_real;
static uint32_t *pending;
static size_t n_pending;

const IdLeaseHost *workspace_ids_host(void)
{
        return &host;
}

int workspace_ids_init(Engine *eng, Error *err)
{
        char buf[PATH_MAX];
        if (!realpath(eng->settings.state_dir, buf))
                return error_setc(err, errno, "resolving the state dir %s", eng->settings.state_dir);
        if (strchr(buf, '\n'))
                return error_set(err, EINVAL, "the state dir %s contains a newline", eng->settings.state_dir);
        char *s = strdup(buf);
        if (!s)
                return error_set(err, ENOMEM, "out of memory");
        pthread_mutex_lock(&ids_lock);
        free(state_real);
        state_real = s;
        pthread_mutex_unlock(&ids_lock);
        return 0;
}

void workspace_ids_done(void)
{
        pthread_mutex_lock(&ids_lock);
        free(state_real);
        state_real = NULL;
        free(pending);
        pending = NULL;
        n_pending = 0;
        pthread_mutex_unlock(&ids_lock);
}

const char *workspace_ids_state_dir(void)
{
        return state_real;
}

static int pending_add(uint32_t base)
{
        pthread_mutex_lock(&ids_lock);
        uint32_t *n = realloc(pending, (n_pending + 1) * sizeof *n);
        if (n) {
                pending = n;
                pending[n_pending++] = base;
        }
        pthread_mutex_unlock(&ids_lock);
        return n ? 0 : -ENOMEM;
}

static bool is_pending(uint32_t base)
{
        pthread_mutex_lock(&ids_lock);
        bool found = false;
        for (size_t i = 0; i < n_pending && !found; i++)
                found = pending[i] == base;
        pthread_mutex_unlock(&ids_lock);
        return found;
}

void workspace_ids_settled(uint32_t base)
{
        pthread_mutex_lock(&ids_lock);
        for (size_t i = 0; i < n_pending; i++)
                if (pending[i] == base) {
                        pending[i] = pending[--n_pending];
                        break;
                }
        pthread_mutex_unlock(&ids_lock);
}

static IdLease lease_for(const char *sandbox, const char *name)
{
        return (IdLease) {
                .state_dir = state_real,
                .sandbox = (char *) sandbox,
                .workspace = (char *) name,
                .pid = getpid(),
                .created = time(NULL),
        };
}

int workspace_ids_allocate(Engine *eng, Registry *reg, const char *sandbox, const char *name, uint32_t *ret_base,
                           Error *err)
{
        /* Blocks this registry records count as used even without a
         * lease (a registry from before leases, a lease deleted by hand). */
        _cleanup_free_ uint32_t *own = NULL;
        size_t n_own = 0;
        int r = registry_id_bases(reg, &own, &n_own, err);
        if (r < 0)
                return r;
        _cleanup_id_lease_lock_ IdLeaseLock l = ID_LEASE_LOCK_NULL;
        r = id_lease_lock(&host, &l, err);
        if (r < 0)
                return r;
        IdLease who = lease_for(sandbox, name);
        uint32_t base;
        r = id_lease_allocate(&l, &who, own, n_own, &base, err);
        if (r < 0)
                return r;
        if (pending_add(base) < 0) {
                (void) id_lease_drop(&l, base, state_real, NULL);
                return error_set(err, ENOMEM, "out of memory");
        }
        *ret_base = base;
        return 0;
}

int workspace_ids_release(uint32_t base, Error *err)
{
        workspace_ids_settled(base);
        _cleanup_id_lease_lock_ IdLeaseLock l = ID_LEASE_LOCK_NULL;
        int r = id_lease_lock(&host, &l, err);
        if (r < 0)
                return r;
        _cleanup_error_ Error derr = ERROR_INIT;
        r = id_lease_drop(&l, base, state_real, &derr);
        if (r == -EPERM) {
                /* Someone else's lease: not ours to end, and not an error of this destroy. */
                log_warn("%s", error_msg(&derr));
                return 0;
        }
        if (r < 0) {
                error_move(err, &derr);
                return r;
        }
        return 0;
}

static int conflict_error(const WorkspaceRow *row, const IdLease *l, Error *err)
{
        if (!l->state_dir)
                return error_set(err, EBUSY, "the lease of host id block %" PRIu32 " (%s/%" PRIu32 ") cannot be "
                                 "read; remove that file if no workspace on this host uses the block",
                                 row->uid_base, host.dir, row->uid_base);
        return error_set(err, EBUSY, "its host id block %" PRIu32 " is leased to workspace %s/%s of the state dir "
                         "%s, and two workspaces must never share host ids; destroy and recreate this workspace to "
                         "give it a block of its own", row->uid_base, l->sandbox ? l->sandbox : "?",
                         l->workspace ? l->workspace : "?", l->state_dir);
}

int workspace_ids_check(const WorkspaceRow *row, Error *err)
{
        _cleanup_id_lease_ IdLease cur = { .base = row->uid_base };
        int r = id_lease_read(&host, row->uid_base, &cur, err);
        if (r >= 0)
                return cur.state_dir && streq(cur.state_dir, state_real) ? 0 : conflict_error(row, &cur, err);
        if (r != -ENOENT)
                return r;
        /* No lease (the directory was emptied by hand): take it again. */
        _cleanup_id_lease_lock_ IdLeaseLock l = ID_LEASE_LOCK_NULL;
        r = id_lease_lock(&host, &l, err);
        if (r < 0)
                return r;
        IdLease who = lease_for(row->sandbox, row->name);
        who.base = row->uid_base;
        r = id_lease_take(&l, &who, err);
        if (r == -EEXIST) {
                id_lease_done(&cur);
                cur.base = row->uid_base;
                r = id_lease_read(&host, row->uid_base, &cur, err);
                if (r < 0)
                        return r;
                return cur.state_dir && streq(cur.state_dir, state_real) ? 0 : conflict_error(row, &cur, err);
        }
        if (r >= 0)
                log_info("workspace %s/%s: leased its host id block %" PRIu32 " again", row->sandbox, row->name,
                         row->uid_base);
        return r;
}

/* ---- leases against rows ---- */

static const WorkspaceRow *row_of_base(const WorkspaceRow *rows, size_t n, uint32_t base)
{
        for (size_t i = 0; i < n; i++)
                if (rows[i].uid_base == base)
                        return &rows[i];
        return NULL;
}

static const IdLease *lease_of_base(const IdLease *v, size_t n, uint32_t base)
{
        for (size_t i = 0; i < n; i++)
                if (v[i].base == base)
                        return &v[i];
        return NULL;
}

/* A lease of this state dir with no row: whatever its workspace left
 * on disk goes first (files owned by the block must not outlive its
 * lease), unless another row of that name owns the directory now.
 * Without remove_dir (repair, where a create of that name may be in
 * flight) such a directory keeps the lease. Under the lease lock. */
static int release_orphan(Engine *eng, Registry *reg, IdLeaseLock *l, const IdLease *lease, bool remove_dir,
                          Error *err)
{
        const char *sb = lease->sandbox, *ws = lease->workspace;
        if (sb && ws && name_is_valid(sb) && name_is_valid(ws)) {
                _cleanup_workspace_row_ WorkspaceRow row = {};
                _cleanup_error_ Error gerr = ERROR_INIT;
                int r = registry_workspace_get(reg, sb, ws, &row, &gerr);
                if (r < 0 && r != -ENOENT) {
                        error_move(err, &gerr);
                        return r;
                }
                if (r == -ENOENT) {
                        _cleanup_free_ char *ws_dir = NULL;
                        r = layout_workspace_dir(eng->settings.state_dir, sb, ws, &ws_dir, err);
                        if (r >= 0 && is_dir(ws_dir) && !remove_dir)
                                return error_set(err, EBUSY, "its directory %s is still there", ws_dir);
                        if (r >= 0 && is_dir(ws_dir)) {
                                log_info("workspace %s/%s: removing what an interrupted create or destroy left "
                                         "(host id block %" PRIu32 ")", sb, ws, lease->base);
                                if (disk_quota_present(ws_dir))
                                        r = disk_quota_remove(ws_dir, err);
                                if (r >= 0)
                                        r = layout_workspace_remove(eng->settings.state_dir, sb, ws, err);
                        }
                        if (r < 0)
                                return error_wrap(err, "removing the directory of workspace %s/%s", sb, ws);
                }
        }
        int r = id_lease_drop(l, lease->base, state_real, err);
        return r < 0 ? r : 1;
}

static int load(Registry *reg, IdLeaseLock *l, WorkspaceRow **rows, size_t *n_rows, IdLease **leases, size_t *n_leases,
                Error *err)
{
        int r = registry_workspace_list(reg, -1, rows, n_rows, err);
        if (r < 0)
                return r;
        r = id_lease_list(l, leases, n_leases, err);
        if (r < 0) {
                workspace_rows_free(*rows, *n_rows);
                *rows = NULL;
                *n_rows = 0;
        }
        return r;
}

int workspace_ids_reconcile(Engine *eng, Error *err)
{
        _cleanup_id_lease_lock_ IdLeaseLock l = ID_LEASE_LOCK_NULL;
        int r = id_lease_lock(&host, &l, err);
        if (r < 0)
                return r;
        WorkspaceRow *rows = NULL;
        IdLease *v = NULL;
        size_t n_rows = 0, n = 0;
        r = load(eng->registry, &l, &rows, &n_rows, &v, &n, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                if (!v[i].state_dir || !streq(v[i].state_dir, state_real) || row_of_base(rows, n_rows, v[i].base))
                        continue;
                _cleanup_error_ Error e = ERROR_INIT;
                if (release_orphan(eng, eng->registry, &l, &v[i], true, &e) < 0)
                        log_warn("host id block %" PRIu32 ": keeping its lease: %s", v[i].base, error_msg(&e));
                else
                        log_info("released host id block %" PRIu32 " of %s/%s (it has no registry row)", v[i].base,
                                 v[i].sandbox ? v[i].sandbox : "?", v[i].workspace ? v[i].workspace : "?");
        }
        for (size_t i = 0; i < n_rows; i++) {
                const WorkspaceRow *w = &rows[i];
                const IdLease *cur = lease_of_base(v, n, w->uid_base);
                if (w->uid_base == 0 || (cur && cur->state_dir && streq(cur->state_dir, state_real)))
                        continue;
                _cleanup_error_ Error e = ERROR_INIT;
                if (cur) {
                        conflict_error(w, cur, &e);
                        log_error("workspace %s/%s cannot start: %s", w->sandbox, w->name, error_msg(&e));
                        continue;
                }
                IdLease who = lease_for(w->sandbox, w->name);
                who.base = w->uid_base;
                if (id_lease_take(&l, &who, &e) < 0)
                        log_warn("workspace %s/%s: leasing its host id block %" PRIu32 ": %s", w->sandbox, w->name,
                                 w->uid_base, error_msg(&e));
        }
        workspace_rows_free(rows, n_rows);
        id_leases_free(v, n);
        size_t reclaimed = 0;
        _cleanup_error_ Error e = ERROR_INIT;
        if (id_lease_reclaim(&l, state_real, &reclaimed, &e) < 0)
                log_warn("reclaiming host id blocks of deleted state dirs: %s", error_msg(&e));
        return 0;
}

/* ---- doctor and repair ---- */

void id_findings_free(IdFinding *f, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(f[i].what);
        free(f);
}

static int add_finding(IdFinding **v, size_t *n, IdFindingKind kind, uint32_t base, const char *fmt, ...)
        _printf_(5, 6);

static int add_finding(IdFinding **v, size_t *n, IdFindingKind kind, uint32_t base, const char *fmt, ...)
{
        IdFinding *nv = realloc(*v, (*n + 1) * sizeof *nv);
        if (!nv)
                return -ENOMEM;
        *v = nv;
        va_list ap;
        va_start(ap, fmt);
        char *what = NULL;
        int k = vasprintf(&what, fmt, ap);
        va_end(ap);
        if (k < 0)
                return -ENOMEM;
        (*v)[(*n)++] = (IdFinding) { kind, base, what };
        return 0;
}

int workspace_ids_scan(Registry *reg, IdFinding **ret, size_t *ret_n, Error *err)
{
        _cleanup_id_lease_lock_ IdLeaseLock l = ID_LEASE_LOCK_NULL;
        int r = id_lease_lock(&host, &l, err);
        if (r < 0)
                return r;
        WorkspaceRow *rows = NULL;
        IdLease *v = NULL;
        size_t n_rows = 0, n = 0;
        r = load(reg, &l, &rows, &n_rows, &v, &n, err);
        if (r < 0)
                return r;
        IdFinding *f = NULL;
        size_t nf = 0;
        int k = 0;
        for (size_t i = 0; i < n && k >= 0; i++) {
                const IdLease *x = &v[i];
                if (x->state_dir && streq(x->state_dir, state_real)) {
                        if (!row_of_base(rows, n_rows, x->base) && !is_pending(x->base))
                                k = add_finding(&f, &nf, ID_FINDING_OWN_ORPHAN, x->base,
                                                "block %" PRIu32 " leased for %s/%s, which has no row", x->base,
                                                x->sandbox ? x->sandbox : "?", x->workspace ? x->workspace : "?");
                } else if (id_lease_is_orphaned(&host, x))
                        k = add_finding(&f, &nf, ID_FINDING_FOREIGN_ORPHAN, x->base,
                                        "block %" PRIu32 " leased for %s/%s of the deleted state dir %s", x->base,
                                        x->sandbox ? x->sandbox : "?", x->workspace ? x->workspace : "?",
                                        x->state_dir);
        }
        for (size_t i = 0; i < n_rows && k >= 0; i++) {
                const WorkspaceRow *w = &rows[i];
                const IdLease *cur = lease_of_base(v, n, w->uid_base);
                if (w->uid_base == 0)
                        continue; /* no block (a row written by hand) */
                if (!cur)
                        k = add_finding(&f, &nf, ID_FINDING_NO_LEASE, w->uid_base,
                                        "%s/%s: block %" PRIu32 " has no host-wide lease", w->sandbox, w->name,
                                        w->uid_base);
                else if (!cur->state_dir || !streq(cur->state_dir, state_real))
                        k = add_finding(&f, &nf, ID_FINDING_CONFLICT, w->uid_base,
                                        "%s/%s: block %" PRIu32 " is leased to %s/%s of %s", w->sandbox, w->name,
                                        w->uid_base, cur->sandbox ? cur->sandbox : "?",
                                        cur->workspace ? cur->workspace : "?",
                                        cur->state_dir ? cur->state_dir : "(unreadable lease)");
        }
        workspace_rows_free(rows, n_rows);
        id_leases_free(v, n);
        if (k < 0) {
                id_findings_free(f, nf);
                return error_set(err, ENOMEM, "out of memory");
        }
        *ret = f;
        *ret_n = nf;
        return 0;
}

int workspace_ids_repair(Engine *eng, Registry *reg, const IdFinding *f, Error *err)
{
        _cleanup_id_lease_lock_ IdLeaseLock l = ID_LEASE_LOCK_NULL;
        int r = id_lease_lock(&host, &l, err);
        if (r < 0)
                return r;
        _cleanup_id_lease_ IdLease cur = { .base = f->base };
        r = id_lease_read(&host, f->base, &cur, err);
        if (r < 0 && r != -ENOENT)
                return r;
        bool leased = r >= 0;
        switch (f->kind) {
        case ID_FINDING_OWN_ORPHAN: {
                if (!leased || !cur.state_dir || !streq(cur.state_dir, state_real) || is_pending(f->base))
                        return 0;
                _cleanup_free_ uint32_t *bases = NULL;
                size_t nb = 0;
                r = registry_id_bases(reg, &bases, &nb, err);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < nb; i++)
                        if (bases[i] == f->base)
                                return 0; /* a create finished meanwhile */
                return release_orphan(eng, reg, &l, &cur, false, err);
        }
        case ID_FINDING_NO_LEASE: {
                if (leased)
                        return 0;
                _cleanup_free_ uint32_t *bases = NULL;
                size_t nb = 0;
                r = registry_id_bases(reg, &bases, &nb, err);
                if (r < 0)
                        return r;
                bool still = false;
                for (size_t i = 0; i < nb; i++)
                        still |= bases[i] == f->base;
                if (!still)
                        return 0;
                IdLease who = lease_for(NULL, NULL);
                who.base = f->base;
                r = id_lease_take(&l, &who, err);
                return r < 0 ? r : 1;
        }
        case ID_FINDING_FOREIGN_ORPHAN: {
                size_t n = 0;
                r = id_lease_reclaim(&l, state_real, &n, err);
                return r < 0 ? r : n > 0;
        }
        case ID_FINDING_CONFLICT:
        default:
                return 0;
        }
}
