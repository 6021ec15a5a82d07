/* Unit tests for failgate.c: which windows count failures over a sliding hour, and when a gate
 * closed by MaxFailures opens again. */
#include "logic/failgate.h"

#include "tests.h"

#define MIN_ USEC_PER_MINUTE
#define T0 (1000 * USEC_PER_HOUR)       /* any monotonic instant */

static const struct {
        uint64_t start, end;
        bool sliding;
} sliding_cases[] = {
        { T0, UINT64_MAX, true },                       /* Window=always */
        { T0, T0 + 2 * USEC_PER_HOUR, false },          /* an ordinary window */
        { T0, T0 + USEC_PER_DAY, false },               /* 24 hours still starts anew */
        { T0, T0 + 14 * USEC_PER_DAY, true },           /* every day 00:00-00:00, merged */
        { T0, T0 - 1, true },                           /* nonsense span: never a fixed count */
};

static void test_sliding(void) {
        for (size_t i = 0; i < ELEMENTSOF(sliding_cases); i++)
                CHECK_INTEQ(failgate_is_sliding(sliding_cases[i].start, sliding_cases[i].end),
                            sliding_cases[i].sliding);
}

/* Failures at the given minutes after T0 (ascending), MaxFailures=max, looked at at minute now. */
static const struct {
        unsigned failures[5];
        size_t n;
        unsigned max;
        unsigned now;
        unsigned count;
        uint64_t reopens;       /* minutes after T0, 0 = open */
} gate_cases[] = {
        { {}, 0, 3, 10, 0, 0 },                                 /* nothing failed */
        { { 0, 1 }, 2, 3, 2, 2, 0 },                            /* below MaxFailures */
        { { 0, 1, 2 }, 3, 3, 2, 3, 60 },                        /* closed: the oldest leaves at 60 */
        { { 0, 1, 2 }, 3, 3, 59, 3, 60 },
        { { 0, 1, 2 }, 3, 3, 60, 2, 0 },                        /* an hour later: open again */
        { { 0, 1, 2 }, 3, 3, 24 * 60 * 21, 0, 0 },              /* weeks later: open (the bug: never) */
        { { 0, 30, 40, 50 }, 4, 3, 61, 3, 90 },                 /* the 3rd latest (30) leaves at 90 */
        { { 0, 30, 40, 50 }, 4, 1, 51, 4, 110 },                /* MaxFailures=1: the latest decides */
        { { 0, 30, 40, 50, 55 }, 5, 2, 100, 2, 110 },
        { { 0, 30, 40, 50, 55 }, 5, 2, 110, 1, 0 },
};

static void test_gate(void) {
        for (size_t i = 0; i < ELEMENTSOF(gate_cases); i++) {
                struct failgate g = {};
                uint64_t now = T0 + gate_cases[i].now * MIN_, reopens;

                for (size_t k = 0; k < gate_cases[i].n; k++)
                        failgate_record(&g, T0 + gate_cases[i].failures[k] * MIN_);
                reopens = failgate_reopens_usec(&g, gate_cases[i].max, now);
                if (failgate_count(&g, now) != gate_cases[i].count)
                        fprintf(stderr, "  gate case %zu\n", i);
                CHECK_INTEQ(failgate_count(&g, now), gate_cases[i].count);
                CHECK_INTEQ(reopens, gate_cases[i].reopens ? T0 + gate_cases[i].reopens * MIN_ : 0);
        }
}

/* More failures than remembered: the oldest are forgotten, the latest still count. */
static void test_wrap(void) {
        struct failgate g = {};

        for (unsigned k = 0; k < FAILGATE_MAX + 10; k++)
                failgate_record(&g, T0 + k * USEC_PER_SEC);
        CHECK_INTEQ(g.n, FAILGATE_MAX);
        CHECK_INTEQ(failgate_count(&g, T0 + (FAILGATE_MAX + 9) * USEC_PER_SEC), FAILGATE_MAX);
        CHECK_INTEQ(failgate_reopens_usec(&g, 1, T0 + (FAILGATE_MAX + 9) * USEC_PER_SEC),
                    T0 + (FAILGATE_MAX + 9) * USEC_PER_SEC + USEC_PER_HOUR);
        CHECK_INTEQ(failgate_reopens_usec(&g, FAILGATE_MAX, T0 + (FAILGATE_MAX + 9) * USEC_PER_SEC),
                    T0 + 10 * USEC_PER_SEC + USEC_PER_HOUR);
}

int main(void) {
        test_sliding();
        test_gate();
        test_wrap();
        TESTS_DONE();
}
