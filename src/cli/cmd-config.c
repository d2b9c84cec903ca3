/* enclave init, enclave validate: the Enclavefile commands that need no
 * daemon. */
#include "cli/cli.h"
#include "config/enclavefile.h"
#include "config/settings.h"
#include "spec/values.h"
#include "base/fs.h"
#include "base/str.h"

#include <ctype.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>

#define INIT_DEFAULT_NAME "my-sandbox"

static const char scaffold_head[] =
        "# Enclavefile: one sandbox (a prepared Debian root filesystem, set up once)\n"
        "# and the workspaces that run inside it, each with its own processes,\n"
        "# network, hostname, writable layer and /home.\n"
        "#\n"
        "#   enclave validate    check this file and show the resolved configuration\n"
        "#   enclave up          create the sandbox, run setup, start the workspaces\n"
        "#   enclave down        stop them again\n"
        "#\n"
        "# Lines starting with '#' are comments: uncomment a key to use it.\n"
        "# Every key is described in docs/enclavefile.md.\n"
        "\n"
        "[sandbox]\n"
        "# Name of the sandbox (required): 1-63 letters, digits, '_' and '-'.\n";

/* The keys whose defaults are the host's (config.toml): written with
 * the values this host would use, so that the file means the same
 * sandbox here whatever config.toml says. */
#define SCAFFOLD_DEFAULTS                                                                       \
        "\n"                                                                                    \
        "# Debian release of the root filesystem: bookworm, bullseye, trixie, sid,\n"           \
        "# stable, testing or oldstable.%s\n"                                                   \
        "suite = \"%s\"\n"                                                                      \
        "\n"                                                                                    \
        "# How the root filesystem is made: \"debootstrap\" downloads it from the\n"            \
        "# mirror; \"cached_rootfs\" copies one cached earlier or imported with\n"              \
        "# 'enclave rootfs import'.%s\n"                                                        \
        "bootstrap_method = \"%s\"\n"                                                           \
        "\n"                                                                                    \
        "# Debian package mirror, http:// or https://.%s\n"                                     \
        "mirror = \"%s\"\n"

static const char scaffold_body[] =
        "\n"
        "# Caps over all workspaces of this sandbox together (cgroup); unset = no cap.\n"
        "# memory_mb = 4096        # MiB of memory, 16..16777216\n"
        "# cpu_percent = 50        # percent of the whole machine, 1..100\n"
        "# max_procs = 512         # processes, 1..4194304\n"
        "\n"
        "# Commands run as root inside the sandbox to install your toolchain. They\n"
        "# run again only when this list changes (or with 'enclave up --rebuild').\n"
        "# Multi-line scripts can be written as \"\"\"...\"\"\" strings.\n"
        "setup = [\n"
        "    # \"apt-get update\",\n"
        "    # \"apt-get install -y --no-install-recommends git python3\",\n"
        "]\n"
        "\n"
        "# One [workspace.<name>] table per workspace; every key in it is optional.\n"
        "[workspace.shell]\n"
        "# name = \"shell\"                # defaults to the table key; unique in this file\n"
        "# run = \"python3 -m http.server 8000\"\n"
        "#                               # started when the workspace starts; without\n"
        "#                               # it the workspace starts idle\n"
        "# workspace_dir = \"./project\"   # host directory shown as /home (alias: path);\n"
        "#                               # relative to this file; must exist\n"
        "# cpu_seconds = 3600            # CPU time limit in seconds (RLIMIT_CPU)\n"
        "# cpu_percent = 25              # CPU quota, percent of the whole machine, 1..100\n"
        "# memory_mb = 2048              # memory limit in MiB (cgroup)\n"
        "# max_procs = 256               # process limit (cgroup pids + RLIMIT_NPROC)\n"
        "# max_open_files = 4096         # open file limit (RLIMIT_NOFILE), 16..1048576\n"
        "# disk_mb = 2048                # quota of the managed /home and /tmp in MiB;\n"
        "#                               # not together with workspace_dir\n"
        "# auth = [\"github\", \"npm\"]      # providers whose tokens (stored with\n"
        "#                               # 'enclave auth login') reach this workspace:\n"
        "#                               # enclave, github, npm\n"
        "# env_tokens = [\"GITHUB_TOKEN\"] # token variables set in the workspace: ENCLAVE_TOKEN,\n"
        "#                               # GITHUB_TOKEN, GH_TOKEN, NPM_TOKEN\n"
        "# ports = [\"127.0.0.1:8080:8000/tcp\"]\n"
        "#                               # publish workspace port 8000 on the host's\n"
        "#                               # 127.0.0.1:8080 (loopback and TCP only)\n"
        "# env = { EDITOR = \"vi\" }       # plain environment for run, exec and enter\n";

