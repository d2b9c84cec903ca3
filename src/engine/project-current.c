/* The current state of a project (project-current.h). */
#include "engine/project-current.h"
#include "registry/registry-network.h"
#include "base/str.h"

void project_state_done(ProjectState *s)
{
        sandbox_row_done(&s->sandbox);
        for (size_t i = 0; i < s->n_rows; i++)
                json_decref(s->definitions ? s->definitions[i] : NULL);
        free(s->definitions);
        free(s->workspaces);
        workspace_rows_free(s->rows, s->n_rows);
        *s = (ProjectState) {};
}

/* What the registry says a workspace is: its config plus its declared
 * ports, as a definition the plan compares (spec/spec.h). */
static int definition_of_row(Registry *reg, const WorkspaceRow *row, json_t **ret, Error *err)
{
        _cleanup_(workspace_spec_done) WorkspaceSpec spec = {};
        int r = workspace_config_spec(row, &spec, err);
        if (r < 0)
                return r;
        NetPort *ports = NULL;
        size_t n_ports = 0;
        r = registry_ports_list(reg, row->id, &ports, &n_ports, err);
        if (r < 0)
                return r;
        spec.ports = calloc(n_ports + 1, sizeof *spec.ports);
        for (size_t i = 0; spec.ports && i < n_ports; i++)
                if (ports[i].declared)
                        spec.ports[spec.n_ports++] = (PortSpec) { ports[i].host_port, ports[i].workspace_port };
        free(ports);
        if (!spec.ports)
                return error_set(err, ENOMEM, "out of memory");
        *ret = workspace_spec_to_json(&spec, SPEC_JSON_DEFINITION);
        return *ret ? 0 : error_set(err, ENOMEM, "out of memory");
}

int project_state_load(Registry *reg, const char *sandbox, ProjectState *ret, Error *err)
{
        _cleanup_error_ Error gerr = ERROR_INIT;
        int r = registry_sandbox_get(reg, sandbox, &ret->sandbox, &gerr);
        if (r == -ENOENT)
                return 0;
        if (r < 0) {
                error_move(err, &gerr);
                return r;
        }
        ret->exists = true;
        r = registry_workspace_list(reg, ret->sandbox.id, &ret->rows, &ret->n_rows, err);
        if (r < 0)
                return r;
        ret->workspaces = calloc(ret->n_rows + 1, sizeof *ret->workspaces);
        ret->definitions = calloc(ret->n_rows + 1, sizeof *ret->definitions);
        if (!ret->workspaces || !ret->definitions)
                return error_set(err, ENOMEM, "out of memory");
        for (size_t i = 0; i < ret->n_rows; i++) {
                r = definition_of_row(reg, &ret->rows[i], &ret->definitions[i], err);
                if (r < 0)
                        return r;
                ret->workspaces[i] = (ProjectCurrentWorkspace) { ret->rows[i].name, ret->rows[i].state,
                                                                 ret->definitions[i] };
        }
        return 0;
}

ProjectCurrent project_state_view(const ProjectState *s)
{
        if (!s->exists)
                return (ProjectCurrent) {};
        return (ProjectCurrent) {
                .sandbox_exists = true,
                .sandbox_state = s->sandbox.state,
                .setup_digest = s->sandbox.setup_digest,
                .suite = s->sandbox.suite,
                .mirror = s->sandbox.mirror,
                .bootstrap_method = s->sandbox.bootstrap_method,
                .caps = s->sandbox.caps,
                .workspaces = s->workspaces,
                .n_workspaces = s->n_rows,
        };
}

const WorkspaceRow *project_state_row(const ProjectState *s, const char *name)
{
        for (size_t i = 0; i < s->n_rows; i++)
                if (streq(s->rows[i].name, name))
                        return &s->rows[i];
        return NULL;
}
