/* How an enforcement pass ended, and why nothing was enforced: one verdict and one sentence, the
 * same for STATUS=, the summary event and keyrevokectl status (pure). */
#include "logic/health.h"

const char *health_verdict_to_string(enum health_verdict v) {
        switch (v) {
        case HEALTH_ENFORCED:
                return "enforced";
        case HEALTH_INCOMPLETE:
                return "incomplete";
        case HEALTH_NO_LISTS:
                return "no-lists";
        case HEALTH_NO_ENTRIES:
                return "no-entries";
        case HEALTH_ALL_REGIONS_FAILED:
                return "all-regions-failed";
        case _HEALTH_VERDICT_MAX:
                break;
        }
        return NULL;
}

enum health_verdict health_judge(const struct health_pass *p) {
        const struct planner_counts *c = &p->counts;

        if (p->lists == 0)
                return HEALTH_NO_LISTS;
        if (p->entries == 0)
                return HEALTH_NO_ENTRIES;
        /* A failed DescribeRegions leaves no region at all. */
        if (c->regions_failed > 0 && c->regions_failed >= c->regions)
                return HEALTH_ALL_REGIONS_FAILED;
        return c->failed > 0 ? HEALTH_INCOMPLETE : HEALTH_ENFORCED;
}

unsigned health_instances_failed(const struct planner_counts *c) {
        return c->failed > c->regions_failed ? c->failed - c->regions_failed : 0;
}

void health_describe(const struct health_pass *p, const char *verb, char *buf, size_t size) {
        const struct planner_counts *c = &p->counts;

        switch (health_judge(p)) {
        case HEALTH_NO_LISTS:
                snprintf(buf, size, "nothing enforced: no revocation list (*.list) found");
                return;
        case HEALTH_NO_ENTRIES:
                snprintf(buf, size, "nothing enforced: the %zu list(s) hold no valid entry", p->lists);
                return;
        case HEALTH_ALL_REGIONS_FAILED:
                snprintf(buf, size, "nothing enforced: no region could be listed (%u failed)", c->regions_failed);
                return;
        case HEALTH_ENFORCED:
        case HEALTH_INCOMPLETE:
        case _HEALTH_VERDICT_MAX:
                break;
        }
        snprintf(buf, size,
                 "%u %s (%u newly queued for reboot), %u skipped, %u instance(s) failed, %u of %u region(s) failed",
                 c->detached, verb, c->newly_queued, c->skipped, health_instances_failed(c), c->regions_failed,
                 c->regions);
}
