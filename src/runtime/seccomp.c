/* The workspace seccomp deny list: built with libseccomp on the trusted
 * side, exported as raw BPF, cached on disk, loaded by the child.
 * docs/hardening.md explains every entry. */
#include "runtime/seccomp.h"
#include "base/fs.h"
#include "base/str.h"
#include "base/sha256.h"
#include "base/syscalls.h"

#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

/* Bump when the rules built below (not the table) change shape. */
#define SECCOMP_POLICY_VERSION "enclave-seccomp-3"

static const SeccompDenial denials[] = {
        /* Loading code into the kernel. */
        { "init_module", EPERM, "kernel modules" },
        { "finit_module", EPERM, "kernel modules" },
        { "delete_module", EPERM, "kernel modules" },
        { "create_module", EPERM, "kernel modules (obsolete)" },
        { "get_kernel_syms", EPERM, "kernel modules (obsolete)" },
        { "query_module", EPERM, "kernel modules (obsolete)" },
        { "kexec_load", EPERM, "replacing the running kernel" },
        { "kexec_file_load", EPERM, "replacing the running kernel" },
        { "bpf", EPERM, "eBPF programs and maps: large kernel attack surface" },
        { "perf_event_open", EPERM, "performance counters: kernel attack surface and side channels" },
        /* Kernel keyrings are not namespaced. */
        { "keyctl", EPERM, "kernel keyrings are shared with the host user" },
        { "add_key", EPERM, "kernel keyrings are shared with the host user" },
        { "request_key", EPERM, "kernel keyrings are shared with the host user" },
        /* Exploit building blocks with little legitimate use here. */
        { "userfaultfd", EPERM, "stalls kernel page faults: a classic race-widening exploit aid" },
        { "io_uring_setup", EPERM, "io_uring: large, often-exploited kernel surface" },
        { "io_uring_enter", EPERM, "io_uring: large, often-exploited kernel surface" },
        { "io_uring_register", EPERM, "io_uring: large, often-exploited kernel surface" },
        { "open_by_handle_at", EPERM, "opens files by handle, bypassing the mount tree (shocker)" },
        { "name_to_handle_at", EPERM, "companion of open_by_handle_at" },
        { "lookup_dcookie", EPERM, "kernel profiling interface" },
        { "uselib", EPERM, "obsolete a.out loader" },
        /* Machine-wide state. */
        { "reboot", EPERM, "machine-wide" },
        { "swapon", EPERM, "machine-wide" },
        { "swapoff", EPERM, "machine-wide" },
        { "settimeofday", EPERM, "the clock is machine-wide" },
        { "clock_settime", EPERM, "the clock is machine-wide" },
        { "clock_adjtime", EPERM, "the clock is machine-wide" },
        { "adjtimex", EPERM, "the clock is machine-wide" },
        { "acct", EPERM, "process accounting is machine-wide" },
        { "quotactl", EPERM, "disk quotas are managed by Enclave" },
        { "quotactl_fd", EPERM, "disk quotas are managed by Enclave" },
        { "nfsservctl", EPERM, "kernel NFS server" },
        { "syslog", EPERM, "the kernel log leaks host information" },
        { "iopl", EPERM, "raw I/O port access" },
        { "ioperm", EPERM, "raw I/O port access" },
        { "vm86", EPERM, "virtual 8086 mode" },
        { "vm86old", EPERM, "virtual 8086 mode" },
        /* The mount tree is final before the filter is loaded. */
        { "mount", EPERM, "mounts are set up before the filter; none afterwards" },
        { "umount2", EPERM, "mounts are set up before the filter; none afterwards" },
        { "umount", EPERM, "mounts are set up before the filter; none afterwards" },
        { "pivot_root", EPERM, "mounts are set up before the filter; none afterwards" },
        { "fsopen", EPERM, "new mount API" },
        { "fsconfig", EPERM, "new mount API" },
        { "fsmount", EPERM, "new mount API" },
        { "fspick", EPERM, "new mount API" },
        { "open_tree", EPERM, "new mount API" },
        { "move_mount", EPERM, "new mount API" },
        { "mount_setattr", EPERM, "new mount API" },
        /* Namespaces: no way into other namespaces, no new user namespace. */
        { "setns", EPERM, "joining other namespaces" },
        { "clone3", ENOSYS, "flags are in memory, so they cannot be filtered: ENOSYS makes libc use clone" },
};

