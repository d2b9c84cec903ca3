/* The archive a command reads or writes, opened here with the caller's
 * own rights and handed to the daemon as an fd: the daemon never opens
 * a user's path as root. An output is an unnamed file in the target's
 * directory, linked into place only once the archive is complete, so a
 * failure leaves no partial archive behind. Each function reports its
 * failure on stderr and returns the exit code (0 on success). */
#pragma once

#include "cli/cli.h"
#include "spec/archive-name.h"

/* An archive to read: a regular file or a pipe. */
int archive_arg_open_input(Cli *cli, const char *path, int *ret_fd);

/* An archive to write at path (which must not exist yet); its
 * compression follows the name (.tar, .tar.gz, .tar.zst). */
int archive_arg_open_output(Cli *cli, const char *path, TarballCompression *ret_comp, int *ret_fd);

/* Give the complete archive in fd its name. */
int archive_arg_link_output(Cli *cli, int fd, const char *path);
