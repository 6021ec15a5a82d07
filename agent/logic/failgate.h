/* The MaxFailures gate: which failed reboots count now. Within an ordinary window, all of that
 * window's; for a window without a foreseeable end (Window=always, or windows back to back that
 * merge into one span longer than a day), those of the last hour: such a window never starts
 * anew, so a count kept for it would close the gate for good. Pure: times are passed in. */
#pragma once

#include "base/macro.h"

#define FAILGATE_PERIOD_USEC USEC_PER_HOUR
/* The most failures remembered: at least the largest MaxFailures= (conf.c). */
#define FAILGATE_MAX 1000U

/* The times of the latest failed reboots (any monotonic clock), oldest overwritten first. */
struct failgate {
        uint64_t at[FAILGATE_MAX];
        unsigned n;             /* remembered, at most FAILGATE_MAX */
        unsigned next;          /* slot of the next one */
};

/* True when failures of the window [start, end) are counted over a sliding hour. */
bool failgate_is_sliding(uint64_t window_start_usec, uint64_t window_end_usec);

/* Remembers a failure at now (times must not go backwards). */
void failgate_record(struct failgate *g, uint64_t now_usec);

/* Failures within the last FAILGATE_PERIOD_USEC before now. */
unsigned failgate_count(const struct failgate *g, uint64_t now_usec);

/* When the count drops below max again: 0 when it is below already. */
uint64_t failgate_reopens_usec(const struct failgate *g, unsigned max, uint64_t now_usec);
