/* enclave daemon run|start|stop|status */
#include "cli/cli.h"
#include "cli/client.h"
#include "cli/output.h"
#include "proto/actions.h"
#include "config/daemon-options.h"
#include "config/trust.h"
#include "base/clock.h"
#include "base/fs.h"
#include "base/log.h"
#include "base/process.h"
#include "base/str.h"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#define EXIT_NOT_RUNNING 3 /* like `systemctl status` */
#define LOG_ROTATE_SIZE (8 * 1024 * 1024)
#define LOG_TAIL_LINES 20

static int parse_daemon_options(Cli *cli, const CliArgs *a, bool start, DaemonOptions *o)
{
        *o = (DaemonOptions) DAEMON_OPTIONS_INIT;
        o->config_path = cli->config_path;
        o->socket_path = cli->socket_path;
        o->state_dir = cli_arg_value(a, "state-dir");
        o->pid_file = cli_arg_value(a, "pid-file");
        o->debootstrap_binary = cli_arg_value(a, "debootstrap-binary");
        o->workspace_apparmor_profile = cli_arg_value(a, "workspace-apparmor-profile");
        o->workspace_selinux_label = cli_arg_value(a, "workspace-selinux-label");
        o->enable_test_actions = cli_arg_flag(a, "enable-test-actions");
        int64_t v;
        int r;
        if (start) {
                if ((r = cli_arg_int(cli, a, "wait-secs", 1, 3600, &v)) < 0)
                        return EXIT_USAGE;
                if (r > 0)
                        o->wait_secs = (int) v;
        }
        if ((r = cli_arg_int(cli, a, "request-timeout-ms", 1, 3600000, &v)) < 0)
                return EXIT_USAGE;
        if (r > 0)
                o->request_timeout_ms = (unsigned) v;
        return 0;
}

/* What start and stop report: a sentence, or with --json
 * {"pid", "socket", "running"} and whether this command changed it. */
static void report(Cli *cli, const char *text, pid_t pid, const char *socket, bool running, const char *changed_key,
                   bool changed)
{
        if (cli->json) {
                json_t *j = json_pack("{s:o, s:s, s:b, s:b}", "pid", pid > 0 ? json_integer(pid) : json_null(),
                                      "socket", socket, "running", running, changed_key, changed);
                if (j)
                        json_print(j, stdout);
                json_decref(j);
        } else if (!cli->quiet)
                fputs(text, stdout);
}

/* ---- run ---- */

/* Set by enclave-daemon's main(). The enclave CLI leaves it NULL and
 * hands `daemon run` to the enclave-daemon program instead, so the CLI
 * that users run for every command loads none of the daemon's
 * libraries (they cost several milliseconds per command). */
int (*cli_daemon_run)(const DaemonOptions *opts, Error *err) = NULL;

/* enclave-daemon, as root may run it (config/trust.h): daemon_binary of
 * config.toml, beside this binary, or in libexec; $ENCLAVE_DAEMON only
 * for other users, whose daemon does not start anyway. */
int cli_daemon_program(Cli *cli, char **ret, Error *err)
{
        const char *env = getenv("ENCLAVE_DAEMON");
        if (env && *env && geteuid() != 0)
                return (*ret = strdup(env)) ? 0 : error_set(err, ENOMEM, "out of memory");
        if (trust_env_ignored("ENCLAVE_DAEMON") && !cli->quiet)
                fprintf(stderr, "enclave: ENCLAVE_DAEMON is ignored for root; set daemon_binary in config.toml\n");
        Settings s = {};
        int r = settings_load(cli->config_path, &s, err);
        if (r >= 0)
                r = trust_find_program(s.daemon_binary, "enclave-daemon", ret, err);
        settings_done(&s);
        return r;
}

/* Replace this process with enclave-daemon running `daemon run` with
 * the same options. */
