/* Which host directories may become a workspace's /home
 * (workspace_dir), by their path alone: pure, so the Enclavefile
 * checks (`enclave validate`) and the daemon (runtime/hostdir.h, which
 * opens and pins the directory) refuse the same paths. docs/security.md,
 * "Host paths", has the rules and their reasons. */
#pragma once

#include "base/error.h"

#include <stdbool.h>

/* Absolute, canonical (no empty, "." or ".." component, no trailing
 * slash), at most PATH_MAX, and not a system directory: "/", and
 * /proc, /sys, /dev, /run, /boot, /etc, /usr (except below /usr/local),
 * /bin, /sbin, /lib* with everything below them, and the roots /home,
 * /root, /tmp, /var, /var/lib, /var/tmp, /mnt, /media, /srv, /opt,
 * /usr/local themselves. */
int hostdir_check_path(const char *path, Error *err);

/* Is path equal to dir, or below it? Both canonical. */
bool hostdir_path_within(const char *path, const char *dir);
