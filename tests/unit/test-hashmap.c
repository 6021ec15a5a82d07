/* Unit tests for hashmap.c: basic operations, 100k keys, removal, iteration, tombstone reuse. */
#include "base/hashmap.h"
#include "tests.h"

#define N_KEYS 100000
#define KEY_SIZE 16

static char keys[N_KEYS][KEY_SIZE];

/* The value stored for key i: never NULL. */
static void *value_of(size_t i) {
        return (void *) (uintptr_t) (i + 1);
}

/* Distinct, instance-id-like keys (an odd multiplier is a bijection). */
static void fill_keys(void) {
        for (size_t i = 0; i < N_KEYS; i++)
                snprintf(keys[i], KEY_SIZE, "i-%zx", i * 2654435761U);
}

static void test_basic(void) {
        _cleanup_(hashmap_freep) struct hashmap *h = NULL;
        size_t i = 0;
        const char *k;
        void *v;

        CHECK_INTEQ(hashmap_new(&h), 0);
        CHECK_INTEQ(hashmap_size(h), 0);
        CHECK(!hashmap_get(h, "a"));
        CHECK(!hashmap_remove(h, "a"));
        CHECK(!hashmap_iterate(h, &i, &k, &v));

        CHECK_INTEQ(hashmap_put(h, "a", value_of(0)), 0);
        CHECK_INTEQ(hashmap_put(h, "", value_of(1)), 0);
        CHECK_INTEQ(hashmap_size(h), 2);
        CHECK(hashmap_get(h, "a") == value_of(0));
        CHECK(hashmap_get(h, "") == value_of(1));
        CHECK(!hashmap_get(h, "A"));

        /* replacing keeps the size */
        CHECK_INTEQ(hashmap_put(h, "a", value_of(7)), 0);
        CHECK_INTEQ(hashmap_size(h), 2);
        CHECK(hashmap_get(h, "a") == value_of(7));

        /* keys are compared by content, not by pointer */
        char copy[] = "a";
        CHECK(hashmap_get(h, copy) == value_of(7));

        CHECK(hashmap_remove(h, "a") == value_of(7));
        CHECK(!hashmap_remove(h, "a"));
        CHECK(!hashmap_get(h, "a"));
        CHECK_INTEQ(hashmap_size(h), 1);

        i = 0;
        CHECK(hashmap_iterate(h, &i, &k, &v));
        CHECK_STREQ(k, "");
        CHECK(v == value_of(1));
        CHECK(!hashmap_iterate(h, &i, NULL, NULL));
        CHECK(!hashmap_free(NULL));
}

/* Counts how often iteration yields each key; returns the number of yields. */
static size_t iterate_all(const struct hashmap *h, unsigned *seen) {
        size_t i = 0, total = 0;
        const char *k;
        void *v;

        memset(seen, 0, N_KEYS * sizeof(*seen));
        while (hashmap_iterate(h, &i, &k, &v)) {
                size_t idx = (uintptr_t) v - 1;
                if (idx < N_KEYS && k == keys[idx])
                        seen[idx]++;
                total++;
        }
        return total;
}