static int exec_daemon_program(Cli *cli, const CliArgs *a)
{
        _cleanup_free_ char *bin = NULL;
        _cleanup_error_ Error err = ERROR_INIT;
        if (cli_daemon_program(cli, &bin, &err) < 0)
                return cli_fail_error(cli, &err);
        _cleanup_strv_free_ char **env = trust_daemon_environment();
        if (!env)
                return cli_fail(cli, "out of memory");
        _cleanup_free_ const char **args = calloc(2 * a->n_values + 8, sizeof(char *));
        if (!args)
                return cli_fail(cli, "out of memory");
        size_t k = 0;
        args[k++] = bin;
        if (cli->config_path) {
                args[k++] = "--config";
                args[k++] = cli->config_path;
        }
        if (cli->socket_path) {
                args[k++] = "--socket";
                args[k++] = cli->socket_path;
        }
        args[k++] = "daemon";
        args[k++] = "run";
        _cleanup_strv_free_ char **names = NULL;
        for (size_t i = 0; i < a->n_values; i++) {
                const CliValue *v = &a->values[i];
                if (cli_option_is_global(v->opt))
                        continue;
                _cleanup_free_ char *opt = NULL;
                if (asprintf(&opt, "--%s", v->opt->name) < 0 || strv_push(&names, opt) < 0)
                        return cli_fail(cli, "out of memory");
                args[k++] = names[strv_length(names) - 1];
                if (v->value)
                        args[k++] = v->value;
        }
        args[k] = NULL;
        /* Root's daemon gets a clean environment: nothing of a user's
         * (sudo -E) decides what it runs. */
        execve(bin, (char *const *) args, geteuid() == 0 ? env : environ);
        return cli_fail(cli, "cannot execute the daemon program %s: %m; is Enclave installed completely "
                        "(make install), or set daemon_binary in config.toml", bin);
}

static int cmd_run(Cli *cli, const CliArgs *a)
{
        if (!cli_daemon_run)
                return exec_daemon_program(cli, a);
        DaemonOptions o;
        int r = parse_daemon_options(cli, a, false, &o);
        if (r != 0)
                return r;
        log_setup(LOG_LEVEL_INFO);
        log_set_timestamps(true);
        _cleanup_error_ Error err = ERROR_INIT;
        if (cli_daemon_run(&o, &err) < 0) {
                log_error("%s", error_msg(&err));
                return EXIT_FAIL;
        }
        return EXIT_OK;
}

/* ---- helpers shared by start/stop/status ---- */

/* Ping the daemon at path; 0 with its pid, or the connect/call error. */
static int ping_daemon(const char *path, int timeout_ms, pid_t *ret_pid, Error *err)
{
        _cleanup_client_ Client *c = NULL;
        int r = client_connect(path, &c, err);
        if (r < 0)
                return r;
        client_set_timeout(c, timeout_ms);
        json_t *res = NULL;
        r = client_call(c, PROTO_ACTION_DAEMON_PING, NULL, NULL, 0, NULL, NULL, &res, NULL, err);
        if (r < 0)
                return r;
        if (ret_pid)
                *ret_pid = (pid_t) json_integer_value(json_object_get(res, "pid"));
        json_decref(res);
        return 0;
}

static void sleep_ms(unsigned ms)
{
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long) (ms % 1000) * 1000000L };
        (void) nanosleep(&ts, NULL);
}

/* ---- start ---- */

static int open_log(const char *state_dir, char **ret_path, off_t *ret_offset)
{
        *ret_path = NULL;
        *ret_offset = 0;
        if (mkdir_p(state_dir, 0711) < 0)
                return open("/dev/null", O_WRONLY | O_CLOEXEC);
        _cleanup_free_ char *path = path_join(state_dir, DAEMON_LOG_FILE);
        if (!path)
                return open("/dev/null", O_WRONLY | O_CLOEXEC);
        struct stat st;
        if (stat(path, &st) == 0 && st.st_size > LOG_ROTATE_SIZE) {
                _cleanup_free_ char *old = NULL;
                if (asprintf(&old, "%s.1", path) >= 0)
                        (void) rename(path, old);
        }
        int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
        if (fd < 0)
                return open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (fstat(fd, &st) == 0)
                *ret_offset = st.st_size;
        *ret_path = TAKE_PTR(path);
        return fd;
}

