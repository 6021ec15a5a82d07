/* Launch sources: each pass lists a region's launch templates (every version) and Auto Scaling
 * configurations and reports those that name one of its revoked key pairs (SPEC.md
 * "Re-introduction"), once per source and key pair, remembered in StateDirectory. */
#pragma once

#include "daemon/pass.h"
#include "io/referenced.h"
#include "logic/planner.h"

struct sources;

/* A checker that remembers what it reported in record (borrowed; it must outlive the checker). */
int sources_new(struct referenced *record, struct sources **ret);
/* Frees the checks still running; their calls belong to the ECS client (freed with it, or
 * cancelled first: no callback may follow). */
struct sources *sources_free(struct sources *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct sources *, sources_free);

/* Forgets every source reported (nothing is revoked any more): a revoked key pair they name later
 * is reported again. */
void sources_forget(struct sources *s, struct pass *p);

/* A revoked public key that launch sources' UserData must not carry: why is the entry that
 * revoked it, keypair the revoked key pair of the region it is the key of (NULL when none). */
struct sources_key {
        const char *key;                /* "TYPE BLOB" */
        const char *keypair;
        struct planner_entry why;
};

/* Checks region's launch sources against its n revoked key pairs and the n_keys revoked keys
 * known (targets, keys and their entries are borrowed until the pass ends), with calls that hold
 * pass p. complete: targets are every revoked key pair of the region, so what is not found any
 * more is forgotten (and reported again when it comes back). With neither targets nor keys no
 * call is made. -ENOMEM (nothing was started). */
int sources_check_region(struct sources *s, struct pass *p, const char *region, const struct planner_target *targets,
                         size_t n, const struct sources_key *keys, size_t n_keys, bool complete);
