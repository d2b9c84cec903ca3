#include "spec/values.h"
#include "base/str.h"

#include <ctype.h>
#include <string.h>

const char *const debian_suites[] = {
        "bookworm", "bullseye", "trixie", "sid", "stable", "testing", "oldstable", NULL,
};

const char *const bootstrap_methods[] = { "debootstrap", "cached_rootfs", NULL };

const char *const auth_providers[] = { "enclave", "github", "npm", NULL };

static const struct {
        const char *provider;
        const char *const tokens[3];
} provider_tokens[] = {
        { "enclave", { "ENCLAVE_TOKEN", NULL } },
        { "github", { "GITHUB_TOKEN", "GH_TOKEN", NULL } },
        { "npm", { "NPM_TOKEN", NULL } },
};

static bool in_list(const char *const *list, const char *s)
{
        for (; s && *list; list++)
                if (streq(*list, s))
                        return true;
        return false;
}

bool debian_suite_is_known(const char *s)
{
        return in_list(debian_suites, s);
}

int debian_suite_check(const char *suite, const char *also, Error *err)
{
        if (debian_suite_is_known(suite) || (also && suite && streq(suite, also)))
                return 0;
        _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
        for (size_t i = 0; debian_suites[i]; i++)
                strbuf_printf(&b, "%s%s", i ? ", " : "", debian_suites[i]);
        const char *guess = suite ? closest_match(suite, debian_suites, strv_length((char *const *) debian_suites))
                                  : NULL;
        return error_set(err, EINVAL, "unknown suite \"%s\"%s%s%s: use one of %s%s%s%s", suite ? suite : "",
                         guess ? " (did you mean " : "", guess ? guess : "", guess ? "?)" : "", b.data ? b.data : "",
                         also ? " (or " : "", also ? also : "", also ? ")" : "");
}

bool bootstrap_method_is_known(const char *s)
{
        return in_list(bootstrap_methods, s);
}

bool auth_provider_is_known(const char *s)
{
        return in_list(auth_providers, s);
}

const char *const *auth_provider_token_names(const char *provider)
{
        for (size_t i = 0; provider && i < ELEMENTSOF(provider_tokens); i++)
                if (streq(provider_tokens[i].provider, provider))
                        return provider_tokens[i].tokens;
        return NULL;
}

const char *auth_token_provider(const char *env_name)
{
        for (size_t i = 0; env_name && i < ELEMENTSOF(provider_tokens); i++)
                if (in_list(provider_tokens[i].tokens, env_name))
                        return provider_tokens[i].provider;
        return NULL;
}

const char *auth_token_names_list(void)
{
        return "ENCLAVE_TOKEN, GITHUB_TOKEN, GH_TOKEN, NPM_TOKEN";
}

static bool all_digits(const char *s, size_t n)
{
        if (n == 0)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!isdigit((unsigned char) s[i]))
                        return false;
        return true;
}

/* Parse exactly n digits of s as a number in 1..65535. */
static int parse_port(const char *s, size_t n, uint16_t *ret)
{
        if (!all_digits(s, n) || n > 5)
                return -EINVAL;
        unsigned v = 0;
        for (size_t i = 0; i < n; i++)
                v = v * 10 + (unsigned) (s[i] - '0');
        if (v < 1 || v > 65535)
                return -ERANGE;
        *ret = (uint16_t) v;
        return 0;
}

