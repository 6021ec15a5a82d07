/* The parts of containment that its two files share: the coordinator (contain.c: collecting
 * instances into batches, holds, the record's saves, resuming, the public API) and the life of one
 * batch (contain-run.c: agent check, intents, RunCommand, results, outcomes). Not for other users. */
#pragma once

#include "daemon/contain.h"
#include "logic/contain.h"
#include "logic/params.h"

struct contain {
        struct contain_options o;
        sd_event_source *flush_source;  /* sends the full batches contain_instance() collected */
        sd_event_source *fill_source;   /* sends the others, CONTAIN_FILL_USEC after the first */
        sd_event_source *commit_source; /* writes the intents of committing[], then runs them */
        struct contain_batch **committing;      /* intents recorded, not yet on disk */
        size_t n_committing;
        sd_event_source *save_source;   /* writes the record's outcomes (contain_save_later()) */
        struct contain_batch *batches;          /* every batch: collected, in a call or waiting for a poll */
        struct contain_batch **waiting;         /* collected, one per region and key set, not sent yet */
        size_t n_waiting;
        struct hashmap *held;           /* instance id -> struct hold: in a batch, not final yet */
        struct hashmap *sets;           /* digest -> struct contain_set: sets sent in runs, in a batch */
        unsigned outstanding;           /* calls and poll timers */
        unsigned calls;                 /* ECS calls in flight (they point at the client) */
        bool paused;                    /* contain_pause(): polls wait, collected batches too */
        unsigned n_contained, n_failed;
        uint64_t run_usec;              /* shortest RunCommand answer to all results final, 0: none yet */
};

/* A key set too large for one command, sent in runs one after the other: its keys and their
 * split, shared by the batches of its runs (split once, also after a restart). */
struct contain_set {
        unsigned batches;               /* that refer to it; it goes with the last */
        char **keys;                    /* strv, sorted */
        struct contain_runs runs;       /* of keys */
};

/* Up to CONTAIN_BATCH_MAX instances of one region sent one key set (or one run of a set). */
struct contain_batch {
        struct contain *contain;
        char *region;
        struct contain_set *set;        /* the set keys are one run of, NULL: keys are the whole set */
        size_t run;                     /* which run of set */
        char **keys;                    /* strv */
        char digest[CONTAIN_DIGEST_LEN + 1];
        char **ids;                     /* strv, sorted before RunCommand */
        char **keypairs;                /* strv parallel to ids, "" when unknown (for events) */
        char **reasons;                 /* strv parallel to ids: the entry's reason=, "" for none */
        char *token;
        char *invoke_id;
        uint64_t sent_usec;
        uint64_t timeout_usec;          /* TimeoutSec= its command was sent with */
        uint64_t answered_usec;         /* RunCommand answered (0: resumed after a restart) */
        unsigned looks;                 /* at its results */
        bool waited;                    /* its first look waited for an earlier invocation's */
        sd_event_source *poll_source;
        struct contain_batch *prev, *next;      /* in contain.batches */
};

/* ---- contain.c: batches, holds, bookkeeping ---- */

/* A batch of c for region and the n keys (copied) with that digest, run run of set (NULL: the
 * keys are the whole set), linked into c->batches at once (contain_free() frees what a cancelled
 * call or a timer still owns); NULL on ENOMEM. */
struct contain_batch *contain_batch_new(struct contain *c, const char *region, struct contain_set *set, size_t run,
                                        char *const *keys, size_t n, const char *digest);
/* Unlinks and frees b, letting go of its instances' holds. */
void contain_batch_free(struct contain_batch *b);
/* Appends an instance (keypair and reason may be NULL: unknown, for its events); it is held
 * until it leaves the batch. -ENOMEM, b unchanged. */
int contain_batch_add(struct contain_batch *b, const char *id, const char *keypair, const char *reason);
/* Sorts b's ids and keeps its parallel arrays in step: the same instances always make the same
 * RunCommand, also when it is sent again after a restart. */
void contain_batch_sort(struct contain_batch *b);
/* Moves the instance at from to the slot kept (kept <= from) among b's parallel arrays. */
void contain_batch_keep(struct contain_batch *b, size_t from, size_t kept);
/* Drops the instance at i (its strings are freed; the slot is refilled by contain_batch_keep()). */
void contain_batch_drop(struct contain_batch *b, size_t i);
/* Ends b's parallel arrays after n instances. */
void contain_batch_terminate(struct contain_batch *b, size_t n);
/* Appends InstanceId.1..N for the ids. */
int contain_add_instance_ids(struct params *params, char *const *ids);
/* Id joins a waiting batch of region for run run of runs (set: runs' shared copy when they are
 * more than one, else NULL); why gives the key pair and reason for its events. -ENOMEM (logged). */
int contain_enqueue(struct contain *c, const char *region, const struct contain_runs *runs, struct contain_set *set,
                    size_t run, const char *id, const struct event_fields *why);

uint64_t contain_now(const struct contain *c);
/* Sends one call for b; its callback gets b and must call contain_answered() first. */
int contain_send(struct contain_batch *b, const char *action, struct params *params, ecs_done_cb cb);
void contain_answered(struct contain *c);
/* A call or timer that keeps c from being idle, and its end. */
void contain_hold(struct contain *c);
void contain_release(struct contain *c);
/* Outcomes are written within CONTAIN_SAVE_DELAY_USEC (at once if the timer cannot be armed). */
void contain_save_later(struct contain *c);

/* ---- contain-run.c: the life of a batch ---- */

/* Starts b (taken over): its agents are checked, then the online ones get RunCommand. */
void contain_batch_check_agents(struct contain_batch *b);
/* Sends b's RunCommand (its intents are on disk); b is taken over. */
void contain_batch_run(struct contain_batch *b);
/* Looks at b's results after usec (the batch holds the containment open meanwhile). */
void contain_batch_poll(struct contain_batch *b, uint64_t usec);
/* c->commit_source: writes the intents of c->committing[] together, then runs those batches. */
int contain_commit_cb(sd_event_source *s, void *userdata);
