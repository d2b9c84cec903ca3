/* config.toml: the daemon and CLI settings (SPEC §4). A flat list of
 * keys over built-in defaults; every key is validated and every problem
 * reported at once, like the Enclavefile. */
#include "config/settings.h"
#include "config/reader.h"
#include "config/trust.h"
#include "spec/address.h"
#include "spec/values.h"
#include "spec/fetch-dest.h"
#include "spec/metadata.h"
#include "base/fs.h"
#include "base/str.h"

#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>

#define DEFAULT_SOCKET "/run/enclave/manager.sock"
#define DEFAULT_PID_FILE "/run/enclave/manager.pid"
#define DEFAULT_STATE_DIR "/var/lib/enclave"
#define DEFAULT_BRIDGE "enclave0"
#define DEFAULT_SUBNET "10.200.0.0/16"
#define DEFAULT_DEBOOTSTRAP "debootstrap"
#define DEFAULT_WAIT_SECS 10
#define DEFAULT_MAX_SANDBOXES_PER_USER 16
#define DEFAULT_MAX_WORKSPACES_PER_USER 64
#define DEFAULT_MAX_SNAPSHOTS_PER_USER 256
#define DEFAULT_MAX_CONNECTIONS_PER_USER 64
#define DEFAULT_MAX_LONG_ACTIONS_PER_USER 32
#define DEFAULT_FETCH_MAX_BYTES (8ull << 30)

static const char *const settings_keys[] = {
        "socket", "pid_file", "state_dir", "bridge", "subnet", "firewall", "suite", "mirror",
        "bootstrap_method", "debootstrap_binary", "workspace_apparmor_profile", "workspace_selinux_label",
        "wait_secs", "max_sandboxes_per_user", "max_workspaces_per_user", "max_snapshots_per_user",
        "max_connections_per_user", "max_long_actions_per_user", "fetch_max_bytes", "fetch_allow", "user_mirrors",
        "metadata_allow", "daemon_binary", "init_binary", "max_procs_total", NULL,
};

void settings_done(Settings *s)
{
        free(s->path);
        free(s->socket_path);
        free(s->pid_file);
        free(s->state_dir);
        free(s->bridge);
        free(s->subnet);
        free(s->suite);
        free(s->mirror);
        free(s->bootstrap_method);
        free(s->debootstrap_binary);
        free(s->workspace_apparmor_profile);
        free(s->workspace_selinux_label);
        strv_free(s->fetch_allow);
        strv_free(s->user_mirrors);
        strv_free(s->metadata_allow);
        free(s->daemon_binary);
        free(s->init_binary);
        *s = (Settings) {};
}

int settings_defaults(Settings *ret)
{
        Settings s = {
                .socket_path = strdup(DEFAULT_SOCKET),
                .pid_file = strdup(DEFAULT_PID_FILE),
                .state_dir = strdup(DEFAULT_STATE_DIR),
                .bridge = strdup(DEFAULT_BRIDGE),
                .subnet = strdup(DEFAULT_SUBNET),
                .firewall = FIREWALL_AUTO,
                .suite = strdup(DEFAULT_SUITE),
                .mirror = strdup(DEFAULT_MIRROR),
                .bootstrap_method = strdup(DEFAULT_BOOTSTRAP_METHOD),
                .debootstrap_binary = strdup(DEFAULT_DEBOOTSTRAP),
                .wait_secs = DEFAULT_WAIT_SECS,
                .max_sandboxes_per_user = DEFAULT_MAX_SANDBOXES_PER_USER,
                .max_workspaces_per_user = DEFAULT_MAX_WORKSPACES_PER_USER,
                .max_snapshots_per_user = DEFAULT_MAX_SNAPSHOTS_PER_USER,
                .max_connections_per_user = DEFAULT_MAX_CONNECTIONS_PER_USER,
                .max_long_actions_per_user = DEFAULT_MAX_LONG_ACTIONS_PER_USER,
                .fetch_max_bytes = DEFAULT_FETCH_MAX_BYTES,
                .fetch_allow = calloc(1, sizeof(char *)),
                .user_mirrors = calloc(1, sizeof(char *)),
                .metadata_allow = calloc(1, sizeof(char *)),
        };
        if (!s.socket_path || !s.pid_file || !s.state_dir || !s.bridge || !s.subnet || !s.suite || !s.mirror ||
            !s.bootstrap_method || !s.debootstrap_binary || !s.fetch_allow || !s.user_mirrors || !s.metadata_allow) {
                settings_done(&s);
                return -ENOMEM;
        }
        *ret = s;
        return 0;
}

