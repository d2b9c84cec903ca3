/* Processes of running workspaces from /proc (project-ps.h). */
#include "engine/project-ps.h"
#include "registry/registry-sandbox.h"
#include "registry/registry-workspace.h"
#include "base/syscalls.h"
#include "base/fs.h"
#include "base/process.h"
#include "base/str.h"

#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>

#define PS_FILE_MAX (1024u * 1024)
#define PS_CMDLINE_MAX 4096u
#define PATH_MAX_PROC 320 /* "/proc/" + a d_name + a file name */

/* One running workspace we look for. */
typedef struct Target {
        const WorkspaceRow *row;
        dev_t ns_dev;
        ino_t ns_ino;
        char *uid_map;
        char *passwd;     /* NULL when unreadable */
} Target;

int64_t project_ps_map_uid(const char *uid_map, uint32_t host_uid)
{
        const char *p = uid_map;
        while (p && *p) {
                unsigned long long inside, outside, count;
                if (sscanf(p, "%llu %llu %llu", &inside, &outside, &count) == 3 && host_uid >= outside &&
                    host_uid - outside < count)
                        return (int64_t) (inside + (host_uid - outside));
                p = strchr(p, '\n');
                if (p)
                        p++;
        }
        return -1;
}

char *project_ps_user_name(const char *passwd, uint32_t uid)
{
        const char *line = passwd;
        while (line && *line) {
                const char *end = strchrnul(line, '\n');
                const char *c1 = memchr(line, ':', (size_t) (end - line));
                const char *c2 = c1 ? memchr(c1 + 1, ':', (size_t) (end - c1 - 1)) : NULL;
                if (c1 && c2 && c1 > line) {
                        char *num_end;
                        errno = 0;
                        unsigned long v = strtoul(c2 + 1, &num_end, 10);
                        if (errno == 0 && num_end != c2 + 1 && *num_end == ':' && v == uid)
                                return strndup(line, (size_t) (c1 - line));
                }
                line = *end ? end + 1 : NULL;
        }
        return NULL;
}

/* Read a small regular file below root_fd, resolved inside that root. */
static char *read_inside(int root_fd, const char *path)
{
        _cleanup_close_ int fd = sys_openat2(root_fd, path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC,
                                             RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
        struct stat st;
        char *data = NULL;
        if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || read_full_fd(fd, PS_FILE_MAX, &data, NULL) < 0)
                return NULL;
        return data;
}

static int target_open(const WorkspaceRow *row, Target *t)
{
        char path[PATH_MAX_PROC];
        struct stat st;
        *t = (Target) { .row = row };
        if (row->pid <= 0 || !pid_is_same_process(row->pid, row->pid_start_time))
                return -ESRCH;
        snprintf(path, sizeof path, "/proc/%d/ns/pid", (int) row->pid);
        if (stat(path, &st) < 0)
                return -errno;
        t->ns_dev = st.st_dev;
        t->ns_ino = st.st_ino;
        snprintf(path, sizeof path, "/proc/%d/uid_map", (int) row->pid);
        if (read_full_file(path, PS_FILE_MAX, &t->uid_map, NULL) < 0)
                t->uid_map = NULL;
        snprintf(path, sizeof path, "/proc/%d/root", (int) row->pid);
        _cleanup_close_ int root = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root >= 0)
                t->passwd = read_inside(root, "/etc/passwd");
        return 0;
}

static void targets_free(Target *t, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(t[i].uid_map);
                free(t[i].passwd);
        }
        free(t);
}

static bool wanted(const WorkspaceRow *row, char *const *names)
{
        return streq(row->state, WORKSPACE_STATE_RUNNING) && (!names || strv_contains(names, row->name));
}

/* "Uid:\t<real> ..." and the last field of "NSpid:". */
static int read_status(int proc_fd, const char *pid, uint32_t *ret_uid, int64_t *ret_inside)
{
        char path[PATH_MAX_PROC];
        snprintf(path, sizeof path, "%s/status", pid);
        _cleanup_close_ int fd = openat(proc_fd, path, O_RDONLY | O_CLOEXEC);
        _cleanup_free_ char *s = NULL;
        if (fd < 0 || read_full_fd(fd, 64 * 1024, &s, NULL) < 0)
                return -ESRCH;
        const char *u = strstr(s, "\nUid:");
        if (!u || sscanf(u + 5, "%" SCNu32, ret_uid) != 1)
                return -EIO;
        *ret_inside = -1;
        const char *n = strstr(s, "\nNSpid:");
        if (n) {
                const char *end = strchrnul(n + 1, '\n');
                const char *last = end;
                while (last > n && (last[-1] == ' ' || last[-1] == '\t'))
                        last--;
                while (last > n && last[-1] != ' ' && last[-1] != '\t')
                        last--;
                *ret_inside = strtoll(last, NULL, 10);
        }
        return 0;
}

static char *read_cmdline(int proc_fd, const char *pid)
{
        char path[PATH_MAX_PROC];
        snprintf(path, sizeof path, "%s/cmdline", pid);
        _cleanup_close_ int fd = openat(proc_fd, path, O_RDONLY | O_CLOEXEC);
        char buf[PS_CMDLINE_MAX];
        ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
        if (n > 0) {
                for (ssize_t i = 0; i < n; i++)
                        if (buf[i] == 0 || buf[i] == '\n')
                                buf[i] = ' ';
                while (n > 0 && buf[n - 1] == ' ')
                        n--;
                buf[n] = 0;
                return strdup(buf);
        }
        /* Kernel threads and zombies have no command line: [comm]. */
        snprintf(path, sizeof path, "%s/comm", pid);
        fd = safe_close(fd);
        fd = openat(proc_fd, path, O_RDONLY | O_CLOEXEC);
        n = fd >= 0 ? read(fd, buf, sizeof buf - 3) : -1;
        if (n <= 0)
                return strdup("?");
        if (buf[n - 1] == '\n')
                n--;
        buf[n] = 0;
        char *s;
        return asprintf(&s, "[%s]", buf) < 0 ? NULL : s;
}

