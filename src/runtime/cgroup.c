/* Cgroup handles across hierarchies: layout detection, the group tree,
 * attach, freeze, kill, destroy and stats. Controller-specific files are
 * in cgroup-v1.c and cgroup-v2.c. */
#include "runtime/cgroup.h"
#include "base/fs.h"
#include "base/str.h"

#include <ctype.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CGROUP_LIMIT_CONTROLLERS \
        (CGROUP_MASK(CGROUP_CPU) | CGROUP_MASK(CGROUP_MEMORY) | CGROUP_MASK(CGROUP_PIDS) | CGROUP_MASK(CGROUP_IO))
/* Controllers every v2 group has without enabling anything. */
#define CGROUP_V2_CORE (CGROUP_MASK(CGROUP_CPUACCT) | CGROUP_MASK(CGROUP_FREEZER))
#define CGROUP_KILL_TIMEOUT_MS 10000

static const char *const mode_names[_CGROUP_MODE_MAX] = {
        [CGROUP_MODE_V1] = "v1",
        [CGROUP_MODE_HYBRID] = "hybrid",
        [CGROUP_MODE_V2] = "v2",
};

const char *cgroup_mode_to_string(CgroupMode m)
{
        return m >= 0 && m < _CGROUP_MODE_MAX ? mode_names[m] : NULL;
}

static const char *const controller_names[_CGROUP_CONTROLLER_MAX] = {
        [CGROUP_CPU] = "cpu",
        [CGROUP_CPUACCT] = "cpuacct",
        [CGROUP_MEMORY] = "memory",
        [CGROUP_PIDS] = "pids",
        [CGROUP_IO] = "io",
        [CGROUP_FREEZER] = "freezer",
};

const char *cgroup_controller_to_string(CgroupController c)
{
        return c >= 0 && c < _CGROUP_CONTROLLER_MAX ? controller_names[c] : NULL;
}

CgroupController cgroup_controller_from_string(const char *s)
{
        if (streq(s, "blkio"))
                return CGROUP_IO;
        for (int c = 0; c < _CGROUP_CONTROLLER_MAX; c++)
                if (streq(s, controller_names[c]))
                        return (CgroupController) c;
        return _CGROUP_CONTROLLER_INVALID;
}

/* ---- pure parsers ---- */

/* Next line of text into line and len; returns the position after it. */
static const char *next_line(const char *p, const char **line, size_t *len)
{
        const char *end = strchr(p, '\n');
        *line = p;
        *len = end ? (size_t) (end - p) : strlen(p);
        return end ? end + 1 : p + *len;
}

static int parse_u64_prefix(const char *s, const char **end, uint64_t *ret)
{
        if (!isdigit((unsigned char) *s))
                return -EINVAL;
        char *e;
        errno = 0;
        unsigned long long v = strtoull(s, &e, 10);
        if (errno == ERANGE)
                return -ERANGE;
        *ret = v;
        if (end)
                *end = e;
        return 0;
}

int cgroup_parse_keyed(const char *text, const char *key, uint64_t *ret)
{
        size_t klen = strlen(key);
        for (const char *p = text; *p;) {
                const char *line;
                size_t len;
                p = next_line(p, &line, &len);
                if (len > klen && strneq(line, key, klen) && line[klen] == ' ')
                        return parse_u64_prefix(line + klen + 1, NULL, ret);
        }
        return -ENOENT;
}

int cgroup_parse_limit(const char *text, uint64_t *ret)
{
        while (isspace((unsigned char) *text))
                text++;
        if (startswith(text, "max") || startswith(text, "-1")) {
                *ret = CGROUP_UNLIMITED;
                return 0;
        }
        const char *end;
        uint64_t v;
        int r = parse_u64_prefix(text, &end, &v);
        if (r < 0)
                return r;
        while (isspace((unsigned char) *end))
                end++;
        if (*end)
                return -EINVAL;
        /* v1 reports "no limit" as PAGE_COUNTER_MAX * page size. */
        *ret = v >= (UINT64_C(1) << 62) ? CGROUP_UNLIMITED : v;
        return 0;
}

int cgroup_parse_blkio_v1(const char *text, uint64_t *ret_read, uint64_t *ret_write)
{
        uint64_t rd = 0, wr = 0;
        for (const char *p = text; *p;) {
                const char *line;
                size_t len;
                char dev[64], op[16];
                unsigned long long v;
                p = next_line(p, &line, &len);
                char buf[160];
                if (len == 0 || len >= sizeof buf)
                        continue;
                memcpy(buf, line, len);
                buf[len] = 0;
                /* "MAJ:MIN Op bytes"; the trailing "Total N" line has two fields. */
                if (sscanf(buf, "%63s %15s %llu", dev, op, &v) != 3)
                        continue;
                if (streq(op, "Read"))
                        rd += v;
                else if (streq(op, "Write"))
                        wr += v;
        }
        *ret_read = rd;
        *ret_write = wr;
        return 0;
}

int cgroup_parse_io_stat(const char *text, uint64_t *ret_read, uint64_t *ret_write)
{
        uint64_t rd = 0, wr = 0, v;
        for (const char *p = text; *p; p++) {
                /* Keys are preceded by a space: "8:0 rbytes=.. wbytes=..". */
                if (p != text && p[-1] != ' ')
                        continue;
                if (startswith(p, "rbytes=") && parse_u64_prefix(p + 7, NULL, &v) == 0)
                        rd += v;
                else if (startswith(p, "wbytes=") && parse_u64_prefix(p + 7, NULL, &v) == 0)
                        wr += v;
        }
        *ret_read = rd;
        *ret_write = wr;
        return 0;
}

