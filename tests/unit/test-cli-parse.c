/* The CLI's one argument parser (src/cli/parse.c) against a small tree
 * of its own, and the real command tree against the rules every table
 * must follow. */
#include "cli/cli.h"
#include "base/str.h"
#include "test.h"

static int run_nothing(Cli *cli, const CliArgs *a)
{
        return 0;
}

static const CliOption create_options[] = {
        { "memory-mb", 0, "N", "memory" },
        { "env", 'e', "K=V", "environment", CLI_OPT_REPEAT },
        { "force", 'f', NULL, "force" },
        { "tty", 't', NULL, "pty" },
        { "interactive", 'i', NULL, "stdin" },
        { "secret", 0, NULL, "hidden", CLI_OPT_HIDDEN },
        {},
};
static const CliArg create_args[] = { { "SANDBOX" }, { "NAME" }, {} };
static const CliCommand t_create = { "create", "create", NULL, create_options, create_args, .run = run_nothing };

static const CliArg logs_args[] = { { "SANDBOX", CLI_ARG_OPTIONAL }, { "WORKSPACE" }, {} };
static const CliCommand t_logs = { "logs", "logs", NULL, NULL, logs_args, .run = run_nothing };

static const CliArg exec_args[] = { { "SANDBOX" }, { "WORKSPACE" }, { "CMD", CLI_ARG_COMMAND }, {} };
static const CliCommand t_exec = { "exec", "exec", NULL, create_options, exec_args, .run = run_nothing,
                                   .flags = CLI_CMD_EXIT_125 };

static const CliArg many_args[] = { { "WORKSPACE", CLI_ARG_MANY }, {} };
static const CliCommand t_many = { "many", "many", NULL, NULL, many_args, .run = run_nothing };

static const CliCommand t_group = {
        "workspace", "group", .sub = (const CliCommand *const[]) { &t_create, &t_logs, &t_exec, NULL },
};
static const CliCommand t_root = {
        "enclave", "root", .sub = (const CliCommand *const[]) { &t_group, &t_many, NULL },
};

static int parse_line(CliArgs *a, Error *err, const char *line)
{
        static char buf[1024];
        static char *argv[64];
        snprintf(buf, sizeof buf, "enclave %s", line);
        int argc = 0;
        for (char *tok = strtok(buf, " "); tok && argc < 63; tok = strtok(NULL, " "))
                argv[argc++] = tok;
        argv[argc] = NULL;
        error_clear(err);
        return cli_parse(&t_root, argc, argv, a, err);
}

TEST(options_in_every_form)
{
        CliArgs a;
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_OK(parse_line(&a, &err, "workspace create --memory-mb 64 sb -e A=1 --env=B=2 -eC=3 ws -ft"));
        ASSERT_TRUE(a.cmd == &t_create);
        ASSERT_STREQ(a.name, "enclave workspace create");
        ASSERT_STREQ(cli_arg_value(&a, "memory-mb"), "64");
        ASSERT_STREQ(cli_arg_nth(&a, "env", 0), "A=1");
        ASSERT_STREQ(cli_arg_nth(&a, "env", 1), "B=2");
        ASSERT_STREQ(cli_arg_nth(&a, "env", 2), "C=3");
        ASSERT_NULL(cli_arg_nth(&a, "env", 3));
        ASSERT_TRUE(cli_arg_flag(&a, "force"));
        ASSERT_TRUE(cli_arg_flag(&a, "tty"));
        ASSERT_FALSE(cli_arg_flag(&a, "interactive"));
        ASSERT_STREQ(cli_arg(&a, "SANDBOX"), "sb");
        ASSERT_STREQ(cli_arg(&a, "NAME"), "ws");
        ASSERT_OK(parse_line(&a, &err, "workspace create sb ws --memory-mb=1 --memory-mb=2"));
        ASSERT_STREQ(cli_arg_value(&a, "memory-mb"), "2");
        /* A hidden option is accepted. */
        ASSERT_OK(parse_line(&a, &err, "workspace create sb ws --secret"));
        ASSERT_TRUE(cli_arg_flag(&a, "secret"));
}

