/* Intents a killed run left DETACHING, settled by evidence only. */
#include "base/hashmap.h"
#include "base/log.h"
#include "base/strutil.h"
#include "daemon/stale.h"
#include "io/report.h"
#include "logic/ecsparse.h"

struct stale {
        struct pass *pass;
        struct hashmap *by_instance;    /* instance id -> its queue entry */
        stale_region_failed_fn region_failed;
        void *userdata;
};

/* One DescribeInstances by InstanceIds in one region. */
struct look {
        struct stale *stale;
        char *region;
        char **ids;
        size_t n;
};

int stale_new(struct pass *pass, struct stale **ret) {
        _cleanup_(stale_freep) struct stale *s = calloc(1, sizeof(*s));
        struct queue_entry *e;
        size_t i = 0;

        if (!s || hashmap_new(&s->by_instance) < 0)
                return -ENOMEM;
        s->pass = pass;
        while (!pass->dry_run && state_iterate(pass->state, &i, &e))
                if (e->state == QUEUE_DETACHING && hashmap_put(s->by_instance, e->instance_id, e) < 0)
                        return -ENOMEM;
        *ret = TAKE_PTR(s);
        return 0;
}

struct stale *stale_free(struct stale *s) {
        if (s) {
                hashmap_free(s->by_instance);
                free(s);
        }
        return NULL;
}

struct queue_entry *stale_take(struct stale *s, const char *instance_id) {
        return hashmap_remove(s->by_instance, instance_id);
}

/* An intent whose instance no longer carries its key pair: the detach happened. */
static void stale_promote(struct stale *s, struct queue_entry *e, const char *how) {
        struct event_fields f = { .keypair = e->keypair, .region = e->region, .instance = e->instance_id,
                                  .reason = e->reason, .list = e->list, .line = e->line };

        (void) hashmap_remove(s->by_instance, e->instance_id);
        s->pass->counts.detached++;
        s->pass->counts.newly_queued++;
        e->detached_usec = pass_now(s->pass);
        state_set(s->pass->state, e, QUEUE_PENDING);
        report_event(EVENT_DETACHED, &f, "Detached key pair '%s' from %s in %s (confirmed after a restart: %s)",
                     e->keypair, e->instance_id, e->region, how);
        report_event(EVENT_REBOOT_QUEUED, &f, "Queued %s for a reboot: the detach takes effect at its next boot",
                     e->instance_id);
}

/* An intent whose instance is gone, or whose key pair is not revoked any more: the detach did not
 * happen and is not wanted. */
static void stale_drop(struct stale *s, struct queue_entry *e) {
        (void) hashmap_remove(s->by_instance, e->instance_id);
        state_remove(s->pass->state, e);
}

void stale_promote_listed(struct stale *s, const char *region, const char *keypair) {
        struct queue_entry *e;
        size_t i = 0;

        while (hashmap_iterate(s->by_instance, &i, NULL, (void **) &e))
                if (streq(e->region, region) && streq(e->keypair, keypair)) {
                        stale_promote(s, e, "its key pair's instances were listed");
                        i = 0; /* the map changed under the iteration */
                }
}

/* ---- looking at what no listing settled ---------------------------------------------------- */

static void look_free(struct look *l) {
        for (size_t i = 0; i < l->n; i++)
                free(l->ids[i]);
        free(l->ids);
        free(l->region);
        free(l);
}

/* What one look at an intent's instance shows. */
static void look_settle(struct stale *s, struct queue_entry *e, const struct ecs_instance *i) {
        if (!i)
                return stale_drop(s, e);
        if (!streq_ptr(i->key_pair_name, e->keypair))
                return stale_promote(s, e, "the instance no longer carries it");
        /* Still bound. Where its key pair could not be listed it is still to be detached. */
        if (s->region_failed(e->region, s->userdata)) {
                (void) hashmap_remove(s->by_instance, e->instance_id);
                s->pass->counts.failed++;
                return;
        }
        /* Its key pair is not revoked any more: the detach was never made and is not wanted. */
        stale_drop(s, e);
}

static void look_done_cb(const struct ecs_result *r, void *userdata) {
        struct look *l = userdata;
        struct stale *s = l->stale;
        struct pass *pass = s->pass;
        struct ecs_instance *a = NULL;
        char *next = NULL;
        size_t n = 0;

        if (r->error < 0 || ecsparse_instances(r->body, &a, &n, &next) < 0) {
                /* No evidence: the intents stay DETACHING for the next pass. */
                pass->counts.failed += l->n;
                log_error("Could not look at %zu instance(s) in %s left detaching by an earlier run: %s", l->n,
                          l->region, pass_error_name(r));
        } else
                for (size_t i = 0; i < l->n; i++) {
                        struct queue_entry *e = hashmap_get(s->by_instance, l->ids[i]);
                        if (e)
                                look_settle(s, e, ecs_instances_find(a, n, l->ids[i]));
                }
        ecs_instances_free(a, n);
        free(next);
        look_free(l);
        pass_release(pass);
}

/* The look of region with room for one more id among looks[], or a new one appended; NULL on
 * ENOMEM. */
static struct look *look_for(struct stale *s, struct look ***looks, size_t *n, const char *region) {
        struct look *l, **a;

        for (size_t i = 0; i < *n; i++)
                if (streq((*looks)[i]->region, region) && (*looks)[i]->n < PASS_LOOK_MAX)
                        return (*looks)[i];
        a = reallocarray(*looks, *n + 1, sizeof(*a));
        if (!a)
                return NULL;
        *looks = a;
        l = calloc(1, sizeof(*l));
        if (!l || !(l->region = strdup(region)) || !(l->ids = calloc(PASS_LOOK_MAX, sizeof(char *)))) {
                if (l)
                        free(l->region);
                free(l);
                return NULL;
        }
        l->stale = s;
        a[(*n)++] = l;
        return l;
}

void stale_look_at_rest(struct stale *s, stale_region_failed_fn region_failed, void *userdata) {
        _cleanup_free_ struct look **looks = NULL;
        struct queue_entry *e;
        size_t n = 0, i = 0;

        s->region_failed = region_failed;
        s->userdata = userdata;
        while (hashmap_iterate(s->by_instance, &i, NULL, (void **) &e)) {
                struct look *l = look_for(s, &looks, &n, e->region);
                if (!l || !(l->ids[l->n] = strdup(e->instance_id))) {
                        s->pass->counts.failed++;
                        log_error("Out of memory while looking at %s, left detaching by an earlier run", e->instance_id);
                        continue;
                }
                l->n++;
        }
        for (size_t k = 0; k < n; k++)
                if (pass_look(s->pass, looks[k]->region, looks[k]->ids, looks[k]->n, look_done_cb, looks[k]) < 0) {
                        s->pass->counts.failed += (unsigned) looks[k]->n;
                        look_free(looks[k]);
                }
}
