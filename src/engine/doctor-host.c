/* Doctor: what the host offers (doctor.h). Each check tries the real
 * thing (runtime/probe.h) where it can, and says what to do when it
 * fails. */
#include "engine/doctor.h"
#include "net/firewall.h"
#include "net/port.h"
#include "runtime/cgroup.h"
#include "runtime/idrange.h"
#include "runtime/idlease.h"
#include "engine/sandbox-cgroup.h"
#include "engine/workspace-ids.h"
#include "runtime/lsm.h"
#include "runtime/probe.h"
#include "storage/layout.h"
#include "storage/staging.h"
#include "base/fs.h"
#include "base/str.h"

#include <inttypes.h>
#include <linux/magic.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#define HOST "host"

static int add(DoctorReport *r, const char *id, DoctorStatus s, const char *title, const char *detail,
               const char *hint)
{
        return doctor_report_add(r, HOST, id, s, title, detail, hint, NULL);
}

/* A probe's outcome as one row. */
static int add_probe(DoctorReport *r, const char *id, const char *title, int k, const Error *perr,
                     DoctorStatus on_fail, const char *hint)
{
        if (k >= 0)
                return add(r, id, DOCTOR_OK, title, NULL, NULL);
        return add(r, id, on_fail, title, error_msg(perr), hint);
}

static const char *fs_name(const char *path)
{
        struct statfs sf;
        if (statfs(path, &sf) < 0)
                return "unknown file system";
        switch ((unsigned long) sf.f_type) {
        case EXT4_SUPER_MAGIC: return "ext4";
        case XFS_SUPER_MAGIC: return "xfs";
        case BTRFS_SUPER_MAGIC: return "btrfs";
        case TMPFS_MAGIC: return "tmpfs";
        case OVERLAYFS_SUPER_MAGIC: return "overlayfs";
        case 0x2fc12fc1: return "zfs";
        case 0x65735546: return "fuse";
        case NFS_SUPER_MAGIC: return "nfs";
        default: return "this file system";
        }
}

/* A fresh empty directory below <state>/tmp for the mount probes,
 * held (staging.h) so that a repair running meanwhile leaves it alone. */
static int scratch_dir(const Engine *eng, char **ret)
{
        _cleanup_free_ char *tmp = NULL;
        int k = layout_tmp_dir(eng->settings.state_dir, &tmp, NULL);
        if (k < 0)
                return k;
        return staging_create(tmp, "doctor", ret, NULL);
}