TEST(global_options_anywhere)
{
        CliArgs a;
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_OK(parse_line(&a, &err, "--json workspace -q create sb --config /c ws --socket=/s --no-color"));
        ASSERT_TRUE(cli_arg_flag(&a, "json"));
        ASSERT_TRUE(cli_arg_flag(&a, "quiet"));
        ASSERT_TRUE(cli_arg_flag(&a, "no-color"));
        ASSERT_STREQ(cli_arg_value(&a, "config"), "/c");
        ASSERT_STREQ(cli_arg_value(&a, "socket"), "/s");
        ASSERT_EQ(a.n_pos, 2);
        ASSERT_OK(parse_line(&a, &err, "workspace create sb ws --help"));
        ASSERT_TRUE(a.help);
        ASSERT_OK(parse_line(&a, &err, "--help workspace"));
        ASSERT_TRUE(a.help);
        ASSERT_TRUE(a.cmd == &t_group);
        ASSERT_OK(parse_line(&a, &err, "help workspace create"));
        ASSERT_TRUE(a.help);
        ASSERT_TRUE(a.cmd == &t_create);
        ASSERT_OK(parse_line(&a, &err, "workspace --version"));
        ASSERT_TRUE(a.version);
}

TEST(command_after_double_dash_keeps_its_options)
{
        CliArgs a;
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_OK(parse_line(&a, &err, "workspace exec -t sb ws --json -- ls --json -q -- x"));
        ASSERT_TRUE(cli_arg_flag(&a, "json"));
        ASSERT_FALSE(cli_arg_flag(&a, "quiet"));
        ASSERT_NOT_NULL(a.command);
        ASSERT_STREQ(a.command[0], "ls");
        ASSERT_STREQ(a.command[1], "--json");
        ASSERT_STREQ(a.command[2], "-q");
        ASSERT_STREQ(a.command[3], "--");
        ASSERT_STREQ(a.command[4], "x");
        ASSERT_NULL(a.command[5]);
        /* Without "--", the command starts at the first word after the
         * arguments, and its options stay its own. */
        ASSERT_OK(parse_line(&a, &err, "workspace exec sb -i ws ls -l --json"));
        ASSERT_TRUE(cli_arg_flag(&a, "interactive"));
        ASSERT_FALSE(cli_arg_flag(&a, "json"));
        ASSERT_STREQ(a.command[0], "ls");
        ASSERT_STREQ(a.command[1], "-l");
        ASSERT_STREQ(a.command[2], "--json");
        ASSERT_EQ(parse_line(&a, &err, "workspace exec sb ws"), -EINVAL);
        ASSERT_TRUE(strstr(error_msg(&err), "no command given") != NULL);
        ASSERT_TRUE(a.cmd->flags & CLI_CMD_EXIT_125);
        ASSERT_EQ(parse_line(&a, &err, "workspace exec sb ws --"), -EINVAL);
}

TEST(optional_and_many_positionals)
{
        CliArgs a;
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_OK(parse_line(&a, &err, "workspace logs ws"));
        ASSERT_NULL(cli_arg(&a, "SANDBOX"));
        ASSERT_STREQ(cli_arg(&a, "WORKSPACE"), "ws");
        ASSERT_OK(parse_line(&a, &err, "workspace logs sb ws"));
        ASSERT_STREQ(cli_arg(&a, "SANDBOX"), "sb");
        ASSERT_STREQ(cli_arg(&a, "WORKSPACE"), "ws");
        ASSERT_EQ(parse_line(&a, &err, "workspace logs a b c"), -EINVAL);
        ASSERT_TRUE(strstr(error_msg(&err), "too many arguments ('c')") != NULL);
        ASSERT_EQ(parse_line(&a, &err, "workspace logs"), -EINVAL);
        ASSERT_TRUE(strstr(error_msg(&err), "missing WORKSPACE") != NULL);
        size_t n;
        ASSERT_OK(parse_line(&a, &err, "many"));
        ASSERT_NULL(cli_arg_many(&a, "WORKSPACE", &n));
        ASSERT_EQ(n, 0);
        ASSERT_OK(parse_line(&a, &err, "many x -q y"));
        char *const *v = cli_arg_many(&a, "WORKSPACE", &n);
        ASSERT_EQ(n, 2);
        ASSERT_STREQ(v[0], "x");
        ASSERT_STREQ(v[1], "y");
        /* After "--" everything is an argument, even "-q". */
        ASSERT_OK(parse_line(&a, &err, "many -- -q"));
        ASSERT_STREQ(cli_arg(&a, "WORKSPACE"), "-q");
        ASSERT_FALSE(cli_arg_flag(&a, "quiet"));
}

