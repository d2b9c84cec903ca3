#include "config/envfile.h"
#include "spec/host-path.h"
#include "spec/values.h"
#include "base/fs.h"
#include "base/str.h"

#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct EnvLine {
        const char *file;
        unsigned line;
        Diagnostics *diag;
        bool bad;
} EnvLine;

static void problem(EnvLine *l, size_t col, const char *fmt, ...) _printf_(3, 4);
static void problem(EnvLine *l, size_t col, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        _cleanup_free_ char *msg = str_vprintf(fmt, ap);
        va_end(ap);
        (void) diagnostics_add(l->diag, l->file, l->line, (unsigned) col + 1, NULL, "%s", msg ? msg : fmt);
        l->bad = true;
}

/* The value after '=' (p .. end), into b. */
static void read_value(EnvLine *l, const char *start, const char *p, const char *end, StrBuf *b)
{
        if (p < end && (*p == '"' || *p == '\'')) {
                char q = *p++;
                for (; p < end && *p != q; p++) {
                        if (q == '"' && *p == '\\' && p + 1 < end) {
                                char c = *++p;
                                strbuf_putc(b, c == 'n' ? '\n' : c == 't' ? '\t' : c);
                        } else
                                strbuf_putc(b, *p);
                }
                if (p >= end) {
                        problem(l, (size_t) (p - start), "the value has no closing %c; close the quotes", q);
                        return;
                }
                for (p++; p < end && (*p == ' ' || *p == '\t'); p++)
                        ;
                if (p < end && *p != '#')
                        problem(l, (size_t) (p - start), "text after the closing quote: '%.*s'; quote the whole value",
                                (int) (end - p), p);
                return;
        }
        const char *e = p;
        for (const char *s = p; s < end; s++) {
                if (*s == '#' && (s == p || s[-1] == ' ' || s[-1] == '\t'))
                        break;
                e = s + 1;
        }
        while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
                e--;
        strbuf_append(b, p, (size_t) (e - p));
}

static char *parse_line(EnvLine *l, const char *start, const char *end)
{
        const char *p = start;
        while (p < end && (*p == ' ' || *p == '\t'))
                p++;
        if (p == end || *p == '#')
                return NULL;
        const char *after_export = startswith(p, "export ");
        if (after_export && after_export <= end)
                for (p = after_export; p < end && *p == ' '; p++)
                        ;
        const char *eq = memchr(p, '=', (size_t) (end - p));
        _cleanup_free_ char *name = strndup(p, (size_t) ((eq ? eq : end) - p));
        if (!name)
                return NULL;
        char *trim = name + strlen(name);
        while (trim > name && (trim[-1] == ' ' || trim[-1] == '\t'))
                *--trim = 0;
        if (!eq) {
                problem(l, (size_t) (p - start), "'%s' has no '='; write NAME=VALUE", name);
                return NULL;
        }
        if (!env_name_is_valid(name)) {
                problem(l, (size_t) (p - start),
                        "'%s' is not a valid variable name: use letters, digits and '_', not starting with a digit",
                        name);
                return NULL;
        }
        if (auth_token_provider(name)) {
                problem(l, (size_t) (p - start),
                        "'%s' is a token variable and must not be written into an env_file; store it with 'enclave "
                        "auth login' and list it in 'env_tokens'",
                        name);
                return NULL;
        }
        if (startswith(name, "ENCLAVE_")) {
                problem(l, (size_t) (p - start), "'%s': names starting with ENCLAVE_ are reserved for Enclave", name);
                return NULL;
        }
        _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
        strbuf_printf(&b, "%s=", name);
        const char *v = eq + 1;
        while (v < end && (*v == ' ' || *v == '\t'))
                v++;
        read_value(l, start, v, end, &b);
        if (b.oom)
                return NULL;
        return strbuf_steal(&b);
}

/* Set "NAME=value" in *env, replacing an entry of the same name. */
static int env_put(char ***env, char *entry)
{
        size_t n = (size_t) (strchr(entry, '=') - entry) + 1;
        for (char **e = *env; e && *e; e++)
                if (strncmp(*e, entry, n) == 0) {
                        free(*e);
                        *e = entry;
                        return 0;
                }
        return strv_consume(env, entry);
}

int envfile_parse(const char *data, size_t len, const char *display, Diagnostics *diag, char ***ret_entries)
{
        EnvLine l = { .file = display, .diag = diag };
        _cleanup_strv_free_ char **env = NULL;
        if (memchr(data, 0, len)) {
                (void) diagnostics_add(diag, display, 0, 0, NULL, "the file holds a NUL byte; an env_file is text");
                return -EINVAL;
        }
        for (const char *p = data, *end = data + len; p < end;) {
                const char *nl = memchr(p, '\n', (size_t) (end - p));
                const char *e = nl ? nl : end;
                if (e > p && e[-1] == '\r')
                        e--;
                l.line++;
                char *entry = parse_line(&l, p, e);
                if (entry && env_put(&env, entry) < 0)
                        return -ENOMEM;
                p = nl ? nl + 1 : end;
        }
        if (l.bad)
                return -EINVAL;
        if (!env && !(env = calloc(1, sizeof(char *))))
                return -ENOMEM;
        *ret_entries = TAKE_PTR(env);
        return 0;
}

/* Where the file behind fd is, for the containment check. */
static char *fd_path(int fd)
{
        char proc[64], buf[PATH_MAX];
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
        ssize_t n = readlink(proc, buf, sizeof buf - 1);
        if (n <= 0)
                return NULL;
        buf[n] = 0;
        return strdup(buf);
}

int envfile_load(const char *path, const char *display, const char *within, const char *ef_file, unsigned line,
                 unsigned col, Diagnostics *diag, char ***ret_entries)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        struct stat st;
        const char *why = NULL;
        _cleanup_free_ char *opened = NULL;
        if (fd < 0)
                why = strerror(errno);
        else if (fstat(fd, &st) < 0)
                why = strerror(errno);
        else if (!S_ISREG(st.st_mode))
                why = "not a regular file";
        else if (within && (!(opened = fd_path(fd)) || !hostdir_path_within(opened, within))) {
                (void) diagnostics_add(diag, ef_file, line, col, NULL,
                                       "env_file '%s' leaves the project directory (it resolves to %s); a relative "
                                       "path must stay below %s, write a file elsewhere as an absolute path",
                                       display, opened ? opened : "?", within);
                return -EINVAL;
        }
        else if ((uint64_t) st.st_size > ENVFILE_MAX_SIZE)
                why = "larger than 1 MiB";
        _cleanup_free_ char *data = NULL;
        size_t len = 0;
        if (!why && read_full_fd(fd, ENVFILE_MAX_SIZE, &data, &len) < 0)
                why = "cannot be read";
        if (why) {
                (void) diagnostics_add(diag, ef_file, line, col, NULL,
                                       "env_file '%s': %s; create it, or remove env_file", display, why);
                return -EINVAL;
        }
        return envfile_parse(data, len, display, diag, ret_entries);
}
