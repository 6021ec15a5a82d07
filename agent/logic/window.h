/* Maintenance windows: parsing Window= values and finding open/next windows (now passed in). */
#pragma once

#include "base/macro.h"

struct window {
        uint8_t days;           /* bit 0 = Monday ... bit 6 = Sunday */
        unsigned start_minute;  /* minutes after midnight, wall clock */
        unsigned end_minute;    /* end <= start: crosses midnight, belongs to the start day;
                                 * end == start: 24 hours */
};

struct window_set {
        struct window *items;
        size_t n;
        bool always;            /* Window=always seen */
};

/* A concrete occurrence of a window, in usec since the epoch (UTC). */
struct window_span {
        uint64_t start_usec;
        uint64_t end_usec;
};

/* Parses one Window= value ("always" sets ws->always) and appends it; -EINVAL with a static
 * reason in *ret_error. */
int window_set_add(struct window_set *ws, const char *value, const char **ret_error);

/* True when no Window= was configured at all (reboots are never started). */
bool window_set_is_empty(const struct window_set *ws);

/* The occurrence containing now, if any (returns 1), else the next one to start (returns 0);
 * -ENOENT when there is none (empty set). tz is an IANA name or NULL/"" for the local zone.
 * For "always", the span is [now, UINT64_MAX). Overlapping or touching occurrences are merged
 * into one span (within the ~two weeks searched). Wall-clock bounds are kept on DST days: an
 * occurrence whose start does not exist that day is skipped, an end that does not exist becomes
 * the first instant after the gap, and an ambiguous (fall-back) start or end means its first
 * occurrence. -EINVAL for an unknown tz, -ERANGE for now past the year 9999, -ENOMEM. Switches
 * $TZ during the call (process-global: single-threaded callers only). */
int window_set_find(const struct window_set *ws, const char *tz, uint64_t now_usec, struct window_span *ret);

/* True when tz names a zone in the system tz database (or is empty). */
bool window_timezone_is_valid(const char *tz);

void window_set_done(struct window_set *ws);
