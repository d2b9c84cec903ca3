/* Every action the daemon knows: the areas' tables, concatenated. A
 * new area lists its table here (see action.h). */
#include "daemon/action.h"
#include "base/str.h"

#include <fnmatch.h>

static const Action *const action_tables[] = {
        core_actions,
        auth_actions,
        sandbox_actions,
        rootfs_actions,
        port_actions,
        workspace_actions,
        project_actions,
        snapshot_actions,
        doctor_actions,
        stats_actions,
        cp_actions,
        test_actions,
};

const Action *actions_find(const char *name, bool with_test_actions)
{
        for (size_t t = 0; t < ELEMENTSOF(action_tables); t++)
                for (const Action *a = action_tables[t]; a->name; a++) {
                        if (!streq(a->name, name))
                                continue;
                        if ((a->flags & ACTION_TEST) && !with_test_actions)
                                return NULL;
                        return a;
                }
        return NULL;
}

const Action *actions_at(size_t i)
{
        for (size_t t = 0; t < ELEMENTSOF(action_tables); t++)
                for (const Action *a = action_tables[t]; a->name; a++)
                        if (i-- == 0)
                                return a;
        return NULL;
}

/* The stable names of SPEC §2 whose areas are not built yet
 * (docs/actions.md). A request for one gets "not built" rather than
 * "unknown action", so a newer CLI against an older daemon reads well. */
static const char *const reserved_patterns[] = {
        /* `enclave restart` is project.down then project.up from the
         * CLI, and `enclave ps` is project.ps: these names stay free. */
        "project.restart", "workspace.ps",
};

bool action_is_reserved(const char *name)
{
        for (size_t i = 0; i < ELEMENTSOF(reserved_patterns); i++)
                if (fnmatch(reserved_patterns[i], name, 0) == 0)
                        return true;
        return false;
}
