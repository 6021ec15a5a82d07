/* The reboot scheduler: reboots queued instances inside maintenance windows, crash-safely. */
#pragma once

#include <systemd/sd-event.h>

#include "daemon/contain.h"
#include "io/ecs.h"
#include "io/state.h"
#include "logic/conf.h"

struct reboot;

/* Called when nothing is in flight and no further reboot can start now (--once ends then; the
 * service brings its status up to date). */
typedef void (*reboot_idle_cb)(struct reboot *r, void *userdata);
/* Called when the last ECS call of the scheduler in flight has ended. */
typedef void (*reboot_drained_cb)(struct reboot *r, void *userdata);

struct reboot_options {
        sd_event *event;
        struct ecs *ecs;                /* borrowed; replaced with reboot_set_client() */
        struct state *state;            /* borrowed */
        const struct conf *conf;        /* borrowed; replaced with reboot_set_client() */
        const struct contain *contain;  /* borrowed, NULL without containment: holds reboots back;
                                         * replaced with reboot_set_client() */
        bool dry_run;
        reboot_idle_cb idle_cb;         /* NULL when not wanted */
        reboot_drained_cb drained_cb;   /* NULL when not wanted */
        void *userdata;
};

int reboot_new(const struct reboot_options *o, struct reboot **ret);

/* Frees the scheduler; calls in flight must have been abandoned (ecs_free) first. */
struct reboot *reboot_free(struct reboot *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct reboot *, reboot_free);

/* Looks at the queue and the windows now: starts what may start, arms the timers. */
void reboot_kick(struct reboot *r);

/* After a reload: the new client and config (no call of this scheduler may be in flight), and
 * the containment whose holds reboots wait for (NULL: none). */
void reboot_set_client(struct reboot *r, struct ecs *ecs, const struct conf *conf, const struct contain *contain);

/* Paused, no new call starts (answers are still taken): the way to let the calls drain. */
void reboot_pause(struct reboot *r, bool pause);

/* Calls of the scheduler in flight. */
unsigned reboot_calls_in_flight(const struct reboot *r);

/* Reboots that failed since start (reboot-failed events). */
unsigned reboot_failures(const struct reboot *r);

/* Formats "open now", "Sat 2026-11-28 02:00 UTC", "never" or why MaxFailures closed it, for STATUS=. */
void reboot_describe_next_window(const struct reboot *r, char *buf, size_t size);