/* ---- one key each ---- */

static void read_abs_path(ConfigReader *r, const TomlValue *v, const char *key, size_t max, char **ret)
{
        _cleanup_free_ char *s = NULL;
        char shown[PRINTABLE_MAX];
        if (!reader_string(r, v, key, key, PATH_MAX - 1, &s))
                return;
        if (s[0] != '/') {
                reader_problem(r, v->pos, key, "'%s' must be an absolute path, got '%s'", key, printable(s, shown));
                return;
        }
        if (strlen(s) > max) {
                reader_problem(r, v->pos, key, "'%s' is too long (%zu bytes; at most %zu for a socket address)", key,
                               strlen(s), max);
                return;
        }
        free(*ret);
        *ret = TAKE_PTR(s);
}

static void read_bridge(ConfigReader *r, const TomlValue *v, char **ret)
{
        _cleanup_free_ char *s = NULL;
        char shown[PRINTABLE_MAX];
        if (!reader_string(r, v, "bridge", "bridge", 256, &s))
                return;
        if (!bridge_name_is_valid(s)) {
                reader_problem(r, v->pos, "bridge",
                               "'bridge' '%s' is not a valid interface name: use 1-15 letters, digits, '_', '.' and '-'",
                               printable(s, shown));
                return;
        }
        free(*ret);
        *ret = TAKE_PTR(s);
}

static void read_subnet(ConfigReader *r, const TomlValue *v, char **ret)
{
        _cleanup_free_ char *s = NULL;
        _cleanup_error_ Error e = ERROR_INIT;
        char shown[PRINTABLE_MAX];
        NetSubnet subnet;
        if (!reader_string(r, v, "subnet", "subnet", 64, &s))
                return;
        if (net_cidr_parse(s, CONFIG_SUBNET_PREFIX_MAX, &subnet, &e) < 0) {
                reader_problem(r, v->pos, "subnet", "'subnet' '%s' %s", printable(s, shown), error_msg(&e));
                return;
        }
        free(*ret);
        *ret = TAKE_PTR(s);
}

static void read_mirror(ConfigReader *r, const TomlValue *v, char **ret)
{
        _cleanup_free_ char *s = NULL;
        _cleanup_error_ Error e = ERROR_INIT;
        if (!reader_string(r, v, "mirror", "mirror", 4096, &s))
                return;
        if (mirror_url_check(s, &e) < 0) {
                reader_problem(r, v->pos, "mirror", "'mirror' %s", error_msg(&e));
                return;
        }
        free(*ret);
        *ret = TAKE_PTR(s);
}

static void read_debootstrap(ConfigReader *r, const TomlValue *v, char **ret)
{
        _cleanup_free_ char *s = NULL;
        if (!reader_string(r, v, "debootstrap_binary", "debootstrap_binary", PATH_MAX - 1, &s))
                return;
        if (!*s || (s[0] != '/' && strchr(s, '/'))) {
                reader_problem(r, v->pos, "debootstrap_binary",
                               "'debootstrap_binary' must be an absolute path or a command name looked up in PATH");
                return;
        }
        free(*ret);
        *ret = TAKE_PTR(s);
}

/* AppArmor profile / SELinux label: one word; "" means none. */
static void read_label(ConfigReader *r, const TomlValue *v, const char *key, char **ret)
{
        _cleanup_free_ char *s = NULL;
        if (!reader_string(r, v, key, key, 255, &s))
                return;
        for (const char *p = s; *p; p++)
                if ((unsigned char) *p <= ' ' || *p == 0x7f) {
                        reader_problem(r, v->pos, key, "'%s' must not contain whitespace or control characters", key);
                        return;
                }
        /* "" stays "": set to nothing, which is not the same as unset
         * (unset AppArmor gets Enclave's default profile). */
        free(*ret);
        *ret = TAKE_PTR(s);
}

static void read_firewall(ConfigReader *r, const TomlValue *v, FirewallBackend *ret)
{
        _cleanup_free_ char *s = NULL;
        if (reader_choice(r, v, "firewall", "firewall", firewall_backends, &s))
                *ret = firewall_backend_from_string(s);
}