uint64_t cgroup_count_lines(const char *text)
{
        uint64_t n = 0;
        for (const char *p = text; *p;) {
                const char *line;
                size_t len;
                p = next_line(p, &line, &len);
                if (len > 0)
                        n++;
        }
        return n;
}

static bool list_contains(const char *list, size_t len, const char *word, char sep)
{
        size_t wlen = strlen(word);
        for (size_t i = 0; i < len;) {
                size_t j = i;
                while (j < len && list[j] != sep)
                        j++;
                if (j - i == wlen && strneq(list + i, word, wlen))
                        return true;
                i = j + 1;
        }
        return false;
}

int cgroup_parse_self(const char *text, const char *controller, char **ret)
{
        for (const char *p = text; *p;) {
                const char *line;
                size_t len;
                p = next_line(p, &line, &len);
                const char *c1 = memchr(line, ':', len);
                const char *c2 = c1 ? memchr(c1 + 1, ':', len - (size_t) (c1 + 1 - line)) : NULL;
                if (!c2)
                        continue;
                const char *ctrls = c1 + 1;
                size_t clen = (size_t) (c2 - ctrls);
                bool match = controller ? list_contains(ctrls, clen, controller, ',')
                                        : (c1 - line == 1 && line[0] == '0' && clen == 0);
                if (!match)
                        continue;
                char *path = strndup(c2 + 1, len - (size_t) (c2 + 1 - line));
                if (!path)
                        return -ENOMEM;
                *ret = path;
                return 0;
        }
        return -ENOENT;
}

/* ---- layout ---- */

void cgroup_layout_done(CgroupLayout *l)
{
        for (size_t i = 0; i < l->n; i++) {
                free(l->h[i].mount);
                free(l->h[i].self_path);
        }
        *l = (CgroupLayout) { 0 };
}

static unsigned v1_mask_from_options(const char *opts, size_t len)
{
        unsigned mask = 0;
        for (int c = 0; c < _CGROUP_CONTROLLER_MAX; c++) {
                const char *name = c == CGROUP_IO ? "blkio" : controller_names[c];
                if (list_contains(opts, len, name, ','))
                        mask |= CGROUP_MASK(c);
        }
        return mask;
}

static unsigned v2_mask_from_controllers(const char *text)
{
        unsigned mask = CGROUP_V2_CORE;
        if (!text)
                return mask;
        size_t len = strcspn(text, "\n");
        for (int c = 0; c < _CGROUP_CONTROLLER_MAX; c++)
                if ((CGROUP_MASK(c) & CGROUP_LIMIT_CONTROLLERS) && list_contains(text, len, controller_names[c], ' '))
                        mask |= CGROUP_MASK(c);
        return mask;
}

/* Our cgroup path relative to what the mount shows: the mount's root
 * (field 4 of mountinfo) is cut off, e.g. inside a container. */
static char *relative_self(const char *self, const char *mount_root)
{
        const char *rest = streq(mount_root, "/") ? self : startswith(self, mount_root);
        if (!rest)
                rest = "/";
        return strdup(*rest ? rest : "/");
}

typedef struct MountInfoLine {
        char root[PATH_MAX];
        char mountpoint[PATH_MAX];
        char fstype[32];
        const char *super_opts;
        size_t super_len;
} MountInfoLine;

static bool parse_mountinfo_line(const char *line, size_t len, MountInfoLine *m)
{
        char buf[PATH_MAX * 2 + 256];
        if (len >= sizeof buf)
                return false;
        memcpy(buf, line, len);
        buf[len] = 0;
        const char *sep = strstr(buf, " - ");
        if (!sep)
                return false;
        /* id parent maj:min root mountpoint ... - fstype source superopts */
        if (sscanf(buf, "%*s %*s %*s %4095s %4095s", m->root, m->mountpoint) != 2)
                return false;
        char source[256];
        int off = 0;
        if (sscanf(sep + 3, "%31s %255s %n", m->fstype, source, &off) != 2 || off == 0)
                return false;
        m->super_opts = line + (sep - buf) + 3 + off;
        m->super_len = len - (size_t) (m->super_opts - line);
        return true;
}

static int add_hierarchy(CgroupLayout *l, bool v2, const MountInfoLine *m, unsigned mask, const char *self_cgroup)
{
        if (l->n >= CGROUP_HIERARCHIES_MAX)
                return 0;
        _cleanup_free_ char *self = NULL;
        const char *first = NULL;
        for (int c = 0; c < _CGROUP_CONTROLLER_MAX && !v2; c++)
                if (mask & CGROUP_MASK(c)) {
                        first = c == CGROUP_IO ? "blkio" : controller_names[c];
                        break;
                }
        if (cgroup_parse_self(self_cgroup, first, &self) < 0) {
                self = strdup("/");
                if (!self)
                        return -ENOMEM;
        }
        CgroupHierarchy *h = &l->h[l->n];
        *h = (CgroupHierarchy) { .v2 = v2, .controllers = mask };
        h->mount = strdup(m->mountpoint);
        h->self_path = relative_self(self, m->root);
        l->n++;
        return h->mount && h->self_path ? 0 : -ENOMEM;
}

