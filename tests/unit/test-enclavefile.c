#include "config/enclavefile.h"
#include "base/fs.h"
#include "base/str.h"
#include "test.h"
#include "scratch.h"

#include <sys/stat.h>

static const char *base(void)
{
        return scratch_dir("ef");
}

static void make_dir(const char *rel)
{
        _cleanup_free_ char *p = path_join(base(), rel);
        if (mkdir_p(p, 0755) < 0)
                TEST_FAIL("mkdir %s", p);
}

static Diagnostics diag;
static Enclavefile *ef;

static void reset(void)
{
        diagnostics_done(&diag);
        ef = enclavefile_free(ef);
}

static int parse(const char *text)
{
        reset();
        return enclavefile_parse_buffer(text, strlen(text), "Enclavefile", base(), &ef, &diag);
}

static bool has(unsigned line, unsigned col, const char *needle)
{
        for (size_t i = 0; i < diag.n; i++)
                if (diag.items[i].line == line && (col == 0 || diag.items[i].col == col) &&
                    strstr(diag.items[i].message, needle))
                        return true;
        return false;
}

static void dump(void)
{
        for (size_t i = 0; i < diag.n; i++)
                printf("#   %u:%u: %s\n", diag.items[i].line, diag.items[i].col, diag.items[i].message);
}

#define ASSERT_DIAG(line, col, needle)                                                   \
        do {                                                                             \
                if (!has(line, col, needle)) {                                           \
                        dump();                                                          \
                        TEST_FAIL("no diagnostic at %u:%u containing \"%s\"", line, col, needle); \
                }                                                                        \
        } while (0)

#define ASSERT_VALID(text)                                       \
        do {                                                     \
                if (parse(text) < 0) {                           \
                        dump();                                  \
                        TEST_FAIL("expected valid: %s", text);   \
                }                                                \
        } while (0)

#define ASSERT_INVALID(text)                                             \
        do {                                                             \
                ASSERT_EQ(parse(text), -EINVAL);                         \
                ASSERT_NULL(ef);                                         \
                ASSERT_TRUE(diag.n > 0);                                 \
        } while (0)

TEST(minimal_file_gets_defaults)
{
        ASSERT_VALID("[sandbox]\nname = \"box\"\n");
        ASSERT_STREQ(ef->sandbox.name, "box");
        ASSERT_STREQ(ef->sandbox.suite, "bookworm");
        ASSERT_STREQ(ef->sandbox.bootstrap_method, "debootstrap");
        ASSERT_STREQ(ef->sandbox.mirror, "http://deb.debian.org/debian");
        ASSERT_EQ(ef->sandbox.caps.memory_mb, 0);
        ASSERT_EQ(ef->sandbox.caps.cpu_percent, 0);
        ASSERT_EQ(ef->sandbox.caps.max_procs, 0);
        ASSERT_NOT_NULL(ef->sandbox.setup);
        ASSERT_EQ(strv_length(ef->sandbox.setup), 0);
        ASSERT_EQ(ef->n_workspaces, 0);
        ASSERT_STREQ(ef->base_dir, base());
        ASSERT_STREQ(ef->display_name, "Enclavefile");
        ASSERT_NULL(ef->path);
        ASSERT_EQ(diag.n, 0);
        ASSERT_EQ(ef->sandbox_pos.line, 1);
}

static const char spec_example[] =
        "[sandbox]\n"
        "name = \"agents\"                      # required\n"
        "suite = \"trixie\"\n"
        "bootstrap_method = \"cached_rootfs\"\n"
        "mirror = \"https://mirror.example.org:8443/debian\"\n"
        "memory_mb = 4096\n"
        "cpu_percent = 50\n"
        "max_procs = 512\n"
        "setup = [\"apt-get install -y git nodejs python3\", '''\n"
        "set -e\n"
        "echo two lines\n"
        "''']\n"
        "\n"
        "[workspace.coder]\n"
        "name = \"coder\"\n"
        "run = \"./agent.sh coder\"\n"
        "workspace_dir = \"./agents/coder\"\n"
        "cpu_seconds = 3600\n"
        "cpu_percent = 25\n"
        "memory_mb = 2048\n"
        "max_procs = 256\n"
        "max_open_files = 4096\n"
        "auth = [\"github\", \"npm\"]\n"
        "env_tokens = [\"ENCLAVE_TOKEN\"]\n"
        "ports = [\"127.0.0.1:3001:3000/tcp\"]\n"
        "env = { NODE_ENV = \"development\" }\n"
        "\n"
        "[workspace.web]\n"
        "disk_mb = 2048\n"
        "ports = [\"127.0.0.1:8080:80\", \"127.0.0.1:8081:80/tcp\"]\n"
        "[workspace.web.env]\n"
        "B = \"2\"\n"
        "A = \"1 = one\"\n";