/* Calls newer than the libseccomp this is built with, by number. */
typedef struct RawDenial {
        const char *name;
        int nr;
} RawDenial;

static const RawDenial raw_denials[] = {
#if defined(__x86_64__) || defined(__aarch64__) || defined(__riscv)
        { "open_tree_attr", 467 }, /* new mount API, Linux 6.15; same number on every arch */
#endif
};

/* Namespace flags that clone(2)/unshare(2) may not carry. Creating a
 * user namespace would hand the caller a full capability set in it;
 * the others already need CAP_SYS_ADMIN, which workspaces lack, and are
 * denied so the answer does not depend on that. CLONE_NEWTIME shares
 * its bit with the exit signal in clone(2), so it is checked for
 * unshare(2) only. */
static const uint64_t ns_flags[] = {
        CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWCGROUP,
};
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

/* personality(2) values that stay allowed: PER_LINUX, PER_LINUX32 and
 * the 0xffffffff query. */
#define PERSONA_LINUX32_BIT 3

const SeccompDenial *seccomp_policy_denials(size_t *ret_n)
{
        *ret_n = ELEMENTSOF(denials);
        return denials;
}

void seccomp_policy_fingerprint(char out[static 65])
{
        const struct scmp_version *v = seccomp_version();
        char buf[128];
        Sha256 s;
        uint8_t d[SHA256_DIGEST_SIZE];

        sha256_init(&s);
        sha256_update(&s, SECCOMP_POLICY_VERSION, strlen(SECCOMP_POLICY_VERSION));
        for (size_t i = 0; i < ELEMENTSOF(denials); i++) {
                int n = snprintf(buf, sizeof buf, "%s=%d;", denials[i].name, denials[i].error);
                sha256_update(&s, buf, (size_t) n);
        }
        for (size_t i = 0; i < ELEMENTSOF(raw_denials); i++) {
                int n = snprintf(buf, sizeof buf, "%s#%d;", raw_denials[i].name, raw_denials[i].nr);
                sha256_update(&s, buf, (size_t) n);
        }
        int n = snprintf(buf, sizeof buf, "libseccomp=%u.%u.%u;arch=%u", v ? v->major : 0, v ? v->minor : 0,
                         v ? v->micro : 0, seccomp_arch_native());
        sha256_update(&s, buf, (size_t) n);
        sha256_final(&s, d);
        digest_to_hex(d, sizeof d, out);
}

static void ctx_releasep(scmp_filter_ctx *c)
{
        if (*c)
                seccomp_release(*c);
}

static int add_denials(scmp_filter_ctx ctx, Error *err)
{
        for (size_t i = 0; i < ELEMENTSOF(denials); i++) {
                int nr = seccomp_syscall_resolve_name(denials[i].name);
                /* Unknown here, or a call this architecture does not
                 * have (libseccomp's pseudo numbers are negative). */
                if (nr < 0)
                        continue;
                int r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO((uint32_t) denials[i].error), nr, 0);
                if (r < 0)
                        return error_setc(err, -r, "seccomp: adding rule for %s", denials[i].name);
        }
        for (size_t i = 0; i < ELEMENTSOF(raw_denials); i++) {
                int r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), raw_denials[i].nr, 0);
                if (r < 0)
                        return error_setc(err, -r, "seccomp: adding rule for %s", raw_denials[i].name);
        }
        return 0;
}

static int add_flag_rule(scmp_filter_ctx ctx, int nr, unsigned arg, uint64_t flag)
{
        struct scmp_arg_cmp cmp = { .arg = arg, .op = SCMP_CMP_MASKED_EQ, .datum_a = flag, .datum_b = flag };
        return seccomp_rule_add_array(ctx, SCMP_ACT_ERRNO(EPERM), nr, 1, &cmp);
}

static int add_namespace_rules(scmp_filter_ctx ctx, Error *err)
{
        /* s390 swaps the first two clone(2) arguments. */
#if defined(__s390__) || defined(__s390x__)
        const unsigned clone_flags_arg = 1;
#else
        const unsigned clone_flags_arg = 0;
#endif
        int r = 0;
        for (size_t i = 0; i < ELEMENTSOF(ns_flags) && r == 0; i++) {
                r = add_flag_rule(ctx, SCMP_SYS(clone), clone_flags_arg, ns_flags[i]);
                if (r == 0)
                        r = add_flag_rule(ctx, SCMP_SYS(unshare), 0, ns_flags[i]);
        }
        if (r == 0)
                r = add_flag_rule(ctx, SCMP_SYS(unshare), 0, CLONE_NEWTIME);
        if (r < 0)
                return error_setc(err, -r, "seccomp: adding namespace flag rules");
        return 0;
}

