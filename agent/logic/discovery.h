/* How a pass finds the instances of a region's revoked key pairs with the fewest pages (pure). */
#pragma once

#include "base/hashmap.h"

/* DescribeInstances page size, both by key pair (MaxResults) and for a region (PageSize). */
#define DISCOVERY_PAGE_SIZE 100U
/* A region listing whose TotalCount claims more is not believed (and not paged). */
#define DISCOVERY_REGION_MAX 1000000U

enum discovery_strategy {
        DISCOVERY_BY_KEYPAIR,   /* DescribeInstances by KeyPairName, for each revoked key pair */
        DISCOVERY_LIST_REGION,  /* the whole region listed once, matched locally */
        DISCOVERY_PROBE,        /* the region's first page decides (its TotalCount) and is kept */
        _DISCOVERY_STRATEGY_MAX,
};

const char *discovery_strategy_to_string(enum discovery_strategy s);

/* What earlier passes saw: instances per region, and per key pair of a region. */
struct discovery_memory;

int discovery_memory_new(struct discovery_memory **ret);
struct discovery_memory *discovery_memory_free(struct discovery_memory *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct discovery_memory *, discovery_memory_free);

/* Records how many instances region has (keypair NULL) or are bound to keypair there; -ENOMEM,
 * -EINVAL for an empty name or a region name holding '/'. */
int discovery_memory_set(struct discovery_memory *m, const char *region, const char *keypair, size_t count);
/* The count recorded for region (keypair NULL) or keypair there; false when none was. */
bool discovery_memory_get(const struct discovery_memory *m, const char *region, const char *keypair,
                          size_t *ret);

/* Whether a count was added or changed since the memory was made, read or last marked saved. */
bool discovery_memory_changed(const struct discovery_memory *m);
void discovery_memory_mark_saved(struct discovery_memory *m);

/* The memory as JSON text (new string): {"version":1,"regions":{"R":{"instances":N,
 * "keypairs":{"K":N}}}} ("instances" only where the region's size was seen); -ENOMEM. */
int discovery_memory_to_json(const struct discovery_memory *m, char **ret);
/* Adds the counts of that JSON text to m. -EBADMSG (*error says why, static) when it is not such
 * a record or a count exceeds DISCOVERY_REGION_MAX; m may then hold part of it. -ENOMEM. */
int discovery_memory_from_json(struct discovery_memory *m, const char *text, size_t size, const char **error);

/* Pages a listing of n instances takes (an empty listing still takes one). */
size_t discovery_pages(size_t n);

/* Pages of listing each of the n key pairs of region by name; a key pair never seen counts one. */
size_t discovery_keypair_pages(const struct discovery_memory *m, const char *region, char *const *keypairs,
                               size_t n);

/* The cheaper strategy for region's n revoked key pairs (m may be NULL): a known region size
 * decides at once; with one key pair listing it by name never costs more; otherwise a first
 * page of the region tells its size (DISCOVERY_PROBE). */
enum discovery_strategy discovery_choose(const struct discovery_memory *m, const char *region,
                                         char *const *keypairs, size_t n);

/* After a probe: whether listing a region of total instances beats keypair_pages by name, given
 * that its first page is already in hand. */
bool discovery_listing_wins(size_t total, size_t keypair_pages);
