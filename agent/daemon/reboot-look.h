/* The looks at queued instances before and after their reboot: DescribeInstances for the entries
 * of one region, the pre-reboot check of PENDING entries and the follow-up of REBOOTING ones. The
 * verdicts go to the scheduler (reboot.c), which acts on the queue. */
#pragma once

#include <systemd/sd-event.h>

#include "base/hashmap.h"
#include "io/ecs.h"
#include "io/state.h"
#include "logic/conf.h"
#include "logic/planner.h"

struct reboot_look;

/* The verdict about e, which is still in the state it was looked at for; i is its instance, NULL
 * when the answer does not show it. */
typedef void (*reboot_look_precheck_cb)(struct queue_entry *e, const struct ecs_instance *i,
                                        enum planner_precheck verdict, void *userdata);
typedef void (*reboot_look_follow_cb)(struct queue_entry *e, const struct ecs_instance *i,
                                      enum planner_follow verdict, void *userdata);
/* One answer's entries are judged (ok: it could be read; follow: it followed reboots). */
typedef void (*reboot_look_done_cb)(bool ok, bool follow, void *userdata);

struct reboot_look_options {
        sd_event *event;
        struct ecs *ecs;                /* borrowed; replaced with reboot_look_set_client() */
        struct state *state;            /* borrowed */
        const struct conf *conf;        /* borrowed; replaced with reboot_look_set_client() */
        reboot_look_precheck_cb precheck_cb;
        reboot_look_follow_cb follow_cb;
        reboot_look_done_cb done_cb;
        void *userdata;
};

int reboot_look_new(const struct reboot_look_options *o, struct reboot_look **ret);
/* Frees l and the looks its client cancelled (ecs_free() first). */
struct reboot_look *reboot_look_free(struct reboot_look *l);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct reboot_look *, reboot_look_free);

/* Adds e to the look of its region in gathered (a hashmap the caller frees), sent at once when
 * full; follow: e is REBOOTING and followed, else PENDING and prechecked. */
void reboot_look_add(struct reboot_look *l, struct hashmap *gathered, bool follow, struct queue_entry *e);
/* Sends the looks left in gathered. */
void reboot_look_send_all(struct reboot_look *l, struct hashmap *gathered);

/* DescribeInstances calls in flight. */
unsigned reboot_look_calls_in_flight(const struct reboot_look *l);

/* After a reload: the new client and config (no look may be in flight). */
void reboot_look_set_client(struct reboot_look *l, struct ecs *ecs, const struct conf *conf);
