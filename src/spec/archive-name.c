/* Archive formats by file name (archive-name.h). */
#include "spec/archive-name.h"

#include "base/str.h"

static const char *const compression_names[_TARBALL_COMPRESSION_MAX] = {
        [TARBALL_NONE] = "none",
        [TARBALL_GZIP] = "gzip",
        [TARBALL_ZSTD] = "zstd",
};

const char *tarball_compression_to_string(TarballCompression c)
{
        if (c < 0 || c >= _TARBALL_COMPRESSION_MAX)
                return NULL;
        return compression_names[c];
}

int tarball_compression_from_name(const char *name, TarballCompression *ret, Error *err)
{
        if (name && endswith(name, ".tar"))
                *ret = TARBALL_NONE;
        else if (name && (endswith(name, ".tar.gz") || endswith(name, ".tgz")))
                *ret = TARBALL_GZIP;
        else if (name && (endswith(name, ".tar.zst") || endswith(name, ".tzst")))
                *ret = TARBALL_ZSTD;
        else
                return error_set(err, EINVAL, "cannot tell the archive format of \"%s\": name it .tar, .tar.gz (.tgz) or .tar.zst",
                                 name ? name : "");
        return 0;
}
