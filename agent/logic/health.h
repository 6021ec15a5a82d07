/* How an enforcement pass ended, and why nothing was enforced: one verdict and one sentence, the
 * same for STATUS=, the summary event and keyrevokectl status (pure). */
#pragma once

#include "logic/planner.h"

enum health_verdict {
        HEALTH_ENFORCED,                /* every entry was enforced where it applies */
        HEALTH_INCOMPLETE,              /* instances, key pairs or regions failed: still pending */
        HEALTH_NO_LISTS,                /* no list file: nothing to enforce */
        HEALTH_NO_ENTRIES,              /* the lists hold no valid entry */
        HEALTH_ALL_REGIONS_FAILED,      /* not one region could be listed */
        _HEALTH_VERDICT_MAX,
};

/* What a pass saw and did. */
struct health_pass {
        size_t lists;                   /* list files loaded */
        size_t entries;                 /* valid entries in them */
        struct planner_counts counts;
};

/* "enforced", "incomplete", "no-lists", "no-entries", "all-regions-failed". */
const char *health_verdict_to_string(enum health_verdict v);

enum health_verdict health_judge(const struct health_pass *p);

/* Instances and key pairs that failed: counts.failed holds the failed regions too. */
unsigned health_instances_failed(const struct planner_counts *c);

/* One sentence, e.g. "7 detached (2 newly queued for reboot), 1 skipped, 0 instance(s) failed,
 * 0 of 2 region(s) failed" or "nothing enforced: no revocation list (*.list) found". verb is
 * "detached" or "would be detached". Truncated to size. */
void health_describe(const struct health_pass *p, const char *verb, char *buf, size_t size);