static int check_kernel(Engine *eng, DoctorReport *r)
{
        _cleanup_error_ Error e = ERROR_INIT;
        int k = probe_user_namespaces(&e);
        int a = add_probe(r, "kernel.userns", "user namespaces", k, &e, DOCTOR_FAIL,
                          "workspaces need user namespaces: check that user.max_user_namespaces is not 0 (sysctl) and "
                          "that no seccomp filter or container around the daemon blocks clone(CLONE_NEWUSER)");
        if (a < 0)
                return a;

        const char *state = eng->settings.state_dir;
        _cleanup_free_ char *title = NULL, *scratch = NULL;
        if (asprintf(&title, "idmapped mounts on the state dir (%s)", fs_name(state)) < 0)
                return -ENOMEM;
        error_clear(&e);
        k = scratch_dir(eng, &scratch);
        if (k < 0)
                k = error_setc(&e, -k, "creating a scratch directory below %s/tmp", state);
        if (k >= 0)
                k = probe_idmapped_mount(scratch, &e);
        a = add_probe(r, "kernel.idmapped_mounts", title, k, &e, DOCTOR_FAIL,
                      "the shared rootfs is presented through idmapped mounts: put the state dir (state_dir in "
                      "config.toml) on ext4, xfs, btrfs or tmpfs with Linux 5.12+ (tmpfs: 6.3+)");
        if (a < 0)
                return a;

        error_clear(&e);
        OverlayLowerMode mode = OVERLAY_LOWER_FD;
        if (k >= 0)
                k = probe_overlay_on_idmapped(scratch, &mode, &e);
        if (k >= 0) {
                /* Which way the kernel took: older kernels need the
                 * fallbacks, which work but are worth knowing about. */
                _cleanup_free_ char *how = NULL;
                if (asprintf(&how, "lower layer passed as %s%s", overlay_lower_mode_to_string(mode),
                             mode == OVERLAY_LOWER_ATTACHED ? " (this kernel refuses detached layers; fallback "
                                                              "in use, a little slower per start)"
                                                            : "") < 0)
                        return -ENOMEM;
                a = add(r, "kernel.overlay_idmapped", DOCTOR_OK, "overlayfs over an idmapped lower layer", how, NULL);
        } else
                a = add(r, "kernel.overlay_idmapped", DOCTOR_FAIL, "overlayfs over an idmapped lower layer",
                        e.msg ? e.msg : "not tried: idmapped mounts do not work here",
                        "workspace roots are overlays over the idmapped rootfs: the kernel's overlayfs must accept "
                        "an idmapped lower layer (mainline has since 5.19; a distribution kernel may lack it), and "
                        "the state dir must be on a file system that supports idmapped mounts");
        if (scratch)
                (void) staging_remove(scratch);
        if (a < 0)
                return a;

        error_clear(&e);
        k = probe_pidfd(&e);
        a = add_probe(r, "kernel.pidfd", "pidfd_open", k, &e, DOCTOR_FAIL,
                      "workspaces are tracked through pidfds: Linux 5.3 or newer is needed");
        if (a < 0)
                return a;
        error_clear(&e);
        k = probe_clone3(&e);
        return add_probe(r, "kernel.clone3", "clone3", k, &e, DOCTOR_FAIL,
                         "workspaces are started with clone3: Linux 5.5 or newer, and no seccomp filter around the "
                         "daemon that refuses it");
}

static int check_cgroups(DoctorReport *r)
{
        _cleanup_error_ Error e = ERROR_INIT;
        CgroupLayout l = {};
        if (cgroup_layout_detect(&l, &e) < 0)
                return add(r, "cgroup.mode", DOCTOR_FAIL, "cgroups", error_msg(&e),
                           "mount the cgroup file systems (cgroup2 on /sys/fs/cgroup, or the v1 hierarchies)");
        unsigned have = 0;
        for (size_t i = 0; i < l.n; i++)
                have |= l.h[i].controllers;
        StrBuf usable = STRBUF_INIT, missing = STRBUF_INIT;
        const CgroupController needed[] = { CGROUP_CPU, CGROUP_MEMORY, CGROUP_PIDS };
        for (CgroupController c = 0; c < _CGROUP_CONTROLLER_MAX; c++)
                if (have & CGROUP_MASK(c))
                        strbuf_printf(&usable, "%s%s", usable.len ? ", " : "", cgroup_controller_to_string(c));
        for (size_t i = 0; i < ELEMENTSOF(needed); i++)
                if (!(have & CGROUP_MASK(needed[i])))
                        strbuf_printf(&missing, "%s%s", missing.len ? ", " : "", cgroup_controller_to_string(needed[i]));
        _cleanup_free_ char *detail = NULL, *title = NULL;
        int k = asprintf(&title, "cgroup mode %s", cgroup_mode_to_string(l.mode));
        if (k >= 0)
                k = asprintf(&detail, "usable controllers: %s%s%s", usable.len ? usable.data : "none",
                             missing.len ? "; missing: " : "", missing.len ? missing.data : "");
        bool incomplete = missing.len > 0;
        strbuf_done(&usable);
        strbuf_done(&missing);
        cgroup_layout_done(&l);
        if (k < 0)
                return -ENOMEM;
        return add(r, "cgroup.mode", incomplete ? DOCTOR_WARN : DOCTOR_OK, title, detail,
                   incomplete ? "limits of the missing controllers are not enforced: enable them (v2: "
                                "cgroup.subtree_control of the daemon's parent group, e.g. systemd Delegate=yes)"
                              : NULL);
}

/* The pids cap of Enclave's top cgroup (max_procs_total), whether
 * this host can enforce it, and what all workspaces use now. */
