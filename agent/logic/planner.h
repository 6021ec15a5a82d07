/* The planner: what to detach, skip, queue and reboot, and why (pure decisions on plain data). */
#pragma once

#include "base/hashmap.h"
#include "logic/ecsparse.h"
#include "logic/revlist.h"

#define PLANNER_DETACH_BATCH_MAX 50

/* What one enforcement pass did, as counted for its summary event and the metrics. */
struct planner_counts {
        unsigned detached;      /* instances detached (or that would be, in dry-run) */
        unsigned skipped;       /* Windows instances left alone */
        unsigned failed;        /* instances or key pairs that could not be enforced */
        unsigned not_found;     /* named key pairs that exist nowhere */
        unsigned regions;       /* regions the pass looked at */
        unsigned regions_failed; /* regions whose regions, key pairs or instances could not be listed */
        unsigned newly_queued;  /* instances that entered the reboot queue in this pass */
};

/* A revocation list entry together with the list it came from. */
struct planner_entry {
        const struct revlist *list;
        const struct revlist_entry *entry;
};

/* One key pair of one region that must be detached everywhere: the first entry that matched
 * decides the reason and list reported with its events. */
struct planner_target {
        const char *keypair;            /* borrowed from the key pair array passed in */
        struct planner_entry why;
};

enum planner_instance_action {
        PLANNER_DETACH,
        PLANNER_SKIP_WINDOWS,
        _PLANNER_INSTANCE_ACTION_MAX,
};

/* Collects all entries of lists that apply in region into a new array (*ret_n may be 0). */
int planner_entries_for_region(struct revlist *const *lists, size_t n_lists, const char *region,
                               struct planner_entry **ret, size_t *ret_n);

/* True when any entry needs the region's public keys (a key or fingerprint entry). */
bool planner_needs_public_keys(const struct planner_entry *entries, size_t n);

/* Matches a region's key pairs against its entries: names exactly, keys and fingerprints by the
 * digests of each PublicKey (never the API's fingerprint string). Returns a new target array,
 * one per revoked key pair. *ret_name_found[i] is set for each NAME entry i that matched. */
int planner_match_keypairs(const struct planner_entry *entries, size_t n_entries,
                           const struct ecs_keypair *keypairs, size_t n_keypairs,
                           bool *name_found, struct planner_target **ret, size_t *ret_n);

/* A region's NAME entries as targets when its key pairs are not listed: each name once, with the
 * first entry naming it. The names are borrowed from the entries. */
int planner_name_targets(const struct planner_entry *entries, size_t n_entries, struct planner_target **ret,
                         size_t *ret_n);

/* What to do with one instance found bound to a revoked key pair. */
enum planner_instance_action planner_instance_action(const struct ecs_instance *i);

/* How to split a DetachKeyPair batch refused with DependencyViolation.WindowsInstance: the
 * size of the first half (the second holds the rest); 0 when n is 1 (the instance is skipped). */
size_t planner_split_batch(size_t n);

/* ---- reboots ---- */

/* Whether a reboot may start now, or why not. */
enum planner_gate {
        PLANNER_GATE_OPEN,
        PLANNER_GATE_DISABLED,          /* [Reboot] Enabled=no */
        PLANNER_GATE_NO_WINDOW,         /* no Window= configured: never */
        PLANNER_GATE_OUTSIDE,           /* not inside a window */
        PLANNER_GATE_CUTOFF,            /* inside, but past end minus CutoffSec */
        PLANNER_GATE_MAX_FAILURES,      /* MaxFailures reached in this window */
        PLANNER_GATE_FULL,              /* MaxParallel reboots in flight */
        _PLANNER_GATE_MAX,
};

struct planner_gate_input {
        bool enabled;
        int window;                     /* window_set_find(): 1 inside, 0 next one, -ENOENT none */
        uint64_t window_end_usec;
        uint64_t now_usec;
        uint64_t cutoff_usec;
        unsigned failures;
        unsigned max_failures;
        unsigned in_flight;
        unsigned max_parallel;
};

const char *planner_gate_to_string(enum planner_gate g);
enum planner_gate planner_reboot_gate(const struct planner_gate_input *in);

/* What to do with a queued instance, seen right before its reboot (NULL = it does not exist). */
enum planner_precheck {
        PLANNER_PRECHECK_REBOOT,        /* Running: reboot it */
        PLANNER_PRECHECK_STOPPED,       /* Stopped: it takes the change at its next boot */
        PLANNER_PRECHECK_NOT_FOUND,     /* released: nothing left to do */
        PLANNER_PRECHECK_WAIT,          /* starting, stopping or pending: look again later */
        _PLANNER_PRECHECK_MAX,
};

enum planner_precheck planner_reboot_precheck(const struct ecs_instance *i);

/* Where a reboot in flight (REBOOTING) stands. */
enum planner_follow {
        PLANNER_FOLLOW_IN_PROGRESS,
        PLANNER_FOLLOW_COMPLETED,       /* Running again after the reboot */
        PLANNER_FOLLOW_NOT_STARTED,     /* the call never took effect: queue it again */
        PLANNER_FOLLOW_TIMED_OUT,       /* not Running within HealthTimeoutSec */
        PLANNER_FOLLOW_STOPPED,
        PLANNER_FOLLOW_NOT_FOUND,
        _PLANNER_FOLLOW_MAX,
};

struct planner_follow_input {
        const struct ecs_instance *instance;    /* NULL = it does not exist */
        const char *start_time_before;          /* StartTime seen before the call */
        bool accepted;                          /* RebootInstance answered success */
        bool seen_down;                         /* seen not Running since the call */
        uint64_t elapsed_usec;                  /* since the intent was written */
        uint64_t health_timeout_usec;
        uint64_t grace_usec;                    /* how long an accepted call may look like nothing */
};

enum planner_follow planner_reboot_follow(const struct planner_follow_input *in);
