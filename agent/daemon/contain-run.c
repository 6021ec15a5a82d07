/* The life of one containment batch: the Cloud Assistant agents of its instances checked
 * (DescribeCloudAssistantStatus), the intents written, RunCommand, its results followed
 * (DescribeInvocationResults) until each instance is final, and the outcome of each reported
 * (contained, contain-failed). A call refused for one instance splits the batch. */
#include <inttypes.h>

#include "base/log.h"
#include "base/strutil.h"
#include "daemon/contain-internal.h"
#include "logic/base64.h"

/* How long results may lag behind the command's own timeout before the run counts as lost. */
#define CONTAIN_RESULT_GRACE_USEC (2 * USEC_PER_MINUTE)

/* ---- outcomes ------------------------------------------------------------------------------ */

/* The digest of the set b's keys are a run of, for the record; NULL: they are the whole set. */
static const char *batch_set_digest(const struct contain_batch *b) {
        return b->set ? b->set->runs.digest : NULL;
}

static struct event_fields batch_fields(const struct contain_batch *b, size_t i, const char *error) {
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

static void instance_failed(struct contain_batch *b, size_t i, const char *error, const char *detail) {
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

static void batch_fail_all(struct contain_batch *b, const char *error, const char *detail) {
        for (size_t i = 0; b->ids[i]; i++)
                instance_failed(b, i, error, detail);
        contain_save_later(b->contain);
}

/* A run of b's set that is not the last proved on instance i: it stays uncontained (PARTIAL) and
 * joins a batch of the next run at once, which takes over its hold (a reboot keeps waiting). */
static void instance_next_run(struct contain_batch *b, size_t i, struct contained_entry *e) {
        struct contain *c = b->contain;
        struct event_fields why = batch_fields(b, i, NULL);

        if (e)
                (void) contained_set(c->o.record, e, CONTAINED_PARTIAL, NULL, NULL, contain_now(c));
        log_debug("Run %zu of %zu of the revoked keys blocked on %s in %s", b->run + 1, b->set->runs.n_runs, b->ids[i],
                  b->region);
        /* On failure the record says PARTIAL: the next pass sends the next run. */
        (void) contain_enqueue(c, b->region, &b->set->runs, b->set, b->run + 1, b->ids[i], &why);
}

static void instance_contained(struct contain_batch *b, size_t i, const struct contain_summary *s) {
        struct contain *c = b->contain;
        struct contained_entry *e = contained_find(c->o.record, b->ids[i]);
        size_t n = b->set ? b->set->runs.n : strv_length(b->keys);
        struct event_fields f = batch_fields(b, i, NULL);
        unsigned lines = s->removed;
        char removed[16];

        if (e) {
                e->busy = false;
                /* The lines the runs of one set removed add up (run 0 starts the count). */
                e->removed = lines = (b->run > 0 ? e->removed : 0) + s->removed;
        }
        if (b->set && b->run + 1 < b->set->runs.n_runs)
                return instance_next_run(b, i, e);
        snprintf(removed, sizeof(removed), "%u", lines);
        f.removed = removed;
        c->n_contained++;
        if (e)
                (void) contained_complete(c->o.record, e, (unsigned) n, contain_now(c));
        report_event(EVENT_CONTAINED, &f,
                     "Blocked %zu revoked key(s) on %s in %s: %u authorized-keys line(s) removed, RevokedKeys in "
                     "force (sshd %s)",
                     n, b->ids[i], b->region, lines, s->sshd);
}

/* A final result of one instance: the summary the script printed decides. */
static void instance_result(struct contain_batch *b, size_t i, const struct ecs_invocation_result *res) {
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

static uint64_t batch_elapsed(const struct contain_batch *b) {
        return b->answered_usec > 0 ? contain_now(b->contain) - b->answered_usec : 0;
}

/* Before any run time is known, a first look waits (once, for at most CONTAIN_LOOK_AGAIN_MAX_USEC)
 * while an invocation answered before b is still followed: b cannot be done sooner, and every
 * look spends the request budget that the calls still starting containment need. looks_rearm()
 * wakes it when that one shows the run time. */
static bool batch_waits_for_earlier(struct contain_batch *b) {
        const struct contain *c = b->contain;

        if (c->run_usec > 0 || b->looks > 0 || b->answered_usec == 0 || b->waited)
                return false;
        for (const struct contain_batch *p = c->batches; p; p = p->next)
                if (p != b && p->answered_usec > 0 && p->answered_usec < b->answered_usec && p->poll_source) {
                        b->waited = true;
                        return true;
                }
        return false;
}

/* Timers of the invocations followed move forward to when the run time now known has passed
 * since their RunCommand answered (each keeps the hold it has). */
static void looks_rearm(struct contain *c) {
        uint64_t mono = 0;

        (void) sd_event_now(c->o.event, CLOCK_MONOTONIC, &mono);
        for (struct contain_batch *b = c->batches; b; b = b->next) {
                uint64_t at = 0, elapsed = batch_elapsed(b);
                uint64_t due = mono + (c->run_usec > elapsed ? c->run_usec - elapsed : 0);
                int enabled = SD_EVENT_OFF;

                if (b->poll_source && b->answered_usec > 0 &&
                    sd_event_source_get_enabled(b->poll_source, &enabled) >= 0 && enabled != SD_EVENT_OFF &&
                    sd_event_source_get_time(b->poll_source, &at) >= 0 && at > due)
                        (void) sd_event_source_set_time(b->poll_source, due);
        }
}

/* Delays b's look (the timer keeps its hold): false when the timer cannot be set. */
static bool poll_later(sd_event_source *s, uint64_t usec) {
        return sd_event_source_set_time_relative(s, usec) >= 0 && sd_event_source_set_enabled(s, SD_EVENT_ONESHOT) >= 0;
}

static int poll_cb(sd_event_source *s, uint64_t usec, void *userdata) {
        struct contain_batch *b = userdata;
        struct params params = {};

        /* Paused: the timer keeps its hold and looks again later. */
        if (b->contain->paused) {
                if (poll_later(s, CONTAIN_LOOK_AGAIN_MIN_USEC))
                        return 0;
                log_warning("Cannot delay following invocation %s; following it now", b->invoke_id);
        }
        if (batch_waits_for_earlier(b) && poll_later(s, CONTAIN_LOOK_AGAIN_MAX_USEC))
                return 0;
        if (params_add(&params, "RegionId", b->region) < 0 || params_add(&params, "InvokeId", b->invoke_id) < 0 ||
            params_addf(&params, "PageSize", "%u", CONTAIN_BATCH_MAX) < 0 ||
            contain_send(b, "DescribeInvocationResults", &params, results_done_cb) < 0) {
                struct contain *c = b->contain;
                params_done(&params);
                batch_fail_all(b, "ENOMEM", "cannot follow the invocation");
                contain_batch_free(b);
                contain_release(c); /* the hold of the timer */
                return 0;
        }
        contain_hold(b->contain);
        return 0;
}

/* Looks at b's results after usec (the batch holds the containment open meanwhile). */
void contain_batch_poll(struct contain_batch *b, uint64_t usec) {
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
                contain_batch_free(b);
                return;
        }
        contain_hold(c);
}

/* Marks the instances of b whose result is final; returns how many are not yet. */
static size_t batch_apply_results(struct contain_batch *b, const struct ecs_invocation_result *res, size_t n) {
        size_t open = 0, kept = 0;

        for (size_t i = 0; b->ids[i]; i++) {
                const struct ecs_invocation_result *found = NULL;
                for (size_t k = 0; k < n && !found; k++)
                        if (streq(res[k].instance_id, b->ids[i]))
                                found = &res[k];
                if (found && ecs_invocation_status_is_final(found->status)) {
                        instance_result(b, i, found);
                        contain_batch_drop(b, i);
                        continue;
                }
                contain_batch_keep(b, i, kept++);
                open++;
        }
        contain_batch_terminate(b, kept);
        return open;
}

/* All of b's results are final: how long that took after RunCommand answered is what the first
 * look of later invocations waits for. */
static void batch_learn_run_time(const struct contain_batch *b) {
        struct contain *c = b->contain;
        uint64_t took = batch_elapsed(b);

        if (took > 0 && (c->run_usec == 0 || took < c->run_usec)) {
                c->run_usec = took;
                looks_rearm(c);
        }
}

static void results_done_cb(const struct ecs_result *r, void *userdata) {
        struct contain_batch *b = userdata;
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
                contain_save_later(c);
                ecs_invocation_results_free(res, n);
                contain_batch_free(b);
                return contain_release(c);
        }
        ecs_invocation_results_free(res, n);
        contain_save_later(c);
        if (contain_now(c) > b->sent_usec + b->timeout_usec + CONTAIN_RESULT_GRACE_USEC) {
                batch_fail_all(b, "result-timeout", "no final result in time");
                contain_batch_free(b);
        } else
                contain_batch_poll(b, contain_next_look_usec(++b->looks, c->run_usec, batch_elapsed(b)));
        contain_release(c);
}

/* ---- RunCommand ---------------------------------------------------------------------------- */

static int batch_record_intents(struct contain_batch *b);
static void batch_commit(struct contain_batch *b);

/* RunCommand refuses the whole call for one instance it cannot run on (not Running any more, its
 * agent gone, Windows after all): halves go out on their own until that one is alone. */
static void batch_split(struct contain_batch *b) {
        size_t n = strv_length(b->ids), half = n / 2;

        for (size_t part = 0; part < 2; part++) {
                struct contain_batch *h = contain_batch_new(b->contain, b->region, b->set, b->run, b->keys,
                                                            strv_length(b->keys), b->digest);
                size_t from = part ? half : 0, to = part ? n : half;
                for (size_t i = from; h && i < to; i++) {
                        h->ids[i - from] = TAKE_PTR(b->ids[i]);
                        h->keypairs[i - from] = TAKE_PTR(b->keypairs[i]);
                        h->reasons[i - from] = TAKE_PTR(b->reasons[i]);
                }
                if (!h || batch_record_intents(h) < 0) {
                        if (h)
                                batch_fail_all(h, "ENOMEM", "cannot split the call");
                        contain_batch_free(h);
                } else
                        batch_commit(h);
        }
}

static bool run_error_is_per_instance(const char *code) {
        return streq_ptr(code, "InvalidInstance.NotMatch") || streq_ptr(code, "InvalidInstance.NotFound") ||
               streq_ptr(code, "InvalidInstanceId.NotFound");
}

static void run_done_cb(const struct ecs_result *r, void *userdata) {
        struct contain_batch *b = userdata;
        struct contain *c = b->contain;
        _cleanup_free_ char *invoke_id = NULL;

        contain_answered(c);
        if (r->error == -EREMOTEIO && run_error_is_per_instance(r->code) && strv_length(b->ids) > 1) {
                batch_split(b);
                contain_batch_free(b);
                return contain_release(c);
        }
        if (r->error < 0 || ecsparse_invoke_id(r->body, &invoke_id) < 0) {
                batch_fail_all(b, r->code ? r->code : "unparsable-answer", r->message);
                contain_batch_free(b);
                return contain_release(c);
        }
        b->invoke_id = TAKE_PTR(invoke_id);
        for (size_t i = 0; b->ids[i]; i++) {
                struct contained_entry *e = contained_find(c->o.record, b->ids[i]);
                if (e)
                        (void) contained_set(c->o.record, e, CONTAINED_RUNNING, b->invoke_id, NULL, contain_now(c));
        }
        contain_save_later(c);
        log_info("Cloud Assistant runs the containment command on %zu instance(s) in %s (invocation %s)",
                 strv_length(b->ids), b->region, b->invoke_id);
        b->answered_usec = contain_now(c);
        contain_batch_poll(b, contain_next_look_usec(0, c->run_usec, 0));
        contain_release(c);
}

static int run_params(const struct contain_batch *b, struct params *params) {
        _cleanup_free_ char *content = NULL, *encoded = NULL;
        int r = contain_command_build(b->keys, strv_length(b->keys), &content);

        if (r < 0)
                return r;
        encoded = base64_encode(content, strlen(content));
        if (!encoded || params_add(params, "RegionId", b->region) < 0 ||
            params_add(params, "Type", "RunShellScript") < 0 || params_add(params, "CommandContent", encoded) < 0 ||
            params_add(params, "ContentEncoding", "Base64") < 0 ||
            params_addf(params, "Timeout", "%" PRIu64, b->timeout_usec / USEC_PER_SEC) < 0 ||
            params_add(params, "KeepCommand", "false") < 0 || params_add(params, "ClientToken", b->token) < 0)
                return -ENOMEM;
        return contain_add_instance_ids(params, b->ids);
}

/* Sends b's RunCommand (its intents are on disk); b is taken over. */
void contain_batch_run(struct contain_batch *b) {
        struct contain *c = b->contain;
        struct params params = {};
        int r = run_params(b, &params);

        if (r >= 0)
                r = contain_send(b, "RunCommand", &params, run_done_cb);
        if (r < 0) {
                params_done(&params);
                batch_fail_all(b, r == -E2BIG ? "command-too-large" : "ENOMEM",
                               r == -E2BIG ? "too many revoked keys for one command" : NULL);
                contain_batch_free(b);
                return;
        }
        b->sent_usec = contain_now(c);
        contain_hold(c);
}

/* Records the intents of b (sorted, with a fresh token) before its RunCommand. */
static int batch_record_intents(struct contain_batch *b) {
        struct contain *c = b->contain;
        char token[CONTAIN_TOKEN_LEN + 1], seed[64];
        int r;

        contain_batch_sort(b);
        snprintf(seed, sizeof(seed), "%s/%" PRIu64, b->digest, contain_now(c));
        contain_client_token(seed, b->ids, strv_length(b->ids), token);
        b->token = strdup(token);
        if (!b->token)
                return -ENOMEM;
        r = contained_put_keyset(c->o.record, b->digest, b->keys, strv_length(b->keys));
        /* The whole set too: a restart splits it again to tell which run comes next. */
        if (r >= 0 && b->set)
                r = contained_put_keyset(c->o.record, b->set->runs.digest, b->set->keys, b->set->runs.n);
        for (size_t i = 0; r >= 0 && b->ids[i]; i++) {
                struct contained_entry *e;
                r = contained_begin(c->o.record, b->ids[i], b->region, b->digest, (unsigned) strv_length(b->keys),
                                    batch_set_digest(b), b->token, contain_now(c), &e);
                if (r >= 0)
                        e->busy = true;
        }
        return r;
}

/* Runs b once its intents are on disk. The intents of every batch that gets there in one loop
 * iteration are written together: a save rewrites the whole record. */
static void batch_commit(struct contain_batch *b) {
        struct contain *c = b->contain;
        struct contain_batch **a = reallocarray(c->committing, c->n_committing + 1, sizeof(*a));

        if (!a) {
                batch_fail_all(b, "ENOMEM", "cannot record the intent");
                return contain_batch_free(b);
        }
        c->committing = a;
        c->committing[c->n_committing++] = b;
        contain_hold(c);
        (void) sd_event_source_set_enabled(c->commit_source, SD_EVENT_ONESHOT);
}

int contain_commit_cb(sd_event_source *s, void *userdata) {
        struct contain *c = userdata;
        struct contain_batch **committing = TAKE_PTR(c->committing);
        size_t n = c->n_committing;
        int r = contained_save(c->o.record);

        c->n_committing = 0;
        if (r < 0)
                log_error_errno(r, "Failed to save the containment record in %s: %m", c->o.record->directory);
        for (size_t i = 0; i < n; i++) {
                if (r < 0) {
                        batch_fail_all(committing[i], "state-write-failed", "cannot record the intent");
                        contain_batch_free(committing[i]);
                } else
                        contain_batch_run(committing[i]);
        }
        free(committing);
        for (size_t i = 0; i < n; i++)
                contain_release(c);
        return 0;
}

/* ---- agent status -------------------------------------------------------------------------- */

static void status_done_cb(const struct ecs_result *r, void *userdata);

void contain_batch_check_agents(struct contain_batch *b) {
        struct params params = {};
        int r = params_add(&params, "RegionId", b->region);

        /* The answer is paged even for InstanceId.N: ask for all of them at once. */
        if (r >= 0)
                r = params_addf(&params, "MaxResults", "%u", CONTAIN_BATCH_MAX);
        if (r >= 0)
                r = contain_add_instance_ids(&params, b->ids);
        if (r >= 0)
                r = contain_send(b, "DescribeCloudAssistantStatus", &params, status_done_cb);
        if (r < 0) {
                params_done(&params);
                batch_fail_all(b, "ENOMEM", NULL);
                contain_batch_free(b);
                return;
        }
        contain_hold(b->contain);
}

/* Keeps the instances of b whose agent is online; the others fail (agent-offline). */
static void batch_keep_online(struct contain_batch *b, const struct ecs_agent_status *a, size_t n) {
        size_t kept = 0;

        for (size_t i = 0; b->ids[i]; i++) {
                bool online = false;
                for (size_t k = 0; k < n; k++)
                        if (streq(a[k].instance_id, b->ids[i]))
                                online = a[k].online;
                if (!online) {
                        /* Recorded, so that status and the metrics count it as uncontained. */
                        if (contained_note_unsent(b->contain->o.record, b->ids[i], b->region, b->digest,
                                                  (unsigned) strv_length(b->keys), batch_set_digest(b), "agent-offline",
                                                  contain_now(b->contain)) < 0)
                                log_error("Out of memory while recording %s as uncontained", b->ids[i]);
                        instance_failed(b, i, "agent-offline", "its Cloud Assistant agent is not online");
                        contain_batch_drop(b, i);
                        continue;
                }
                contain_batch_keep(b, i, kept++);
        }
        contain_batch_terminate(b, kept);
}

static void status_done_cb(const struct ecs_result *r, void *userdata) {
        struct contain_batch *b = userdata;
        struct contain *c = b->contain;
        struct ecs_agent_status *a = NULL;
        char *next = NULL;
        size_t n = 0;

        contain_answered(c);
        if (r->error < 0 || ecsparse_agent_statuses(r->body, &a, &n, &next) < 0) {
                batch_fail_all(b, r->code ? r->code : "unparsable-answer", r->message);
                contain_batch_free(b);
        } else {
                batch_keep_online(b, a, n);
                if (!b->ids[0])
                        contain_batch_free(b);
                else if (batch_record_intents(b) < 0) {
                        batch_fail_all(b, "ENOMEM", "cannot record the intent");
                        contain_batch_free(b);
                } else
                        batch_commit(b);
        }
        ecs_agent_statuses_free(a, n);
        free(next);
        contain_save_later(c);
        contain_release(c);
}
