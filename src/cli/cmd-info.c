/* enclave ping | health | version */
#include "cli/cli.h"
#include "cli/client.h"
#include "cli/output.h"
#include "proto/actions.h"

#include <time.h>

static double elapsed_ms(const struct timespec *a)
{
        struct timespec b;
        clock_gettime(CLOCK_MONOTONIC, &b);
        return (double) (b.tv_sec - a->tv_sec) * 1e3 + (double) (b.tv_nsec - a->tv_nsec) / 1e6;
}

static int cmd_ping(Cli *cli, const CliArgs *a)
{
        _cleanup_error_ Error err = ERROR_INIT;
        _cleanup_client_ Client *c = NULL;
        if (client_open(cli, &c, &err) < 0)
                return cli_fail_error(cli, &err);
        client_set_timeout(c, 10000);
        struct timespec t0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        json_t *res = NULL;
        if (client_call(c, PROTO_ACTION_DAEMON_PING, NULL, NULL, 0, NULL, NULL, &res, NULL, &err) < 0)
                return cli_fail_error(cli, &err);
        double ms = elapsed_ms(&t0);
        if (cli->json) {
                json_object_set_new(res, "rtt_ms", json_real(ms));
                json_print(res, stdout);
        } else if (!cli->quiet)
                printf("pong from enclave daemon %s (pid %lld) in %.2f ms\n",
                       json_string_value(json_object_get(res, "version")) ?: "?",
                       (long long) json_integer_value(json_object_get(res, "pid")), ms);
        json_decref(res);
        return EXIT_OK;
}

static long long member_int(json_t *o, const char *a, const char *b)
{
        json_t *v = json_object_get(o, a);
        if (b)
                v = json_object_get(v, b);
        return (long long) json_integer_value(v);
}

static const char *member_str(json_t *o, const char *a, const char *b)
{
        json_t *v = json_object_get(o, a);
        if (b)
                v = json_object_get(v, b);
        return json_string_value(v) ?: "-";
}

static void print_health(json_t *h)
{
        json_t *counts = json_object_get(h, "counts");
        printf("daemon:      running (pid %lld, up %llds), enclave %s\n", member_int(h, "pid", NULL),
               member_int(h, "uptime_secs", NULL), member_str(h, "version", NULL));
        printf("socket:      %s\n", member_str(h, "socket", NULL));
        printf("config:      %s\n", json_is_string(json_object_get(h, "config")) ? member_str(h, "config", NULL)
                                                                                   : "(defaults)");
        printf("state dir:   %s\n", member_str(h, "state_dir", NULL));
        printf("registry:    %s (schema %lld)\n", member_str(h, "registry", "path"),
               member_int(h, "registry", "schema_version"));
        if (json_is_object(counts)) {
                printf("sandboxes:   %lld\n", member_int(counts, "sandboxes", NULL));
                printf("workspaces:  %lld (%lld running)\n", member_int(counts, "workspaces", NULL),
                       member_int(counts, "workspaces_running", NULL));
        } else
                printf("sandboxes:   (registry unavailable)\n");
        printf("cgroups:     %s\n", member_str(h, "cgroup", NULL));
        printf("firewall:    %s\n", member_str(h, "firewall", NULL));
        printf("network:     bridge %s, subnet %s\n", member_str(h, "bridge", NULL), member_str(h, "subnet", NULL));
        printf("clients:     %lld connection(s), %lld long action(s)\n", member_int(h, "server", "connections"),
               member_int(h, "server", "long_actions"));
}

static int cmd_health(Cli *cli, const CliArgs *a)
{
        _cleanup_error_ Error err = ERROR_INIT;
        _cleanup_client_ Client *c = NULL;
        if (client_open(cli, &c, &err) < 0)
                return cli_fail_error(cli, &err);
        client_set_timeout(c, 10000);
        json_t *h = NULL;
        if (client_call(c, PROTO_ACTION_DAEMON_HEALTH, NULL, NULL, 0, NULL, NULL, &h, NULL, &err) < 0)
                return cli_fail_error(cli, &err);
        if (cli->json)
                json_print(h, stdout);
        else
                print_health(h);
        json_decref(h);
        return EXIT_OK;
}

static int cmd_version(Cli *cli, const CliArgs *a)
{
        if (cli->json) {
                json_t *v = json_pack("{s:s}", "version", ENCLAVE_VERSION);
                int r = v ? json_print(v, stdout) : -ENOMEM;
                json_decref(v);
                return r < 0 ? cli_fail(cli, "out of memory") : EXIT_OK;
        }
        printf("enclave %s\n", ENCLAVE_VERSION);
        return EXIT_OK;
}

const CliCommand cli_cmd_ping = {
        "ping", "check that the daemon answers",
        "Sends one request to the daemon and prints its version, pid and the round trip time.",
        .run = cmd_ping,
};

const CliCommand cli_cmd_health = {
        "health", "show daemon health and host capabilities",
        "Shows the daemon's pid, uptime, socket, configuration, state directory, registry,\n"
        "object counts, cgroup layout, firewall backend and network.",
        .run = cmd_health,
};

const CliCommand cli_cmd_version = {
        "version", "print the version",
        .run = cmd_version,
};