int cgroup_layout_parse(const char *mountinfo, const char *self_cgroup, const char *v2_controllers,
                        CgroupLayout *ret, Error *err)
{
        CgroupLayout l = { 0 };
        unsigned covered = 0;
        bool have_v2 = false;
        int r = 0;

        for (const char *p = mountinfo; *p && r == 0;) {
                const char *line;
                size_t len;
                MountInfoLine m;
                p = next_line(p, &line, &len);
                if (!parse_mountinfo_line(line, len, &m))
                        continue;
                if (streq(m.fstype, "cgroup2") && !have_v2) {
                        have_v2 = true;
                        r = add_hierarchy(&l, true, &m, v2_mask_from_controllers(v2_controllers), self_cgroup);
                } else if (streq(m.fstype, "cgroup")) {
                        unsigned mask = v1_mask_from_options(m.super_opts, m.super_len) & ~covered;
                        if (mask == 0)
                                continue;
                        covered |= mask;
                        r = add_hierarchy(&l, false, &m, mask, self_cgroup);
                }
        }
        if (r < 0) {
                cgroup_layout_done(&l);
                return error_set(err, -r, "cgroups: parsing the mount table: out of memory");
        }
        if (l.n == 0)
                return error_set(err, ENOENT, "no cgroup file system is mounted (need cgroup v2 or v1 controllers)");
        l.mode = !have_v2 ? CGROUP_MODE_V1 : covered ? CGROUP_MODE_HYBRID : CGROUP_MODE_V2;
        *ret = l;
        return 0;
}

int cgroup_layout_detect(CgroupLayout *ret, Error *err)
{
        _cleanup_free_ char *mountinfo = NULL, *self = NULL, *controllers = NULL;
        int r = read_full_file("/proc/self/mountinfo", 16 << 20, &mountinfo, NULL);
        if (r < 0)
                return error_setc(err, -r, "reading /proc/self/mountinfo");
        r = read_full_file("/proc/self/cgroup", 1 << 20, &self, NULL);
        if (r < 0)
                return error_setc(err, -r, "reading /proc/self/cgroup");

        /* A first pass finds the v2 mount, whose cgroup.controllers (at our
         * own group) says what the unified tree can give us. */
        CgroupLayout probe;
        r = cgroup_layout_parse(mountinfo, self, NULL, &probe, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < probe.n; i++)
                if (probe.h[i].v2) {
                        _cleanup_free_ char *dir = path_join(probe.h[i].mount, probe.h[i].self_path);
                        if (dir)
                                (void) cgroup_read_file(dir, "cgroup.controllers", &controllers);
                }
        cgroup_layout_done(&probe);
        return cgroup_layout_parse(mountinfo, self, controllers, ret, err);
}

/* ---- small file helpers ---- */

static int build_path(char *buf, size_t size, const char *dir, const char *file)
{
        int n = snprintf(buf, size, "%s/%s", dir, file);
        return n < 0 || (size_t) n >= size ? -ENAMETOOLONG : 0;
}

int cgroup_write_file(const char *dir, const char *file, const char *value)
{
        char path[PATH_MAX];
        int r = build_path(path, sizeof path, dir, file);
        if (r < 0)
                return r;
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        size_t len = strlen(value);
        ssize_t n = write(fd, value, len);
        if (n < 0)
                return -errno;
        return (size_t) n == len ? 0 : -EIO;
}

int cgroup_read_file(const char *dir, const char *file, char **ret)
{
        char path[PATH_MAX];
        int r = build_path(path, sizeof path, dir, file);
        if (r < 0)
                return r;
        return read_full_file(path, 4 << 20, ret, NULL);
}

int cgroup_read_u64(const char *dir, const char *file, uint64_t *ret)
{
        _cleanup_free_ char *s = NULL;
        int r = cgroup_read_file(dir, file, &s);
        if (r < 0)
                return r;
        return cgroup_parse_limit(s, ret);
}

static void sleep_us(unsigned us)
{
        struct timespec ts = { .tv_sec = us / 1000000, .tv_nsec = (long) (us % 1000000) * 1000 };
        (void) nanosleep(&ts, NULL);
}

static uint64_t now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

static bool value_matches(const char *text, const char *key, const char *want)
{
        size_t wlen = strlen(want);
        if (!key)
                return strneq(text, want, wlen) && (text[wlen] == 0 || isspace((unsigned char) text[wlen]));
        size_t klen = strlen(key);
        for (const char *p = text; *p;) {
                const char *line;
                size_t len;
                p = next_line(p, &line, &len);
                if (len == klen + 1 + wlen && strneq(line, key, klen) && line[klen] == ' ' &&
                    strneq(line + klen + 1, want, wlen))
                        return true;
        }
        return false;
}

int cgroup_wait_file(const char *dir, const char *file, const char *key, const char *want, unsigned timeout_ms)
{
        uint64_t deadline = now_ms() + timeout_ms;
        unsigned delay = 100;
        for (;;) {
                _cleanup_free_ char *s = NULL;
                int r = cgroup_read_file(dir, file, &s);
                if (r < 0)
                        return r;
                if (value_matches(s, key, want))
                        return 0;
                if (now_ms() >= deadline)
                        return -ETIMEDOUT;
                sleep_us(delay);
                if (delay < 10000)
                        delay *= 2;
        }
}

/* ---- handles ---- */

Cgroup *cgroup_free(Cgroup *cg)
{
        if (!cg)
                return NULL;
        for (size_t i = 0; i < cg->n_nodes; i++)
                free(cg->nodes[i].path);
        free(cg->name);
        free(cg);
        return NULL;
}