TEST(every_key_is_read)
{
        make_dir("agents/coder");
        ASSERT_VALID(spec_example);
        const SandboxSpec *sb = &ef->sandbox;
        ASSERT_STREQ(sb->name, "agents");
        ASSERT_STREQ(sb->suite, "trixie");
        ASSERT_STREQ(sb->bootstrap_method, "cached_rootfs");
        ASSERT_STREQ(sb->mirror, "https://mirror.example.org:8443/debian");
        ASSERT_EQ(sb->caps.memory_mb, 4096);
        ASSERT_EQ(sb->caps.cpu_percent, 50);
        ASSERT_EQ(sb->caps.max_procs, 512);
        ASSERT_EQ(strv_length(sb->setup), 2);
        ASSERT_STREQ(sb->setup[0], "apt-get install -y git nodejs python3");
        ASSERT_STREQ(sb->setup[1], "set -e\necho two lines\n");

        ASSERT_EQ(ef->n_workspaces, 2);
        const WorkspaceSpec *c = &ef->workspaces[0];
        ASSERT_STREQ(ef->tables[0].key, "coder");
        ASSERT_STREQ(c->name, "coder");
        ASSERT_STREQ(c->run, "./agent.sh coder");
        _cleanup_free_ char *want = path_join(base(), "agents/coder");
        ASSERT_STREQ(c->workspace_dir, want);
        ASSERT_EQ(c->limits.cpu_seconds, 3600);
        ASSERT_EQ(c->limits.cpu_percent, 25);
        ASSERT_EQ(c->limits.memory_mb, 2048);
        ASSERT_EQ(c->limits.max_procs, 256);
        ASSERT_EQ(c->limits.max_open_files, 4096);
        ASSERT_EQ(c->limits.disk_mb, 0);
        ASSERT_EQ(strv_length(c->auth), 2);
        ASSERT_STREQ(c->auth[0], "github");
        ASSERT_STREQ(c->auth[1], "npm");
        ASSERT_EQ(strv_length(c->env_tokens), 1);
        ASSERT_STREQ(c->env_tokens[0], "ENCLAVE_TOKEN");
        ASSERT_EQ(c->n_ports, 1);
        ASSERT_EQ(c->ports[0].host_port, 3001);
        ASSERT_EQ(c->ports[0].workspace_port, 3000);
        ASSERT_EQ(strv_length(c->env), 1);
        ASSERT_STREQ(c->env[0], "NODE_ENV=development");
        ASSERT_EQ(ef->tables[0].pos.line, 14);

        const WorkspaceSpec *w = &ef->workspaces[1];
        ASSERT_STREQ(w->name, "web");
        ASSERT_NULL(w->run);
        ASSERT_NULL(w->workspace_dir);
        ASSERT_EQ(w->limits.disk_mb, 2048);
        ASSERT_EQ(w->n_ports, 2);
        ASSERT_EQ(w->ports[1].host_port, 8081);
        /* Document order, "=" in values kept. */
        ASSERT_EQ(strv_length(w->env), 2);
        ASSERT_STREQ(w->env[0], "B=2");
        ASSERT_STREQ(w->env[1], "A=1 = one");
        ASSERT_EQ(strv_length(w->auth), 0);
        ASSERT_EQ(strv_length(w->env_tokens), 0);

        ASSERT_TRUE(enclavefile_find_workspace(ef, "web") == w);
        ASSERT_NULL(enclavefile_find_workspace(ef, "nope"));
}

TEST(missing_sandbox_table)
{
        ASSERT_INVALID("[workspace.a]\n");
        ASSERT_DIAG(1, 1, "no [sandbox] table");
        ASSERT_INVALID("");
        ASSERT_DIAG(1, 1, "no [sandbox] table");
}

TEST(sandbox_without_name)
{
        ASSERT_INVALID("# comment\n[sandbox]\nsuite = \"sid\"\n");
        ASSERT_DIAG(2, 0, "[sandbox] has no 'name'");
        ASSERT_STREQ(diag.items[0].key, "sandbox.name");
        ASSERT_INVALID("sandbox = \"x\"\n");
        ASSERT_DIAG(1, 11, "'sandbox' must be a table, got string");
}

TEST(names)
{
        ASSERT_VALID("[sandbox]\nname = \"a\"\n");
        ASSERT_VALID("[sandbox]\nname = \"A0_b-c\"\n");
        char text[200];
        char n63[64];
        memset(n63, 'x', 63);
        n63[63] = 0;
        snprintf(text, sizeof text, "[sandbox]\nname = \"%s\"\n", n63);
        ASSERT_VALID(text);
        snprintf(text, sizeof text, "[sandbox]\nname = \"%sy\"\n", n63);
        ASSERT_INVALID(text);
        ASSERT_DIAG(2, 8, "sandbox name");
        static const char *const bad[] = { "", "-a", "_a", "a b", "a.b", "a/b", "é" };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                snprintf(text, sizeof text, "[sandbox]\nname = \"%s\"\n", bad[i]);
                ASSERT_INVALID(text);
                ASSERT_DIAG(2, 8, "is not valid: use 1-63 letters");
        }
        ASSERT_INVALID("[sandbox]\nname = 5\n");
        ASSERT_DIAG(2, 8, "'name' must be a string, got integer; put the value in quotes");
}

TEST(suites_and_methods)
{
        static const char *const suites[] = { "bookworm", "bullseye", "trixie", "sid", "stable", "testing", "oldstable" };
        char text[200];
        for (size_t i = 0; i < ELEMENTSOF(suites); i++) {
                snprintf(text, sizeof text, "[sandbox]\nname = \"x\"\nsuite = \"%s\"\n", suites[i]);
                ASSERT_VALID(text);
                ASSERT_STREQ(ef->sandbox.suite, suites[i]);
        }
        ASSERT_INVALID("[sandbox]\nname = \"x\"\nsuite = \"bookwrom\"\n");
        ASSERT_DIAG(3, 9, "unknown suite 'bookwrom'; did you mean 'bookworm'?");
        ASSERT_INVALID("[sandbox]\nname = \"x\"\nsuite = \"jammy\"\n");
        ASSERT_DIAG(3, 9, "use one of: bookworm, bullseye, trixie, sid, stable, testing, oldstable");
        ASSERT_VALID("[sandbox]\nname = \"x\"\nbootstrap_method = \"debootstrap\"\n");
        ASSERT_VALID("[sandbox]\nname = \"x\"\nbootstrap_method = \"cached_rootfs\"\n");
        ASSERT_INVALID("[sandbox]\nname = \"x\"\nbootstrap_method = \"cached-rootfs\"\n");
        ASSERT_DIAG(3, 20, "did you mean 'cached_rootfs'?");
}

