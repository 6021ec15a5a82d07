/* DetachKeyPair batches of one key pair: intent on disk first, the call, its results, and a look at
 * the instances when an answer leaves it open whether the detach happened. */

#include "base/log.h"
#include "daemon/enforce-internal.h"
#include "io/state.h"

void detach_batch_free(struct enforce_batch *b) {
        for (size_t i = 0; i < b->n; i++)
                free(b->ids[i]);
        free(b->ids);
        free(b->error);
        free(b);
}

static void batch_done_cb(const struct ecs_result *r, void *userdata);
static void batch_verify(struct enforce_batch *b, const char *error);

/* Records the intent (DETACHING) of every instance of the batch; saved before the call. */
static int batch_record_intent(struct enforce_batch *b) {
        struct enforce_target *t = b->target;

        for (size_t i = 0; i < b->n; i++) {
                struct queue_entry *e;
                int r = state_add(t->pass->o.state, b->ids[i], t->region->name, t->keypair, t->why.entry->reason, &e);
                if (r < 0)
                        return r;
                if (!streq_ptr(e->list, t->why.list->path)) {
                        char *list = strdup(t->why.list->path);
                        if (!list)
                                return -ENOMEM;
                        free_and_replace_str(&e->list, list);
                }
                e->line = t->why.entry->line;
                state_set(t->pass->o.state, e, QUEUE_DETACHING);
        }
        return 0;
}

static void batch_report_failed(struct enforce_batch *b, const char *error, const char *request_id, int r) {
        for (size_t i = 0; i < b->n; i++) {
                struct event_fields f = enforce_target_fields(b->target, b->ids[i], request_id, error);
                b->target->pass->counts.failed++;
                report_event(EVENT_DETACH_FAILED, &f, "Could not detach key pair '%s' from %s: %s (still pending)",
                             b->target->keypair, b->ids[i], r < 0 ? strerror(-r) : error);
        }
}

static int batch_call(struct enforce_batch *b) {
        struct enforce_target *t = b->target;
        struct params params = {};

        if (params_add(&params, "RegionId", t->region->name) < 0 || params_add(&params, "KeyPairName", t->keypair) < 0 ||
            params_add_id_array(&params, "InstanceIds", b->ids, b->n) < 0) {
                params_done(&params);
                return -ENOMEM;
        }
        return enforce_call(t->pass, t->region->name, "DetachKeyPair", &params, batch_done_cb, b);
}

/* Group commit: the intents of every batch that became ready in this loop iteration are saved
 * with one write, then their calls go out. */
int detach_flush_cb(sd_event_source *s, void *userdata) {
        struct enforce *p = userdata;
        size_t n = p->n_unsent;
        int r = 0;

        for (size_t i = 0; i < n && r >= 0; i++)
                r = batch_record_intent(p->unsent[i]);
        if (r >= 0)
                r = state_save(p->o.state);
        if (r < 0)
                log_error_errno(r, "Not detaching: cannot persist the reboot queue in %s: %m", p->o.state->directory);
        p->n_unsent = 0;
        for (size_t i = 0; i < n; i++) {
                struct enforce_batch *b = p->unsent[i];
                if (r < 0)
                        batch_report_failed(b, "state-write-failed", NULL, r);
                if (r < 0 || batch_call(b) < 0)
                        detach_batch_free(b);
        }
        /* Each unsent batch held the pass open; the last release may finish it. */
        for (size_t i = 0; i < n; i++)
                enforce_call_done(p);
        return 0;
}

static int batch_send(struct enforce_batch *b) {
        struct enforce *p = b->target->pass;
        struct enforce_batch **a = reallocarray(p->unsent, p->n_unsent + 1, sizeof(*a));
        int r;

        if (!a)
                return -ENOMEM;
        p->unsent = a;
        r = sd_event_source_set_enabled(p->flush_source, SD_EVENT_ONESHOT);
        if (r < 0)
                return r;
        p->unsent[p->n_unsent++] = b;
        p->outstanding++;
        return 0;
}

static void report_would_detach(struct enforce_target *t, char *const *ids, size_t n) {
        for (size_t i = 0; i < n; i++) {
                struct event_fields f = enforce_target_fields(t, ids[i], NULL, NULL);
                t->pass->counts.detached++;
                report_event(EVENT_WOULD_DETACH, &f, "Would detach key pair '%s' from %s in %s", t->keypair, ids[i],
                             t->region->name);
        }
}

