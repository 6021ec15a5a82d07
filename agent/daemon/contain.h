/* Containment: the revoked keys stop working on running Linux instances at once, through Cloud
 * Assistant (DescribeCloudAssistantStatus, RunCommand, DescribeInvocationResults), alongside the
 * detaches and independent of them. Every intent is recorded before its call, so a restart neither
 * loses nor repeats a command. */
#pragma once

#include <systemd/sd-event.h>

#include "io/contained.h"
#include "io/ecs.h"
#include "io/report.h"
#include "io/state.h"
#include "logic/conf.h"
#include "logic/contain.h"

struct contain;

typedef void (*contain_idle_cb)(struct contain *c, void *userdata);
typedef void (*contain_drained_cb)(struct contain *c, void *userdata);

struct contain_options {
        struct ecs *ecs;                /* borrowed; replaced with contain_reconfigure() */
        sd_event *event;
        struct contained *record;       /* persisted; must outlive the containment */
        const struct state *queue;      /* the reboot queue, for the key pair and reason in the events
                                         * of a resumed command; may be NULL */
        uint64_t timeout_usec;          /* TimeoutSec= of the command on the instance */
        bool dry_run;
        contain_idle_cb idle_cb;        /* when the last command in flight is final; may be NULL */
        contain_drained_cb drained_cb;  /* when no ECS call is in flight any more; may be NULL */
        void *userdata;
};

/* Starts containment; intents a killed run left open are sent again or followed from here. */
int contain_new(const struct contain_options *o, struct contain **ret);
/* Frees c; calls in flight must have been cancelled with their client (ecs_free()). */
struct contain *contain_free(struct contain *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct contain *, contain_free);

/* Instance id of region was found exposed to keys ("TYPE BLOB" strings, copied; more than one
 * run: sent all of them one after the other, the next as soon as one is proved, contained when
 * the last is); why gives the key pair and entry for its events. Sent the command unless its
 * record says this key set is already contained there; a set sent in part goes on at the run
 * after the last one proved. -ENOMEM. */
int contain_instance(struct contain *c, const char *region, const struct contain_runs *keys, const char *id,
                     const struct event_fields *why);

/* Whether contain_instance() would send id these keys: some keys, and neither in a batch already
 * nor contained (or being contained) with this key set by its record, all its runs. */
bool contain_wants(const struct contain *c, const char *id, const struct contain_runs *keys);

/* The instance waits for or runs the command: its reboot waits too (a reboot would cut the
 * command off and leave the key in place until the instance is up again). */
bool contain_holds(const struct contain *c, const char *instance_id);

/* No call in flight and nothing waiting to be sent. */
bool contain_idle(const struct contain *c);

/* Instances contained (for the pass summary) and failed since the last call. */
void contain_take_counts(struct contain *c, unsigned *ret_contained, unsigned *ret_failed);

/* Paused, no new call starts from a timer or from what contain_instance() collected (an answer
 * may still lead to one more call): the way to let the calls in flight drain. */
void contain_pause(struct contain *c, bool pause);

/* ECS calls in flight: the client may be replaced only when there are none. */
unsigned contain_calls_in_flight(const struct contain *c);

/* After a reload: the new client (no call may be in flight) and TimeoutSec= for the commands sent
 * from now on (those sent already keep theirs). */
void contain_reconfigure(struct contain *c, struct ecs *ecs, uint64_t timeout_usec);