static void read_wait_secs(ConfigReader *r, const TomlValue *v, int *ret)
{
        int64_t n;
        if (reader_int(r, v, "wait_secs", "wait_secs", 0, SETTINGS_WAIT_SECS_MAX, "seconds", &n))
                *ret = (int) n;
}

static void read_count(ConfigReader *r, const TomlValue *v, const char *key, int64_t min, int64_t *ret)
{
        int64_t n;
        if (reader_int(r, v, key, key, min, SETTINGS_PER_USER_MAX, NULL, &n))
                *ret = n;
}

static void read_fetch_max_bytes(ConfigReader *r, const TomlValue *v, uint64_t *ret)
{
        int64_t n;
        if (reader_int(r, v, "fetch_max_bytes", "fetch_max_bytes", 1 << 20, INT64_C(1) << 40, "bytes", &n))
                *ret = (uint64_t) n;
}

static void read_procs_total(ConfigReader *r, const TomlValue *v, int64_t *ret)
{
        int64_t n;
        if (reader_int(r, v, "max_procs_total", "max_procs_total", 0, SETTINGS_PROCS_TOTAL_MAX, NULL, &n))
                *ret = n;
}

/* An array of strings, each checked by check (NULL: any); *ret is
 * replaced only when every entry is fine. */
static void read_list(ConfigReader *r, const TomlValue *v, const char *key, size_t max_len,
                      int (*check)(const char *s, Error *err), char ***ret)
{
        if (!reader_expect(r, v, TOML_ARRAY, key, key))
                return;
        if (toml_array_size(v) > SETTINGS_LIST_MAX) {
                reader_problem(r, v->pos, key, "'%s' has more than %u entries", key, SETTINGS_LIST_MAX);
                return;
        }
        _cleanup_strv_free_ char **list = calloc(1, sizeof *list);
        if (!list) {
                r->oom = true;
                return;
        }
        bool ok = true;
        for (size_t i = 0; i < toml_array_size(v); i++) {
                const TomlValue *e = toml_array_get(v, i);
                _cleanup_free_ char *item = NULL;
                _cleanup_error_ Error e_err = ERROR_INIT;
                if (!reader_string(r, e, key, key, max_len, &item)) {
                        ok = false;
                        continue;
                }
                if (check && check(item, &e_err) < 0) {
                        reader_problem(r, e->pos, key, "'%s': %s", key, error_msg(&e_err));
                        ok = false;
                        continue;
                }
                if (strv_push(&list, item) < 0) {
                        r->oom = true;
                        return;
                }
        }
        if (!ok)
                return;
        strv_free(*ret);
        *ret = TAKE_PTR(list);
}

static int check_cidr(const char *s, Error *err)
{
        FetchCidr c;
        return fetch_cidr_parse(s, &c, err);
}

static int check_metadata_allow(const char *s, Error *err)
{
        NetSubnet n;
        return net_metadata_allow_parse(s, &n, err);
}

