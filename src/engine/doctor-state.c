/* Doctor and repair: the registry against the state dir, the mount
 * table, the bridge, the cgroup trees and the process table
 * (doctor.h).
 *
 * One scan collects findings; doctor turns them into report rows and
 * repair acts on them. A workspace counts as active when this daemon
 * watches its init or its recorded pid still has the recorded start
 * time; only what belongs to no active workspace is ever touched. */
#include "engine/doctor.h"
#include "base/crashpoint.h"
#include "engine/snapshots.h"
#include "engine/network.h"
#include "registry/registry-network.h"
#include "registry/registry-sandbox.h"
#include "registry/registry-workspace.h"
#include "engine/sandbox-cgroup.h"
#include "engine/claims.h"
#include "engine/workspace-engine.h"
#include "engine/workspace-ids.h"
#include "net/port.h"
#include "net/link.h"
#include "net/netlink.h"
#include "runtime/cgroup.h"
#include "storage/layout.h"
#include "storage/staging.h"
#include "storage/loopdev.h"
#include "engine/leftovers.h"
#include "base/fs.h"
#include "base/log.h"
#include "base/process.h"
#include "base/str.h"

#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#define STATE "state"

typedef enum FindingKind {
        F_SANDBOX_NO_DIR,
        F_SANDBOX_DIR_NO_ROW,
        F_WS_NO_DIR,
        F_WS_DIR_NO_ROW,
        F_SNAPSHOT_ROWS,
        F_MOUNT,
        F_DEAD_RUNNING,
        F_UNTRACKED,
        F_VETH,
        F_LEASE,
        F_CGROUP,
        F_FROZEN,
        F_LOOP,
        F_TMP,
        F_ID_ORPHAN,
        F_ID_UNLEASED,
        F_ID_CONFLICT,
        F_ID_FOREIGN,
        _F_MAX,
} FindingKind;

typedef struct KindInfo {
        const char *id;
        const char *title;
        DoctorStatus status;
        const char *hint;
} KindInfo;

static const KindInfo kinds[_F_MAX] = {
        [F_SANDBOX_NO_DIR] = { "state.sandbox_rows", "every sandbox row has its directory", DOCTOR_FAIL,
                               "enclave registry repair --strict deletes these rows (and their workspaces' rows)" },
        [F_SANDBOX_DIR_NO_ROW] = { "state.sandbox_dirs", "every sandbox directory has a registry row", DOCTOR_FAIL,
                                   "enclave registry repair removes them" },
        [F_WS_NO_DIR] = { "state.workspace_rows", "every workspace row has its directory", DOCTOR_FAIL,
                          "enclave registry repair --strict deletes these rows" },
        [F_WS_DIR_NO_ROW] = { "state.workspace_dirs", "every workspace directory has a registry row", DOCTOR_FAIL,
                              "enclave registry repair removes them" },
        [F_SNAPSHOT_ROWS] = { "state.snapshots", "snapshot rows match the snapshot directories",
                              DOCTOR_FAIL, "enclave registry repair makes the rows match the directories" },
        [F_MOUNT] = { "state.mounts", "no mounts left under the state dir", DOCTOR_FAIL,
                      "enclave registry repair --strict detaches them" },
        [F_DEAD_RUNNING] = { "state.dead_running", "no dead workspaces marked running", DOCTOR_FAIL,
                             "enclave registry repair cleans them up and marks them stopped" },
        [F_UNTRACKED] = { "state.untracked", "the daemon watches every running workspace", DOCTOR_WARN,
                          "restart the daemon (enclave daemon stop; enclave daemon start) so that it adopts them" },
        [F_VETH] = { "state.veths", "no stale veths on the bridge", DOCTOR_FAIL,
                     "enclave registry repair removes them" },
        [F_LEASE] = { "state.leases", "no stale addresses or firewall entries", DOCTOR_FAIL,
                      "enclave registry repair releases them" },
        [F_CGROUP] = { "state.cgroups", "no stale workspace cgroups", DOCTOR_FAIL,
                       "enclave registry repair kills what runs in them (the init of a start cut short) and "
                       "removes them" },
        [F_FROZEN] = { "state.frozen", "no workspace left frozen", DOCTOR_FAIL,
                       "enclave registry repair thaws them (a snapshot create was cut short)" },
        [F_LOOP] = { "state.loop_devices", "no loop device holds the disk image of a workspace that does not run",
                     DOCTOR_FAIL, "enclave registry repair frees them once what holds them (processes in the "
                                  "workspace's cgroup, mounts under the state dir) is gone" },
        [F_TMP] = { "state.tmp", "nothing left in tmp/ by operations that did not finish", DOCTOR_FAIL,
                    "enclave registry repair removes them" },
        [F_ID_ORPHAN] = { "ids.leases", "every host id block leased by this state dir has its workspace", DOCTOR_FAIL,
                          "enclave registry repair releases them (once what their workspace left is removed)" },
        [F_ID_UNLEASED] = { "ids.unleased", "every workspace's host id block is leased host-wide", DOCTOR_FAIL,
                            "enclave registry repair leases them" },
        [F_ID_CONFLICT] = { "ids.conflicts", "no workspace shares its host ids with another state dir's",
                            DOCTOR_FAIL, "destroy and recreate the workspaces named: two workspaces with the same "
                                         "host ids are one user to the kernel" },
        [F_ID_FOREIGN] = { "ids.orphaned", "no host id leases of deleted state dirs", DOCTOR_WARN,
                           "enclave registry repair reclaims them (the pool also does when it runs short)" },
};

typedef struct Finding {
        FindingKind kind;
        int64_t id;        /* sandbox or workspace row, -1 when none */
        char *sandbox;
        char *workspace;
        char *what;        /* path, link or name: shown to the user */
} Finding;

typedef struct Scan {
        Finding *f;
        size_t n;
        SandboxRow *sandboxes;
        size_t n_sandboxes;
        WorkspaceRow *workspaces;
        size_t n_workspaces;
        bool *active;      /* per workspace row */
        Registry *reg;
        char *integrity;   /* NULL when fine */
        char **unchecked;  /* parts that could not be checked, with why */
} Scan;

static void scan_done(Scan *s)
{
        for (size_t i = 0; i < s->n; i++) {
                free(s->f[i].sandbox);
                free(s->f[i].workspace);
                free(s->f[i].what);
        }
        free(s->f);
        sandbox_rows_free(s->sandboxes, s->n_sandboxes);
        workspace_rows_free(s->workspaces, s->n_workspaces);
        free(s->active);
        free(s->integrity);
        strv_free(s->unchecked);
}

