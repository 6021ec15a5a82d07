/* The discovery memory (region sizes seen by earlier passes) kept in StateDirectory/discovery.json,
 * so that a run after the first needs no probe page per region. A cache: losing it costs pages,
 * never correctness. */
#pragma once

#include "logic/discovery.h"

/* A new memory holding what directory/discovery.json records. A missing file gives an empty one;
 * so does an unreadable, oversized or corrupt one, logged with its path and why (the next save
 * replaces it). Fails with -ENOMEM only. */
int discovery_file_load(const char *directory, struct discovery_memory **ret);

/* Writes m to directory/discovery.json if it changed since it was loaded or saved: temp file
 * (0600), fsync, rename, fsync of the directory. */
int discovery_file_save(const char *directory, struct discovery_memory *m);
