/* How a pass finds the instances of a region's revoked key pairs with the fewest pages (pure). */
#include <jansson.h>

#include "logic/discovery.h"

#define MEMORY_VERSION 1

struct discovery_memory {
        struct hashmap *counts; /* "region" or "region/keypair" -> struct count */
        bool changed;           /* since discovery_memory_mark_saved() */
};

struct count {
        size_t n;
        char *keypair;          /* into key, after the region's '/'; NULL for the region itself */
        char key[];             /* "region" or "region/keypair"; a region name has no '/' */
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
        _cleanup_free_ char *key = NULL;
        struct count *c;

        if (isempty(region) || strchr(region, '/') || (keypair && isempty(keypair)))
                return -EINVAL;
        key = memory_key(region, keypair);
        if (!key)
                return -ENOMEM;
        c = hashmap_get(m->counts, key);
        if (c) {
                m->changed |= c->n != count;
                c->n = count;
                return 0;
        }
        c = malloc(sizeof(*c) + strlen(key) + 1);
        if (!c)
                return -ENOMEM;
        c->n = count;
        strcpy(c->key, key);
        c->keypair = keypair ? c->key + strlen(region) + 1 : NULL;
        if (hashmap_put(m->counts, c->key, c) < 0) {
                free(c);
                return -ENOMEM;
        }
        m->changed = true;
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

bool discovery_memory_changed(const struct discovery_memory *m) {
        return m->changed;
}

void discovery_memory_mark_saved(struct discovery_memory *m) {
        m->changed = false;
}

/* ---- the JSON form: {"version":1,"regions":{"R":{"instances":N,"keypairs":{"K":N}}}} ---------- */

/* The object of region r in regions, created if needed; NULL on ENOMEM. */
static json_t *region_object(json_t *regions, const char *key, size_t region_len) {
        _cleanup_free_ char *name = strndup(key, region_len);
        json_t *o = name ? json_object_get(regions, name) : NULL;

        if (o || !name)
                return o;
        o = json_pack("{s:o}", "keypairs", json_object());
        return o && json_object_set_new(regions, name, o) == 0 ? o : NULL;
}

static int count_to_json(json_t *regions, const struct count *c) {
        size_t region_len = c->keypair ? (size_t) (c->keypair - c->key) - 1 : strlen(c->key);
        json_t *o = region_object(regions, c->key, region_len);

        if (!o)
                return -ENOMEM;
        if (!c->keypair)
                return json_object_set_new(o, "instances", json_integer((json_int_t) c->n)) < 0 ? -ENOMEM : 0;
        return json_object_set_new(json_object_get(o, "keypairs"), c->keypair, json_integer((json_int_t) c->n)) < 0
                       ? -ENOMEM
                       : 0;
}

int discovery_memory_to_json(const struct discovery_memory *m, char **ret) {
        json_t *root = json_pack("{s:i, s:o}", "version", MEMORY_VERSION, "regions", json_object());
        json_t *regions = json_object_get(root, "regions");
        const struct count *c;
        size_t i = 0;
        int r = root ? 0 : -ENOMEM;

        while (r >= 0 && hashmap_iterate(m->counts, &i, NULL, (void **) &c))
                r = count_to_json(regions, c);
        *ret = r < 0 ? NULL : json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(root);
        return *ret ? 0 : -ENOMEM;
}

/* A count from the JSON form: an integer within DISCOVERY_REGION_MAX. */
static bool count_from_json(const json_t *v, size_t *ret) {
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > DISCOVERY_REGION_MAX)
                return false;
        *ret = (size_t) json_integer_value(v);
        return true;
}

static int region_from_json(struct discovery_memory *m, const char *region, const json_t *o, const char **error) {
        const json_t *instances = json_object_get(o, "instances"), *keypairs = json_object_get(o, "keypairs"), *v;
        const char *keypair;
        size_t n;
        int r;

        if (!json_is_object(o) || !json_is_object(keypairs) || (instances && !count_from_json(instances, &n))) {
                *error = "a region is not {\"instances\": N, \"keypairs\": {...}}";
                return -EBADMSG;
        }
        if (instances && (r = discovery_memory_set(m, region, NULL, n)) < 0)
                goto fail;
        json_object_foreach((json_t *) keypairs, keypair, v) {
                if (!count_from_json(v, &n)) {
                        *error = "a key pair's count is not an integer in range";
                        return -EBADMSG;
                }
                r = discovery_memory_set(m, region, keypair, n);
                if (r < 0)
                        goto fail;
        }
        return 0;
fail:
        *error = r == -ENOMEM ? "out of memory" : "an empty name, or a region name with '/'";
        return r == -ENOMEM ? r : -EBADMSG;
}

int discovery_memory_from_json(struct discovery_memory *m, const char *text, size_t size, const char **error) {
        json_t *root = json_loadb(text, size, JSON_REJECT_DUPLICATES, NULL), *regions, *o;
        const char *region;
        int r = 0;

        regions = json_object_get(root, "regions");
        if (!json_is_object(root) || json_integer_value(json_object_get(root, "version")) != MEMORY_VERSION ||
            !json_is_object(regions)) {
                *error = root ? "not a version 1 record of region sizes" : "not JSON";
                json_decref(root);
                return -EBADMSG;
        }
        json_object_foreach(regions, region, o) {
                r = region_from_json(m, region, o, error);
                if (r < 0)
                        break;
        }
        json_decref(root);
        m->changed = false;
        return r;
}

/* ---- the choice ---------------------------------------------------------------------------- */

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