static void test_many(void) {
        _cleanup_(hashmap_freep) struct hashmap *h = NULL;
        _cleanup_free_ unsigned *seen = calloc(N_KEYS, sizeof(*seen));
        size_t bad = 0;

        CHECK(seen);
        CHECK_INTEQ(hashmap_new(&h), 0);
        for (size_t i = 0; i < N_KEYS; i++)
                bad += hashmap_put(h, keys[i], value_of(i)) != 0;
        CHECK_INTEQ(bad, 0);
        CHECK_INTEQ(hashmap_size(h), N_KEYS);
        for (size_t i = 0; i < N_KEYS; i++)
                bad += hashmap_get(h, keys[i]) != value_of(i);
        CHECK_INTEQ(bad, 0);
        CHECK(!hashmap_get(h, "i-missing"));

        /* remove the even ones */
        for (size_t i = 0; i < N_KEYS; i += 2)
                bad += hashmap_remove(h, keys[i]) != value_of(i);
        CHECK_INTEQ(bad, 0);
        CHECK_INTEQ(hashmap_size(h), N_KEYS / 2);
        for (size_t i = 0; i < N_KEYS; i++)
                bad += hashmap_get(h, keys[i]) != (i % 2 ? value_of(i) : NULL);
        CHECK_INTEQ(bad, 0);

        /* iteration yields each remaining key exactly once */
        CHECK_INTEQ(iterate_all(h, seen), N_KEYS / 2);
        for (size_t i = 0; i < N_KEYS; i++)
                bad += seen[i] != i % 2;
        CHECK_INTEQ(bad, 0);

        /* putting the removed keys back reuses their tombstones */
        for (size_t i = 0; i < N_KEYS; i += 2)
                bad += hashmap_put(h, keys[i], value_of(i)) != 0;
        CHECK_INTEQ(bad, 0);
        CHECK_INTEQ(hashmap_size(h), N_KEYS);
        CHECK_INTEQ(iterate_all(h, seen), N_KEYS);
        for (size_t i = 0; i < N_KEYS; i++)
                bad += seen[i] != 1 || hashmap_get(h, keys[i]) != value_of(i);
        CHECK_INTEQ(bad, 0);

        /* empty it completely */
        for (size_t i = 0; i < N_KEYS; i++)
                bad += hashmap_remove(h, keys[i]) != value_of(i);
        CHECK_INTEQ(bad, 0);
        CHECK_INTEQ(hashmap_size(h), 0);
        CHECK_INTEQ(iterate_all(h, seen), 0);
}

/* Endless churn through a small map: tombstones must be recycled, never fill the table (a full
 * table would make lookups of missing keys loop forever). */
static void test_churn(void) {
        _cleanup_(hashmap_freep) struct hashmap *h = NULL;
        size_t bad = 0;

        CHECK_INTEQ(hashmap_new(&h), 0);
        for (size_t i = 0; i < N_KEYS; i++) {
                bad += hashmap_put(h, keys[i], value_of(i)) != 0;
                if (i >= 8)
                        bad += hashmap_remove(h, keys[i - 8]) != value_of(i - 8);
                bad += hashmap_get(h, "i-missing") != NULL;
                bad += hashmap_size(h) != (i >= 8 ? 8 : i + 1);
        }
        CHECK_INTEQ(bad, 0);
        for (size_t i = N_KEYS - 8; i < N_KEYS; i++)
                CHECK(hashmap_get(h, keys[i]) == value_of(i));
}

static unsigned values_freed;

static void count_free(void *value) {
        values_freed++;
        free(value);
}

/* hashmap_free_with() frees each value once: not those removed before, not empty slots. */
static void test_free_with(void) {
        struct hashmap *h = NULL;

        CHECK_INTEQ(hashmap_new(&h), 0);
        for (size_t i = 0; i < 20; i++) {
                char *v = strdup(keys[i]);
                CHECK(v && hashmap_put(h, v, v) == 0);
        }
        free(hashmap_remove(h, keys[3]));
        values_freed = 0;
        CHECK(!hashmap_free_with(h, count_free));
        CHECK_INTEQ(values_freed, 19);
        CHECK(!hashmap_free_with(NULL, count_free));
        CHECK_INTEQ(values_freed, 19);
}

static int compare_values(const void *a, const void *b) {
        return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* The values in order, removed ones (tombstones) left out, NULL after the last. */
static void test_sorted_values(void) {
        _cleanup_(hashmap_freep) struct hashmap *h = NULL;
        const char *values[] = { "delta", "alpha", "charlie", "bravo", "echo" };
        _cleanup_free_ void **sorted = NULL, **empty = NULL;
        size_t n = 99;

        CHECK_INTEQ(hashmap_new(&h), 0);
        empty = hashmap_sorted_values(h, compare_values, &n);
        CHECK(empty && !empty[0] && n == 0);
        for (size_t i = 0; i < ELEMENTSOF(values); i++)
                CHECK_INTEQ(hashmap_put(h, values[i], (void *) values[i]), 0);
        CHECK(hashmap_remove(h, "charlie"));
        sorted = hashmap_sorted_values(h, compare_values, &n);
        CHECK(sorted && n == 4);
        CHECK(streq(sorted[0], "alpha") && streq(sorted[1], "bravo") && streq(sorted[2], "delta") &&
              streq(sorted[3], "echo") && !sorted[4]);
}

int main(void) {
        fill_keys();
        test_basic();
        test_many();
        test_churn();
        test_free_with();
        test_sorted_values();
        TESTS_DONE();
}
