/* Unit tests for health.c: the verdict of a pass and its sentence, table-driven. */
#include "logic/health.h"
#include "tests.h"

static const struct {
        struct health_pass pass;
        enum health_verdict verdict;
        const char *text;
} cases[] = {
        { { 0, 0, {} }, HEALTH_NO_LISTS, "nothing enforced: no revocation list (*.list) found" },
        { { 2, 0, { .regions = 3 } }, HEALTH_NO_ENTRIES, "nothing enforced: the 2 list(s) hold no valid entry" },
        /* DescribeRegions failed: no region at all. */
        { { 1, 4, { .failed = 1, .regions_failed = 1 } }, HEALTH_ALL_REGIONS_FAILED,
          "nothing enforced: no region could be listed (1 failed)" },
        { { 1, 4, { .failed = 2, .regions = 2, .regions_failed = 2 } }, HEALTH_ALL_REGIONS_FAILED,
          "nothing enforced: no region could be listed (2 failed)" },
        { { 1, 4, { .detached = 3, .failed = 3, .regions = 2, .regions_failed = 1, .newly_queued = 2 } },
          HEALTH_INCOMPLETE,
          "3 detached (2 newly queued for reboot), 0 skipped, 2 instance(s) failed, 1 of 2 region(s) failed" },
        { { 1, 4, { .detached = 7, .skipped = 1, .regions = 2, .newly_queued = 7 } }, HEALTH_ENFORCED,
          "7 detached (7 newly queued for reboot), 1 skipped, 0 instance(s) failed, 0 of 2 region(s) failed" },
        { { 1, 4, { .regions = 2 } }, HEALTH_ENFORCED,
          "0 detached (0 newly queued for reboot), 0 skipped, 0 instance(s) failed, 0 of 2 region(s) failed" },
};

int main(void) {
        char text[256], small[16];

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                CHECK_INTEQ(health_judge(&cases[i].pass), cases[i].verdict);
                health_describe(&cases[i].pass, "detached", text, sizeof(text));
                CHECK_STREQ(text, cases[i].text);
        }
        for (enum health_verdict v = 0; v < _HEALTH_VERDICT_MAX; v++)
                CHECK(health_verdict_to_string(v) != NULL);
        CHECK_STREQ(health_verdict_to_string(HEALTH_ALL_REGIONS_FAILED), "all-regions-failed");
        health_describe(&cases[0].pass, "detached", small, sizeof(small));
        CHECK_STREQ(small, "nothing enforce");
        TESTS_DONE();
}
