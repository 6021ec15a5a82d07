/* Containment: the revoked keys stop working on running Linux instances at once, through Cloud
 * Assistant, alongside the detaches and independent of them. This file collects the instances
 * into batches (one region and key set, CONTAIN_BATCH_MAX at most), holds them against reboots
 * while their command runs, saves the record and resumes what a killed run left open; the life
 * of one batch is in contain-run.c. Every intent is recorded before its call, so a restart
 * neither loses nor repeats a command. */
#include <assert.h>

#include "base/list.h"
#include "base/log.h"
#include "base/strutil.h"
#include "daemon/contain-internal.h"

/* Outcomes a restart can rebuild (an invocation's id, a result: the intent's ClientToken replays
 * the same invocation) are written at most this often; intents are written before their call.
 * A save rewrites the whole record: one per answer made a large containment CPU-bound. */
#define CONTAIN_SAVE_DELAY_USEC USEC_PER_SEC
/* A batch short of CONTAIN_BATCH_MAX waits this long for more instances of its region (the next
 * listing page) before it goes out: a half-full batch costs as many calls as a full one. */
#define CONTAIN_FILL_USEC (100 * USEC_PER_MSEC)

/* How many batches hold an instance; its key is its own copy of the id. */
struct hold {
        unsigned batches;
        char id[];
};

static void hold_take(struct contain *c, const char *id) {
        struct hold *h = hashmap_get(c->held, id);

        if (!h) {
                size_t n = strlen(id) + 1;
                if (!(h = calloc(1, sizeof(*h) + n)))
                        return (void) log_error("Out of memory: the reboot of %s may not wait for its containment", id);
                memcpy(h->id, id, n);
                if (hashmap_put(c->held, h->id, h) < 0)
                        return free(h);
        }
        h->batches++;
}

static void hold_drop(struct contain *c, const char *id) {
        struct hold *h = id ? hashmap_get(c->held, id) : NULL;

        if (h && --h->batches == 0)
                free(hashmap_remove(c->held, id));
}

bool contain_holds(const struct contain *c, const char *instance_id) {
        return hashmap_get(c->held, instance_id) != NULL;
}

/* ---- sets sent in runs --------------------------------------------------------------------- */

static void set_free(void *p) {
        struct contain_set *s = p;

        if (!s)
                return;
        contain_runs_done(&s->runs);
        strv_free(s->keys);
        free(s);
}

/* A new set of keys (taken over), split as runs says (its ends and digests taken over too, its
 * keys pointed at the set's own), kept in c->sets; NULL on ENOMEM (keys and runs freed). */
static struct contain_set *set_add(struct contain *c, char **keys, struct contain_runs *runs) {
        struct contain_set *s = calloc(1, sizeof(*s));

        if (!s) {
                strv_free(keys);
                contain_runs_done(runs);
                return NULL;
        }
        s->keys = keys;
        s->runs = *runs;
        s->runs.keys = keys;
        if (hashmap_put(c->sets, s->runs.digest, s) < 0) {
                set_free(s);
                return NULL;
        }
        return s;
}

static void *memdup_array(const void *p, size_t n, size_t size) {
        void *q = reallocarray(NULL, n, size);

        return q ? memcpy(q, p, n * size) : NULL;
}

/* The shared copy of runs (more than one), made the first time: the pass split them already. */
static struct contain_set *set_get(struct contain *c, const struct contain_runs *runs) {
        struct contain_set *s = hashmap_get(c->sets, runs->digest);
        struct contain_runs copy = *runs;
        char **keys;

        if (s)
                return s;
        keys = strv_copy_n(runs->keys, runs->n);
        if (!keys)
                return NULL;
        copy.ends = memdup_array(runs->ends, runs->n_runs, sizeof(*runs->ends));
        copy.digests = memdup_array(runs->digests, runs->n_runs, sizeof(*runs->digests));
        if (!copy.ends || !copy.digests) {
                contain_runs_done(&copy);
                strv_free(keys);
                return NULL;
        }
        return set_add(c, keys, &copy);
}

/* The set of digest the record keeps, split once after a restart; NULL when it is unknown, fits
 * one command now, or memory is short. */
static struct contain_set *set_load(struct contain *c, const char *digest) {
        struct contain_set *s = hashmap_get(c->sets, digest);
        char **kept = contained_get_keyset(c->o.record, digest), **keys;
        struct contain_runs runs = {};

        if (s || !kept)
                return s;
        keys = strv_copy_n(kept, strv_length(kept));
        if (!keys)
                return NULL;
        if (contain_runs_split(keys, strv_length(keys), &runs) < 0 || runs.n_runs < 2) {
                contain_runs_done(&runs);
                strv_free(keys);
                return NULL;
        }
        return set_add(c, keys, &runs);
}

