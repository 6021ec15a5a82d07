/* Client-side token bucket with adaptive rate, and retry backoff (pure; now passed in).
 *
 * The bucket holds one second's worth of the current rate and starts full. Its last
 * RATELIMIT_JITTER_USEC worth of tokens is kept back: requests reach the server a little
 * earlier or later than they were sent (a new connection's handshake, the server's own
 * scheduling), so a bucket spent to exactly zero would be throttled whenever one arrives a
 * millisecond ahead of its predecessor's pace. A throttling answer empties the bucket (the server's is empty); one that follows such a resync
 * within a second halves the rate, never below RATELIMIT_MIN_RATE nor 10% of max_rate; each
 * success adds max_rate/20 back, so full speed returns after 20 calls that went through. */
#include "logic/ratelimit.h"

/* Float slack so that waiting exactly the returned time always yields a token. */
#define TOKEN_EPSILON 1e-9

/* Local helpers: the daemon does not link libm. */
static double dmin(double a, double b) {
        return a < b ? a : b;
}

static double dmax(double a, double b) {
        return a > b ? a : b;
}

static double rate_floor(const struct ratelimit *r) {
        return dmax(RATELIMIT_MIN_RATE, r->max_rate / 10);
}

static void set_rate(struct ratelimit *r, double rate) {
        r->rate = rate;
        r->burst = rate; /* one second's worth, at least one token since rate >= 1 */
        r->tokens = dmin(r->tokens, r->burst);
}

/* Adds the tokens earned since the last call; a clock going backwards earns nothing. */
static void refill(struct ratelimit *r, uint64_t now_usec) {
        double earned;

        if (now_usec <= r->last_usec)
                return;
        earned = r->rate * (double) (now_usec - r->last_usec) / USEC_PER_SEC;
        r->tokens = dmin(r->burst, r->tokens + earned);
        r->last_usec = now_usec;
}

void ratelimit_init(struct ratelimit *r, double max_rate, uint64_t now_usec) {
        /* written so that NaN takes the first branch */
        if (!(max_rate >= RATELIMIT_MIN_RATE))
                max_rate = RATELIMIT_MIN_RATE;
        else if (max_rate > RATELIMIT_MAX_RATE)
                max_rate = RATELIMIT_MAX_RATE;
        *r = (struct ratelimit) {
                .max_rate = max_rate,
                .last_usec = now_usec,
        };
        set_rate(r, max_rate);
        r->tokens = r->burst;
}

/* Tokens kept back for the arrival jitter; a full bucket still always gives one. */
static double reserve(const struct ratelimit *r) {
        return dmin(r->rate * RATELIMIT_JITTER_USEC / USEC_PER_SEC, r->burst - 1.0);
}

uint64_t ratelimit_take(struct ratelimit *r, uint64_t now_usec) {
        double need, wait;

        refill(r, now_usec);
        need = 1.0 + reserve(r);
        if (r->tokens >= need - TOKEN_EPSILON) {
                r->tokens = dmax(0.0, r->tokens - 1.0);
                return 0;
        }
        /* rounded up, and at least 1 so that a caller never spins */
        wait = (need - r->tokens) / r->rate * USEC_PER_SEC;
        return (uint64_t) wait + 1;
}

void ratelimit_throttled(struct ratelimit *r, uint64_t sent_usec, uint64_t now_usec) {
        bool synced = r->synced_usec > 0;

        if (synced && sent_usec < r->synced_usec)
                return;
        refill(r, now_usec);
        if (synced && sent_usec - r->synced_usec < USEC_PER_SEC)
                set_rate(r, dmax(rate_floor(r), r->rate / 2));
        r->tokens = 0;
        r->synced_usec = now_usec;
}

void ratelimit_succeeded(struct ratelimit *r, uint64_t now_usec) {
        refill(r, now_usec);
        set_rate(r, dmin(r->max_rate, r->rate + r->max_rate / 20));
}

uint64_t ratelimit_backoff_usec(unsigned attempt, uint64_t base_usec, uint64_t cap_usec,
                                uint32_t random_u32) {
        unsigned shift = attempt > 0 ? attempt - 1 : 0;
        uint64_t d;

        if (base_usec == 0)
                return 0;
        if (shift >= 64 || base_usec > (cap_usec >> shift))
                d = cap_usec;
        else
                d = base_usec << shift;
        return d / 2 + random_u32 % (d / 2 + 1);
}