TEST(mirror_urls)
{
        static const char *const good[] = {
                "http://deb.debian.org/debian", "https://deb.debian.org/debian/", "http://10.0.0.1:3142/debian",
                "HTTP://Mirror.Example", "http://[::1]:8080/debian",
        };
        static const char *const bad[] = {
                "ftp://deb.debian.org/debian", "deb.debian.org", "http://", "http:///debian",
                "http://user:pw@host/debian", "http://host/deb ian", "http://host:0/", "http://host:99999/",
                "file:///srv/mirror", "http://ho_st/",
        };
        char text[300];
        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                snprintf(text, sizeof text, "[sandbox]\nname = \"x\"\nmirror = \"%s\"\n", good[i]);
                ASSERT_VALID(text);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                snprintf(text, sizeof text, "[sandbox]\nname = \"x\"\nmirror = \"%s\"\n", bad[i]);
                ASSERT_INVALID(text);
                ASSERT_DIAG(3, 10, "'mirror' ");
        }
        ASSERT_INVALID("[sandbox]\nname = \"x\"\nmirror = \"ftp://a\"\n");
        ASSERT_DIAG(3, 10, "must be an http:// or https:// URL");
        ASSERT_INVALID("[sandbox]\nname = \"x\"\nmirror = \"http://u@a/\"\n");
        ASSERT_DIAG(3, 10, "credentials");
}

TEST(sandbox_limits)
{
        ASSERT_VALID("[sandbox]\nname = \"x\"\nmemory_mb = 16\ncpu_percent = 1\nmax_procs = 1\n");
        ASSERT_VALID("[sandbox]\nname = \"x\"\nmemory_mb = 16777216\ncpu_percent = 100\nmax_procs = 4194304\n");
        ASSERT_EQ(ef->sandbox.caps.memory_mb, 16777216);
        ASSERT_INVALID("[sandbox]\nname = \"x\"\nmemory_mb = 0\ncpu_percent = 101\nmax_procs = -1\n");
        ASSERT_EQ(diag.n, 3);
        ASSERT_DIAG(3, 13, "'memory_mb' must be between 16 and 16777216 (MiB), got 0");
        ASSERT_DIAG(4, 15, "'cpu_percent' must be between 1 and 100 (percent of the whole machine), got 101");
        ASSERT_DIAG(5, 13, "'max_procs' must be between 1 and 4194304");
        ASSERT_INVALID("[sandbox]\nname = \"x\"\nmemory_mb = \"4096\"\ncpu_percent = 50.0\nmax_procs = true\n");
        ASSERT_DIAG(3, 13, "'memory_mb' must be an integer, got string");
        ASSERT_DIAG(4, 15, "'cpu_percent' must be an integer, got float");
        ASSERT_DIAG(5, 13, "'max_procs' must be an integer, got boolean");
        ASSERT_INVALID("[sandbox]\nname = \"x\"\nmemory_mb = 9223372036854775807\n");
        ASSERT_DIAG(3, 13, "must be between");
}

TEST(setup_lists)
{
        ASSERT_VALID("[sandbox]\nname = \"x\"\nsetup = []\n");
        ASSERT_EQ(strv_length(ef->sandbox.setup), 0);
        ASSERT_VALID("[sandbox]\nname = \"x\"\nsetup = [\n  # comment\n  \"\"\"\nline1\nline2\"\"\",\n  'b',\n]\n");
        ASSERT_EQ(strv_length(ef->sandbox.setup), 2);
        ASSERT_STREQ(ef->sandbox.setup[0], "line1\nline2");
        ASSERT_INVALID("[sandbox]\nname = \"x\"\nsetup = \"apt-get update\"\n");
        ASSERT_DIAG(3, 9, "'setup' must be an array, got string; write [\"...\"]");
        ASSERT_INVALID("[sandbox]\nname = \"x\"\nsetup = [\"a\", 1, \"  \", [\"b\"]]\n");
        ASSERT_EQ(diag.n, 3);
        ASSERT_DIAG(3, 15, "each entry of 'setup' must be a string, got integer");
        ASSERT_DIAG(3, 18, "empty command in 'setup'");
        ASSERT_DIAG(3, 24, "got array");
        ASSERT_INVALID("[sandbox]\nname = \"x\"\nsetup = [\"a\\u0000b\"]\n");
        ASSERT_DIAG(3, 10, "must not contain NUL");
}

TEST(unknown_keys_suggest_the_closest)
{
        ASSERT_INVALID("[sandbox]\nname = \"x\"\n\n[workspace.api]\nrun = \"x\"\nmemroy_mb = 5\n");
        ASSERT_EQ(diag.n, 1);
        _cleanup_free_ char *line = diagnostic_format(&diag.items[0]);
        ASSERT_STREQ(line, "Enclavefile:6:1: unknown key 'memroy_mb' in [workspace.api]; did you mean 'memory_mb'?");
        ASSERT_STREQ(diag.items[0].key, "workspace.api.memroy_mb");

        ASSERT_INVALID("[sandbox]\nname = \"x\"\nsutie = \"sid\"\n");
        ASSERT_DIAG(3, 1, "unknown key 'sutie' in [sandbox]; did you mean 'suite'?");
        ASSERT_INVALID("[sandbox]\nname = \"x\"\ncolour = \"red\"\n");
        ASSERT_DIAG(3, 1, "unknown key 'colour' in [sandbox]; valid keys are: name, suite, bootstrap_method");
        ASSERT_INVALID("[sandbox]\nname = \"x\"\n[workspace.a]\nworkspace-dir = \".\"\nenv_token = []\n");
        ASSERT_DIAG(4, 1, "did you mean 'workspace_dir'?");
        ASSERT_DIAG(5, 1, "did you mean 'env_tokens'?");
}