static void set_unref(struct contain *c, struct contain_set *s) {
        if (s && --s->batches == 0)
                set_free(hashmap_remove(c->sets, s->runs.digest));
}

void contain_batch_free(struct contain_batch *b) {
        if (!b)
                return;
        if (b->contain)
                LIST_REMOVE(b->contain->batches, b);
        for (size_t i = 0; b->ids && b->ids[i]; i++)
                hold_drop(b->contain, b->ids[i]);
        set_unref(b->contain, b->set);
        sd_event_source_disable_unref(b->poll_source);
        free(b->region);
        strv_free(b->keys);
        strv_free(b->ids);
        strv_free(b->keypairs);
        strv_free(b->reasons);
        free(b->token);
        free(b->invoke_id);
        free(b);
}

struct contain_batch *contain_batch_new(struct contain *c, const char *region, struct contain_set *set, size_t run,
                                        char *const *keys, size_t n, const char *digest) {
        struct contain_batch *b = calloc(1, sizeof(*b));

        if (!b)
                return NULL;
        /* Linked at once: contain_free() frees what a cancelled call or a timer still owns. */
        b->contain = c;
        LIST_PREPEND(c->batches, b);
        b->timeout_usec = c->o.timeout_usec;
        b->set = set;
        b->run = run;
        if (set)
                set->batches++;
        if (!(b->region = strdup(region)))
                goto fail;
        memcpy(b->digest, digest, sizeof(b->digest));
        for (size_t i = 0; i < n; i++)
                if (strv_extend(&b->keys, keys[i]) < 0)
                        goto fail;
        b->ids = calloc(CONTAIN_BATCH_MAX + 1, sizeof(char *));
        b->keypairs = calloc(CONTAIN_BATCH_MAX + 1, sizeof(char *));
        b->reasons = calloc(CONTAIN_BATCH_MAX + 1, sizeof(char *));
        if (!b->ids || !b->keypairs || !b->reasons)
                goto fail;
        return b;
fail:
        contain_batch_free(b);
        return NULL;
}

uint64_t contain_now(const struct contain *c) {
        uint64_t now = 0;

        (void) sd_event_now(c->o.event, CLOCK_REALTIME, &now);
        return now;
}

static void swap(char **a, size_t i, size_t k) {
        char *t = a[i];
        a[i] = a[k];
        a[k] = t;
}

/* Sorts b's ids and keeps its parallel arrays in step: the same instances always make the same
 * RunCommand, also when it is sent again after a restart. */
void contain_batch_sort(struct contain_batch *b) {
        for (size_t i = 1; b->ids[i]; i++)
                for (size_t k = i; k > 0 && strcmp(b->ids[k - 1], b->ids[k]) > 0; k--) {
                        swap(b->ids, k, k - 1);
                        swap(b->keypairs, k, k - 1);
                        swap(b->reasons, k, k - 1);
                }
}

/* Moves the instance at from to the slot kept (kept <= from) among b's parallel arrays. */
void contain_batch_keep(struct contain_batch *b, size_t from, size_t kept) {
        b->ids[kept] = b->ids[from];
        b->keypairs[kept] = b->keypairs[from];
        b->reasons[kept] = b->reasons[from];
}

/* Drops the instance at i (its strings are freed; the slot is refilled by contain_batch_keep()). */
void contain_batch_drop(struct contain_batch *b, size_t i) {
        hold_drop(b->contain, b->ids[i]);
        free(b->ids[i]);
        free(b->keypairs[i]);
        free(b->reasons[i]);
}

void contain_batch_terminate(struct contain_batch *b, size_t n) {
        b->ids[n] = b->keypairs[n] = b->reasons[n] = NULL;
}

/* Appends an instance (keypair and reason may be NULL: unknown, for its events); it is held
 * until it leaves the batch. -ENOMEM, b unchanged. */
int contain_batch_add(struct contain_batch *b, const char *id, const char *keypair, const char *reason) {
        size_t k = strv_length(b->ids);

        assert(k < CONTAIN_BATCH_MAX);
        if (!(b->ids[k] = strdup(id)) || !(b->keypairs[k] = strdup(strempty(keypair))) ||
            !(b->reasons[k] = strdup(strempty(reason)))) {
                free(b->ids[k]);
                free(b->keypairs[k]);
                contain_batch_terminate(b, k);
                return -ENOMEM;
        }
        hold_take(b->contain, id);
        return 0;
}

