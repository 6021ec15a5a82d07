/* The looks at queued instances before and after their reboot: DescribeInstances for the entries
 * of one region, the pre-reboot check of PENDING entries and the follow-up of REBOOTING ones. The
 * verdicts go to the scheduler (reboot.c), which acts on the queue. */
#include <assert.h>

#include "base/list.h"
#include "base/log.h"
#include "daemon/reboot-look.h"
#include "logic/ecsparse.h"

/* How long a reboot the API accepted may take to show in DescribeInstances. */
#define REBOOT_SHOW_USEC (20 * USEC_PER_SEC)
#define REBOOT_DESCRIBE_MAX 100

struct reboot_look {
        struct reboot_look_options o;
        struct look *in_flight;         /* looks sent, not answered yet */
        unsigned calls;
};

/* One DescribeInstances call about several queue entries of one region. */
struct look {
        struct look *prev, *next;       /* in reboot_look.in_flight once sent */
        struct reboot_look *owner;
        bool follow;                    /* following REBOOTING entries, else prechecking PENDING */
        char *region;
        char **ids;
        size_t n;
};

static void look_free(struct look *k) {
        for (size_t i = 0; i < k->n; i++)
                free(k->ids[i]);
        free(k->ids);
        free(k->region);
        free(k);
}

/* How long a reboot may leave no trace before it counts as done (accepted: StartTime has minute
 * precision) or as not sent. An unanswered request may still reach the API until its last
 * attempt's timeout, and the attempts are not known after a restart: concluding "not sent" too
 * early would reboot twice. */
static uint64_t reboot_grace_usec(const struct queue_entry *e, const struct conf *c) {
        if (e->reboot_accepted)
                return REBOOT_SHOW_USEC;
        return REBOOT_SHOW_USEC + (uint64_t) (c->max_retries + 1) * c->request_timeout_usec;
}

static void follow_one(struct reboot_look *l, struct queue_entry *e, const struct ecs_instance *i) {
        uint64_t now = 0;
        struct planner_follow_input in;

        (void) sd_event_now(l->o.event, CLOCK_REALTIME, &now);
        in = (struct planner_follow_input) {
                .instance = i,
                .start_time_before = e->start_time_before,
                .accepted = e->reboot_accepted,
                .seen_down = e->seen_down,
                .elapsed_usec = now - MIN(e->reboot_started_usec, now),
                .health_timeout_usec = l->o.conf->health_timeout_usec,
                .grace_usec = reboot_grace_usec(e, l->o.conf),
        };
        l->o.follow_cb(e, i, planner_reboot_follow(&in), l->o.userdata);
}

/* Judges the entries of k by the n instances of the answer (ok: it could be read). */
static void look_judge(struct reboot_look *l, const struct look *k, bool ok, const struct ecs_instance *a, size_t n) {
        for (size_t j = 0; j < k->n; j++) {
                struct queue_entry *e = state_find(l->o.state, k->ids[j]);
                const struct ecs_instance *i;
                if (!e)
                        continue;
                e->busy = false;
                if (!ok)
                        continue;
                i = ecs_instances_find(a, n, k->ids[j]);
                if (k->follow && e->state == QUEUE_REBOOTING)
                        follow_one(l, e, i);
                else if (!k->follow && e->state == QUEUE_PENDING)
                        l->o.precheck_cb(e, i, planner_reboot_precheck(i), l->o.userdata);
        }
}

static void look_done_cb(const struct ecs_result *res, void *userdata) {
        struct look *k = userdata;
        struct reboot_look *l = k->owner;
        struct ecs_instance *a = NULL;
        char *next = NULL;
        size_t n = 0;
        bool ok = res->error == 0 && ecsparse_instances(res->body, &a, &n, &next) >= 0, follow = k->follow;

        if (!ok)
                log_warning("Could not look at instances in %s: %s%s%s (trying again)", k->region,
                            strempty(res->code), res->code ? ": " : "", strempty(res->message));
        look_judge(l, k, ok, a, n);
        ecs_instances_free(a, n);
        free(next);
        LIST_REMOVE(l->in_flight, k);
        look_free(k);
        l->calls--;
        l->o.done_cb(ok, follow, l->o.userdata);
}

/* Sends one DescribeInstances for the entries of k (all of one region). */
static void look_send(struct reboot_look *l, struct look *k) {
        struct params params = {};

        if (params_add(&params, "RegionId", k->region) < 0 || params_add_id_array(&params, "InstanceIds", k->ids, k->n) < 0 ||
            params_addf(&params, "MaxResults", "%d", REBOOT_DESCRIBE_MAX) < 0 ||
            ecs_call(l->o.ecs, k->region, "DescribeInstances", &params, look_done_cb, k) < 0) {
                params_done(&params);
                look_free(k);
                return (void) log_error("Failed to look at instances: out of memory");
        }
        for (size_t i = 0; i < k->n; i++) {
                struct queue_entry *e = state_find(l->o.state, k->ids[i]);
                if (e)
                        e->busy = true;
        }
        LIST_PREPEND(l->in_flight, k);
        l->calls++;
}

void reboot_look_add(struct reboot_look *l, struct hashmap *gathered, bool follow, struct queue_entry *e) {
        struct look *k = hashmap_get(gathered, e->region);

        if (!k) {
                k = calloc(1, sizeof(*k));
                if (!k || !(k->region = strdup(e->region)) || !(k->ids = calloc(REBOOT_DESCRIBE_MAX, sizeof(char *))) ||
                    hashmap_put(gathered, k->region, k) < 0) {
                        if (k) {
                                free(k->region);
                                free(k->ids);
                        }
                        free(k);
                        return;
                }
                *k = (struct look) { .owner = l, .follow = follow, .region = k->region, .ids = k->ids };
        }
        if (!(k->ids[k->n] = strdup(e->instance_id)))
                return;
        if (++k->n == REBOOT_DESCRIBE_MAX) {
                (void) hashmap_remove(gathered, k->region);
                look_send(l, k);
        }
}

void reboot_look_send_all(struct reboot_look *l, struct hashmap *gathered) {
        struct look *k;
        size_t i = 0;

        while (hashmap_iterate(gathered, &i, NULL, (void **) &k))
                look_send(l, k);
}

int reboot_look_new(const struct reboot_look_options *o, struct reboot_look **ret) {
        struct reboot_look *l = calloc(1, sizeof(*l));

        if (!l)
                return -ENOMEM;
        l->o = *o;
        *ret = l;
        return 0;
}

struct reboot_look *reboot_look_free(struct reboot_look *l) {
        if (!l)
                return NULL;
        /* Looks cancelled with their client (ecs_free()) were never answered. */
        while (l->in_flight) {
                struct look *k = l->in_flight;
                LIST_REMOVE(l->in_flight, k);
                look_free(k);
        }
        free(l);
        return NULL;
}

unsigned reboot_look_calls_in_flight(const struct reboot_look *l) {
        return l->calls;
}

void reboot_look_set_client(struct reboot_look *l, struct ecs *ecs, const struct conf *conf) {
        assert(l->calls == 0);
        l->o.ecs = ecs;
        l->o.conf = conf;
}
