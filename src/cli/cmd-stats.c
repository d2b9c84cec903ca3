/* enclave stats [--no-stream] [--json]: resource usage of every running
 * workspace (SPEC §5) from the daemon's `daemon.stats`. On a terminal
 * the table is redrawn in place once a second until Ctrl-C; otherwise
 * (or with --no-stream / --json) one sample is printed.
 *
 * The daemon keeps the previous sample of every running workspace and
 * computes CPU % from it (actions-stats.c), so one request is a
 * complete sample: --no-stream needs no second round trip and no wait,
 * and in live mode each refresh shows the CPU use of the last second.
 *
 * Live mode draws each frame as one write: cursor home, the lines (each
 * cut to the terminal's width and followed by erase-to-end-of-line),
 * then erase-below, so nothing flickers and a shrinking table leaves no
 * stale rows. The cursor is hidden meanwhile; the ending signals
 * (Ctrl-C, Ctrl-\, SIGTERM, SIGHUP) are taken through a signalfd, so the
 * cursor is always shown again before the command exits. */
#include "cli/cli.h"
#include "cli/client.h"
#include "cli/output.h"
#include "proto/actions.h"
#include "base/str.h"

#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#define STATS_REFRESH_MS 1000
#define STATS_CALL_TIMEOUT_MS 10000

#define ANSI_HIDE_CURSOR "\033[?25l"
#define ANSI_SHOW_CURSOR "\033[?25h"
#define ANSI_CLEAR_SCREEN "\033[2J"
#define ANSI_HOME "\033[H"
#define ANSI_ERASE_LINE "\033[K"
#define ANSI_ERASE_BELOW "\033[J"

static const char stats_description[] =
        "Resource usage of every running workspace. On a terminal the table is redrawn\n"
        "once a second until Ctrl-C; when stdout is not a terminal, or with --no-stream,\n"
        "one sample is printed. --json prints one sample as a JSON array with the raw\n"
        "numbers (bytes; null = no limit).\n"
        "\n"
        "  CPU %        share of the whole machine since the previous sample (the daemon\n"
        "               keeps one per workspace: the last refresh, or the workspace's start)\n"
        "  MEM USAGE / LIMIT, MEM %   memory without reclaimable page cache, of the\n"
        "               workspace's own limit ('-' when it has none)\n"
        "  NET RX / TX  bytes on the workspace's network interfaces\n"
        "  BLOCK I/O    bytes read / written to block devices\n"
        "  PIDS, THREADS  processes and threads in the workspace";

/* ---- formatting ---- */

static void format_pair(json_t *o, const char *a, const char *b, char *buf, size_t size)
{
        char x[32], y[32];
        format_bytes(json_object_get(o, a), x, sizeof x);
        format_bytes(json_object_get(o, b), y, sizeof y);
        snprintf(buf, size, "%s / %s", x, y);
}

static void format_count(json_t *v, char *buf, size_t size)
{
        if (json_is_integer(v))
                snprintf(buf, size, "%lld", (long long) json_integer_value(v));
        else
                snprintf(buf, size, "-");
}

static void format_mem_percent(json_t *o, char *buf, size_t size)
{
        json_t *used = json_object_get(o, "memory_used"), *limit = json_object_get(o, "memory_limit");
        if (!json_is_integer(used) || !json_is_integer(limit) || json_integer_value(limit) <= 0) {
                snprintf(buf, size, "-");
                return;
        }
        snprintf(buf, size, "%.2f%%", 100.0 * (double) json_integer_value(used) / (double) json_integer_value(limit));
}

static int add_row(Table *t, json_t *o)
{
        char cpu[24], mem[72], memp[24], net[72], blk[72], pids[24], threads[24];
        bool sampled = !json_object_get(o, "error");
        if (sampled)
                snprintf(cpu, sizeof cpu, "%.2f%%", json_number_value(json_object_get(o, "cpu_percent")));
        else
                snprintf(cpu, sizeof cpu, "-");
        format_pair(o, "memory_used", "memory_limit", mem, sizeof mem);
        format_mem_percent(o, memp, sizeof memp);
        format_pair(o, "net_rx", "net_tx", net, sizeof net);
        format_pair(o, "block_read", "block_write", blk, sizeof blk);
        format_count(json_object_get(o, "processes"), pids, sizeof pids);
        format_count(json_object_get(o, "threads"), threads, sizeof threads);
        const char *cells[] = {
                json_string_value(json_object_get(o, "sandbox")),
                json_string_value(json_object_get(o, "workspace")),
                cpu, mem, memp, net, blk, pids, threads,
        };
        return table_add_row(t, cells);
}

