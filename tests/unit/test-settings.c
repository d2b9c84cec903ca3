#include "config/settings.h"
#include "spec/values.h"
#include "base/fs.h"
#include "base/str.h"
#include "test.h"
#include "scratch.h"

#include <sys/stat.h>

static const char *base(void)
{
        return scratch_dir("settings");
}

static char *write_config(const char *rel, const char *text)
{
        char *p = path_join(base(), rel);
        _cleanup_free_ char *dir = strdup(p);
        *strrchr(dir, '/') = 0;
        if (mkdir_p(dir, 0755) < 0 || write_file_atomic(p, text, strlen(text), 0644) < 0)
                TEST_FAIL("writing %s", p);
        return p;
}

static Settings s;
static Diagnostics diag;

static int parse(const char *text)
{
        settings_done(&s);
        diagnostics_done(&diag);
        if (settings_defaults(&s) < 0)
                TEST_FAIL("defaults");
        return settings_parse_buffer(text, strlen(text), "config.toml", &s, &diag);
}

static bool has(unsigned line, unsigned col, const char *needle)
{
        for (size_t i = 0; i < diag.n; i++)
                if (diag.items[i].line == line && (col == 0 || diag.items[i].col == col) &&
                    strstr(diag.items[i].message, needle))
                        return true;
        return false;
}

#define ASSERT_DIAG(l_, c_, needle)                                                      \
        do {                                                                             \
                if (!has(l_, c_, needle)) {                                           \
                        for (size_t _i = 0; _i < diag.n; _i++)                           \
                                printf("#   %u:%u: %s\n", diag.items[_i].line,           \
                                       diag.items[_i].col, diag.items[_i].message);     \
                        TEST_FAIL("no diagnostic at %u:%u containing \"%s\"", l_, c_, needle); \
                }                                                                        \
        } while (0)

TEST(defaults)
{
        Settings d;
        ASSERT_OK(settings_defaults(&d));
        ASSERT_NULL(d.path);
        ASSERT_STREQ(d.socket_path, "/run/enclave/manager.sock");
        ASSERT_STREQ(d.pid_file, "/run/enclave/manager.pid");
        ASSERT_STREQ(d.state_dir, "/var/lib/enclave");
        ASSERT_STREQ(d.bridge, "enclave0");
        ASSERT_STREQ(d.subnet, "10.200.0.0/16");
        ASSERT_EQ(d.firewall, FIREWALL_AUTO);
        ASSERT_STREQ(d.suite, "bookworm");
        ASSERT_STREQ(d.mirror, "http://deb.debian.org/debian");
        ASSERT_STREQ(d.bootstrap_method, "debootstrap");
        ASSERT_STREQ(d.debootstrap_binary, "debootstrap");
        ASSERT_NULL(d.workspace_apparmor_profile);
        ASSERT_NULL(d.workspace_selinux_label);
        ASSERT_EQ(d.wait_secs, 10);
        settings_done(&d);
        ASSERT_NULL(d.socket_path);
}

TEST(every_key)
{
        ASSERT_OK(parse("socket = \"/tmp/x/enclave.sock\"\n"
                        "pid_file = \"/tmp/x/enclave.pid\"\n"
                        "state_dir = \"/tmp/x/state\"\n"
                        "bridge = \"enct-1.a_b\"\n"
                        "subnet = \"10.231.4.0/24\"\n"
                        "firewall = \"iptables\"\n"
                        "suite = \"trixie\"\n"
                        "mirror = \"https://mirror.example/debian\"\n"
                        "bootstrap_method = \"cached_rootfs\"\n"
                        "debootstrap_binary = \"/usr/local/sbin/debootstrap\"\n"
                        "workspace_apparmor_profile = \"enclave-workspace\"\n"
                        "workspace_selinux_label = \"system_u:system_r:container_t:s0\"\n"
                        "wait_secs = 0\n"));
        ASSERT_EQ(diag.n, 0);
        ASSERT_STREQ(s.socket_path, "/tmp/x/enclave.sock");
        ASSERT_STREQ(s.pid_file, "/tmp/x/enclave.pid");
        ASSERT_STREQ(s.state_dir, "/tmp/x/state");
        ASSERT_STREQ(s.bridge, "enct-1.a_b");
        ASSERT_STREQ(s.subnet, "10.231.4.0/24");
        ASSERT_EQ(s.firewall, FIREWALL_IPTABLES);
        ASSERT_STREQ(s.suite, "trixie");
        ASSERT_STREQ(s.mirror, "https://mirror.example/debian");
        ASSERT_STREQ(s.bootstrap_method, "cached_rootfs");
        ASSERT_STREQ(s.debootstrap_binary, "/usr/local/sbin/debootstrap");
        ASSERT_STREQ(s.workspace_apparmor_profile, "enclave-workspace");
        ASSERT_STREQ(s.workspace_selinux_label, "system_u:system_r:container_t:s0");
        ASSERT_EQ(s.wait_secs, 0);

        /* Unset keys keep their defaults; "" sets a label to none, which
         * differs from unset (unset AppArmor gets Enclave's profile). */
        ASSERT_OK(parse("firewall = \"nftables\"\nworkspace_apparmor_profile = \"\"\n"));
        ASSERT_EQ(s.firewall, FIREWALL_NFTABLES);
        ASSERT_STREQ(s.workspace_apparmor_profile, "");
        ASSERT_STREQ(s.bridge, "enclave0");
        ASSERT_OK(parse(""));
        ASSERT_OK(parse("# only a comment\n"));
}

