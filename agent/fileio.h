/* Whole-file writes that a crash can never leave half done. */
#pragma once

#include <sys/types.h>

#include "macro.h"

/* Writes data to path atomically with the given mode: a temp file ".NAME.XXXXXX" in the same
 * directory, fsync, rename over path, fsync of the directory. On failure the temp file is removed
 * and path is untouched (-errno). */
int fileio_write_atomic(const char *path, const char *data, size_t size, mode_t mode);