static int found(Scan *s, FindingKind kind, int64_t id, const char *sandbox, const char *workspace, const char *what)
{
        Finding *n = realloc(s->f, (s->n + 1) * sizeof *n);
        if (!n)
                return -ENOMEM;
        s->f = n;
        Finding f = {
                .kind = kind,
                .id = id,
                .sandbox = sandbox ? strdup(sandbox) : NULL,
                .workspace = workspace ? strdup(workspace) : NULL,
                .what = strdup(what),
        };
        if ((sandbox && !f.sandbox) || (workspace && !f.workspace) || !f.what) {
                free(f.sandbox);
                free(f.workspace);
                free(f.what);
                return -ENOMEM;
        }
        s->f[s->n++] = f;
        return 0;
}

static int unchecked(Scan *s, const char *what, const Error *e)
{
        _cleanup_free_ char *line = NULL;
        if (asprintf(&line, "%s: %s", what, error_msg(e)) < 0)
                return -ENOMEM;
        return strv_consume(&s->unchecked, TAKE_PTR(line));
}

static int unchecked_errno(Scan *s, const char *what, int k)
{
        _cleanup_error_ Error e = ERROR_INIT;
        error_setc(&e, -k, "reading it");
        return unchecked(s, what, &e);
}

static const SandboxRow *sandbox_by_name(const Scan *s, const char *name)
{
        for (size_t i = 0; i < s->n_sandboxes; i++)
                if (streq(s->sandboxes[i].name, name))
                        return &s->sandboxes[i];
        return NULL;
}

static bool sandbox_in_flight(const SandboxRow *sb)
{
        return streq(sb->state, SANDBOX_STATE_CREATING) || streq(sb->state, SANDBOX_STATE_DESTROYING);
}

/* ---- rows and processes ---- */

static int scan_processes(Engine *eng, Scan *s)
{
        s->active = calloc(s->n_workspaces + 1, sizeof *s->active);
        if (!s->active)
                return -ENOMEM;
        for (size_t i = 0; i < s->n_workspaces; i++) {
                const WorkspaceRow *w = &s->workspaces[i];
                RunningWorkspace *rw = workspace_engine_get_by_id(eng, w->id);
                bool tracked = rw != NULL;
                if (rw)
                        workspace_running_unref(rw);
                bool alive = w->pid > 0 && pid_is_same_process(w->pid, w->pid_start_time);
                s->active[i] = tracked || alive;
                if (!streq(w->state, WORKSPACE_STATE_RUNNING) || tracked)
                        continue;
                char what[160];
                snprintf(what, sizeof what, "%s/%s (pid %d)", w->sandbox, w->name, (int) w->pid);
                int k = found(s, alive ? F_UNTRACKED : F_DEAD_RUNNING, w->id, w->sandbox, w->name, what);
                if (k < 0)
                        return k;
        }
        return 0;
}

/* ---- the state dir ---- */

/* The scan's row of sandbox/name, and its index; NULL when none. */
static const WorkspaceRow *workspace_by_name(const Scan *s, const char *sandbox, const char *name, size_t *ret_i)
{
        for (size_t i = 0; i < s->n_workspaces; i++)
                if (streq(s->workspaces[i].sandbox, sandbox) && streq(s->workspaces[i].name, name)) {
                        if (ret_i)
                                *ret_i = i;
                        return &s->workspaces[i];
                }
        return NULL;
}

static bool is_workspace_row(const Scan *s, const char *sandbox, const char *name)
{
        return workspace_by_name(s, sandbox, name, NULL) != NULL;
}

/* Entries of dir that are not hidden; *ret NULL-terminated. */
static int list_dir(const char *dir, char ***ret)
{
        _cleanup_closedir_ DIR *dp = opendir(dir);
        if (!dp)
                return -errno;
        _cleanup_strv_free_ char **names = NULL;
        struct dirent *de;
        while ((de = readdir(dp)))
                if (de->d_name[0] != '.' && strv_push(&names, de->d_name) < 0)
                        return -ENOMEM;
        *ret = TAKE_PTR(names);
        return 0;
}

