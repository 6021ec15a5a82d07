/* One keyrevoked at a time per StateDirectory: an flock on its lock file, which names the holder. */
#pragma once

#include "base/macro.h"

#define STATELOCK_FILE "keyrevoked.lock"

/* Takes the lock of directory (created 0700 if missing) without waiting and writes our pid into
 * the lock file; the lock lasts until *ret_fd is closed. -EBUSY when another process holds it
 * (logged, naming that process), other -errno (logged). */
int statelock_acquire(const char *directory, int *ret_fd);