/* Sends the filled batch of target as one DetachKeyPair call (or reports it, in dry-run). */
void detach_flush(struct enforce_target *t) {
        struct enforce_batch *b;
        int r;

        if (t->n_batch == 0)
                return;
        if (t->pass->o.dry_run) {
                report_would_detach(t, t->batch, t->n_batch);
                for (size_t i = 0; i < t->n_batch; i++)
                        free(t->batch[i]);
                t->n_batch = 0;
                return;
        }
        b = calloc(1, sizeof(*b));
        if (b)
                b->ids = calloc(t->n_batch, sizeof(char *));
        if (!b || !b->ids) {
                free(b);
                log_error("Out of memory while detaching key pair '%s'", t->keypair);
                return;
        }
        b->target = t;
        memcpy(b->ids, t->batch, t->n_batch * sizeof(char *));
        b->n = t->n_batch;
        t->n_batch = 0;
        r = batch_send(b);
        if (r < 0)
                detach_batch_free(b);
}

/* Splits a batch refused because of a Windows instance into two calls. */
static void batch_split(struct enforce_batch *b) {
        size_t half = planner_split_batch(b->n);
        struct enforce_target *t = b->target;

        for (size_t part = 0; part < 2; part++) {
                size_t from = part ? half : 0, n = part ? b->n - half : half;
                for (size_t i = 0; i < n; i++)
                        t->batch[t->n_batch++] = TAKE_PTR(b->ids[from + i]);
                detach_flush(t);
        }
}

static void instance_detached(struct enforce_target *t, const char *id, const char *request_id) {
        struct queue_entry *e = state_find(t->pass->o.state, id);
        struct event_fields f = enforce_target_fields(t, id, request_id, NULL);

        t->pass->counts.detached++;
        report_event(EVENT_DETACHED, &f, "Detached key pair '%s' from %s in %s", t->keypair, id, t->region->name);
        if (!e)
                return;
        e->detached_usec = enforce_now(t->pass);
        state_set(t->pass->o.state, e, QUEUE_PENDING);
        report_event(EVENT_REBOOT_QUEUED, &f, "Queued %s for a reboot: the detach takes effect at its next boot", id);
}

/* The detach certainly did not happen: the instance leaves the queue. */
static void instance_not_detached(struct enforce_target *t, const char *id) {
        struct queue_entry *e = state_find(t->pass->o.state, id);
        if (e && e->state == QUEUE_DETACHING)
                state_remove(t->pass->o.state, e);
}

static void batch_skip_windows(struct enforce_batch *b, const struct ecs_result *r) {
        struct event_fields f = enforce_target_fields(b->target, b->ids[0], r->request_id, r->code);

        b->target->pass->counts.skipped++;
        instance_not_detached(b->target, b->ids[0]);
        report_event(EVENT_SKIPPED_WINDOWS, &f, "Left Windows instance %s alone (key pair '%s' stays attached)",
                     b->ids[0], b->target->keypair);
}

/* Ids of b that need a look: no result, or a failed one (it may have been applied by a call
 * that was answered after a reset and retried). Moves them out of b. */
static struct enforce_batch *batch_take_unconfirmed(struct enforce_batch *b, const struct ecs_result *r,
                                                    struct ecs_detach_result *res, size_t n, bool per_instance) {
        struct enforce_batch *v = calloc(1, sizeof(*v));

        if (!v || !(v->ids = calloc(b->n, sizeof(char *)))) {
                free(v);
                return NULL;
        }
        v->target = b->target;
        for (size_t i = 0; i < b->n; i++) {
                const struct ecs_detach_result *found = NULL;
                for (size_t j = 0; per_instance && j < n && !found; j++)
                        if (streq_ptr(res[j].instance_id, b->ids[i]))
                                found = &res[j];
                if (!per_instance || (found && found->success))
                        instance_detached(b->target, b->ids[i], r->request_id);
                else {
                        if (found && !v->error && found->code)
                                v->error = strdup(found->code);
                        v->ids[v->n++] = TAKE_PTR(b->ids[i]);
                }
        }
        return v;
}

static void batch_apply_results(struct enforce_batch *b, const struct ecs_result *r) {
        struct ecs_detach_result *res = NULL;
        struct enforce_batch *v;
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
        detach_batch_free(v);
}

/* An error after which the detach may still have happened. A used nonce means an earlier copy of
 * this very request reached the API. */