/* Appends InstanceId.1..N for the ids. */
int contain_add_instance_ids(struct params *params, char *const *ids) {
        for (size_t i = 0; ids[i]; i++) {
                char name[32];
                snprintf(name, sizeof(name), "InstanceId.%zu", i + 1);
                if (params_add(params, name, ids[i]) < 0)
                        return -ENOMEM;
        }
        return 0;
}

/* ---- bookkeeping --------------------------------------------------------------------------- */

/* Sends one call for b; its callback gets b and must call contain_answered() first. */
int contain_send(struct contain_batch *b, const char *action, struct params *params, ecs_done_cb cb) {
        int r = ecs_call(b->contain->o.ecs, b->region, action, params, cb, b);

        if (r >= 0)
                b->contain->calls++;
        return r;
}

void contain_answered(struct contain *c) {
        c->calls--;
}

void contain_hold(struct contain *c) {
        c->outstanding++;
}

void contain_release(struct contain *c) {
        if (--c->outstanding == 0 && c->n_waiting == 0 && c->o.idle_cb)
                c->o.idle_cb(c, c->o.userdata);
        if (c->calls == 0 && c->o.drained_cb)
                c->o.drained_cb(c, c->o.userdata);
}

bool contain_idle(const struct contain *c) {
        return c->outstanding == 0 && c->n_waiting == 0;
}

void contain_take_counts(struct contain *c, unsigned *ret_contained, unsigned *ret_failed) {
        *ret_contained = c->n_contained;
        *ret_failed = c->n_failed;
        c->n_contained = c->n_failed = 0;
}

static void save_record(struct contain *c) {
        int r = contained_save(c->o.record);

        if (r < 0)
                log_error_errno(r, "Failed to save the containment record in %s: %m", c->o.record->directory);
}

static int save_cb(sd_event_source *s, uint64_t usec, void *userdata) {
        save_record(userdata);
        return 0;
}

/* Outcomes are written within CONTAIN_SAVE_DELAY_USEC (at once if the timer cannot be armed). */
void contain_save_later(struct contain *c) {
        int enabled = SD_EVENT_OFF;

        (void) sd_event_source_get_enabled(c->save_source, &enabled);
        if (enabled != SD_EVENT_OFF)
                return;
        if (sd_event_source_set_time_relative(c->save_source, CONTAIN_SAVE_DELAY_USEC) < 0 ||
            sd_event_source_set_enabled(c->save_source, SD_EVENT_ONESHOT) < 0)
                save_record(c);
}

/* ---- collecting ---------------------------------------------------------------------------- */

/* The waiting batch of region for run run of runs (set: their shared copy, or NULL) with room
 * for one more instance (created if needed). */
static struct contain_batch *batch_waiting(struct contain *c, const char *region, const struct contain_runs *runs,
                                           struct contain_set *set, size_t run) {
        const char *digest = contain_runs_digest(runs, run);
        struct contain_batch *b, **a;
        char *const *keys;
        size_t n;

        for (size_t i = 0; i < c->n_waiting; i++) {
                b = c->waiting[i];
                if (streq(b->region, region) && streq(b->digest, digest) && b->set == set &&
                    strv_length(b->ids) < CONTAIN_BATCH_MAX)
                        return b;
        }
        a = reallocarray(c->waiting, c->n_waiting + 1, sizeof(*a));
        if (!a)
                return NULL;
        c->waiting = a;
        keys = contain_runs_keys(runs, run, &n);
        b = contain_batch_new(c, region, set, run, keys, n, digest);
        if (b)
                c->waiting[c->n_waiting++] = b;
        return b;
}

/* Whether id is to be sent keys, and which run of them first (*ret_run): neither in a batch
 * already nor contained (or being contained) with this key set by its record; a changed set is
 * sent at the next pass, from its first run. */
static bool wants(const struct contain *c, const char *id, const struct contain_runs *keys, size_t *ret_run) {
        const struct contained_entry *e = contained_find(c->o.record, id);
        size_t run = 0;

        if (keys->n_runs == 0 || contain_holds(c, id))
                return false;
        if (e) {
                if (e->busy && streq(contained_entry_set(e), keys->digest))
                        return false;
                run = contain_runs_next(keys, contained_entry_set(e), e->digest,
                                        e->status == CONTAINED_DONE || e->status == CONTAINED_PARTIAL);
        }
        *ret_run = run;
        return run < keys->n_runs;
}

bool contain_wants(const struct contain *c, const char *id, const struct contain_runs *keys) {
        size_t run;

        return wants(c, id, keys, &run);
}

static int arm_fill(struct contain *c);

