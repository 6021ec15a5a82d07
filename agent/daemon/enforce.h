/* One enforcement pass: resolve every list entry to key pairs and instances, detach, queue. */
#pragma once

#include <systemd/sd-event.h>

#include "daemon/contain.h"
#include "daemon/retire.h"
#include "daemon/sources.h"
#include "io/ecs.h"
#include "io/state.h"
#include "logic/discovery.h"
#include "logic/planner.h"
#include "logic/revlist.h"

struct enforce;

/* Called once when the pass has no call left in flight. */
typedef void (*enforce_done_cb)(struct enforce *p, const struct planner_counts *c, void *userdata);

struct enforce_options {
        struct ecs *ecs;
        struct state *state;            /* the reboot queue; saved before every DetachKeyPair */
        struct revlist *const *lists;   /* must stay valid until the pass is done */
        size_t n_lists;
        char *const *regions;           /* empty or NULL = all regions, via DescribeRegions */
        bool dry_run;
        sd_event *event;                /* for the completion of a pass with nothing to do */
        struct discovery_memory *memory; /* region sizes seen by earlier passes, updated; or NULL */
        struct contain *contain;        /* where found instances are contained; NULL = off */
        enum conf_contain_scope contain_scope;
        struct sources *sources;        /* each region's launch sources are checked; NULL = off */
        struct retire *retire;          /* deleted key pairs stay revoked by name; may be NULL */
        bool delete_keypairs;           /* DeleteRevokedKeyPairs=: retire needed */
        struct warned *warned;          /* Windows instances reported before (saved); NULL: always report */
};

/* Starts a pass; calls are queued on the ECS client, cb runs from the event loop when done. */
int enforce_start(const struct enforce_options *o, enforce_done_cb cb, void *userdata, struct enforce **ret);

/* Frees a finished pass, or one whose ECS client was already freed (no callback may follow). */
struct enforce *enforce_free(struct enforce *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct enforce *, enforce_free);
