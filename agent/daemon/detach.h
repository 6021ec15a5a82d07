/* DetachKeyPair batches of one pass: intents on disk first (group commit), the calls, their
 * results, and a look at the instances when an answer leaves it open whether a detach happened. */
#pragma once

#include "daemon/pass.h"
#include "io/report.h"
#include "logic/planner.h"

/* One revoked key pair in one region. Owned by the caller; it must outlive the pass. */
struct detach_target {
        const char *region;
        const char *keypair;
        struct planner_entry why;       /* the entry that revoked it: reported with every event */
};

struct detach;

/* The batches of pass p (which must outlive them). */
int detach_new(struct pass *p, struct detach **ret);
/* Frees the batches not sent yet; those in flight belong to the ECS client (freed with it). */
struct detach *detach_free(struct detach *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct detach *, detach_free);

/* Detaches t's key pair from the n instances, PLANNER_DETACH_BATCH_MAX per call, each intent
 * saved before its call; in dry run only reports would-detach. The ids its batches take over are
 * left NULL (freed as their calls end: a finished backlog holds none); the rest stay the
 * caller's. -ENOMEM. */
int detach_instances(struct detach *d, const struct detach_target *t, char **ids, size_t n);

/* The fields of an event about t, and optionally one of its instances. */
struct event_fields detach_target_fields(const struct pass *p, const struct detach_target *t, const char *instance,
                                         const char *request_id, const char *error);