static int check_authority(const char *host, size_t n, Error *err)
{
        if (n == 0)
                return error_set(err, EINVAL, "has no host name");
        if (memchr(host, '@', n))
                return error_set(err, EINVAL,
                                 "must not contain credentials (user@host); Enclave shows the mirror in logs");
        const char *colon = NULL;
        if (host[0] == '[') {
                const char *close = memchr(host, ']', n);
                if (!close)
                        return error_set(err, EINVAL, "has an unterminated IPv6 address");
                for (const char *p = host + 1; p < close; p++)
                        if (!isxdigit((unsigned char) *p) && *p != ':' && *p != '.')
                                return error_set(err, EINVAL, "has an invalid IPv6 address");
                if (close + 1 < host + n) {
                        if (close[1] != ':')
                                return error_set(err, EINVAL, "has junk after the IPv6 address");
                        colon = close + 1;
                }
        } else {
                colon = memchr(host, ':', n);
                size_t hn = colon ? (size_t) (colon - host) : n;
                if (hn == 0)
                        return error_set(err, EINVAL, "has no host name");
                for (size_t i = 0; i < hn; i++)
                        if (!isalnum((unsigned char) host[i]) && host[i] != '.' && host[i] != '-')
                                return error_set(err, EINVAL, "has an invalid character '%c' in its host name",
                                                 host[i]);
        }
        if (colon) {
                uint16_t port;
                if (parse_port(colon + 1, (size_t) (host + n - colon - 1), &port) < 0)
                        return error_set(err, EINVAL, "has an invalid port (want 1..65535)");
        }
        return 0;
}

int mirror_url_check(const char *url, Error *err)
{
        const char *rest = NULL;
        if (!url || !*url)
                return error_set(err, EINVAL, "is empty; use a URL like %s", DEFAULT_MIRROR);
        if (strlen(url) > 2048)
                return error_set(err, EINVAL, "is too long (at most 2048 characters)");
        for (const char *p = url; *p; p++)
                if ((unsigned char) *p <= ' ' || *p == 0x7f || *p == '"' || *p == '\\')
                        return error_set(err, EINVAL, "must not contain whitespace, quotes or control characters");
        if (strncasecmp(url, "http://", 7) == 0)
                rest = url + 7;
        else if (strncasecmp(url, "https://", 8) == 0)
                rest = url + 8;
        else
                return error_set(err, EINVAL, "must be an http:// or https:// URL, like %s", DEFAULT_MIRROR);
        size_t n = strcspn(rest, "/?#");
        return check_authority(rest, n, err);
}

/* Split off an optional "/proto" suffix; only tcp is accepted. */
static int split_protocol(const char *s, size_t *ret_len, Error *err)
{
        const char *slash = strchr(s, '/');
        if (!slash) {
                *ret_len = strlen(s);
                return 0;
        }
        if (!streq(slash + 1, "tcp"))
                return error_set(err, EINVAL, "protocol '%s' is not supported; only tcp can be published",
                                 slash + 1);
        *ret_len = (size_t) (slash - s);
        return 0;
}

static int check_loopback_prefix(const char *s, size_t len, const char **ret_rest, Error *err)
{
        if (len > 0 && s[0] == '[')
                return error_set(err, EINVAL, "binds an IPv6 address; only 127.0.0.1 is allowed (ports are published on loopback only)");
        const char *colon = memchr(s, ':', len);
        if (!colon)
                return error_set(err, EINVAL, "has no address; write 127.0.0.1:HOST:WORKSPACE[/tcp]");
        size_t alen = (size_t) (colon - s);
        if (alen != strlen("127.0.0.1") || !strneq(s, "127.0.0.1", alen)) {
                if (all_digits(s, alen))
                        return error_set(err, EINVAL,
                                         "has no address; write 127.0.0.1:HOST:WORKSPACE[/tcp] (ports are published on loopback only)");
                return error_set(err, EINVAL, "binds '%.*s'; only 127.0.0.1 is allowed (ports are published on loopback only)",
                                 (int) alen, s);
        }
        *ret_rest = colon + 1;
        return 0;
}

