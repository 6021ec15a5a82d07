/* Unit tests for discovery.c: which way a region's instances are found, the page arithmetic, and
 * the memory's JSON form. */
#include "logic/discovery.h"
#include "tests.h"

#define MAX_KEYPAIRS 8

/* Counts an earlier pass saw: the region (keypair NULL) or one key pair of it. */
struct seen {
        const char *keypair;
        size_t count;
};

static const struct {
        const char *what;
        size_t n_keypairs;
        bool region_known;
        struct seen seen[MAX_KEYPAIRS];
        enum discovery_strategy strategy;
} choose_cases[] = {
        { "one key pair is never cheaper by listing the region", 1, true, { { NULL, 100 } }, DISCOVERY_BY_KEYPAIR },
        { "one key pair, region unknown", 1, false, {}, DISCOVERY_BY_KEYPAIR },
        { "no key pair at all", 0, false, {}, DISCOVERY_BY_KEYPAIR },
        { "several key pairs, region unknown: its first page decides", 2, false, {}, DISCOVERY_PROBE },
        { "incident: 40 names, 2,000 instances", 40, true, { { NULL, 2000 } }, DISCOVERY_LIST_REGION },
        { "40 names, 4,000 instances: 40 pages either way, by key pair wins the tie", 40, true, { { NULL, 4000 } },
          DISCOVERY_BY_KEYPAIR },
        { "large: 8 names of 500 instances in 20,000", 8, true,
          { { NULL, 20000 }, { "kp-0", 500 }, { "kp-1", 500 }, { "kp-2", 500 }, { "kp-3", 500 }, { "kp-4", 500 },
            { "kp-5", 500 }, { "kp-6", 500 } },
          DISCOVERY_BY_KEYPAIR },
        { "two big key pairs fill the region", 2, true, { { NULL, 400 }, { "kp-0", 199 }, { "kp-1", 201 } },
          DISCOVERY_LIST_REGION },
        { "an empty region: one page", 3, true, { { NULL, 0 } }, DISCOVERY_LIST_REGION },
};

#define MAX_NAMES 64

static void test_choose(void) {
        static char buffers[MAX_NAMES][16];
        char *names[MAX_NAMES];

        for (size_t i = 0; i < MAX_NAMES; i++) {
                snprintf(buffers[i], sizeof(buffers[i]), "kp-%zu", i);
                names[i] = buffers[i];
        }
        for (size_t i = 0; i < ELEMENTSOF(choose_cases); i++) {
                _cleanup_(discovery_memory_freep) struct discovery_memory *m = NULL;
                enum discovery_strategy s;

                CHECK_INTEQ(discovery_memory_new(&m), 0);
                for (size_t k = 0; k < MAX_KEYPAIRS; k++) {
                        const struct seen *e = &choose_cases[i].seen[k];
                        if (e->keypair || (k == 0 && choose_cases[i].region_known))
                                CHECK_INTEQ(discovery_memory_set(m, "cn-x", e->keypair, e->count), 0);
                }
                /* Another region's counts never leak into this one. */
                CHECK_INTEQ(discovery_memory_set(m, "cn-other", NULL, 1), 0);
                s = discovery_choose(m, "cn-x", names, choose_cases[i].n_keypairs);
                if (s != choose_cases[i].strategy)
                        fprintf(stderr, "  case: %s: got %s\n", choose_cases[i].what, discovery_strategy_to_string(s));
                CHECK_INTEQ(s, choose_cases[i].strategy);
        }
        /* Without memory (keyrevokectl plan), several key pairs are probed. */
        CHECK_INTEQ(discovery_choose(NULL, "cn-x", names, 3), DISCOVERY_PROBE);
}

static const struct {
        size_t total, keypair_pages;
        bool wins;
} probe_cases[] = {
        { 0, 1, true },         /* the probe page was the whole listing */
        { 100, 1, true },
        { 150, 1, true },       /* 2 pages = the probe wasted + 1 by name: a tie, and the page is in hand */
        { 201, 1, false },
        { 2000, 40, true },
        { 4100, 40, true },     /* 41 = 40 + the wasted probe */
        { 4101, 40, false },
        { 20000, 40, false },
};

static void test_probe(void) {
        for (size_t i = 0; i < ELEMENTSOF(probe_cases); i++) {
                bool w = discovery_listing_wins(probe_cases[i].total, probe_cases[i].keypair_pages);
                if (w != probe_cases[i].wins)
                        fprintf(stderr, "  probe case %zu\n", i);
                CHECK(w == probe_cases[i].wins);
        }
}

static void test_pages_and_memory(void) {
        _cleanup_(discovery_memory_freep) struct discovery_memory *m = NULL;
        char *const names[] = { "a", "b", "c" };
        size_t n = 0;

        CHECK_INTEQ(discovery_pages(0), 1);
        CHECK_INTEQ(discovery_pages(1), 1);
        CHECK_INTEQ(discovery_pages(100), 1);
        CHECK_INTEQ(discovery_pages(101), 2);
        CHECK_INTEQ(discovery_memory_new(&m), 0);
        CHECK(!discovery_memory_get(m, "r", NULL, &n));
        CHECK_INTEQ(discovery_keypair_pages(m, "r", names, 3), 3);
        CHECK_INTEQ(discovery_memory_set(m, "r", "b", 250), 0);
        CHECK_INTEQ(discovery_memory_set(m, "r", "b", 301), 0); /* replaced, not added */
        CHECK(discovery_memory_get(m, "r", "b", &n) && n == 301);
        CHECK(!discovery_memory_get(m, "r", NULL, &n));
        CHECK_INTEQ(discovery_keypair_pages(m, "r", names, 3), 6);
        CHECK_STREQ(discovery_strategy_to_string(DISCOVERY_LIST_REGION), "list-region");
        CHECK(!discovery_strategy_to_string(_DISCOVERY_STRATEGY_MAX));
}