int contain_enqueue(struct contain *c, const char *region, const struct contain_runs *runs, struct contain_set *set,
                    size_t run, const char *id, const struct event_fields *why) {
        struct contain_batch *b = batch_waiting(c, region, runs, set, run);

        if (!b || contain_batch_add(b, id, why->keypair, why->reason) < 0)
                return log_error_errno(-ENOMEM, "Out of memory while containing %s", id);
        if (strv_length(b->ids) == CONTAIN_BATCH_MAX)
                return sd_event_source_set_enabled(c->flush_source, SD_EVENT_ONESHOT);
        return arm_fill(c);
}

int contain_instance(struct contain *c, const char *region, const struct contain_runs *keys, const char *id,
                     const struct event_fields *why) {
        struct contain_set *set = NULL;
        size_t run;

        if (!wants(c, id, keys, &run))
                return 0;
        if (c->o.dry_run) {
                struct event_fields f = *why;
                f.instance = id;
                f.dry_run = true;
                report_event(EVENT_WOULD_CONTAIN, &f, "Would block %zu revoked key(s) on %s in %s", keys->n, id,
                             region);
                return 0;
        }
        /* Its batches share one copy of a set sent in runs: they outlive the pass. */
        if (keys->n_runs > 1 && !(set = set_get(c, keys)))
                return log_error_errno(-ENOMEM, "Out of memory while containing %s", id);
        return contain_enqueue(c, region, set ? &set->runs : keys, set, run, id, why);
}

/* Everything collected in this loop iteration goes out, 50 instances a call. */
/* Sends the waiting batches, all of them or only the full ones. */
static void send_waiting(struct contain *c, bool all) {
        size_t kept = 0;

        if (c->paused)
                return; /* contain_pause(c, false) sends them */
        for (size_t i = 0; i < c->n_waiting; i++) {
                struct contain_batch *b = c->waiting[i];
                if (all || strv_length(b->ids) == CONTAIN_BATCH_MAX)
                        contain_batch_check_agents(b);
                else
                        c->waiting[kept++] = b;
        }
        c->n_waiting = kept;
        if (kept == 0)
                c->waiting = mfree(c->waiting);
}

static int flush_cb(sd_event_source *s, void *userdata) {
        send_waiting(userdata, false);
        return 0;
}

static int fill_cb(sd_event_source *s, uint64_t usec, void *userdata) {
        send_waiting(userdata, true);
        return 0;
}

/* The batches that are not full go out within CONTAIN_FILL_USEC (at once if that cannot be
 * timed). */
static int arm_fill(struct contain *c) {
        int enabled = SD_EVENT_OFF;

        (void) sd_event_source_get_enabled(c->fill_source, &enabled);
        if (enabled != SD_EVENT_OFF)
                return 0;
        if (sd_event_source_set_time_relative(c->fill_source, CONTAIN_FILL_USEC) < 0 ||
            sd_event_source_set_enabled(c->fill_source, SD_EVENT_ONESHOT) < 0)
                send_waiting(c, true);
        return 0;
}

/* ---- resuming what a killed run left open ---------------------------------------------------- */

/* The set first's keys are a run of, and which run (*ret_run): NULL, with run 0, for a set that
 * fits one command; -ENOENT when the set is unknown or no run of it has first's keys. */
static int resume_set(struct contain *c, const struct contained_entry *first, struct contain_set **ret,
                      size_t *ret_run) {
        struct contain_set *set = NULL;
        size_t run = 0;

        if (first->set) {
                set = set_load(c, first->set);
                if (!set)
                        return -ENOENT;
                run = contain_runs_next(&set->runs, first->set, first->digest, false);
                if (!streq(contain_runs_digest(&set->runs, run), first->digest))
                        return -ENOENT;
        }
        *ret = set;
        *ret_run = run;
        return 0;
}

/* The batch of open entries that share e's token (or invoke id, once answered). */
static struct contain_batch *resume_collect(struct contain *c, const struct contained_entry *first) {
        char **keys = contained_get_keyset(c->o.record, first->digest);
        struct contained_entry *e;
        struct contain_set *set;
        struct contain_batch *b;
        size_t i = 0, n = 0, run;

        if (!keys || resume_set(c, first, &set, &run) < 0)
                return NULL;
        b = contain_batch_new(c, first->region, set, run, keys, strv_length(keys), first->digest);
        if (!b || !(b->token = strdup(first->token)) || (first->invoke_id && !(b->invoke_id = strdup(first->invoke_id)))) {
                contain_batch_free(b);
                return NULL;
        }
        while (n < CONTAIN_BATCH_MAX && contained_iterate(c->o.record, &i, &e)) {
                const struct queue_entry *q = c->o.queue ? state_find(c->o.queue, e->instance_id) : NULL;
                if (!e->busy && streq(e->token, first->token) && e->status == first->status &&
                    contain_batch_add(b, e->instance_id, q ? q->keypair : NULL, q ? q->reason : NULL) >= 0) {
                        e->busy = true;
                        n++;
                }
        }
        contain_batch_sort(b);
        return b;
}

