/* Containment: the revoked keys stop working on running Linux instances at once, through Cloud
 * Assistant (DescribeCloudAssistantStatus, RunCommand, DescribeInvocationResults), alongside the
 * detaches and independent of them. Every intent is recorded before its call, so a restart neither
 * loses nor repeats a command. */
#include <assert.h>
#include <inttypes.h>

#include "base/log.h"
#include "base/strutil.h"
#include "daemon/contain.h"
#include "logic/base64.h"
#include "logic/contain.h"

/* How long results may lag behind the command's own timeout before the run counts as lost. */
#define CONTAIN_RESULT_GRACE_USEC (2 * USEC_PER_MINUTE)
/* Outcomes a restart can rebuild (an invocation's id, a result: the intent's ClientToken replays
 * the same invocation) are written at most this often; intents are written before their call.
 * A save rewrites the whole record: one per answer made a large containment CPU-bound. */
#define CONTAIN_SAVE_DELAY_USEC USEC_PER_SEC
/* A batch short of CONTAIN_BATCH_MAX waits this long for more instances of its region (the next
 * listing page) before it goes out: a half-full batch costs as many calls as a full one. */
#define CONTAIN_FILL_USEC (100 * USEC_PER_MSEC)

struct contain {
        struct contain_options o;
        sd_event_source *flush_source;  /* sends the full batches contain_instance() collected */
        sd_event_source *fill_source;   /* sends the others, CONTAIN_FILL_USEC after the first */
        sd_event_source *commit_source; /* writes the intents of committing[], then runs them */
        struct batch **committing;      /* intents recorded, not yet on disk */
        size_t n_committing;
        sd_event_source *save_source;   /* writes the record's outcomes (save_record_later()) */
        struct batch *batches;          /* every batch: collected, in a call or waiting for a poll */
        struct batch **waiting;         /* collected, one per region and key set, not sent yet */
        size_t n_waiting;
        struct hashmap *held;           /* instance id -> struct hold: in a batch, not final yet */
        unsigned outstanding;           /* calls and poll timers */
        unsigned calls;                 /* ECS calls in flight (they point at the client) */
        bool paused;                    /* contain_pause(): polls wait, collected batches too */
        unsigned n_contained, n_failed;
        uint64_t run_usec;              /* shortest RunCommand answer to all results final, 0: none yet */
};

/* Up to CONTAIN_BATCH_MAX instances of one region sent one key set. */
struct batch {
        struct contain *contain;
        char *region;
        char **keys;                    /* strv */
        char digest[CONTAIN_DIGEST_LEN + 1];
        char **ids;                     /* strv, sorted before RunCommand */
        char **keypairs;                /* strv parallel to ids, "" when unknown (for events) */
        char **reasons;                 /* strv parallel to ids: the entry's reason=, "" for none */
        char *token;
        char *invoke_id;
        uint64_t sent_usec;
        uint64_t answered_usec;         /* RunCommand answered (0: resumed after a restart) */
        unsigned looks;                 /* at its results */
        sd_event_source *poll_source;
        struct batch *prev, *next;      /* in contain.batches */
};

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

