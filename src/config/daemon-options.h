/* How the daemon program is started: the options of `daemon run`, and
 * the settings they resolve to over config.toml. The CLI's `daemon
 * start/stop/status` and the daemon itself share them, so both agree on
 * the socket, state dir, pid file and log. */
#pragma once

#include "base/error.h"
#include "config/settings.h"

#include <stdbool.h>

#define DAEMON_LOG_FILE "daemon.log"
/* On stop: time to flush replies and let long actions end. */
#define DAEMON_STOP_GRACE_MS 5000

/* What `daemon run` was given on its command line; NULL = not given. */
typedef struct DaemonOptions {
        const char *config_path;
        const char *socket_path;
        const char *state_dir;
        const char *pid_file;
        const char *debootstrap_binary;
        const char *workspace_apparmor_profile;
        const char *workspace_selinux_label;
        int wait_secs;              /* `start` only; < 0 = not given */
        bool enable_test_actions;   /* hidden: debug.* actions for tests */
        unsigned request_timeout_ms;/* hidden: 0 = default */
} DaemonOptions;

#define DAEMON_OPTIONS_INIT { .wait_secs = -1 }

/* Settings from config.toml (or defaults) overlaid with the command
 * line. Shared with `daemon start`, which needs the same paths. */
int daemon_resolve_settings(const DaemonOptions *opts, Settings *ret, Error *err);