static int scan_workspace_dirs(Engine *eng, Scan *s, const SandboxRow *sb)
{
        _cleanup_free_ char *wsdir = NULL;
        _cleanup_error_ Error e = ERROR_INIT;
        if (layout_workspaces_dir(eng->settings.state_dir, sb->name, &wsdir, &e) < 0)
                return unchecked(s, "workspace directories", &e);
        _cleanup_strv_free_ char **names = NULL;
        int k = list_dir(wsdir, &names);
        if (k == -ENOENT)
                return 0;
        if (k < 0)
                return k == -ENOMEM ? k : unchecked_errno(s, wsdir, k);
        STRV_FOREACH(n, names) {
                if (is_workspace_row(s, sb->name, *n))
                        continue;
                _cleanup_free_ char *p = path_join(wsdir, *n);
                if (!p || found(s, F_WS_DIR_NO_ROW, -1, sb->name, *n, p) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static int scan_sandbox_dirs(Engine *eng, Scan *s)
{
        const char *state = eng->settings.state_dir;
        _cleanup_free_ char *sbdir = NULL;
        _cleanup_error_ Error e = ERROR_INIT;
        if (layout_sandboxes_dir(state, &sbdir, &e) < 0)
                return unchecked(s, "sandbox directories", &e);
        _cleanup_strv_free_ char **names = NULL;
        int k = list_dir(sbdir, &names);
        if (k < 0 && k != -ENOENT)
                return k == -ENOMEM ? k : unchecked_errno(s, sbdir, k);
        STRV_FOREACH(n, names) {
                if (streq(*n, LAYOUT_ROOTFS_CACHE) || sandbox_by_name(s, *n))
                        continue;
                _cleanup_free_ char *p = path_join(sbdir, *n);
                if (!p || found(s, F_SANDBOX_DIR_NO_ROW, -1, *n, NULL, p) < 0)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < s->n_sandboxes; i++) {
                const SandboxRow *sb = &s->sandboxes[i];
                if (sandbox_in_flight(sb))
                        continue;
                _cleanup_free_ char *p = path_join(sbdir, sb->name);
                if (!p)
                        return -ENOMEM;
                if (!is_dir(p)) {
                        if ((k = found(s, F_SANDBOX_NO_DIR, sb->id, sb->name, NULL, p)) < 0)
                                return k;
                        continue;
                }
                if ((k = scan_workspace_dirs(eng, s, sb)) < 0)
                        return k;
        }
        return 0;
}

static int scan_workspace_rows(Engine *eng, Scan *s)
{
        for (size_t i = 0; i < s->n_workspaces; i++) {
                const WorkspaceRow *w = &s->workspaces[i];
                const SandboxRow *sb = sandbox_by_name(s, w->sandbox);
                _cleanup_free_ char *ws_dir = NULL, *sb_dir = NULL;
                if (!sb || sandbox_in_flight(sb) ||
                    layout_workspace_dir(eng->settings.state_dir, w->sandbox, w->name, &ws_dir, NULL) < 0 ||
                    layout_sandbox_dir(eng->settings.state_dir, w->sandbox, &sb_dir, NULL) < 0)
                        continue;
                if (!is_dir(sb_dir))
                        continue; /* the sandbox's finding covers it */
                int k;
                if (!is_dir(ws_dir)) {
                        if ((k = found(s, F_WS_NO_DIR, w->id, w->sandbox, w->name, ws_dir)) < 0)
                                return k;
                        continue;
                }
                _cleanup_strv_free_ char **diff = NULL;
                _cleanup_error_ Error e = ERROR_INIT;
                k = snapshot_rows_sync(s->reg, w->id, ws_dir, true, &diff, &e);
                if (k < 0) {
                        char what[160];
                        snprintf(what, sizeof what, "snapshots of %s/%s", w->sandbox, w->name);
                        if ((k = unchecked(s, what, &e)) < 0)
                                return k;
                        continue;
                }
                STRV_FOREACH(n, diff) {
                        _cleanup_free_ char *what = NULL;
                        if (asprintf(&what, "%s/%s: %s", w->sandbox, w->name, *n) < 0 ||
                            found(s, F_SNAPSHOT_ROWS, w->id, w->sandbox, w->name, what) < 0)
                                return -ENOMEM;
                }
        }
        return 0;
}

/* ---- mounts ---- */

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape_octal(char *s)
{
        char *w = s;
        for (const char *r = s; *r; ) {
                if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' && r[3] >= '0' &&
                    r[3] <= '7') {
                        *w++ = (char) ((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
                        r += 4;
                } else
                        *w++ = *r++;
        }
        *w = 0;
}

/* Directories an administrator may put on storage of their own. */
static bool mount_is_expected(const char *state, const char *mp)
{
        static const char *const own[] = { "sandboxes", "cache", "tmp", "auth" };
        const char *rest = startswith(mp, state);
        if (!rest || *rest != '/')
                return true;
        for (size_t i = 0; i < ELEMENTSOF(own); i++)
                if (streq(rest + 1, own[i]))
                        return true;
        return false;
}

static int scan_mounts(Engine *eng, Scan *s)
{
        char state[PATH_MAX];
        if (!realpath(eng->settings.state_dir, state))
                return unchecked_errno(s, "mounts under the state dir", -errno);
        _cleanup_free_ char *text = NULL;
        int k = read_full_file("/proc/self/mountinfo", 16 << 20, &text, NULL);
        if (k < 0)
                return unchecked_errno(s, "/proc/self/mountinfo", k);
        char *save = NULL;
        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                /* id parent major:minor root mountpoint ... */
                char *f = line, *mp = NULL;
                for (int i = 0; i < 4 && f; i++) {
                        f = strchr(f, ' ');
                        if (f)
                                f++;
                }
                if (!f)
                        continue;
                char *end = strchr(f, ' ');
                if (end)
                        *end = 0;
                mp = f;
                unescape_octal(mp);
                if (mount_is_expected(state, mp))
                        continue;
                if ((k = found(s, F_MOUNT, -1, NULL, NULL, mp)) < 0)
                        return k;
        }
        return 0;
}

/* ---- network ---- */

static int veth_of(const Engine *eng, int64_t id, char ret[static IFNAMSIZ])
{
        char num[24];
        snprintf(num, sizeof num, "%lld", (long long) id);
        return net_veth_name(eng->settings.bridge, num, ret);
}

static int scan_veths(Engine *eng, Scan *s)
{
        _cleanup_error_ Error e = ERROR_INIT;
        _cleanup_nl_ NlSock *nl = NULL;
        _cleanup_strv_free_ char **ports = NULL;
        if (nl_open(&nl, &e) < 0 || link_bridge_ports(nl, eng->settings.bridge, &ports, &e) < 0)
                return unchecked(s, "veths on the bridge", &e);
        STRV_FOREACH(p, ports) {
                int64_t owner = -1;
                bool keep = false;
                for (size_t i = 0; i < s->n_workspaces && owner < 0; i++) {
                        char name[IFNAMSIZ];
                        if (veth_of(eng, s->workspaces[i].id, name) >= 0 && streq(name, *p)) {
                                owner = s->workspaces[i].id;
                                keep = s->active[i];
                        }
                }
                if (keep)
                        continue;
                int k = found(s, F_VETH, owner, NULL, NULL, *p);
                if (k < 0)
                        return k;
        }
        return 0;
}

static const WorkspaceRow *workspace_by_id(const Scan *s, int64_t id, bool *ret_active)
{
        for (size_t i = 0; i < s->n_workspaces; i++)
                if (s->workspaces[i].id == id) {
                        *ret_active = s->active[i];
                        return &s->workspaces[i];
                }
        *ret_active = false;
        return NULL;
}

static int scan_leases(Scan *s)
{
        _cleanup_error_ Error e = ERROR_INIT;
        _cleanup_free_ NetLease *leases = NULL;
        size_t n = 0;
        if (registry_leases_list(s->reg, &leases, &n, &e) < 0)
                return unchecked(s, "address leases", &e);
        for (size_t i = 0; i < n; i++) {
                bool active;
                const WorkspaceRow *w = workspace_by_id(s, leases[i].workspace_id, &active);
                if (active)
                        continue;
                char addr[NET_ADDR_STRLEN], what[200];
                snprintf(what, sizeof what, "%s of %s%s%s", net_addr_format(leases[i].addr, addr),
                         w ? w->sandbox : "workspace", w ? "/" : " #", w ? w->name : "?");
                int k = found(s, F_LEASE, leases[i].workspace_id, w ? w->sandbox : NULL, w ? w->name : NULL, what);
                if (k < 0)
                        return k;
        }
        return 0;
}

/* ---- cgroups ---- */

static bool workspace_active(const Scan *s, const char *sandbox, const char *name)
{
        size_t i;
        return workspace_by_name(s, sandbox, name, &i) && s->active[i];
}

static int scan_cgroups(Engine *eng, Scan *s)
{
        for (size_t i = 0; i < s->n_sandboxes; i++) {
                const SandboxRow *sb = &s->sandboxes[i];
                _cleanup_cgroup_ Cgroup *cg = NULL;
                if (sandbox_in_flight(sb) || sandbox_cgroup_open(eng, sb->name, &cg, NULL) < 0)
                        continue;
                _cleanup_strv_free_ char **seen = NULL;
                for (size_t j = 0; j < cg->n_nodes; j++) {
                        _cleanup_closedir_ DIR *dp = opendir(cg->nodes[j].path);
                        struct dirent *de;
                        while (dp && (de = readdir(dp))) {
                                if (de->d_type != DT_DIR || de->d_name[0] == '.' || strv_contains(seen, de->d_name))
                                        continue;
                                if (strv_push(&seen, de->d_name) < 0)
                                        return -ENOMEM;
                                if (workspace_active(s, sb->name, de->d_name))
                                        continue;
                                _cleanup_free_ char *p = path_join(cg->nodes[j].path, de->d_name), *what = NULL;
                                _cleanup_cgroup_ Cgroup *ws = NULL;
                                uint64_t procs = 0;
                                if (cgroup_open(cg, de->d_name, &ws, NULL) >= 0)
                                        (void) cgroup_count_procs(ws, &procs);
                                if (!p || (procs > 0 ? asprintf(&what, "%s (%llu process(es) of a workspace that "
                                                                "does not run)", p, (unsigned long long) procs)
                                                     : asprintf(&what, "%s", p)) < 0 ||
                                    found(s, F_CGROUP, -1, sb->name, de->d_name, what) < 0)
                                        return -ENOMEM;
                        }
                }
        }
        return 0;
}

/* ---- what a crash leaves: frozen groups, loop devices, tmp/ ---- */

static int scan_frozen(Engine *eng, Scan *s)
{
        for (size_t i = 0; i < s->n_workspaces; i++) {
                const WorkspaceRow *w = &s->workspaces[i];
                _cleanup_cgroup_ Cgroup *sb = NULL, *cg = NULL;
                if (sandbox_cgroup_open(eng, w->sandbox, &sb, NULL) < 0 || cgroup_open(sb, w->name, &cg, NULL) < 0)
                        continue;
                /* A snapshot in flight freezes it for the copy. */
                if (!leftover_cgroup_frozen(cg) || claim_held(w->id, CLAIM_SNAPSHOT))
                        continue;
                char what[160];
                snprintf(what, sizeof what, "%s/%s", w->sandbox, w->name);
                int k = found(s, F_FROZEN, w->id, w->sandbox, w->name, what);
                if (k < 0)
                        return k;
        }
        return 0;
}

static int scan_loop_devices(Engine *eng, Scan *s)
{
        char state[PATH_MAX];
        if (!realpath(eng->settings.state_dir, state))
                return unchecked_errno(s, "loop devices", -errno);
        LoopBinding *v = NULL;
        size_t n = 0;
        int k = loopdev_list_below(state, &v, &n);
        if (k < 0)
                return k == -ENOMEM ? k : unchecked_errno(s, "loop devices (/sys/block)", k);
        for (size_t i = 0; i < n && k >= 0; i++) {
                _cleanup_free_ char *sb = NULL, *name = NULL, *what = NULL;
                bool known = leftover_workspace_of_path(state, v[i].backing, &sb, &name) >= 0;
                if (known && workspace_active(s, sb, name))
                        continue;
                if (asprintf(&what, "loop%d (%s)", v[i].nr, v[i].backing) < 0)
                        k = -ENOMEM;
                else
                        k = found(s, F_LOOP, -1, known ? sb : NULL, known ? name : NULL, what);
        }
        loop_bindings_free(v, n);
        return k;
}

static int scan_tmp(Engine *eng, Scan *s)
{
        _cleanup_free_ char *tmp = NULL;
        _cleanup_strv_free_ char **stale = NULL;
        _cleanup_error_ Error e = ERROR_INIT;
        if (layout_tmp_dir(eng->settings.state_dir, &tmp, &e) < 0 || staging_list_stale(tmp, &stale, &e) < 0)
                return unchecked(s, "tmp/", &e);
        int k = 0;
        STRV_FOREACH(p, stale)
                if ((k = found(s, F_TMP, -1, NULL, NULL, *p)) < 0)
                        break;
        return k;
}

/* ---- host id leases ---- */

static int scan_ids(Scan *s)
{
        static const FindingKind kind_of[] = {
                [ID_FINDING_OWN_ORPHAN] = F_ID_ORPHAN,
                [ID_FINDING_NO_LEASE] = F_ID_UNLEASED,
                [ID_FINDING_CONFLICT] = F_ID_CONFLICT,
                [ID_FINDING_FOREIGN_ORPHAN] = F_ID_FOREIGN,
        };
        _cleanup_error_ Error e = ERROR_INIT;
        IdFinding *f = NULL;
        size_t n = 0;
        if (workspace_ids_scan(s->reg, &f, &n, &e) < 0)
                return unchecked(s, "host id leases", &e);
        int k = 0;
        for (size_t i = 0; i < n && k >= 0; i++)
                k = found(s, kind_of[f[i].kind], f[i].base, NULL, NULL, f[i].what);
        id_findings_free(f, n);
        return k;
}

/* ---- the scan ---- */

static int scan_run(Engine *eng, Registry *reg, Scan *s, Error *err)
{
        s->reg = reg;
        _cleanup_error_ Error e = ERROR_INIT;
        if (registry_integrity_check(reg, &e) < 0 && !(s->integrity = strdup(error_msg(&e))))
                return error_set(err, ENOMEM, "out of memory");
        int k = registry_sandbox_list(reg, &s->sandboxes, &s->n_sandboxes, err);
        if (k >= 0)
                k = registry_workspace_list(reg, -1, &s->workspaces, &s->n_workspaces, err);
        if (k < 0)
                return error_wrap(err, "reading the registry");
        k = scan_processes(eng, s);
        if (k >= 0)
                k = scan_sandbox_dirs(eng, s);
        if (k >= 0)
                k = scan_workspace_rows(eng, s);
        if (k >= 0)
                k = scan_mounts(eng, s);
        if (k >= 0)
                k = scan_veths(eng, s);
        if (k >= 0)
                k = scan_leases(s);
        if (k >= 0)
                k = scan_cgroups(eng, s);
        if (k >= 0)
                k = scan_frozen(eng, s);
        if (k >= 0)
                k = scan_loop_devices(eng, s);
        if (k >= 0)
                k = scan_tmp(eng, s);
        if (k >= 0)
                k = scan_ids(s);
        if (k < 0)
                return error_setc(err, -k, "checking the state");
        return 0;
}

int doctor_check_state(Engine *eng, Registry *reg, DoctorReport *r)
{
        _cleanup_error_ Error err = ERROR_INIT;
        _cleanup_(scan_done) Scan s = {};
        int k = scan_run(eng, reg, &s, &err);
        if (k == -ENOMEM)
                return k;
        if (k < 0)
                return doctor_report_add(r, STATE, "state.registry", DOCTOR_FAIL, "registry", error_msg(&err),
                                         "check that the state dir and registry.db are readable by the daemon", NULL);
        k = doctor_report_add(r, STATE, "state.integrity", s.integrity ? DOCTOR_FAIL : DOCTOR_OK, "registry integrity",
                              s.integrity, s.integrity ? "stop the daemon, keep a copy of registry.db and run "
                                                         "'sqlite3 registry.db .recover'" : NULL,
                              NULL);
        for (FindingKind kind = 0; k >= 0 && kind < _F_MAX; kind++) {
                _cleanup_strv_free_ char **items = NULL;
                for (size_t i = 0; i < s.n; i++)
                        if (s.f[i].kind == kind && strv_push(&items, s.f[i].what) < 0)
                                return -ENOMEM;
                size_t n = strv_length(items);
                char detail[64];
                snprintf(detail, sizeof detail, "%zu found", n);
                k = doctor_report_add(r, STATE, kinds[kind].id, n ? kinds[kind].status : DOCTOR_OK, kinds[kind].title,
                                      n ? detail : NULL, n ? kinds[kind].hint : NULL, items);
        }
        if (k >= 0 && s.unchecked)
                k = doctor_report_add(r, STATE, "state.unchecked", DOCTOR_WARN, "parts of the state not checked",
                                      NULL, "see the items; the daemon's log has more", s.unchecked);
        return k;
}

/* ---- repair ---- */

static int note(char ***list, const char *fmt, ...) _printf_(2, 3);
static int note(char ***list, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        int r = strv_vprintf(list, fmt, ap);
        va_end(ap);
        return r;
}

/* Leave a finding alone and say why, once per line (several findings
 * of one workspace meet the same reason): 1, or -ENOMEM. */
static int leave(RepairResult *ret, const char *fmt, ...) _printf_(2, 3);
static int leave(RepairResult *ret, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        _cleanup_free_ char *line = str_vprintf(fmt, ap);
        va_end(ap);
        if (!line)
                return -ENOMEM;
        if (strv_contains(ret->left, line))
                return 1;
        return strv_consume(&ret->left, TAKE_PTR(line)) < 0 ? -ENOMEM : 1;
}

/* cgroup_open() goes by the first hierarchy only: a group left in the
 * others alone (the scan looks at all of them) goes directory by
 * directory; one that still holds processes stays (-EBUSY). */
static int remove_cgroup_leftovers(const Cgroup *sb, const char *name, Error *err)
{
        for (size_t i = 0; i < sb->n_nodes; i++) {
                _cleanup_free_ char *p = path_join(sb->nodes[i].path, name);
                if (!p)
                        return error_set(err, ENOMEM, "out of memory");
                if (rmdir(p) < 0 && errno != ENOENT)
                        return error_setc(err, errno, "removing %s", p);
        }
        return 0;
}

/* Remove a cgroup; what still runs in it is killed only when kill. */
static int remove_cgroup(Engine *eng, const char *sandbox, const char *name, bool kill, Error *err)
{
        _cleanup_cgroup_ Cgroup *sb = NULL, *cg = NULL;
        int k = sandbox_cgroup_open(eng, sandbox, &sb, err);
        if (k >= 0)
                k = cgroup_open(sb, name, &cg, err);
        if (k == -ENOENT) {
                error_clear(err);
                return sb ? remove_cgroup_leftovers(sb, name, err) : 0;
        }
        if (k < 0)
                return k;
        k = cgroup_destroy(cg, err);
        if (k != -EBUSY || !kill)
                return k;
        error_clear(err);
        k = cgroup_kill(cg, err);
        return k < 0 ? k : cgroup_destroy(cg, err);
}

static int repair_dead(Engine *eng, Scan *s, const Finding *f, RepairResult *ret)
{
        _cleanup_error_ Error e = ERROR_INIT;
        /* Its PID namespace died with its init: nothing of it runs. */
        if (remove_cgroup(eng, f->sandbox, f->workspace, true, &e) < 0)
                return note(&ret->left, "%s: removing its cgroup: %s", f->what, error_msg(&e));
        network_ports_stop(eng, f->id);
        network_release_workspace(eng, f->id);
        if (registry_workspace_set_ended(s->reg, f->id, WORKSPACE_STATE_STOPPED, -1, 0, &e) < 0)
                return note(&ret->left, "%s: %s", f->what, error_msg(&e));
        return note(&ret->done, "workspace %s/%s: its process was gone; cleaned up and marked stopped", f->sandbox,
                    f->workspace);
}

static int repair_veth(Engine *eng, const Finding *f, RepairResult *ret)
{
        if (f->id >= 0) {
                network_release_workspace(eng, f->id);
                return note(&ret->done, "removed veth %s (and the address and firewall entry of its workspace)",
                            f->what);
        }
        _cleanup_error_ Error e = ERROR_INIT;
        _cleanup_nl_ NlSock *nl = NULL;
        if (nl_open(&nl, &e) < 0 || link_delete(nl, f->what, &e) < 0)
                return note(&ret->left, "veth %s: %s", f->what, error_msg(&e));
        return note(&ret->done, "removed veth %s", f->what);
}

/* The workspace does not run (checked under its claim when it has a
 * row): whatever runs in its cgroup is the init of a start cut short,
 * with its disk image attached, and goes. */
static int repair_cgroup(Engine *eng, const Finding *f, RepairResult *ret)
{
        _cleanup_error_ Error e = ERROR_INIT;
        int k = remove_cgroup(eng, f->sandbox, f->workspace, true, &e);
        if (k < 0)
                return note(&ret->left, "cgroup %s: %s", f->what, error_msg(&e));
        return note(&ret->done, "removed cgroup %s", f->what);
}

static int repair_frozen(Engine *eng, const Finding *f, RepairResult *ret)
{
        _cleanup_cgroup_ Cgroup *sb = NULL, *cg = NULL;
        _cleanup_error_ Error e = ERROR_INIT;
        int k = sandbox_cgroup_open(eng, f->sandbox, &sb, &e);
        if (k >= 0)
                k = cgroup_open(sb, f->workspace, &cg, &e);
        if (k == -ENOENT || (k >= 0 && !leftover_cgroup_frozen(cg)))
                return 0;
        if (k >= 0)
                k = cgroup_thaw(cg, &e);
        if (k < 0)
                return note(&ret->left, "workspace %s: %s", f->what, error_msg(&e));
        return note(&ret->done, "thawed workspace %s (a snapshot of it was cut short)", f->what);
}

/* Runs after the cgroup and mount repairs: with what held the image
 * gone, autoclear unbinds the device. */
static int repair_loop(Engine *eng, const Finding *f, RepairResult *ret)
{
        const char *backing = strchr(f->what, '(');
        _cleanup_free_ char *path = backing ? strndup(backing + 1, strlen(backing + 1) - 1) : NULL;
        struct stat st;
        if (!path || stat(path, &st) < 0)
                return 0; /* the image is gone: nothing of ours holds it */
        int nr = -1;
        int k = loopdev_wait_unbound(st.st_dev, st.st_ino, 2000, &nr);
        if (k == -EBUSY) {
                /* Bound without a holder (by hand, losetup): unbind it; with
                 * one, the kernel unbinds it once that goes. */
                (void) loopdev_detach(nr);
                k = loopdev_wait_unbound(st.st_dev, st.st_ino, 500, &nr);
        }
        if (k == -EBUSY)
                return note(&ret->left, "%s is still held by a mount (registry repair --strict detaches mounts "
                            "under the state dir; a mount elsewhere must be unmounted by hand)", f->what);
        if (k < 0)
                return note(&ret->left, "%s: %s", f->what, strerror(-k));
        return note(&ret->done, "%s was freed", f->what);
}

static int repair_tmp(Engine *eng, RepairResult *ret)
{
        _cleanup_free_ char *tmp = NULL;
        _cleanup_strv_free_ char **removed = NULL, **left = NULL;
        _cleanup_error_ Error e = ERROR_INIT;
        if (layout_tmp_dir(eng->settings.state_dir, &tmp, &e) < 0 || staging_sweep(tmp, false, &removed, &left, &e) < 0)
                return note(&ret->left, "tmp/: %s", error_msg(&e));
        int k = 0;
        STRV_FOREACH(p, removed)
                if (k >= 0)
                        k = note(&ret->done, "removed %s (an operation that did not finish left it)", *p);
        STRV_FOREACH(p, left)
                if (k >= 0)
                        k = note(&ret->left, "%s", *p);
        return k;
}

static int repair_snapshots(Scan *s, const Finding *f, Engine *eng, RepairResult *ret)
{
        _cleanup_free_ char *ws_dir = NULL;
        _cleanup_error_ Error e = ERROR_INIT;
        int k = layout_workspace_dir(eng->settings.state_dir, f->sandbox, f->workspace, &ws_dir, &e);
        if (k >= 0)
                k = snapshot_rows_sync(s->reg, f->id, ws_dir, false, NULL, &e);
        if (k < 0)
                return note(&ret->left, "%s: %s", f->what, error_msg(&e));
        return k > 0 ? note(&ret->done, "snapshot rows of %s/%s now match its snapshots", f->sandbox, f->workspace) : 0;
}

/* Detach deepest first, so a parent is never busy with a child. */
static int repair_mounts(Scan *s, RepairResult *ret)
{
        _cleanup_strv_free_ char **mps = NULL;
        for (size_t i = 0; i < s->n; i++)
                if (s->f[i].kind == F_MOUNT && strv_push(&mps, s->f[i].what) < 0)
                        return -ENOMEM;
        size_t n = strv_length(mps);
        for (size_t i = n; i > 0; i--) {
                const char *mp = mps[i - 1];
                int k = umount2(mp, MNT_DETACH | UMOUNT_NOFOLLOW) < 0 ? -errno : 0;
                k = k < 0 ? note(&ret->left, "unmounting %s: %s", mp, strerror(-k))
                          : note(&ret->done, "detached the mount on %s", mp);
                if (k < 0)
                        return k;
        }
        return 0;
}

/* Remove parent/name, never following a symlink or crossing a mount. */
static int remove_dir(const char *path, RepairResult *ret)
{
        _cleanup_free_ char *copy = strdup(path);
        if (!copy)
                return -ENOMEM;
        char *slash = strrchr(copy, '/');
        if (!slash || slash == copy)
                return note(&ret->left, "%s: not below the state dir", path);
        *slash = 0;
        _cleanup_close_ int dfd = open(copy, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int k = dfd < 0 ? -errno : rm_rf_at(dfd, slash + 1);
        if (k == -EBUSY)
                return note(&ret->left, "%s holds a mount (registry repair --strict detaches it first)", path);
        if (k < 0)
                return note(&ret->left, "removing %s: %s", path, strerror(-k));
        return note(&ret->done, "removed %s (it had no registry row)", path);
}

static int delete_workspace_row(Engine *eng, Scan *s, const Finding *f, RepairResult *ret)
{
        _cleanup_error_ Error e = ERROR_INIT;
        if (registry_workspace_delete(s->reg, f->id, &e) < 0)
                return note(&ret->left, "workspace %s/%s: %s", f->sandbox, f->workspace, error_msg(&e));
        network_release_workspace(eng, f->id);
        (void) remove_cgroup(eng, f->sandbox, f->workspace, false, &e);
        bool active;
        const WorkspaceRow *w = workspace_by_id(s, f->id, &active);
        if (w && workspace_ids_release(w->uid_base, &e) < 0)
                log_warn("workspace %s/%s: %s", f->sandbox, f->workspace, error_msg(&e));
        return note(&ret->done, "deleted the row of workspace %s/%s (its directory was gone)", f->sandbox,
                    f->workspace);
}

static int delete_sandbox_row(Engine *eng, Scan *s, const Finding *f, RepairResult *ret)
{
        for (size_t i = 0; i < s->n_workspaces; i++)
                if (streq(s->workspaces[i].sandbox, f->sandbox) && s->active[i])
                        return note(&ret->left, "sandbox %s: its workspace %s still runs; stop it first", f->sandbox,
                                    s->workspaces[i].name);
        _cleanup_error_ Error e = ERROR_INIT;
        _cleanup_txn_ RegistryTxn txn = {};
        int k = registry_txn_begin(s->reg, &txn, &e);
        if (k >= 0)
                k = registry_run(s->reg, &e, "DELETE FROM workspaces WHERE sandbox_id = ?", "i", f->id);
        if (k >= 0)
                k = registry_run(s->reg, &e, "DELETE FROM sandboxes WHERE id = ?", "i", f->id);
        if (k >= 0)
                k = registry_txn_commit(&txn, &e);
        if (k < 0)
                return note(&ret->left, "sandbox %s: %s", f->sandbox, error_msg(&e));
        if (sandbox_cgroup_remove(eng, f->sandbox, &e) < 0)
                log_warn("sandbox %s: %s", f->sandbox, error_msg(&e));
        /* Its directory, and every file owned by its workspaces' ids, is gone. */
        for (size_t i = 0; i < s->n_workspaces; i++)
                if (streq(s->workspaces[i].sandbox, f->sandbox) && workspace_ids_release(s->workspaces[i].uid_base, &e) < 0)
                        log_warn("sandbox %s: %s", f->sandbox, error_msg(&e));
        return note(&ret->done, "deleted the rows of sandbox %s and its workspaces (its directory was gone)",
                    f->sandbox);
}

static int repair_ids(Engine *eng, Scan *s, const Finding *f, RepairResult *ret)
{
        static const IdFindingKind kind_of[_F_MAX] = {
                [F_ID_ORPHAN] = ID_FINDING_OWN_ORPHAN,
                [F_ID_UNLEASED] = ID_FINDING_NO_LEASE,
                [F_ID_FOREIGN] = ID_FINDING_FOREIGN_ORPHAN,
        };
        IdFinding idf = { kind_of[f->kind], (uint32_t) f->id, f->what };
        _cleanup_error_ Error e = ERROR_INIT;
        int k = workspace_ids_repair(eng, s->reg, &idf, &e);
        if (k < 0)
                return note(&ret->left, "%s: %s", f->what, error_msg(&e));
        if (k == 0)
                return 0;
        return note(&ret->done, "%s: %s", f->kind == F_ID_UNLEASED ? "leased" : "released", f->what);
}

static int repair_one(Engine *eng, Scan *s, const Finding *f, bool strict, RepairResult *ret)
{
        switch (f->kind) {
        case F_DEAD_RUNNING: return repair_dead(eng, s, f, ret);
        case F_LEASE:
                network_release_workspace(eng, f->id);
                return note(&ret->done, "released %s (address and firewall entry)", f->what);
        case F_VETH: return repair_veth(eng, f, ret);
        case F_CGROUP: return repair_cgroup(eng, f, ret);
        case F_FROZEN: return repair_frozen(eng, f, ret);
        case F_LOOP: return repair_loop(eng, f, ret);
        case F_SNAPSHOT_ROWS: return repair_snapshots(s, f, eng, ret);
        case F_SANDBOX_DIR_NO_ROW:
        case F_WS_DIR_NO_ROW: return remove_dir(f->what, ret);
        case F_WS_NO_DIR:
                return strict ? delete_workspace_row(eng, s, f, ret)
                              : note(&ret->left, "workspace %s/%s has no directory (registry repair --strict deletes "
                                     "its row)", f->sandbox, f->workspace);
        case F_SANDBOX_NO_DIR:
                return strict ? delete_sandbox_row(eng, s, f, ret)
                              : note(&ret->left, "sandbox %s has no directory (registry repair --strict deletes its "
                                     "rows)", f->sandbox);
        case F_MOUNT:
                return strict ? 0 : note(&ret->left, "%s is still mounted (registry repair --strict detaches it)",
                                         f->what);
        case F_UNTRACKED:
                return note(&ret->left, "%s runs but the daemon does not watch it: restart the daemon", f->what);
        case F_ID_ORPHAN:
        case F_ID_UNLEASED:
        case F_ID_FOREIGN: return repair_ids(eng, s, f, ret);
        case F_ID_CONFLICT:
                return note(&ret->left, "%s: destroy and recreate that workspace to give it host ids of its own",
                            f->what);
        default: return 0;
        }
}

/* ---- holding the workspace of a finding ----
 *
 * A start holds a lease, a veth and a cgroup before its workspace is
 * tracked and recorded as running, so what the scan saw as stale may
 * be a start in flight. Before touching what belongs to a workspace,
 * repair takes the claim that start, stop, destroy and snapshot restore
 * take (so none of them runs meanwhile) — for snapshot rows also the
 * one of snapshot operations — then checks under it that the finding
 * still holds: one of them may have finished between the scan and the
 * claim. */

typedef struct Held {
        Engine *eng;
        int64_t id;        /* the workspace's row, -1 when the finding has none */
        char *sandbox;     /* NULL when no row names it (a lease of a deleted row) */
        char *name;
        bool claimed;
        bool snapshot_claimed;
} Held;

static void held_done(Held *h)
{
        if (h->claimed)
                claim_release(h->id, CLAIM_LIFECYCLE);
        if (h->snapshot_claimed)
                claim_release(h->id, CLAIM_SNAPSHOT);
        free(h->sandbox);
        free(h->name);
}

static int held_set(Held *h, int64_t id, const char *sandbox, const char *name)
{
        h->id = id;
        if (!sandbox || !name)
                return 0;
        h->sandbox = strdup(sandbox);
        h->name = strdup(name);
        return h->sandbox && h->name ? 0 : -ENOMEM;
}

/* A veth no scanned row owns may belong to a workspace created after
 * the scan read the rows: look in the registry again. */
static int veth_owner_now(Engine *eng, Scan *s, const Finding *f, Held *h, RepairResult *ret)
{
        WorkspaceRow *rows = NULL;
        size_t n = 0;
        _cleanup_error_ Error e = ERROR_INIT;
        if (registry_workspace_list(s->reg, -1, &rows, &n, &e) < 0)
                return leave(ret, "veth %s: %s", f->what, error_msg(&e));
        int k = 0;
        for (size_t i = 0; i < n && h->id < 0 && k >= 0; i++) {
                char name[IFNAMSIZ];
                if (veth_of(eng, rows[i].id, name) >= 0 && streq(name, f->what))
                        k = held_set(h, rows[i].id, rows[i].sandbox, rows[i].name);
        }
        workspace_rows_free(rows, n);
        return k;
}

/* A cgroup is named after its workspace; its row may be newer than
 * the scan. */
static int cgroup_owner_now(Scan *s, const Finding *f, Held *h, RepairResult *ret)
{
        if (!f->sandbox || !f->workspace)
                return 0;
        const WorkspaceRow *w = workspace_by_name(s, f->sandbox, f->workspace, NULL);
        if (w)
                return held_set(h, w->id, w->sandbox, w->name);
        _cleanup_workspace_row_ WorkspaceRow row = {};
        _cleanup_error_ Error e = ERROR_INIT;
        int k = registry_workspace_get(s->reg, f->sandbox, f->workspace, &row, &e);
        if (k == -ENOENT)
                return 0;
        if (k < 0)
                return leave(ret, "cgroup %s: %s", f->what, error_msg(&e));
        return held_set(h, row.id, row.sandbox, row.name);
}

/* The workspace whose things repairing f touches, into h (h->id stays
 * -1 when none): 0, 1 when left alone with a note, or -ENOMEM. */
static int finding_owner(Engine *eng, Scan *s, const Finding *f, bool strict, Held *h, RepairResult *ret)
{
        switch (f->kind) {
        case F_VETH:
                if (f->id < 0)
                        return veth_owner_now(eng, s, f, h, ret);
                break;
        case F_CGROUP:
        case F_LOOP: return cgroup_owner_now(s, f, h, ret);
        case F_WS_NO_DIR:
                if (!strict)
                        return 0; /* only a note */
                break;
        case F_DEAD_RUNNING:
        case F_UNTRACKED:
        case F_LEASE:
        case F_FROZEN:
        case F_SNAPSHOT_ROWS: break;
        default: return 0;
        }
        bool active;
        const WorkspaceRow *w = workspace_by_id(s, f->id, &active);
        return held_set(h, f->id, w ? w->sandbox : NULL, w ? w->name : NULL);
}

/* What changed since the scan, under the claim; NULL when the finding
 * still holds. err is set when the row could not be read. Snapshot
 * rows are repaired whether the workspace runs or not: for them only
 * the row itself matters. */
static const char *finding_change(Engine *eng, Scan *s, const Finding *f, const Held *h, Error *err)
{
        /* Snapshot rows and a frozen group are fixed whether it runs or not. */
        bool any_state = f->kind == F_SNAPSHOT_ROWS || f->kind == F_FROZEN;
        _cleanup_running_ RunningWorkspace *rw = any_state ? NULL : workspace_engine_get_by_id(eng, h->id);
        if (rw)
                return "the daemon runs it";
        if (!h->sandbox)
                return NULL;
        _cleanup_workspace_row_ WorkspaceRow row = {};
        int k = registry_workspace_get(s->reg, h->sandbox, h->name, &row, err);
        if (k == -ENOENT || (k >= 0 && row.id != h->id)) {
                error_clear(err);
                return k < 0 ? "it was destroyed since the scan" : "it was destroyed and created again since the scan";
        }
        if (k < 0)
                return "its row could not be read";
        if (any_state)
                return NULL;
        bool alive = row.pid > 0 && pid_is_same_process(row.pid, row.pid_start_time);
        if (f->kind == F_UNTRACKED)
                return alive ? NULL : "its process ended since the scan";
        if (alive)
                return "it runs";
        if (f->kind == F_DEAD_RUNNING && !streq(row.state, WORKSPACE_STATE_RUNNING))
                return "it is no longer marked running";
        return NULL;
}

static void held_label(const Held *h, char *buf, size_t size)
{
        if (h->sandbox)
                snprintf(buf, size, "%s/%s", h->sandbox, h->name);
        else
                snprintf(buf, size, "#%lld", (long long) h->id);
}

/* The claims repairing f needs: -EBUSY when another request holds one.
 * Snapshot rows change under a snapshot operation (which may wait here
 * for a snapshot's flush to settle). */
static int held_claim(Engine *eng, const Finding *f, Held *h, const char *label, Error *err)
{
        const char *sb = h->sandbox ? h->sandbox : "?", *ws = h->name ? h->name : label;
        if (f->kind == F_SNAPSHOT_ROWS || f->kind == F_FROZEN) {
                int k = claim_take(h->id, CLAIM_SNAPSHOT, sb, ws, err);
                if (k < 0)
                        return k;
                h->snapshot_claimed = true;
        }
        int k = claim_take(h->id, CLAIM_LIFECYCLE, sb, ws, err);
        if (k < 0)
                return k;
        h->claimed = true;
        return 0;
}

/* Claim the workspace of f (if it has one) and check that f still
 * holds: 0 to go ahead, 1 when left alone with a note, or -ENOMEM. */
static int hold_finding(Engine *eng, Scan *s, const Finding *f, bool strict, Held *h, RepairResult *ret)
{
        int k = finding_owner(eng, s, f, strict, h, ret);
        if (k != 0 || h->id < 0)
                return k;
        char label[160];
        held_label(h, label, sizeof label);
        _cleanup_error_ Error e = ERROR_INIT;
        k = held_claim(eng, f, h, label, &e);
        if (k == -EBUSY)
                return leave(ret, "workspace %s is busy: it is being started, stopped, destroyed, restored or "
                             "snapshotted; run 'enclave registry repair' again when that is done", label);
        if (k < 0)
                return k;
        const char *change = finding_change(eng, s, f, h, &e);
        if (!change)
                return 0;
        if (e.code)
                return leave(ret, "%s: %s: %s", f->what, change, error_msg(&e));
        return leave(ret, "workspace %s: %s; left %s alone (run 'enclave registry repair' again to check)", label,
                     change, f->what);
}

/* Repair f while its workspace is held, so no start, stop or destroy
 * of it interleaves. */
static int repair_held(Engine *eng, Scan *s, const Finding *f, bool strict, RepairResult *ret)
{
        _cleanup_(held_done) Held h = { .eng = eng, .id = -1 };
        int k = hold_finding(eng, s, f, strict, &h, ret);
        if (k != 0)
                return k < 0 ? k : 0;
        return repair_one(eng, s, f, strict, ret);
}

/* Findings in the order that makes each step possible: processes and
 * network first, mounts before the directories that hold them. */
static const FindingKind repair_order[] = {
        F_DEAD_RUNNING, F_UNTRACKED, F_FROZEN, F_LEASE, F_VETH, F_CGROUP, F_SNAPSHOT_ROWS, F_MOUNT, F_LOOP, F_TMP,
        F_WS_DIR_NO_ROW, F_SANDBOX_DIR_NO_ROW, F_WS_NO_DIR, F_SANDBOX_NO_DIR,
        F_ID_UNLEASED, F_ID_ORPHAN, F_ID_FOREIGN, F_ID_CONFLICT,
};

int doctor_repair(Engine *eng, Registry *reg, bool strict, RepairResult *ret, Error *err)
{
        _cleanup_(scan_done) Scan s = {};
        int k = scan_run(eng, reg, &s, err);
        if (k < 0)
                return k;
        *ret = (RepairResult) {};
        if (s.integrity)
                k = note(&ret->left, "the registry is damaged (%s): stop the daemon, keep a copy of registry.db and "
                         "run 'sqlite3 registry.db .recover'", s.integrity);
        STRV_FOREACH(u, s.unchecked)
                if (k >= 0)
                        k = note(&ret->left, "not checked: %s", *u);
        for (size_t o = 0; k >= 0 && o < ELEMENTSOF(repair_order); o++) {
                if (repair_order[o] == F_MOUNT && strict) {
                        k = repair_mounts(&s, ret);
                        continue;
                }
                if (repair_order[o] == F_TMP) {
                        bool any = false;
                        for (size_t i = 0; i < s.n; i++)
                                any |= s.f[i].kind == F_TMP;
                        if (any)
                                k = repair_tmp(eng, ret);
                        continue;
                }
                for (size_t i = 0; k >= 0 && i < s.n; i++)
                        if (s.f[i].kind == repair_order[o]) {
                                k = repair_held(eng, &s, &s.f[i], strict, ret);
                                if (ret->done)
                                        crash_point(CRASH_POINT_REPAIR_FIXED_ONE);
                        }
        }
        if (k < 0) {
                repair_result_done(ret);
                return error_setc(err, -k, "repairing the state");
        }
        STRV_FOREACH(l, ret->done)
                log_info("registry repair: %s", *l);
        return 0;
}