static int add_bit_rule(scmp_filter_ctx ctx, unsigned set_bit, unsigned clear_bit)
{
        uint64_t set = UINT64_C(1) << set_bit, clear = UINT64_C(1) << clear_bit;
        struct scmp_arg_cmp cmp = { .arg = 0, .op = SCMP_CMP_MASKED_EQ, .datum_a = set | clear, .datum_b = set };
        return seccomp_rule_add_array(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(personality), 1, &cmp);
}

/* libseccomp allows one comparison per argument and rule, and rules are
 * OR-ed, so "arg0 not in {0, 8, 0xffffffff}" is written as a union of
 * single masked comparisons. Take the 32 bits of arg0 as a ring: any
 * value other than all-zeros and all-ones has a set bit followed by a
 * clear one (a 1->0 edge) and a clear bit followed by a set one (0->1).
 * Deny every 1->0 edge except the one after bit 3, and every 0->1 edge
 * except the one into bit 3: the only value left with edges is 8 (bit 3
 * alone). Values above 32 bits are denied outright. 63 rules, looked
 * at only when the call is personality(2). */
static int add_personality_rules(scmp_filter_ctx ctx, Error *err)
{
        struct scmp_arg_cmp high = { .arg = 0, .op = SCMP_CMP_GT, .datum_a = UINT32_MAX };
        int r = seccomp_rule_add_array(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(personality), 1, &high);
        for (unsigned b = 0; b < 32 && r == 0; b++) {
                unsigned next = (b + 1) % 32;
                if (b != PERSONA_LINUX32_BIT)
                        r = add_bit_rule(ctx, b, next);
                if (r == 0 && next != PERSONA_LINUX32_BIT)
                        r = add_bit_rule(ctx, next, b);
        }
        if (r < 0)
                return error_setc(err, -r, "seccomp: adding personality rules");
        return 0;
}

static int export_bpf(scmp_filter_ctx ctx, SeccompFilter *ret, Error *err)
{
        _cleanup_close_ int fd = memfd_create("enclave-seccomp", MFD_CLOEXEC);
        if (fd < 0)
                return error_setc(err, errno, "seccomp: creating memfd");
        int r = seccomp_export_bpf(ctx, fd);
        if (r < 0)
                return error_setc(err, -r, "seccomp: exporting BPF");
        if (lseek(fd, 0, SEEK_SET) < 0)
                return error_setc(err, errno, "seccomp: rewinding memfd");
        _cleanup_free_ char *data = NULL;
        size_t len;
        r = read_full_fd(fd, 1 << 20, &data, &len);
        if (r < 0)
                return error_setc(err, -r, "seccomp: reading exported BPF");
        if (len == 0 || len % sizeof(struct sock_filter) != 0 || len / sizeof(struct sock_filter) > BPF_MAXINSNS)
                return error_set(err, EINVAL, "seccomp: exported BPF has an invalid size (%zu bytes)", len);
        ret->insns = (struct sock_filter *) TAKE_PTR(data);
        ret->n_insns = len / sizeof(struct sock_filter);
        ret->from_cache = false;
        return 0;
}

int seccomp_filter_build(SeccompFilter *ret, Error *err)
{
        _cleanup_(ctx_releasep) scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
        if (!ctx)
                return error_set(err, ENOMEM, "seccomp: initialising libseccomp");

        /* Foreign architectures (i386 via int 0x80, and x32 on x86-64)
         * reach different system call tables; the filter only knows the
         * native one, so every other entry point fails with EPERM. */
        int r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ERRNO(EPERM));
        if (r < 0)
                return error_setc(err, -r, "seccomp: setting the foreign-architecture action");
        /* We set no_new_privs ourselves, before loading. */
        r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
        if (r < 0)
                return error_setc(err, -r, "seccomp: configuring no_new_privs");

        r = add_denials(ctx, err);
        if (r == 0)
                r = add_namespace_rules(ctx, err);
        if (r == 0)
                r = add_personality_rules(ctx, err);
        if (r < 0)
                return r;
        return export_bpf(ctx, ret, err);
}

