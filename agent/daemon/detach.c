/* DetachKeyPair batches of one pass: intents on disk first (group commit), the calls, their
 * results, and a look at the instances when an answer leaves it open whether a detach happened. */
#include "base/log.h"
#include "daemon/detach.h"
#include "logic/discovery.h"

struct detach {
        struct pass *pass;
        sd_event_source *flush_source;  /* group commit of the batches below */
        struct batch **unsent;          /* batches whose intents are not on disk yet */
        size_t n_unsent;
};

/* Instances of one target in one call; also used for the look that verifies them. */
struct batch {
        struct detach *detach;
        const struct detach_target *target;
        char **ids;                     /* owned; NULL where one moved on to another batch */
        size_t n;
        char *error;                    /* why its detach is being verified, or NULL */
};

struct event_fields detach_target_fields(const struct pass *p, const struct detach_target *t, const char *instance,
                                         const char *request_id, const char *error) {
        return (struct event_fields) {
                .keypair = t->keypair,
                .region = t->region,
                .instance = instance,
                .request_id = request_id,
                .error = error,
                .list = t->why.list->path,
                .line = t->why.entry->line,
                .reason = t->why.entry->reason,
                .dry_run = p->dry_run,
        };
}

static void batch_free(struct batch *b) {
        if (!b)
                return;
        for (size_t i = 0; i < b->n; i++)
                free(b->ids[i]);
        free(b->ids);
        free(b->error);
        free(b);
}

/* A batch of t that takes over ids[0..n) (each left NULL); NULL on ENOMEM, ids untouched. */
static struct batch *batch_new(struct detach *d, const struct detach_target *t, char **ids, size_t n) {
        struct batch *b = calloc(1, sizeof(*b));

        if (!b || !(b->ids = calloc(n ? n : 1, sizeof(char *)))) {
                free(b);
                return NULL;
        }
        *b = (struct batch) { .detach = d, .target = t, .ids = b->ids, .n = n };
        for (size_t i = 0; i < n; i++)
                b->ids[i] = TAKE_PTR(ids[i]);
        return b;
}

static void report_failed(struct batch *b, const char *error, const char *request_id, const char *why) {
        struct pass *p = b->detach->pass;

        for (size_t i = 0; i < b->n; i++) {
                struct event_fields f;

                if (!b->ids[i])
                        continue; /* moved on to a part of a split that was sent */
                f = detach_target_fields(p, b->target, b->ids[i], request_id, error);
                p->counts.failed++;
                report_event(EVENT_DETACH_FAILED, &f, "Could not detach key pair '%s' from %s: %s (still pending)",
                             b->target->keypair, b->ids[i], why ? why : error);
        }
}

/* ---- intents ------------------------------------------------------------------------------- */

/* Writes id's intent (DETACHING) for t. An entry of an earlier cycle starts a new one; one whose
 * reboot is in flight is left alone (-EBUSY): its reboot settles first, the next pass detaches. */
static int record_intent(struct pass *p, const struct detach_target *t, const char *id) {
        struct queue_entry *e;
        int r = state_begin_detach(p->state, id, t->region, t->keypair, t->why.entry->reason, &e);

        if (r < 0)
                return r;
        return state_set_origin(p->state, e, t->why.list->path, t->why.entry->line);
}

/* Records the intents of b, dropping (and counting as pending) the ids whose reboot is in flight. */
static int batch_record_intents(struct batch *b) {
        struct pass *p = b->detach->pass;
        size_t kept = 0;

        for (size_t i = 0; i < b->n; i++) {
                int r = record_intent(p, b->target, b->ids[i]);
                if (r == -EBUSY) {
                        struct event_fields f = detach_target_fields(p, b->target, b->ids[i], NULL, "reboot-in-flight");
                        p->counts.failed++;
                        report_event(EVENT_DETACH_FAILED, &f,
                                     "Not detaching key pair '%s' from %s yet: its reboot is in flight (still pending)",
                                     b->target->keypair, b->ids[i]);
                        free(b->ids[i]);
                        continue;
                }
                if (r < 0)
                        return r;
                b->ids[kept++] = b->ids[i];
        }
        b->n = kept;
        return 0;
}