TEST(paths_must_be_absolute)
{
        ASSERT_EQ(parse("socket = \"run/x.sock\"\npid_file = \"x.pid\"\nstate_dir = \"\"\n"), -EINVAL);
        ASSERT_EQ(diag.n, 3);
        ASSERT_DIAG(1, 10, "'socket' must be an absolute path, got 'run/x.sock'");
        ASSERT_DIAG(2, 12, "'pid_file' must be an absolute path");
        ASSERT_DIAG(3, 13, "'state_dir' must be an absolute path");
        char text[300], longp[120];
        memset(longp, 'a', sizeof longp - 1);
        longp[0] = '/';
        longp[sizeof longp - 1] = 0;
        snprintf(text, sizeof text, "socket = \"%s\"\n", longp);
        ASSERT_EQ(parse(text), -EINVAL);
        ASSERT_DIAG(1, 10, "at most 107 for a socket address");
        snprintf(text, sizeof text, "pid_file = \"%s\"\n", longp);
        ASSERT_OK(parse(text));
        ASSERT_EQ(parse("state_dir = 5\n"), -EINVAL);
        ASSERT_DIAG(1, 13, "'state_dir' must be a string, got integer");
}

TEST(bridge_names)
{
        static const char *const good[] = { "e", "enclave0", "a.b-c_d", "abcdefghijklmno" };
        static const char *const bad[] = { "", "abcdefghijklmnop", "a b", "a/b", "a:b", ".", "..", "brü" };
        char text[100];
        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                snprintf(text, sizeof text, "bridge = \"%s\"\n", good[i]);
                ASSERT_OK(parse(text));
                ASSERT_TRUE(bridge_name_is_valid(good[i]));
        }
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                snprintf(text, sizeof text, "bridge = \"%s\"\n", bad[i]);
                ASSERT_EQ(parse(text), -EINVAL);
                ASSERT_DIAG(1, 10, "is not a valid interface name: use 1-15 letters");
        }
}

TEST(subnets)
{
        static const char *const good[] = { "10.0.0.0/8", "10.200.0.0/16", "192.168.7.16/28", "172.16.0.0/12" };
        char text[100];
        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                snprintf(text, sizeof text, "subnet = \"%s\"\n", good[i]);
                ASSERT_OK(parse(text));
        }
        static const struct {
                const char *subnet;
                const char *msg;
        } bad[] = {
                { "10.200.1.0/16", "is not a network address (host bits set); did you mean 10.200.0.0/16?" },
                { "10.0.0.0/7", "has prefix /7; use /8 to /28" },
                { "10.0.0.0/29", "has prefix /29" },
                { "10.0.0.0/32", "has prefix /32" },
                { "10.0.0.0", "must be IPv4 CIDR notation like 10.200.0.0/16" },
                { "10.0.0/16", "invalid IPv4 address '10.0.0'" },
                { "10.0.0.256/24", "invalid IPv4 address" },
                { "fd00::/64", "invalid IPv4 address" },
                { "10.0.0.0/x", "invalid prefix length 'x'" },
                { "10.0.0.0/016", "invalid prefix length" },
                { "10.0.0.0/", "invalid prefix length" },
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                snprintf(text, sizeof text, "subnet = \"%s\"\n", bad[i].subnet);
                ASSERT_EQ(parse(text), -EINVAL);
                ASSERT_DIAG(1, 10, bad[i].msg);
        }
}

/* config.toml's subnet at its edges: /28 is the narrowest it takes (the
 * daemon's own parser goes to /29), host bits and bad octets are named. */
