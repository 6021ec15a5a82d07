/* Prometheus textfile-collector output: API counters, the last pass, the reboot queue and
 * containment. */
#pragma once

#include "io/contained.h"
#include "io/ecs.h"
#include "io/referenced.h"
#include "io/state.h"
#include "logic/planner.h"

/* Distinct (action, error code) series kept; later codes are counted as code="other". */
#define METRICS_SERIES_MAX 256U
/* Longest label value written; codes are cut there. */
#define METRICS_LABEL_MAX 128U

/* API counters, kept across passes and client swaps (ECS client replaced on reload). */
struct metrics;

/* What the agent knows at the end of a pass. */
struct metrics_input {
        size_t lists;                      /* revocation list files loaded */
        size_t entries;                    /* entries in them */
        const struct planner_counts *pass; /* the pass that just ended */
        uint64_t pass_start_usec;          /* CLOCK_REALTIME */
        uint64_t pass_end_usec;            /* CLOCK_REALTIME */
        bool dry_run;
        const struct state *state; /* the reboot queue */
        const struct contained *contained; /* the containment record; NULL when [Contain] is off */
        unsigned reboot_failures;  /* reboot-failed events since start */
        uint64_t now_usec;         /* CLOCK_REALTIME */
        const struct referenced *referenced; /* launch sources naming a revoked key pair; may be NULL */
};

int metrics_new(struct metrics **ret);
struct metrics *metrics_free(struct metrics *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct metrics *, metrics_free);

/* An ecs_observe_cb (userdata is the struct metrics): counts one API attempt and its error. */
void metrics_observe_cb(const char *action, const struct ecs_result *r, void *userdata);

/* The PENDING or REBOOTING entry detached first: its revoked key has been detached the longest
 * without the detach having taken effect (the oldest exposure). NULL when there is none. */
const struct queue_entry *metrics_oldest_exposed(const struct state *s);

/* Where containment stands: instances whose key set is blocked, and those still exposed (found,
 * not contained, not rebooted since: the exposure ends at whichever comes first). */
struct metrics_containment {
        size_t contained;
        size_t uncontained;
        const struct contained_entry *oldest_uncontained; /* found first; NULL when none */
};

/* e is still exposed: not contained, and not rebooted since it was found. */
bool metrics_uncontained(const struct contained_entry *e, const struct state *s);

/* Counts the record c against the reboot queue s (c may be NULL: all zero). */
void metrics_containment(const struct contained *c, const struct state *s, struct metrics_containment *ret);

/* Formats the Prometheus text exposition of m and in (no clock, no I/O); -ENOMEM. */
int metrics_format(const struct metrics *m, const struct metrics_input *in, char **ret);

/* Formats and replaces path atomically (mode 0644, temp file in the same directory); -errno. */
int metrics_write(const char *path, const struct metrics *m, const struct metrics_input *in);