static int warn(char ***warnings, const char *fmt, ...) _printf_(2, 3);
static int warn(char ***warnings, const char *fmt, ...)
{
        if (!warnings)
                return 0;
        va_list ap;
        va_start(ap, fmt);
        char *s;
        int n = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (n < 0)
                return -ENOMEM;
        if (strv_contains(*warnings, s)) {
                free(s);
                return 0;
        }
        return strv_consume(warnings, s);
}

static unsigned provided(const Cgroup *cg)
{
        unsigned m = 0;
        for (size_t i = 0; i < cg->n_nodes; i++)
                m |= cg->nodes[i].controllers;
        return m;
}

static const CgroupNode *node_for(const Cgroup *cg, CgroupController c)
{
        for (size_t i = 0; i < cg->n_nodes; i++)
                if (cg->nodes[i].controllers & CGROUP_MASK(c))
                        return &cg->nodes[i];
        return NULL;
}

static const CgroupNode *unified_node(const Cgroup *cg)
{
        for (size_t i = 0; i < cg->n_nodes; i++)
                if (cg->nodes[i].v2)
                        return &cg->nodes[i];
        return NULL;
}

static int check_name(const char *name, Error *err)
{
        if (!name_is_valid(name))
                return error_set(err, EINVAL, "invalid cgroup name '%s' (need 1-63 of [A-Za-z0-9_-])", name);
        return 0;
}

/* mkdir every node; on failure remove what this call created. */
static int make_dirs(const Cgroup *cg, Error *err)
{
        bool created[CGROUP_HIERARCHIES_MAX] = { false };
        for (size_t i = 0; i < cg->n_nodes; i++) {
                if (mkdir(cg->nodes[i].path, 0755) == 0) {
                        created[i] = true;
                        continue;
                }
                if (errno == EEXIST)
                        continue;
                int r = error_setc(err, errno, "creating cgroup %s", cg->nodes[i].path);
                for (size_t j = 0; j < i; j++)
                        if (created[j])
                                (void) rmdir(cg->nodes[j].path);
                return r;
        }
        return 0;
}

static int add_node(Cgroup *cg, bool v2, unsigned controllers, const char *dir, const char *name)
{
        char *path = path_join(dir, name);
        if (!path)
                return -ENOMEM;
        cg->nodes[cg->n_nodes++] = (CgroupNode) { .v2 = v2, .controllers = controllers, .path = path };
        return 0;
}

/* True when pid is the only process in the v2 group dir. */
static bool only_process_in(const char *dir, pid_t pid)
{
        _cleanup_free_ char *procs = NULL;
        if (cgroup_read_file(dir, "cgroup.procs", &procs) < 0)
                return false;
        char want[32];
        snprintf(want, sizeof want, "%d", (int) pid);
        const char *line;
        size_t len;
        const char *rest = next_line(procs, &line, &len);
        return len == strlen(want) && strneq(line, want, len) && cgroup_count_lines(rest) == 0;
}

/* v2 "no internal processes": a group that hands controllers to its
 * children holds no process itself, so we move into a leaf beside
 * Enclave's root. Only our own pid is moved, never anyone else's. */
static int move_self_into_leaf(const char *own, const char *name, Error *err)
{
        _cleanup_free_ char *leaf_name = NULL;
        if (asprintf(&leaf_name, "%s-daemon", name) < 0)
                return error_set(err, ENOMEM, "out of memory");
        _cleanup_free_ char *leaf = path_join(own, leaf_name);
        if (!leaf)
                return error_set(err, ENOMEM, "out of memory");
        if (mkdir(leaf, 0755) < 0 && errno != EEXIST)
                return error_setc(err, errno, "creating cgroup %s", leaf);
        char pid[32];
        snprintf(pid, sizeof pid, "%d", (int) getpid());
        int r = cgroup_write_file(leaf, "cgroup.procs", pid);
        if (r < 0)
                return error_setc(err, -r, "moving the daemon into %s", leaf);
        return 0;
}

/* Where Enclave's root goes in the unified tree:
 *   - our own group, when it is ours alone (a systemd service with
 *     Delegate=yes: only the daemon runs in it) and opts->move_self: we
 *     move into the leaf "<own>/<name>-daemon" and the root is
 *     "<own>/<name>", both inside the delegated subtree;
 *   - the top of the tree otherwise: we are at the top already, or we
 *     share our group with others (started from a shell, a session
 *     scope, a test), whose group we must neither reorganise nor turn
 *     into an inner node. The top may always hand out controllers.
 * Decided once per call; the daemon calls it once at startup, so a
 * restart finds the same place and nothing ever nests deeper. */
static int unified_base(const CgroupHierarchy *h, const char *name, const CgroupRootOptions *opts, char **ret,
                        Error *err)
{
        if (!streq(h->self_path, "/") && opts && opts->move_self) {
                _cleanup_free_ char *own = path_join(h->mount, h->self_path);
                if (!own)
                        return error_set(err, ENOMEM, "out of memory");
                if (only_process_in(own, getpid())) {
                        int r = move_self_into_leaf(own, name, err);
                        if (r < 0)
                                return r;
                        *ret = TAKE_PTR(own);
                        return 0;
                }
        }
        *ret = strdup(h->mount);
        return *ret ? 0 : error_set(err, ENOMEM, "out of memory");
}

