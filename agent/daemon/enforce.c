/* One enforcement pass: resolve every list entry to key pairs and instances, detach, queue. */
#include "base/log.h"
#include "base/strutil.h"
#include "daemon/enforce-internal.h"

/* Region used for DescribeRegions when no region is configured (the API's home region). */
#define ENFORCE_BOOTSTRAP_REGION "cn-hangzhou"

static void region_free(struct enforce_region *r) {
        if (!r)
                return;
        free(r->name);
        free(r->entries);
        free(r->name_found);
        ecs_keypairs_free(r->keypairs, r->n_keypairs);
        free(r);
}

static void target_free(struct enforce_target *t) {
        for (size_t i = 0; i < t->n_batch; i++)
                free(t->batch[i]);
        free(t->key);
        free(t->keypair);
        free(t->next_token);
        free(t);
}

struct enforce *enforce_free(struct enforce *p) {
        struct enforce_target *t;
        size_t i = 0;

        if (!p)
                return NULL;
        sd_event_source_disable_unref(p->setup_source);
        sd_event_source_disable_unref(p->flush_source);
        for (size_t k = 0; k < p->n_unsent; k++)
                detach_batch_free(p->unsent[k]);
        free(p->unsent);
        for (size_t k = 0; k < p->n_regions; k++)
                region_free(p->regions[k]);
        free(p->regions);
        if (p->targets)
                while (hashmap_iterate(p->targets, &i, NULL, (void **) &t))
                        target_free(t);
        hashmap_free(p->targets);
        hashmap_free(p->stale);
        hashmap_free(p->found_names);
        free(p);
        return NULL;
}

/* ---- events ------------------------------------------------------------------------------ */

const char *enforce_error_name(const struct ecs_result *r) {
        if (r->code)
                return r->code;
        if (r->error < 0 && strerrorname_np(-r->error))
                return strerrorname_np(-r->error);
        return "unparsable-answer";
}

uint64_t enforce_now(struct enforce *p) {
        uint64_t now = 0;
        (void) sd_event_now(p->o.event, CLOCK_REALTIME, &now);
        return now;
}

/* Fields of an event about target (and optionally one instance). */
struct event_fields enforce_target_fields(const struct enforce_target *t, const char *instance, const char *request_id,
                                          const char *error) {
        return (struct event_fields) {
                .keypair = t->keypair,
                .region = t->region->name,
                .instance = instance,
                .request_id = request_id,
                .error = error,
                .list = t->why.list->path,
                .line = t->why.entry->line,
                .reason = t->why.entry->reason,
                .dry_run = t->pass->o.dry_run,
        };
}

static void report_failed_target(struct enforce_target *t, const char *what, const struct ecs_result *r) {
        struct event_fields f = enforce_target_fields(t, NULL, r->request_id, enforce_error_name(r));

        t->failed = true;
        t->pass->counts.failed++;
        report_event(EVENT_DETACH_FAILED, &f, "Could not %s for key pair '%s' in %s: %s%s%s (still pending)",
                     what, t->keypair, t->region->name, strempty(r->code), r->code ? ": " : "",
                     strempty(r->message));
}

/* ---- pass bookkeeping ---------------------------------------------------------------------- */

static void pass_finish(struct enforce *p);

int enforce_call(struct enforce *p, const char *region, const char *action, struct params *params, ecs_done_cb cb,
                 void *ctx) {
        int r = ecs_call(p->o.ecs, region, action, params, cb, ctx);
        if (r < 0)
                return log_error_errno(r, "Failed to queue %s in %s: %m", action, region);
        p->outstanding++;
        return 0;
}

/* Every ECS callback ends here: the pass is over when nothing is left in flight. */
void enforce_call_done(struct enforce *p) {
        if (--p->outstanding == 0)
                pass_finish(p);
}

/* ---- instances ----------------------------------------------------------------------------- */