void seccomp_filter_done(SeccompFilter *f)
{
        free(f->insns);
        *f = (SeccompFilter) SECCOMP_FILTER_INIT;
}

/* Cache file: magic, instruction count, SHA-256 of the instructions,
 * instructions. A torn or tampered file is rebuilt, never loaded. */
#define CACHE_MAGIC "ENCBPF01"

typedef struct CacheHeader {
        char magic[8];
        uint32_t n_insns;
        uint32_t reserved;
        uint8_t digest[SHA256_DIGEST_SIZE];
} CacheHeader;

char *seccomp_filter_cache_path(const char *cache_dir)
{
        char fp[65], *p;
        seccomp_policy_fingerprint(fp);
        if (asprintf(&p, "%s/seccomp-%s.bpf", cache_dir, fp) < 0)
                return NULL;
        return p;
}

static int cache_load(const char *path, SeccompFilter *ret)
{
        _cleanup_free_ char *data = NULL;
        size_t len;
        int r = read_full_file(path, sizeof(CacheHeader) + BPF_MAXINSNS * sizeof(struct sock_filter), &data, &len);
        if (r < 0)
                return r;

        CacheHeader h;
        if (len < sizeof h)
                return -EBADMSG;
        memcpy(&h, data, sizeof h);
        size_t body = len - sizeof h;
        if (memcmp(h.magic, CACHE_MAGIC, sizeof h.magic) != 0 || h.n_insns == 0 ||
            body != (size_t) h.n_insns * sizeof(struct sock_filter))
                return -EBADMSG;
        uint8_t d[SHA256_DIGEST_SIZE];
        sha256_buffer(data + sizeof h, body, d);
        if (memcmp(d, h.digest, sizeof d) != 0)
                return -EBADMSG;

        struct sock_filter *insns = malloc(body);
        if (!insns)
                return -ENOMEM;
        memcpy(insns, data + sizeof h, body);
        *ret = (SeccompFilter) { .insns = insns, .n_insns = h.n_insns, .from_cache = true };
        return 0;
}

static int cache_store(const char *cache_dir, const char *path, const SeccompFilter *f)
{
        size_t body = f->n_insns * sizeof(struct sock_filter);
        CacheHeader h = { .n_insns = (uint32_t) f->n_insns };
        memcpy(h.magic, CACHE_MAGIC, sizeof h.magic);
        sha256_buffer(f->insns, body, h.digest);

        _cleanup_free_ char *data = malloc(sizeof h + body);
        if (!data)
                return -ENOMEM;
        memcpy(data, &h, sizeof h);
        memcpy(data + sizeof h, f->insns, body);
        int r = mkdir_p(cache_dir, 0700);
        if (r < 0)
                return r;
        return write_file_atomic(path, data, sizeof h + body, 0600);
}

int seccomp_filter_get(const char *cache_dir, SeccompFilter *ret, Error *err)
{
        if (!cache_dir)
                return seccomp_filter_build(ret, err);

        _cleanup_free_ char *path = seccomp_filter_cache_path(cache_dir);
        if (!path)
                return error_set(err, ENOMEM, "seccomp: out of memory");
        if (cache_load(path, ret) == 0)
                return 0;

        SeccompFilter f = SECCOMP_FILTER_INIT;
        int r = seccomp_filter_build(&f, err);
        if (r < 0)
                return r;
        r = cache_store(cache_dir, path, &f);
        if (r < 0) {
                seccomp_filter_done(&f);
                return error_setc(err, -r, "seccomp: caching the filter in %s", path);
        }
        *ret = f;
        return 0;
}

int seccomp_filter_install(const struct sock_filter *insns, size_t n_insns)
{
        struct sock_fprog prog = { .len = (unsigned short) n_insns, .filter = (struct sock_filter *) insns };

        if (n_insns == 0 || n_insns > BPF_MAXINSNS)
                return -EINVAL;
        if (sys_seccomp(SECCOMP_SET_MODE_FILTER, 0, &prog) == 0)
                return 0;
        if (errno != ENOSYS)
                return -errno;
        if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0)
                return -errno;
        return 0;
}