static int open_unified_root(Cgroup *cg, const CgroupHierarchy *h, unsigned covered, const char *name,
                             const CgroupRootOptions *opts, Error *err)
{
        _cleanup_free_ char *base = NULL;
        int r = unified_base(h, name, opts, &base, err);
        if (r < 0)
                return r;
        /* What the base offers (the layout read it at our own group). */
        unsigned offered = h->controllers;
        _cleanup_free_ char *controllers = NULL;
        if (cgroup_read_file(base, "cgroup.controllers", &controllers) >= 0)
                offered = v2_mask_from_controllers(controllers);
        unsigned want = offered & CGROUP_LIMIT_CONTROLLERS & ~covered, enabled = 0;
        r = cgroup_v2_enable_controllers(base, want, &enabled, err);
        if (r < 0)
                return r;
        unsigned mask = (offered & CGROUP_V2_CORE & ~(covered & CGROUP_MASK(CGROUP_CPUACCT))) | enabled;
        return add_node(cg, true, mask, base, name) < 0 ? error_set(err, ENOMEM, "out of memory") : 0;
}

static void add_missing_warnings(const Cgroup *cg, char ***warnings)
{
        unsigned have = provided(cg);
        if (!(have & CGROUP_MASK(CGROUP_MEMORY)))
                (void) warn(warnings, "cgroup controller 'memory' is not available on this host: memory_mb "
                                      "cannot be enforced");
        if (!(have & CGROUP_MASK(CGROUP_PIDS)))
                (void) warn(warnings, "cgroup controller 'pids' is not available on this host: max_procs is "
                                      "enforced per user only (RLIMIT_NPROC), not per workspace");
        if (!(have & CGROUP_MASK(CGROUP_CPU)))
                (void) warn(warnings, "cgroup controller 'cpu' is not available on this host: cpu_percent "
                                      "cannot be enforced");
        if (!(have & CGROUP_MASK(CGROUP_IO)))
                (void) warn(warnings, "cgroup controller 'io' (blkio) is not available on this host: no block "
                                      "I/O statistics");
}

int cgroup_root_locate_layout(const CgroupLayout *layout, const char *name, const CgroupRootOptions *opts,
                              Cgroup **ret, Error *err)
{
        int r = check_name(name, err);
        if (r < 0)
                return r;
        _cleanup_cgroup_ Cgroup *cg = calloc(1, sizeof *cg);
        if (!cg || !(cg->name = strdup("")))
                return error_set(err, ENOMEM, "out of memory");
        bool use_v2 = layout->mode == CGROUP_MODE_V2 || !(opts && opts->no_unified);
        cg->mode = layout->mode == CGROUP_MODE_HYBRID && !use_v2 ? CGROUP_MODE_V1 : layout->mode;

        /* v1 hierarchies own their controllers; the unified tree gets
         * what they do not cover, plus freeze and kill, which it does
         * better (atomically). */
        unsigned covered = 0;
        for (size_t i = 0; i < layout->n; i++) {
                const CgroupHierarchy *h = &layout->h[i];
                if (h->v2)
                        continue;
                covered |= h->controllers;
                if (add_node(cg, false, h->controllers, h->mount, name) < 0)
                        return error_set(err, ENOMEM, "out of memory");
        }
        for (size_t i = 0; i < layout->n && use_v2; i++)
                if (layout->h[i].v2) {
                        r = open_unified_root(cg, &layout->h[i], covered, name, opts, err);
                        if (r < 0)
                                return r;
                        for (size_t j = 0; j + 1 < cg->n_nodes; j++)
                                cg->nodes[j].controllers &= ~CGROUP_MASK(CGROUP_FREEZER);
                }
        *ret = TAKE_PTR(cg);
        return 0;
}

int cgroup_root_locate(const char *name, const CgroupRootOptions *opts, Cgroup **ret, Error *err)
{
        CgroupLayout l;
        int r = cgroup_layout_detect(&l, err);
        if (r < 0)
                return error_wrap(err, "detecting cgroups");
        r = cgroup_root_locate_layout(&l, name, opts, ret, err);
        cgroup_layout_done(&l);
        return r;
}

int cgroup_root_ensure(const Cgroup *root, char ***warnings, Error *err)
{
        int r = make_dirs(root, err);
        if (r < 0)
                return error_wrap(err, "opening the Enclave cgroup root");
        const CgroupNode *u = unified_node(root);
        if (u) {
                unsigned enabled;
                r = cgroup_v2_enable_controllers(u->path, u->controllers & CGROUP_LIMIT_CONTROLLERS, &enabled, err);
                if (r < 0)
                        return r;
        }
        add_missing_warnings(root, warnings);
        return 0;
}

int cgroup_root_open_layout(const CgroupLayout *layout, const char *name, const CgroupRootOptions *opts,
                            Cgroup **ret, char ***warnings, Error *err)
{
        _cleanup_cgroup_ Cgroup *cg = NULL;
        int r = cgroup_root_locate_layout(layout, name, opts, &cg, err);
        if (r < 0)
                return r;
        r = cgroup_root_ensure(cg, warnings, err);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(cg);
        return 0;
}

int cgroup_root_open(const char *name, const CgroupRootOptions *opts, Cgroup **ret, char ***warnings, Error *err)
{
        _cleanup_cgroup_ Cgroup *cg = NULL;
        int r = cgroup_root_locate(name, opts, &cg, err);
        if (r < 0)
                return r;
        r = cgroup_root_ensure(cg, warnings, err);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(cg);
        return 0;
}

