/* enclave policy show | default allow|deny | allow [--uid U] PATTERN |
 * deny [--uid U] PATTERN | clear [--uid U] */
#include "cli/cli.h"
#include "cli/client.h"
#include "cli/output.h"
#include "base/str.h"

#include <getopt.h>
#include <pwd.h>

/* --uid takes a number or a user name. */
static int parse_uid(Cli *cli, const char *s, int64_t *ret)
{
        if (parse_int64(s, 0, (int64_t) UINT32_MAX - 1, ret) >= 0)
                return 0;
        struct passwd pw, *res = NULL;
        char buf[4096];
        if (getpwnam_r(s, &pw, buf, sizeof buf, &res) == 0 && res) {
                *ret = res->pw_uid;
                return 0;
        }
        return cli_usage_error(cli, "--uid wants a uid or a user name, got '%s'", s);
}

/* Parse "[--uid U] ARGS..." into *ret_uid (-1 = every uid). */
static int parse_scope(Cli *cli, int argc, char **argv, int64_t *ret_uid, int n_args, char ***ret_args)
{
        static const struct option options[] = {
                { "uid", required_argument, NULL, 'u' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        *ret_uid = -1;
        int c;
        optind = 0;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "+u:h", options, NULL)) >= 0) {
                switch (c) {
                case 'u': {
                        int r = parse_uid(cli, optarg, ret_uid);
                        if (r != 0)
                                return r;
                        break;
                }
                case 'h':
                        printf("Usage: enclave %s [--uid U]%s\n", cli->command ? cli->command : "policy",
                               n_args ? " PATTERN" : "");
                        return -1;
                default:
                        return cli_usage_error(cli, "unknown option '%s'", argv[optind - 1]);
                }
        }
        if (argc - optind != n_args)
                return cli_usage_error(cli, n_args ? "expected one PATTERN, e.g. 'workspace.*'"
                                                   : "unexpected argument '%s'",
                                       optind < argc ? argv[optind] : "");
        *ret_args = argv + optind;
        return 0;
}

static int print_policy(Cli *cli, json_t *p)
{
        if (cli->json)
                return json_print(p, stdout) < 0 ? EXIT_FAIL : EXIT_OK;
        if (cli->quiet)
                return EXIT_OK;
        printf("default: %s (root is allowed unless a rule says otherwise; root may always change the policy)\n",
               json_string_value(json_object_get(p, "default")) ?: "?");
        json_t *rules = json_object_get(p, "rules");
        if (json_array_size(rules) == 0) {
                printf("no rules\n");
                return EXIT_OK;
        }
        static const char *const headers[] = { "SCOPE", "EFFECT", "PATTERN", NULL };
        _cleanup_table_ Table *t = table_new(headers);
        if (!t)
                return cli_fail(cli, "out of memory");
        size_t i;
        json_t *r;
        json_array_foreach(rules, i, r) {
                char scope[32];
                json_t *uid = json_object_get(r, "uid");
                if (json_is_integer(uid))
                        snprintf(scope, sizeof scope, "uid %lld", (long long) json_integer_value(uid));
                else
                        snprintf(scope, sizeof scope, "all");
                const char *cells[] = { scope, json_string_value(json_object_get(r, "effect")),
                                        json_string_value(json_object_get(r, "pattern")) };
                if (table_add_row(t, cells) < 0)
                        return cli_fail(cli, "out of memory");
        }
        table_print(t, cli, stdout);
        return EXIT_OK;
}

static int call_and_print(Cli *cli, const char *action, json_t *params)
{
        _cleanup_error_ Error err = ERROR_INIT;
        json_t *res = NULL;
        if (cli_call(cli, action, params, &res, &err) < 0)
                return cli_fail_error(cli, &err);
        int r = print_policy(cli, res);
        json_decref(res);
        return r;
}

static json_t *scope_params(int64_t uid)
{
        return uid < 0 ? json_object() : json_pack("{s:I}", "uid", (json_int_t) uid);
}

static int cmd_show(Cli *cli, int argc, char **argv)
{
        if (argc > 1)
                return cli_usage_error(cli, "'policy show' takes no arguments");
        return call_and_print(cli, "policy.show", NULL);
}

static int cmd_default(Cli *cli, int argc, char **argv)
{
        if (argc != 2 || !(streq(argv[1], "allow") || streq(argv[1], "deny")))
                return cli_usage_error(cli, "usage: enclave policy default allow|deny");
        return call_and_print(cli, "policy.set_default", json_pack("{s:s}", "decision", argv[1]));
}

static int cmd_rule(Cli *cli, int argc, char **argv, const char *action)
{
        int64_t uid;
        char **args;
        int r = parse_scope(cli, argc, argv, &uid, 1, &args);
        if (r != 0)
                return r < 0 ? EXIT_OK : r;
        json_t *params = scope_params(uid);
        if (!params || json_object_set_new(params, "pattern", json_string(args[0])) < 0) {
                json_decref(params);
                return cli_fail(cli, "out of memory");
        }
        return call_and_print(cli, action, params);
}

static int cmd_allow(Cli *cli, int argc, char **argv)
{
        return cmd_rule(cli, argc, argv, "policy.allow");
}

static int cmd_deny(Cli *cli, int argc, char **argv)
{
        return cmd_rule(cli, argc, argv, "policy.deny");
}

static int cmd_clear(Cli *cli, int argc, char **argv)
{
        int64_t uid;
        char **args;
        int r = parse_scope(cli, argc, argv, &uid, 0, &args);
        if (r != 0)
                return r < 0 ? EXIT_OK : r;
        return call_and_print(cli, "policy.clear", scope_params(uid));
}

const Command policy_commands[] = {
        { "show", "", "show the policy", cmd_show },
        { "default", "allow|deny", "set the default decision", cmd_default },
        { "allow", "[--uid U] PATTERN", "allow actions matching PATTERN", cmd_allow },
        { "deny", "[--uid U] PATTERN", "deny actions matching PATTERN", cmd_deny },
        { "clear", "[--uid U]", "remove rules (without --uid: all rules, default back to allow)", cmd_clear },
        {},
};
