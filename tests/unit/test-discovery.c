/* Unit tests for discovery.c: which way a region's instances are found, and the page arithmetic. */
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

int main(void) {
        test_choose();
        test_probe();
        test_pages_and_memory();
        TESTS_DONE();
}