/* Intents left SENDING are sent again with their own token (the API runs a token once); those
 * left RUNNING are followed. */
static void contain_resume(struct contain *c) {
        struct contained_entry *e;
        size_t i = 0;

        while (contained_iterate(c->o.record, &i, &e)) {
                struct contain_batch *b;
                if (e->busy || (e->status != CONTAINED_SENDING && e->status != CONTAINED_RUNNING))
                        continue;
                b = resume_collect(c, e);
                if (!b) {
                        log_error("Cannot resume the containment of %s: its key set is unknown or memory is short",
                                  e->instance_id);
                        (void) contained_set(c->o.record, e, CONTAINED_FAILED, NULL, "resume-failed", contain_now(c));
                        continue;
                }
                log_info("Resuming containment of %zu instance(s) in %s left %s by an earlier run",
                         strv_length(b->ids), b->region, contained_status_to_string(e->status));
                if (b->invoke_id) {
                        b->sent_usec = e->updated_usec;
                        contain_batch_poll(b, 0);
                } else
                        contain_batch_run(b);
        }
}

int contain_new(const struct contain_options *o, struct contain **ret) {
        _cleanup_(contain_freep) struct contain *c = calloc(1, sizeof(*c));
        int r;

        if (!c)
                return -ENOMEM;
        c->o = *o;
        r = hashmap_new(&c->held);
        if (r < 0)
                return r;
        r = hashmap_new(&c->sets);
        if (r < 0)
                return r;
        r = sd_event_add_defer(o->event, &c->flush_source, flush_cb, c);
        if (r < 0)
                return r;
        /* Idle priority: instances found by answers already waiting join the same calls. */
        (void) sd_event_source_set_priority(c->flush_source, SD_EVENT_PRIORITY_IDLE);
        (void) sd_event_source_set_enabled(c->flush_source, SD_EVENT_OFF);
        r = sd_event_add_time_relative(o->event, &c->fill_source, CLOCK_MONOTONIC, CONTAIN_FILL_USEC,
                                       USEC_PER_MSEC, fill_cb, c);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(c->fill_source, SD_EVENT_OFF);
        r = sd_event_add_defer(o->event, &c->commit_source, contain_commit_cb, c);
        if (r < 0)
                return r;
        /* Idle priority: the answers already waiting add their batches to the same save. */
        (void) sd_event_source_set_priority(c->commit_source, SD_EVENT_PRIORITY_IDLE);
        (void) sd_event_source_set_enabled(c->commit_source, SD_EVENT_OFF);
        r = sd_event_add_time_relative(o->event, &c->save_source, CLOCK_MONOTONIC, CONTAIN_SAVE_DELAY_USEC,
                                       USEC_PER_MSEC, save_cb, c);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(c->save_source, SD_EVENT_OFF);
        if (!o->dry_run)
                contain_resume(c);
        *ret = TAKE_PTR(c);
        return 0;
}

struct contain *contain_free(struct contain *c) {
        if (!c)
                return NULL;
        sd_event_source_disable_unref(c->flush_source);
        sd_event_source_disable_unref(c->fill_source);
        sd_event_source_disable_unref(c->commit_source);
        for (size_t i = 0; i < c->n_committing; i++)
                contain_batch_free(c->committing[i]);
        free(c->committing);
        /* What is left unsaved is written by the record's owner (agent_free()). */
        sd_event_source_disable_unref(c->save_source);
        /* Batches of calls cancelled with their client or waiting for a poll, and collected ones. */
        while (c->batches)
                contain_batch_free(c->batches);
        free(c->waiting);
        hashmap_free_with(c->held, free);
        /* Those no batch took (memory was short). */
        hashmap_free_with(c->sets, set_free);
        free(c);
        return NULL;
}

void contain_pause(struct contain *c, bool pause) {
        c->paused = pause;
        if (!pause && c->n_waiting > 0) {
                (void) sd_event_source_set_enabled(c->flush_source, SD_EVENT_ONESHOT);
                (void) arm_fill(c);
        }
}

unsigned contain_calls_in_flight(const struct contain *c) {
        return c->calls;
}

void contain_reconfigure(struct contain *c, struct ecs *ecs, uint64_t timeout_usec) {
        assert(c->calls == 0);
        c->o.ecs = ecs;
        c->o.timeout_usec = timeout_usec;
}