static void instances_done_cb(const struct ecs_result *r, void *userdata);

static int target_describe(struct enforce_target *t) {
        struct params params = {};

        if (params_add(&params, "RegionId", t->region->name) < 0 || params_add(&params, "KeyPairName", t->keypair) < 0 ||
            params_addf(&params, "MaxResults", "%d", ENFORCE_INSTANCE_PAGE_SIZE) < 0 ||
            (t->next_token && params_add(&params, "NextToken", t->next_token) < 0)) {
                params_done(&params);
                return -ENOMEM;
        }
        return enforce_call(t->pass, t->region->name, "DescribeInstances", &params, instances_done_cb, t);
}

static void target_take_instance(struct enforce_target *t, const struct ecs_instance *i) {
        struct event_fields f = enforce_target_fields(t, i->instance_id, NULL, NULL);

        /* The filter is exact, but an instance re-bound meanwhile must not be touched. */
        if (!streq_ptr(i->key_pair_name, t->keypair))
                return;
        if (planner_instance_action(i) == PLANNER_SKIP_WINDOWS) {
                t->pass->counts.skipped++;
                report_event(EVENT_SKIPPED_WINDOWS, &f, "Left Windows instance %s alone (key pair '%s' stays attached)",
                             i->instance_id, t->keypair);
                return;
        }
        /* Still bound: a detach left pending by an earlier run did not happen, send it again. */
        (void) hashmap_remove(t->pass->stale, i->instance_id);
        t->batch[t->n_batch] = strdup(i->instance_id);
        if (!t->batch[t->n_batch]) {
                log_error("Out of memory while collecting instances of key pair '%s'", t->keypair);
                return;
        }
        if (++t->n_batch == PLANNER_DETACH_BATCH_MAX)
                detach_flush(t);
}

static void promote_stale(struct enforce *p, struct queue_entry *e);

/* Stale intents of this key pair whose instance no longer carries it were detached. */
static void target_resolve_stale(struct enforce_target *t) {
        struct queue_entry *e;
        const char *id;
        size_t i = 0;

        while (hashmap_iterate(t->pass->stale, &i, &id, (void **) &e))
                if (streq(e->region, t->region->name) && streq(e->keypair, t->keypair)) {
                        (void) hashmap_remove(t->pass->stale, id);
                        promote_stale(t->pass, e);
                }
}

static void instances_done_cb(const struct ecs_result *r, void *userdata) {
        struct enforce_target *t = userdata;
        struct ecs_instance *a = NULL;
        size_t n = 0;
        char *next = NULL;
        int k;

        if (r->error < 0) {
                report_failed_target(t, "list instances", r);
                goto done;
        }
        k = ecsparse_instances(r->body, &a, &n, &next);
        if (k < 0) {
                struct ecs_result bad = { .request_id = r->request_id, .message = "unparsable DescribeInstances answer" };
                report_failed_target(t, "list instances", &bad);
                goto done;
        }
        for (size_t i = 0; i < n; i++)
                target_take_instance(t, &a[i]);
        ecs_instances_free(a, n);
        free_and_replace_str(&t->next_token, next);
        if (t->next_token && target_describe(t) >= 0)
                goto done;
        detach_flush(t);
        target_resolve_stale(t);
done:
        enforce_call_done(t->pass);
}

/* ---- key pairs and regions ----------------------------------------------------------------- */

static void keypairs_done_cb(const struct ecs_result *r, void *userdata);

static int region_describe_keypairs(struct enforce_region *g) {
        struct params params = {};

        g->page++;
        if (params_add(&params, "RegionId", g->name) < 0 ||
            params_addf(&params, "PageNumber", "%u", g->page) < 0 ||
            params_addf(&params, "PageSize", "%d", ENFORCE_KEYPAIR_PAGE_SIZE) < 0 ||
            (planner_needs_public_keys(g->entries, g->n_entries) &&
             params_add(&params, "IncludePublicKey", "true") < 0)) {
                params_done(&params);
                return -ENOMEM;
        }
        return enforce_call(g->pass, g->name, "DescribeKeyPairs", &params, keypairs_done_cb, g);
}