/* ---- the call ------------------------------------------------------------------------------ */

static void batch_done_cb(const struct ecs_result *r, void *userdata);

/* Sends b as one DetachKeyPair (taken over: freed here when it cannot be sent). */
static void batch_call(struct batch *b) {
        struct params params = {};

        if (b->n == 0 || params_add(&params, "RegionId", b->target->region) < 0 ||
            params_add(&params, "KeyPairName", b->target->keypair) < 0 ||
            params_add_id_array(&params, "InstanceIds", b->ids, b->n) < 0 ||
            pass_call(b->detach->pass, b->target->region, "DetachKeyPair", &params, batch_done_cb, b) < 0) {
                if (b->n > 0)
                        report_failed(b, "ENOMEM", NULL, "out of memory");
                params_done(&params);
                batch_free(b);
        }
}

/* Group commit: the intents of every batch that became ready in this loop iteration are saved
 * with one write, then their calls go out. */
static int flush_cb(sd_event_source *s, void *userdata) {
        struct detach *d = userdata;
        struct pass *p = d->pass;
        size_t n = d->n_unsent;
        int r = 0;

        for (size_t i = 0; i < n && r >= 0; i++)
                r = batch_record_intents(d->unsent[i]);
        if (r >= 0)
                r = state_save(p->state);
        if (r < 0)
                log_error_errno(r, "Not detaching: cannot persist the reboot queue in %s: %m", p->state->directory);
        d->n_unsent = 0;
        for (size_t i = 0; i < n; i++) {
                struct batch *b = d->unsent[i];
                if (r < 0) {
                        report_failed(b, "state-write-failed", NULL, strerror(-r));
                        batch_free(b);
                } else
                        batch_call(b);
        }
        /* Each unsent batch held the pass open; the last release may finish it. */
        for (size_t i = 0; i < n; i++)
                pass_release(p);
        return 0;
}

static int batch_queue(struct detach *d, struct batch *b) {
        struct batch **a = reallocarray(d->unsent, d->n_unsent + 1, sizeof(*a));
        int r;

        if (!a)
                return -ENOMEM;
        d->unsent = a;
        r = sd_event_source_set_enabled(d->flush_source, SD_EVENT_ONESHOT);
        if (r < 0)
                return r;
        d->unsent[d->n_unsent++] = b;
        pass_hold(d->pass);
        return 0;
}

static void report_would_detach(struct pass *p, const struct detach_target *t, char *const *ids, size_t n) {
        for (size_t i = 0; i < n; i++) {
                struct event_fields f = detach_target_fields(p, t, ids[i], NULL, NULL);
                p->counts.detached++;
                report_event(EVENT_WOULD_DETACH, &f, "Would detach key pair '%s' from %s in %s", t->keypair, ids[i],
                             t->region);
        }
}

int detach_instances(struct detach *d, const struct detach_target *t, char **ids, size_t n) {
        if (d->pass->dry_run) {
                report_would_detach(d->pass, t, ids, n);
                return 0;
        }
        for (size_t from = 0; from < n; from += PLANNER_DETACH_BATCH_MAX) {
                struct batch *b = batch_new(d, t, ids + from, MIN(n - from, PLANNER_DETACH_BATCH_MAX));
                if (!b || batch_queue(d, b) < 0) {
                        batch_free(b);
                        return log_error_errno(-ENOMEM, "Out of memory while detaching key pair '%s' in %s", t->keypair,
                                               t->region);
                }
        }
        return 0;
}

/* ---- results ------------------------------------------------------------------------------- */

static void batch_verify(struct batch *b, const char *error);

static void instance_detached(struct batch *b, const char *id, const char *request_id) {
        struct pass *p = b->detach->pass;
        struct queue_entry *e = state_find(p->state, id);
        struct event_fields f = detach_target_fields(p, b->target, id, request_id, NULL);

        p->counts.detached++;
        report_event(EVENT_DETACHED, &f, "Detached key pair '%s' from %s in %s", b->target->keypair, id,
                     b->target->region);
        if (!e || e->state != QUEUE_DETACHING)
                return;
        e->detached_usec = pass_now(p);
        state_set(p->state, e, QUEUE_PENDING);
        p->counts.newly_queued++;
        report_event(EVENT_REBOOT_QUEUED, &f, "Queued %s for a reboot: the detach takes effect at its next boot", id);
}

