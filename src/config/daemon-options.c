/* The daemon's settings: config.toml overlaid with the command line
 * (daemon-options.h). */
#include "config/daemon-options.h"

#include <string.h>

static int override(char **field, const char *value)
{
        if (!value)
                return 0;
        char *copy = strdup(value);
        if (!copy)
                return -ENOMEM;
        free(*field);
        *field = copy;
        return 0;
}

static int require_absolute(const char *what, const char *path, Error *err)
{
        if (!path || path[0] != '/')
                return error_set(err, EINVAL, "%s must be an absolute path, got '%s'", what, path ? path : "");
        return 0;
}

int daemon_resolve_settings(const DaemonOptions *opts, Settings *ret, Error *err)
{
        Settings s = {};
        int r = settings_load(opts->config_path, &s, err);
        if (r < 0)
                return r;
        if (override(&s.socket_path, opts->socket_path) < 0 || override(&s.state_dir, opts->state_dir) < 0 ||
            override(&s.pid_file, opts->pid_file) < 0 ||
            override(&s.debootstrap_binary, opts->debootstrap_binary) < 0 ||
            override(&s.workspace_apparmor_profile, opts->workspace_apparmor_profile) < 0 ||
            override(&s.workspace_selinux_label, opts->workspace_selinux_label) < 0) {
                settings_done(&s);
                return error_set(err, ENOMEM, "out of memory");
        }
        if (opts->wait_secs >= 0)
                s.wait_secs = opts->wait_secs;
        if (require_absolute("--state-dir", s.state_dir, err) < 0 ||
            require_absolute("--pid-file", s.pid_file, err) < 0 ||
            require_absolute("--socket", s.socket_path, err) < 0) {
                settings_done(&s);
                return -EINVAL;
        }
        *ret = s;
        return 0;
}