static bool result_is_ambiguous(const struct ecs_result *r) {
        return r->error != -EREMOTEIO || r->http_status >= 500 || ecs_code_is_retryable(r->code) ||
               streq_ptr(r->code, "SignatureNonceUsed");
}

static void batch_handle_error(struct enforce_batch *b, const struct ecs_result *r) {
        struct enforce_target *t = b->target;

        if (streq_ptr(r->code, "DependencyViolation.WindowsInstance")) {
                if (b->n == 1)
                        batch_skip_windows(b, r);
                else
                        batch_split(b);
                return;
        }
        if (streq_ptr(r->code, "InvalidKeyPairName.NotFound")) {
                struct event_fields f = enforce_target_fields(t, NULL, r->request_id, r->code);
                for (size_t i = 0; i < b->n; i++)
                        instance_not_detached(t, b->ids[i]);
                report_event(EVENT_KEYPAIR_NOT_FOUND, &f, "Key pair '%s' no longer exists in %s", t->keypair,
                             t->region->name);
                return;
        }
        if (result_is_ambiguous(r)) {
                batch_verify(b, enforce_error_name(r));
                return;
        }
        for (size_t i = 0; i < b->n; i++)
                instance_not_detached(t, b->ids[i]);
        batch_report_failed(b, r->code, r->request_id, 0);
}

static void batch_done_cb(const struct ecs_result *r, void *userdata) {
        struct enforce_batch *b = userdata;
        struct enforce *p = b->target->pass;

        if (r->error == 0)
                batch_apply_results(b, r);
        else
                batch_handle_error(b, r);
        detach_batch_free(b);
        enforce_call_done(p);
}

/* ---- verifying unconfirmed detaches -------------------------------------------------------- */

static void verify_done_cb(const struct ecs_result *r, void *userdata);

/* Looks at the instances of b (taken over) to learn whether their detach happened after all. */
static void batch_verify(struct enforce_batch *b, const char *error) {
        struct enforce_target *t = b->target;
        struct enforce_batch *v = calloc(1, sizeof(*v));
        struct params params = {};

        if (!v || !(v->error = strdup(error)) || params_add(&params, "RegionId", t->region->name) < 0 ||
            params_add_id_array(&params, "InstanceIds", b->ids, b->n) < 0 || params_addf(&params, "MaxResults", "%d", ENFORCE_INSTANCE_PAGE_SIZE) < 0) {
                params_done(&params);
                if (v)
                        free(v->error);
                free(v);
                batch_report_failed(b, error, NULL, -ENOMEM);
                return;
        }
        *v = (struct enforce_batch) { .target = t, .ids = TAKE_PTR(b->ids), .n = b->n, .error = v->error };
        b->n = 0;
        if (enforce_call(t->pass, t->region->name, "DescribeInstances", &params, verify_done_cb, v) < 0) {
                batch_report_failed(v, error, NULL, -ENOMEM);
                detach_batch_free(v);
        }
}

static void verify_apply(struct enforce_batch *v, const struct ecs_instance *a, size_t n, const char *request_id) {
        struct enforce_target *t = v->target;

        for (size_t i = 0; i < v->n; i++) {
                const struct ecs_instance *found = ecs_instances_find(a, n, v->ids[i]);
                struct enforce_batch one = { t, &v->ids[i], 1, NULL };

                if (!found) {
                        instance_not_detached(t, v->ids[i]);
                        log_info("Instance %s no longer exists in %s; nothing to detach", v->ids[i], t->region->name);
                } else if (!streq_ptr(found->key_pair_name, t->keypair))
                        instance_detached(t, v->ids[i], request_id);
                else {
                        instance_not_detached(t, v->ids[i]);
                        batch_report_failed(&one, v->error, request_id, 0);
                }
        }
}

static void verify_done_cb(const struct ecs_result *r, void *userdata) {
        struct enforce_batch *v = userdata;
        struct enforce *p = v->target->pass;
        struct ecs_instance *a = NULL;
        char *next = NULL;
        size_t n = 0;

        /* Without an answer the intents stay DETACHING: the next pass settles them. */
        if (r->error < 0 || ecsparse_instances(r->body, &a, &n, &next) < 0)
                batch_report_failed(v, v->error, r->request_id, 0);
        else
                verify_apply(v, a, n, r->request_id);
        ecs_instances_free(a, n);
        free(next);
        detach_batch_free(v);
        enforce_call_done(p);
}

