/* workspace.cp: a tar stream between the client and a running
 * workspace (engine/workspace-cp.h). The client sends one fd: the pipe
 * (or file) it reads or writes with its own rights. */
#include "daemon/action.h"
#include "daemon/client-fd.h"
#include "daemon/owner.h"
#include "registry/registry-workspace.h"
#include "engine/workspace-cp.h"
#include "base/str.h"

static int action_workspace_cp(Call *c, Error *err)
{
        const char *sb, *ws, *direction, *path, *name = NULL;
        int r = call_param_string(c, "sandbox", true, &sb, err);
        if (r >= 0)
                r = call_param_string(c, "workspace", true, &ws, err);
        if (r >= 0)
                r = call_param_string(c, "direction", true, &direction, err);
        if (r >= 0)
                r = call_param_string(c, "path", true, &path, err);
        if (r >= 0)
                r = call_param_string(c, "name", false, &name, err);
        if (r < 0)
                return r;
        bool in = streq(direction, "in");
        if (!in && !streq(direction, "out"))
                return error_set(err, EINVAL, "'direction' is \"in\" or \"out\", not \"%s\"", direction);
        if (name && (!name[0] || strchr(name, '/') || streq(name, ".") || streq(name, "..")))
                return error_set(err, EINVAL, "'%s' cannot name the top of a copy", name);
        int fd = call_take_fd(c, 0);
        if (fd < 0)
                return error_set(err, EINVAL, "workspace.cp needs the stream as fd 0");
        /* Used only as given, through a relay when it is a pipe (client-fd.h). */
        _cleanup_client_stream_ ClientStream *stream = NULL;
        r = client_stream_open(c, fd, !in, &stream, err);
        if (r < 0)
                return r;
        _cleanup_running_ RunningWorkspace *rw = workspace_engine_get(call_engine(c), sb, ws);
        if (!rw || !call_owns(c, rw->owner_uid))
                return owner_workspace_not_running(c, sb, ws, err);
        /* The client may now close its copy of the other end, so that
         * either side sees the end of the stream. */
        (void) call_event(c, json_pack("{s:s}", "type", "started"));
        WorkspaceCpSpec spec = {
                .direction = in ? WORKSPACE_CP_IN : WORKSPACE_CP_OUT,
                .path = path,
                .name = name,
                .fd = client_stream_fd(stream),
                .cancel_fd = call_cancel_fd(c),
        };
        _cleanup_free_ char *target = NULL;
        r = workspace_engine_cp(call_engine(c), rw, &spec, &target, err);
        if (r < 0)
                return error_wrap(err, "copying %s workspace %s/%s", in ? "into" : "out of", sb, ws);
        r = client_stream_close(TAKE_PTR(stream), err);
        if (r < 0)
                return error_wrap(err, "copying out of workspace %s/%s", sb, ws);
        return call_reply(c, json_pack("{s:s, s:s, s:s, s:s}", "sandbox", sb, "workspace", ws, "direction", direction,
                                       "path", target),
                          -EBADF);
}

const Action cp_actions[] = {
        { PROTO_ACTION_WORKSPACE_CP, action_workspace_cp, ACTION_LONG | ACTION_MUTATES },
        {},
};