/* The detach certainly did not happen: the intent leaves the queue. */
static void instance_not_detached(struct batch *b, const char *id) {
        struct pass *p = b->detach->pass;
        struct queue_entry *e = state_find(p->state, id);

        if (e && e->state == QUEUE_DETACHING)
                state_remove(p->state, e);
}

static void batch_skip_windows(struct batch *b, const struct ecs_result *r) {
        struct pass *p = b->detach->pass;
        struct event_fields f = detach_target_fields(p, b->target, b->ids[0], r->request_id, r->code);

        p->counts.skipped++;
        instance_not_detached(b, b->ids[0]);
        if (pass_windows_report_due(p, b->target->region, b->ids[0], b->target->keypair))
                report_event(EVENT_SKIPPED_WINDOWS, &f, "Left Windows instance %s alone (key pair '%s' stays attached)",
                     b->ids[0], b->target->keypair);
}

/* A batch refused because of a Windows instance becomes two calls, until the Windows one is
 * alone (the intents are on disk already). */
static void batch_split(struct batch *b) {
        size_t half = planner_split_batch(b->n);
        struct batch *parts[2] = {
                batch_new(b->detach, b->target, b->ids, half),
                batch_new(b->detach, b->target, b->ids + half, b->n - half),
        };

        for (size_t i = 0; i < 2; i++)
                if (parts[i])
                        batch_call(parts[i]);
        if (!parts[0] || !parts[1])
                /* The ids left in b keep their intents: the next pass settles them. */
                report_failed(b, "ENOMEM", NULL, "out of memory while splitting the batch");
}

/* Ids of b that need a look: no result, or a failed one (it may have been applied by a call
 * that was answered after a reset and retried). Moves them into a new batch. */
static struct batch *batch_take_unconfirmed(struct batch *b, const struct ecs_result *r,
                                            const struct ecs_detach_result *res, size_t n, bool per_instance) {
        struct batch *v = batch_new(b->detach, b->target, b->ids, b->n);
        size_t all;

        if (!v)
                return NULL;
        /* v took every id; it keeps only those that need a look. */
        all = v->n;
        v->n = 0;
        for (size_t i = 0; i < all; i++) {
                const struct ecs_detach_result *found = NULL;
                char *id = v->ids[i];

                for (size_t j = 0; per_instance && j < n && !found; j++)
                        if (streq_ptr(res[j].instance_id, id))
                                found = &res[j];
                if (!per_instance || (found && found->success)) {
                        instance_detached(b, id, r->request_id);
                        free(id);
                        continue;
                }
                if (found && !v->error && found->code)
                        v->error = strdup(found->code);
                v->ids[v->n++] = id;
        }
        return v;
}

static void batch_apply_results(struct batch *b, const struct ecs_result *r) {
        struct ecs_detach_result *res = NULL;
        struct batch *v;
        size_t n = 0;
        int k = ecsparse_detach(r->body, &res, &n);

        if (k < 0) {
                batch_verify(b, "unparsable-answer");
                return;
        }
        v = batch_take_unconfirmed(b, r, res, n, k > 0);
        ecs_detach_results_free(res, n);
        if (!v)
                return (void) log_error("Out of memory while reading DetachKeyPair results");
        if (v->n > 0)
                batch_verify(v, v->error ? v->error : "no-result-for-instance");
        batch_free(v);
}

/* An error after which the detach may still have happened. A used nonce means an earlier copy of
 * this very request reached the API. */
static bool result_is_ambiguous(const struct ecs_result *r) {
        return r->error != -EREMOTEIO || r->http_status >= 500 || ecs_code_is_retryable(r->code) ||
               streq_ptr(r->code, "SignatureNonceUsed");
}

