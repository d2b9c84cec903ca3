/* enclave policy show | default allow|deny | allow [--uid U] PATTERN |
 * deny [--uid U] PATTERN | clear [--uid U] */
#include "cli/cli.h"
#include "cli/client.h"
#include "cli/output.h"
#include "proto/actions.h"
#include "base/str.h"

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

/* --uid, or -1 for every uid; 0 or an exit code. */
static int scope_uid(Cli *cli, const CliArgs *a, int64_t *ret_uid)
{
        const char *v = cli_arg_value(a, "uid");
        *ret_uid = -1;
        return v ? parse_uid(cli, v, ret_uid) : 0;
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

static int cmd_show(Cli *cli, const CliArgs *a)
{
        return call_and_print(cli, PROTO_ACTION_POLICY_SHOW, NULL);
}

static int cmd_default(Cli *cli, const CliArgs *a)
{
        const char *d = cli_arg(a, "DECISION");
        if (!streq(d, "allow") && !streq(d, "deny"))
                return cli_usage_error(cli, "'%s' is not a decision; use 'enclave policy default allow' or 'enclave "
                                       "policy default deny'", d);
        return call_and_print(cli, PROTO_ACTION_POLICY_SET_DEFAULT, json_pack("{s:s}", "decision", d));
}

static int cmd_rule(Cli *cli, const CliArgs *a)
{
        int64_t uid;
        int r = scope_uid(cli, a, &uid);
        if (r != 0)
                return r;
        json_t *params = scope_params(uid);
        if (!params || json_object_set_new(params, "pattern", json_string(cli_arg(a, "PATTERN"))) < 0) {
                json_decref(params);
                return cli_fail(cli, "out of memory");
        }
        return call_and_print(cli, streq(a->cmd->name, "allow") ? PROTO_ACTION_POLICY_ALLOW : PROTO_ACTION_POLICY_DENY,
                              params);
}

static int cmd_clear(Cli *cli, const CliArgs *a)
{
        int64_t uid;
        int r = scope_uid(cli, a, &uid);
        if (r != 0)
                return r;
        return call_and_print(cli, PROTO_ACTION_POLICY_CLEAR, scope_params(uid));
}

static const CliOption uid_option[] = {
        { "uid", 0, "U", "a rule for this uid or user name only (default: every uid)", .complete = CLI_COMPLETE_USER },
        {},
};

static const CliArg default_args[] = {
        { "DECISION", .complete = CLI_COMPLETE_CHOICES, .choices = "allow|deny" },
        {},
};

static const CliArg pattern_args[] = { { "PATTERN" }, {} };

static const CliCommand show = { "show", "show the policy", .run = cmd_show };
static const CliCommand set_default = {
        "default", "set the default decision",
        "Sets what happens to a request no rule matches: allow or deny.",
        NULL, default_args, .run = cmd_default,
};
static const CliCommand allow = {
        "allow", "allow actions matching PATTERN",
        "Adds a rule that allows the actions matching PATTERN, a glob over action names\n"
        "such as 'workspace.*'. Deny rules win over allow rules, and rules for a uid over\n"
        "rules for everybody.",
        uid_option, pattern_args, .run = cmd_rule,
};
static const CliCommand deny = {
        "deny", "deny actions matching PATTERN",
        "Adds a rule that denies the actions matching PATTERN (e.g. 'sandbox.destroy').",
        uid_option, pattern_args, .run = cmd_rule,
};
static const CliCommand clear = {
        "clear", "remove rules (without --uid: all rules, default back to allow)",
        NULL, uid_option, .run = cmd_clear,
};

const CliCommand cli_group_policy = {
        "policy", "control who may do what",
        "Every request is checked against the policy before it runs. Root may always\n"
        "change the policy.",
        .sub = (const CliCommand *const[]) { &show, &set_default, &allow, &deny, &clear, NULL },
};
