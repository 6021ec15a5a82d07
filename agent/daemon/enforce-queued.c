/* The instances detached earlier wait in the reboot queue, still open to the revoked key until
 * their reboot, also those detached while containment was off (or in a dry run, or before an
 * upgrade that added it): they are sent the keys containment would send them had it found them
 * bound, unless their record says those keys are contained there already (a failure is tried
 * again). A listing of the whole region shows them (enforce-discover.c asks
 * enforce_region_queued_target() about each instance bound to no revoked key pair); discovery by
 * key pair does not, so they are looked at by id, PASS_LOOK_MAX a call, only where containment
 * wants them.
 *
 * Only PENDING entries count: a DETACHING one is either detached in this pass (it was found
 * bound, and contained so) or left by a killed run and settled by this pass, then covered by the
 * next one; a REBOOTING one's reboot is under way, which ends the exposure (and would cut a
 * command off), and a reboot that fails makes it PENDING again. */
#include "base/log.h"
#include "base/strutil.h"
#include "daemon/enforce-internal.h"

/* The target of g that left e waiting for its reboot, or NULL. */
static struct enforce_target *entry_target(const struct enforce_region *g, const struct queue_entry *e) {
        /* Without its key pairs listed, the region's keys are not all known. */
        if (!g->keypairs_listed || e->state != QUEUE_PENDING || !streq(e->region, g->name))
                return NULL;
        return hashmap_get(g->by_name, e->keypair);
}

struct enforce_target *enforce_region_queued_target(const struct enforce_region *g, const char *instance_id) {
        const struct queue_entry *e = state_find(g->pass->pass.state, instance_id);

        return e ? entry_target(g, e) : NULL;
}

/* Whether e is an instance of g that containment has not covered with the current keys. */
static bool entry_wanted(const struct enforce_region *g, const struct queue_entry *e) {
        struct enforce_target *t = entry_target(g, e);

        return t && contain_wants(g->pass->o.contain, e->instance_id, enforce_target_contain_runs(t));
}

static void look_done_cb(const struct ecs_result *r, void *userdata) {
        struct enforce_region *g = userdata;
        struct ecs_instance *a = NULL;
        char *next = NULL;
        size_t n = 0;

        if (r->error < 0 || ecsparse_instances(r->body, &a, &n, &next) < 0)
                log_warning("Could not look at the instances of %s waiting for their reboot, to contain them: %s "
                            "(request %s; looked at again at the next pass)",
                            g->name, pass_error_name(r), r->request_id ? r->request_id : "none");
        /* Those not shown are gone: the reboot scheduler settles them. */
        for (size_t i = 0; i < n; i++) {
                struct enforce_target *t = enforce_region_queued_target(g, a[i].instance_id);
                if (t)
                        enforce_region_contain(g, &a[i], t);
        }
        ecs_instances_free(a, n);
        free(next);
        pass_release(&g->pass->pass);
}

void enforce_region_look_at_queued(struct enforce_region *g) {
        struct pass *pass = &g->pass->pass;
        char *ids[PASS_LOOK_MAX];
        struct queue_entry *e;
        size_t n = 0, i = 0;
        bool more = true;

        if (!g->pass->o.contain)
                return;
        while (more) {
                more = state_iterate(pass->state, &i, &e);
                if (more && entry_wanted(g, e))
                        ids[n++] = e->instance_id;      /* copied by the call */
                if (n == PASS_LOOK_MAX || (!more && n > 0)) {
                        (void) pass_look(pass, g->name, ids, n, look_done_cb, g);
                        n = 0;
                }
        }
}