static void region_start_target(struct enforce_region *g, const struct planner_target *pt) {
        struct enforce *p = g->pass;
        struct enforce_target *t = calloc(1, sizeof(*t));

        if (!t || asprintf(&t->key, "%s/%s", g->name, pt->keypair) < 0 || !(t->keypair = strdup(pt->keypair))) {
                if (t)
                        free(t->key);
                free(t);
                return (void) log_error("Out of memory while enforcing key pair '%s'", pt->keypair);
        }
        if (hashmap_get(p->targets, t->key) || hashmap_put(p->targets, t->key, t) < 0)
                return target_free(t);
        t->pass = p;
        t->region = g;
        t->why = pt->why;
        (void) hashmap_put(p->found_names, t->keypair, t);
        if (target_describe(t) < 0)
                t->failed = true;
}

static void region_match(struct enforce_region *g) {
        _cleanup_free_ struct planner_target *targets = NULL;
        size_t n = 0;

        if (planner_match_keypairs(g->entries, g->n_entries, g->keypairs, g->n_keypairs, g->name_found, &targets, &n) < 0)
                return (void) log_error("Out of memory while matching key pairs in %s", g->name);
        for (size_t i = 0; i < n; i++)
                region_start_target(g, &targets[i]);
}

static int region_append_keypairs(struct enforce_region *g, struct ecs_keypair *kp, size_t n) {
        struct ecs_keypair *all = reallocarray(g->keypairs, g->n_keypairs + n, sizeof(*all));

        if (!all)
                return -ENOMEM;
        memcpy(all + g->n_keypairs, kp, n * sizeof(*kp));
        g->keypairs = all;
        g->n_keypairs += n;
        free(kp);
        return 0;
}

static void keypairs_done_cb(const struct ecs_result *r, void *userdata) {
        struct enforce_region *g = userdata;
        struct ecs_keypair *kp = NULL;
        unsigned total = 0;
        size_t n = 0;

        if (r->error < 0 || ecsparse_keypairs(r->body, &kp, &n, &total) < 0) {
                struct event_fields f = { .region = g->name, .request_id = r->request_id,
                                          .error = enforce_error_name(r),
                                          .dry_run = g->pass->o.dry_run };
                g->pass->counts.failed++;
                report_event(EVENT_DETACH_FAILED, &f, "Could not list key pairs in %s: %s (still pending)", g->name,
                             r->message ? r->message : "bad answer");
                goto done;
        }
        if (region_append_keypairs(g, kp, n) < 0) {
                ecs_keypairs_free(kp, n);
                log_error("Out of memory while listing key pairs in %s", g->name);
                goto done;
        }
        if (n == ENFORCE_KEYPAIR_PAGE_SIZE && g->n_keypairs < total && region_describe_keypairs(g) >= 0)
                goto done;
        g->listed = true;
        region_match(g);
done:
        enforce_call_done(g->pass);
}

static int pass_add_region(struct enforce *p, const char *name) {
        struct enforce_region *g, **a;
        int r;

        g = calloc(1, sizeof(*g));
        if (!g || !(g->name = strdup(name))) {
                free(g);
                return -ENOMEM;
        }
        g->pass = p;
        a = reallocarray(p->regions, p->n_regions + 1, sizeof(*a));
        if (!a) {
                region_free(g);
                return -ENOMEM;
        }
        p->regions = a;
        p->regions[p->n_regions++] = g;
        r = planner_entries_for_region(p->o.lists, p->o.n_lists, name, &g->entries, &g->n_entries);
        if (r < 0)
                return r;
        if (g->n_entries == 0)
                return 0;
        g->name_found = calloc(g->n_entries, sizeof(bool));
        if (!g->name_found)
                return -ENOMEM;
        return region_describe_keypairs(g);
}