/* The last lines this start wrote to the log, for an error message. */
static void print_log_tail(const char *path, off_t offset)
{
        if (!path)
                return;
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || lseek(fd, offset, SEEK_SET) < 0)
                return;
        _cleanup_free_ char *text = NULL;
        if (read_full_fd(fd, 1024 * 1024, &text, NULL) < 0 || !text[0])
                return;
        const char *p = text + strlen(text);
        int lines = 0;
        while (p > text && lines <= LOG_TAIL_LINES)
                if (*--p == '\n')
                        lines++;
        if (*p == '\n')
                p++;
        fprintf(stderr, "enclave: last lines of %s:\n", path);
        for (const char *l = p; *l;) {
                const char *e = strchrnul(l, '\n');
                fprintf(stderr, "  %.*s\n", (int) (e - l), l);
                l = *e ? e + 1 : e;
        }
}

static int push_opt(char **argv, size_t *n, const char *opt, const char *value)
{
        if (!value)
                return 0;
        argv[(*n)++] = (char *) opt;
        argv[(*n)++] = (char *) value;
        return 0;
}

static _noreturn_ void exec_daemon(const DaemonOptions *o, const Settings *s, int log_fd)
{
        char timeout[32];
        char *argv[32];
        size_t n = 0;
        argv[n++] = "enclave";
        /* The file this CLI resolved and checked, not a lookup of its own. */
        push_opt(argv, &n, "--config", s->path);
        argv[n++] = "daemon";
        argv[n++] = "run";
        /* The resolved paths: the daemon must serve exactly what we wait for. */
        push_opt(argv, &n, "--socket", s->socket_path);
        push_opt(argv, &n, "--state-dir", s->state_dir);
        push_opt(argv, &n, "--pid-file", s->pid_file);
        push_opt(argv, &n, "--debootstrap-binary", o->debootstrap_binary);
        push_opt(argv, &n, "--workspace-apparmor-profile", o->workspace_apparmor_profile);
        push_opt(argv, &n, "--workspace-selinux-label", o->workspace_selinux_label);
        if (o->enable_test_actions)
                argv[n++] = "--enable-test-actions";
        if (o->request_timeout_ms) {
                snprintf(timeout, sizeof timeout, "%u", o->request_timeout_ms);
                push_opt(argv, &n, "--request-timeout-ms", timeout);
        }
        argv[n] = NULL;

        (void) setsid();
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null >= 0)
                (void) dup2(null, STDIN_FILENO);
        (void) dup2(log_fd, STDOUT_FILENO);
        (void) dup2(log_fd, STDERR_FILENO);
        execv("/proc/self/exe", argv);
        fprintf(stderr, "enclave: cannot execute the daemon: %m\n");
        _exit(127);
}

