/* What root may execute or read as configuration (docs/security.md
 * "What root runs").
 *
 * Under `sudo -E` or `su` without `-`, root's CLI runs with a user's
 * environment: ENCLAVE_DAEMON, ENCLAVE_INIT, XDG_CONFIG_HOME, HOME,
 * PATH. None of it may decide what runs as root. So a file root's CLI
 * or daemon executes (enclave-daemon, enclave-init, debootstrap) or
 * trusts as configuration (config.toml) must be a regular file owned by
 * root and not writable by group or others, below directories that are
 * all owned by root and not writable by group or others (a sticky
 * directory such as /tmp may be: nobody else can replace what root owns
 * in it). Every component of the real path is checked, symlinks
 * resolved; the caller then uses the canonical path it was given back,
 * which nobody but root can change.
 *
 * The environment never names a binary for root: ENCLAVE_DAEMON and
 * ENCLAVE_INIT count only for other users (whose daemon would not start
 * anyway); root names them in config.toml (daemon_binary, init_binary),
 * which is itself checked. */
#pragma once

#include "base/error.h"

#include <stdbool.h>

/* Check path (a file to execute or read) as described above. On
 * success *ret_real (may be NULL) is its canonical path. -EPERM with a
 * message naming the component, its owner or mode and the fix; -ENOENT
 * when it does not exist. what names the file for messages
 * ("the daemon binary", "config file"). */
int trust_check_file(const char *path, const char *what, char **ret_real, Error *err);

/* The same for a directory (all of its components, itself included). */
int trust_check_dir(const char *path, const char *what, Error *err);

/* The program name (enclave-daemon, enclave-init) root runs: configured
 * (absolute, from config.toml; NULL when unset), else the one beside
 * this process's own binary, else the installed one in
 * ENCLAVE_LIBEXECDIR. The first that exists must pass
 * trust_check_file(); *ret is its canonical path. */
int trust_find_program(const char *configured, const char *name, char **ret, Error *err);

/* The executable PATH root searches for a bare command name: fixed,
 * never the environment's. */
#define TRUST_ROOT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* Whether the environment's variable name would have named a binary
 * that is ignored for root; for a warning. */
bool trust_env_ignored(const char *name);

/* The environment root's CLI gives the daemon it starts: PATH is
 * TRUST_ROOT_PATH, HOME root's own, and only variables that decide
 * nothing about what runs are passed on (ENCLAVE_LOG, the proxy
 * variables debootstrap honours, locale, systemd's NOTIFY_SOCKET and
 * LISTEN_*). NULL-terminated, allocated; NULL on OOM. */
char **trust_daemon_environment(void);
