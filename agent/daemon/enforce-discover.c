/* Finding the instances of a region's revoked key pairs: DescribeInstances by KeyPairName for
 * each, or the whole region listed once and matched locally, whichever takes fewer pages
 * (logic/discovery.c; a first page of the region decides when its size is not known yet).
 *
 * A listing is trusted only when it was paged to its end before anything it lists was changed:
 * the instances of a key pair (or of a whole region) are all collected first, and only then
 * detached, so a NextToken or PageNumber that is an offset cannot skip any. */
#include "base/log.h"
#include "base/strutil.h"
#include "daemon/enforce-internal.h"
#include "io/report.h"

/* ---- instances ----------------------------------------------------------------------------- */

static void target_take_instance(struct enforce_target *t, const struct ecs_instance *i) {
        struct enforce *p = t->region->pass;
        /* The listing shows it still bound: an intent of a past run did not take effect. */
        struct queue_entry *stale = stale_take(p->stale, i->instance_id);
        char **a;

        t->n_bound++;
        if (planner_instance_action(i) == PLANNER_SKIP_WINDOWS) {
                struct event_fields f = detach_target_fields(&p->pass, &t->d, i->instance_id, NULL, NULL);
                if (stale)
                        state_remove(p->pass.state, stale);
                p->pass.counts.skipped++;
                if (pass_windows_report_due(&p->pass, t->region->name, i->instance_id, t->keypair))
                        report_event(EVENT_SKIPPED_WINDOWS, &f,
                                     "Left Windows instance %s alone (key pair '%s' stays attached)", i->instance_id,
                                     t->keypair);
                return;
        }
        enforce_region_contain(t->region, i, t);
        a = reallocarray(t->linux_ids, t->n_linux + 1, sizeof(*a));
        if (!a || !(a[t->n_linux] = strdup(i->instance_id))) {
                if (a)
                        t->linux_ids = a;
                t->failed = true;
                return (void) log_error("Out of memory while collecting instances of key pair '%s'", t->keypair);
        }
        t->linux_ids = a;
        t->n_linux++;
}

/* Whether i, from a listing of region g, is bound to one of its revoked key pairs; takes it. */
static void region_take_instance(struct enforce_region *g, const struct ecs_instance *i) {
        struct enforce_target *t = i->key_pair_name ? hashmap_get(g->by_name, i->key_pair_name) : NULL;

        if (t)
                return target_take_instance(t, i);
        /* Detached earlier, exposed until its reboot: contained as if bound. Else Scope=fleet: a
         * revoked key may have been copied here. */
        enforce_region_contain(g, i, enforce_region_queued_target(g, i->instance_id));
}

/* Hands t's Linux instances to the detaches, which free each id as its call ends; the ids stay
 * with t (a copy) only where DeleteRevokedKeyPairs= looks at them once the pass is over. */
static int target_detach(struct enforce_target *t) {
        struct enforce *p = t->region->pass;
        size_t n = t->n_linux;
        char **ids;
        int r;

        if (n == 0)
                return 0;
        ids = p->o.delete_keypairs ? strv_copy_n(t->linux_ids, n) : TAKE_PTR(t->linux_ids);
        if (!ids)
                return -ENOMEM;
        if (!p->o.delete_keypairs)
                t->n_linux = 0;
        r = detach_instances(p->detach, &t->d, ids, n);
        /* What the batches did not take: by position, since taken ones are NULL. */
        for (size_t i = 0; i < n; i++)
                free(ids[i]);
        free(ids);
        return r;
}

/* t's listing is over (complete or not): nothing it lists changes before this point. */
static void target_listed(struct enforce_target *t) {
        struct enforce *p = t->region->pass;
        size_t n_linux = t->n_linux;

        if (t->n_bound > 0)
                (void) hashmap_put(p->found_names, t->keypair, t);
        if (target_detach(t) < 0)
                p->pass.counts.failed += n_linux;
        if (t->failed)
                return;
        stale_promote_listed(p->stale, t->d.region, t->keypair);
        if (p->o.memory)
                (void) discovery_memory_set(p->o.memory, t->d.region, t->keypair, t->n_bound);
}

/* ---- discovery by key pair ----------------------------------------------------------------- */

static void keypair_page_done_cb(const struct ecs_result *r, void *userdata);

static int target_describe(struct enforce_target *t) {
        struct params params = {};

        if (params_add(&params, "RegionId", t->d.region) < 0 || params_add(&params, "KeyPairName", t->keypair) < 0 ||
            params_addf(&params, "MaxResults", "%u", DISCOVERY_PAGE_SIZE) < 0 ||
            (t->next_token && params_add(&params, "NextToken", t->next_token) < 0)) {
                params_done(&params);
                return -ENOMEM;
        }
        return pass_call(&t->region->pass->pass, t->d.region, "DescribeInstances", &params, keypair_page_done_cb, t);
}

static void keypair_page_done_cb(const struct ecs_result *r, void *userdata) {
        struct enforce_target *t = userdata;
        struct enforce *p = t->region->pass;
        struct ecs_instance *a = NULL;
        char *next = NULL;
        size_t n = 0;

        if (r->error < 0 || ecsparse_instances(r->body, &a, &n, &next) < 0) {
                enforce_region_lookup_failed(t->region, "instances", r);
                t->failed = true;
                target_listed(t);
                return pass_release(&p->pass);
        }
        for (size_t i = 0; i < n; i++)
                if (streq_ptr(a[i].key_pair_name, t->keypair)) /* never trust a filter with a mutation */
                        target_take_instance(t, &a[i]);
        ecs_instances_free(a, n);
        free_and_replace_str(&t->next_token, next);
        if (!t->next_token || target_describe(t) < 0) {
                if (t->next_token) {
                        t->failed = true;
                        p->pass.counts.failed++;
                }
                target_listed(t);
        }
        pass_release(&p->pass);
}

