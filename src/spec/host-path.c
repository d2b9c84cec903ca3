/* The path syntax of a host directory (host-path.h). */
#include "spec/host-path.h"

#include "base/macro.h"
#include "base/str.h"

#include <limits.h>
#include <string.h>

/* A workspace would see (and, where their modes allow, change) the host
 * itself: these and everything below them are refused. */
static const char *const system_trees[] = {
        "/proc", "/sys", "/dev", "/run", "/boot", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32",
        "/usr", "/var/run", "/var/lock",
};

/* Roots that hold other people's or the system's directories: refused
 * themselves, fine below (a project in /home/alice/proj or /srv/app). */
static const char *const shared_roots[] = {
        "/", "/home", "/root", "/tmp", "/var", "/var/lib", "/var/tmp", "/var/log", "/var/cache", "/mnt", "/media",
        "/srv", "/opt", "/usr/local",
};

bool hostdir_path_within(const char *path, const char *dir)
{
        if (streq(dir, "/"))
                return path[0] == '/';
        size_t n = strlen(dir);
        return strncmp(path, dir, n) == 0 && (path[n] == 0 || path[n] == '/');
}

static bool is_canonical(const char *path)
{
        if (path[0] != '/')
                return false;
        if (streq(path, "/"))
                return true;
        for (const char *c = path + 1;;) {
                const char *end = strchrnul(c, '/');
                size_t len = (size_t) (end - c);
                if (len == 0 || (len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.'))
                        return false;
                if (*end == 0)
                        return true;
                c = end + 1;
        }
}

int hostdir_check_path(const char *path, Error *err)
{
        if (!path || path[0] != '/')
                return error_set(err, EINVAL, "workspace_dir must be an absolute path, got '%s'", path ? path : "");
        if (strlen(path) >= PATH_MAX)
                return error_set(err, ENAMETOOLONG, "workspace_dir is longer than %d bytes", PATH_MAX - 1);
        if (!is_canonical(path))
                return error_set(err, EINVAL, "workspace_dir '%s' is not a canonical path (no '.', '..', '//' or "
                                 "trailing '/'); give the directory's real path", path);
        for (size_t i = 0; i < ELEMENTSOF(shared_roots); i++)
                if (streq(path, shared_roots[i]))
                        return error_set(err, EPERM, "workspace_dir '%s' is a system directory shared by others; "
                                         "name a project directory (below it) instead", path);
        for (size_t i = 0; i < ELEMENTSOF(system_trees); i++)
                if (hostdir_path_within(path, system_trees[i]) &&
                    !(streq(system_trees[i], "/usr") && hostdir_path_within(path, "/usr/local")))
                        return error_set(err, EPERM, "workspace_dir '%s' is a system directory (%s); a workspace "
                                         "may not have the host's own files as its /home", path, system_trees[i]);
        return 0;
}
