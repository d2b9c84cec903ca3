/* Archive formats by file name: pure, so the CLI can check an output
 * name (and tell its compression) without linking libarchive
 * (storage/archive.h reads and writes them). */
#pragma once

#include "base/error.h"

typedef enum TarballCompression {
        TARBALL_NONE,
        TARBALL_GZIP,
        TARBALL_ZSTD,
        _TARBALL_COMPRESSION_MAX,
        _TARBALL_COMPRESSION_INVALID = -EINVAL,
} TarballCompression;

/* By file name: .tar, .tar.gz or .tgz, .tar.zst or .tzst. */
int tarball_compression_from_name(const char *name, TarballCompression *ret, Error *err);
const char *tarball_compression_to_string(TarballCompression c); /* "none", "gzip", "zstd" */
