#include "storage/layout.h"
#include "spec/values.h"

#include "base/fs.h"
#include "base/str.h"

#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>

static const char *const workspace_dir_names[_WORKSPACE_DIR_MAX] = {
        [WORKSPACE_DIR_UPPER] = "upper",
        [WORKSPACE_DIR_WORK] = "work",
        [WORKSPACE_DIR_HOME] = "home",
        [WORKSPACE_DIR_LOGS] = "logs",
        [WORKSPACE_DIR_SNAPSHOTS] = "snapshots",
};

const char *workspace_dir_to_string(WorkspaceDir d)
{
        if (d < 0 || d >= _WORKSPACE_DIR_MAX)
                return NULL;
        return workspace_dir_names[d];
}

int layout_check_state_dir(const char *state_dir, Error *err)
{
        if (!state_dir || state_dir[0] != '/')
                return error_set(err, EINVAL, "state dir \"%s\" is not an absolute path",
                                 state_dir ? state_dir : "");
        if (strlen(state_dir) > 3000)
                return error_set(err, ENAMETOOLONG, "state dir path is too long");
        /* Reject "." and ".." components: the daemon compares and
         * prints these paths, so they must name the directory plainly. */
        for (const char *p = state_dir; *p;) {
                while (*p == '/')
                        p++;
                size_t n = strcspn(p, "/");
                if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
                        return error_set(err, EINVAL, "state dir \"%s\" contains \".\" or \"..\"",
                                         state_dir);
                p += n;
        }
        return 0;
}

/* Join state_dir with the NULL-terminated components. */
static int build(char **ret, Error *err, const char *state_dir, ...)
{
        int r = layout_check_state_dir(state_dir, err);
        if (r < 0)
                return r;
        _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
        strbuf_puts(&b, state_dir);
        while (b.len > 1 && b.data[b.len - 1] == '/')
                b.data[--b.len] = 0;
        va_list ap;
        va_start(ap, state_dir);
        for (const char *c; (c = va_arg(ap, const char *));) {
                if (b.len == 0 || b.data[b.len - 1] != '/')
                        strbuf_putc(&b, '/');
                strbuf_puts(&b, c);
        }
        va_end(ap);
        char *s = strbuf_steal(&b);
        if (!s)
                return error_set(err, ENOMEM, "out of memory");
        *ret = s;
        return 0;
}

static int check_sandbox(const char *sandbox, Error *err)
{
        if (sandbox && streq(sandbox, LAYOUT_ROOTFS_CACHE))
                return error_set(err, EINVAL,
                                 "\"%s\" is reserved (the rootfs cache lives there); choose another sandbox name",
                                 LAYOUT_ROOTFS_CACHE);
        if (!layout_sandbox_name_is_valid(sandbox))
                return error_set(err, EINVAL,
                                 "invalid sandbox name \"%s\": use 1-63 characters [A-Za-z0-9_-], starting with a letter or digit",
                                 sandbox ? sandbox : "");
        return 0;
}

static int check_name(const char *what, const char *name, Error *err)
{
        if (!name_is_valid(name))
                return error_set(err, EINVAL,
                                 "invalid %s name \"%s\": use 1-63 characters [A-Za-z0-9_-], starting with a letter or digit",
                                 what, name ? name : "");
        return 0;
}

int layout_registry_db(const char *state_dir, char **ret, Error *err)
{
        return build(ret, err, state_dir, "registry.db", NULL);
}

int layout_sandboxes_dir(const char *state_dir, char **ret, Error *err)
{
        return build(ret, err, state_dir, "sandboxes", NULL);
}

int layout_tmp_dir(const char *state_dir, char **ret, Error *err)
{
        return build(ret, err, state_dir, "tmp", NULL);
}

int layout_cache_dir(const char *state_dir, char **ret, Error *err)
{
        return build(ret, err, state_dir, "cache", NULL);
}