static void read_key(ConfigReader *r, const char *key, TomlPos kpos, const TomlValue *v, Settings *s)
{
        if (streq(key, "socket"))
                read_abs_path(r, v, key, sizeof(((struct sockaddr_un *) NULL)->sun_path) - 1, &s->socket_path);
        else if (streq(key, "pid_file"))
                read_abs_path(r, v, key, PATH_MAX - 1, &s->pid_file);
        else if (streq(key, "state_dir"))
                read_abs_path(r, v, key, PATH_MAX - 1, &s->state_dir);
        else if (streq(key, "bridge"))
                read_bridge(r, v, &s->bridge);
        else if (streq(key, "subnet"))
                read_subnet(r, v, &s->subnet);
        else if (streq(key, "firewall"))
                read_firewall(r, v, &s->firewall);
        else if (streq(key, "suite"))
                (void) reader_choice(r, v, "suite", "suite", debian_suites, &s->suite);
        else if (streq(key, "mirror"))
                read_mirror(r, v, &s->mirror);
        else if (streq(key, "bootstrap_method"))
                (void) reader_choice(r, v, "bootstrap_method", "bootstrap_method", bootstrap_methods,
                                     &s->bootstrap_method);
        else if (streq(key, "debootstrap_binary"))
                read_debootstrap(r, v, &s->debootstrap_binary);
        else if (streq(key, "workspace_apparmor_profile"))
                read_label(r, v, key, &s->workspace_apparmor_profile);
        else if (streq(key, "workspace_selinux_label"))
                read_label(r, v, key, &s->workspace_selinux_label);
        else if (streq(key, "wait_secs"))
                read_wait_secs(r, v, &s->wait_secs);
        else if (streq(key, "max_sandboxes_per_user"))
                read_count(r, v, key, 0, &s->max_sandboxes_per_user);
        else if (streq(key, "max_workspaces_per_user"))
                read_count(r, v, key, 0, &s->max_workspaces_per_user);
        else if (streq(key, "max_snapshots_per_user"))
                read_count(r, v, key, 0, &s->max_snapshots_per_user);
        else if (streq(key, "max_connections_per_user"))
                read_count(r, v, key, 1, &s->max_connections_per_user);
        else if (streq(key, "max_long_actions_per_user"))
                read_count(r, v, key, 1, &s->max_long_actions_per_user);
        else if (streq(key, "fetch_max_bytes"))
                read_fetch_max_bytes(r, v, &s->fetch_max_bytes);
        else if (streq(key, "max_procs_total"))
                read_procs_total(r, v, &s->max_procs_total);
        else if (streq(key, "fetch_allow"))
                read_list(r, v, key, 64, check_cidr, &s->fetch_allow);
        else if (streq(key, "user_mirrors"))
                read_list(r, v, key, 2048, mirror_url_check, &s->user_mirrors);
        else if (streq(key, "daemon_binary") || streq(key, "init_binary"))
                read_abs_path(r, v, key, PATH_MAX - 1, streq(key, "daemon_binary") ? &s->daemon_binary : &s->init_binary);
        else if (streq(key, "metadata_allow"))
                read_list(r, v, key, 64, check_metadata_allow, &s->metadata_allow);
        else if (v->type == TOML_TABLE) {
                char shown[PRINTABLE_MAX], list[512];
                reader_problem(r, kpos, key, "unknown table [%s]; config.toml has only top-level keys: %s",
                               printable(key, shown), join_list(settings_keys, list, sizeof list));
        } else
                reader_unknown_key(r, key, kpos, "config.toml", key, settings_keys);
}

static int dup_field(char **dst, const char *src)
{
        *dst = NULL;
        if (src && !(*dst = strdup(src)))
                return -ENOMEM;
        return 0;
}

static int settings_copy(const Settings *src, Settings *ret)
{
        Settings c = {
                .firewall = src->firewall,
                .wait_secs = src->wait_secs,
                .max_sandboxes_per_user = src->max_sandboxes_per_user,
                .max_workspaces_per_user = src->max_workspaces_per_user,
                .max_snapshots_per_user = src->max_snapshots_per_user,
                .max_connections_per_user = src->max_connections_per_user,
                .max_long_actions_per_user = src->max_long_actions_per_user,
                .fetch_max_bytes = src->fetch_max_bytes,
                .max_procs_total = src->max_procs_total,
                .fetch_allow = strv_copy(src->fetch_allow),
                .user_mirrors = strv_copy(src->user_mirrors),
                .metadata_allow = strv_copy(src->metadata_allow),
        };
        int r = (c.fetch_allow && c.user_mirrors && c.metadata_allow) ? 0 : -ENOMEM;
        r |= dup_field(&c.path, src->path);
        r |= dup_field(&c.socket_path, src->socket_path);
        r |= dup_field(&c.pid_file, src->pid_file);
        r |= dup_field(&c.state_dir, src->state_dir);
        r |= dup_field(&c.bridge, src->bridge);
        r |= dup_field(&c.subnet, src->subnet);
        r |= dup_field(&c.suite, src->suite);
        r |= dup_field(&c.mirror, src->mirror);
        r |= dup_field(&c.bootstrap_method, src->bootstrap_method);
        r |= dup_field(&c.debootstrap_binary, src->debootstrap_binary);
        r |= dup_field(&c.workspace_apparmor_profile, src->workspace_apparmor_profile);
        r |= dup_field(&c.workspace_selinux_label, src->workspace_selinux_label);
        r |= dup_field(&c.daemon_binary, src->daemon_binary);
        r |= dup_field(&c.init_binary, src->init_binary);
        if (r < 0) {
                settings_done(&c);
                return -ENOMEM;
        }
        *ret = c;
        return 0;
}

