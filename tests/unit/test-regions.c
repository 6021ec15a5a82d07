/* logic/regions: known regions pass, misspellings get the nearest real name, far names a warning. */
#include <limits.h>

#include "logic/regions.h"
#include "tests.h"

static void test_nearest(void) {
        static const struct {
                const char *name;
                const char *nearest;
                unsigned distance;
        } cases[] = {
                { "cn-hangzhou", NULL, 0 },
                { "ap-southeast-1", NULL, 0 },
                { "cn-hangzhuo", "cn-hangzhou", 2 },  /* two letters swapped */
                { "cn-shangai", "cn-shanghai", 1 },
                { "cn-hangzhou-", "cn-hangzhou", 1 },
                { "us-west1", "us-west-1", 1 },
                { "eu-central-2", "eu-central-1", 1 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                unsigned d = 99;
                const char *n = region_nearest(cases[i].name, &d);

                if (!cases[i].nearest) {
                        CHECK(!n);
                        continue;
                }
                CHECK_STREQ(n, cases[i].nearest);
                CHECK_INTEQ(d, cases[i].distance);
        }
}

static void test_problem(void) {
        char long_name[200];
        char text[256];
        bool typo = false;

        CHECK(!region_problem("cn-shanghai", text, sizeof(text), &typo));
        CHECK(region_problem("cn-hangzhuo", text, sizeof(text), &typo));
        CHECK(typo);
        CHECK_STREQ(text, "region 'cn-hangzhuo' does not exist; did you mean cn-hangzhou?");
        CHECK(region_problem("xx-newregion-9", text, sizeof(text), &typo));
        CHECK(!typo);
        CHECK(strstr(text, "is not one this build knows"));
        memset(long_name, 'a', sizeof(long_name) - 1);
        long_name[sizeof(long_name) - 1] = '\0';
        CHECK(region_problem(long_name, text, sizeof(text), &typo));
        CHECK(!typo);
}

int main(void) {
        test_nearest();
        test_problem();
        TESTS_DONE();
}
