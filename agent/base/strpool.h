/* One counted copy of each string that many objects hold alike: the region, key pair, list file
 * and outcome of thousands of queue entries. A copy lives as long as something points at it. */
#pragma once

#include "base/macro.h"

struct strpool;

int strpool_new(struct strpool **ret);
/* Frees the pool and every copy still in it. */
struct strpool *strpool_free(struct strpool *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct strpool *, strpool_free);

/* Points *slot at the pool's copy of s (s NULL: at nothing) and lets go of what *slot held, which
 * must be NULL or a copy from this pool. -ENOMEM leaves *slot as it was. */
int strpool_set(struct strpool *p, const char **slot, const char *s);

/* Lets go of what *slot holds (NULL or a copy from this pool) and clears it. */
void strpool_clear(struct strpool *p, const char **slot);

/* How many distinct strings the pool holds. */
size_t strpool_size(const struct strpool *p);
