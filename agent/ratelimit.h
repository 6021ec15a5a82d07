/* Client-side token bucket with adaptive rate, and retry backoff (pure; now passed in). */
#pragma once

#include "macro.h"

struct ratelimit {
        double max_rate;        /* configured requests per second */
        double rate;            /* current rate, lowered on throttling */
        double burst;           /* bucket size */
        double tokens;
        uint64_t last_usec;
};

void ratelimit_init(struct ratelimit *r, double max_rate, uint64_t now_usec);

/* Takes a token and returns 0, or returns the usec to wait until one is available. */
uint64_t ratelimit_take(struct ratelimit *r, uint64_t now_usec);

/* The server throttled us: lower the rate (multiplicative decrease). */
void ratelimit_throttled(struct ratelimit *r, uint64_t now_usec);

/* A call succeeded: recover the rate toward max_rate (additive increase). */
void ratelimit_succeeded(struct ratelimit *r, uint64_t now_usec);

/* Capped exponential backoff with full jitter for retry attempt (1-based); random_u32 is a
 * random value supplied by the caller. */
uint64_t ratelimit_backoff_usec(unsigned attempt, uint64_t base_usec, uint64_t cap_usec, uint32_t random_u32);
