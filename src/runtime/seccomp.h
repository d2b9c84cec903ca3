/* The workspace seccomp policy: a deny list with default action ALLOW.
 *
 * Denied calls fail with EPERM (not a kill) so programs that probe for
 * a feature degrade gracefully; clone3 fails with ENOSYS so libc falls
 * back to clone(2), whose flags the filter can inspect. The policy is
 * built with libseccomp on the trusted side and exported as raw BPF;
 * the workspace child only loads that BPF. */
#pragma once

#include "base/error.h"

#include <linux/filter.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct SeccompFilter {
        struct sock_filter *insns; /* malloc'd */
        size_t n_insns;
        bool from_cache;
} SeccompFilter;

#define SECCOMP_FILTER_INIT { NULL, 0, false }

/* What the policy denies, for docs, doctor and tests. */
typedef struct SeccompDenial {
        const char *name; /* syscall name as libseccomp knows it */
        int error;        /* errno returned (EPERM or ENOSYS) */
        const char *why;
} SeccompDenial;

const SeccompDenial *seccomp_policy_denials(size_t *ret_n);

/* Hex SHA-256 over everything that shapes the BPF: the policy table,
 * the libseccomp version and the native architecture. out must hold
 * 65 bytes. */
void seccomp_policy_fingerprint(char out[static 65]);

/* Build the BPF with libseccomp, in memory. */
int seccomp_filter_build(SeccompFilter *ret, Error *err);

/* Load "<cache_dir>/seccomp-<fingerprint>.bpf" when it exists and is
 * intact; otherwise build and store it there (atomically). cache_dir
 * NULL: build only. */
int seccomp_filter_get(const char *cache_dir, SeccompFilter *ret, Error *err);

/* Path of the cache file for cache_dir (malloc'd), for tests. */
char *seccomp_filter_cache_path(const char *cache_dir);

void seccomp_filter_done(SeccompFilter *f);
#define _cleanup_seccomp_filter_ _cleanup_(seccomp_filter_done)

/* Child side: seccomp(SECCOMP_SET_MODE_FILTER), falling back to
 * prctl(PR_SET_SECCOMP) on kernels without seccomp(2). Requires
 * no_new_privs (or CAP_SYS_ADMIN). No allocation. */
int seccomp_filter_install(const struct sock_filter *insns, size_t n_insns);