TEST(usage_errors_say_what_and_suggest)
{
        CliArgs a;
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_EQ(parse_line(&a, &err, "workspace create sb ws --memroy-mb 3"), -EINVAL);
        ASSERT_STREQ(error_msg(&err), "unknown option '--memroy-mb' for 'enclave workspace create'; did you mean "
                                      "'--memory-mb'?");
        ASSERT_EQ(parse_line(&a, &err, "workspace create sb ws --zzzzzzzz"), -EINVAL);
        ASSERT_TRUE(strstr(error_msg(&err), "see 'enclave workspace create --help'") != NULL);
        ASSERT_EQ(parse_line(&a, &err, "workspace create sb ws -x"), -EINVAL);
        ASSERT_TRUE(strstr(error_msg(&err), "unknown option '-x'") != NULL);
        ASSERT_EQ(parse_line(&a, &err, "workspace create sb ws --memory-mb"), -EINVAL);
        ASSERT_TRUE(strstr(error_msg(&err), "option '--memory-mb' needs a value") != NULL);
        ASSERT_EQ(parse_line(&a, &err, "workspace create sb ws --force=yes"), -EINVAL);
        ASSERT_TRUE(strstr(error_msg(&err), "takes no value") != NULL);
        ASSERT_EQ(parse_line(&a, &err, "workspace crate"), -EINVAL);
        ASSERT_STREQ(error_msg(&err), "unknown command 'workspace crate'; did you mean 'workspace create'?");
        ASSERT_EQ(parse_line(&a, &err, "wrkspace"), -EINVAL);
        ASSERT_STREQ(error_msg(&err), "unknown command 'wrkspace'; did you mean 'workspace'?");
        ASSERT_EQ(parse_line(&a, &err, "workspace create sb"), -EINVAL);
        ASSERT_TRUE(strstr(error_msg(&err), "missing NAME; usage: enclave workspace create [OPTIONS] SANDBOX NAME") !=
                    NULL);
        /* A group alone parses (the caller shows its help). */
        ASSERT_OK(parse_line(&a, &err, "workspace"));
        ASSERT_TRUE(a.cmd == &t_group);
}

TEST(synopsis_from_the_table)
{
        _cleanup_free_ char *s1 = cli_synopsis(&t_exec);
        ASSERT_STREQ(s1, "[OPTIONS] SANDBOX WORKSPACE [--] CMD...");
        _cleanup_free_ char *s2 = cli_synopsis(&t_logs);
        ASSERT_STREQ(s2, "[SANDBOX] WORKSPACE");
        _cleanup_free_ char *s3 = cli_synopsis_of(&t_create, true);
        ASSERT_STREQ(s3, "SANDBOX NAME [--memory-mb N] [--env K=V]... [--force] [--tty] [--interactive]");
}

/* ---- the real tree ---- */

static void check_options(const char *where, const CliOption *opts)
{
        for (const CliOption *o = opts; o && o->name; o++) {
                if (!o->help || !o->help[0])
                        TEST_FAIL("%s --%s has no help", where, o->name);
                for (const CliOption *g = cli_global_options; g->name; g++)
                        if (streq(g->name, o->name) || (o->short_name && o->short_name == g->short_name))
                                TEST_FAIL("%s --%s clashes with the global --%s", where, o->name, g->name);
                for (const CliOption *p = opts; p < o; p++)
                        if (streq(p->name, o->name) || (o->short_name && o->short_name == p->short_name))
                                TEST_FAIL("%s: --%s is there twice", where, o->name);
                if (o->complete == CLI_COMPLETE_CHOICES && !o->choices)
                        TEST_FAIL("%s --%s: choices without a list", where, o->name);
        }
}

static void check_args(const char *where, const CliArg *args)
{
        for (const CliArg *g = args; g && g->name; g++)
                if ((g->flags & (CLI_ARG_MANY | CLI_ARG_COMMAND)) && g[1].name)
                        TEST_FAIL("%s: %s must be the last argument", where, g->name);
}

static size_t check_tree(const CliCommand *cmd, const char *path)
{
        char where[160];
        snprintf(where, sizeof where, "%s %s", path, cmd->name);
        if (!cmd->summary || !cmd->summary[0])
                TEST_FAIL("%s has no summary", where);
        if (!cmd->run && !cmd->sub)
                TEST_FAIL("%s neither runs nor has commands", where);
        check_options(where, cmd->options);
        check_args(where, cmd->args);
        size_t n = 1;
        for (const CliCommand *const *c = cmd->sub; c && *c; c++) {
                for (const CliCommand *const *d = cmd->sub; d < c; d++)
                        if (streq((*c)->name, (*d)->name))
                                TEST_FAIL("%s: command %s is there twice", where, (*c)->name);
                n += check_tree(*c, where);
        }
        return n;
}

TEST(real_tree_follows_the_rules)
{
        ASSERT_TRUE(check_tree(&cli_root, "") > 20);
}
