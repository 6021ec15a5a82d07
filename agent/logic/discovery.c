/* How a pass finds the instances of a region's revoked key pairs with the fewest pages (pure). */
#include "logic/discovery.h"

struct discovery_memory {
        struct hashmap *counts; /* "region" or "region/keypair" -> struct count */
};

struct count {
        size_t n;
        char key[];
};

const char *discovery_strategy_to_string(enum discovery_strategy s) {
        switch (s) {
        case DISCOVERY_BY_KEYPAIR:
                return "by-keypair";
        case DISCOVERY_LIST_REGION:
                return "list-region";
        case DISCOVERY_PROBE:
                return "probe";
        case _DISCOVERY_STRATEGY_MAX:
                break;
        }
        return NULL;
}

int discovery_memory_new(struct discovery_memory **ret) {
        struct discovery_memory *m = calloc(1, sizeof(*m));

        if (!m || hashmap_new(&m->counts) < 0) {
                free(m);
                return -ENOMEM;
        }
        *ret = m;
        return 0;
}

struct discovery_memory *discovery_memory_free(struct discovery_memory *m) {
        struct count *c;
        size_t i = 0;

        if (!m)
                return NULL;
        while (hashmap_iterate(m->counts, &i, NULL, (void **) &c))
                free(c);
        hashmap_free(m->counts);
        free(m);
        return NULL;
}

/* "region" or "region/keypair" into a new string; NULL on ENOMEM. */
static char *memory_key(const char *region, const char *keypair) {
        char *k;

        if (!keypair)
                return strdup(region);
        return asprintf(&k, "%s/%s", region, keypair) < 0 ? NULL : k;
}

int discovery_memory_set(struct discovery_memory *m, const char *region, const char *keypair, size_t count) {
        _cleanup_free_ char *key = memory_key(region, keypair);
        struct count *c;

        if (!key)
                return -ENOMEM;
        c = hashmap_get(m->counts, key);
        if (c) {
                c->n = count;
                return 0;
        }
        c = malloc(sizeof(*c) + strlen(key) + 1);
        if (!c)
                return -ENOMEM;
        c->n = count;
        strcpy(c->key, key);
        if (hashmap_put(m->counts, c->key, c) < 0) {
                free(c);
                return -ENOMEM;
        }
        return 0;
}

bool discovery_memory_get(const struct discovery_memory *m, const char *region, const char *keypair,
                          size_t *ret) {
        _cleanup_free_ char *key = m ? memory_key(region, keypair) : NULL;
        const struct count *c = key ? hashmap_get(m->counts, key) : NULL;

        if (!c)
                return false;
        *ret = c->n;
        return true;
}

size_t discovery_pages(size_t n) {
        return n == 0 ? 1 : (n + DISCOVERY_PAGE_SIZE - 1) / DISCOVERY_PAGE_SIZE;
}

size_t discovery_keypair_pages(const struct discovery_memory *m, const char *region, char *const *keypairs,
                               size_t n) {
        size_t pages = 0;

        for (size_t i = 0; i < n; i++) {
                size_t seen = 0;
                (void) discovery_memory_get(m, region, keypairs[i], &seen);
                pages += discovery_pages(seen);
        }
        return pages;
}

enum discovery_strategy discovery_choose(const struct discovery_memory *m, const char *region,
                                         char *const *keypairs, size_t n) {
        size_t total;

        /* A key pair's instances are a subset of the region's: one key pair is never cheaper
         * to find by listing the region. */
        if (n <= 1)
                return DISCOVERY_BY_KEYPAIR;
        if (discovery_memory_get(m, region, NULL, &total))
                /* On a tie, by key pair: each key pair's detaches can start as its listing ends. */
                return discovery_pages(total) < discovery_keypair_pages(m, region, keypairs, n) ? DISCOVERY_LIST_REGION
                                                                                                  : DISCOVERY_BY_KEYPAIR;
        return DISCOVERY_PROBE;
}

bool discovery_listing_wins(size_t total, size_t keypair_pages) {
        /* The probe page is page one of the listing, but a call wasted if the names win. */
        return discovery_pages(total) <= keypair_pages + 1;
}
