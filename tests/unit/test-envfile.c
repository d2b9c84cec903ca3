/* env_file parsing (src/config/envfile.c) and its merge into an
 * Enclavefile's workspaces (enclavefile_load). */
#include "config/envfile.h"
#include "config/enclavefile.h"
#include "base/fs.h"
#include "base/str.h"
#include "scratch.h"
#include "test.h"

static char **parse(const char *text, Diagnostics *d)
{
        char **env = NULL;
        if (envfile_parse(text, strlen(text), ".env", d, &env) < 0)
                return NULL;
        return env;
}

static int write_file(const char *path, const char *text)
{
        return write_file_atomic(path, text, strlen(text), 0644);
}

static char *tmpdir(void)
{
        return scratch_tmpdir("/tmp/test-envfile.XXXXXX");
}

static char *problems(const Diagnostics *d)
{
        return diagnostics_format(d);
}

TEST(plain_quoted_exported_and_comments)
{
        _cleanup_diagnostics_ Diagnostics d = DIAGNOSTICS_INIT;
        _cleanup_strv_free_ char **env = parse("# comment\n"
                                               "\n"
                                               "A=1\n"
                                               "  export B = two words   # a comment\n"
                                               "C=\"x \\\"y\\\"\\nz\" # after\n"
                                               "D='it is $HOME \\n'\n"
                                               "E=\n"
                                               "F=a#b\r\n"
                                               "A=again\n",
                                               &d);
        _cleanup_free_ char *p = problems(&d);
        ASSERT_NOT_NULL(env);
        ASSERT_EQ(strv_length(env), 6);
        ASSERT_STREQ(env[0], "A=again");
        ASSERT_STREQ(env[1], "B=two words");
        ASSERT_STREQ(env[2], "C=x \"y\"\nz");
        ASSERT_STREQ(env[3], "D=it is $HOME \\n");
        ASSERT_STREQ(env[4], "E=");
        ASSERT_STREQ(env[5], "F=a#b");
}

TEST(every_problem_with_its_line)
{
        _cleanup_diagnostics_ Diagnostics d = DIAGNOSTICS_INIT;
        char **env = parse("OK=1\n"
                           "no equals sign\n"
                           "1BAD=x\n"
                           "GITHUB_TOKEN=secret\n"
                           "ENCLAVE_X=1\n"
                           "Q=\"open\n",
                           &d);
        ASSERT_NULL(env);
        _cleanup_free_ char *p = problems(&d);
        ASSERT_EQ(diagnostics_count(&d), 5);
        ASSERT_TRUE(strstr(p, ".env:2:1: 'no equals sign' has no '='; write NAME=VALUE") != NULL);
        ASSERT_TRUE(strstr(p, ".env:3:1: '1BAD' is not a valid variable name") != NULL);
        ASSERT_TRUE(strstr(p, ".env:4:1: 'GITHUB_TOKEN' is a token variable") != NULL);
        ASSERT_TRUE(strstr(p, ".env:5:1: 'ENCLAVE_X': names starting with ENCLAVE_ are reserved") != NULL);
        ASSERT_TRUE(strstr(p, ".env:6:") != NULL && strstr(p, "no closing \"") != NULL);
        /* The secret itself is never repeated. */
        ASSERT_TRUE(strstr(p, "secret") == NULL);
}

TEST(merged_into_the_enclavefile_env_wins)
{
        _cleanup_tmpdir_ char *dir = tmpdir();
        _cleanup_free_ char *ef_path = path_join(dir, "Enclavefile");
        _cleanup_free_ char *env_path = path_join(dir, "app.env");
        ASSERT_OK(write_file(env_path, "FROM_FILE=1\nBOTH=file\n"));
        ASSERT_OK(write_file(ef_path, "[sandbox]\nname = \"sb\"\n[workspace.a]\nenv_file = \"app.env\"\n"
                                      "env = { BOTH = \"table\" }\n[workspace.b]\n"));
        _cleanup_diagnostics_ Diagnostics d = DIAGNOSTICS_INIT;
        _cleanup_enclavefile_ Enclavefile *ef = NULL;
        ASSERT_OK(enclavefile_load(ef_path, &ef, &d));
        const WorkspaceSpec *a = enclavefile_find_workspace(ef, "a");
        ASSERT_EQ(strv_length(a->env), 2);
        ASSERT_STREQ(a->env[0], "FROM_FILE=1");
        ASSERT_STREQ(a->env[1], "BOTH=table");
        ASSERT_EQ(strv_length(enclavefile_find_workspace(ef, "b")->env), 0);
}

TEST(a_missing_env_file_is_a_problem_at_its_key)
{
        _cleanup_tmpdir_ char *dir = tmpdir();
        _cleanup_free_ char *ef_path = path_join(dir, "Enclavefile");
        ASSERT_OK(write_file(ef_path, "[sandbox]\nname = \"sb\"\n[workspace.a]\nenv_file = \"nope.env\"\n"));
        _cleanup_diagnostics_ Diagnostics d = DIAGNOSTICS_INIT;
        _cleanup_enclavefile_ Enclavefile *ef = NULL;
        ASSERT_TRUE(enclavefile_load(ef_path, &ef, &d) < 0);
        _cleanup_free_ char *p = problems(&d);
        ASSERT_TRUE(strstr(p, "Enclavefile:4:12: env_file '") != NULL);
        ASSERT_TRUE(strstr(p, "nope.env': No such file or directory; create it, or remove env_file") != NULL);
}
