/* One enforcement pass: resolve every list entry to key pairs and instances, detach, queue. */
#pragma once

#include <systemd/sd-event.h>

#include "ecs.h"
#include "revlist.h"
#include "state.h"

struct enforce;

struct enforce_counts {
        unsigned detached;      /* instances detached (or that would be, in dry-run) */
        unsigned skipped;       /* Windows instances left alone */
        unsigned failed;        /* instances or key pairs that could not be enforced */
        unsigned not_found;     /* named key pairs that exist nowhere */
};

/* Called once when the pass has no call left in flight. */
typedef void (*enforce_done_cb)(struct enforce *p, const struct enforce_counts *c, void *userdata);

struct enforce_options {
        struct ecs *ecs;
        struct state *state;            /* the reboot queue; saved before every DetachKeyPair */
        struct revlist *const *lists;   /* must stay valid until the pass is done */
        size_t n_lists;
        char *const *regions;           /* empty or NULL = all regions, via DescribeRegions */
        bool dry_run;
        sd_event *event;                /* for the completion of a pass with nothing to do */
};

/* Starts a pass; calls are queued on the ECS client, cb runs from the event loop when done. */
int enforce_start(const struct enforce_options *o, enforce_done_cb cb, void *userdata, struct enforce **ret);

/* Frees a finished pass, or one whose ECS client was already freed (no callback may follow). */
struct enforce *enforce_free(struct enforce *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct enforce *, enforce_free);
