/* One enforcement pass: resolve every list entry to key pairs (listed in enforce-keypairs.c) and
 * instances (found in enforce-discover.c), detach, queue. Intents left by a killed run are
 * settled by evidence only (daemon/stale.c): a complete listing, or a look. */
#include "base/log.h"
#include "base/strutil.h"
#include "daemon/enforce-internal.h"
#include "io/report.h"
#include "logic/contain.h"
#include "logic/health.h"
#include "logic/sshkey.h"

/* Region used for DescribeRegions when no region is configured (the API's home region). */
#define ENFORCE_BOOTSTRAP_REGION "cn-hangzhou"

/* ---- lifecycle ----------------------------------------------------------------------------- */

static void target_free(struct enforce_target *t) {
        for (size_t i = 0; i < t->n_linux; i++)
                free(t->linux_ids[i]);
        free(t->linux_ids);
        free(t->keypair);
        free(t->next_token);
        free(t);
}

static void region_free(struct enforce_region *g) {
        if (!g)
                return;
        for (size_t i = 0; i < g->n_targets; i++)
                target_free(g->targets[i]);
        free(g->targets);
        hashmap_free(g->by_name);
        free(g->name);
        free(g->entries);
        free(g->name_found);
        ecs_keypairs_free(g->keypairs, g->n_keypairs);
        contain_runs_done(&g->contain_runs);
        strv_free(g->contain_keys);
        free(g);
}

struct enforce *enforce_free(struct enforce *p) {
        if (!p)
                return NULL;
        sd_event_source_disable_unref(p->setup_source);
        detach_free(p->detach);
        for (size_t k = 0; k < p->n_regions; k++)
                region_free(p->regions[k]);
        free(p->regions);
        stale_free(p->stale);
        hashmap_free(p->found_names);
        free(p);
        return NULL;
}

/* ---- events -------------------------------------------------------------------------------- */

static void report_lookup_failed(struct enforce *p, const char *region, const char *what,
                                 const struct ecs_result *r) {
        struct event_fields f = { .region = region, .request_id = r->request_id, .error = pass_error_name(r),
                                  .dry_run = p->pass.dry_run };

        p->pass.counts.failed++;
        p->pass.counts.regions_failed++;
        report_event(EVENT_LOOKUP_FAILED, &f, "Could not list %s in %s: %s%s%s (nothing there counts as enforced)",
                     what, region, r->code ? r->code : pass_error_name(r), r->message ? ": " : "",
                     strempty(r->message));
}

void enforce_region_lookup_failed(struct enforce_region *g, const char *what, const struct ecs_result *r) {
        /* One event per region and pass: later failures there add nothing. */
        if (!g->failed)
                report_lookup_failed(g->pass, g->name, what, r);
        g->failed = true;
}

/* ---- containment --------------------------------------------------------------------------- */

/* Adds "TYPE BLOB" of public_key to l unless it is there; a key that does not parse is skipped. */
static int keys_add(char ***l, const char *public_key) {
        _cleanup_free_ char *key = NULL;

        if (!public_key || sshkey_type_and_blob(public_key, &key) < 0)
                return 0;
        return strv_contains(*l, key) ? 0 : strv_extend(l, key);
}

/* The run of g's keys that holds public_key (0 when none does: its key is unknown). */
static size_t region_key_run(const struct enforce_region *g, const char *public_key) {
        _cleanup_free_ char *key = NULL;

        if (!public_key || sshkey_type_and_blob(public_key, &key) < 0)
                return 0;
        for (size_t r = 0; r < g->contain_runs.n_runs; r++) {
                size_t n;
                char *const *keys = contain_runs_keys(&g->contain_runs, r, &n);
                for (size_t i = 0; i < n; i++)
                        if (streq(keys[i], key))
                                return r + 1;
        }
        return 0;
}

const struct contain_runs *enforce_target_contain_runs(struct enforce_target *t) {
        struct enforce_region *g = t->region;

        if (g->pass->o.contain_scope == CONF_CONTAIN_FLEET)
                return &g->contain_runs;
        for (size_t i = 0; t->contain_run == 0 && g->contain_runs.n_runs > 1 && i < g->n_keypairs; i++)
                if (streq(g->keypairs[i].name, t->keypair) &&
                    (t->contain_run = region_key_run(g, g->keypairs[i].public_key)) > 0) {
                        size_t n;
                        char *const *keys = contain_runs_keys(&g->contain_runs, t->contain_run - 1, &n);
                        contain_runs_one(keys, n, &t->contain_own);
                }
        return t->contain_run > 0 ? &t->contain_own : &g->contain_runs;
}

