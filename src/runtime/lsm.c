/* AppArmor and SELinux exec labels: resolution on the trusted side,
 * a single write(2) in the workspace child. */
#include "runtime/lsm.h"
#include "base/fs.h"
#include "base/process.h"
#include "base/str.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

void lsm_exec_done(LsmExec *l)
{
        free(l->attr_path);
        free(l->value);
        *l = (LsmExec) LSM_EXEC_INIT;
}

static bool is_set(const char *s)
{
        return s && *s;
}

static char *at_root(const char *sysroot, const char *path)
{
        return sysroot ? path_join(sysroot, path) : strdup(path);
}

static bool file_exists_at(const char *sysroot, const char *path)
{
        _cleanup_free_ char *p = at_root(sysroot, path);
        return p && access(p, F_OK) == 0;
}

/* True when `profile` is a line "profile (mode)" of the profiles list. */
static bool profile_listed(const char *list, const char *profile)
{
        size_t n = strlen(profile);
        for (const char *line = list; line && *line;) {
                const char *end = strchr(line, '\n');
                size_t len = end ? (size_t) (end - line) : strlen(line);
                if (len > n + 1 && strneq(line, profile, n) && line[n] == ' ' && line[n + 1] == '(')
                        return true;
                line = end ? end + 1 : NULL;
        }
        return false;
}

static bool apparmor_enabled_at(const char *sysroot)
{
        _cleanup_free_ char *path = at_root(sysroot, "/sys/module/apparmor/parameters/enabled");
        _cleanup_free_ char *enabled = NULL;
        return path && read_full_file(path, 64, &enabled, NULL) >= 0 && enabled[0] == 'Y';
}

bool lsm_apparmor_enabled(void)
{
        return apparmor_enabled_at(NULL);
}

bool lsm_apparmor_profile_loaded(const char *profile)
{
        _cleanup_free_ char *profiles = NULL;
        return read_full_file("/sys/kernel/security/apparmor/profiles", 16 << 20, &profiles, NULL) >= 0 &&
               profile_listed(profiles, profile);
}

int lsm_apparmor_load(const char *file, const char *profile, Error *err)
{
        char parser[PATH_MAX];
        if (process_find_tool("apparmor_parser", parser) < 0)
                return error_set(err, ENOENT, "apparmor_parser is not installed (Debian: apt install apparmor), so "
                                 "the AppArmor profile %s cannot be loaded", file);
        _cleanup_free_ char *output = NULL;
        char *const argv[] = { (char *) "apparmor_parser", (char *) "--replace", (char *) file, NULL };
        int r = process_run_capture(parser, argv, NULL, 1 << 16, &output);
        if (r < 0)
                return error_setc(err, -r, "running %s", parser);
        if (r != 0) {
                size_t n = output ? strlen(output) : 0;
                while (n > 0 && (output[n - 1] == '\n' || output[n - 1] == ' '))
                        output[--n] = 0;
                return error_set(err, EIO, "apparmor_parser --replace %s failed (status %d): %s", file, r,
                                 n ? output : "no output");
        }
        if (!lsm_apparmor_profile_loaded(profile))
                return error_set(err, ENOENT, "%s loaded, but the kernel lists no profile '%s' (is it the right file?)",
                                 file, profile);
        return 0;
}

int lsm_apparmor_default(const char *const *files, bool *ret_loaded, Error *err)
{
        *ret_loaded = false;
        if (!lsm_apparmor_enabled())
                return 0;
        if (lsm_apparmor_profile_loaded(LSM_APPARMOR_DEFAULT_PROFILE))
                return 1;
        for (const char *const *f = files; *f; f++) {
                if (access(*f, R_OK) < 0)
                        continue;
                int r = lsm_apparmor_load(*f, LSM_APPARMOR_DEFAULT_PROFILE, err);
                if (r < 0)
                        return r;
                *ret_loaded = true;
                return 1;
        }
        return error_set(err, ENOENT, "no profile file to load it from (make install puts one in /etc/apparmor.d)");
}