static void pass_add_regions(struct enforce *p, char *const *regions) {
        for (; regions && *regions; regions++)
                if (pass_add_region(p, *regions) < 0)
                        log_error("Failed to start enforcing region %s", *regions);
}

static void regions_done_cb(const struct ecs_result *r, void *userdata) {
        struct enforce *p = userdata;
        _cleanup_strv_free_ char **regions = NULL;

        if (r->error < 0 || ecsparse_regions(r->body, &regions) < 0) {
                struct event_fields f = { .request_id = r->request_id, .error = enforce_error_name(r),
                                          .dry_run = p->o.dry_run };
                p->counts.failed++;
                report_event(EVENT_DETACH_FAILED, &f, "Could not list regions: %s (nothing enforced, still pending)",
                             r->message ? r->message : "bad answer");
        } else
                pass_add_regions(p, regions);
        enforce_call_done(p);
}

/* ---- start and finish ---------------------------------------------------------------------- */

/* An intent from a past run whose instance no longer carries the key pair: it was detached. */
static void promote_stale(struct enforce *p, struct queue_entry *e) {
        struct event_fields f = { .keypair = e->keypair, .region = e->region, .instance = e->instance_id,
                                  .reason = e->reason };

        p->counts.detached++;
        e->detached_usec = enforce_now(p);
        state_set(p->o.state, e, QUEUE_PENDING);
        report_event(EVENT_DETACHED, &f, "Detached key pair '%s' from %s in %s (confirmed after a restart)",
                     e->keypair, e->instance_id, e->region);
        report_event(EVENT_REBOOT_QUEUED, &f, "Queued %s for a reboot: the detach takes effect at its next boot",
                     e->instance_id);
}

/* Intents whose key pair was not looked at in this pass (its entry is gone) count as detached:
 * rebooting once too often is safer than leaving a revoked key usable. Failed targets keep
 * theirs for the next pass. */
static void pass_resolve_remaining_stale(struct enforce *p) {
        struct queue_entry *e;
        const char *id;
        size_t i = 0;

        while (hashmap_iterate(p->stale, &i, &id, (void **) &e)) {
                _cleanup_free_ char *key = NULL;
                if (asprintf(&key, "%s/%s", e->region, e->keypair) < 0 || hashmap_get(p->targets, key))
                        continue;
                promote_stale(p, e);
        }
}

static void pass_report_not_found(struct enforce *p) {
        for (size_t k = 0; k < p->n_regions; k++) {
                struct enforce_region *g = p->regions[k];
                for (size_t i = 0; i < g->n_entries; i++) {
                        const struct revlist_entry *e = g->entries[i].entry;
                        struct event_fields f = { .keypair = e->name, .region = g->name, .list = g->entries[i].list->path,
                                                  .line = e->line, .reason = e->reason, .dry_run = p->o.dry_run };
                        if (!g->listed || e->kind != REVLIST_NAME || g->name_found[i] ||
                            hashmap_get(p->found_names, e->name))
                                continue;
                        p->counts.not_found++;
                        report_event(EVENT_KEYPAIR_NOT_FOUND, &f, "Key pair '%s' does not exist in %s", e->name, g->name);
                }
        }
}

