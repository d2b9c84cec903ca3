/* The resolv.conf a workspace sees (SPEC §6).
 *
 * Built from the host's /etc/resolv.conf. A workspace has its own
 * network namespace, so a nameserver on a loopback address (the
 * systemd-resolved stub 127.0.0.53, a local dnsmasq on 127.0.0.1) is not
 * reachable from it; in that case the upstream servers systemd-resolved
 * publishes in /run/systemd/resolve/resolv.conf are used instead. IPv6
 * nameservers are dropped: IPv6 is off on Enclave links. */
#pragma once

#include "base/error.h"

#define RESOLV_HOST_PATH "/etc/resolv.conf"
#define RESOLV_RESOLVED_UPSTREAM_PATH "/run/systemd/resolve/resolv.conf"
#define RESOLV_MAX_NAMESERVERS 3 /* glibc's MAXNS */

/* Pure: the workspace resolv.conf from the host file's text and, when
 * known, the systemd-resolved upstream file's text (NULL when absent).
 * Keeps search/domain and options lines; -ENOENT with a message naming
 * both sources when no usable nameserver remains. */
int resolv_build(const char *host_text, const char *upstream_text, char **ret, Error *err);

/* Reads host_path (and upstream_path when the host file needs it) and
 * calls resolv_build(). */
int resolv_build_from_files(const char *host_path, const char *upstream_path, char **ret, Error *err);

/* Write content to path (atomically, mode 0644) only when the file does
 * not already hold exactly that content. *ret_changed (may be NULL)
 * tells whether it wrote. */
int resolv_write_if_changed(const char *path, const char *content, bool *ret_changed, Error *err);
