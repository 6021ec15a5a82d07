/* What the enforcement pass (enforce.c) and its detach batches (detach.c) share. */
#pragma once

#include "base/hashmap.h"
#include "daemon/enforce.h"
#include "io/report.h"
#include "logic/planner.h"

#define ENFORCE_KEYPAIR_PAGE_SIZE 50
#define ENFORCE_INSTANCE_PAGE_SIZE 100

struct enforce_region {
        struct enforce *pass;
        char *name;
        struct planner_entry *entries;
        size_t n_entries;
        bool *name_found;               /* per entry: a NAME entry matched a key pair here */
        struct ecs_keypair *keypairs;
        size_t n_keypairs;
        unsigned page;
        bool listed;                    /* every key pair page was read */
};

struct enforce_target {
        struct enforce *pass;
        struct enforce_region *region;
        char *key;                      /* "region/keypair", the hashmap key */
        char *keypair;
        struct planner_entry why;
        char *batch[PLANNER_DETACH_BATCH_MAX];
        size_t n_batch;
        char *next_token;
        bool failed;
};

struct enforce_batch {
        struct enforce_target *target;
        char **ids;
        size_t n;
        char *error;                    /* why its detach is being verified, or NULL */
};

struct enforce {
        struct enforce_options o;
        enforce_done_cb cb;
        void *userdata;
        sd_event_source *setup_source;
        sd_event_source *flush_source;  /* group commit of the batches below */
        struct enforce_batch **unsent;  /* batches whose intent is not on disk yet */
        size_t n_unsent;
        unsigned outstanding;           /* ECS calls in flight for this pass */
        struct planner_counts counts;
        struct enforce_region **regions;
        size_t n_regions;
        struct hashmap *targets;        /* "region/keypair" -> struct enforce_target */
        struct hashmap *stale;          /* instance id -> queue entry left DETACHING by a past run */
        struct hashmap *found_names;    /* key pair names found in some region */
};

/* ---- enforce.c ---- */

/* KEYREVOKE_ERROR= of a failed call: the API's code, the errno name, or "unparsable-answer". */
const char *enforce_error_name(const struct ecs_result *r);
/* Realtime now, as the event loop saw it. */
uint64_t enforce_now(struct enforce *p);
/* The fields of an event about target, and optionally one of its instances. */
struct event_fields enforce_target_fields(const struct enforce_target *t, const char *instance, const char *request_id,
                                          const char *error);
/* Queues a call that holds the pass open until enforce_call_done() (params are taken over). */
int enforce_call(struct enforce *p, const char *region, const char *action, struct params *params, ecs_done_cb cb,
                 void *ctx);
/* Ends every ECS callback of the pass; the pass finishes (and may be freed) at the last one. */
void enforce_call_done(struct enforce *p);

/* ---- detach.c ---- */

/* Sends the instances collected in target's batch as one DetachKeyPair (reported only, in dry-run). */
void detach_flush(struct enforce_target *t);
/* The pass's group commit (an sd-event defer handler): saves the intents, then sends the calls. */
int detach_flush_cb(sd_event_source *s, void *userdata);
void detach_batch_free(struct enforce_batch *b);
