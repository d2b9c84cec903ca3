/* Download an http(s) URL (libcurl) into an unnamed temporary file:
 * redirects are followed only to http(s) (at most FETCH_MAX_REDIRECTS),
 * HTTP errors fail, the size is capped, a stalled transfer times out,
 * and progress/cancellation go through the monitor. Credentials in a
 * URL never appear in messages.
 *
 * Every connection (the first and each redirect's, after DNS) is
 * checked against fetch-dest.h: loopback, link-local, private and other
 * special addresses are refused unless allowed. No proxy from the
 * environment is used: the check must see the real destination. Every
 * destination that cannot be reached, refused or not, fails with the
 * same message, so a fetch tells nothing about what listens where. */
#pragma once

#include "base/error.h"
#include "spec/fetch-dest.h"
#include "storage/progress.h"

#define FETCH_DEFAULT_MAX_BYTES (8ull << 30)
#define FETCH_MAX_REDIRECTS 5

typedef struct FetchOptions {
        uint64_t max_bytes;     /* 0: FETCH_DEFAULT_MAX_BYTES */
        long connect_timeout_s; /* 0: 30 */
        long stall_timeout_s;   /* no byte for this long fails; 0: 60 */
        const FetchCidr *allow; /* special destinations allowed anyway (config fetch_allow) */
        size_t n_allow;
} FetchOptions;

/* Download url into an O_TMPFILE file in tmp_dir (which must exist);
 * *ret_fd is positioned at the start. Nothing is left in tmp_dir. */
int fetch_to_tmpfile(const char *url, const char *tmp_dir, const FetchOptions *o,
                     const StorageMonitor *mon, int *ret_fd, Error *err);