static int check_procs_total(Engine *eng, DoctorReport *r)
{
        uint64_t host = 0;
        uint64_t cap = sandbox_cgroup_procs_total(eng, &host);
        const CgroupNode *node = NULL;
        for (size_t i = 0; eng->cgroup_root && i < eng->cgroup_root->n_nodes; i++)
                if (eng->cgroup_root->nodes[i].controllers & CGROUP_MASK(CGROUP_PIDS))
                        node = &eng->cgroup_root->nodes[i];
        uint64_t used = 0;
        bool have_used = node && cgroup_read_u64(node->path, "pids.current", &used) == 0;
        _cleanup_free_ char *title = NULL, *detail = NULL;
        if (asprintf(&title, "pids of all workspaces capped at %" PRIu64, cap) < 0)
                return -ENOMEM;
        char source[96];
        if (host)
                snprintf(source, sizeof source, "automatic: 3/4 of the host's %" PRIu64
                         " (kernel.pid_max, kernel.threads-max)", host);
        else
                snprintf(source, sizeof source, "config.toml");
        char in_use[48] = "";
        if (have_used)
                snprintf(in_use, sizeof in_use, "; in use: %" PRIu64, used);
        if (asprintf(&detail, "max_procs_total (%s)%s%s", source, in_use,
                     node ? "" : "; not enforced: no pids cgroup controller for Enclave") < 0)
                return -ENOMEM;
        return add(r, "cgroup.procs_total", node ? DOCTOR_OK : DOCTOR_WARN, title, detail,
                   node ? NULL : "enable the pids controller (v2: cgroup.subtree_control of the daemon's parent "
                                 "group, e.g. systemd Delegate=yes)");
}

static int check_firewall(Engine *eng, DoctorReport *r)
{
        const Settings *s = &eng->settings;
        _cleanup_error_ Error e = ERROR_INIT;
        NetSubnet subnet;
        _cleanup_firewall_ Firewall *fw = NULL;
        int k = net_subnet_parse(s->subnet, &subnet, &e);
        if (k >= 0) {
                FirewallConfig c = { .backend = s->firewall, .bridge = s->bridge, .subnet = &subnet };
                k = firewall_open(&c, &fw, &e);
        }
        if (k < 0)
                return add(r, "firewall.backend", DOCTOR_FAIL, "firewall", error_msg(&e),
                           "install nftables (or iptables), or set firewall = \"nftables\"|\"iptables\" in "
                           "config.toml to the one this host has");
        _cleanup_free_ char *detail = NULL;
        const char *flavour = firewall_iptables_flavour(fw);
        /* The iptables backend needs br_netfilter, which stock kernels
         * may not load with the physdev match; the daemon loads it. */
        const char *brnf = !flavour ? ""
                : access("/proc/sys/net/bridge/bridge-nf-call-iptables", F_OK) == 0
                        ? "; br_netfilter loaded"
                        : "; br_netfilter not loaded yet (the daemon loads it with modprobe when it sets up the "
                          "firewall)";
        if (asprintf(&detail, "%s%s%s%s (configured: %s)%s", firewall_backend_to_string(firewall_backend(fw)),
                     flavour ? " (" : "", flavour ?: "", flavour ? ")" : "",
                     firewall_backend_to_string(s->firewall) ?: "auto", brnf) < 0)
                return -ENOMEM;
        return add(r, "firewall.backend", DOCTOR_OK, "firewall backend", detail, NULL);
}

