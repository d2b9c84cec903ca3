#include "storage/staging.h"

#include "base/fs.h"
#include "base/log.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

int staging_create(const char *tmp_dir, const char *prefix, char **ret, Error *err)
{
        int r = mkdir_p(tmp_dir, 0700);
        if (r < 0)
                return error_setc(err, -r, "creating %s", tmp_dir);
        char *p = NULL;
        if (asprintf(&p, "%s/%s-XXXXXX", tmp_dir, prefix) < 0)
                return error_set(err, ENOMEM, "out of memory");
        if (!mkdtemp(p)) {
                r = error_setc(err, errno, "creating a staging directory in %s", tmp_dir);
                free(p);
                return r;
        }
        *ret = p;
        return 0;
}

int staging_remove(const char *path)
{
        int r = 0;
        for (int i = 0; i < 20; i++) {
                r = rm_rf(path);
                if (r != -EBUSY)
                        return r;
                nanosleep(&(struct timespec) { .tv_nsec = 50 * 1000 * 1000 }, NULL);
        }
        return r;
}

int staging_install(const char *staged, const char *dest, bool replace, Error *err)
{
        if (renameat2(AT_FDCWD, staged, AT_FDCWD, dest, RENAME_NOREPLACE) == 0)
                return 0;
        if (errno != EEXIST)
                return error_setc(err, errno, "moving %s into place at %s", staged, dest);
        if (!replace)
                return error_set(err, EEXIST, "%s already exists", dest);
        if (renameat2(AT_FDCWD, staged, AT_FDCWD, dest, RENAME_EXCHANGE) < 0)
                return error_setc(err, errno, "replacing %s", dest);
        /* staged now holds the old tree. The new one is in place, so a
         * failure here only leaves scratch in tmp/ (removed later). */
        int r = staging_remove(staged);
        if (r < 0)
                log_debug("removing replaced tree %s: %s", staged, strerror(-r));
        return 0;
}
