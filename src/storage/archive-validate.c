#include "storage/archive-validate.h"

#include "base/str.h"

#include <limits.h>
#include <string.h>

int tarball_path_normalize(const char *name, char **ret, Error *err)
{
        if (!name || !*name)
                return error_set(err, EINVAL, "archive member with an empty name");
        if (name[0] == '/')
                return error_set(err, EINVAL, "archive member \"%s\" has an absolute path", name);
        if (strlen(name) >= PATH_MAX)
                return error_set(err, EINVAL, "archive member name is too long");
        _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
        for (const char *p = name; *p;) {
                size_t n = strcspn(p, "/");
                if (n == 2 && p[0] == '.' && p[1] == '.')
                        return error_set(err, EINVAL, "archive member \"%s\" contains \"..\"", name);
                if (n > NAME_MAX)
                        return error_set(err, EINVAL, "archive member \"%s\" has a component longer than %d bytes",
                                         name, NAME_MAX);
                if (n > 0 && !(n == 1 && p[0] == '.')) {
                        if (b.len)
                                strbuf_putc(&b, '/');
                        strbuf_append(&b, p, n);
                }
                p += n;
                while (*p == '/')
                        p++;
        }
        if (b.oom)
                return error_set(err, ENOMEM, "out of memory");
        char *s = b.data ? strbuf_steal(&b) : strdup("");
        if (!s)
                return error_set(err, ENOMEM, "out of memory");
        *ret = s;
        return 0;
}

bool tarball_symlink_escapes(const char *path, const char *target)
{
        if (!target || target[0] == '/')
                return false;
        /* Depth of the link's directory below the root. */
        long depth = 0;
        for (const char *p = path; p && *p; p++)
                if (*p == '/')
                        depth++;
        for (const char *p = target; *p;) {
                size_t n = strcspn(p, "/");
                if (n == 2 && p[0] == '.' && p[1] == '.') {
                        if (--depth < 0)
                                return true;
                } else if (n > 0 && !(n == 1 && p[0] == '.'))
                        depth++;
                p += n;
                while (*p == '/')
                        p++;
        }
        return false;
}

bool tarball_xattr_allowed(const char *key)
{
        return key && (startswith(key, "user.") || startswith(key, "security.") ||
                       startswith(key, "trusted.") || streq(key, "system.posix_acl_access") ||
                       streq(key, "system.posix_acl_default"));
}

bool tarball_trusted_xattr_portable(const char *key)
{
        static const char *const kept[] = { "opaque", "redirect", "impure", "nlink", "uuid" };
        const char *k = key ? startswith(key, "trusted.overlay.") : NULL;
        for (size_t i = 0; k && i < ELEMENTSOF(kept); i++)
                if (streq(k, kept[i]))
                        return true;
        return false;
}
