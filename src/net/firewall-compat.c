/* Coexisting with a FORWARD DROP policy (Docker sets one).
 *
 * Every base chain on a netfilter hook sees each packet, and a drop in
 * any of them is final: Enclave's own "accept" cannot overrule the
 * iptables filter FORWARD policy. So when that policy is DROP, two
 * rules go at the end of FORWARD, marked with a comment naming the
 * bridge:
 *
 *   -i <bridge> -j ACCEPT                               (workspaces out)
 *   -o <bridge> --ctstate RELATED,ESTABLISHED -j ACCEPT (their replies)
 *
 * At the end, every other rule (Docker's, the admin's, other Enclave
 * instances' chains) has had its say first; only the default policy is
 * overruled. Enclave's own rules still decide what workspaces may do:
 * those run in their own chains and drop first. The rules are found
 * again by their comment, so teardown removes exactly them. */
#include "net/firewall-internal.h"

#include "base/str.h"

#include <string.h>

static bool save_has_forward_drop(const char *save)
{
        return strstr(save, "\n:FORWARD DROP") || startswith(save, ":FORWARD DROP");
}

/* The FORWARD rules of ours in save output, each line as it appears. */
static int our_forward_rules(const char *save, const char *comment, char ***ret)
{
        _cleanup_strv_free_ char **lines = NULL;
        const char *l = save;
        while (l && *l) {
                const char *end = strchr(l, '\n');
                size_t len = end ? (size_t) (end - l) : strlen(l);
                _cleanup_free_ char *line = strndup(l, len);
                if (!line)
                        return -ENOMEM;
                l = end ? end + 1 : NULL;
                /* The comment is the last option iptables-save prints
                 * before the target, quoted or not. */
                if (startswith(line, "-A FORWARD ") && strstr(line, comment) &&
                    strv_consume(&lines, TAKE_PTR(line)) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(lines);
        return 0;
}

static int compat_open_one(Firewall *fw, IptFlavour f, bool always, Error *err)
{
        _cleanup_free_ char *save = NULL, *input = NULL;
        _cleanup_strv_free_ char **ours = NULL;
        char comment[64];
        int r;

        if (!ipt_flavour_available(f) || !ipt_table_present(f, "filter"))
                return 0;
        r = ipt_save(f, "filter", &save, err);
        if (r < 0)
                return r;
        if (!always && !save_has_forward_drop(save))
                return 0;
        snprintf(comment, sizeof comment, "enclave:%s", fw->bridge);
        r = our_forward_rules(save, comment, &ours);
        if (r < 0)
                return error_setc(err, -r, "reading iptables FORWARD rules");
        if (strv_length(ours) >= 2)
                return 0; /* already there */
        if (asprintf(&input,
                     "*filter\n"
                     "-A FORWARD -i %1$s -m comment --comment %2$s -j ACCEPT\n"
                     "-A FORWARD -o %1$s -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment %2$s -j ACCEPT\n"
                     "COMMIT\n",
                     fw->bridge, comment) < 0)
                return error_setc(err, ENOMEM, "building iptables rules");
        /* A half-present pair (someone deleted one) is replaced whole. */
        STRV_FOREACH(line, ours) {
                _cleanup_free_ char *del = NULL;
                if (asprintf(&del, "*filter\n-D%s\nCOMMIT\n", *line + 2) < 0)
                        return error_setc(err, ENOMEM, "building iptables rules");
                (void) ipt_restore(f, del, NULL);
        }
        r = ipt_restore(f, input, err);
        if (r < 0)
                return error_wrap(err, "opening the iptables (%s) FORWARD DROP policy for %s",
                                  ipt_flavour_to_string(f), fw->bridge);
        if (always)
                return 0;
        return firewall_notice(fw, "iptables (%s) FORWARD policy is DROP (Docker?): added two ACCEPT rules for %s "
                               "at the end of FORWARD",
                               ipt_flavour_to_string(f), fw->bridge);
}

int firewall_compat_forward_open(Firewall *fw, IptFlavour always, Error *err)
{
        for (IptFlavour f = 0; f < _IPT_FLAVOUR_MAX; f++) {
                int r = compat_open_one(fw, f, f == always, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int compat_close_one(Firewall *fw, IptFlavour f, Error *err)
{
        _cleanup_free_ char *save = NULL;
        _cleanup_strv_free_ char **ours = NULL;
        _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
        char comment[64];
        int r;

        if (!ipt_flavour_available(f) || !ipt_table_present(f, "filter"))
                return 0;
        r = ipt_save(f, "filter", &save, err);
        if (r < 0)
                return r;
        snprintf(comment, sizeof comment, "enclave:%s", fw->bridge);
        r = our_forward_rules(save, comment, &ours);
        if (r < 0)
                return error_setc(err, -r, "reading iptables FORWARD rules");
        if (!ours)
                return 0;
        strbuf_puts(&b, "*filter\n");
        STRV_FOREACH(line, ours)
                strbuf_printf(&b, "-D%s\n", *line + 2);
        strbuf_puts(&b, "COMMIT\n");
        if (b.oom)
                return error_setc(err, ENOMEM, "building iptables rules");
        r = ipt_restore(f, b.data, err);
        if (r < 0)
                return error_wrap(err, "removing Enclave's iptables (%s) FORWARD rules for %s",
                                  ipt_flavour_to_string(f), fw->bridge);
        return 0;
}

int firewall_compat_forward_close(Firewall *fw, Error *err)
{
        for (IptFlavour f = 0; f < _IPT_FLAVOUR_MAX; f++) {
                int r = compat_close_one(fw, f, err);
                if (r < 0)
                        return r;
        }
        return 0;
}