TEST(unknown_top_level)
{
        ASSERT_INVALID("[sandbox]\nname = \"x\"\n[sandboxx]\n");
        ASSERT_DIAG(3, 2, "unknown table [sandboxx]; did you mean [sandbox]?");
        ASSERT_INVALID("[sandbox]\nname = \"x\"\n[workspaces.a]\n");
        ASSERT_DIAG(3, 2, "did you mean [workspace]?");
        ASSERT_INVALID("[sandbox]\nname = \"x\"\n[daemon]\n");
        ASSERT_DIAG(3, 2, "unknown table [daemon]; an Enclavefile has a [sandbox] table");
        ASSERT_INVALID("memory_mb = 5\n[sandbox]\nname = \"x\"\n");
        ASSERT_DIAG(1, 1, "key 'memory_mb' is outside any table");
        ASSERT_INVALID("version = 2\n[sandbox]\nname = \"x\"\n");
        ASSERT_DIAG(1, 1, "unknown key 'version' at the top level");
        ASSERT_INVALID("[sandbox]\nname = \"x\"\n[[workspace]]\nname = \"a\"\n");
        ASSERT_DIAG(3, 0, "[[workspace]] is not supported");
        ASSERT_INVALID("[sandbox]\nname = \"x\"\n[workspace]\napi = \"x\"\n");
        ASSERT_DIAG(4, 7, "'workspace.api' must be a table, got string");
}

TEST(toml_syntax_errors_have_positions)
{
        ASSERT_EQ(parse("[sandbox]\nname = \"x\n"), -EINVAL);
        ASSERT_NULL(ef);
        ASSERT_EQ(diag.n, 1);
        ASSERT_EQ(diag.items[0].line, 2);
        ASSERT_TRUE(diag.items[0].col > 0);
        _cleanup_free_ char *line = diagnostic_format(&diag.items[0]);
        ASSERT_TRUE(startswith(line, "Enclavefile:2:") != NULL);

        ASSERT_EQ(parse("[sandbox]\nname = \"x\"\nname = \"y\"\n"), -EINVAL);
        ASSERT_EQ(diag.items[0].line, 3);
        ASSERT_EQ(parse("[sandbox]\nname = \"x\"\n\n\nmemory_mb = 12abc\n"), -EINVAL);
        ASSERT_EQ(diag.items[0].line, 5);
}

TEST(workspace_names)
{
        ASSERT_VALID("[sandbox]\nname = \"x\"\n[workspace.api]\n[workspace.web]\nname = \"www\"\n");
        ASSERT_STREQ(ef->workspaces[0].name, "api");
        ASSERT_STREQ(ef->workspaces[1].name, "www");
        ASSERT_STREQ(ef->tables[1].key, "web");

        /* Key-derived and explicit names collide. */
        ASSERT_INVALID("[sandbox]\nname = \"x\"\n[workspace.api]\n[workspace.web]\nname = \"api\"\n");
        ASSERT_EQ(diag.n, 1);
        ASSERT_DIAG(5, 8, "workspace name 'api' is already used at Enclavefile:3:12");

        ASSERT_INVALID("[sandbox]\nname = \"x\"\n[workspace.\"my api\"]\n");
        ASSERT_DIAG(3, 12, "workspace key 'my api' is not a valid workspace name");
        ASSERT_STREQ(diag.items[0].key, "workspace.\"my api\"");
        /* A table key that is not a name is fine once name is set. */
        ASSERT_VALID("[sandbox]\nname = \"x\"\n[workspace.\"my api\"]\nname = \"my-api\"\n");
        ASSERT_STREQ(ef->tables[0].key, "my api");
        ASSERT_INVALID("[sandbox]\nname = \"x\"\n[workspace.a]\nname = \"b c\"\n");
        ASSERT_DIAG(4, 8, "workspace name 'b c' is not valid");
}

TEST(run_command)
{
        ASSERT_VALID("[sandbox]\nname = \"x\"\n[workspace.a]\nrun = \"\"\"\nwhile true; do\n  sleep 1\ndone\"\"\"\n");
        ASSERT_STREQ(ef->workspaces[0].run, "while true; do\n  sleep 1\ndone");
        ASSERT_INVALID("[sandbox]\nname = \"x\"\n[workspace.a]\nrun = \" \"\n");
        ASSERT_DIAG(4, 7, "'run' is empty");
        ASSERT_INVALID("[sandbox]\nname = \"x\"\n[workspace.a]\nrun = [\"ls\"]\n");
        ASSERT_DIAG(4, 7, "'run' must be a string, got array");
}

TEST(workspace_dir_resolution)
{
        make_dir("proj/sub");
        make_dir("other");
        _cleanup_free_ char *proj = path_join(base(), "proj");
        _cleanup_free_ char *sub = path_join(base(), "proj/sub");
        _cleanup_free_ char *file = path_join(base(), "proj/file");
        _cleanup_free_ char *link = path_join(base(), "link");
        ASSERT_OK(write_file_atomic(file, "x", 1, 0644));
        (void) unlink(link);
        ASSERT_OK(RET_NERRNO(symlink("proj/sub", link)));

        ASSERT_VALID("[sandbox]\nname = \"x\"\n[workspace.a]\nworkspace_dir = \"proj\"\n");
        ASSERT_STREQ(ef->workspaces[0].workspace_dir, proj);
        ASSERT_VALID("[sandbox]\nname = \"x\"\n[workspace.a]\nworkspace_dir = \"./proj/sub/../sub/\"\n");
        ASSERT_STREQ(ef->workspaces[0].workspace_dir, sub);
        ASSERT_VALID("[sandbox]\nname = \"x\"\n[workspace.a]\npath = \"./link\"\n");
        ASSERT_STREQ(ef->workspaces[0].workspace_dir, sub);
        char text[300];
        snprintf(text, sizeof text, "[sandbox]\nname = \"x\"\n[workspace.a]\nworkspace_dir = \"%s\"\n", proj);
        ASSERT_VALID(text);
        ASSERT_STREQ(ef->workspaces[0].workspace_dir, proj);
        ASSERT_VALID("[sandbox]\nname = \"x\"\n[workspace.a]\nworkspace_dir = \".\"\n");
        ASSERT_STREQ(ef->workspaces[0].workspace_dir, base());

        ASSERT_INVALID("[sandbox]\nname = \"x\"\n[workspace.a]\nworkspace_dir = \"./missing\"\n");
        ASSERT_DIAG(4, 17, "'workspace_dir' './missing' does not exist");
        ASSERT_INVALID("[sandbox]\nname = \"x\"\n[workspace.a]\npath = \"proj/file\"\n");
        ASSERT_DIAG(4, 8, "'path' 'proj/file' is not a directory");
        ASSERT_INVALID("[sandbox]\nname = \"x\"\n[workspace.a]\nworkspace_dir = \"proj\"\npath = \"proj\"\n");
        ASSERT_DIAG(5, 8, "'path' and 'workspace_dir' are the same setting");
        ASSERT_INVALID("[sandbox]\nname = \"x\"\n[workspace.a]\nworkspace_dir = \"\"\n");
        ASSERT_DIAG(4, 17, "'workspace_dir' is empty");
        ASSERT_INVALID("[sandbox]\nname = \"x\"\n[workspace.a]\nworkspace_dir = \"/\"\n");
        ASSERT_DIAG(4, 17, "host's root directory");
}