TEST(subnet_boundaries)
{
        static const char *const good[] = { "10.231.4.0/24", "10.231.4.16/28", "10.0.0.0/08", "192.168.7.240/28" };
        char text[100];
        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                snprintf(text, sizeof text, "subnet = \"%s\"\n", good[i]);
                ASSERT_OK(parse(text));
                ASSERT_STREQ(s.subnet, good[i]);
        }
        static const struct {
                const char *subnet;
                const char *msg;
        } bad[] = {
                { "10.231.4.0/29", "has prefix /29; use /8 to /28" },
                { "10.231.4.0/30", "has prefix /30; use /8 to /28" },
                { "10.231.4.8/28", "host bits set); did you mean 10.231.4.0/28?" },
                { "10.231.4.1/29", "has prefix /29" },
                { "10.231.4.4/30", "has prefix /30" },
                { "10.231.4.0/+24", "invalid prefix length '+24'" },
                { "10.231.4.0/ 24", "invalid prefix length ' 24'" },
                { "10.231.256.0/24", "invalid IPv4 address '10.231.256.0'" },
                { "10.231.4.0.0/24", "invalid IPv4 address '10.231.4.0.0'" },
                { "010.231.4.0/24", "invalid IPv4 address '010.231.4.0'" },
                { "10.231.4.0000000/24", "has an invalid IPv4 address" },
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                snprintf(text, sizeof text, "subnet = \"%s\"\n", bad[i].subnet);
                ASSERT_EQ(parse(text), -EINVAL);
                ASSERT_DIAG(1, 10, bad[i].msg);
        }
}

TEST(metadata_allow)
{
        ASSERT_EQ(strv_length(s.metadata_allow), 0);
        ASSERT_OK(parse("metadata_allow = [\"169.254.170.2\", \"169.254.169.0/24\", \"100.100.100.200/32\"]\n"));
        ASSERT_EQ(strv_length(s.metadata_allow), 3);
        ASSERT_STREQ(s.metadata_allow[1], "169.254.169.0/24");
        ASSERT_OK(parse("metadata_allow = []\n"));
        static const struct {
                const char *entry;
                const char *msg;
        } bad[] = {
                { "10.0.0.1", "is not inside a blocked metadata range" },
                { "169.0.0.0/8", "is not inside a blocked metadata range" },
                { "100.100.100.0/24", "is not inside a blocked metadata range" },
                { "169.254.169.1/24", "host bits are set; did you mean 169.254.169.0/24?" },
                { "169.254.169.300", "is not an IPv4 address" },
                { "169.254.0.0/33", "prefix must be a number 0-32" },
        };
        char text[120];
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                snprintf(text, sizeof text, "metadata_allow = [\"%s\"]\n", bad[i].entry);
                ASSERT_EQ(parse(text), -EINVAL);
                ASSERT_DIAG(1, 19, bad[i].msg);
        }
        ASSERT_EQ(parse("metadata_allow = \"169.254.170.2\"\n"), -EINVAL);
        ASSERT_EQ(parse("metadata_allow = [1]\n"), -EINVAL);
}

TEST(choices_and_numbers)
{
        ASSERT_EQ(parse("firewall = \"nft\"\nsuite = \"buster\"\nbootstrap_method = \"rootfs\"\nwait_secs = 3601\n"),
                  -EINVAL);
        ASSERT_EQ(diag.n, 4);
        ASSERT_DIAG(1, 12, "unknown firewall 'nft'; use one of: auto, nftables, iptables");
        ASSERT_DIAG(2, 9, "unknown suite 'buster'");
        ASSERT_DIAG(3, 20, "unknown bootstrap_method 'rootfs'");
        ASSERT_DIAG(4, 13, "'wait_secs' must be between 0 and 3600 (seconds), got 3601");
        ASSERT_EQ(parse("firewall = \"iptable\"\nwait_secs = \"10\"\n"), -EINVAL);
        ASSERT_DIAG(1, 12, "did you mean 'iptables'?");
        ASSERT_DIAG(2, 13, "'wait_secs' must be an integer, got string");
        ASSERT_EQ(parse("mirror = \"ftp://x\"\n"), -EINVAL);
        ASSERT_DIAG(1, 10, "'mirror' must be an http:// or https:// URL");
        ASSERT_EQ(parse("debootstrap_binary = \"bin/debootstrap\"\n"), -EINVAL);
        ASSERT_DIAG(1, 22, "absolute path or a command name");
        ASSERT_OK(parse("debootstrap_binary = \"my-debootstrap\"\n"));
        ASSERT_EQ(parse("workspace_selinux_label = \"a b\"\n"), -EINVAL);
        ASSERT_DIAG(1, 27, "must not contain whitespace");
}

