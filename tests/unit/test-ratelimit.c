/* Unit tests for ratelimit.c: token bucket timing with a fake clock, adaptation, backoff bounds. */
#include "logic/ratelimit.h"
#include "tests.h"

#define T0 (1000 * USEC_PER_SEC)

enum step_op {
        END,      /* the zero-filled rest of a table row */
        TAKE,     /* ratelimit_take() must return wait */
        THROTTLE, /* ratelimit_throttled() of a request sent at sent_usec */
        SUCCEED,  /* ratelimit_succeeded() */
        RATE,     /* the current rate must be rate */
};

struct step {
        enum step_op op;
        uint64_t at_usec; /* offset from T0 */
        uint64_t wait;
        double rate;
        uint64_t sent_usec; /* offset from T0 */
};

#define MAX_STEPS 16

static const struct {
        double max_rate;
        struct step steps[MAX_STEPS];
} bucket_cases[] = {
        /* a full bucket of 2 to start with (the server's starts full too), 20 ms of it kept back
         * for the arrival jitter, then one every 0.5 s */
        { 2,
          { { TAKE, 0, 0 },
            { TAKE, 0, 20001 },
            { TAKE, 20000, 0 },
            { TAKE, 20000, 500001 },
            { TAKE, 270000, 250001 },
            { TAKE, 520000, 0 },
            { TAKE, 3600 * USEC_PER_SEC, 0 },
            { TAKE, 3600 * USEC_PER_SEC, 20001 } } },
        /* the bucket holds one second's worth however long we idle */
        { 3,
          { { TAKE, 3600 * USEC_PER_SEC, 0 },
            { TAKE, 3600 * USEC_PER_SEC, 0 },
            { TAKE, 3600 * USEC_PER_SEC, 20001 },
            { TAKE, 3600 * USEC_PER_SEC + 20000, 0 },
            { TAKE, 3600 * USEC_PER_SEC + 20000, 333334 } } },
        /* at 1/s a full bucket is one token: nothing can be kept back */
        { 1, { { TAKE, 0, 0 }, { TAKE, 0, 1000001 } } },
        /* a clock going backwards earns nothing and breaks nothing */
        { 1,
          { { TAKE, 10 * USEC_PER_SEC, 0 },
            { TAKE, 5 * USEC_PER_SEC, 1000001 },
            { TAKE, 10 * USEC_PER_SEC + 500000, 500001 },
            { TAKE, 11 * USEC_PER_SEC, 0 } } },
        /* a first throttle empties the bucket and keeps the rate (the buckets drifted apart); the
         * answers to requests sent before it know nothing new */
        { 20,
          { { RATE, 0, 0, 20 },
            { THROTTLE, 30000, .sent_usec = 0 },
            { RATE, 0, 0, 20 },
            { TAKE, 30000, 70001 },
            { THROTTLE, 40000, .sent_usec = 10000 },
            { THROTTLE, 45000, .sent_usec = 29999 },
            { RATE, 0, 0, 20 },
            { TAKE, 100001, 0 } } },
        /* throttled again within a second of the resync: halved down to 10% of max; successes add
         * max/20 */
        { 20,
          { { THROTTLE, 30000, .sent_usec = 0 },
            { THROTTLE, 100000, .sent_usec = 60000 },
            { RATE, 0, 0, 10 },
            { TAKE, 100000, 120001 },
            { THROTTLE, 200000, .sent_usec = 150000 },
            { THROTTLE, 300000, .sent_usec = 250000 },
            { RATE, 0, 0, 2.5 },
            { THROTTLE, 400000, .sent_usec = 350000 },
            { RATE, 0, 0, 2 },
            { THROTTLE, 500000, .sent_usec = 450000 },
            { RATE, 0, 0, 2 },
            { TAKE, 500000, 520001 },
            { SUCCEED, 500000 },
            { RATE, 0, 0, 3 },
            { TAKE, 853334, 0 },
            { TAKE, 853334, 333333 } } },
        /* more than a second after the last resync, a throttle is a resync again */
        { 20,
          { { THROTTLE, 30000, .sent_usec = 0 },
            { THROTTLE, 1100000, .sent_usec = 1030000 },
            { RATE, 0, 0, 20 },
            { THROTTLE, 1200000, .sent_usec = 1150000 },
            { RATE, 0, 0, 10 } } },
        /* the floor is 1/s when 10% of max is less */
        { 5,
          { { THROTTLE, 10, .sent_usec = 0 },
            { THROTTLE, 20, .sent_usec = 10 },
            { THROTTLE, 30, .sent_usec = 20 },
            { THROTTLE, 40, .sent_usec = 30 },
            { RATE, 0, 0, 1 },
            { TAKE, 40, 1000001 },
            { SUCCEED, 40 },
            { SUCCEED, 40 },
            { RATE, 0, 0, 1.5 } } },
        /* invalid configured rates: at least 1/s, at most RATELIMIT_MAX_RATE */
        { 0, { { RATE, 0, 0, 1 }, { TAKE, 0, 0 }, { TAKE, 500000, 500001 }, { TAKE, 1000000, 0 } } },
        { -3, { { RATE, 0, 0, 1 }, { THROTTLE, 10 }, { THROTTLE, 20, .sent_usec = 10 }, { RATE, 0, 0, 1 } } },
        { 0.25, { { RATE, 0, 0, 1 } } },
        { 0.0 / 0.0, { { RATE, 0, 0, 1 } } },
        { 1e12, { { RATE, 0, 0, RATELIMIT_MAX_RATE } } },
};