TEST(disk_mb_not_with_workspace_dir)
{
        make_dir("proj");
        ASSERT_INVALID("[sandbox]\nname = \"x\"\n[workspace.a]\ndisk_mb = 100\nworkspace_dir = \"proj\"\n");
        ASSERT_EQ(diag.n, 1);
        ASSERT_DIAG(4, 11, "'disk_mb' cannot be combined with 'workspace_dir' (line 5)");
        ASSERT_INVALID("[sandbox]\nname = \"x\"\n[workspace.a]\npath = \"proj\"\ndisk_mb = 100\n");
        ASSERT_DIAG(5, 11, "with 'path'");
        ASSERT_VALID("[sandbox]\nname = \"x\"\n[workspace.a]\ndisk_mb = 100\n");
        ASSERT_EQ(ef->workspaces[0].limits.disk_mb, 100);
}

TEST(workspace_limits)
{
        ASSERT_VALID("[sandbox]\nname = \"x\"\n[workspace.a]\ncpu_seconds = 1\ncpu_percent = 100\nmemory_mb = 16\n"
                     "max_procs = 4194304\nmax_open_files = 16\ndisk_mb = 16\n");
        ASSERT_INVALID("[sandbox]\nname = \"x\"\n[workspace.a]\ncpu_seconds = 0\ncpu_percent = 0\nmemory_mb = 15\n"
                       "max_procs = 0\nmax_open_files = 1048577\ndisk_mb = -5\n");
        ASSERT_EQ(diag.n, 6);
        ASSERT_DIAG(4, 15, "'cpu_seconds' must be between 1 and 315360000");
        ASSERT_DIAG(5, 15, "'cpu_percent' must be between 1 and 100");
        ASSERT_DIAG(6, 13, "'memory_mb' must be between 16 and");
        ASSERT_DIAG(7, 13, "'max_procs' must be between 1 and");
        ASSERT_DIAG(8, 18, "'max_open_files' must be between 16 and 1048576");
        ASSERT_DIAG(9, 11, "'disk_mb' must be between 16 and");
        ASSERT_INVALID("[sandbox]\nname = \"x\"\n[workspace.a]\nmemory_mb = \"2G\"\n");
        ASSERT_DIAG(4, 13, "'memory_mb' must be an integer, got string");
}

TEST(auth_providers)
{
        ASSERT_VALID("[sandbox]\nname = \"x\"\n[workspace.a]\nauth = [\"enclave\", \"github\", \"npm\"]\n");
        ASSERT_EQ(strv_length(ef->workspaces[0].auth), 3);
        ASSERT_INVALID("[sandbox]\nname = \"x\"\n[workspace.a]\nauth = [\"github\", \"gihub\", \"github\", \"aws\", 3]\n");
        ASSERT_EQ(diag.n, 4);
        ASSERT_DIAG(4, 19, "unknown auth provider 'gihub'; did you mean 'github'?");
        ASSERT_DIAG(4, 28, "auth provider 'github' is listed twice");
        ASSERT_DIAG(4, 38, "unknown auth provider 'aws'; use one of: enclave, github, npm");
        ASSERT_DIAG(4, 45, "each entry of 'auth' must be a string, got integer");
        ASSERT_INVALID("[sandbox]\nname = \"x\"\n[workspace.a]\nauth = \"github\"\n");
        ASSERT_DIAG(4, 8, "'auth' must be an array, got string");
}

TEST(env_tokens)
{
        ASSERT_VALID("[sandbox]\nname = \"x\"\n[workspace.a]\nenv_tokens = [\"ENCLAVE_TOKEN\", \"GITHUB_TOKEN\", \"GH_TOKEN\", \"NPM_TOKEN\"]\n");
        ASSERT_EQ(strv_length(ef->workspaces[0].env_tokens), 4);
        ASSERT_INVALID("[sandbox]\nname = \"x\"\n[workspace.a]\nenv_tokens = [\"GITHUB_TOKN\", \"HOME\", \"NPM_TOKEN\", \"NPM_TOKEN\", \"bad name\"]\n");
        ASSERT_EQ(diag.n, 4);
        ASSERT_DIAG(4, 15, "unknown token variable 'GITHUB_TOKN' in 'env_tokens'; did you mean 'GITHUB_TOKEN'?");
        ASSERT_DIAG(4, 30, "unknown token variable 'HOME'");
        ASSERT_DIAG(4, 30, "ENCLAVE_TOKEN, GITHUB_TOKEN, GH_TOKEN, NPM_TOKEN");
        ASSERT_DIAG(4, 51, "'NPM_TOKEN' is listed twice");
        ASSERT_DIAG(4, 64, "unknown token variable 'bad name'");
}