static void batch_free(struct batch *b) {
        if (!b)
                return;
        if (b->contain) {
                if (b->prev)
                        b->prev->next = b->next;
                else
                        b->contain->batches = b->next;
                if (b->next)
                        b->next->prev = b->prev;
        }
        for (size_t i = 0; b->ids && b->ids[i]; i++)
                hold_drop(b->contain, b->ids[i]);
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

static struct batch *batch_new(struct contain *c, const char *region, char *const *keys, size_t n,
                               const char *digest) {
        struct batch *b = calloc(1, sizeof(*b));

        if (!b)
                return NULL;
        /* Linked at once: contain_free() frees what a cancelled call or a timer still owns. */
        b->contain = c;
        b->next = c->batches;
        if (b->next)
                b->next->prev = b;
        c->batches = b;
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
        batch_free(b);
        return NULL;
}

static uint64_t contain_now(const struct contain *c) {
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
static void sort_parallel(struct batch *b) {
        for (size_t i = 1; b->ids[i]; i++)
                for (size_t k = i; k > 0 && strcmp(b->ids[k - 1], b->ids[k]) > 0; k--) {
                        swap(b->ids, k, k - 1);
                        swap(b->keypairs, k, k - 1);
                        swap(b->reasons, k, k - 1);
                }
}

/* Moves the instance at from to the slot kept (kept <= from) among b's parallel arrays. */
static void batch_keep(struct batch *b, size_t from, size_t kept) {
        b->ids[kept] = b->ids[from];
        b->keypairs[kept] = b->keypairs[from];
        b->reasons[kept] = b->reasons[from];
}

/* Drops the instance at i (its strings are freed; the slot is refilled by batch_keep()). */
static void batch_drop(struct batch *b, size_t i) {
        hold_drop(b->contain, b->ids[i]);
        free(b->ids[i]);
        free(b->keypairs[i]);
        free(b->reasons[i]);
}

static void batch_terminate(struct batch *b, size_t n) {
        b->ids[n] = b->keypairs[n] = b->reasons[n] = NULL;
}

/* Appends an instance (keypair and reason may be NULL: unknown, for its events); it is held
 * until it leaves the batch. -ENOMEM, b unchanged. */
static int batch_add(struct batch *b, const char *id, const char *keypair, const char *reason) {
        size_t k = strv_length(b->ids);

        assert(k < CONTAIN_BATCH_MAX);
        if (!(b->ids[k] = strdup(id)) || !(b->keypairs[k] = strdup(strempty(keypair))) ||
            !(b->reasons[k] = strdup(strempty(reason)))) {
                free(b->ids[k]);
                free(b->keypairs[k]);
                batch_terminate(b, k);
                return -ENOMEM;
        }
        hold_take(b->contain, id);
        return 0;
}

/* Appends InstanceId.1..N for the ids. */
static int add_instance_ids(struct params *params, char *const *ids) {
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
static int contain_send(struct batch *b, const char *action, struct params *params, ecs_done_cb cb) {
        int r = ecs_call(b->contain->o.ecs, b->region, action, params, cb, b);

        if (r >= 0)
                b->contain->calls++;
        return r;
}

static void contain_answered(struct contain *c) {
        c->calls--;
}

static void contain_hold(struct contain *c) {
        c->outstanding++;
}

static void contain_release(struct contain *c) {
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
static void save_record_later(struct contain *c) {
        int enabled = SD_EVENT_OFF;

        (void) sd_event_source_get_enabled(c->save_source, &enabled);
        if (enabled != SD_EVENT_OFF)
                return;
        if (sd_event_source_set_time_relative(c->save_source, CONTAIN_SAVE_DELAY_USEC) < 0 ||
            sd_event_source_set_enabled(c->save_source, SD_EVENT_ONESHOT) < 0)
                save_record(c);
}

/* ---- outcomes ------------------------------------------------------------------------------ */

static struct event_fields batch_fields(const struct batch *b, size_t i, const char *error) {
        return (struct event_fields) {
                .keypair = isempty(b->keypairs[i]) ? NULL : b->keypairs[i],
                .reason = isempty(b->reasons[i]) ? NULL : b->reasons[i],
                .region = b->region,
                .instance = b->ids[i],
                .invocation = b->invoke_id,
                .error = error,
                .dry_run = b->contain->o.dry_run,
        };
}

static void instance_failed(struct batch *b, size_t i, const char *error, const char *detail) {
        struct contain *c = b->contain;
        struct contained_entry *e = contained_find(c->o.record, b->ids[i]);
        struct event_fields f = batch_fields(b, i, error);

        c->n_failed++;
        if (e) {
                e->busy = false;
                (void) contained_set(c->o.record, e, CONTAINED_FAILED, NULL, error, contain_now(c));
        }
        report_event(EVENT_CONTAIN_FAILED, &f,
                     "Could not block the revoked keys on %s in %s: %s%s%s (exposed until it is rebooted; "
                     "tried again at the next pass)",
                     b->ids[i], b->region, error, detail ? ": " : "", strempty(detail));
}

static void batch_fail_all(struct batch *b, const char *error, const char *detail) {
        for (size_t i = 0; b->ids[i]; i++)
                instance_failed(b, i, error, detail);
        save_record_later(b->contain);
}

static void instance_contained(struct batch *b, size_t i, const struct contain_summary *s) {
        struct contain *c = b->contain;
        struct contained_entry *e = contained_find(c->o.record, b->ids[i]);
        char removed[16];
        struct event_fields f = batch_fields(b, i, NULL);

        snprintf(removed, sizeof(removed), "%u", s->removed);
        f.removed = removed;
        c->n_contained++;
        if (e) {
                e->busy = false;
                e->removed = s->removed;
                (void) contained_set(c->o.record, e, CONTAINED_DONE, NULL, NULL, contain_now(c));
        }
        report_event(EVENT_CONTAINED, &f,
                     "Blocked %zu revoked key(s) on %s in %s: %u authorized-keys line(s) removed, RevokedKeys in "
                     "force (sshd %s)",
                     strv_length(b->keys), b->ids[i], b->region, s->removed, s->sshd);
}

/* A final result of one instance: the summary the script printed decides. */
static void instance_result(struct batch *b, size_t i, const struct ecs_invocation_result *res) {
        _cleanup_free_ char *output = NULL;
        struct contain_summary s;
        const char *verdict;
        size_t len = 0;

        if (!streq(res->status, "Success") && !res->output)
                return instance_failed(b, i, res->error_code ? res->error_code : res->status, NULL);
        if (!res->output || base64_decode(res->output, strlen(res->output), &output, &len) < 0 ||
            contain_summary_parse(output, len, &s) < 0)
                return instance_failed(b, i, res->error_code ? res->error_code : "no-summary",
                                       "the command printed no summary line");
        verdict = contain_summary_verdict(&s, strv_length(b->keys), b->digest);
        if (verdict || res->exit_code != 0)
                return instance_failed(b, i, verdict ? verdict : "ExitCodeNonzero", s.status);
        instance_contained(b, i, &s);
}

/* ---- following an invocation --------------------------------------------------------------- */

static void results_done_cb(const struct ecs_result *r, void *userdata);

static int poll_cb(sd_event_source *s, uint64_t usec, void *userdata) {
        struct batch *b = userdata;
        struct params params = {};

        /* Paused: the timer keeps its hold and looks again later. */
        if (b->contain->paused) {
                if (sd_event_source_set_time_relative(s, CONTAIN_LOOK_AGAIN_MIN_USEC) >= 0 &&
                    sd_event_source_set_enabled(s, SD_EVENT_ONESHOT) >= 0)
                        return 0;
                log_warning("Cannot delay following invocation %s; following it now", b->invoke_id);
        }
        if (params_add(&params, "RegionId", b->region) < 0 || params_add(&params, "InvokeId", b->invoke_id) < 0 ||
            params_addf(&params, "PageSize", "%u", CONTAIN_BATCH_MAX) < 0 ||
            contain_send(b, "DescribeInvocationResults", &params, results_done_cb) < 0) {
                struct contain *c = b->contain;
                params_done(&params);
                batch_fail_all(b, "ENOMEM", "cannot follow the invocation");
                batch_free(b);
                contain_release(c); /* the hold of the timer */
                return 0;
        }
        contain_hold(b->contain);
        return 0;
}

/* Looks at b's results after usec (the batch holds the containment open meanwhile). */
static void batch_poll(struct batch *b, uint64_t usec) {
        struct contain *c = b->contain;
        int r;

        if (b->poll_source)
                r = sd_event_source_set_time_relative(b->poll_source, usec) < 0 ? -EIO
                    : sd_event_source_set_enabled(b->poll_source, SD_EVENT_ONESHOT);
        else
                r = sd_event_add_time_relative(c->o.event, &b->poll_source, CLOCK_MONOTONIC, usec, USEC_PER_MSEC,
                                               poll_cb, b);
        if (r < 0) {
                batch_fail_all(b, "ENOMEM", "cannot follow the invocation");
                batch_free(b);
                return;
        }
        contain_hold(c);
}

/* Marks the instances of b whose result is final; returns how many are not yet. */
static size_t batch_apply_results(struct batch *b, const struct ecs_invocation_result *res, size_t n) {
        size_t open = 0, kept = 0;

        for (size_t i = 0; b->ids[i]; i++) {
                const struct ecs_invocation_result *found = NULL;
                for (size_t k = 0; k < n && !found; k++)
                        if (streq(res[k].instance_id, b->ids[i]))
                                found = &res[k];
                if (found && ecs_invocation_status_is_final(found->status)) {
                        instance_result(b, i, found);
                        batch_drop(b, i);
                        continue;
                }
                batch_keep(b, i, kept++);
                open++;
        }
        batch_terminate(b, kept);
        return open;
}

/* All of b's results are final: how long that took after RunCommand answered is what the first
 * look of later invocations waits for. */
static void batch_learn_run_time(const struct batch *b) {
        struct contain *c = b->contain;
        uint64_t took = b->answered_usec > 0 ? contain_now(c) - b->answered_usec : 0;

        if (took > 0 && (c->run_usec == 0 || took < c->run_usec))
                c->run_usec = took;
}

static void results_done_cb(const struct ecs_result *r, void *userdata) {
        struct batch *b = userdata;
        struct contain *c = b->contain;
        struct ecs_invocation_result *res = NULL;
        unsigned total = 0;
        size_t n = 0;

        contain_answered(c);
        /* The poll timer held the containment too; it is released with this answer. */
        c->outstanding--;
        if (r->error < 0 || ecsparse_invocation_results(r->body, &res, &n, &total) < 0)
                log_warning("Could not read the results of invocation %s in %s: %s (looking again)", b->invoke_id,
                            b->region, r->code ? r->code : "unparsable answer");
        else if (batch_apply_results(b, res, n) == 0) {
                batch_learn_run_time(b);
                save_record_later(c);
                ecs_invocation_results_free(res, n);
                batch_free(b);
                return contain_release(c);
        }
        ecs_invocation_results_free(res, n);
        save_record_later(c);
        if (contain_now(c) > b->sent_usec + c->o.timeout_usec + CONTAIN_RESULT_GRACE_USEC) {
                batch_fail_all(b, "result-timeout", "no final result in time");
                batch_free(b);
        } else
                batch_poll(b, contain_next_look_usec(++b->looks, c->run_usec));
        contain_release(c);
}

/* ---- RunCommand ---------------------------------------------------------------------------- */

static int batch_record_intents(struct batch *b);
static void batch_run(struct batch *b);
static void batch_commit(struct batch *b);

/* RunCommand refuses the whole call for one instance it cannot run on (not Running any more, its
 * agent gone, Windows after all): halves go out on their own until that one is alone. */
static void batch_split(struct batch *b) {
        size_t n = strv_length(b->ids), half = n / 2;

        for (size_t part = 0; part < 2; part++) {
                struct batch *h = batch_new(b->contain, b->region, b->keys, strv_length(b->keys), b->digest);
                size_t from = part ? half : 0, to = part ? n : half;
                for (size_t i = from; h && i < to; i++) {
                        h->ids[i - from] = TAKE_PTR(b->ids[i]);
                        h->keypairs[i - from] = TAKE_PTR(b->keypairs[i]);
                        h->reasons[i - from] = TAKE_PTR(b->reasons[i]);
                }
                if (!h || batch_record_intents(h) < 0) {
                        if (h)
                                batch_fail_all(h, "ENOMEM", "cannot split the call");
                        batch_free(h);
                } else
                        batch_commit(h);
        }
}

static bool run_error_is_per_instance(const char *code) {
        return streq_ptr(code, "InvalidInstance.NotMatch") || streq_ptr(code, "InvalidInstance.NotFound") ||
               streq_ptr(code, "InvalidInstanceId.NotFound");
}

static void run_done_cb(const struct ecs_result *r, void *userdata) {
        struct batch *b = userdata;
        struct contain *c = b->contain;
        _cleanup_free_ char *invoke_id = NULL;

        contain_answered(c);
        if (r->error == -EREMOTEIO && run_error_is_per_instance(r->code) && strv_length(b->ids) > 1) {
                batch_split(b);
                batch_free(b);
                return contain_release(c);
        }
        if (r->error < 0 || ecsparse_invoke_id(r->body, &invoke_id) < 0) {
                batch_fail_all(b, r->code ? r->code : "unparsable-answer", r->message);
                batch_free(b);
                return contain_release(c);
        }
        b->invoke_id = TAKE_PTR(invoke_id);
        for (size_t i = 0; b->ids[i]; i++) {
                struct contained_entry *e = contained_find(c->o.record, b->ids[i]);
                if (e)
                        (void) contained_set(c->o.record, e, CONTAINED_RUNNING, b->invoke_id, NULL, contain_now(c));
        }
        save_record_later(c);
        log_info("Cloud Assistant runs the containment command on %zu instance(s) in %s (invocation %s)",
                 strv_length(b->ids), b->region, b->invoke_id);
        b->answered_usec = contain_now(c);
        batch_poll(b, contain_next_look_usec(0, c->run_usec));
        contain_release(c);
}

static int run_params(const struct batch *b, struct params *params) {
        _cleanup_free_ char *content = NULL, *encoded = NULL;
        int r = contain_command_build(b->keys, strv_length(b->keys), &content);

        if (r < 0)
                return r;
        encoded = base64_encode(content, strlen(content));
        if (!encoded || params_add(params, "RegionId", b->region) < 0 ||
            params_add(params, "Type", "RunShellScript") < 0 || params_add(params, "CommandContent", encoded) < 0 ||
            params_add(params, "ContentEncoding", "Base64") < 0 ||
            params_addf(params, "Timeout", "%" PRIu64, b->contain->o.timeout_usec / USEC_PER_SEC) < 0 ||
            params_add(params, "KeepCommand", "false") < 0 || params_add(params, "ClientToken", b->token) < 0)
                return -ENOMEM;
        return add_instance_ids(params, b->ids);
}

/* Sends b's RunCommand (its intents are on disk); b is taken over. */
static void batch_run(struct batch *b) {
        struct contain *c = b->contain;
        struct params params = {};
        int r = run_params(b, &params);

        if (r >= 0)
                r = contain_send(b, "RunCommand", &params, run_done_cb);
        if (r < 0) {
                params_done(&params);
                batch_fail_all(b, r == -E2BIG ? "command-too-large" : "ENOMEM",
                               r == -E2BIG ? "too many revoked keys for one command" : NULL);
                batch_free(b);
                return;
        }
        b->sent_usec = contain_now(c);
        contain_hold(c);
}

/* Records the intents of b (sorted, with a fresh token) before its RunCommand. */
static int batch_record_intents(struct batch *b) {
        struct contain *c = b->contain;
        char token[CONTAIN_TOKEN_LEN + 1], seed[64];
        int r;

        sort_parallel(b);
        snprintf(seed, sizeof(seed), "%s/%" PRIu64, b->digest, contain_now(c));
        contain_client_token(seed, b->ids, strv_length(b->ids), token);
        b->token = strdup(token);
        if (!b->token)
                return -ENOMEM;
        r = contained_put_keyset(c->o.record, b->digest, b->keys, strv_length(b->keys));
        for (size_t i = 0; r >= 0 && b->ids[i]; i++) {
                struct contained_entry *e;
                r = contained_begin(c->o.record, b->ids[i], b->region, b->digest, (unsigned) strv_length(b->keys),
                                    b->token, contain_now(c), &e);
                if (r >= 0)
                        e->busy = true;
        }
        return r;
}

/* Runs b once its intents are on disk. The intents of every batch that gets there in one loop
 * iteration are written together: a save rewrites the whole record. */
static void batch_commit(struct batch *b) {
        struct contain *c = b->contain;
        struct batch **a = reallocarray(c->committing, c->n_committing + 1, sizeof(*a));

        if (!a) {
                batch_fail_all(b, "ENOMEM", "cannot record the intent");
                return batch_free(b);
        }
        c->committing = a;
        c->committing[c->n_committing++] = b;
        contain_hold(c);
        (void) sd_event_source_set_enabled(c->commit_source, SD_EVENT_ONESHOT);
}

static int commit_cb(sd_event_source *s, void *userdata) {
        struct contain *c = userdata;
        struct batch **committing = TAKE_PTR(c->committing);
        size_t n = c->n_committing;
        int r = contained_save(c->o.record);

        c->n_committing = 0;
        if (r < 0)
                log_error_errno(r, "Failed to save the containment record in %s: %m", c->o.record->directory);
        for (size_t i = 0; i < n; i++) {
                if (r < 0) {
                        batch_fail_all(committing[i], "state-write-failed", "cannot record the intent");
                        batch_free(committing[i]);
                } else
                        batch_run(committing[i]);
        }
        free(committing);
        for (size_t i = 0; i < n; i++)
                contain_release(c);
        return 0;
}

/* ---- agent status -------------------------------------------------------------------------- */

static void status_done_cb(const struct ecs_result *r, void *userdata);

static void batch_check_agents(struct batch *b) {
        struct params params = {};
        int r = params_add(&params, "RegionId", b->region);

        /* The answer is paged even for InstanceId.N: ask for all of them at once. */
        if (r >= 0)
                r = params_addf(&params, "MaxResults", "%u", CONTAIN_BATCH_MAX);
        if (r >= 0)
                r = add_instance_ids(&params, b->ids);
        if (r >= 0)
                r = contain_send(b, "DescribeCloudAssistantStatus", &params, status_done_cb);
        if (r < 0) {
                params_done(&params);
                batch_fail_all(b, "ENOMEM", NULL);
                batch_free(b);
                return;
        }
        contain_hold(b->contain);
}

/* Keeps the instances of b whose agent is online; the others fail (agent-offline). */
static void batch_keep_online(struct batch *b, const struct ecs_agent_status *a, size_t n) {
        size_t kept = 0;

        for (size_t i = 0; b->ids[i]; i++) {
                bool online = false;
                for (size_t k = 0; k < n; k++)
                        if (streq(a[k].instance_id, b->ids[i]))
                                online = a[k].online;
                if (!online) {
                        /* Recorded, so that status and the metrics count it as uncontained. */
                        if (contained_note_unsent(b->contain->o.record, b->ids[i], b->region, b->digest,
                                                  (unsigned) strv_length(b->keys), "agent-offline",
                                                  contain_now(b->contain)) < 0)
                                log_error("Out of memory while recording %s as uncontained", b->ids[i]);
                        instance_failed(b, i, "agent-offline", "its Cloud Assistant agent is not online");
                        batch_drop(b, i);
                        continue;
                }
                batch_keep(b, i, kept++);
        }
        batch_terminate(b, kept);
}

static void status_done_cb(const struct ecs_result *r, void *userdata) {
        struct batch *b = userdata;
        struct contain *c = b->contain;
        struct ecs_agent_status *a = NULL;
        char *next = NULL;
        size_t n = 0;

        contain_answered(c);
        if (r->error < 0 || ecsparse_agent_statuses(r->body, &a, &n, &next) < 0) {
                batch_fail_all(b, r->code ? r->code : "unparsable-answer", r->message);
                batch_free(b);
        } else {
                batch_keep_online(b, a, n);
                if (!b->ids[0])
                        batch_free(b);
                else if (batch_record_intents(b) < 0) {
                        batch_fail_all(b, "ENOMEM", "cannot record the intent");
                        batch_free(b);
                } else
                        batch_commit(b);
        }
        ecs_agent_statuses_free(a, n);
        free(next);
        save_record_later(c);
        contain_release(c);
}

/* ---- collecting ---------------------------------------------------------------------------- */

/* The waiting batch of region and digest with room for one more instance (created if needed). */
static struct batch *batch_waiting(struct contain *c, const char *region, char *const *keys, size_t n,
                                   const char *digest) {
        struct batch *b, **a;

        for (size_t i = 0; i < c->n_waiting; i++) {
                b = c->waiting[i];
                if (streq(b->region, region) && streq(b->digest, digest) && strv_length(b->ids) < CONTAIN_BATCH_MAX)
                        return b;
        }
        a = reallocarray(c->waiting, c->n_waiting + 1, sizeof(*a));
        if (!a)
                return NULL;
        c->waiting = a;
        b = batch_new(c, region, keys, n, digest);
        if (b)
                c->waiting[c->n_waiting++] = b;
        return b;
}

/* Contained with this key set, or in a batch already (a changed set is sent at the next pass). */
static bool already_sent(const struct contain *c, const char *id, const char *digest) {
        const struct contained_entry *e = contained_find(c->o.record, id);

        return contain_holds(c, id) || (e && streq(e->digest, digest) && (e->status == CONTAINED_DONE || e->busy));
}

static int arm_fill(struct contain *c);

int contain_instance(struct contain *c, const char *region, char *const *keys, size_t n, const char *id,
                     const struct event_fields *why) {
        char digest[CONTAIN_DIGEST_LEN + 1];
        struct batch *b;

        if (n == 0)
                return 0;
        contain_keys_digest(keys, n, digest);
        if (already_sent(c, id, digest))
                return 0;
        if (c->o.dry_run) {
                struct event_fields f = *why;
                f.instance = id;
                f.dry_run = true;
                report_event(EVENT_WOULD_CONTAIN, &f, "Would block %zu revoked key(s) on %s in %s", n, id, region);
                return 0;
        }
        b = batch_waiting(c, region, keys, n, digest);
        if (!b || batch_add(b, id, why->keypair, why->reason) < 0)
                return log_error_errno(-ENOMEM, "Out of memory while containing %s", id);
        if (strv_length(b->ids) == CONTAIN_BATCH_MAX)
                return sd_event_source_set_enabled(c->flush_source, SD_EVENT_ONESHOT);
        return arm_fill(c);
}

void contain_retry_failed(struct contain *c, const struct state *queue) {
        struct contained_entry *e;
        size_t i = 0;

        while (!c->o.dry_run && contained_iterate(c->o.record, &i, &e)) {
                const struct queue_entry *q = state_find(queue, e->instance_id);
                char **keys = contained_get_keyset(c->o.record, e->digest);
                struct event_fields why;

                if (e->status != CONTAINED_FAILED || e->busy || !keys || !q ||
                    (q->state != QUEUE_PENDING && q->state != QUEUE_REBOOTING))
                        continue;
                why = (struct event_fields) { .keypair = q->keypair, .reason = q->reason, .region = e->region };
                (void) contain_instance(c, e->region, keys, strv_length(keys), e->instance_id, &why);
        }
}

/* Everything collected in this loop iteration goes out, 50 instances a call. */
/* Sends the waiting batches, all of them or only the full ones. */
static void send_waiting(struct contain *c, bool all) {
        size_t kept = 0;

        if (c->paused)
                return; /* contain_pause(c, false) sends them */
        for (size_t i = 0; i < c->n_waiting; i++) {
                struct batch *b = c->waiting[i];
                if (all || strv_length(b->ids) == CONTAIN_BATCH_MAX)
                        batch_check_agents(b);
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

/* The batch of open entries that share e's token (or invoke id, once answered). */
static struct batch *resume_collect(struct contain *c, const struct contained_entry *first) {
        char **keys = contained_get_keyset(c->o.record, first->digest);
        struct contained_entry *e;
        struct batch *b;
        size_t i = 0, n = 0;

        if (!keys)
                return NULL;
        b = batch_new(c, first->region, keys, strv_length(keys), first->digest);
        if (!b || !(b->token = strdup(first->token)) || (first->invoke_id && !(b->invoke_id = strdup(first->invoke_id)))) {
                batch_free(b);
                return NULL;
        }
        while (n < CONTAIN_BATCH_MAX && contained_iterate(c->o.record, &i, &e))
                if (!e->busy && streq(e->token, first->token) && e->status == first->status &&
                    batch_add(b, e->instance_id, NULL, NULL) >= 0) {
                        e->busy = true;
                        n++;
                }
        sort_parallel(b);
        return b;
}

/* Intents left SENDING are sent again with their own token (the API runs a token once); those
 * left RUNNING are followed. */
static void contain_resume(struct contain *c) {
        struct contained_entry *e;
        size_t i = 0;

        while (contained_iterate(c->o.record, &i, &e)) {
                struct batch *b;
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
                        batch_poll(b, 0);
                } else
                        batch_run(b);
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
        r = sd_event_add_defer(o->event, &c->commit_source, commit_cb, c);
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
                batch_free(c->committing[i]);
        free(c->committing);
        /* What is left unsaved is written by the record's owner (agent_free()). */
        sd_event_source_disable_unref(c->save_source);
        /* Batches of calls cancelled with their client or waiting for a poll, and collected ones. */
        while (c->batches)
                batch_free(c->batches);
        free(c->waiting);
        hashmap_free_with(c->held, free);
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

void contain_set_client(struct contain *c, struct ecs *ecs) {
        assert(c->calls == 0);
        c->o.ecs = ecs;
}
