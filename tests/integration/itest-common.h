/* Helpers the storage integration tests share (root, real kernel):
 * paths below a scratch dir, assertions that show an Error's message,
 * a busybox rootfs built by lib.sh, and a check that a state dir's tmp/
 * was left empty. Static inline, so a test uses what it needs. */
#pragma once

#include "base/error.h"
#include "base/fs.h"
#include "base/str.h"
#include "test.h"

#include <dirent.h>

/* ASSERT_OK that prints the Error e a failing call recorded. */
#define ASSERT_OK_E(x, e)                                                               \
        do {                                                                            \
                int _r2 = (x);                                                          \
                if (_r2 < 0)                                                            \
                        TEST_FAIL("%s failed: %d: %s", #x, _r2, error_msg(&(e)));        \
        } while (0)

/* dir/rel, newly allocated (aborts when out of memory). */
static inline char *at(const char *dir, const char *rel)
{
        char *p = path_join(dir, rel);
        if (!p)
                abort();
        return p;
}

/* lib.sh's make_busybox_rootfs in dir, then the binary copied again:
 * its applet loop also links "busybox" onto itself. Run from the
 * source tree. */
static inline void make_busybox_rootfs(const char *dir)
{
        _cleanup_free_ char *cmd = NULL;
        if (asprintf(&cmd,
                     "bash -c '. tests/integration/lib.sh && make_busybox_rootfs %1$s && "
                     "rm -f %1$s/bin/busybox && cp \"$(command -v busybox)\" %1$s/bin/busybox'",
                     dir) < 0 ||
            system(cmd) != 0)
                TEST_FAIL("building a busybox rootfs in %s failed", dir);
}

/* Whether <state>/tmp holds nothing (a missing tmp/ counts as empty):
 * storage work must clean up its staging on every path. */
static inline bool tmp_is_empty(const char *state)
{
        _cleanup_free_ char *tmp = at(state, "tmp");
        _cleanup_closedir_ DIR *d = opendir(tmp);
        struct dirent *de;
        while (d && (de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        return false;
        return true;
}