int settings_parse_buffer(const char *data, size_t len, const char *display_name, Settings *s,
                          Diagnostics *diag)
{
        ConfigReader r = { .file = display_name, .diag = diag };
        _cleanup_toml_ TomlValue *root = NULL;

        if (len > SETTINGS_MAX_SIZE) {
                diagnostics_add(diag, display_name, 0, 0, NULL, "is larger than %u KiB", SETTINGS_MAX_SIZE / 1024);
                return -EFBIG;
        }
        int k = reader_parse(&r, data, len, &root);
        if (k < 0)
                return k;

        /* Parse onto a copy so that a failing file leaves *s untouched. */
        Settings upd;
        if (settings_copy(s, &upd) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < toml_table_size(root); i++) {
                TomlPos kpos;
                const char *key = toml_table_key(root, i, &kpos);
                read_key(&r, key, kpos, toml_table_value(root, i), &upd);
        }
        if (r.oom || r.problems > 0) {
                settings_done(&upd);
                return r.oom ? -ENOMEM : -EINVAL;
        }
        settings_done(s);
        *s = upd;
        return 0;
}

/* ---- finding and reading the file ---- */

static int candidate(const char *base, const char *suffix, char **ret)
{
        if (!base || base[0] != '/')
                return 0; /* unset or relative: not a usable location */
        return asprintf(ret, "%s/%s", base, suffix) < 0 ? -ENOMEM : 0;
}

/* The file as root may use it: its canonical path once it passed the
 * checks of config/trust.h; anyone else gets it as found. */
static int use_file(const char *path, char **ret, Error *err)
{
        if (geteuid() == 0)
                return trust_check_file(path, "config file", ret, err);
        *ret = strdup(path);
        return *ret ? 0 : error_set(err, ENOMEM, "out of memory");
}

int settings_find_file(const char *explicit_path, char **ret_path, Error *err)
{
        if (explicit_path) {
                if (access(explicit_path, F_OK) < 0)
                        return error_setc(err, errno, "config file %s", explicit_path);
                return use_file(explicit_path, ret_path, err);
        }

        _cleanup_free_ char *xdg = NULL, *home = NULL;
        if (candidate(getenv("XDG_CONFIG_HOME"), "enclave/config.toml", &xdg) < 0 ||
            candidate(getenv("HOME"), ".config/enclave/config.toml", &home) < 0)
                return error_set(err, ENOMEM, "out of memory");
        char *paths[] = { xdg, home, (char *) "/etc/enclave/config.toml" };
        for (size_t i = 0; i < ELEMENTSOF(paths); i++) {
                if (!paths[i])
                        continue;
                if (access(paths[i], F_OK) < 0) {
                        if (errno == ENOENT || errno == ENOTDIR)
                                continue;
                        return error_setc(err, errno, "config file %s", paths[i]);
                }
                return use_file(paths[i], ret_path, err);
        }
        *ret_path = NULL;
        return 0;
}

static int read_settings_file(const char *path, char **ret, size_t *ret_len, Error *err)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return error_setc(err, errno, "config file %s", path);
        struct stat st;
        if (fstat(fd, &st) < 0)
                return error_setc(err, errno, "config file %s", path);
        if (!S_ISREG(st.st_mode))
                return error_set(err, EINVAL, "config file %s is not a regular file", path);
        int r = read_full_fd(fd, SETTINGS_MAX_SIZE, ret, ret_len);
        if (r == -EFBIG)
                return error_set(err, EFBIG, "config file %s is larger than %u KiB", path, SETTINGS_MAX_SIZE / 1024);
        if (r < 0)
                return error_setc(err, -r, "reading config file %s", path);
        return 0;
}

int settings_load(const char *explicit_path, Settings *ret, Error *err)
{
        _cleanup_free_ char *path = NULL, *data = NULL;
        _cleanup_diagnostics_ Diagnostics diag = DIAGNOSTICS_INIT;
        Settings s;
        size_t len;

        int r = settings_find_file(explicit_path, &path, err);
        if (r < 0)
                return r;
        r = settings_defaults(&s);
        if (r < 0)
                return error_set(err, -r, "out of memory");
        if (!path) {
                *ret = s;
                return 0;
        }
        r = read_settings_file(path, &data, &len, err);
        if (r >= 0) {
                r = settings_parse_buffer(data, len, path, &s, &diag);
                if (r < 0)
                        r = diagnostics_to_error(&diag, -r, err);
        }
        if (r < 0) {
                settings_done(&s);
                return r;
        }
        s.path = TAKE_PTR(path);
        *ret = s;
        return 0;
}