/* Wait until the daemon we started answers, or it dies, or time is up. */
static int wait_for_daemon(Cli *cli, pid_t child, const Settings *s, const char *log_path, off_t log_offset)
{
        uint64_t deadline = now_monotonic_ns() + (uint64_t) s->wait_secs * 1000000000ull;
        for (;;) {
                int status;
                pid_t w = waitpid(child, &status, WNOHANG);
                if (w == child) {
                        print_log_tail(log_path, log_offset);
                        return cli_fail(cli, "the daemon exited during startup (%s %d)%s%s",
                                        WIFSIGNALED(status) ? "signal" : "status",
                                        WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status),
                                        log_path ? "; full log: " : "", log_path ? log_path : "");
                }
                _cleanup_error_ Error err = ERROR_INIT;
                pid_t pid = 0;
                if (ping_daemon(s->socket_path, 1000, &pid, &err) >= 0) {
                        _cleanup_free_ char *text = NULL;
                        if (asprintf(&text, "enclave daemon started (pid %d), socket %s\n", (int) pid,
                                     s->socket_path) < 0)
                                text = NULL;
                        report(cli, text ?: "", pid, s->socket_path, true, "started", true);
                        return EXIT_OK;
                }
                if (now_monotonic_ns() > deadline) {
                        (void) kill(child, SIGTERM);
                        print_log_tail(log_path, log_offset);
                        return cli_fail(cli, "the daemon did not answer on %s within %d s (%s); stopped it. "
                                        "Raise wait_secs or --wait-secs if the host is slow",
                                        s->socket_path, s->wait_secs, error_msg(&err));
                }
                sleep_ms(20);
        }
}

static int cmd_start(Cli *cli, const CliArgs *a)
{
        DaemonOptions o;
        int r = parse_daemon_options(cli, a, true, &o);
        if (r != 0)
                return r;
        _cleanup_error_ Error err = ERROR_INIT;
        Settings s = {};
        if (daemon_resolve_settings(&o, &s, &err) < 0)
                return cli_fail_error(cli, &err);

        pid_t pid = 0;
        if (ping_daemon(s.socket_path, 2000, &pid, &err) >= 0) {
                _cleanup_free_ char *text = NULL;
                if (asprintf(&text, "enclave daemon already running (pid %d), socket %s\n", (int) pid,
                             s.socket_path) < 0)
                        text = NULL;
                report(cli, text ?: "", pid, s.socket_path, true, "started", false);
                settings_done(&s);
                return EXIT_OK;
        }
        if (geteuid() != 0) {
                settings_done(&s);
                return cli_fail(cli, "the enclave daemon must be started by root (try 'sudo enclave daemon start')");
        }
        _cleanup_free_ char *log_path = NULL;
        off_t log_offset;
        _cleanup_close_ int log_fd = open_log(s.state_dir, &log_path, &log_offset);

        fflush(NULL);
        pid_t child = fork();
        if (child < 0) {
                settings_done(&s);
                return cli_fail(cli, "cannot fork the daemon: %m");
        }
        if (child == 0)
                exec_daemon(&o, &s, log_fd);
        r = wait_for_daemon(cli, child, &s, log_path, log_offset);
        settings_done(&s);
        return r;
}

/* ---- stop ---- */

/* Gone, or a zombie nobody has reaped yet (this host's pid 1 reaps
 * orphans only every few seconds), or the pid now names another
 * process. */
static bool process_gone(pid_t pid, uint64_t start_time)
{
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
        _cleanup_free_ char *buf = NULL;
        if (read_full_file(path, 4096, &buf, NULL) < 0)
                return true;
        const char *p = strrchr(buf, ')');
        if (p && p[1] == ' ' && p[2] == 'Z')
                return true;
        return !pid_is_same_process(pid, start_time);
}

static int wait_settings(Cli *cli, int *ret_secs)
{
        Settings s = {};
        _cleanup_error_ Error err = ERROR_INIT;
        *ret_secs = 10;
        if (settings_load(cli->config_path, &s, &err) >= 0)
                *ret_secs = s.wait_secs;
        settings_done(&s);
        return 0;
}

/* Wait until the daemon process has exited. A pidfd names exactly the
 * process that answered (no pid reuse race) and becomes readable when
 * it exits; without one, poll /proc. */
static int wait_for_exit_of(int pidfd, pid_t pid, uint64_t start_time, uint64_t deadline)
{
        for (;;) {
                if (pidfd >= 0) {
                        struct pollfd p = { .fd = pidfd, .events = POLLIN };
                        if (poll(&p, 1, 10) > 0)
                                return 0;
                } else {
                        if (process_gone(pid, start_time))
                                return 0;
                        sleep_ms(10);
                }
                if (now_monotonic_ns() > deadline)
                        return -ETIMEDOUT;
        }
}