TEST(max_procs_total)
{
        ASSERT_OK(parse(""));
        ASSERT_EQ(s.max_procs_total, 0); /* automatic */
        ASSERT_OK(parse("max_procs_total = 40\n"));
        ASSERT_EQ(s.max_procs_total, 40);
        ASSERT_OK(parse("max_procs_total = 4194304\n"));
        ASSERT_EQ(parse("max_procs_total = -1\n"), -EINVAL);
        ASSERT_DIAG(1, 19, "'max_procs_total' must be between 0 and 4194304, got -1");
        ASSERT_EQ(parse("max_procs_total = 4194305\n"), -EINVAL);
        ASSERT_DIAG(1, 19, "got 4194305");
}

TEST(unknown_keys)
{
        ASSERT_EQ(parse("sokcet = \"/x\"\nstate-dir = \"/y\"\nfrobnicate = 1\n[daemon]\nsocket = \"/z\"\n"), -EINVAL);
        ASSERT_EQ(diag.n, 4);
        ASSERT_DIAG(1, 1, "unknown key 'sokcet' in config.toml; did you mean 'socket'?");
        ASSERT_DIAG(2, 1, "did you mean 'state_dir'?");
        ASSERT_DIAG(3, 1, "unknown key 'frobnicate' in config.toml; valid keys are: socket, pid_file");
        ASSERT_DIAG(4, 2, "unknown table [daemon]; config.toml has only top-level keys");
        _cleanup_free_ char *line = diagnostic_format(&diag.items[0]);
        ASSERT_STREQ(line, "config.toml:1:1: unknown key 'sokcet' in config.toml; did you mean 'socket'?");
}

TEST(failure_leaves_settings_unchanged)
{
        ASSERT_EQ(parse("bridge = \"br-good\"\nsubnet = \"bad\"\nwait_secs = 5\n"), -EINVAL);
        ASSERT_STREQ(s.bridge, "enclave0");
        ASSERT_STREQ(s.subnet, "10.200.0.0/16");
        ASSERT_EQ(s.wait_secs, 10);
        ASSERT_EQ(parse("socket = \"/a\"\n[["), -EINVAL);
        ASSERT_EQ(diag.n, 1);
        ASSERT_EQ(diag.items[0].line, 2);
        ASSERT_STREQ(s.socket_path, "/run/enclave/manager.sock");
}

TEST(load_explicit_path)
{
        _cleanup_free_ char *p = write_config("explicit/config.toml", "bridge = \"enct-x\"\nwait_secs = 3\n");
        Settings l;
        _cleanup_error_ Error e = ERROR_INIT;
        ASSERT_OK(settings_load(p, &l, &e));
        ASSERT_STREQ(l.path, p);
        ASSERT_STREQ(l.bridge, "enct-x");
        ASSERT_EQ(l.wait_secs, 3);
        ASSERT_STREQ(l.state_dir, "/var/lib/enclave");
        settings_done(&l);

        _cleanup_free_ char *missing = path_join(base(), "nope.toml");
        ASSERT_EQ(settings_load(missing, &l, &e), -ENOENT);
        ASSERT_CONTAINS(e.msg, "nope.toml");
        error_clear(&e);

        _cleanup_free_ char *bad = write_config("bad/config.toml", "bridge = \"x y\"\nsubnet = \"10.0.0.1/8\"\nsokcet = 1\n");
        ASSERT_EQ(settings_load(bad, &l, &e), -EINVAL);
        /* Every problem, each FILE:LINE:COL. */
        _cleanup_free_ char *want1 = NULL, *want2 = NULL, *want3 = NULL;
        ASSERT_TRUE(asprintf(&want1, "%s:1:10: 'bridge'", bad) > 0);
        ASSERT_TRUE(asprintf(&want2, "\n%s:2:10: 'subnet' '10.0.0.1/8' is not a network address", bad) > 0);
        ASSERT_TRUE(asprintf(&want3, "\n%s:3:1: unknown key 'sokcet'", bad) > 0);
        ASSERT_TRUE(startswith(e.msg, want1) != NULL);
        ASSERT_CONTAINS(e.msg, want2);
        ASSERT_CONTAINS(e.msg, want3);
        error_clear(&e);

        ASSERT_EQ(settings_load(base(), &l, &e), -EINVAL);
        ASSERT_CONTAINS(e.msg, "not a regular file");
}

