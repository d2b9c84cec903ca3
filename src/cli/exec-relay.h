/* The CLI's half of `workspace exec/run/enter`: what it puts between
 * the user's terminal or pipes and the command in the workspace.
 *
 * Without a pty the command never gets one of the CLI's own descriptors
 * (another process of the workspace could take it with pidfd_getfd() and
 * keep writing to the user's file or reading the user's pipe after the
 * command ended): stdout and stderr are pipes this relay copies to the
 * CLI's, and stdin a pipe fed from the CLI's, so pipes and redirections
 * still behave like a local command. The exceptions: /dev/null is passed
 * as it is, and a terminal stdin is fed only with -i (else the command
 * reads /dev/null). Like ssh, the relay reads stdin as soon as it can;
 * give `</dev/null` to a command in a loop that reads the loop's input.
 *
 * With a pty (made inside the workspace by the daemon, its master handed
 * to us) the relay copies between the terminal and the master: raw mode
 * on the terminal while it runs (restored on every path, also when the
 * CLI is killed by SIGTERM/SIGHUP/SIGINT/SIGQUIT), window-size changes
 * forwarded with TIOCSWINSZ on the master. */
#pragma once

#include "base/error.h"

#include <stdbool.h>

typedef struct StdioRelay StdioRelay;

/* The three fds to send as the command's stdin/stdout/stderr (pipes of
 * the relay, or /dev/null), and the relay. relay_stdin: feed a terminal
 * stdin to the command (-i); otherwise it gets /dev/null. */
int stdio_relay_start(bool relay_stdin, int ret_fds[3], StdioRelay **ret, Error *err);

/* After the command ended (the daemon replied): close the fds we sent,
 * copy what the command wrote until its pipes reach end of file (at
 * most a short while: a background process may keep them open), stop
 * and free. */
void stdio_relay_finish(StdioRelay *r);

/* Relay between the terminal (or stdin/stdout) and a pty master until
 * the command's side of the pty is closed, or until stop_fd (the daemon
 * socket) becomes readable — the reply is coming, the command ended.
 * input: copy stdin to the pty (a terminal, or -i). Takes master. */
int pty_relay_run(int master, int stop_fd, bool input, Error *err);

/* The terminal size of stdin/stdout, for the pty's initial size. */
bool terminal_size(unsigned short *rows, unsigned short *cols);
