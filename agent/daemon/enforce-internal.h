/* What the files of a pass share: enforce.c (the pass: regions, targets, settling, retiring, its
 * start and end), enforce-keypairs.c (listing a region's key pairs and matching its entries
 * against them), enforce-discover.c (finding the instances of a region's revoked key pairs) and
 * enforce-queued.c (containing the instances detached earlier that wait for their reboot).
 * Not for other users. */
#pragma once

#include "daemon/detach.h"
#include "daemon/enforce.h"
#include "daemon/pass.h"
#include "daemon/stale.h"
#include "logic/contain.h"

enum enforce_phase {
        PHASE_DISCOVER,         /* regions, key pairs, instances, detaches */
        PHASE_SETTLE,           /* intents no listing settled, names that matched nothing */
        PHASE_DONE,
};

struct enforce_target {
        struct detach_target d;         /* d.keypair is keypair below, d.region the region's name */
        struct enforce_region *region;
        char *keypair;
        char *next_token;
        char **linux_ids;               /* bound Linux instances until listed to the end, then detached
                                         * (kept only for DeleteRevokedKeyPairs=) */
        size_t n_linux;
        size_t n_bound;                 /* Windows ones included */
        bool failed;                    /* its listing did not reach the end */
        size_t contain_run;             /* which of the region's key runs holds its key (+ 1; 0: not known) */
        struct contain_runs contain_own;        /* contain_run > 0: that run alone */
};

struct enforce_region {
        struct enforce *pass;
        char *name;
        struct planner_entry *entries;
        size_t n_entries;
        bool *name_found;               /* per entry: a NAME entry matched a listed key pair */
        struct ecs_keypair *keypairs;
        size_t n_keypairs;
        size_t n_listed_keypairs;       /* those DescribeKeyPairs showed; then the deleted ones */
        unsigned keypair_pages;         /* pages of DescribeKeyPairs, known from page one (0 before) */
        unsigned keypair_pages_left;
        bool keypairs_listed;           /* every key pair page was read */
        bool keypairs_failed;
        struct enforce_target **targets;
        size_t n_targets;
        struct hashmap *by_name;        /* keypair -> struct enforce_target */
        enum discovery_strategy strategy;
        unsigned listing_pages;         /* region listing: pages, known from page one (0 before) */
        unsigned listing_pages_left;    /* region listing: pages still to come */
        size_t listing_seen;            /* region listing: instances seen */
        bool failed;                    /* something here could not be listed */
        char **contain_keys;            /* sorted "TYPE BLOB" strv of the revoked keys here */
        struct contain_runs contain_runs;       /* of contain_keys, that fit one command each */
};

struct enforce {
        struct pass pass;               /* first: the finish callback gets back from it */
        struct enforce_options o;
        enforce_done_cb cb;
        void *userdata;
        enum enforce_phase phase;
        sd_event_source *setup_source;
        struct detach *detach;
        struct enforce_region **regions;
        size_t n_regions;
        struct stale *stale;            /* intents left DETACHING by a killed run */
        struct hashmap *found_names;    /* key pair names seen bound or listed in some region */
};

/* ---- enforce.c ---- */

/* A listing of what in g failed: counted, reported once per region and pass. */
void enforce_region_lookup_failed(struct enforce_region *g, const char *what, const struct ecs_result *r);
/* The keys an instance bound to t's key pair is sent: all of the region's when they fit one
 * command (a copy of another revoked key there is blocked too) or with Scope=fleet (a revoked key
 * may have been copied anywhere: every run, as to an instance bound to none), else the run that
 * holds its key pair's own key (instances of several key pairs still share a command), else (its
 * key unknown) all the runs. */
const struct contain_runs *enforce_target_contain_runs(struct enforce_target *t);
/* Sends i the revoked keys when it is in the containment scope (t: its key pair, or NULL). */
void enforce_region_contain(struct enforce_region *g, const struct ecs_instance *i, struct enforce_target *t);
/* g's revoked key pairs are known (its key pairs listed, or not needed, or not to be had): its
 * targets are made and their instances found. */
void enforce_region_start_targets(struct enforce_region *g);

/* ---- enforce-keypairs.c ---- */

/* Key and fingerprint entries match by public key, containment sends the keys themselves, and a
 * key pair's key is saved before it is deleted: DescribeKeyPairs includes the public keys. */
bool enforce_region_needs_public_keys(const struct enforce_region *g);
/* Lists page of g's key pairs (page 1: the others follow once it tells how many there are); when
 * the last page is in, the discovery phase goes on with enforce_region_start_targets(). */
int enforce_region_list_keypairs(struct enforce_region *g, unsigned page);
/* The targets of g's entries: matched against its key pairs (names, public keys, fingerprints)
 * when they were listed to the end, else by name alone. -ENOMEM. */
int enforce_region_match_keypairs(struct enforce_region *g, struct planner_target **ret, size_t *ret_n);
/* The names of g's key pairs, when listed to the end, count as found (not reported missing). */
void enforce_region_note_keypair_names(struct enforce_region *g);
/* The key pair name as DescribeKeyPairs showed it in g (not one added as deleted), or NULL. */
const struct ecs_keypair *enforce_region_listed_keypair(const struct enforce_region *g, const char *name);

/* ---- enforce-queued.c ---- */

/* The target of g whose detach left instance_id waiting for its reboot (a PENDING entry of the
 * queue in g, its key pair still revoked there), or NULL. */
struct enforce_target *enforce_region_queued_target(const struct enforce_region *g, const char *instance_id);
/* Discovery by key pair does not show the instances detached earlier: those of g that containment
 * still wants are looked at by id, and contained as if found bound when Running. */
void enforce_region_look_at_queued(struct enforce_region *g);

/* ---- enforce-discover.c ---- */

/* Finds the instances of g's targets the cheaper way (by key pair, or the region listed once:
 * logic/discovery.c decides), each target detached once its listing is over. */
void enforce_region_discover(struct enforce_region *g);
