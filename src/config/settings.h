/* The daemon and CLI settings from config.toml (SPEC §4).
 *
 * Lookup order: an explicit path (--config or ENCLAVE_CONFIG), then
 * $XDG_CONFIG_HOME/enclave/config.toml, ~/.config/enclave/config.toml,
 * /etc/enclave/config.toml. No file at all means built-in defaults.
 * For root, the file found must be one nobody else can change
 * (config/trust.h): under `sudo -E` the environment is a user's, and
 * config.toml names what root runs (debootstrap_binary, daemon_binary,
 * init_binary). */
#pragma once

#include "base/error.h"
#include "config/diagnostics.h"
#include "spec/values.h"

typedef struct Settings {
        char *path;              /* file the settings came from, NULL for defaults */
        char *socket_path;       /* "socket", default /run/enclave/manager.sock */
        char *pid_file;          /* "pid_file", default /run/enclave/manager.pid */
        char *state_dir;         /* "state_dir", default /var/lib/enclave */
        char *bridge;            /* "bridge", default enclave0; also names the firewall table */
        char *subnet;            /* "subnet", default 10.200.0.0/16 */
        FirewallBackend firewall;/* "firewall", auto|nftables|iptables */
        char *suite;             /* "suite", default bookworm */
        char *mirror;            /* "mirror", default http://deb.debian.org/debian */
        char *bootstrap_method;  /* "bootstrap_method", debootstrap|cached_rootfs */
        char *debootstrap_binary;/* "debootstrap_binary", default "debootstrap" */
        char *workspace_apparmor_profile; /* NULL when unset */
        char *workspace_selinux_label;    /* NULL when unset */
        int wait_secs;           /* "wait_secs", default 10: daemon start wait */
        /* What one non-root uid may hold (docs/security.md); root is
         * exempt. 0 forbids the kind of object for users. */
        int64_t max_sandboxes_per_user;   /* default 16 */
        int64_t max_workspaces_per_user;  /* default 64 */
        int64_t max_snapshots_per_user;   /* default 256 */
        int64_t max_connections_per_user; /* default 64, at least 1 */
        int64_t max_long_actions_per_user;/* default 32, at least 1 */
        uint64_t fetch_max_bytes;         /* "fetch_max_bytes": one rootfs fetch, default 8 GiB */
        /* "max_procs_total": tasks of all workspaces and setups together
         * (pids.max of Enclave's top cgroup). 0: automatic, 3/4 of what
         * the host allows (the smaller of kernel.pid_max and
         * kernel.threads-max), so a workspace without max_procs can
         * never take the host's last pids. */
        int64_t max_procs_total;
        char **fetch_allow;               /* special destinations fetch may reach (CIDRs), never NULL */
        char **user_mirrors;              /* mirrors non-root users may bootstrap from besides `mirror` */
        char **metadata_allow;            /* addresses/ranges inside the blocked metadata ranges that
                                           * workspaces may reach (spec/metadata.h), never NULL */
        /* The programs root runs (config/trust.h); NULL: beside the
         * enclave binary, else the installed ones. Never from the
         * environment. */
        char *daemon_binary;              /* "daemon_binary" */
        char *init_binary;                /* "init_binary" */
} Settings;

/* Fill *ret with defaults, then overlay the first config file found
 * (explicit_path wins and must exist). Errors name FILE:LINE:COL. */
int settings_load(const char *explicit_path, Settings *ret, Error *err);

/* The file settings_load() would read: explicit_path when given (it
 * must exist), else the first existing file of the lookup order.
 * Returns 0 and *ret_path, which is NULL when no file exists (defaults
 * apply); a negative errno when explicit_path is missing or a
 * candidate exists but cannot be used. */
int settings_find_file(const char *explicit_path, char **ret_path, Error *err);

#define SETTINGS_MAX_SIZE (64u * 1024) /* bytes of config.toml */
#define SETTINGS_WAIT_SECS_MAX 3600
#define SETTINGS_PER_USER_MAX 1000000
#define SETTINGS_PROCS_TOTAL_MAX 4194304 /* the kernel's PID_MAX_LIMIT */
#define SETTINGS_LIST_MAX 64           /* entries of fetch_allow, user_mirrors, metadata_allow */

/* Overlay the keys of a config.toml document onto *s (which holds
 * defaults or earlier settings). Every problem goes into diag, named
 * after display_name; returns -EINVAL when there was any, and leaves
 * *s unchanged then. */
int settings_parse_buffer(const char *data, size_t len, const char *display_name, Settings *s,
                          Diagnostics *diag);

/* Defaults only, no file. */
int settings_defaults(Settings *ret);

void settings_done(Settings *s);
