/* Rootfs archives: a directory tree to and from tar, tar.gz or
 * tar.zst (libarchive, pax format).
 *
 * Export keeps numeric ownership (no user names: ids mean the same
 * inside every rootfs), modes, nanosecond times, xattrs, hard links,
 * device nodes, fifos and symlinks; sockets are skipped. The archive
 * is written 0600 (a rootfs holds /etc/shadow) to a temporary file
 * beside the output and renamed into place when complete.
 *
 * Import reads tar in any of those compressions (and xz), checks every
 * member (archive-validate.h) and creates it relative to directory fds
 * without ever following a symlink, in a staging directory; only a
 * complete, valid archive is renamed into place. Any refused member
 * fails the whole import and leaves nothing behind. Character and block
 * device nodes are dropped (counted in TarballStats.skipped_devices): a
 * rootfs never needs them, every workspace gets its own /dev, and a node
 * for a host disk is a way to it. The one exception is the 0:0 character
 * device, overlayfs's whiteout (a deletion in a snapshot of an upper
 * layer), which opens nothing. The tree may not grow beyond
 * TARBALL_IMPORT_MAX_BYTES (apparent file sizes) and TARBALL_IMPORT_MAX_ENTRIES,
 * nor beyond what the staging file system has free (less a reserve),
 * checked before every member is written: a few KB of compressed zeros
 * cannot fill the disk. */
#pragma once

#include "base/error.h"
#include "spec/archive-name.h"
#include "storage/progress.h"

typedef struct TarballStats {
        uint64_t entries;
        uint64_t bytes;           /* file data */
        uint64_t skipped_devices; /* import: character and block device nodes left out */
} TarballStats;

#define TARBALL_IMPORT_MAX_BYTES (64ULL << 30)
#define TARBALL_IMPORT_MAX_ENTRIES 20000000ULL
/* Left free on the staging file system after an import (at most; a
 * twentieth of a smaller file system). */
#define TARBALL_IMPORT_RESERVE_BYTES (256ULL << 20)
#define TARBALL_IMPORT_RESERVE_INODES 10000ULL

/* Write the tree below src_fd (a directory) to out_fd. */
int tarball_export_fd(int src_fd, int out_fd, TarballCompression c, const StorageMonitor *mon,
                      TarballStats *ret_stats, Error *err);

/* Write the tree at src to output (compression from its name),
 * atomically. An existing output is replaced only when replace is set. */
int tarball_export(const char *src, const char *output, bool replace, const StorageMonitor *mon,
                   TarballStats *ret_stats, Error *err);

/* Extract the archive read from in_fd into a new directory dest.
 * Staging happens in tmp_dir (NULL: dest's parent), which must be on
 * dest's file system. An existing dest is refused (-EEXIST) unless
 * replace, which swaps the new tree in atomically and removes the old. */
int tarball_import_fd(int in_fd, const char *dest, const char *tmp_dir, bool replace,
                      const StorageMonitor *mon, TarballStats *ret_stats, Error *err);

int tarball_import(const char *archive_path, const char *dest, const char *tmp_dir, bool replace,
                   const StorageMonitor *mon, TarballStats *ret_stats, Error *err);
