/* Scratch directories for the unit tests, below /tmp/enctest-*.
 *
 * scratch_dir(): one per test program, made on first use and removed
 * at exit, because a failed ASSERT longjmps past cleanup attributes.
 * scratch_tmpdir(): one per test, removed by _cleanup_tmpdir_ when the
 * test ends normally. Static inline, so a test uses what it needs. */
#pragma once

#include "base/fs.h"
#include "test.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static inline char *scratch_dir_buf(void)
{
        static char dir[64];
        return dir;
}

static inline void scratch_dir_remove(void)
{
        char *dir = scratch_dir_buf();
        if (dir[0])
                (void) rm_rf(dir);
}

/* /tmp/enctest-<name>-<pid>-XXXXXX; NULL when it cannot be made. */
static inline const char *scratch_dir(const char *name)
{
        char *dir = scratch_dir_buf();
        if (!dir[0]) {
                snprintf(dir, 64, "/tmp/enctest-%s-%d-XXXXXX", name, (int) getpid());
                if (!mkdtemp(dir)) {
                        dir[0] = 0;
                        return NULL;
                }
                atexit(scratch_dir_remove);
        }
        return dir;
}

/* A new directory "<prefix><n>" (0700) below scratch_dir(name), n
 * counting from 1; NULL on failure. */
static inline char *scratch_subdir(const char *name, const char *prefix)
{
        static int n;
        const char *root = scratch_dir(name);
        char *d = NULL;
        if (!root || asprintf(&d, "%s/%s%d", root, prefix, ++n) < 0)
                return NULL;
        if (mkdir(d, 0700) < 0) {
                free(d);
                return NULL;
        }
        return d;
}

/* mkdtemp(template) as a new string; fails the test when it cannot. */
static inline char *scratch_tmpdir(const char *template)
{
        char *d = strdup(template);
        if (!d || !mkdtemp(d))
                TEST_FAIL("mkdtemp: %m");
        return d;
}

static inline void scratch_tmpdir_remove(char **d)
{
        if (*d) {
                rm_rf(*d);
                free(*d);
        }
}
#define _cleanup_tmpdir_ __attribute__((cleanup(scratch_tmpdir_remove)))
