/* Client-side token bucket with adaptive rate, and retry backoff (pure; now passed in). */
#pragma once

#include "base/macro.h"

/* Bounds of any rate, in requests per second. */
#define RATELIMIT_MIN_RATE 1.0
#define RATELIMIT_MAX_RATE 1e6
/* Arrival jitter the bucket leaves room for: this much of the rate's tokens is never spent. */
#define RATELIMIT_JITTER_USEC (20 * USEC_PER_MSEC)

struct ratelimit {
        double max_rate;        /* configured requests per second */
        double rate;            /* current rate, lowered on throttling */
        double burst;           /* bucket size */
        double tokens;
        uint64_t last_usec;
        uint64_t synced_usec;   /* when a throttling answer last emptied the bucket (0: never) */
};

/* Starts with a full bucket (all of it usable but RATELIMIT_JITTER_USEC worth); max_rate is clamped to [RATELIMIT_MIN_RATE, RATELIMIT_MAX_RATE]
 * (NaN gives the minimum). */
void ratelimit_init(struct ratelimit *r, double max_rate, uint64_t now_usec);

/* Takes a token and returns 0, or returns the usec to wait until one is available. */
uint64_t ratelimit_take(struct ratelimit *r, uint64_t now_usec);

/* The server throttled a request sent at sent_usec: its bucket was empty, so ours is emptied too.
 * The first time, that is all: the two buckets only drifted apart (a request that took its token
 * early, on a new connection, and one that arrived fast). When a request sent after that resync
 * is throttled within a second of it, the rate itself is too high (the limit is lower, or shared):
 * it is halved, not below 1/s nor 10% of max_rate. A request sent before the last resync was
 * throttled by the same emptiness and changes nothing. */
void ratelimit_throttled(struct ratelimit *r, uint64_t sent_usec, uint64_t now_usec);

/* A call succeeded: recover the rate toward max_rate (additive increase, max_rate/20 a call). */
void ratelimit_succeeded(struct ratelimit *r, uint64_t now_usec);

/* Capped exponential backoff with "equal jitter" for retry attempt (1-based; 0 counts as 1):
 * d = min(cap, base * 2^(attempt-1)), returns d/2 + random_u32 % (d/2 + 1), so within [d/2, d].
 * random_u32 is a random value supplied by the caller. */
uint64_t ratelimit_backoff_usec(unsigned attempt, uint64_t base_usec, uint64_t cap_usec, uint32_t random_u32);