TEST(ports)
{
        ASSERT_VALID("[sandbox]\nname = \"x\"\n[workspace.a]\nports = [\"127.0.0.1:1:65535\", \"127.0.0.1:65535:1/tcp\"]\n");
        ASSERT_EQ(ef->workspaces[0].n_ports, 2);
        ASSERT_EQ(ef->workspaces[0].ports[0].host_port, 1);
        ASSERT_EQ(ef->workspaces[0].ports[0].workspace_port, 65535);

        static const struct {
                const char *spec;
                const char *msg;
        } bad[] = {
                { "0.0.0.0:80:80", "binds '0.0.0.0'; only 127.0.0.1 is allowed" },
                { "localhost:80:80", "binds 'localhost'" },
                { "[::1]:80:80", "IPv6" },
                { "8080:80", "has no address" },
                { "8080", "has no address" },
                { "127.0.0.1:8080", "has no workspace port" },
                { "127.0.0.1:8080:80/udp", "protocol 'udp' is not supported" },
                { "127.0.0.1:8080:80/", "protocol '' is not supported" },
                { "127.0.0.1:0:80", "invalid host port '0'" },
                { "127.0.0.1:65536:80", "invalid host port '65536'" },
                { "127.0.0.1:80:0", "invalid workspace port '0'" },
                { "127.0.0.1:+80:80", "invalid host port" },
                { "127.0.0.1:80:80:80", "invalid workspace port" },
                { "127.0.0.1: 80:80", "invalid host port" },
                { "127.0.0.2:80:80", "binds '127.0.0.2'" },
        };
        char text[300];
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                snprintf(text, sizeof text, "[sandbox]\nname = \"x\"\n[workspace.a]\nports = [\"%s\"]\n", bad[i].spec);
                ASSERT_INVALID(text);
                ASSERT_DIAG(4, 10, bad[i].msg);
        }
        ASSERT_INVALID("[sandbox]\nname = \"x\"\n[workspace.a]\nports = [8080]\n");
        ASSERT_DIAG(4, 10, "each entry of 'ports' must be a string");
}

TEST(host_ports_are_unique_in_the_file)
{
        ASSERT_INVALID("[sandbox]\nname = \"x\"\n"
                       "[workspace.a]\nports = [\"127.0.0.1:8080:80\", \"127.0.0.1:8080:81\"]\n"
                       "[workspace.b]\nports = [\"127.0.0.1:9000:80\", \"127.0.0.1:8080:80/tcp\"]\n");
        ASSERT_EQ(diag.n, 2);
        ASSERT_DIAG(4, 31, "host port 8080 is already published by workspace 'a' at Enclavefile:4:10");
        ASSERT_DIAG(6, 31, "host port 8080 is already published by workspace 'a' at Enclavefile:4:10");
        /* The same workspace port twice on different host ports is fine. */
        ASSERT_VALID("[sandbox]\nname = \"x\"\n[workspace.a]\nports = [\"127.0.0.1:8080:80\", \"127.0.0.1:8081:80\"]\n");
}

TEST(env_tables)
{
        ASSERT_VALID("[sandbox]\nname = \"x\"\n[workspace.a]\nenv.NODE_ENV = \"production\"\nenv._X1 = \"\"\n");
        ASSERT_EQ(strv_length(ef->workspaces[0].env), 2);
        ASSERT_STREQ(ef->workspaces[0].env[1], "_X1=");
        ASSERT_INVALID("[sandbox]\nname = \"x\"\n[workspace.a]\n"
                       "env = { \"A-B\" = \"1\", GH_TOKEN = \"secret\", ENCLAVE_SANDBOX = \"x\", PORT = 3000, \"1X\" = \"\", OK = \"y\" }\n");
        ASSERT_EQ(diag.n, 5);
        ASSERT_DIAG(4, 9, "'A-B' in 'env' is not a valid variable name");
        ASSERT_DIAG(4, 22, "'GH_TOKEN' is a token variable and must not be written into the Enclavefile; store it with 'enclave auth login github'");
        ASSERT_DIAG(4, 43, "names starting with ENCLAVE_ are reserved");
        ASSERT_DIAG(4, 73, "'env.PORT' must be a string, got integer; put the value in quotes");
        ASSERT_DIAG(4, 79, "'1X' in 'env' is not a valid variable name");
        ASSERT_INVALID("[sandbox]\nname = \"x\"\n[workspace.a]\nenv = [\"A=B\"]\n");
        ASSERT_DIAG(4, 7, "'env' must be a table, got array");
        ASSERT_INVALID("[sandbox]\nname = \"x\"\n[workspace.a]\nenv = { A = \"x\\u0000y\" }\n");
        ASSERT_DIAG(4, 13, "must not contain NUL");
}

TEST(every_problem_is_reported_in_order)
{
        make_dir("app");
        const char *text =
                "[sandbox]\n"                              /* 1 */
                "name = \"bad name\"\n"                    /* 2 */
                "suite = \"bookwrom\"\n"                   /* 3 */
                "memroy_mb = 5\n"                          /* 4 */
                "[workspace.api]\n"                        /* 5 */
                "disk_mb = 100\n"                          /* 6 */
                "workspace_dir = \"app\"\n"                /* 7 */
                "ports = [\"0.0.0.0:1:1\"]\n"              /* 8 */
                "[workspace.web]\n"                        /* 9 */
                "name = \"api\"\n"                         /* 10 */
                "[sandboxx]\n";                            /* 11 */
        ASSERT_INVALID(text);
        ASSERT_EQ(diag.n, 7);
        unsigned want[] = { 2, 3, 4, 6, 8, 10, 11 };
        size_t w = 0;
        for (size_t i = 0; i < diag.n; i++) {
                if (i > 0)
                        ASSERT_TRUE(diag.items[i - 1].line <= diag.items[i].line);
                if (w < ELEMENTSOF(want) && diag.items[i].line == want[w])
                        w++;
        }
        ASSERT_EQ(w, ELEMENTSOF(want));
        _cleanup_free_ char *all = diagnostics_format(&diag);
        ASSERT_CONTAINS(all, "Enclavefile:2:8: sandbox name 'bad name'");
        ASSERT_CONTAINS(all, "\nEnclavefile:11:2: unknown table [sandboxx]");
}

