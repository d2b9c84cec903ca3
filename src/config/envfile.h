/* A workspace's env_file (an Enclavefile key): variables for run, exec
 * and enter, one NAME=VALUE per line, as docker compose reads them.
 *
 *   # a comment           blank lines are skipped
 *   NAME=value            the rest of the line, trailing blanks and a
 *                         " # comment" cut off
 *   export NAME=value     "export " is allowed and ignored
 *   NAME="a \"b\"\n"      double quotes: \" \\ \n \t \$ escapes
 *   NAME='a b'            single quotes: the text as it is
 *
 * The same names are refused as in the Enclavefile's env table (not a
 * variable name, a token variable, ENCLAVE_*); every problem goes into
 * the Diagnostics as FILE:LINE:COL. The CLI reads the file with the
 * caller's own rights at validate and up time; the daemon only ever
 * sees the resulting variables. */
#pragma once

#include "config/diagnostics.h"

#define ENVFILE_MAX_SIZE (1024u * 1024)

/* Parse data (display is the file name in messages). On success
 * *ret_entries holds "NAME=value" strings in file order (a later line
 * wins over an earlier one of the same name), NULL-terminated. Returns
 * -EINVAL when there were problems (in diag), -ENOMEM. */
int envfile_parse(const char *data, size_t len, const char *display, Diagnostics *diag, char ***ret_entries);

/* Read and parse the file at path (a regular file of at most
 * ENVFILE_MAX_SIZE bytes). A file that cannot be read is one problem
 * at the Enclavefile's env_file key: (ef_file, line, col). With within
 * set, the file opened must lie below that directory (judged by what
 * was opened, after every symlink), or it is such a problem too. */
int envfile_load(const char *path, const char *display, const char *within, const char *ef_file, unsigned line,
                 unsigned col, Diagnostics *diag, char ***ret_entries);