static int cmd_stop(Cli *cli, const CliArgs *a)
{
        _cleanup_error_ Error err = ERROR_INIT;
        _cleanup_free_ char *path = NULL;
        if (client_socket_path(cli, &path, &err) < 0)
                return cli_fail_error(cli, &err);
        _cleanup_client_ Client *c = NULL;
        int r = client_connect(path, &c, &err);
        if (client_error_not_running(r)) {
                _cleanup_free_ char *text = NULL;
                if (asprintf(&text, "enclave daemon is not running (socket %s)\n", path) < 0)
                        text = NULL;
                report(cli, text ?: "", 0, path, false, "stopped", false);
                return EXIT_OK;
        }
        if (r < 0)
                return cli_fail_error(cli, &err);
        client_set_timeout(c, 10000);

        /* Learn who answers before asking it to stop. */
        json_t *res = NULL;
        if (client_call(c, PROTO_ACTION_DAEMON_PING, NULL, NULL, 0, NULL, NULL, &res, NULL, &err) < 0)
                return cli_fail_error(cli, &err);
        pid_t pid = (pid_t) json_integer_value(json_object_get(res, "pid"));
        json_decref(res);
        _cleanup_close_ int pidfd = pid > 0 ? pidfd_open_fd(pid) : -EBADF;
        uint64_t start_time = 0;
        if (pid > 0 && pidfd < 0 && pid_start_time(pid, &start_time) < 0)
                pid = 0; /* not visible from here (another pid namespace) */

        res = NULL;
        if (client_call(c, PROTO_ACTION_DAEMON_STOP, NULL, NULL, 0, NULL, NULL, &res, NULL, &err) < 0)
                return cli_fail_error(cli, &err);
        json_decref(res);
        c = client_free(c);

        if (pid > 0) {
                int wait_secs;
                wait_settings(cli, &wait_secs);
                /* The daemon itself gives long actions DAEMON_STOP_GRACE_MS. */
                uint64_t deadline = now_monotonic_ns() +
                                    ((uint64_t) wait_secs * 1000 + DAEMON_STOP_GRACE_MS) * 1000000ull;
                if (wait_for_exit_of(pidfd, pid, start_time, deadline) < 0)
                        return cli_fail(cli, "the daemon (pid %d) did not exit within %d s; "
                                        "check 'enclave daemon status' or kill it", (int) pid, wait_secs);
        }
        _cleanup_free_ char *text = NULL;
        if (asprintf(&text, "enclave daemon stopped (pid %d)\n", (int) pid) < 0)
                text = NULL;
        report(cli, text ?: "", pid, path, false, "stopped", true);
        return EXIT_OK;
}

/* ---- status ---- */

static void format_duration(uint64_t secs, char *buf, size_t size)
{
        if (secs >= 86400)
                snprintf(buf, size, "%llud %lluh %llum", (unsigned long long) secs / 86400,
                         (unsigned long long) secs % 86400 / 3600, (unsigned long long) secs % 3600 / 60);
        else if (secs >= 3600)
                snprintf(buf, size, "%lluh %llum %llus", (unsigned long long) secs / 3600,
                         (unsigned long long) secs % 3600 / 60, (unsigned long long) secs % 60);
        else if (secs >= 60)
                snprintf(buf, size, "%llum %llus", (unsigned long long) secs / 60, (unsigned long long) secs % 60);
        else
                snprintf(buf, size, "%llus", (unsigned long long) secs);
}

