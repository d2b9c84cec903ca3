/* Commands in a running workspace: environment, exec, the root's
 * shell (workspace-engine.h). */
#include "engine/workspace-engine-internal.h"
#include "auth/inject.h"
#include "base/syscalls.h"
#include "base/fs.h"
#include "base/str.h"

#include <fcntl.h>
#include <string.h>

#define ENGINE_DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
/* The workspace's own directory (its managed home or workspace_dir):
 * dotfiles and tool caches (~/.npm, ~/.cache/pip, ~/.gitconfig) land
 * there, beside the work, and persist with it; env HOME overrides it.
 * docs/runtime.md "HOME". */
#define ENGINE_DEFAULT_HOME "HOME=/home"

/* Set "NAME=value" in *env, replacing an entry of the same name. */
static int env_set(char ***env, const char *entry)
{
        const char *eq = strchr(entry, '=');
        if (!eq)
                return 0;
        size_t n = (size_t) (eq - entry) + 1;
        for (char **e = *env; e && *e; e++)
                if (strncmp(*e, entry, n) == 0) {
                        char *copy = strdup(entry);
                        if (!copy)
                                return -ENOMEM;
                        free(*e);
                        *e = copy;
                        return 0;
                }
        return strv_push(env, entry);
}

int engine_env_build(char ***ret, char *const *first, char *const *second, char *const *third)
{
        _cleanup_strv_free_ char **env = NULL;
        if (strv_push(&env, ENGINE_DEFAULT_PATH) < 0 || strv_push(&env, ENGINE_DEFAULT_HOME) < 0)
                return -ENOMEM;
        char *const *lists[] = { first, second, third };
        for (size_t i = 0; i < ELEMENTSOF(lists); i++)
                STRV_FOREACH(e, lists[i])
                        if (env_set(&env, *e) < 0)
                                return -ENOMEM;
        *ret = TAKE_PTR(env);
        return 0;
}

int workspace_engine_exec(Engine *eng, RunningWorkspace *rw, const WorkspaceExecSpec *spec, ExecProcess *ret,
                          int *ret_status, Error *err)
{
        WorkspaceEngine *e = eng->workspaces;
        *ret_status = EXEC_STATUS_FAILED;
        /* Tokens are read at each exec, so a login in between counts. */
        _cleanup_auth_plan_ AuthPlan *plan = NULL;
        int r = auth_plan_build(eng->settings.state_dir, rw->owner_uid, rw->spec.auth, rw->spec.env_tokens, &plan, err);
        if (r < 0)
                return error_wrap(err, "preparing the workspace's tokens");
        _cleanup_strv_free_ char **env = NULL;
        if (engine_env_build(&env, rw->spec.env, plan->env, spec->env) < 0)
                return error_set(err, ENOMEM, "out of memory");
        if (spec->pty) {
                _cleanup_free_ char *term = NULL;
                if (asprintf(&term, "TERM=%s", spec->term && *spec->term ? spec->term : "xterm") < 0 ||
                    env_set(&env, term) < 0)
                        return error_set(err, ENOMEM, "out of memory");
        }

        /* The command enters the workspace's cgroup the way its init
         * did (cgroup_entry_open(), as workspace start and setup):
         * born in the unified group (CLONE_INTO_CGROUP), joining the v1
         * ones through "tasks", never moved through cgroup.procs, which
         * waits for a kernel-wide lock. */
        _cleanup_(cgroup_entry_done) CgroupEntry cg = CGROUP_ENTRY_NULL;
        r = cgroup_entry_open(rw->cgroup, true, &cg, err);
        if (r < 0)
                return error_wrap(err, "workspace %s/%s", rw->sandbox, rw->name);
        ExecConfig c;
        exec_config_init(&c, rw->proc.pidfd, spec->argv);
        c.env = env;
        c.cwd = spec->cwd ? spec->cwd : WORKSPACE_EXEC_DEFAULT_CWD;
        c.pty = spec->pty;
        c.rows = spec->rows;
        c.cols = spec->cols;
        for (size_t i = 0; i < 3; i++)
                c.stdio[i] = spec->stdio[i];
        c.cgroup_dir_fd = cg.dir_fd;
        c.cgroup_join_fds = cg.fds;
        c.n_cgroup_join_fds = cg.n;
        c.hardening = e->plan;
        c.limits = &rw->spec.limits;
        c.cpu_seed = rw->cpu_seed;
        return workspace_exec(&c, ret, ret_status, err);
}

/* Field 7 of the passwd line of uid 0, or NULL. */
static char *passwd_root_shell(const char *text)
{
        for (const char *line = text; line && *line;) {
                const char *end = strchrnul(line, '\n');
                const char *f = line;
                size_t field = 0;
                const char *fields[8] = {};
                fields[0] = f;
                for (const char *p = line; p < end && field < 7; p++)
                        if (*p == ':')
                                fields[++field] = p + 1;
                if (field == 6 && strneq(fields[2], "0:", 2)) {
                        size_t len = (size_t) (end - fields[6]);
                        if (len > 0 && fields[6][0] == '/')
                                return strndup(fields[6], len);
                }
                line = *end ? end + 1 : NULL;
        }
        return NULL;
}

char *workspace_engine_shell(RunningWorkspace *rw)
{
        /* Resolved inside the workspace's root (its mount namespace via
         * /proc/PID/root, symlinks kept inside with RESOLVE_IN_ROOT),
         * never by host path. */
        char root[64];
        snprintf(root, sizeof root, "/proc/%d/root", (int) rw->proc.pid);
        _cleanup_close_ int dfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return strdup("/bin/sh");
        _cleanup_close_ int fd = sys_openat2(dfd, "etc/passwd", O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
                                             RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
        _cleanup_free_ char *text = NULL;
        if (fd < 0 || read_full_fd(fd, 1024 * 1024, &text, NULL) < 0)
                return strdup("/bin/sh");
        char *shell = passwd_root_shell(text);
        return shell ? shell : strdup("/bin/sh");
}
