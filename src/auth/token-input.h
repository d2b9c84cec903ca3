/* Reading a token from the user for `enclave auth login`: a hidden
 * prompt on a terminal, or everything on stdin when it is a pipe or a
 * file. The token never passes through argv, so it never shows in
 * `ps`. */
#pragma once

#include "auth/token-store.h"

/* Read a token from fd into *ret (checked and trimmed with
 * auth_token_check()). On a terminal, prompt is written to prompt_fd
 * and echo is turned off until the line is read; the terminal is
 * restored on every path. A SIGINT, SIGTERM, SIGHUP or SIGQUIT during
 * the prompt ends it: the terminal is restored, *ret_signal names the
 * signal and -EINTR is returned, so the caller can wipe and re-raise
 * it. On any failure *ret is left wiped. */
int auth_read_token(int fd, int prompt_fd, const char *prompt, AuthToken *ret, int *ret_signal, Error *err);
