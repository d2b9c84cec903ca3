/* File data for the tree copy: a reflink (FICLONE) where the file
 * system allows, else copy_file_range in the kernel, else read/write;
 * holes in sparse files are kept. One CopyData per thread: it holds
 * what was learned about the file systems (no need to ask for a reflink
 * again after the first refusal) and the read/write buffer. */
#pragma once

#include "base/macro.h"

#include <sys/stat.h>

typedef struct CopyData {
        bool no_reflink;
        bool no_copy_range;
        char *buf; /* read/write fallback, allocated on first use */
} CopyData;

#define COPY_DATA_INIT { false, false, NULL }

void copy_data_done(CopyData *d);

/* Copy the data of src (described by st) into dst, a new empty file.
 * *ret_bytes: data bytes cloned or copied (holes not counted), also
 * when it fails; *ret_reflinked: the data was cloned. */
int copy_data(CopyData *d, int src, int dst, const struct stat *st, uint64_t *ret_bytes, bool *ret_reflinked);