static Table *stats_table(json_t *workspaces)
{
        static const char *const headers[] = { "SANDBOX", "WORKSPACE", "CPU %", "MEM USAGE / LIMIT", "MEM %",
                                               "NET RX / TX", "BLOCK I/O", "PIDS", "THREADS", NULL };
        _cleanup_table_ Table *t = table_new(headers);
        if (!t)
                return NULL;
        size_t i;
        json_t *o;
        json_array_foreach(workspaces, i, o)
                if (add_row(t, o) < 0)
                        return NULL;
        return TAKE_PTR(t);
}

/* ---- one sample ---- */

static int sample(Client *c, json_t **ret, Error *err)
{
        json_t *res = NULL;
        int r = client_call(c, PROTO_ACTION_DAEMON_STATS, NULL, NULL, 0, NULL, NULL, &res, NULL, err);
        if (r < 0)
                return r;
        json_t *a = json_object_get(res, "workspaces");
        if (!json_is_array(a)) {
                json_decref(res);
                return error_set(err, EPROTO, "the daemon's answer to daemon.stats has no workspace list");
        }
        *ret = json_incref(a);
        json_decref(res);
        return 0;
}

/* Samples that could not be taken, so a table's "-" has a reason. */
static void print_sample_errors(json_t *workspaces)
{
        size_t i;
        json_t *o;
        json_array_foreach(workspaces, i, o) {
                const char *msg = json_string_value(json_object_get(o, "error"));
                if (msg)
                        fprintf(stderr, "enclave: no sample of %s/%s: %s\n",
                                json_string_value(json_object_get(o, "sandbox")) ?: "?",
                                json_string_value(json_object_get(o, "workspace")) ?: "?", msg);
        }
}

static int print_once(Cli *cli, Client *c)
{
        _cleanup_error_ Error err = ERROR_INIT;
        json_t *ws = NULL;
        if (sample(c, &ws, &err) < 0)
                return cli_fail_error(cli, &err);
        int r = 0;
        if (cli->json)
                r = json_print(ws, stdout);
        else {
                _cleanup_table_ Table *t = stats_table(ws);
                r = t ? table_print(t, cli, stdout) : -ENOMEM;
                print_sample_errors(ws);
        }
        json_decref(ws);
        if (r < 0)
                return cli_fail(cli, "printing the stats: %s", strerror(-r));
        return fflush(stdout) == 0 ? EXIT_OK : cli_fail(cli, "writing the stats: %m");
}

/* ---- live mode ---- */

static void terminal_size(unsigned *rows, unsigned *cols)
{
        struct winsize w = {};
        *rows = 24;
        *cols = 80;
        if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &w) == 0 && w.ws_row > 0 && w.ws_col > 0) {
                *rows = w.ws_row;
                *cols = w.ws_col;
        }
}

static int write_all(int fd, const char *p, size_t n)
{
        while (n > 0) {
                ssize_t k = write(fd, p, n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                p += k;
                n -= (size_t) k;
        }
        return 0;
}

/* The frame for text (the printed table): at most rows - 1 lines, so
 * the last newline never scrolls the screen, each cut to cols. */
static int build_frame(const char *text, unsigned rows, unsigned cols, StrBuf *frame)
{
        int r = strbuf_puts(frame, ANSI_HOME);
        unsigned line = 0;
        for (const char *p = text; r >= 0 && *p && line + 1 < rows; line++) {
                size_t len = strcspn(p, "\n");
                r = strbuf_append(frame, p, len < cols ? len : cols);
                if (r >= 0)
                        r = strbuf_puts(frame, ANSI_ERASE_LINE "\n");
                p += len + (p[len] == '\n');
        }
        if (r >= 0)
                r = strbuf_puts(frame, ANSI_ERASE_BELOW);
        return r;
}

static int draw(const Cli *cli, json_t *workspaces)
{
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        if (!f)
                return -errno;
        _cleanup_table_ Table *t = stats_table(workspaces);
        int r = t ? table_print(t, cli, f) : -ENOMEM;
        if (fclose(f) != 0 && r >= 0)
                r = -EIO;
        if (r < 0)
                return r;
        unsigned rows, cols;
        terminal_size(&rows, &cols);
        _cleanup_strbuf_ StrBuf frame = STRBUF_INIT;
        r = build_frame(text, rows, cols, &frame);
        if (r < 0)
                return r;
        return write_all(STDOUT_FILENO, frame.data, frame.len);
}

static uint64_t now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000u + (uint64_t) ts.tv_nsec / 1000000u;
}

