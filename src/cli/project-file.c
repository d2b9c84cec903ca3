#include "cli/project-file.h"
#include "base/str.h"

#include <limits.h>
#include <unistd.h>

int cli_load_enclavefile(Cli *cli, Enclavefile **ret)
{
        _cleanup_diagnostics_ Diagnostics diag = DIAGNOSTICS_INIT;
        int r = enclavefile_load(ENCLAVEFILE_NAME, ret, &diag);
        if (r >= 0)
                return 0;
        if (r == -ENOENT && diagnostics_count(&diag) <= 1) {
                char cwd[PATH_MAX];
                return cli_fail(cli, "no %s in %s; create one with 'enclave init'", ENCLAVEFILE_NAME,
                                getcwd(cwd, sizeof cwd) ? cwd : "the current directory");
        }
        if (r == -ENOMEM)
                return cli_fail(cli, "out of memory while reading %s", ENCLAVEFILE_NAME);
        for (size_t i = 0; i < diag.n; i++) {
                _cleanup_free_ char *line = diagnostic_format(&diag.items[i]);
                fprintf(stderr, "%s\n", line ? line : diag.items[i].message);
        }
        if (diag.dropped)
                fprintf(stderr, "... and %zu more problems\n", diag.dropped);
        size_t n = diagnostics_count(&diag);
        return cli_fail(cli, "%s: %zu problem%s found; nothing was changed", ENCLAVEFILE_NAME, n, n == 1 ? "" : "s");
}

int cli_project_workspace(Cli *cli, const Enclavefile *ef, const char *name, const WorkspaceSpec **ret)
{
        for (size_t i = 0; i < ef->n_workspaces; i++)
                if (streq(ef->workspaces[i].name, name) || (ef->tables && streq(ef->tables[i].key, name))) {
                        *ret = &ef->workspaces[i];
                        return 0;
                }
        _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
        for (size_t i = 0; i < ef->n_workspaces; i++)
                strbuf_printf(&b, "%s%s", i ? ", " : "", ef->workspaces[i].name);
        return cli_fail(cli, "%s declares no workspace '%s' (it declares %s); name one of them, or use 'enclave "
                        "workspace ... SANDBOX WORKSPACE' for a workspace outside the project",
                        ENCLAVEFILE_NAME, name, b.len ? b.data : "none");
}