static void region_discover_by_keypair(struct enforce_region *g) {
        g->strategy = DISCOVERY_BY_KEYPAIR;
        enforce_region_look_at_queued(g);       /* the listings by key pair no longer show them */
        for (size_t i = 0; i < g->n_targets; i++)
                if (target_describe(g->targets[i]) < 0) {
                        g->targets[i]->failed = true;
                        g->pass->pass.counts.failed++;
                }
}

/* ---- discovery by listing the region ------------------------------------------------------- */

static void listing_page_done_cb(const struct ecs_result *r, void *userdata);

static int region_list_page(struct enforce_region *g, unsigned page) {
        struct params params = {};

        if (params_add(&params, "RegionId", g->name) < 0 || params_addf(&params, "PageNumber", "%u", page) < 0 ||
            params_addf(&params, "PageSize", "%u", DISCOVERY_PAGE_SIZE) < 0) {
                params_done(&params);
                return -ENOMEM;
        }
        return pass_call(&g->pass->pass, g->name, "DescribeInstances", &params, listing_page_done_cb, g);
}

/* The whole region was listed (or some page failed): each target's listing is over. */
static void region_listed(struct enforce_region *g) {
        for (size_t i = 0; i < g->n_targets; i++) {
                g->targets[i]->failed |= g->failed;
                target_listed(g->targets[i]);
        }
        if (!g->failed && g->pass->o.memory)
                (void) discovery_memory_set(g->pass->o.memory, g->name, NULL, g->listing_seen);
}

/* The names of g's revoked key pairs (borrowed from the targets), for the discovery choice; NULL
 * on ENOMEM. */
static char **region_target_names(const struct enforce_region *g) {
        char **names = calloc(g->n_targets ? g->n_targets : 1, sizeof(char *));

        for (size_t i = 0; names && i < g->n_targets; i++)
                names[i] = g->targets[i]->keypair;
        return names;
}

/* The answer to page one: how many pages there are, and whether the listing still wins. */
static void region_first_page(struct enforce_region *g, unsigned total) {
        g->listing_pages = (unsigned) discovery_pages(total);
        g->listing_pages_left = g->listing_pages;
        if (g->strategy == DISCOVERY_PROBE) {
                _cleanup_free_ char **names = region_target_names(g);
                if (names && !discovery_listing_wins(total, discovery_keypair_pages(g->pass->o.memory, g->name,
                                                                                     names, g->n_targets))) {
                        if (g->pass->o.memory)
                                (void) discovery_memory_set(g->pass->o.memory, g->name, NULL, total);
                        return region_discover_by_keypair(g);
                }
                g->strategy = DISCOVERY_LIST_REGION;
        }
        for (unsigned page = 2; page <= g->listing_pages; page++)
                if (region_list_page(g, page) < 0) {
                        g->failed = true;
                        g->pass->pass.counts.failed++;
                        g->listing_pages_left -= g->listing_pages - page + 1;
                        break;
                }
}

/* One page of the region's listing is in (or failed); the last one ends the listing. */
static void region_page_over(struct enforce_region *g) {
        if (g->listing_pages == 0 || --g->listing_pages_left == 0)
                region_listed(g);
}

static void listing_page_done_cb(const struct ecs_result *r, void *userdata) {
        struct enforce_region *g = userdata;
        struct enforce *p = g->pass;
        struct ecs_instance *a = NULL;
        unsigned total = 0;
        char *next = NULL;
        size_t n = 0;

        if (r->error < 0 || ecsparse_instances(r->body, &a, &n, &next) < 0 ||
            ecsparse_total_count(r->body, &total) < 0 || total > DISCOVERY_REGION_MAX) {
                struct ecs_result bad = { .request_id = r->request_id, .error = -EBADMSG,
                                          .message = "unparsable or implausible DescribeInstances answer" };
                enforce_region_lookup_failed(g, "instances", r->error < 0 ? r : &bad);
                region_page_over(g);
                goto done;
        }
        if (g->listing_pages == 0)
                region_first_page(g, total);
        if (g->strategy == DISCOVERY_LIST_REGION) {
                g->listing_seen += n;
                for (size_t i = 0; i < n; i++)
                        region_take_instance(g, &a[i]);
                region_page_over(g);
        }
done:
        ecs_instances_free(a, n);
        free(next);
        pass_release(&p->pass);
}

/* ---- choosing ------------------------------------------------------------------------------ */

void enforce_region_discover(struct enforce_region *g) {
        _cleanup_free_ char **names = region_target_names(g);

        if (!names)
                return (void) log_error("Out of memory while enforcing %s", g->name);
        /* Scope=fleet contains every instance of the region: they are all listed anyway. */
        g->strategy = g->pass->o.contain && g->pass->o.contain_scope == CONF_CONTAIN_FLEET
                              ? DISCOVERY_LIST_REGION
                              : discovery_choose(g->pass->o.memory, g->name, names, g->n_targets);
        log_debug("Finding the instances of %zu key pair(s) in %s: %s", g->n_targets, g->name,
                  discovery_strategy_to_string(g->strategy));
        if (g->strategy == DISCOVERY_BY_KEYPAIR)
                return region_discover_by_keypair(g);
        if (region_list_page(g, 1) < 0) {
                g->failed = true;
                g->pass->pass.counts.failed++;
        }
}