/* Wait until the next refresh is due. Returns 1 to go on (also at once
 * on a resize), 0 when an ending signal arrived, < 0 on error. */
static int wait_refresh(int sig_fd, uint64_t due_ms)
{
        for (;;) {
                uint64_t now = now_ms();
                int timeout = now >= due_ms ? 0 : (int) (due_ms - now);
                struct pollfd p = { sig_fd, POLLIN, 0 };
                int n = poll(&p, 1, timeout);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        return 1;
                struct signalfd_siginfo si;
                ssize_t k = read(sig_fd, &si, sizeof si);
                if (k < 0 && (errno == EINTR || errno == EAGAIN))
                        continue;
                if (k != (ssize_t) sizeof si)
                        return -EIO;
                if (si.ssi_signo == SIGWINCH)
                        return 1;
                return 0;
        }
}

static int live_loop(Cli *cli, Client *c, int sig_fd, Error *err)
{
        for (;;) {
                uint64_t due = now_ms() + STATS_REFRESH_MS;
                json_t *ws = NULL;
                int r = sample(c, &ws, err);
                if (r < 0)
                        return error_wrap(err, "refreshing the stats");
                r = draw(cli, ws);
                json_decref(ws);
                if (r < 0)
                        return error_setc(err, -r, "drawing the table");
                r = wait_refresh(sig_fd, due);
                if (r <= 0)
                        return r < 0 ? error_setc(err, -r, "waiting for the next refresh") : 0;
        }
}

static int live(Cli *cli, Client *c)
{
        sigset_t mask, old;
        sigemptyset(&mask);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGHUP);
        sigaddset(&mask, SIGQUIT);
        sigaddset(&mask, SIGWINCH);
        if (sigprocmask(SIG_BLOCK, &mask, &old) < 0)
                return cli_fail(cli, "blocking signals: %m");
        int sig_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        if (sig_fd < 0) {
                int e = errno;
                sigprocmask(SIG_SETMASK, &old, NULL);
                return cli_fail(cli, "creating a signalfd: %s", strerror(e));
        }
        _cleanup_error_ Error err = ERROR_INIT;
        (void) write_all(STDOUT_FILENO, ANSI_HIDE_CURSOR ANSI_CLEAR_SCREEN, strlen(ANSI_HIDE_CURSOR ANSI_CLEAR_SCREEN));
        int r = live_loop(cli, c, sig_fd, &err);
        (void) write_all(STDOUT_FILENO, ANSI_SHOW_CURSOR, strlen(ANSI_SHOW_CURSOR));
        safe_close(sig_fd);
        /* Signals that arrived meanwhile were read from the signalfd, so
         * unblocking delivers nothing stale: ending with Ctrl-C is success. */
        sigprocmask(SIG_SETMASK, &old, NULL);
        if (r == -EPIPE || r == -ECONNRESET)
                return cli_fail(cli, "%s; the daemon went away ('enclave daemon status' shows whether it runs)",
                                error_msg(&err));
        return r < 0 ? cli_fail_error(cli, &err) : EXIT_OK;
}

/* ---- the command ---- */

static int cmd_stats(Cli *cli, const CliArgs *a)
{
        _cleanup_error_ Error err = ERROR_INIT;
        _cleanup_client_ Client *c = NULL;
        if (client_open(cli, &c, &err) < 0)
                return cli_fail_error(cli, &err);
        client_set_timeout(c, STATS_CALL_TIMEOUT_MS);
        if (cli_arg_flag(a, "no-stream") || cli->json || !isatty(STDOUT_FILENO))
                return print_once(cli, c);
        return live(cli, c);
}

static const CliOption stats_options[] = {
        { "no-stream", 0, NULL, "print one sample and exit" },
        {},
};

const CliCommand cli_cmd_stats = {
        "stats", "live resource usage of all workspaces", stats_description, stats_options, .run = cmd_stats,
};
