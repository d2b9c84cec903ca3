/* Hiding kernel-information paths and making kernel interfaces
 * read-only inside the workspace. Runs in the workspace child after
 * pivot_root: static tables, stack buffers, system calls only. */
#include "runtime/masks.h"
#include "base/macro.h"
#include "base/syscalls.h"

#include <errno.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>

static const MaskEntry mask_table[] = {
        /* Kernel addresses, memory and module lists: KASLR breaks and
         * exploit aids. */
        { "/proc/kallsyms", MASK_HIDE },
        { "/proc/kcore", MASK_HIDE },
        { "/proc/modules", MASK_HIDE },
        /* Keyrings of the whole host user. */
        { "/proc/keys", MASK_HIDE },
        { "/proc/key-users", MASK_HIDE },
        /* The kernel's build: its configuration, its type layout (BTF),
         * the addresses a crash dump needs (vmcoreinfo: a KASLR leak),
         * its ELF notes. Exploit recipes start here. */
        { "/proc/config.gz", MASK_HIDE },
        { "/sys/kernel/vmcoreinfo", MASK_HIDE },
        { "/sys/kernel/btf", MASK_HIDE },
        { "/sys/kernel/notes", MASK_HIDE },
        /* Fill levels of every kernel slab cache: heap grooming aid. */
        { "/sys/kernel/slab", MASK_HIDE },
        /* Kernel logs of earlier boots kept by pstore. */
        { "/sys/fs/pstore", MASK_HIDE },
        /* Timer and scheduler internals of every task on the host. */
        { "/proc/timer_list", MASK_HIDE },
        { "/proc/timer_stats", MASK_HIDE },
        { "/proc/sched_debug", MASK_HIDE },
        { "/proc/latency_stats", MASK_HIDE },
        /* Hardware interfaces. */
        { "/proc/acpi", MASK_HIDE },
        { "/proc/asound", MASK_HIDE },
        { "/proc/scsi", MASK_HIDE },
        { "/sys/firmware", MASK_HIDE },
        /* RAPL energy counters: a power side channel (CVE-2020-8694). */
        { "/sys/devices/virtual/powercap", MASK_HIDE },
        { "/sys/module", MASK_HIDE },
        { "/sys/kernel/debug", MASK_HIDE },
        { "/sys/kernel/tracing", MASK_HIDE },
        { "/sys/kernel/security", MASK_HIDE },
        { "/sys/fs/bpf", MASK_HIDE },
        /* Kernel tunables and triggers: readable, never writable. */
        { "/proc/sys", MASK_READONLY },
        { "/proc/sysrq-trigger", MASK_READONLY },
        { "/proc/irq", MASK_READONLY },
        { "/proc/bus", MASK_READONLY },
        { "/proc/fs", MASK_READONLY },
        { "/sys", MASK_READONLY },
};

/* A directory gets an empty read-only tmpfs; the first one made is
 * bound over the others (a bind costs a quarter of a new tmpfs, and
 * every start pays for these). */
static int hide(const char *path, const struct stat *st, const char **empty_dir)
{
        if (S_ISDIR(st->st_mode)) {
                if (*empty_dir && mount(*empty_dir, path, NULL, MS_BIND, NULL) == 0)
                        return 0;
                if (mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                          "size=0,nr_inodes=1,mode=0555") < 0)
                        return -errno;
                if (!*empty_dir)
                        *empty_dir = path;
                return 0;
        }
        if (mount("/dev/null", path, NULL, MS_BIND, NULL) < 0)
                return -errno;
        return 0;
}

/* Mount flags a bind remount must repeat, or it would clear them. */
static unsigned long kept_flags(const char *path)
{
        struct statfs sfs;
        unsigned long f = 0;

        if (statfs(path, &sfs) < 0)
                return 0;
        if (sfs.f_flags & ST_NOSUID)
                f |= MS_NOSUID;
        if (sfs.f_flags & ST_NODEV)
                f |= MS_NODEV;
        if (sfs.f_flags & ST_NOEXEC)
                f |= MS_NOEXEC;
        if (sfs.f_flags & ST_NOATIME)
                f |= MS_NOATIME;
        if (sfs.f_flags & ST_NODIRATIME)
                f |= MS_NODIRATIME;
        if (sfs.f_flags & ST_RELATIME)
                f |= MS_RELATIME;
        return f;
}

static int make_readonly(const char *path)
{
        /* Bind the path onto itself so it is the root of a mount we can
         * change, then set read-only on it and on every mount below it
         * (mount_setattr, Linux 5.12). Older kernels: remount the top. */
        if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0)
                return -errno;

        struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };
        if (mount_setattr(AT_FDCWD, path, AT_RECURSIVE, &attr, sizeof attr) == 0)
                return 0;
        if (errno != ENOSYS)
                return -errno;

        if (mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | kept_flags(path), NULL) < 0)
                return -errno;
        return 0;
}

int masks_apply(const char **ret_path)
{
        const char *empty_dir = NULL;
        for (size_t i = 0; i < ELEMENTSOF(mask_table); i++) {
                const MaskEntry *m = &mask_table[i];
                struct stat st;
                int r;

                if (lstat(m->path, &st) < 0) {
                        if (errno == ENOENT || errno == ENOTDIR)
                                continue;
                        r = -errno;
                } else if (S_ISLNK(st.st_mode))
                        /* Never mount through a symlink: it could point anywhere. */
                        continue;
                else
                        r = m->kind == MASK_HIDE ? hide(m->path, &st, &empty_dir) : make_readonly(m->path);
                if (r < 0) {
                        if (ret_path)
                                *ret_path = m->path;
                        return r;
                }
        }
        return 0;
}