TEST(too_many_workspaces)
{
        _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
        strbuf_puts(&b, "[sandbox]\nname = \"x\"\n");
        for (unsigned i = 0; i <= ENCLAVEFILE_MAX_WORKSPACES; i++)
                strbuf_printf(&b, "[workspace.w%u]\n", i);
        reset();
        ASSERT_EQ(enclavefile_parse_buffer(b.data, b.len, "Enclavefile", base(), &ef, &diag), -EINVAL);
        ASSERT_EQ(diag.n, 1);
        ASSERT_DIAG(3 + ENCLAVEFILE_MAX_WORKSPACES, 0, "too many workspaces (1001); at most 1000");

        strbuf_done(&b);
        strbuf_puts(&b, "[sandbox]\nname = \"x\"\n");
        for (unsigned i = 0; i < ENCLAVEFILE_MAX_WORKSPACES; i++)
                strbuf_printf(&b, "[workspace.w%u]\nports = [\"127.0.0.1:%u:80\"]\n", i, 10000 + i);
        reset();
        ASSERT_OK(enclavefile_parse_buffer(b.data, b.len, "Enclavefile", base(), &ef, &diag));
        ASSERT_EQ(ef->n_workspaces, ENCLAVEFILE_MAX_WORKSPACES);
}

TEST(diagnostics_are_capped)
{
        _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
        strbuf_puts(&b, "[sandbox]\nname = \"x\"\n");
        for (unsigned i = 0; i < 300; i++)
                strbuf_printf(&b, "bogus%u = 1\n", i);
        reset();
        ASSERT_EQ(enclavefile_parse_buffer(b.data, b.len, "Enclavefile", base(), &ef, &diag), -EINVAL);
        ASSERT_EQ(diag.n, DIAGNOSTICS_MAX);
        ASSERT_EQ(diagnostics_count(&diag), 300);
        _cleanup_free_ char *all = diagnostics_format(&diag);
        ASSERT_CONTAINS(all, "... and 100 more problems");
}

TEST(messages_do_not_echo_control_characters)
{
        ASSERT_INVALID("[sandbox]\nname = \"x\"\n\"a\\nb\\u001b[31m\" = 1\n");
        ASSERT_EQ(diag.n, 1);
        ASSERT_NULL(strchr(diag.items[0].message, '\n'));
        ASSERT_NULL(strchr(diag.items[0].message, '\x1b'));
        ASSERT_CONTAINS(diag.items[0].message, "a\\x0ab\\x1b[31m");
}

TEST(setup_digest)
{
        char d1[SHA256_HEX_SIZE], d2[SHA256_HEX_SIZE];
        ASSERT_VALID("[sandbox]\nname = \"x\"\nsetup = [\"apt-get install -y git nodejs python3\"]\n");
        spec_setup_digest(ef->sandbox.setup, d1);
        /* Independent reference (Python hashlib over the documented encoding). */
        ASSERT_STREQ(d1, "cb1e8aa220c83062973b2a7c604780bdaebd559e0b5eedc1cb85be9886085d94");
        ASSERT_VALID("[sandbox]\nname = \"other\"\nsuite = \"sid\"\nsetup = ['apt-get install -y git nodejs python3']\n");
        spec_setup_digest(ef->sandbox.setup, d2);
        ASSERT_STREQ(d1, d2);
        ASSERT_VALID("[sandbox]\nname = \"x\"\nsetup = [\"apt-get install -y git\", \"nodejs python3\"]\n");
        spec_setup_digest(ef->sandbox.setup, d2);
        ASSERT_TRUE(strcmp(d1, d2) != 0);
        ASSERT_VALID("[sandbox]\nname = \"x\"\nsetup = [\"a\", \"b\"]\n");
        spec_setup_digest(ef->sandbox.setup, d1);
        ASSERT_VALID("[sandbox]\nname = \"x\"\nsetup = [\"b\", \"a\"]\n");
        spec_setup_digest(ef->sandbox.setup, d2);
        ASSERT_TRUE(strcmp(d1, d2) != 0);
        ASSERT_VALID("[sandbox]\nname = \"x\"\n");
        spec_setup_digest(ef->sandbox.setup, d1);
        ASSERT_STREQ(d1, "0a0e23874328f7b2a7c0ce589956b8059432c46836d35a2bd5901e135dcc86e3");
}

TEST(json_has_resolved_values)
{
        make_dir("agents/coder");
        ASSERT_VALID(spec_example);
        json_t *j = enclavefile_to_json(ef);
        ASSERT_NOT_NULL(j);
        json_t *sb = json_object_get(j, "sandbox");
        ASSERT_STREQ(json_string_value(json_object_get(sb, "name")), "agents");
        ASSERT_EQ(json_integer_value(json_object_get(sb, "memory_mb")), 4096);
        ASSERT_EQ(json_array_size(json_object_get(sb, "setup")), 2);
        ASSERT_EQ(strlen(json_string_value(json_object_get(sb, "setup_digest"))), 64);
        json_t *ws = json_object_get(j, "workspaces");
        ASSERT_EQ(json_array_size(ws), 2);
        json_t *c = json_array_get(ws, 0);
        ASSERT_STREQ(json_string_value(json_object_get(c, "name")), "coder");
        ASSERT_TRUE(json_is_null(json_object_get(c, "disk_mb")));
        json_t *port = json_array_get(json_object_get(c, "ports"), 0);
        ASSERT_STREQ(json_string_value(json_object_get(port, "spec")), "127.0.0.1:3001:3000/tcp");
        ASSERT_EQ(json_integer_value(json_object_get(port, "host_port")), 3001);
        ASSERT_STREQ(json_string_value(json_object_get(json_object_get(c, "env"), "NODE_ENV")), "development");
        json_t *w = json_array_get(ws, 1);
        ASSERT_TRUE(json_is_null(json_object_get(w, "run")));
        ASSERT_TRUE(json_is_null(json_object_get(w, "workspace_dir")));
        json_decref(j);

        ASSERT_VALID("[sandbox]\nname = \"x\"\n");
        j = enclavefile_to_json(ef);
        sb = json_object_get(j, "sandbox");
        ASSERT_STREQ(json_string_value(json_object_get(sb, "suite")), "bookworm");
        ASSERT_STREQ(json_string_value(json_object_get(sb, "mirror")), "http://deb.debian.org/debian");
        ASSERT_TRUE(json_is_null(json_object_get(sb, "cpu_percent")));
        ASSERT_EQ(json_array_size(json_object_get(j, "workspaces")), 0);
        json_decref(j);
}

