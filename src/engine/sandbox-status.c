/* A sandbox as status and list show it (sandbox-status.h). */
#include "engine/sandbox-status.h"
#include "base/log.h"
#include "base/str.h"
#include "engine/sandbox-cgroup.h"
#include "storage/layout.h"

json_t *sandbox_status_json(const Engine *eng, const SandboxRow *row, bool with_paths)
{
        json_t *j = sandbox_row_to_json(row);
        if (!j || !with_paths)
                return j;
        _cleanup_free_ char *rootfs = NULL;
        _cleanup_strv_free_ char **cgroups = NULL;
        _cleanup_error_ Error err = ERROR_INIT;
        if (layout_sandbox_rootfs(eng->settings.state_dir, row->name, &rootfs, &err) >= 0)
                (void) json_object_set_new(j, "rootfs", json_string(rootfs));
        if (sandbox_cgroup_paths(eng, row->name, &cgroups, &err) >= 0) {
                json_t *a = json_array();
                STRV_FOREACH(p, cgroups)
                        (void) json_array_append_new(a, json_string(*p));
                (void) json_object_set_new(j, "cgroups", a);
        } else
                log_debug("sandbox %s: %s", row->name, error_msg(&err));
        return j;
}
