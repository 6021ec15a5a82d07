/* The key pairs of a region: DescribeKeyPairs paged to the end (the other pages go out once page
 * one tells how many there are), the ones deleted there added (retire.c), and what the pass asks
 * of the listing: the entries matched against it (names, public keys, fingerprints), the names
 * it shows, a key pair it showed. */
#include "base/log.h"
#include "base/strutil.h"
#include "daemon/enforce-internal.h"

#define ENFORCE_KEYPAIR_PAGE_SIZE 50U
/* A DescribeKeyPairs TotalCount above this is not believed (and not paged). */
#define ENFORCE_KEYPAIR_MAX 100000U

static void keypairs_done_cb(const struct ecs_result *r, void *userdata);

bool enforce_region_needs_public_keys(const struct enforce_region *g) {
        return g->pass->o.contain || g->pass->o.delete_keypairs || planner_needs_public_keys(g->entries, g->n_entries);
}

/* The listing is complete: the key pairs deleted here join it, so that their names still match. */
static void region_keypairs_listed(struct enforce_region *g) {
        g->n_listed_keypairs = g->n_keypairs;
        if (g->pass->o.retire && retire_extend_keypairs(g->pass->o.retire, g->name, &g->keypairs, &g->n_keypairs) < 0)
                log_error("Out of memory while adding the key pairs deleted in %s", g->name);
}

int enforce_region_list_keypairs(struct enforce_region *g, unsigned page) {
        struct params params = {};
        int r;

        if (params_add(&params, "RegionId", g->name) < 0 || params_addf(&params, "PageNumber", "%u", page) < 0 ||
            params_addf(&params, "PageSize", "%u", ENFORCE_KEYPAIR_PAGE_SIZE) < 0 ||
            (enforce_region_needs_public_keys(g) && params_add(&params, "IncludePublicKey", "true") < 0)) {
                params_done(&params);
                return -ENOMEM;
        }
        r = pass_call(&g->pass->pass, g->name, "DescribeKeyPairs", &params, keypairs_done_cb, g);
        if (r < 0)
                return r;
        g->keypair_pages_left++;
        return 0;
}

static int region_append_keypairs(struct enforce_region *g, struct ecs_keypair *kp, size_t n) {
        struct ecs_keypair *all = reallocarray(g->keypairs, g->n_keypairs + n, sizeof(*all));

        if (!all)
                return -ENOMEM;
        if (n > 0)
                memcpy(all + g->n_keypairs, kp, n * sizeof(*kp));
        g->keypairs = all;
        g->n_keypairs += n;
        free(kp);
        return 0;
}

/* Page one told how many key pairs there are: the other pages go out at once. */
static void region_keypair_pages(struct enforce_region *g, unsigned total) {
        g->keypair_pages = total == 0 ? 1 : (total + ENFORCE_KEYPAIR_PAGE_SIZE - 1) / ENFORCE_KEYPAIR_PAGE_SIZE;
        for (unsigned page = 2; page <= g->keypair_pages; page++)
                if (enforce_region_list_keypairs(g, page) < 0) {
                        g->keypairs_failed = true;
                        g->pass->pass.counts.failed++;
                        break;
                }
}

static void keypairs_done_cb(const struct ecs_result *r, void *userdata) {
        struct enforce_region *g = userdata;
        struct enforce *p = g->pass;
        struct ecs_keypair *kp = NULL;
        unsigned total = 0;
        size_t n = 0;

        g->keypair_pages_left--;
        if (r->error < 0 || ecsparse_keypairs(r->body, &kp, &n, &total) < 0 || total > ENFORCE_KEYPAIR_MAX) {
                struct ecs_result bad = { .request_id = r->request_id, .error = -EBADMSG,
                                          .message = "unparsable or implausible DescribeKeyPairs answer" };
                /* After discovery the key pairs only tell a missing name from one without
                 * instances: everything here was enforced all the same. */
                if (p->phase == PHASE_DISCOVER)
                        enforce_region_lookup_failed(g, "key pairs", r->error < 0 ? r : &bad);
                else
                        log_warning("Could not list key pairs in %s to tell whether names bound to no instance "
                                    "exist: %s", g->name, pass_error_name(r->error < 0 ? r : &bad));
                g->keypairs_failed = true;
        } else if (region_append_keypairs(g, kp, n) < 0) {
                ecs_keypairs_free(kp, n);
                g->keypairs_failed = true;
                p->pass.counts.failed++;
                log_error("Out of memory while listing key pairs in %s", g->name);
        } else if (g->keypair_pages == 0)
                region_keypair_pages(g, total);
        if (g->keypair_pages_left == 0) {
                g->keypairs_listed = !g->keypairs_failed;
                if (g->keypairs_listed)
                        region_keypairs_listed(g);
                /* Without its key pairs a region still has its names to enforce. */
                if (p->phase == PHASE_DISCOVER)
                        enforce_region_start_targets(g);
        }
        pass_release(&p->pass);
}

int enforce_region_match_keypairs(struct enforce_region *g, struct planner_target **ret, size_t *ret_n) {
        if (g->keypairs_listed)
                return planner_match_keypairs(g->entries, g->n_entries, g->keypairs, g->n_keypairs, g->name_found,
                                              ret, ret_n);
        return planner_name_targets(g->entries, g->n_entries, ret, ret_n);
}

void enforce_region_note_keypair_names(struct enforce_region *g) {
        for (size_t i = 0; g->keypairs_listed && i < g->n_keypairs; i++)
                (void) hashmap_put(g->pass->found_names, g->keypairs[i].name, g);
}

const struct ecs_keypair *enforce_region_listed_keypair(const struct enforce_region *g, const char *name) {
        for (size_t i = 0; i < g->n_listed_keypairs; i++)
                if (streq(g->keypairs[i].name, name))
                        return &g->keypairs[i];
        return NULL;
}
