/* Intents a killed run left DETACHING: settled by evidence only. A complete listing of the key pair
 * that does not show the instance, or a look at the instance by id, tells whether the detach took
 * effect; a region or key pair that could not be listed settles nothing. */
#pragma once

#include "daemon/pass.h"

struct stale;

/* The DETACHING entries of pass->state (none in a dry run: nothing is settled then). -ENOMEM. */
int stale_new(struct pass *pass, struct stale **ret);
struct stale *stale_free(struct stale *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct stale *, stale_free);

/* A listing shows instance_id still bound: its intent did not take effect. Returns the entry (no
 * longer stale; the caller decides what becomes of it), or NULL when it had none. */
struct queue_entry *stale_take(struct stale *s, const char *instance_id);

/* A complete listing of keypair in region did not show the instances of these intents: they were
 * detached (detached and reboot-queued, "confirmed after a restart"). */
void stale_promote_listed(struct stale *s, const char *region, const char *keypair);

/* Whether the listings of a region failed in this pass. */
typedef bool (*stale_region_failed_fn)(const char *region, void *userdata);

/* Looks by id at every instance whose intent no listing settled, and settles each by what it
 * shows; the calls hold the pass. An instance still bound in a region whose listings failed counts
 * failed and stays DETACHING for the next pass. */
void stale_look_at_rest(struct stale *s, stale_region_failed_fn region_failed, void *userdata);