/* Sends i the revoked keys when it is in the containment scope (t: its key pair, or NULL). */
void enforce_region_contain(struct enforce_region *g, const struct ecs_instance *i, struct enforce_target *t) {
        struct enforce *p = g->pass;
        struct event_fields f = { .region = g->name };
        const struct contain_runs *keys = &g->contain_runs;

        if (!p->o.contain || !contain_in_scope(p->o.contain_scope, i, t != NULL))
                return;
        if (t) {
                f = detach_target_fields(&p->pass, &t->d, NULL, NULL, NULL);
                keys = enforce_target_contain_runs(t);
        }
        (void) contain_instance(p->o.contain, g->name, keys, i->instance_id, &f);
}

static int compare_strings(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* The keys containment blocks in g: those of its public-key entries and of the key pairs its
 * entries revoke (sorted, so that the same set has the same digest in every pass). */
static int region_collect_keys(struct enforce_region *g) {
        int r = 0;

        for (size_t i = 0; r >= 0 && i < g->n_entries; i++)
                r = keys_add(&g->contain_keys, g->entries[i].entry->public_key);
        for (size_t i = 0; r >= 0 && i < g->n_keypairs; i++)
                if (hashmap_get(g->by_name, g->keypairs[i].name))
                        r = keys_add(&g->contain_keys, g->keypairs[i].public_key);
        if (r < 0)
                return r;
        if (g->contain_keys)
                qsort(g->contain_keys, strv_length(g->contain_keys), sizeof(char *), compare_strings);
        /* Once per region and pass: splitting builds the command for every key. */
        r = contain_runs_split(g->contain_keys, strv_length(g->contain_keys), &g->contain_runs);
        if (r < 0)
                return r;
        if (g->contain_runs.n_runs > 1)
                log_info("The %zu revoked keys of %s are too many for one Cloud Assistant command: split into %zu "
                         "runs, an instance bound to a revoked key pair is sent the run that holds its own, the "
                         "others all the runs one after the other",
                         strv_length(g->contain_keys), g->name, g->contain_runs.n_runs);
        return 0;
}

/* ---- targets ------------------------------------------------------------------------------- */

static int region_add_target(struct enforce_region *g, const struct planner_target *pt) {
        struct enforce_target *t, **a;

        if (hashmap_get(g->by_name, pt->keypair))
                return 0;
        a = reallocarray(g->targets, g->n_targets + 1, sizeof(*a));
        if (!a)
                return -ENOMEM;
        g->targets = a;
        t = calloc(1, sizeof(*t));
        if (!t || !(t->keypair = strdup(pt->keypair))) {
                free(t);
                return -ENOMEM;
        }
        t->region = g;
        t->d = (struct detach_target) { .region = g->name, .keypair = t->keypair, .why = pt->why };
        g->targets[g->n_targets++] = t;
        return hashmap_put(g->by_name, t->keypair, t);
}

/* The revoked public keys known here, for the launch sources' UserData: those of the revoked key
 * pairs whose key the pass listed, then those of the public-key entries (a key found twice is
 * reported once, the first time: with its key pair). */
static int region_source_keys(const struct enforce_region *g, struct sources_key **ret, size_t *ret_n) {
        _cleanup_free_ struct sources_key *keys = calloc(g->n_entries + g->n_keypairs, sizeof(*keys));
        size_t n = 0;

        if (!keys)
                return -ENOMEM;
        for (size_t i = 0; i < g->n_keypairs; i++) {
                const struct enforce_target *t = hashmap_get(g->by_name, g->keypairs[i].name);

                if (t && g->keypairs[i].public_key)
                        keys[n++] = (struct sources_key) { g->keypairs[i].public_key, t->keypair, t->d.why };
        }
        for (size_t i = 0; i < g->n_entries; i++)
                if (g->entries[i].entry->public_key)
                        keys[n++] = (struct sources_key) { g->entries[i].entry->public_key, NULL, g->entries[i] };
        *ret = TAKE_PTR(keys);
        *ret_n = n;
        return 0;
}

/* The region's launch sources are checked against its revoked key pairs and keys
 * (CheckLaunchSources=). */
static void region_check_sources(struct enforce_region *g, const struct planner_target *targets, size_t n) {
        /* Names alone are all the revoked key pairs only where no entry needed the key pairs. */
        bool complete = g->keypairs_listed || !planner_needs_public_keys(g->entries, g->n_entries);
        _cleanup_free_ struct sources_key *keys = NULL;
        size_t n_keys = 0;

        if (!g->pass->o.sources)
                return;
        if (region_source_keys(g, &keys, &n_keys) < 0 ||
            sources_check_region(g->pass->o.sources, &g->pass->pass, g->name, targets, n, keys, n_keys, complete) < 0)
                log_error("Out of memory while checking the launch sources of %s", g->name);
}

void enforce_region_start_targets(struct enforce_region *g) {
        _cleanup_free_ struct planner_target *targets = NULL;
        size_t n = 0;
        int r;

        r = enforce_region_match_keypairs(g, &targets, &n);
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = region_add_target(g, &targets[i]);
        if (r < 0) {
                g->pass->pass.counts.failed++;
                return (void) log_error("Out of memory while matching key pairs in %s", g->name);
        }
        enforce_region_note_keypair_names(g);
        region_check_sources(g, targets, n);
        if (g->pass->o.contain && region_collect_keys(g) < 0)
                log_error("Out of memory while collecting the revoked keys of %s", g->name);
        if (g->n_targets > 0 || (g->pass->o.contain && g->pass->o.contain_scope == CONF_CONTAIN_FLEET &&
                                 g->contain_keys))
                enforce_region_discover(g);
}

/* ---- regions ------------------------------------------------------------------------------- */

static int pass_add_region(struct enforce *p, const char *name) {
        struct enforce_region *g, **a;
        int r;

        g = calloc(1, sizeof(*g));
        if (!g || !(g->name = strdup(name)) || hashmap_new(&g->by_name) < 0) {
                region_free(g);
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
        if (g->n_entries == 0) {
                region_check_sources(g, NULL, 0);
                return 0;
        }
        g->name_found = calloc(g->n_entries, sizeof(bool));
        if (!g->name_found)
                return -ENOMEM;
        /* Key pairs are listed only where an entry (or containment) needs their public keys. */
        if (enforce_region_needs_public_keys(g))
                return enforce_region_list_keypairs(g, 1);
        enforce_region_start_targets(g);
        return 0;
}

static void pass_add_regions(struct enforce *p, char *const *regions) {
        for (; regions && *regions; regions++)
                if (pass_add_region(p, *regions) < 0) {
                        p->pass.counts.failed++;
                        log_error("Failed to start enforcing region %s", *regions);
                }
}

static void regions_done_cb(const struct ecs_result *r, void *userdata) {
        struct enforce *p = userdata;
        _cleanup_strv_free_ char **regions = NULL;

        if (r->error < 0 || ecsparse_regions(r->body, &regions) < 0)
                report_lookup_failed(p, ENFORCE_BOOTSTRAP_REGION, "regions", r);
        else
                pass_add_regions(p, regions);
        pass_release(&p->pass);
}

/* ---- settling what discovery left open ----------------------------------------------------- */

/* Whether region's listings failed in this pass (one the pass does not cover listed nothing). */
static bool region_failed(const char *region, void *userdata) {
        struct enforce *p = userdata;

        for (size_t i = 0; i < p->n_regions; i++)
                if (streq(p->regions[i]->name, region))
                        return p->regions[i]->failed;
        return true;
}

/* ---- names that matched nothing ------------------------------------------------------------ */

/* A NAME entry of g whose key pair was seen nowhere: bound to no instance, listed in no region. */
static bool entry_unseen(const struct enforce_region *g, size_t i) {
        const struct revlist_entry *e = g->entries[i].entry;
        return e->kind == REVLIST_NAME && !g->name_found[i] && !hashmap_get(g->pass->found_names, e->name);
}

/* Key pairs are listed where an unseen name might still exist, to tell a missing key pair from
 * one that has no instances. */
static void pass_list_keypairs_for_unseen(struct enforce *p) {
        for (size_t k = 0; k < p->n_regions; k++) {
                struct enforce_region *g = p->regions[k];
                bool unseen = false;

                for (size_t i = 0; i < g->n_entries && !unseen; i++)
                        unseen = entry_unseen(g, i);
                if (!unseen || g->keypairs_listed || g->failed || g->keypair_pages > 0)
                        continue;
                if (enforce_region_list_keypairs(g, 1) < 0)
                        log_error("Out of memory while listing key pairs in %s", g->name);
        }
}

static void pass_report_not_found(struct enforce *p) {
        /* Only a name seen nowhere is missing; the regions that were listed say where. */
        for (size_t k = 0; k < p->n_regions; k++)
                enforce_region_note_keypair_names(p->regions[k]);
        for (size_t k = 0; k < p->n_regions; k++) {
                struct enforce_region *g = p->regions[k];
                for (size_t i = 0; g->keypairs_listed && i < g->n_entries; i++) {
                        const struct revlist_entry *e = g->entries[i].entry;
                        struct event_fields f = { .keypair = e->name, .region = g->name,
                                                  .list = g->entries[i].list->path, .line = e->line,
                                                  .reason = e->reason, .dry_run = p->pass.dry_run };
                        if (!entry_unseen(g, i))
                                continue;
                        p->pass.counts.not_found++;
                        report_event(EVENT_KEYPAIR_NOT_FOUND, &f, "Key pair '%s' does not exist in %s", e->name, g->name);
                }
        }
}

/* ---- retiring key pairs -------------------------------------------------------------------- */

static const struct planner_entry *region_why_revoked(const char *keypair, void *userdata) {
        const struct enforce_region *g = userdata;
        const struct enforce_target *t = hashmap_get(g->by_name, keypair);

        return t ? &t->d.why : NULL;
}

/* The deletions of earlier passes and runs, where this pass listed the key pairs to the end. */
static void pass_settle_retired(struct enforce *p) {
        for (size_t k = 0; k < p->n_regions; k++) {
                struct enforce_region *g = p->regions[k];

                if (g->keypairs_listed)
                        retire_settle_region(p->o.retire, &p->pass, g->name, g->keypairs, g->n_listed_keypairs,
                                             p->o.delete_keypairs, region_why_revoked, g);
        }
}

/* DeleteRevokedKeyPairs=: the key pairs listed to the end and shown bound to no Linux instance
 * that this pass did not detach. */
static void pass_retire(struct enforce *p) {
        if (!p->o.retire)
                return;
        pass_settle_retired(p);
        if (!p->o.delete_keypairs)
                return;
        for (size_t k = 0; k < p->n_regions; k++) {
                struct enforce_region *g = p->regions[k];

                for (size_t i = 0; !g->failed && g->keypairs_listed && i < g->n_targets; i++) {
                        struct enforce_target *t = g->targets[i];
                        const struct ecs_keypair *kp = enforce_region_listed_keypair(g, t->keypair);
                        struct retire_candidate c = { .region = g->name, .keypair = t->keypair,
                                                      .public_key = kp ? kp->public_key : NULL, .why = &t->d.why,
                                                      .linux_ids = t->linux_ids, .n_linux = t->n_linux };

                        if (!kp || t->failed)
                                continue;
                        if (retire_consider(p->o.retire, &p->pass, &c) < 0) {
                                p->pass.counts.failed++;
                                log_error("Out of memory while retiring key pair '%s' in %s", t->keypair, g->name);
                        }
                }
        }
        retire_flush(p->o.retire, &p->pass);
}

/* ---- start and finish ---------------------------------------------------------------------- */

static size_t count_entries(const struct enforce_options *o) {
        size_t n = 0;

        for (size_t i = 0; i < o->n_lists; i++)
                n += o->lists[i]->n_entries;
        return n;
}

static void pass_report_complete(struct enforce *p) {
        const struct planner_counts *c = &p->pass.counts;
        struct health_pass h = { .lists = p->o.n_lists, .entries = count_entries(&p->o), .counts = *c };
        char detached[32], skipped[32], failed[32], queued[32], newly[40], regions[48], instances[48],
                looked[40], result[48], text[256];
        const char *extra[] = { detached, skipped, failed, queued, newly, regions, instances, looked, result, NULL };
        struct event_fields f = { .dry_run = p->pass.dry_run, .extra = extra };
        size_t pending = state_count(p->pass.state, QUEUE_PENDING) + state_count(p->pass.state, QUEUE_REBOOTING);

        snprintf(detached, sizeof(detached), "KEYREVOKE_DETACHED=%u", c->detached);
        snprintf(skipped, sizeof(skipped), "KEYREVOKE_SKIPPED=%u", c->skipped);
        snprintf(failed, sizeof(failed), "KEYREVOKE_FAILED=%u", c->failed);
        snprintf(queued, sizeof(queued), "KEYREVOKE_QUEUED=%zu", pending);
        snprintf(newly, sizeof(newly), "KEYREVOKE_NEWLY_QUEUED=%u", c->newly_queued);
        snprintf(regions, sizeof(regions), "KEYREVOKE_REGIONS_FAILED=%u", c->regions_failed);
        snprintf(instances, sizeof(instances), "KEYREVOKE_INSTANCES_FAILED=%u", health_instances_failed(c));
        snprintf(looked, sizeof(looked), "KEYREVOKE_REGIONS=%u", c->regions);
        snprintf(result, sizeof(result), "KEYREVOKE_RESULT=%s", health_verdict_to_string(health_judge(&h)));
        health_describe(&h, p->pass.dry_run ? "would be detached" : "detached", text, sizeof(text));
        report_event(EVENT_ENFORCEMENT_COMPLETE, &f, "Enforcement pass complete: %s; %zu in the reboot queue", text,
                     pending);
}

/* Windows instances no longer found in a region listed to the end are forgotten (warned about
 * again if they come back); the record is saved. */
static void pass_settle_warned(struct enforce *p) {
        int r;

        if (!p->o.warned || p->pass.dry_run)
                return;
        for (size_t k = 0; k < p->n_regions; k++)
                if (!p->regions[k]->failed)
                        warned_forget_unseen(p->o.warned, p->regions[k]->name);
        r = warned_save(p->o.warned);
        if (r < 0)
                log_warning_errno(r, "Failed to save the Windows instances reported in %s (they are reported "
                                     "again): %m", p->pass.state->directory);
}

static void pass_done(struct enforce *p) {
        int r;

        pass_report_not_found(p);
        pass_settle_warned(p);
        p->pass.counts.regions = (unsigned) p->n_regions;
        if (!p->pass.dry_run && pass_now(&p->pass) > STATE_DONE_KEEP_USEC)
                (void) state_prune(p->pass.state, pass_now(&p->pass) - STATE_DONE_KEEP_USEC);
        r = p->pass.dry_run ? 0 : state_save(p->pass.state);
        if (r < 0) {
                p->pass.counts.failed++;
                log_error_errno(r, "Failed to save the reboot queue in %s: %m", p->pass.state->directory);
        }
        pass_report_complete(p);
        p->cb(p, &p->pass.counts, p->userdata);
}

/* The last hold of a phase was released: the next phase starts, or the pass ends. */
static void pass_finish_cb(struct pass *pass) {
        struct enforce *p = (struct enforce *) pass;

        if (p->phase == PHASE_DISCOVER) {
                p->phase = PHASE_SETTLE;
                pass_hold(&p->pass);
                stale_look_at_rest(p->stale, region_failed, p);
                pass_list_keypairs_for_unseen(p);
                pass_retire(p);
                return pass_release(&p->pass);
        }
        p->phase = PHASE_DONE;
        pass_done(p);
}

/* Releases the hold taken while the pass was set up (see enforce_start()). */
static int setup_done_cb(sd_event_source *s, void *userdata) {
        struct enforce *p = userdata;

        pass_release(&p->pass);
        return 0;
}

static int pass_begin(struct enforce *p) {
        struct params params = {};

        if (count_entries(&p->o) == 0) {
                /* Nothing is revoked: no launch source names a revoked key pair. */
                if (p->o.sources)
                        sources_forget(p->o.sources, &p->pass);
                return 0;
        }
        if (strv_length(p->o.regions) > 0) {
                pass_add_regions(p, p->o.regions);
                return 0;
        }
        return pass_call(&p->pass, ENFORCE_BOOTSTRAP_REGION, "DescribeRegions", &params, regions_done_cb, p);
}

int enforce_start(const struct enforce_options *o, enforce_done_cb cb, void *userdata, struct enforce **ret) {
        _cleanup_(enforce_freep) struct enforce *p = calloc(1, sizeof(*p));
        int r;

        if (!p)
                return -ENOMEM;
        p->o = *o;
        p->cb = cb;
        p->userdata = userdata;
        p->pass = (struct pass) { .ecs = o->ecs, .state = o->state, .event = o->event, .dry_run = o->dry_run,
                                  .warned = o->warned, .finish = pass_finish_cb };
        if (hashmap_new(&p->found_names) < 0 || stale_new(&p->pass, &p->stale) < 0)
                return -ENOMEM;
        r = detach_new(&p->pass, &p->detach);
        if (r < 0)
                return r;
        /* A hold released from the event loop, so that the pass never finishes inside this call. */
        r = sd_event_add_defer(o->event, &p->setup_source, setup_done_cb, p);
        if (r < 0)
                return r;
        p->pass.holds = 1;
        r = pass_begin(p);
        if (r < 0) {
                /* Calls may already be queued: the pass runs on and reports what it could do. */
                p->pass.counts.failed++;
                log_error_errno(r, "Failed to start the enforcement pass: %m");
        }
        *ret = TAKE_PTR(p);
        return 0;
}