static int resolve_apparmor(const char *sysroot, const char *profile, LsmExec *ret, Error *err)
{
        if (!apparmor_enabled_at(sysroot))
                return error_set(err, EOPNOTSUPP,
                                 "AppArmor profile '%s' is configured, but AppArmor is not enabled on this host "
                                 "(remove workspace_apparmor_profile or enable AppArmor)", profile);

        _cleanup_free_ char *profiles_path = at_root(sysroot, "/sys/kernel/security/apparmor/profiles");
        _cleanup_free_ char *profiles = NULL;
        if (!profiles_path)
                return -ENOMEM;
        int r = read_full_file(profiles_path, 16 << 20, &profiles, NULL);
        if (r < 0)
                return error_setc(err, -r,
                                  "AppArmor profile '%s' cannot be checked: reading %s (is securityfs mounted?)",
                                  profile, profiles_path);
        if (!profile_listed(profiles, profile))
                return error_set(err, ENOENT,
                                 "AppArmor profile '%s' is not loaded on this host (load it with apparmor_parser, "
                                 "or change workspace_apparmor_profile)", profile);

        /* Linux 5.1+ has a per-LSM directory that works with stacking. */
        bool per_lsm = file_exists_at(sysroot, "/proc/self/attr/apparmor/exec");
        ret->kind = LSM_APPARMOR;
        ret->attr_path = strdup(per_lsm ? "/proc/thread-self/attr/apparmor/exec" : "/proc/thread-self/attr/exec");
        if (asprintf(&ret->value, "exec %s", profile) < 0)
                ret->value = NULL;
        return 0;
}

static int resolve_selinux(const char *sysroot, const char *label, LsmExec *ret, Error *err)
{
        if (!file_exists_at(sysroot, "/sys/fs/selinux/enforce"))
                return error_set(err, EOPNOTSUPP,
                                 "SELinux label '%s' is configured, but SELinux is not enabled on this host "
                                 "(remove workspace_selinux_label or enable SELinux)", label);

        /* The kernel validates a context written to selinuxfs "context". */
        _cleanup_free_ char *ctx_path = at_root(sysroot, "/sys/fs/selinux/context");
        if (!ctx_path)
                return -ENOMEM;
        _cleanup_close_ int fd = open(ctx_path, O_RDWR | O_CLOEXEC);
        if (fd < 0)
                return error_setc(err, errno, "SELinux label '%s' cannot be checked: opening %s", label, ctx_path);
        if (write(fd, label, strlen(label)) < 0) {
                if (errno == EINVAL)
                        return error_set(err, EINVAL,
                                         "SELinux label '%s' is not a valid context in this host's policy "
                                         "(change workspace_selinux_label)", label);
                return error_setc(err, errno, "SELinux label '%s' cannot be checked", label);
        }

        ret->kind = LSM_SELINUX;
        ret->attr_path = strdup("/proc/thread-self/attr/exec");
        ret->value = strdup(label);
        return 0;
}

int lsm_exec_resolve_at(const char *sysroot, const char *apparmor_profile, const char *selinux_label,
                        LsmExec *ret, Error *err)
{
        LsmExec l = LSM_EXEC_INIT;
        int r = 0;

        if (is_set(apparmor_profile) && is_set(selinux_label))
                return error_set(err, EINVAL,
                                 "both an AppArmor profile and an SELinux label are configured; a host runs one "
                                 "of them, configure only that one");
        if (is_set(apparmor_profile))
                r = resolve_apparmor(sysroot, apparmor_profile, &l, err);
        else if (is_set(selinux_label))
                r = resolve_selinux(sysroot, selinux_label, &l, err);
        if (r < 0) {
                lsm_exec_done(&l);
                return r;
        }
        if (l.kind != LSM_NONE && (!l.attr_path || !l.value)) {
                lsm_exec_done(&l);
                return error_set(err, ENOMEM, "resolving the LSM label: out of memory");
        }
        l.value_len = l.value ? strlen(l.value) : 0;
        *ret = l;
        return 0;
}

int lsm_exec_resolve(const char *apparmor_profile, const char *selinux_label, LsmExec *ret, Error *err)
{
        return lsm_exec_resolve_at(NULL, apparmor_profile, selinux_label, ret, err);
}

int lsm_exec_apply(const LsmExec *l)
{
        if (l->kind == LSM_NONE)
                return 0;
        int fd = open(l->attr_path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        ssize_t n = write(fd, l->value, l->value_len);
        int r = n < 0 ? -errno : (size_t) n != l->value_len ? -EIO : 0;
        (void) close(fd);
        return r;
}