int port_spec_parse(const char *s, PortSpec *ret, Error *err)
{
        size_t len;
        const char *rest;
        int r = split_protocol(s, &len, err);
        if (r < 0)
                return r;
        r = check_loopback_prefix(s, len, &rest, err);
        if (r < 0)
                return r;
        size_t rlen = len - (size_t) (rest - s);
        const char *colon = memchr(rest, ':', rlen);
        if (!colon)
                return error_set(err, EINVAL, "has no workspace port; write 127.0.0.1:HOST:WORKSPACE[/tcp]");
        PortSpec p;
        if (parse_port(rest, (size_t) (colon - rest), &p.host_port) < 0)
                return error_set(err, EINVAL, "has an invalid host port '%.*s' (want 1..65535)",
                                 (int) (colon - rest), rest);
        size_t wlen = rlen - (size_t) (colon + 1 - rest);
        if (parse_port(colon + 1, wlen, &p.workspace_port) < 0)
                return error_set(err, EINVAL, "has an invalid workspace port '%.*s' (want 1..65535)",
                                 (int) wlen, colon + 1);
        *ret = p;
        return 0;
}

int port_host_parse(const char *s, uint16_t *ret_host_port, Error *err)
{
        size_t len;
        const char *rest;
        int r = split_protocol(s, &len, err);
        if (r < 0)
                return r;
        r = check_loopback_prefix(s, len, &rest, err);
        if (r < 0)
                return r;
        size_t rlen = len - (size_t) (rest - s);
        if (parse_port(rest, rlen, ret_host_port) < 0)
                return error_set(err, EINVAL, "has an invalid host port '%.*s' (want 127.0.0.1:HOST[/tcp], HOST 1..65535)",
                                 (int) rlen, rest);
        return 0;
}

void port_spec_format(const PortSpec *p, char buf[static PORT_SPEC_STRING_MAX])
{
        snprintf(buf, PORT_SPEC_STRING_MAX, "127.0.0.1:%u:%u/tcp", p->host_port, p->workspace_port);
}

bool bridge_name_is_valid(const char *s)
{
        if (!s || !*s || strlen(s) > 15 || streq(s, ".") || streq(s, ".."))
                return false;
        for (const char *p = s; *p; p++)
                if (!isascii((unsigned char) *p) ||
                    !(isalnum((unsigned char) *p) || *p == '_' || *p == '.' || *p == '-'))
                        return false;
        return true;
}

const char *auth_providers_list(void)
{
        return "enclave, github, npm";
}

int auth_provider_check(const char *provider, Error *err)
{
        if (!provider || !provider[0])
                return error_set(err, EINVAL, "no auth provider given; the providers are: %s", auth_providers_list());
        if (auth_provider_is_known(provider))
                return 0;
        size_t n = 0;
        while (auth_providers[n])
                n++;
        /* The name is echoed back only when it is short and printable:
         * someone may paste a token where the provider belongs. */
        bool show = strlen(provider) <= 32;
        for (const char *p = provider; show && *p; p++)
                if (*p < 0x20 || *p == 0x7f)
                        show = false;
        const char *best = closest_match(provider, auth_providers, n);
        if (best)
                return error_set(err, EINVAL, "unknown auth provider '%s'; did you mean '%s'? The providers are: %s",
                                 show ? provider : "?", best, auth_providers_list());
        return error_set(err, EINVAL, "unknown auth provider%s%s%s; the providers are: %s", show ? " '" : "",
                         show ? provider : "", show ? "'" : "", auth_providers_list());
}

const char *const firewall_backends[_FIREWALL_MAX + 1] = {
        [FIREWALL_AUTO] = "auto",
        [FIREWALL_NFTABLES] = "nftables",
        [FIREWALL_IPTABLES] = "iptables",
        [_FIREWALL_MAX] = NULL,
};

const char *firewall_backend_to_string(FirewallBackend b)
{
        if (b < 0 || b >= _FIREWALL_MAX)
                return NULL;
        return firewall_backends[b];
}

FirewallBackend firewall_backend_from_string(const char *s)
{
        for (int i = 0; s && i < _FIREWALL_MAX; i++)
                if (streq(firewall_backends[i], s))
                        return (FirewallBackend) i;
        return _FIREWALL_INVALID;
}
