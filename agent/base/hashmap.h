/* A string-keyed hash map with open addressing; keys are owned by the caller. */
#pragma once

#include "base/macro.h"

struct hashmap;

int hashmap_new(struct hashmap **ret);
/* Frees the map, not the keys or values. */
struct hashmap *hashmap_free(struct hashmap *h);
/* Frees the map after calling free_value on every value (a value may own its key). */
struct hashmap *hashmap_free_with(struct hashmap *h, void (*free_value)(void *value));
DEFINE_TRIVIAL_CLEANUP_FUNC(struct hashmap *, hashmap_free);
/* Inserts or replaces; key must stay valid while it is in the map. */
int hashmap_put(struct hashmap *h, const char *key, void *value);
void *hashmap_get(const struct hashmap *h, const char *key);
/* Removes key; returns its value or NULL. */
void *hashmap_remove(struct hashmap *h, const char *key);
size_t hashmap_size(const struct hashmap *h);
/* The values, sorted with compare (as qsort() takes it: pointers to the values), in a new array
 * with a NULL after them; *ret_n of them. NULL on ENOMEM (*ret_n 0). */
void **hashmap_sorted_values(const struct hashmap *h, int (*compare)(const void *, const void *), size_t *ret_n);
/* Iteration: *i starts at 0; returns false at the end. Not stable across insertions; removing
 * items (hashmap_remove() leaves a tombstone in place) keeps it valid. */
bool hashmap_iterate(const struct hashmap *h, size_t *i, const char **ret_key, void **ret_value);