static int child_handle(const Cgroup *parent, const char *name, Cgroup **ret, Error *err)
{
        int r = check_name(name, err);
        if (r < 0)
                return r;
        _cleanup_cgroup_ Cgroup *cg = calloc(1, sizeof *cg);
        if (!cg)
                return error_set(err, ENOMEM, "out of memory");
        cg->mode = parent->mode;
        cg->name = *parent->name ? path_join(parent->name, name) : strdup(name);
        if (!cg->name)
                return error_set(err, ENOMEM, "out of memory");
        for (size_t i = 0; i < parent->n_nodes; i++)
                if (add_node(cg, parent->nodes[i].v2, parent->nodes[i].controllers, parent->nodes[i].path, name) < 0)
                        return error_set(err, ENOMEM, "out of memory");
        *ret = TAKE_PTR(cg);
        return 0;
}

int cgroup_create(const Cgroup *parent, const char *name, const Limits *limits, Cgroup **ret,
                  char ***warnings, Error *err)
{
        _cleanup_cgroup_ Cgroup *cg = NULL;
        int r = child_handle(parent, name, &cg, err);
        if (r < 0)
                return r;
        const CgroupNode *pu = unified_node(parent);
        if (pu) {
                unsigned enabled;
                r = cgroup_v2_enable_controllers(pu->path, pu->controllers & CGROUP_LIMIT_CONTROLLERS, &enabled,
                                                 err);
                if (r < 0)
                        return error_wrap(err, "creating cgroup '%s'", cg->name);
        }
        r = make_dirs(cg, err);
        if (r < 0)
                return r;
        if (limits) {
                r = cgroup_set_limits(cg, limits, warnings, err);
                if (r < 0) {
                        Error ignored = ERROR_INIT;
                        (void) cgroup_destroy(cg, &ignored);
                        error_clear(&ignored);
                        return error_wrap(err, "creating cgroup '%s'", cg->name);
                }
        }
        *ret = TAKE_PTR(cg);
        return 0;
}

int cgroup_open(const Cgroup *parent, const char *name, Cgroup **ret, Error *err)
{
        _cleanup_cgroup_ Cgroup *cg = NULL;
        int r = child_handle(parent, name, &cg, err);
        if (r < 0)
                return r;
        if (cg->n_nodes == 0 || access(cg->nodes[0].path, F_OK) < 0)
                return error_set(err, ENOENT, "cgroup '%s' does not exist", cg->name);
        *ret = TAKE_PTR(cg);
        return 0;
}

uint64_t cgroup_cpu_quota_us(const Limits *l, unsigned ncpus, uint64_t period_us)
{
        if (ncpus == 0)
                ncpus = 1;
        uint64_t q = 0;
        if (l->cpu_percent > 0)
                q = (uint64_t) l->cpu_percent * ncpus * period_us / 100;
        if (l->cpus > 0) {
                uint64_t c = (uint64_t) l->cpus * period_us / LIMIT_DECIMAL_SCALE;
                q = q == 0 || c < q ? c : q;
        }
        if (l->cpu_percent == 0 && l->cpus == 0)
                return 0;
        return q < 1000 ? 1000 : q;
}

int cgroup_set_limits(const Cgroup *cg, const Limits *l, char ***warnings, Error *err)
{
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        unsigned ncpus = n > 0 ? (unsigned) n : 1;
        unsigned have = provided(cg);

        if (l->memory_mb && !(have & CGROUP_MASK(CGROUP_MEMORY)))
                (void) warn(warnings, "memory_mb=%" PRId64 " cannot be enforced for the whole group: no memory "
                                      "cgroup controller on this host", l->memory_mb);
        if (l->max_procs && !(have & CGROUP_MASK(CGROUP_PIDS)))
                (void) warn(warnings, "max_procs=%" PRId64 " cannot be enforced for the whole group: no pids "
                                      "cgroup controller on this host", l->max_procs);
        if (cgroup_cpu_quota_us(l, ncpus, 100000) && !(have & CGROUP_MASK(CGROUP_CPU)))
                (void) warn(warnings, "the CPU limit (cpu_percent, cpus) cannot be enforced: no cpu cgroup controller "
                                      "on this host");

        for (size_t i = 0; i < cg->n_nodes; i++) {
                const CgroupNode *node = &cg->nodes[i];
                int r = node->v2 ? cgroup_v2_set_limits(node, l, ncpus, warnings, err)
                                 : cgroup_v1_set_limits(node, l, ncpus, warnings, err);
                if (r < 0)
                        return error_wrap(err, "setting limits of cgroup '%s'", cg->name);
        }
        return 0;
}

static uint64_t read_sysctl_u64(const char *path)
{
        _cleanup_free_ char *s = NULL;
        uint64_t v = 0;
        if (read_full_file(path, 64, &s, NULL) < 0 || cgroup_parse_limit(s, &v) < 0 || v == CGROUP_UNLIMITED)
                return 0;
        return v;
}

uint64_t cgroup_procs_total_default(uint64_t *ret_host)
{
        uint64_t pid_max = read_sysctl_u64("/proc/sys/kernel/pid_max");
        uint64_t threads_max = read_sysctl_u64("/proc/sys/kernel/threads-max");
        uint64_t host = pid_max && threads_max ? (pid_max < threads_max ? pid_max : threads_max) : pid_max ? pid_max : threads_max;
        if (!host)
                host = 32768; /* the kernel's default pid_max */
        if (ret_host)
                *ret_host = host;
        return host / 4 * 3;
}