static void pass_finish(struct enforce *p) {
        char detached[32], skipped[32], failed[32], queued[32];
        const char *extra[] = { detached, skipped, failed, queued, NULL };
        struct event_fields f = { .dry_run = p->o.dry_run, .extra = extra };
        size_t pending;
        int r;

        if (!p->o.dry_run)
                pass_resolve_remaining_stale(p);
        pass_report_not_found(p);
        if (!p->o.dry_run && enforce_now(p) > STATE_DONE_KEEP_USEC)
                (void) state_prune(p->o.state, enforce_now(p) - STATE_DONE_KEEP_USEC);
        r = p->o.dry_run ? 0 : state_save(p->o.state);
        if (r < 0)
                log_error_errno(r, "Failed to save the reboot queue in %s: %m", p->o.state->directory);
        pending = state_count(p->o.state, QUEUE_PENDING) + state_count(p->o.state, QUEUE_REBOOTING);
        snprintf(detached, sizeof(detached), "KEYREVOKE_DETACHED=%u", p->counts.detached);
        snprintf(skipped, sizeof(skipped), "KEYREVOKE_SKIPPED=%u", p->counts.skipped);
        snprintf(failed, sizeof(failed), "KEYREVOKE_FAILED=%u", p->counts.failed);
        snprintf(queued, sizeof(queued), "KEYREVOKE_QUEUED=%zu", pending);
        report_event(EVENT_ENFORCEMENT_COMPLETE, &f,
                     "Enforcement pass complete: %u %s, %u skipped, %u failed, %zu queued for reboot",
                     p->counts.detached, p->o.dry_run ? "would be detached" : "detached", p->counts.skipped,
                     p->counts.failed, pending);
        p->cb(p, &p->counts, p->userdata);
}

/* Releases the hold taken while the pass was set up (see enforce_start()). */
static int setup_done_cb(sd_event_source *s, void *userdata) {
        enforce_call_done(userdata);
        return 0;
}

/* Intents (DETACHING) left by a run that was killed: resolved when their key pair is described. */
static int pass_collect_stale(struct enforce *p) {
        struct queue_entry *e;
        size_t i = 0;

        while (state_iterate(p->o.state, &i, &e))
                if (e->state == QUEUE_DETACHING && hashmap_put(p->stale, e->instance_id, e) < 0)
                        return -ENOMEM;
        return 0;
}

static bool lists_have_entries(const struct enforce_options *o) {
        for (size_t i = 0; i < o->n_lists; i++)
                if (o->lists[i]->n_entries > 0)
                        return true;
        return false;
}

static int pass_begin(struct enforce *p) {
        struct params params = {};

        if (!p->o.dry_run && pass_collect_stale(p) < 0)
                return -ENOMEM;
        if (!lists_have_entries(&p->o))
                return 0;
        if (strv_length(p->o.regions) > 0) {
                pass_add_regions(p, p->o.regions);
                return 0;
        }
        return enforce_call(p, ENFORCE_BOOTSTRAP_REGION, "DescribeRegions", &params, regions_done_cb, p);
}

int enforce_start(const struct enforce_options *o, enforce_done_cb cb, void *userdata, struct enforce **ret) {
        _cleanup_(enforce_freep) struct enforce *p = calloc(1, sizeof(*p));
        int r;

        if (!p)
                return -ENOMEM;
        p->o = *o;
        p->cb = cb;
        p->userdata = userdata;
        if (hashmap_new(&p->targets) < 0 || hashmap_new(&p->stale) < 0 || hashmap_new(&p->found_names) < 0)
                return -ENOMEM;
        /* A hold released from the event loop, so that the pass never finishes inside this call. */
        r = sd_event_add_defer(o->event, &p->setup_source, setup_done_cb, p);
        if (r < 0)
                return r;
        r = sd_event_add_defer(o->event, &p->flush_source, detach_flush_cb, p);
        if (r < 0)
                return r;
        /* Idle priority: it runs once the answers already waiting have added their batches. */
        (void) sd_event_source_set_priority(p->flush_source, SD_EVENT_PRIORITY_IDLE);
        (void) sd_event_source_set_enabled(p->flush_source, SD_EVENT_OFF);
        p->outstanding = 1;
        r = pass_begin(p);
        if (r < 0) {
                /* Calls may already be queued: the pass runs on and reports what it could do. */
                p->counts.failed++;
                log_error_errno(r, "Failed to start the enforcement pass: %m");
        }
        *ret = TAKE_PTR(p);
        return 0;
}
