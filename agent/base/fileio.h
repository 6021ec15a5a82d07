/* Whole-file reads with a size limit, and writes that a crash can never leave half done. */
#pragma once

#include <stdio.h>
#include <sys/types.h>

#include "base/macro.h"

/* Writes data to path atomically with the given mode: a temp file ".NAME.XXXXXX" in the same
 * directory (owned as fileio_adopt_owner() says), fsync, rename over path, fsync of the
 * directory. On failure the temp file is removed
 * and path is untouched (-errno). */
int fileio_write_atomic(const char *path, const char *data, size_t size, mode_t mode);

/* Writes what a file's content is made of, to the stream it is given; 0 or -errno. */
typedef int (*fileio_fill_fn)(FILE *f, void *userdata);

/* As fileio_write_atomic(), with the content written by fill(f, userdata) through a buffered
 * stream as it is made, so that a large file is never held whole in memory. A failure of fill
 * or of a write leaves path untouched. */
int fileio_write_atomic_with(const char *path, mode_t mode, fileio_fill_fn fill, void *userdata);

/* Run as root, gives the file behind fd the owner and group of directory when that is another
 * user: a manual run as root must not leave files the service's user cannot replace or read.
 * A no-op for other users and for root's own directories; -errno. */
int fileio_adopt_owner(int fd, const char *directory);

/* Creates directory with mode, or accepts an existing directory (-ENOTDIR for anything else). */
int fileio_ensure_directory(const char *directory, mode_t mode);

/* Reads the rest of fd into a new NUL-terminated buffer of at most max bytes: -EFBIG when there
 * is more (the file may have grown since fstat(), so the read itself is capped). size_hint (the
 * size fstat() saw) sizes the first allocation. With wipe set the buffer is allocated once at its
 * full size and wiped on failure, so no reallocation leaves a copy of a secret behind. */
int fileio_read_fd(int fd, size_t max, size_t size_hint, bool wipe, char **ret, size_t *ret_len);