TEST(readable_listing)
{
        make_dir("agents/coder");
        ASSERT_VALID(spec_example);
        _cleanup_free_ char *text = enclavefile_format(ef);
        ASSERT_NOT_NULL(text);
        ASSERT_CONTAINS(text, "sandbox agents\n");
        ASSERT_CONTAINS(text, "  suite              trixie\n");
        ASSERT_CONTAINS(text, "setup              2 commands (sha256 ");
        ASSERT_CONTAINS(text, "    2. set -e\n       echo two lines\n");
        ASSERT_CONTAINS(text, "workspace coder\n");
        ASSERT_CONTAINS(text, "  memory_mb          2048 MiB\n");
        ASSERT_CONTAINS(text, "  ports              127.0.0.1:3001:3000/tcp\n");
        ASSERT_CONTAINS(text, "workspace web\n");
        ASSERT_CONTAINS(text, "  run                (none: starts idle)\n");
        ASSERT_CONTAINS(text, "  env                B=2, A=1 = one\n");
        ASSERT_CONTAINS(text, "  cpu_seconds        unlimited\n");
}

TEST(load_from_file_resolves_against_its_directory)
{
        make_dir("load/proj");
        _cleanup_free_ char *dir = path_join(base(), "load");
        _cleanup_free_ char *file = path_join(dir, "Enclavefile");
        _cleanup_free_ char *proj = path_join(dir, "proj");
        const char *text = "[sandbox]\nname = \"x\"\n[workspace.a]\nworkspace_dir = \"proj\"\n";
        ASSERT_OK(write_file_atomic(file, text, strlen(text), 0644));

        /* From another cwd, with a relative path to the file. */
        char old[4096];
        ASSERT_NOT_NULL(getcwd(old, sizeof old));
        ASSERT_OK(RET_NERRNO(chdir(base())));
        reset();
        int r = enclavefile_load("load/Enclavefile", &ef, &diag);
        ASSERT_OK(RET_NERRNO(chdir(old)));
        ASSERT_OK(r);
        ASSERT_STREQ(ef->path, file);
        ASSERT_STREQ(ef->base_dir, dir);
        ASSERT_STREQ(ef->display_name, "load/Enclavefile");
        ASSERT_STREQ(ef->workspaces[0].workspace_dir, proj);

        reset();
        _cleanup_free_ char *missing = path_join(base(), "nope/Enclavefile");
        ASSERT_EQ(enclavefile_load(missing, &ef, &diag), -ENOENT);
        ASSERT_EQ(diag.n, 1);
        ASSERT_EQ(diag.items[0].line, 0);
        ASSERT_CONTAINS(diag.items[0].message, "not found");
        reset();
        ASSERT_EQ(enclavefile_load(dir, &ef, &diag), -EISDIR);
        ASSERT_EQ(diag.n, 1);

        /* Errors name the file as given. */
        const char *bad = "[sandbox]\nname = \"x\"\nsuite = 1\n";
        ASSERT_OK(write_file_atomic(file, bad, strlen(bad), 0644));
        reset();
        ASSERT_EQ(enclavefile_load(file, &ef, &diag), -EINVAL);
        _cleanup_free_ char *line = diagnostic_format(&diag.items[0]);
        _cleanup_free_ char *want = NULL;
        ASSERT_TRUE(asprintf(&want, "%s:3:9: 'suite' must be a string, got integer; put the value in quotes", file) > 0);
        ASSERT_STREQ(line, want);
        reset();
}

TEST(diagnostic_formats)
{
        Diagnostics d = DIAGNOSTICS_INIT;
        ASSERT_OK(diagnostics_add(&d, "F", 0, 0, NULL, "whole file"));
        ASSERT_OK(diagnostics_add(&d, "F", 3, 0, "k", "line only"));
        ASSERT_OK(diagnostics_add(&d, "F", 3, 7, "k", "n=%d", 5));
        _cleanup_free_ char *all = diagnostics_format(&d);
        ASSERT_STREQ(all, "F: whole file\nF:3: line only\nF:3:7: n=5");
        _cleanup_error_ Error e = ERROR_INIT;
        ASSERT_EQ(diagnostics_to_error(&d, EINVAL, &e), -EINVAL);
        ASSERT_STREQ(e.msg, all);
        diagnostics_done(&d);
        ASSERT_TRUE(diagnostics_empty(&d));
}

TEST(port_values_outside_files)
{
        PortSpec p;
        uint16_t h;
        _cleanup_error_ Error e = ERROR_INIT;
        ASSERT_OK(port_spec_parse("127.0.0.1:8080:80", &p, &e));
        char buf[PORT_SPEC_STRING_MAX];
        port_spec_format(&p, buf);
        ASSERT_STREQ(buf, "127.0.0.1:8080:80/tcp");
        ASSERT_OK(port_host_parse("127.0.0.1:8080/tcp", &h, &e));
        ASSERT_EQ(h, 8080);
        ASSERT_OK(port_host_parse("127.0.0.1:1", &h, &e));
        ASSERT_TRUE(port_host_parse("127.0.0.1:8080:80", &h, &e) < 0);
        error_clear(&e);
        ASSERT_TRUE(port_host_parse("0.0.0.0:8080", &h, &e) < 0);
        ASSERT_CONTAINS(e.msg, "only 127.0.0.1");
        ASSERT_STREQ(auth_token_provider("GH_TOKEN"), "github");
        ASSERT_NULL(auth_token_provider("HOME"));
        ASSERT_STREQ(auth_provider_token_names("npm")[0], "NPM_TOKEN");
        ASSERT_NULL(auth_provider_token_names("aws"));
}

TEST(cleanup)
{
        reset();
}