static void batch_handle_error(struct batch *b, const struct ecs_result *r) {
        struct pass *p = b->detach->pass;

        if (streq_ptr(r->code, "DependencyViolation.WindowsInstance")) {
                if (b->n == 1)
                        batch_skip_windows(b, r);
                else
                        batch_split(b);
                return;
        }
        if (streq_ptr(r->code, "InvalidKeyPairName.NotFound")) {
                struct event_fields f = detach_target_fields(p, b->target, NULL, r->request_id, r->code);
                for (size_t i = 0; i < b->n; i++)
                        instance_not_detached(b, b->ids[i]);
                report_event(EVENT_KEYPAIR_NOT_FOUND, &f, "Key pair '%s' no longer exists in %s", b->target->keypair,
                             b->target->region);
                return;
        }
        if (result_is_ambiguous(r)) {
                batch_verify(b, pass_error_name(r));
                return;
        }
        for (size_t i = 0; i < b->n; i++)
                instance_not_detached(b, b->ids[i]);
        report_failed(b, r->code, r->request_id, NULL);
}

static void batch_done_cb(const struct ecs_result *r, void *userdata) {
        struct batch *b = userdata;
        struct pass *p = b->detach->pass;

        if (r->error == 0)
                batch_apply_results(b, r);
        else
                batch_handle_error(b, r);
        batch_free(b);
        pass_release(p);
}

/* ---- verifying unconfirmed detaches -------------------------------------------------------- */

static void verify_done_cb(const struct ecs_result *r, void *userdata);

/* Looks at the instances of b (its ids are taken over) to learn whether their detach happened. */
static void batch_verify(struct batch *b, const char *error) {
        struct batch *v = batch_new(b->detach, b->target, b->ids, b->n);

        if (!v)
                return report_failed(b, error, NULL, "out of memory");
        b->n = 0;
        if (!(v->error = strdup(error)) ||
            pass_look(v->detach->pass, v->target->region, v->ids, v->n, verify_done_cb, v) < 0) {
                report_failed(v, error, NULL, "out of memory");
                batch_free(v);
        }
}

static void verify_apply(struct batch *v, const struct ecs_instance *a, size_t n, const char *request_id) {
        for (size_t i = 0; i < v->n; i++) {
                const struct ecs_instance *found = ecs_instances_find(a, n, v->ids[i]);
                struct batch one = { v->detach, v->target, &v->ids[i], 1, NULL };

                if (!found) {
                        instance_not_detached(v, v->ids[i]);
                        log_info("Instance %s no longer exists in %s; nothing to detach", v->ids[i], v->target->region);
                } else if (!streq_ptr(found->key_pair_name, v->target->keypair))
                        instance_detached(v, v->ids[i], request_id);
                else {
                        instance_not_detached(v, v->ids[i]);
                        report_failed(&one, v->error, request_id, NULL);
                }
        }
}

static void verify_done_cb(const struct ecs_result *r, void *userdata) {
        struct batch *v = userdata;
        struct pass *p = v->detach->pass;
        struct ecs_instance *a = NULL;
        char *next = NULL;
        size_t n = 0;

        /* Without an answer the intents stay DETACHING: the next pass settles them. */
        if (r->error < 0 || ecsparse_instances(r->body, &a, &n, &next) < 0)
                report_failed(v, v->error, r->request_id, NULL);
        else
                verify_apply(v, a, n, r->request_id);
        ecs_instances_free(a, n);
        free(next);
        batch_free(v);
        pass_release(p);
}

/* ---- lifecycle ----------------------------------------------------------------------------- */

int detach_new(struct pass *p, struct detach **ret) {
        _cleanup_(detach_freep) struct detach *d = calloc(1, sizeof(*d));
        int r;

        if (!d)
                return -ENOMEM;
        d->pass = p;
        r = sd_event_add_defer(p->event, &d->flush_source, flush_cb, d);
        if (r < 0)
                return r;
        /* Idle priority: it runs once the answers already waiting have added their batches. */
        (void) sd_event_source_set_priority(d->flush_source, SD_EVENT_PRIORITY_IDLE);
        (void) sd_event_source_set_enabled(d->flush_source, SD_EVENT_OFF);
        *ret = TAKE_PTR(d);
        return 0;
}

struct detach *detach_free(struct detach *d) {
        if (!d)
                return NULL;
        sd_event_source_disable_unref(d->flush_source);
        for (size_t i = 0; i < d->n_unsent; i++)
                batch_free(d->unsent[i]);
        free(d->unsent);
        free(d);
        return NULL;
}