static int check_subids(DoctorReport *r)
{
        _cleanup_error_ Error e = ERROR_INIT;
        _cleanup_free_ IdRange *both = NULL;
        size_t nb = 0;
        int k = idrange_load_pool(IDRANGE_SUBUID_PATH, IDRANGE_SUBGID_PATH, &both, &nb, NULL, NULL, &e);
        if (k == -ENOMEM)
                return k;
        if (k < 0)
                return add(r, "ids.subordinate", DOCTOR_FAIL, "root's subordinate id ranges", error_msg(&e),
                           "fix the syntax of /etc/subuid and /etc/subgid (lines root:START:COUNT)");
        uint64_t blocks = idrange_count_blocks(both, nb);
        /* What is left host-wide: leases of every state dir count. */
        IdPoolStatus st = { .pool_blocks = blocks, .free = blocks };
        _cleanup_id_lease_lock_ IdLeaseLock l = ID_LEASE_LOCK_NULL;
        bool leases_ok = id_lease_lock(workspace_ids_host(), &l, &e) >= 0 &&
                         id_pool_status(&l, workspace_ids_state_dir(), &st, &e) >= 0;
        id_lease_unlock(&l);
        uint64_t left = st.free + st.addable;
        _cleanup_free_ char *detail = NULL;
        if (!leases_ok) {
                if (asprintf(&detail, "%llu block(s) of %u ids in both /etc/subuid and /etc/subgid; the leases in "
                             "%s cannot be read: %s", (unsigned long long) blocks, IDRANGE_BLOCK,
                             workspace_ids_host()->dir, error_msg(&e)) < 0)
                        return -ENOMEM;
                return add(r, "ids.subordinate", DOCTOR_FAIL, "host id blocks for workspaces", detail,
                           "make the lease directory a root-owned 0700 directory");
        }
        if (asprintf(&detail, "%llu block(s) of %u ids left: %llu free of root's %llu in /etc/subuid and "
                     "/etc/subgid, %llu more can be added below 2^31; %llu leased on this host (%llu by this "
                     "state dir, %llu of deleted state dirs)", (unsigned long long) left, IDRANGE_BLOCK,
                     (unsigned long long) st.free, (unsigned long long) blocks, (unsigned long long) st.addable,
                     (unsigned long long) st.leased, (unsigned long long) st.own,
                     (unsigned long long) st.orphaned) < 0)
                return -ENOMEM;
        if (left == 0)
                return add(r, "ids.subordinate", DOCTOR_FAIL, "host id blocks for workspaces", detail,
                           "destroy workspaces that are no longer needed (in any state dir), or add a free range "
                           "for root to both /etc/subuid and /etc/subgid");
        return add(r, "ids.subordinate", left < 16 ? DOCTOR_WARN : DOCTOR_OK, "host id blocks for workspaces",
                   detail,
                   left < 16 ? "each workspace needs one block: destroy workspaces that are no longer needed, or "
                               "add a free range for root to /etc/subuid and /etc/subgid"
                             : NULL);
}

static int check_tools(Engine *eng, DoctorReport *r)
{
        const char *bin = eng->settings.debootstrap_binary ?: "debootstrap";
        _cleanup_free_ char *path = NULL, *detail = NULL;
        int k = probe_find_executable(bin, &path);
        if (k == -ENOMEM)
                return k;
        if (k < 0) {
                if (asprintf(&detail, "%s not found", bin) < 0)
                        return -ENOMEM;
                k = add(r, "tools.debootstrap", DOCTOR_WARN, "debootstrap", detail,
                        "apt-get install debootstrap (or set debootstrap_binary), or create sandboxes with "
                        "--bootstrap-method cached_rootfs from an imported rootfs");
        } else
                k = add(r, "tools.debootstrap", DOCTOR_OK, "debootstrap", path, NULL);
        if (k < 0)
                return k;
        _cleanup_error_ Error e = ERROR_INIT;
        k = probe_loop_control(&e);
        return add_probe(r, "dev.loop", "loop devices (/dev/loop-control)", k, &e, DOCTOR_WARN,
                         "disk_mb quotas need loop devices: modprobe loop (and make /dev/loop-control available to "
                         "the daemon)");
}

static bool is_set(const char *s)
{
        return s && *s;
}

/* What workspaces get from the LSM the host runs: a configured profile
 * or label (which must exist), Enclave's own AppArmor profile by
 * default, or nothing, said as the fallback it is. */