static void test_bucket(void) {
        for (size_t i = 0; i < ELEMENTSOF(bucket_cases); i++) {
                struct ratelimit r;

                ratelimit_init(&r, bucket_cases[i].max_rate, T0);
                for (size_t k = 0; k < MAX_STEPS && bucket_cases[i].steps[k].op != END; k++) {
                        const struct step *s = &bucket_cases[i].steps[k];
                        uint64_t now = T0 + s->at_usec;

                        switch (s->op) {
                        case END:
                                break;
                        case TAKE: {
                                /* waits are rounded up from a double: allow one microsecond */
                                uint64_t wait = ratelimit_take(&r, now);
                                if (wait + 1 < s->wait || wait > s->wait + 1)
                                        CHECK_INTEQ(wait, s->wait);
                                break;
                        }
                        case THROTTLE:
                                ratelimit_throttled(&r, T0 + s->sent_usec, now);
                                break;
                        case SUCCEED:
                                ratelimit_succeeded(&r, now);
                                break;
                        case RATE:
                                CHECK(r.rate > s->rate - 1e-9 && r.rate < s->rate + 1e-9);
                                CHECK(r.burst == r.rate);
                                break;
                        }
                }
        }
}

/* Sends as fast as allowed for duration_usec; returns how many requests went out. */
static unsigned long simulate(struct ratelimit *r, uint64_t start, uint64_t duration_usec) {
        unsigned long sent = 0;

        for (uint64_t now = start; now < start + duration_usec;) {
                uint64_t wait = ratelimit_take(r, now);
                if (wait == 0)
                        sent++;
                else
                        now += wait;
        }
        return sent;
}

static void test_average(void) {
        static const double rates[] = { 1, 3, 7.5, 20, 100, 1000 };

        for (size_t i = 0; i < ELEMENTSOF(rates); i++) {
                struct ratelimit r;
                unsigned long sent, limit;

                ratelimit_init(&r, rates[i], T0);
                sent = simulate(&r, T0, 100 * USEC_PER_SEC);
                /* 100 seconds' worth plus the initial burst, minus rounding of the waits */
                limit = (unsigned long) (rates[i] * 101);
                CHECK(sent <= limit);
                CHECK(sent >= limit * 99 / 100);

                /* throttled twice: the average follows the lowered rate */
                ratelimit_throttled(&r, T0 + 100 * USEC_PER_SEC - 1000, T0 + 100 * USEC_PER_SEC - 500);
                ratelimit_throttled(&r, T0 + 100 * USEC_PER_SEC - 400, T0 + 100 * USEC_PER_SEC);
                CHECK(r.rate < r.max_rate || r.max_rate == RATELIMIT_MIN_RATE);
                sent = simulate(&r, T0 + 100 * USEC_PER_SEC, 100 * USEC_PER_SEC);
                CHECK(sent <= (unsigned long) (r.rate * 100) + 1);

                /* 20 successes bring back full speed, never beyond */
                for (int k = 0; k < 40; k++)
                        ratelimit_succeeded(&r, T0 + 200 * USEC_PER_SEC);
                CHECK(r.rate == r.max_rate && r.burst == r.max_rate);
        }
}