static json_t *process_json(const Target *t, int proc_fd, const char *pid)
{
        uint32_t uid;
        int64_t inside;
        if (read_status(proc_fd, pid, &uid, &inside) < 0)
                return NULL;
        _cleanup_free_ char *cmd = read_cmdline(proc_fd, pid);
        int64_t uid_inside = t->uid_map ? project_ps_map_uid(t->uid_map, uid) : -1;
        _cleanup_free_ char *user = uid_inside >= 0 && t->passwd ? project_ps_user_name(t->passwd, (uint32_t) uid_inside)
                                                                  : NULL;
        char num[24];
        if (!user) {
                if (uid_inside >= 0)
                        snprintf(num, sizeof num, "%" PRId64, uid_inside);
                else
                        snprintf(num, sizeof num, "?");
        }
        return json_pack("{s:s, s:s, s:i, s:I, s:I, s:s, s:s}", "sandbox", t->row->sandbox, "workspace",
                         t->row->name, "pid", atoi(pid), "pid_inside", (json_int_t) inside, "uid",
                         (json_int_t) uid_inside, "user", user ? user : num, "cmd", cmd ? cmd : "?");
}

static int cmp_process(const void *a, const void *b)
{
        json_t *x = *(json_t *const *) a, *y = *(json_t *const *) b;
        int r = strcmp(json_string_value(json_object_get(x, "sandbox")), json_string_value(json_object_get(y, "sandbox")));
        if (r == 0)
                r = strcmp(json_string_value(json_object_get(x, "workspace")),
                           json_string_value(json_object_get(y, "workspace")));
        if (r == 0) {
                json_int_t p = json_integer_value(json_object_get(x, "pid_inside"));
                json_int_t q = json_integer_value(json_object_get(y, "pid_inside"));
                r = p < q ? -1 : p > q;
        }
        return r;
}

static int scan_proc(Target *targets, size_t n, json_t *out, Error *err)
{
        _cleanup_closedir_ DIR *dir = opendir("/proc");
        if (!dir)
                return error_setc(err, errno, "opening /proc");
        int proc_fd = dirfd(dir);
        struct dirent *de;
        while ((de = readdir(dir))) {
                if (de->d_name[0] < '1' || de->d_name[0] > '9')
                        continue;
                char path[PATH_MAX_PROC];
                struct stat st;
                snprintf(path, sizeof path, "%s/ns/pid", de->d_name);
                if (fstatat(proc_fd, path, &st, 0) < 0)
                        continue; /* gone meanwhile */
                for (size_t i = 0; i < n; i++) {
                        if (targets[i].ns_ino != st.st_ino || targets[i].ns_dev != st.st_dev)
                                continue;
                        json_t *p = process_json(&targets[i], proc_fd, de->d_name);
                        if (p && json_array_append_new(out, p) < 0)
                                return error_set(err, ENOMEM, "out of memory");
                        break;
                }
        }
        return 0;
}

static json_t *sorted(json_t *a)
{
        size_t n = json_array_size(a);
        _cleanup_free_ json_t **v = calloc(n + 1, sizeof *v);
        json_t *out = json_array();
        if (!v || !out) {
                json_decref(out);
                return NULL;
        }
        for (size_t i = 0; i < n; i++)
                v[i] = json_array_get(a, i);
        qsort(v, n, sizeof *v, cmp_process);
        for (size_t i = 0; i < n; i++)
                if (json_array_append(out, v[i]) < 0) {
                        json_decref(out);
                        return NULL;
                }
        return out;
}

int project_ps_collect(Registry *reg, int64_t owner, const char *sandbox, char *const *names, json_t **ret,
                       Error *err)
{
        int64_t sandbox_id = -1;
        if (sandbox) {
                _cleanup_(sandbox_row_done) SandboxRow sb = {};
                _cleanup_error_ Error gerr = ERROR_INIT;
                int r = registry_sandbox_get(reg, sandbox, &sb, &gerr);
                if (r >= 0 && owner >= 0 && sb.owner_uid != (uid_t) owner)
                        r = -ENOENT; /* another user's: as if it did not exist */
                if (r == -ENOENT) {
                        *ret = json_array();
                        return *ret ? 0 : error_set(err, ENOMEM, "out of memory");
                }
                if (r < 0) {
                        error_move(err, &gerr);
                        return r;
                }
                sandbox_id = sb.id;
        }
        WorkspaceRow *rows = NULL;
        size_t n_rows = 0;
        int r = registry_workspace_list_owned(reg, owner, sandbox_id, &rows, &n_rows, err);
        if (r < 0)
                return r;
        Target *targets = calloc(n_rows + 1, sizeof *targets);
        size_t n = 0;
        json_t *found = json_array();
        if (!targets || !found)
                r = error_set(err, ENOMEM, "out of memory");
        for (size_t i = 0; r >= 0 && i < n_rows; i++)
                if (wanted(&rows[i], names) && target_open(&rows[i], &targets[n]) >= 0)
                        n++; /* a workspace that stopped meanwhile is skipped */
        if (r >= 0)
                r = scan_proc(targets, n, found, err);
        if (r >= 0 && !(*ret = sorted(found)))
                r = error_set(err, ENOMEM, "out of memory");
        json_decref(found);
        targets_free(targets, n);
        workspace_rows_free(rows, n_rows);
        return r < 0 ? r : 0;
}