/* A sandbox name from the current directory's name, so that the
 * scaffold validates as written. */
static void default_sandbox_name(char *buf, size_t size)
{
        char cwd[PATH_MAX];
        size_t n = 0;
        if (getcwd(cwd, sizeof cwd)) {
                const char *base = strrchr(cwd, '/');
                base = base ? base + 1 : cwd;
                for (const char *p = base; *p && n < 63 && n + 1 < size; p++) {
                        unsigned char c = (unsigned char) *p;
                        if (isascii(c) && (isalnum(c) || ((c == '-' || c == '_') && n > 0)))
                                buf[n++] = (char) c;
                        else if (n > 0 && buf[n - 1] != '-')
                                buf[n++] = '-';
                }
        }
        buf[n] = 0;
        if (!name_is_valid(buf))
                snprintf(buf, size, "%s", INIT_DEFAULT_NAME);
}

/* " (this host's default, from FILE)" when FILE set it. */
static void origin(char *buf, size_t size, const char *value, const char *builtin, const char *file)
{
        if (file && !streq(value, builtin))
                snprintf(buf, size, "\n# This host's default, from %s.", file);
        else
                buf[0] = 0;
}

/* The suite, method and mirror this host's config.toml makes the
 * defaults, as scaffold lines. A config.toml that cannot be read is an
 * error here too: the daemon would refuse it as well. */
static int host_defaults(Cli *cli, char **ret)
{
        _cleanup_error_ Error err = ERROR_INIT;
        _cleanup_free_ char *file = NULL;
        Settings s = {};
        if (settings_find_file(cli->config_path, &file, &err) < 0 || settings_load(cli->config_path, &s, &err) < 0) {
                settings_done(&s);
                return cli_fail(cli, "%s; fix config.toml (or point --config at another) and run 'enclave init' "
                                "again", error_msg(&err));
        }
        char o1[PATH_MAX + 64], o2[PATH_MAX + 64], o3[PATH_MAX + 64];
        origin(o1, sizeof o1, s.suite, DEFAULT_SUITE, file);
        origin(o2, sizeof o2, s.bootstrap_method, DEFAULT_BOOTSTRAP_METHOD, file);
        origin(o3, sizeof o3, s.mirror, DEFAULT_MIRROR, file);
        int r = asprintf(ret, SCAFFOLD_DEFAULTS, o1, s.suite, o2, s.bootstrap_method, o3, s.mirror);
        settings_done(&s);
        return r < 0 ? cli_fail(cli, "out of memory") : 0;
}

static int cmd_init(Cli *cli, const CliArgs *a)
{
        char name[64];
        default_sandbox_name(name, sizeof name);
        _cleanup_free_ char *defaults = NULL;
        int r = host_defaults(cli, &defaults);
        if (r != 0)
                return r;
        _cleanup_free_ char *text = NULL;
        if (asprintf(&text, "%sname = \"%s\"\n%s%s", scaffold_head, name, defaults, scaffold_body) < 0)
                return cli_fail(cli, "out of memory");

        /* O_EXCL: never overwrite, not even through a dangling symlink. */
        _cleanup_close_ int fd = open(ENCLAVEFILE_NAME, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0 && errno == EEXIST)
                return cli_fail(cli, "./%s already exists; not overwriting it. Edit it, or remove it and run 'enclave init' again",
                                ENCLAVEFILE_NAME);
        if (fd < 0)
                return cli_fail(cli, "cannot create ./%s: %s", ENCLAVEFILE_NAME, strerror(errno));
        r = loop_write(fd, text, strlen(text));
        if (r < 0) {
                (void) unlink(ENCLAVEFILE_NAME);
                return cli_fail(cli, "writing ./%s: %s", ENCLAVEFILE_NAME, strerror(-r));
        }

        if (cli->json) {
                json_t *j = json_pack("{s:s, s:s}", "path", ENCLAVEFILE_NAME, "sandbox", name);
                if (j)
                        json_dumpf(j, stdout, JSON_INDENT(2));
                json_decref(j);
                putchar('\n');
        } else if (!cli->quiet)
                printf("Wrote ./%s for sandbox \"%s\".\n"
                       "Add setup commands and workspaces, then run 'enclave validate' and 'enclave up'.\n",
                       ENCLAVEFILE_NAME, name);
        return EXIT_OK;
}