/* The JSON form read back gives the same counts, and what changed since the last save is known. */
static void test_json_round_trip(void) {
        _cleanup_(discovery_memory_freep) struct discovery_memory *m = NULL, *back = NULL;
        _cleanup_free_ char *text = NULL, *again = NULL;
        const char *error = NULL;
        size_t n = 0;

        CHECK_INTEQ(discovery_memory_new(&m), 0);
        CHECK(!discovery_memory_changed(m));
        CHECK_INTEQ(discovery_memory_set(m, "cn-hangzhou", NULL, 1999), 0);
        CHECK_INTEQ(discovery_memory_set(m, "cn-hangzhou", "kp-1", 53), 0);
        CHECK_INTEQ(discovery_memory_set(m, "cn-hangzhou", "name with spaces/and \"quotes\"", 0), 0);
        CHECK_INTEQ(discovery_memory_set(m, "cn-beijing", "kp-1", 250), 0); /* no region size seen there */
        CHECK(discovery_memory_changed(m));
        CHECK_INTEQ(discovery_memory_to_json(m, &text), 0);
        CHECK_STREQ(text, "{\"regions\":{\"cn-beijing\":{\"keypairs\":{\"kp-1\":250}},"
                          "\"cn-hangzhou\":{\"instances\":1999,\"keypairs\":{\"kp-1\":53,"
                          "\"name with spaces/and \\\"quotes\\\"\":0}}},\"version\":1}");
        discovery_memory_mark_saved(m);
        CHECK(!discovery_memory_changed(m));
        CHECK_INTEQ(discovery_memory_set(m, "cn-hangzhou", "kp-1", 53), 0); /* the same count: nothing to save */
        CHECK(!discovery_memory_changed(m));

        CHECK_INTEQ(discovery_memory_new(&back), 0);
        CHECK_INTEQ(discovery_memory_from_json(back, text, strlen(text), &error), 0);
        CHECK(!discovery_memory_changed(back));
        CHECK(discovery_memory_get(back, "cn-hangzhou", NULL, &n) && n == 1999);
        CHECK(discovery_memory_get(back, "cn-hangzhou", "kp-1", &n) && n == 53);
        CHECK(discovery_memory_get(back, "cn-hangzhou", "name with spaces/and \"quotes\"", &n) && n == 0);
        CHECK(discovery_memory_get(back, "cn-beijing", "kp-1", &n) && n == 250);
        CHECK(!discovery_memory_get(back, "cn-beijing", NULL, &n));
        CHECK_INTEQ(discovery_memory_to_json(back, &again), 0);
        CHECK_STREQ(again, text);

        /* A region name never holds '/': "a/b" would read back as key pair b of region a. */
        CHECK_INTEQ(discovery_memory_set(m, "cn-x/kp", NULL, 1), -EINVAL);
        CHECK_INTEQ(discovery_memory_set(m, "", NULL, 1), -EINVAL);
        CHECK_INTEQ(discovery_memory_set(m, "cn-x", "", 1), -EINVAL);
}

#define NOT_RECORD "not a version 1 record of region sizes"
#define NOT_REGION "a region is not {\"instances\": N, \"keypairs\": {...}}"
#define BAD_COUNT "a key pair's count is not an integer in range"
#define BAD_NAME "an empty name, or a region name with '/'"

static const struct {
        const char *text;
        const char *error;
} bad_json[] = {
        { "", "not JSON" },
        { "{\"version\":1,\"regions\":{}", "not JSON" },
        { "{\"version\":1,\"version\":1,\"regions\":{}}", "not JSON" },
        { "[]", NOT_RECORD },
        { "{\"version\":2,\"regions\":{}}", NOT_RECORD },
        { "{\"version\":1}", NOT_RECORD },
        { "{\"version\":1,\"regions\":{\"r\":{\"instances\":1}}}", NOT_REGION },
        { "{\"version\":1,\"regions\":{\"r\":{\"instances\":-1,\"keypairs\":{}}}}", NOT_REGION },
        { "{\"version\":1,\"regions\":{\"r\":{\"instances\":\"1\",\"keypairs\":{}}}}", NOT_REGION },
        { "{\"version\":1,\"regions\":{\"r\":{\"keypairs\":{\"k\":1000001}}}}", BAD_COUNT },
        { "{\"version\":1,\"regions\":{\"r\":{\"keypairs\":{\"k\":1.5}}}}", BAD_COUNT },
        { "{\"version\":1,\"regions\":{\"r/x\":{\"keypairs\":{},\"instances\":3}}}", BAD_NAME },
        { "{\"version\":1,\"regions\":{\"r\":{\"keypairs\":{\"\":3}}}}", BAD_NAME },
};

static void test_json_rejects(void) {
        for (size_t i = 0; i < ELEMENTSOF(bad_json); i++) {
                _cleanup_(discovery_memory_freep) struct discovery_memory *m = NULL;
                const char *error = NULL;

                CHECK_INTEQ(discovery_memory_new(&m), 0);
                CHECK_INTEQ(discovery_memory_from_json(m, bad_json[i].text, strlen(bad_json[i].text), &error),
                            -EBADMSG);
                if (!error || strcmp(error, bad_json[i].error) != 0)
                        fprintf(stderr, "  bad JSON case %zu\n", i);
                CHECK_STREQ(error, bad_json[i].error);
        }
}

int main(void) {
        test_choose();
        test_probe();
        test_pages_and_memory();
        test_json_round_trip();
        test_json_rejects();
        TESTS_DONE();
}