static void set_env(const char *name, const char *value)
{
        if (value)
                setenv(name, value, 1);
        else
                unsetenv(name);
}

TEST(lookup_order)
{
        if (access("/etc/enclave/config.toml", F_OK) == 0)
                SKIP("/etc/enclave/config.toml exists on this host");
        _cleanup_free_ char *old_xdg = getenv("XDG_CONFIG_HOME") ? strdup(getenv("XDG_CONFIG_HOME")) : NULL;
        _cleanup_free_ char *old_home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
        _cleanup_free_ char *xdg = path_join(base(), "xdg");
        _cleanup_free_ char *home = path_join(base(), "home");
        ASSERT_OK(mkdir_p(xdg, 0755));
        ASSERT_OK(mkdir_p(home, 0755));
        Settings l;
        _cleanup_error_ Error e = ERROR_INIT;
        _cleanup_free_ char *found = NULL;

        /* Nothing anywhere: defaults. */
        set_env("XDG_CONFIG_HOME", xdg);
        set_env("HOME", home);
        int r = settings_load(NULL, &l, &e);
        ASSERT_OK(r);
        ASSERT_NULL(l.path);
        ASSERT_STREQ(l.bridge, "enclave0");
        settings_done(&l);
        ASSERT_OK(settings_find_file(NULL, &found, &e));
        ASSERT_NULL(found);

        /* ~/.config is used when XDG has none. */
        _cleanup_free_ char *hp = write_config("home/.config/enclave/config.toml", "bridge = \"from-home\"\n");
        ASSERT_OK(settings_load(NULL, &l, &e));
        ASSERT_STREQ(l.path, hp);
        ASSERT_STREQ(l.bridge, "from-home");
        settings_done(&l);

        /* XDG wins over ~/.config. */
        _cleanup_free_ char *xp = write_config("xdg/enclave/config.toml", "bridge = \"from-xdg\"\n");
        ASSERT_OK(settings_load(NULL, &l, &e));
        ASSERT_STREQ(l.path, xp);
        ASSERT_STREQ(l.bridge, "from-xdg");
        settings_done(&l);

        /* An explicit path wins over both. */
        _cleanup_free_ char *ep = write_config("explicit2.toml", "bridge = \"explicit\"\n");
        ASSERT_OK(settings_load(ep, &l, &e));
        ASSERT_STREQ(l.bridge, "explicit");
        settings_done(&l);

        /* A relative XDG_CONFIG_HOME is ignored, per the XDG spec. */
        set_env("XDG_CONFIG_HOME", "relative/dir");
        ASSERT_OK(settings_load(NULL, &l, &e));
        ASSERT_STREQ(l.path, hp);
        settings_done(&l);

        set_env("XDG_CONFIG_HOME", old_xdg);
        set_env("HOME", old_home);
}

TEST(firewall_names)
{
        ASSERT_STREQ(firewall_backend_to_string(FIREWALL_AUTO), "auto");
        ASSERT_STREQ(firewall_backend_to_string(FIREWALL_NFTABLES), "nftables");
        ASSERT_STREQ(firewall_backend_to_string(FIREWALL_IPTABLES), "iptables");
        ASSERT_NULL(firewall_backend_to_string(_FIREWALL_MAX));
        ASSERT_EQ(firewall_backend_from_string("iptables"), FIREWALL_IPTABLES);
        ASSERT_EQ(firewall_backend_from_string("ipfw"), _FIREWALL_INVALID);
        ASSERT_EQ(firewall_backend_from_string(NULL), _FIREWALL_INVALID);
}

TEST(cleanup)
{
        settings_done(&s);
        diagnostics_done(&diag);
}

/* The programs root runs come from config.toml, never from the
 * environment (config/trust.h). */
TEST(program_paths)
{
        ASSERT_OK(parse("daemon_binary = \"/opt/enclave/enclave-daemon\"\ninit_binary = \"/opt/enclave/enclave-init\"\n"));
        ASSERT_STREQ(s.daemon_binary, "/opt/enclave/enclave-daemon");
        ASSERT_STREQ(s.init_binary, "/opt/enclave/enclave-init");
        Settings copy;
        ASSERT_OK(settings_defaults(&copy));
        ASSERT_NULL(copy.daemon_binary);
        settings_done(&copy);
        ASSERT_EQ(parse("init_binary = \"build/enclave-init\"\n"), -EINVAL);
        ASSERT_DIAG(1, 15, "must be an absolute path");
}