static json_t *diagnostics_to_json(const Diagnostics *diag)
{
        json_t *errors = json_array();
        for (size_t i = 0; errors && i < diag->n; i++) {
                const Diagnostic *d = &diag->items[i];
                json_t *o = json_pack("{s:s, s:i, s:i, s:o, s:s}", "file", d->file, "line", (int) d->line, "column",
                                      (int) d->col, "key", d->key ? json_string(d->key) : json_null(), "message",
                                      d->message);
                if (json_array_append_new(errors, o) < 0) {
                        json_decref(errors);
                        return NULL;
                }
        }
        return json_pack("{s:b, s:o, s:i}", "valid", 0, "errors", errors, "count", (int) diagnostics_count(diag));
}

static void print_json(json_t *j)
{
        if (j)
                json_dumpf(j, stdout, JSON_INDENT(2));
        putchar('\n');
        json_decref(j);
}

static int report_problems(Cli *cli, const char *path, const Diagnostics *diag)
{
        for (size_t i = 0; i < diag->n; i++) {
                _cleanup_free_ char *line = diagnostic_format(&diag->items[i]);
                fprintf(stderr, "%s\n", line ? line : diag->items[i].message);
        }
        if (diag->dropped)
                fprintf(stderr, "... and %zu more problems\n", diag->dropped);
        if (cli->json)
                print_json(diagnostics_to_json(diag));
        size_t n = diagnostics_count(diag);
        return cli_fail(cli, "%s: %zu problem%s found", path, n, n == 1 ? "" : "s");
}

static int cmd_validate(Cli *cli, const CliArgs *a)
{
        const char *path = cli_arg(a, "FILE");
        bool default_path = !path;
        if (default_path)
                path = ENCLAVEFILE_NAME;

        _cleanup_diagnostics_ Diagnostics diag = DIAGNOSTICS_INIT;
        _cleanup_enclavefile_ Enclavefile *ef = NULL;
        int r = enclavefile_load(path, &ef, &diag);
        if (r == -ENOENT && default_path) {
                char cwd[PATH_MAX];
                return cli_fail(cli, "no %s in %s; run 'enclave init' to create one, or name a file: enclave validate FILE",
                                ENCLAVEFILE_NAME, getcwd(cwd, sizeof cwd) ? cwd : "the current directory");
        }
        if (r == -ENOENT)
                return cli_fail(cli, "%s: not found; run 'enclave init' in its directory to create an Enclavefile", path);
        if (r == -ENOMEM)
                return cli_fail(cli, "out of memory while validating %s", path);
        if (r < 0)
                return report_problems(cli, path, &diag);

        if (cli->json) {
                json_t *j = enclavefile_to_json(ef);
                if (!j)
                        return cli_fail(cli, "out of memory");
                print_json(j);
                return EXIT_OK;
        }
        if (cli->quiet)
                return EXIT_OK;
        _cleanup_free_ char *text = enclavefile_format(ef);
        if (!text)
                return cli_fail(cli, "out of memory");
        fputs(text, stdout);
        return EXIT_OK;
}

const CliCommand cli_cmd_init = {
        "init", "write a commented Enclavefile scaffold here",
        "Writes a commented Enclavefile scaffold into the current directory, with the\n"
        "sandbox named after the directory. An existing Enclavefile is never overwritten.",
        .run = cmd_init,
};

static const CliArg validate_args[] = {
        { "FILE", CLI_ARG_OPTIONAL, CLI_COMPLETE_FILE },
        {},
};

const CliCommand cli_cmd_validate = {
        "validate", "check an Enclavefile and print the resolved configuration",
        "Checks an Enclavefile (default ./Enclavefile) without a daemon and prints the\n"
        "resolved configuration with defaults filled in (--json for JSON). Every problem\n"
        "is listed as FILE:LINE:COL: message; the exit status is then 1.",
        NULL, validate_args, .run = cmd_validate,
};
