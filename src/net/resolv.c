#include "net/resolv.h"

#include "base/fs.h"
#include "base/str.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <string.h>

#define RESOLV_MAX_SIZE (256u * 1024)

typedef struct ResolvParts {
        char *nameservers[RESOLV_MAX_NAMESERVERS];
        size_t n_nameservers;
        bool saw_loopback;        /* a nameserver only the host itself can reach */
        char **other;             /* search, domain, options lines, verbatim */
} ResolvParts;

static void resolv_parts_done(ResolvParts *p)
{
        for (size_t i = 0; i < p->n_nameservers; i++)
                free(p->nameservers[i]);
        strv_free(p->other);
}

/* Next whitespace-separated word of *p, copied into buf (truncated). */
static const char *next_word(const char **p, char *buf, size_t size)
{
        const char *s = *p;
        while (*s == ' ' || *s == '\t')
                s++;
        size_t n = strcspn(s, " \t");
        if (n == 0)
                return NULL;
        snprintf(buf, size, "%.*s", (int) n, s);
        *p = s + n;
        return buf;
}

static int parts_add_nameserver(ResolvParts *p, const char *addr)
{
        struct in_addr a;

        if (inet_pton(AF_INET, addr, &a) != 1)
                return 0; /* IPv6 or junk: unreachable from a workspace */
        if ((ntohl(a.s_addr) >> 24) == 127) {
                p->saw_loopback = true;
                return 0;
        }
        for (size_t i = 0; i < p->n_nameservers; i++)
                if (streq(p->nameservers[i], addr))
                        return 0;
        if (p->n_nameservers >= RESOLV_MAX_NAMESERVERS)
                return 0;
        p->nameservers[p->n_nameservers] = strdup(addr);
        if (!p->nameservers[p->n_nameservers])
                return -ENOMEM;
        p->n_nameservers++;
        return 0;
}

/* Parse the text of one resolv.conf. Comments, blank lines and unknown
 * keywords are dropped; nothing in the file can inject other content. */
static int resolv_parse(const char *text, ResolvParts *p, bool keep_other)
{
        const char *line = text;
        while (line && *line) {
                const char *end = strchr(line, '\n');
                size_t len = end ? (size_t) (end - line) : strlen(line);
                _cleanup_free_ char *l = strndup(line, len);
                if (!l)
                        return -ENOMEM;
                line = end ? end + 1 : NULL;

                /* Strip a trailing \r and comments */
                l[strcspn(l, "#;\r")] = 0;
                const char *q = l;
                char word[64], arg[256];
                if (!next_word(&q, word, sizeof word))
                        continue;
                if (streq(word, "nameserver")) {
                        if (next_word(&q, arg, sizeof arg) && parts_add_nameserver(p, arg) < 0)
                                return -ENOMEM;
                } else if (keep_other && (streq(word, "search") || streq(word, "domain") || streq(word, "options"))) {
                        /* Normalise spacing; keep the arguments as they are. */
                        _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
                        strbuf_puts(&b, word);
                        while (next_word(&q, arg, sizeof arg)) {
                                strbuf_putc(&b, ' ');
                                strbuf_puts(&b, arg);
                        }
                        char *s = strbuf_steal(&b);
                        if (!s || strv_consume(&p->other, s) < 0)
                                return -ENOMEM;
                }
        }
        return 0;
}

int resolv_build(const char *host_text, const char *upstream_text, char **ret, Error *err)
{
        _cleanup_(resolv_parts_done) ResolvParts host = {}, upstream = {};
        int r;

        r = resolv_parse(host_text ? host_text : "", &host, true);
        if (r < 0)
                return error_setc(err, -r, "parsing %s", RESOLV_HOST_PATH);
        /* A loopback stub only forwards to its upstreams; ask those
         * directly, after any directly reachable servers of the host. */
        if (host.saw_loopback && upstream_text) {
                r = resolv_parse(upstream_text, &upstream, false);
                if (r < 0)
                        return error_setc(err, -r, "parsing %s", RESOLV_RESOLVED_UPSTREAM_PATH);
                for (size_t i = 0; i < upstream.n_nameservers; i++)
                        if (parts_add_nameserver(&host, upstream.nameservers[i]) < 0)
                                return error_setc(err, ENOMEM, "building resolv.conf");
        }
        if (host.n_nameservers == 0)
                return error_set(err, ENOENT,
                                 "no DNS server a workspace can reach: %s lists %s, and %s %s; "
                                 "configure an IPv4 nameserver that is not on 127.0.0.0/8",
                                 RESOLV_HOST_PATH, host.saw_loopback ? "only loopback or IPv6 servers" : "no IPv4 server",
                                 RESOLV_RESOLVED_UPSTREAM_PATH,
                                 !host.saw_loopback ? "was not needed"
                                 : upstream_text    ? "lists no usable upstream server"
                                                    : "does not exist");

        _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
        strbuf_puts(&b, "# Generated by Enclave from the host's " RESOLV_HOST_PATH "\n");
        for (size_t i = 0; i < host.n_nameservers; i++)
                strbuf_printf(&b, "nameserver %s\n", host.nameservers[i]);
        STRV_FOREACH(l, host.other)
                strbuf_printf(&b, "%s\n", *l);
        char *s = strbuf_steal(&b);
        if (!s)
                return error_setc(err, ENOMEM, "building resolv.conf");
        *ret = s;
        return 0;
}

int resolv_build_from_files(const char *host_path, const char *upstream_path, char **ret, Error *err)
{
        _cleanup_free_ char *host = NULL, *upstream = NULL;
        int r;

        r = read_full_file(host_path, RESOLV_MAX_SIZE, &host, NULL);
        if (r == -ENOENT)
                host = NULL; /* no resolv.conf means no servers; resolv_build says so */
        else if (r < 0)
                return error_setc(err, -r, "reading %s", host_path);
        r = read_full_file(upstream_path, RESOLV_MAX_SIZE, &upstream, NULL);
        if (r < 0 && r != -ENOENT)
                return error_setc(err, -r, "reading %s", upstream_path);
        return resolv_build(host, upstream, ret, err);
}

int resolv_write_if_changed(const char *path, const char *content, bool *ret_changed, Error *err)
{
        _cleanup_free_ char *old = NULL;
        size_t len = strlen(content), old_len = 0;
        int r;

        r = read_full_file(path, RESOLV_MAX_SIZE, &old, &old_len);
        if (r >= 0 && old_len == len && memcmp(old, content, len) == 0) {
                if (ret_changed)
                        *ret_changed = false;
                return 0;
        }
        r = write_file_atomic(path, content, len, 0644);
        if (r < 0)
                return error_setc(err, -r, "writing %s", path);
        if (ret_changed)
                *ret_changed = true;
        return 0;
}