int layout_auth_token(const char *state_dir, const char *provider, char **ret, Error *err)
{
        int r = check_name("auth provider", provider, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *file = NULL;
        if (asprintf(&file, "%s.token", provider) < 0)
                return error_set(err, ENOMEM, "out of memory");
        return build(ret, err, state_dir, "auth", file, NULL);
}

int layout_sandbox_dir(const char *state_dir, const char *sandbox, char **ret, Error *err)
{
        int r = check_sandbox(sandbox, err);
        if (r < 0)
                return r;
        return build(ret, err, state_dir, "sandboxes", sandbox, NULL);
}

int layout_sandbox_rootfs(const char *state_dir, const char *sandbox, char **ret, Error *err)
{
        int r = check_sandbox(sandbox, err);
        if (r < 0)
                return r;
        return build(ret, err, state_dir, "sandboxes", sandbox, "rootfs", NULL);
}

int layout_workspaces_dir(const char *state_dir, const char *sandbox, char **ret, Error *err)
{
        int r = check_sandbox(sandbox, err);
        if (r < 0)
                return r;
        return build(ret, err, state_dir, "sandboxes", sandbox, "workspaces", NULL);
}

int layout_workspace_dir(const char *state_dir, const char *sandbox, const char *workspace,
                         char **ret, Error *err)
{
        int r = check_sandbox(sandbox, err);
        if (r >= 0)
                r = check_name("workspace", workspace, err);
        if (r < 0)
                return r;
        return build(ret, err, state_dir, "sandboxes", sandbox, "workspaces", workspace, NULL);
}

int layout_workspace_subdir(const char *state_dir, const char *sandbox, const char *workspace,
                            WorkspaceDir which, char **ret, Error *err)
{
        const char *sub = workspace_dir_to_string(which);
        if (!sub)
                return error_set(err, EINVAL, "unknown workspace directory %d", (int) which);
        int r = check_sandbox(sandbox, err);
        if (r >= 0)
                r = check_name("workspace", workspace, err);
        if (r < 0)
                return r;
        return build(ret, err, state_dir, "sandboxes", sandbox, "workspaces", workspace, sub, NULL);
}

int layout_snapshot_dir(const char *state_dir, const char *sandbox, const char *workspace,
                        const char *snapshot, char **ret, Error *err)
{
        int r = check_sandbox(sandbox, err);
        if (r >= 0)
                r = check_name("workspace", workspace, err);
        if (r >= 0)
                r = check_name("snapshot", snapshot, err);
        if (r < 0)
                return r;
        return build(ret, err, state_dir, "sandboxes", sandbox, "workspaces", workspace,
                     "snapshots", snapshot, NULL);
}

int layout_rootfs_cache_root(const char *state_dir, char **ret, Error *err)
{
        return build(ret, err, state_dir, "sandboxes", LAYOUT_ROOTFS_CACHE, NULL);
}

int layout_rootfs_cache_dir(const char *state_dir, const char *cache_name, char **ret, Error *err)
{
        int r = debian_suite_check(cache_name, LAYOUT_CACHE_BASE, err);
        if (r < 0)
                return r;
        return build(ret, err, state_dir, "sandboxes", LAYOUT_ROOTFS_CACHE, cache_name, NULL);
}

/* mkdir that accepts an existing directory (never a symlink to one) and
 * then fixes owner and mode when fix is set. */
static int make_dir(const char *path, mode_t mode, uid_t uid, gid_t gid, bool fix, Error *err)
{
        bool created = mkdir(path, mode) == 0;
        if (!created && errno != EEXIST)
                return error_setc(err, errno, "creating %s", path);
        _cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return error_setc(err, errno, "opening %s", path);
        if (!created && !fix)
                return 0;
        if (fchown(fd, uid, gid) < 0)
                return error_setc(err, errno, "changing owner of %s", path);
        /* After chown: mkdir's mode was cut by the umask. */
        if (fchmod(fd, mode) < 0)
                return error_setc(err, errno, "changing mode of %s", path);
        return 0;
}

int layout_state_dir_create(const char *state_dir, Error *err)
{
        int r = layout_check_state_dir(state_dir, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *parent = strdup(state_dir);
        if (!parent)
                return error_set(err, ENOMEM, "out of memory");
        char *slash = strrchr(parent, '/');
        if (slash && slash != parent) {
                *slash = 0;
                r = mkdir_p(parent, 0755);
                if (r < 0)
                        return error_setc(err, -r, "creating %s", parent);
        }
        r = make_dir(state_dir, 0700, 0, 0, true, err);
        if (r < 0)
                return r;
        static const struct {
                const char *name;
                mode_t mode;
                bool fix;
        } subdirs[] = {
                { "sandboxes", 0711, false },
                { "auth", 0700, true },
                { "cache", 0700, false },
                { "tmp", 0700, true },
        };
        for (size_t i = 0; i < ELEMENTSOF(subdirs); i++) {
                _cleanup_free_ char *p = path_join(state_dir, subdirs[i].name);
                if (!p)
                        return error_set(err, ENOMEM, "out of memory");
                r = make_dir(p, subdirs[i].mode, 0, 0, subdirs[i].fix, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

int layout_sandbox_create(const char *state_dir, const char *sandbox, Error *err)
{
        _cleanup_free_ char *dir = NULL, *ws = NULL;
        int r = layout_sandbox_dir(state_dir, sandbox, &dir, err);
        if (r >= 0)
                r = layout_workspaces_dir(state_dir, sandbox, &ws, err);
        if (r >= 0)
                r = layout_state_dir_create(state_dir, err);
        if (r >= 0)
                r = make_dir(dir, 0755, 0, 0, false, err);
        if (r >= 0)
                r = make_dir(ws, 0755, 0, 0, false, err);
        return r;
}

static int remove_tree(const char *path, const char *what, Error *err)
{
        int r = rm_rf(path);
        if (r == -EBUSY)
                return error_set(err, EBUSY, "cannot remove %s %s: something below it is still mounted",
                                 what, path);
        if (r < 0)
                return error_setc(err, -r, "removing %s %s", what, path);
        return 0;
}

int layout_sandbox_remove(const char *state_dir, const char *sandbox, Error *err)
{
        _cleanup_free_ char *dir = NULL;
        int r = layout_sandbox_dir(state_dir, sandbox, &dir, err);
        if (r < 0)
                return r;
        return remove_tree(dir, "sandbox directory", err);
}

int layout_workspace_create(const char *state_dir, const char *sandbox, const char *workspace,
                            uid_t uid, gid_t gid, Error *err)
{
        _cleanup_free_ char *dir = NULL;
        int r = layout_workspace_dir(state_dir, sandbox, workspace, &dir, err);
        if (r >= 0)
                r = layout_sandbox_create(state_dir, sandbox, err);
        if (r >= 0)
                r = make_dir(dir, 0755, 0, 0, true, err);
        if (r < 0)
                return r;
        static const struct {
                WorkspaceDir which;
                mode_t mode;
                bool mapped; /* owned by the workspace's id range */
        } subdirs[] = {
                { WORKSPACE_DIR_UPPER, 0755, true },
                { WORKSPACE_DIR_WORK, 0755, true },
                { WORKSPACE_DIR_HOME, 0755, true },
                { WORKSPACE_DIR_LOGS, 0750, false },
                { WORKSPACE_DIR_SNAPSHOTS, 0700, false },
        };
        for (size_t i = 0; i < ELEMENTSOF(subdirs); i++) {
                _cleanup_free_ char *p = NULL;
                r = layout_workspace_subdir(state_dir, sandbox, workspace, subdirs[i].which, &p, err);
                if (r < 0)
                        return r;
                /* Owners are fixed on every call: only these top
                 * directories, never what a workspace wrote below. */
                r = make_dir(p, subdirs[i].mode, subdirs[i].mapped ? uid : 0,
                             subdirs[i].mapped ? gid : 0, true, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

int layout_workspace_remove(const char *state_dir, const char *sandbox, const char *workspace,
                            Error *err)
{
        _cleanup_free_ char *dir = NULL;
        int r = layout_workspace_dir(state_dir, sandbox, workspace, &dir, err);
        if (r < 0)
                return r;
        return remove_tree(dir, "workspace directory", err);
}
