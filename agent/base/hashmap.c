/* A string-keyed hash map with open addressing and linear probing; keys are owned by the caller. */
#include "base/hashmap.h"

struct hashmap_slot {
        const char *key;        /* NULL = empty, TOMBSTONE = removed */
        void *value;
};

/* The key of a removed slot: probing goes on past it, an insert may reuse it. A marker address
 * rather than a flag keeps slots at two words (a queue of 100,000 entries has 262,144 slots). */
static const char tombstone_marker;
#define TOMBSTONE (&tombstone_marker)

static bool slot_holds_item(const struct hashmap_slot *s) {
        return s->key && s->key != TOMBSTONE;
}

struct hashmap {
        struct hashmap_slot *slots;
        size_t n_slots;         /* a power of two */
        size_t n_items;
        size_t n_used;          /* items plus tombstones */
};

#define HASHMAP_MIN_SLOTS 16

/* FNV-1a: small and good enough for instance ids and key pair names. */
static size_t hash_string(const char *s) {
        uint64_t h = 1469598103934665603ULL;
        for (; *s; s++)
                h = (h ^ (uint8_t) *s) * 1099511628211ULL;
        return (size_t) h;
}

int hashmap_new(struct hashmap **ret) {
        struct hashmap *h = calloc(1, sizeof(*h));
        if (!h)
                return -ENOMEM;
        h->slots = calloc(HASHMAP_MIN_SLOTS, sizeof(*h->slots));
        if (!h->slots) {
                free(h);
                return -ENOMEM;
        }
        h->n_slots = HASHMAP_MIN_SLOTS;
        *ret = h;
        return 0;
}

struct hashmap *hashmap_free_with(struct hashmap *h, void (*free_value)(void *value)) {
        for (size_t i = 0; h && i < h->n_slots; i++)
                if (slot_holds_item(&h->slots[i]))
                        free_value(h->slots[i].value);
        return hashmap_free(h);
}

struct hashmap *hashmap_free(struct hashmap *h) {
        if (h) {
                free(h->slots);
                free(h);
        }
        return NULL;
}

/* The slot holding key, or the first free slot on its probe path (tombstones reused). */
static struct hashmap_slot *find_slot(const struct hashmap *h, const char *key, bool for_insert) {
        size_t mask = h->n_slots - 1, i = hash_string(key) & mask;
        struct hashmap_slot *reuse = NULL;

        for (;; i = (i + 1) & mask) {
                struct hashmap_slot *s = &h->slots[i];
                if (!s->key)
                        return for_insert ? (reuse ? reuse : s) : NULL;
                if (s->key == TOMBSTONE) {
                        if (!reuse)
                                reuse = s;
                        continue;
                }
                if (streq(s->key, key))
                        return s;
        }
}

static int resize(struct hashmap *h, size_t n_slots) {
        struct hashmap_slot *old = h->slots;
        size_t old_n = h->n_slots;

        h->slots = calloc(n_slots, sizeof(*h->slots));
        if (!h->slots) {
                h->slots = old;
                return -ENOMEM;
        }
        h->n_slots = n_slots;
        h->n_used = h->n_items;
        for (size_t i = 0; i < old_n; i++)
                if (slot_holds_item(&old[i]))
                        *find_slot(h, old[i].key, true) = old[i];
        free(old);
        return 0;
}

int hashmap_put(struct hashmap *h, const char *key, void *value) {
        struct hashmap_slot *s;

        if ((h->n_used + 1) * 4 > h->n_slots * 3) {
                size_t n = h->n_items * 2 >= h->n_slots / 2 ? h->n_slots * 2 : h->n_slots;
                int r = resize(h, n);
                if (r < 0)
                        return r;
        }
        s = find_slot(h, key, true);
        if (!slot_holds_item(s)) {
                if (!s->key)
                        h->n_used++;
                h->n_items++;
        }
        *s = (struct hashmap_slot) { .key = key, .value = value };
        return 0;
}

void *hashmap_get(const struct hashmap *h, const char *key) {
        struct hashmap_slot *s = find_slot(h, key, false);
        return s ? s->value : NULL;
}

void *hashmap_remove(struct hashmap *h, const char *key) {
        struct hashmap_slot *s = find_slot(h, key, false);
        void *v;

        if (!s)
                return NULL;
        v = s->value;
        *s = (struct hashmap_slot) { .key = TOMBSTONE };
        h->n_items--;
        return v;
}

size_t hashmap_size(const struct hashmap *h) {
        return h->n_items;
}

bool hashmap_iterate(const struct hashmap *h, size_t *i, const char **ret_key, void **ret_value) {
        for (; *i < h->n_slots; (*i)++) {
                const struct hashmap_slot *s = &h->slots[*i];
                if (!slot_holds_item(s))
                        continue;
                if (ret_key)
                        *ret_key = s->key;
                if (ret_value)
                        *ret_value = s->value;
                (*i)++;
                return true;
        }
        return false;
}

void **hashmap_sorted_values(const struct hashmap *h, int (*compare)(const void *, const void *), size_t *ret_n) {
        void **a = calloc(h->n_items + 1, sizeof(*a));
        size_t i = 0, n = 0;

        *ret_n = 0;
        if (!a)
                return NULL;
        while (hashmap_iterate(h, &i, NULL, &a[n]))
                n++;
        qsort(a, n, sizeof(*a), compare);
        *ret_n = n;
        return a;
}
