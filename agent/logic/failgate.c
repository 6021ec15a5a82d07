/* The MaxFailures gate over a sliding hour, for windows without a foreseeable end. */
#include "logic/failgate.h"

bool failgate_is_sliding(uint64_t window_start_usec, uint64_t window_end_usec) {
        return window_end_usec == UINT64_MAX || window_end_usec < window_start_usec ||
               window_end_usec - window_start_usec > USEC_PER_DAY;
}

void failgate_record(struct failgate *g, uint64_t now_usec) {
        g->at[g->next] = now_usec;
        g->next = (g->next + 1) % FAILGATE_MAX;
        if (g->n < FAILGATE_MAX)
                g->n++;
}

/* The k-th latest failure, k = 1 .. g->n. */
static uint64_t latest(const struct failgate *g, unsigned k) {
        return g->at[(g->next + FAILGATE_MAX - k) % FAILGATE_MAX];
}

static bool is_recent(uint64_t at, uint64_t now_usec) {
        return at > now_usec || now_usec - at < FAILGATE_PERIOD_USEC;
}

unsigned failgate_count(const struct failgate *g, uint64_t now_usec) {
        unsigned k = 0;

        while (k < g->n && is_recent(latest(g, k + 1), now_usec))
                k++;
        return k;
}

uint64_t failgate_reopens_usec(const struct failgate *g, unsigned max, uint64_t now_usec) {
        if (max == 0 || max > g->n || failgate_count(g, now_usec) < max)
                return 0;
        /* The gate opens when the max-th latest failure leaves the hour. */
        return latest(g, max) + FAILGATE_PERIOD_USEC;
}
