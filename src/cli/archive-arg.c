#include "cli/archive-arg.h"

#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int archive_arg_open_input(Cli *cli, const char *path, int *ret_fd)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return cli_fail(cli, "cannot open %s: %m; give the path of a .tar, .tar.gz or .tar.zst archive", path);
        struct stat st;
        if (fstat(fd, &st) < 0 || (!S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode)))
                return cli_fail(cli, "%s is not a regular file", path);
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int archive_arg_open_output(Cli *cli, const char *path, TarballCompression *ret_comp, int *ret_fd)
{
        _cleanup_error_ Error err = ERROR_INIT;
        if (tarball_compression_from_name(path, ret_comp, &err) < 0)
                return cli_usage_error(cli, "--output %s: %s", path, error_msg(&err));
        _cleanup_free_ char *copy = strdup(path);
        if (!copy)
                return cli_fail(cli, "out of memory");
        struct stat st;
        if (lstat(path, &st) == 0)
                return cli_fail(cli, "%s already exists; remove it or choose another --output", path);
        const char *dir = dirname(copy);
        int fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
        if (fd < 0)
                return cli_fail(cli, "cannot write into %s: %m", dir);
        *ret_fd = fd;
        return 0;
}

int archive_arg_link_output(Cli *cli, int fd, const char *path)
{
        char proc[64];
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
        if (linkat(AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW) < 0) {
                if (errno == EEXIST)
                        return cli_fail(cli, "%s appeared while the archive was written; nothing was replaced",
                                        path);
                return cli_fail(cli, "cannot create %s: %m", path);
        }
        return 0;
}
