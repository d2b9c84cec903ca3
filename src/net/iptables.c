#include "net/iptables.h"

#include "base/fs.h"
#include "base/process.h"
#include "base/str.h"

#include <fcntl.h>
#include <limits.h>
#include <nftables/libnftables.h>
#include <string.h>
#include <sys/stat.h>

#define IPT_OUTPUT_MAX (64u * 1024 * 1024)

const char *ipt_flavour_to_string(IptFlavour f)
{
        return f == IPT_FLAVOUR_NFT ? "nft" : f == IPT_FLAVOUR_LEGACY ? "legacy" : NULL;
}

static int find_tool(const char *name, char ret[static PATH_MAX])
{
        return process_find_tool(name, ret);
}

static int run_tool(const char *path, char *const argv[], const char *input, char **ret_output)
{
        return process_run_capture(path, argv, input, IPT_OUTPUT_MAX, ret_output);
}

int ipt_detect_flavour(IptFlavour *ret)
{
        char path[PATH_MAX], real[PATH_MAX];

        if (find_tool("iptables", path) < 0)
                return -ENOENT;
        if (!realpath(path, real))
                return -errno;
        const char *base = strrchr(real, '/');
        base = base ? base + 1 : real;
        /* xtables-nft-multi / iptables-nft are the nf_tables layer;
         * xtables-legacy-multi, iptables-legacy and a pre-1.8 plain
         * iptables binary are x_tables. */
        *ret = strstr(base, "nft") ? IPT_FLAVOUR_NFT : IPT_FLAVOUR_LEGACY;
        return 0;
}

/* The binary to run for a flavour's tool ("restore" or "save"): the
 * flavour-specific name when installed, else the plain name when that
 * is the host's flavour. */
static int tool_path(IptFlavour f, const char *tool, char ret[static PATH_MAX], char **ret_argv0)
{
        char name[64];
        IptFlavour host;

        snprintf(name, sizeof name, "iptables-%s-%s", ipt_flavour_to_string(f), tool);
        if (find_tool(name, ret) >= 0) {
                *ret_argv0 = strdup(name);
                return *ret_argv0 ? 0 : -ENOMEM;
        }
        snprintf(name, sizeof name, "iptables-%s", tool);
        if (ipt_detect_flavour(&host) >= 0 && host == f && find_tool(name, ret) >= 0) {
                *ret_argv0 = strdup(name);
                return *ret_argv0 ? 0 : -ENOMEM;
        }
        return -ENOENT;
}

bool ipt_flavour_available(IptFlavour f)
{
        char path[PATH_MAX];
        _cleanup_free_ char *a = NULL, *b = NULL;
        return tool_path(f, "restore", path, &a) >= 0 && tool_path(f, "save", path, &b) >= 0;
}

static bool legacy_table_present(const char *table)
{
        _cleanup_free_ char *names = NULL;
        if (read_full_file("/proc/net/ip_tables_names", 64 * 1024, &names, NULL) < 0)
                return false;
        char *save = NULL;
        for (char *l = strtok_r(names, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
                if (streq(l, table))
                        return true;
        return false;
}

static bool nft_table_present(const char *table)
{
        struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
        char cmd[96];
        if (!ctx)
                return false;
        nft_ctx_buffer_output(ctx);
        nft_ctx_buffer_error(ctx);
        /* "list" of a missing table fails; it never creates one. */
        snprintf(cmd, sizeof cmd, "list table ip %s", table);
        bool present = nft_run_cmd_from_buffer(ctx, cmd) == 0;
        nft_ctx_free(ctx);
        return present;
}

bool ipt_table_present(IptFlavour f, const char *table)
{
        return f == IPT_FLAVOUR_LEGACY ? legacy_table_present(table) : nft_table_present(table);
}

/* First line(s) of a tool's complaint, trimmed for an error message. */
static void trim_output(char *s)
{
        size_t n = strlen(s);
        while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' '))
                s[--n] = 0;
        if (n > 400)
                s[400] = 0;
        for (char *p = s; *p; p++)
                if (*p == '\n')
                        *p = ' ';
}

int ipt_restore(IptFlavour f, const char *input, Error *err)
{
        char path[PATH_MAX];
        _cleanup_free_ char *argv0 = NULL, *output = NULL;
        int r;

        r = tool_path(f, "restore", path, &argv0);
        if (r < 0)
                return error_set(err, -r, "iptables-restore (%s flavour) is not installed; install the iptables "
                                 "package or use firewall = \"nftables\"", ipt_flavour_to_string(f));
        char *const argv[] = { argv0, (char *) "--noflush", (char *) "--wait", NULL };
        r = run_tool(path, argv, input, &output);
        if (r < 0)
                return error_setc(err, -r, "running %s", path);
        if (r != 0) {
                trim_output(output);
                return error_set(err, EIO, "%s --noflush failed (status %d): %s", argv0, r,
                                 output && *output ? output : "no output");
        }
        return 0;
}

int ipt_save(IptFlavour f, const char *table, char **ret, Error *err)
{
        char path[PATH_MAX];
        _cleanup_free_ char *argv0 = NULL, *output = NULL;
        int r;

        r = tool_path(f, "save", path, &argv0);
        if (r < 0)
                return error_set(err, -r, "iptables-save (%s flavour) is not installed", ipt_flavour_to_string(f));
        char *const argv[] = { argv0, (char *) "-t", (char *) table, NULL };
        r = run_tool(path, argv, NULL, &output);
        if (r < 0)
                return error_setc(err, -r, "running %s", path);
        if (r != 0) {
                trim_output(output);
                return error_set(err, EIO, "%s -t %s failed (status %d): %s", argv0, table, r,
                                 output && *output ? output : "no output");
        }
        *ret = TAKE_PTR(output);
        return 0;
}

int ipt_modprobe(const char *module, Error *err)
{
        char path[PATH_MAX];
        if (find_tool("modprobe", path) < 0)
                return error_set(err, ENOENT, "modprobe is not installed (kmod), so %s cannot be loaded", module);
        _cleanup_free_ char *output = NULL;
        char *const argv[] = { (char *) "modprobe", (char *) module, NULL };
        int r = run_tool(path, argv, NULL, &output);
        if (r < 0)
                return error_setc(err, -r, "running %s %s", path, module);
        if (r != 0) {
                trim_output(output);
                return error_set(err, EIO, "modprobe %s failed (status %d): %s", module, r,
                                 output && *output ? output : "no output");
        }
        return 0;
}