int cgroup_set_pids_max(const Cgroup *cg, uint64_t max, Error *err)
{
        char value[32] = "max";
        if (max)
                snprintf(value, sizeof value, "%" PRIu64, max);
        int applied = 0;
        for (size_t i = 0; i < cg->n_nodes; i++) {
                if (!(cg->nodes[i].controllers & CGROUP_MASK(CGROUP_PIDS)))
                        continue;
                int r = cgroup_write_file(cg->nodes[i].path, "pids.max", value);
                if (r < 0)
                        return error_setc(err, -r, "writing pids.max=%s of %s", value, cg->nodes[i].path);
                applied = 1;
        }
        return applied;
}

int cgroup_attach(const Cgroup *cg, pid_t pid, Error *err)
{
        char buf[32];
        snprintf(buf, sizeof buf, "%d", (int) pid);
        for (size_t i = 0; i < cg->n_nodes; i++) {
                int r = cgroup_write_file(cg->nodes[i].path, "cgroup.procs", buf);
                if (r < 0)
                        return error_setc(err, -r, "moving process %d into cgroup %s", (int) pid, cg->nodes[i].path);
        }
        return 0;
}

int cgroup_open_unified_fd(const Cgroup *cg)
{
        const CgroupNode *u = unified_node(cg);
        if (!u)
                return -ENOENT;
        int fd = open(u->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

int cgroup_open_procs_fds(const Cgroup *cg, int *fds, size_t n_fds)
{
        size_t n = 0;
        for (size_t i = 0; i < cg->n_nodes && n < n_fds; i++) {
                char path[PATH_MAX];
                int r = build_path(path, sizeof path, cg->nodes[i].path, "cgroup.procs");
                int fd = r < 0 ? r : open(path, O_WRONLY | O_CLOEXEC);
                if (fd < 0) {
                        r = r < 0 ? r : -errno;
                        while (n > 0) {
                                n--;
                                fds[n] = safe_close(fds[n]);
                        }
                        return r;
                }
                fds[n++] = fd;
        }
        return (int) n;
}

int cgroup_open_join_fds(const Cgroup *cg, bool skip_unified, int *fds, const char **paths, size_t n_fds)
{
        size_t n = 0;
        for (size_t i = 0; i < cg->n_nodes && n < n_fds; i++) {
                const CgroupNode *node = &cg->nodes[i];
                if (node->v2 && skip_unified)
                        continue;
                /* v1 "tasks" moves only the writing thread, which the
                 * kernel does without taking its global threadgroup lock
                 * for writing (that costs an RCU grace period, ~10 ms,
                 * per move after a quiet moment). v2 has no such file
                 * for domain groups. */
                char path[PATH_MAX];
                int r = build_path(path, sizeof path, node->path, node->v2 ? "cgroup.procs" : "tasks");
                int fd = r < 0 ? r : open(path, O_WRONLY | O_CLOEXEC);
                if (fd < 0) {
                        r = r < 0 ? r : -errno;
                        while (n > 0) {
                                n--;
                                fds[n] = safe_close(fds[n]);
                        }
                        return r;
                }
                if (paths)
                        paths[n] = node->path;
                fds[n++] = fd;
        }
        return (int) n;
}

void cgroup_entry_done(CgroupEntry *e)
{
        e->dir_fd = safe_close(e->dir_fd);
        for (size_t i = 0; i < e->n; i++)
                safe_close(e->fds[i]);
        e->n = 0;
}

int cgroup_entry_open(const Cgroup *cg, bool into, CgroupEntry *e, Error *err)
{
        cgroup_entry_done(e);
        if (!cg)
                return 0;
        if (into) {
                int fd = cgroup_open_unified_fd(cg);
                if (fd < 0 && fd != -ENOENT)
                        return error_setc(err, -fd, "opening the unified cgroup of %s", cg->name);
                e->dir_fd = fd;
        }
        int n = cgroup_open_join_fds(cg, e->dir_fd >= 0, e->fds, e->paths, ELEMENTSOF(e->fds));
        if (n < 0) {
                cgroup_entry_done(e);
                return error_setc(err, -n, "opening the cgroup files of %s", cg->name);
        }
        e->n = (size_t) n;
        return 0;
}

bool cgroup_needs_attach(const Cgroup *cg)
{
        for (size_t i = 0; i < cg->n_nodes; i++)
                if (!cg->nodes[i].v2)
                        return true;
        return false;
}

static int set_frozen(const Cgroup *cg, bool freeze, Error *err)
{
        const CgroupNode *n = node_for(cg, CGROUP_FREEZER);
        if (!n)
                return error_set(err, EOPNOTSUPP, "cannot %s cgroup '%s': no freezer on this host",
                                 freeze ? "freeze" : "thaw", cg->name);
        int r = n->v2 ? cgroup_v2_freeze(n, freeze, err) : cgroup_v1_freeze(n, freeze, err);
        if (r < 0)
                return error_wrap(err, "%s cgroup '%s'", freeze ? "freezing" : "thawing", cg->name);
        return 0;
}

int cgroup_freeze(const Cgroup *cg, Error *err)
{
        return set_frozen(cg, true, err);
}

int cgroup_thaw(const Cgroup *cg, Error *err)
{
        return set_frozen(cg, false, err);
}

/* SIGKILL every process in dir and below; *found counts them. */
static int kill_tree(const char *dir, uint64_t *found)
{
        _cleanup_free_ char *procs = NULL;
        int r = cgroup_read_file(dir, "cgroup.procs", &procs);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        for (const char *p = procs; *p;) {
                const char *line;
                size_t len;
                uint64_t pid;
                p = next_line(p, &line, &len);
                if (len == 0 || parse_u64_prefix(line, NULL, &pid) < 0 || pid == 0 || pid > INT_MAX)
                        continue;
                (*found)++;
                if (kill((pid_t) pid, SIGKILL) < 0 && errno != ESRCH)
                        return -errno;
        }
        _cleanup_closedir_ DIR *d = opendir(dir);
        if (!d)
                return errno == ENOENT ? 0 : -errno;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (de->d_type != DT_DIR || streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                _cleanup_free_ char *sub = path_join(dir, de->d_name);
                if (!sub)
                        return -ENOMEM;
                r = kill_tree(sub, found);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The v1 way (and a final sweep everywhere): freeze so nothing forks
 * while we look, signal every pid, thaw so the signals are delivered,
 * and repeat until no process is left. */
static int kill_by_signal(const Cgroup *cg, Error *err)
{
        uint64_t deadline = now_ms() + CGROUP_KILL_TIMEOUT_MS;
        bool can_freeze = node_for(cg, CGROUP_FREEZER) != NULL;
        for (unsigned delay = 100;; delay = delay < 10000 ? delay * 2 : delay) {
                uint64_t found = 0;
                Error ignored = ERROR_INIT;
                if (can_freeze)
                        (void) cgroup_freeze(cg, &ignored);
                int r = 0;
                for (size_t i = 0; i < cg->n_nodes && r == 0; i++)
                        r = kill_tree(cg->nodes[i].path, &found);
                if (can_freeze)
                        (void) cgroup_thaw(cg, &ignored);
                error_clear(&ignored);
                if (r < 0)
                        return error_setc(err, -r, "killing the processes of cgroup '%s'", cg->name);
                if (found == 0)
                        return 0;
                if (now_ms() >= deadline)
                        return error_set(err, ETIMEDOUT, "processes of cgroup '%s' survived SIGKILL", cg->name);
                sleep_us(delay);
        }
}

int cgroup_kill(const Cgroup *cg, Error *err)
{
        const CgroupNode *u = unified_node(cg);
        if (u) {
                int r = cgroup_v2_kill(u, err);
                if (r < 0)
                        return error_wrap(err, "killing cgroup '%s'", cg->name);
                if (r > 0) {
                        r = cgroup_wait_file(u->path, "cgroup.events", "populated", "0", CGROUP_KILL_TIMEOUT_MS);
                        if (r < 0 && r != -ENOENT)
                                return error_setc(err, -r, "waiting for cgroup '%s' to empty", cg->name);
                }
        }
        return kill_by_signal(cg, err);
}

int cgroup_count_procs(const Cgroup *cg, uint64_t *ret)
{
        if (cg->n_nodes == 0)
                return -ENOENT;
        _cleanup_free_ char *procs = NULL;
        int r = cgroup_read_file(cg->nodes[0].path, "cgroup.procs", &procs);
        if (r < 0)
                return r;
        *ret = cgroup_count_lines(procs);
        return 0;
}

static int rmdir_tree(const char *dir)
{
        _cleanup_closedir_ DIR *d = opendir(dir);
        if (!d)
                return errno == ENOENT ? 0 : -errno;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (de->d_type != DT_DIR || streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                _cleanup_free_ char *sub = path_join(dir, de->d_name);
                if (!sub)
                        return -ENOMEM;
                int r = rmdir_tree(sub);
                if (r < 0)
                        return r;
        }
        if (rmdir(dir) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}

int cgroup_destroy(const Cgroup *cg, Error *err)
{
        int first = 0;
        for (size_t i = 0; i < cg->n_nodes; i++) {
                int r = rmdir_tree(cg->nodes[i].path);
                if (r < 0 && first == 0)
                        first = error_setc(err, -r, "removing cgroup %s%s", cg->nodes[i].path,
                                           r == -EBUSY ? " (processes are still in it)" : "");
        }
        return first;
}

int cgroup_read_stats(const Cgroup *cg, CgroupStats *ret, Error *err)
{
        CgroupStats st = { .memory_limit = CGROUP_UNLIMITED, .pids_limit = CGROUP_UNLIMITED };
        if (cg->n_nodes == 0)
                return error_set(err, ENOENT, "cgroup '%s' has no directories", cg->name);
        for (size_t i = 0; i < cg->n_nodes; i++) {
                const CgroupNode *n = &cg->nodes[i];
                int r = n->v2 ? cgroup_v2_read_stats(n, &st) : cgroup_v1_read_stats(n, &st);
                if (r < 0)
                        return error_setc(err, -r, "reading statistics of cgroup %s", n->path);
        }
        const CgroupNode *n0 = &cg->nodes[0];
        _cleanup_free_ char *procs = NULL, *threads = NULL;
        int r = cgroup_read_file(n0->path, "cgroup.procs", &procs);
        if (r < 0)
                return error_setc(err, -r, "reading %s/cgroup.procs", n0->path);
        r = cgroup_read_file(n0->path, n0->v2 ? "cgroup.threads" : "tasks", &threads);
        if (r < 0)
                return error_setc(err, -r, "reading the threads of %s", n0->path);
        st.procs = cgroup_count_lines(procs);
        st.threads = cgroup_count_lines(threads);
        *ret = st;
        return 0;
}