static int cmd_status(Cli *cli, const CliArgs *a)
{
        _cleanup_error_ Error err = ERROR_INIT;
        _cleanup_free_ char *path = NULL;
        if (client_socket_path(cli, &path, &err) < 0)
                return cli_fail_error(cli, &err);
        _cleanup_client_ Client *c = NULL;
        int r = client_connect(path, &c, &err);
        if (client_error_not_running(r)) {
                if (cli->json) {
                        json_t *j = json_pack("{s:b, s:s}", "running", 0, "socket", path);
                        json_print(j, stdout);
                        json_decref(j);
                } else
                        printf("enclave daemon is not running (socket %s)\n", path);
                return EXIT_NOT_RUNNING;
        }
        if (r < 0)
                return cli_fail_error(cli, &err);
        client_set_timeout(c, 10000);
        json_t *h = NULL;
        r = client_call(c, PROTO_ACTION_DAEMON_HEALTH, NULL, NULL, 0, NULL, NULL, &h, NULL, &err);
        if (r < 0)
                return cli_fail_error(cli, &err);
        if (cli->json) {
                json_object_set_new(h, "running", json_true());
                json_print(h, stdout);
        } else {
                char up[64];
                format_duration((uint64_t) json_integer_value(json_object_get(h, "uptime_secs")), up, sizeof up);
                printf("enclave daemon is running\n"
                       "  pid:       %lld\n"
                       "  socket:    %s\n"
                       "  uptime:    %s\n"
                       "  version:   %s\n"
                       "  state dir: %s\n",
                       (long long) json_integer_value(json_object_get(h, "pid")), path, up,
                       json_string_value(json_object_get(h, "version")) ?: "?",
                       json_string_value(json_object_get(h, "state_dir")) ?: "?");
        }
        json_decref(h);
        return EXIT_OK;
}

#define DAEMON_OPTIONS                                                                                    \
        { "state-dir", 0, "DIR", "state directory (default /var/lib/enclave)", .complete = CLI_COMPLETE_DIR },   \
        { "pid-file", 0, "FILE", "pid file (default /run/enclave/manager.pid)", .complete = CLI_COMPLETE_FILE }, \
        { "debootstrap-binary", 0, "PATH", "the debootstrap program to run", .complete = CLI_COMPLETE_FILE },    \
        { "workspace-apparmor-profile", 0, "NAME", "AppArmor profile every workspace runs under" },             \
        { "workspace-selinux-label", 0, "LABEL", "SELinux label every workspace runs under" },                   \
        { "enable-test-actions", 0, NULL, "test suite only: debug actions", CLI_OPT_HIDDEN },                    \
        { "request-timeout-ms", 0, "MS", "test suite only: request time limit", CLI_OPT_HIDDEN }

static const CliOption run_options[] = { DAEMON_OPTIONS, {} };
static const CliOption start_options[] = {
        DAEMON_OPTIONS,
        { "wait-secs", 0, "N", "how long to wait for the daemon to answer (1-3600, default wait_secs or 10)" },
        {},
};

static const CliCommand run = {
        "run", "run the daemon in the foreground",
        "Runs the daemon in the foreground (for systemd and debugging). Command-line\n"
        "options override config.toml, which overrides the defaults.",
        run_options, .run = cmd_run,
};

static const CliCommand start = {
        "start", "start the daemon in the background",
        "Starts the daemon in the background with its log in <state_dir>/daemon.log and\n"
        "waits until it answers. Root only. Command-line options override config.toml,\n"
        "which overrides the defaults.",
        start_options, .run = cmd_start,
};

static const CliCommand stop = {
        "stop", "stop the daemon",
        "Asks the daemon to stop and waits until it has exited. Workspaces keep running;\n"
        "the next daemon adopts them.",
        .run = cmd_stop,
};

static const CliCommand status = {
        "status", "show whether the daemon runs",
        "Shows whether the daemon runs, with its pid, socket, uptime, version and state\n"
        "directory. Exits 3 when it does not run.",
        .run = cmd_status,
};

const CliCommand cli_group_daemon = {
        "daemon", "control the Enclave daemon",
        .sub = (const CliCommand *const[]) { &run, &start, &stop, &status, NULL },
};