static int check_lsm(Engine *eng, DoctorReport *r)
{
        const Settings *s = &eng->settings;
        bool aa = probe_lsm_enabled("apparmor"), se = probe_lsm_enabled("selinux");
        const char *aa_cfg = s->workspace_apparmor_profile, *se_cfg = s->workspace_selinux_label;
        _cleanup_free_ char *lsms = NULL, *detail = NULL;
        if (asprintf(&lsms, "AppArmor %s, SELinux %s", aa ? "enabled" : "not enabled",
                     se ? "enabled" : "not enabled") < 0)
                return -ENOMEM;

        if (is_set(aa_cfg) || is_set(se_cfg)) {
                _cleanup_error_ Error e = ERROR_INIT;
                _cleanup_lsm_exec_ LsmExec l = LSM_EXEC_INIT;
                int k = lsm_exec_resolve(aa_cfg, se_cfg, &l, &e);
                if (asprintf(&detail, "%s; workspace %s %s%s%s", lsms,
                             is_set(aa_cfg) ? "AppArmor profile" : "SELinux label", is_set(aa_cfg) ? aa_cfg : se_cfg,
                             k < 0 ? ": " : " present", k < 0 ? error_msg(&e) : "") < 0)
                        return -ENOMEM;
                if (k < 0)
                        return add(r, "lsm", DOCTOR_FAIL, "AppArmor/SELinux", detail,
                                   "load the profile (apparmor_parser -r) or fix workspace_apparmor_profile / "
                                   "workspace_selinux_label in config.toml; the daemon refuses to start until then");
                return add(r, "lsm", DOCTOR_OK, "AppArmor/SELinux", detail, NULL);
        }
        if (aa && !aa_cfg) {
                bool loaded = lsm_apparmor_profile_loaded(LSM_APPARMOR_DEFAULT_PROFILE);
                if (asprintf(&detail, "%s; workspaces get Enclave's profile %s%s", lsms, LSM_APPARMOR_DEFAULT_PROFILE,
                             loaded ? " (loaded)"
                                    : ", which is not loaded: they run without an AppArmor profile (namespaces, "
                                      "capabilities, seccomp and masks still apply)") < 0)
                        return -ENOMEM;
                return add(r, "lsm", loaded ? DOCTOR_OK : DOCTOR_WARN, "AppArmor/SELinux", detail,
                           loaded ? NULL
                                  : "install it (make install puts it in " ENCLAVE_APPARMORDIR ") and restart the "
                                    "daemon, or load it: apparmor_parser -r " ENCLAVE_APPARMORDIR "/"
                                    LSM_APPARMOR_DEFAULT_PROFILE);
        }
        if (asprintf(&detail, "%s; workspaces run without an LSM profile or label%s", lsms,
                     aa ? " (workspace_apparmor_profile = \"\")" : "") < 0)
                return -ENOMEM;
        if (se)
                return add(r, "lsm", DOCTOR_WARN, "AppArmor/SELinux", detail,
                           "SELinux hosts: set workspace_selinux_label to a container domain of the host's policy "
                           "(e.g. system_u:system_r:container_t:s0 from container-selinux; see docs/hardening.md)");
        return add(r, "lsm", DOCTOR_OK, "AppArmor/SELinux", detail, NULL);
}

int doctor_require_kernel(Engine *eng, Error *err)
{
        _cleanup_(doctor_report_done) DoctorReport r = {};
        int k = check_kernel(eng, &r);
        if (k < 0)
                return error_setc(err, -k, "checking the kernel's features");
        for (size_t i = 0; i < r.n; i++) {
                const DoctorCheck *c = &r.checks[i];
                if (c->status == DOCTOR_FAIL)
                        return error_set(err, EOPNOTSUPP,
                                         "this kernel cannot run Enclave workspaces: %s: %s (%s); Enclave needs user "
                                         "namespaces, idmapped mounts on the state dir's file system, overlayfs that "
                                         "accepts an idmapped lower layer, pidfds and clone3",
                                         c->title, c->detail ? c->detail : "failed", c->hint ? c->hint : "");
        }
        return 0;
}

int doctor_check_host(Engine *eng, DoctorReport *r)
{
        int k = check_kernel(eng, r);
        if (k >= 0)
                k = check_cgroups(r);
        if (k >= 0)
                k = check_procs_total(eng, r);
        if (k >= 0)
                k = check_firewall(eng, r);
        if (k >= 0)
                k = check_subids(r);
        if (k >= 0)
                k = check_tools(eng, r);
        if (k >= 0)
                k = check_lsm(eng, r);
        return k;
}
