/* Which Enclavefile owns a sandbox (sandboxes.project) and the
 * aggregate caps `up` applies to an existing sandbox (project.h). */
#include "registry/registry-project.h"
#include "registry/registry-sandbox.h"
#include "registry/registry.h"

#include <string.h>

int registry_project_get(Registry *r, const char *sandbox, char **ret, Error *err)
{
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        int k = registry_prepare(r, "SELECT project FROM sandboxes WHERE name = ?", &s, err);
        if (k >= 0)
                k = registry_bind(r, s, err, "t", sandbox);
        if (k >= 0)
                k = registry_step(r, s, err);
        if (k < 0)
                return k;
        if (k == 0)
                return error_set(err, ENOENT, "no sandbox named '%s'", sandbox);
        if (registry_column_strdup(s, 0, ret) < 0)
                return error_set(err, ENOMEM, "out of memory");
        return 0;
}

int registry_project_set(Registry *r, const char *sandbox, const char *project, Error *err)
{
        int k = registry_run(r, err, "UPDATE sandboxes SET project = ?, updated_at = unixepoch() WHERE name = ?",
                             "tt", project, sandbox);
        if (k < 0)
                return error_wrap(err, "recording the project of sandbox %s", sandbox);
        return k == 0 ? error_set(err, ENOENT, "no sandbox named '%s'", sandbox) : 0;
}

int registry_project_set_caps(Registry *r, const char *sandbox, const Limits *caps, Error *err)
{
        json_auto_t *j = sandbox_caps_json(caps);
        if (!j)
                return error_set(err, ENOMEM, "out of memory");
        int k = registry_run(r, err, "UPDATE sandboxes SET caps = ?, updated_at = unixepoch() WHERE name = ?", "jt", j,
                             sandbox);
        if (k < 0)
                return error_wrap(err, "storing the caps of sandbox %s", sandbox);
        return k == 0 ? error_set(err, ENOENT, "no sandbox named '%s'", sandbox) : 0;
}