/* min(cap, base * 2^(attempt-1)) computed the slow way. */
static uint64_t expected_ceiling(unsigned attempt, uint64_t base, uint64_t cap) {
        uint64_t d = base;

        for (unsigned i = 1; i < attempt && d < cap; i++)
                d = d > UINT64_MAX / 2 ? UINT64_MAX : d * 2;
        return d < cap ? d : cap;
}

static const struct {
        unsigned attempt;
        uint64_t base, cap;
        uint32_t random;
        uint64_t out;
} backoff_cases[] = {
        { 1, 1000, 30000, 0, 500 },
        { 1, 1000, 30000, 500, 1000 },
        { 1, 1000, 30000, 501, 500 },         /* 501 % 501 */
        { 0, 1000, 30000, 0, 500 },           /* 0 counts as 1 */
        { 2, 1000, 30000, 0, 1000 },
        { 3, 1000, 30000, 1000, 3000 },
        { 5, 1000, 30000, 0, 8000 },
        { 6, 1000, 30000, 0, 15000 },         /* 32000 capped at 30000 */
        { 6, 1000, 30000, 15000, 30000 },
        { 1000, 1000, 30000, 0, 15000 },
        { 65, 1, UINT64_MAX, 0, UINT64_MAX / 2 },
        { 64, 1, UINT64_MAX, 0, (UINT64_C(1) << 63) / 2 },
        { 3, 0, 30000, 12345, 0 },
        { 65, 0, 30000, 12345, 0 },           /* a zero base stays zero */
        { 3, 1000, 0, 12345, 0 },
        { 1, 5000, 1000, 0, 500 },             /* base above cap */
        { 1, 1, 1, UINT32_MAX, 0 },            /* 0 + UINT32_MAX % 1 */
};

static void test_backoff(void) {
        static const uint64_t bases[] = { 0, 1, 3, 100 * USEC_PER_MSEC, USEC_PER_SEC, UINT64_MAX / 3 };
        static const uint64_t caps[] = { 0, 1, 30 * USEC_PER_SEC, USEC_PER_HOUR, UINT64_MAX };
        uint32_t x = 2463534242U;
        unsigned long bad = 0;

        for (size_t i = 0; i < ELEMENTSOF(backoff_cases); i++)
                CHECK_INTEQ(ratelimit_backoff_usec(backoff_cases[i].attempt, backoff_cases[i].base,
                                                   backoff_cases[i].cap, backoff_cases[i].random),
                            backoff_cases[i].out);

        for (size_t b = 0; b < ELEMENTSOF(bases); b++)
                for (size_t c = 0; c < ELEMENTSOF(caps); c++)
                        for (unsigned attempt = 0; attempt <= 130; attempt++)
                                for (int k = 0; k < 64; k++) {
                                        uint64_t d = expected_ceiling(attempt, bases[b], caps[c]), v;
                                        uint32_t rnd;

                                        /* xorshift32, plus the extremes */
                                        x ^= x << 13;
                                        x ^= x >> 17;
                                        x ^= x << 5;
                                        rnd = k == 0 ? 0 : k == 1 ? UINT32_MAX : x;
                                        v = ratelimit_backoff_usec(attempt, bases[b], caps[c], rnd);
                                        if (v < d / 2 || v > d || (rnd == 0 && v != d / 2))
                                                bad++;
                                }
        CHECK_INTEQ(bad, 0);
}

int main(void) {
        test_bucket();
        test_average();
        test_backoff();
        TESTS_DONE();
}
