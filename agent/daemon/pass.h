/* What the parts of one enforcement pass share: its options, its counts, the calls in flight. */
#pragma once

#include <systemd/sd-event.h>

#include "io/ecs.h"
#include "io/state.h"
#include "io/warned.h"
#include "logic/planner.h"

struct pass;

/* Runs once when the last hold on the pass is released. */
typedef void (*pass_finish_fn)(struct pass *p);

struct pass {
        struct ecs *ecs;
        struct state *state;            /* the reboot queue; saved before every DetachKeyPair */
        sd_event *event;
        bool dry_run;
        struct warned *warned;          /* Windows instances reported before; NULL: report at every pass */
        struct planner_counts counts;
        unsigned holds;                 /* ECS calls in flight and other work that keeps it open */
        pass_finish_fn finish;
};

/* Queues an ECS call that holds the pass until its callback calls pass_release() (params are
 * taken over); -errno (logged) when it could not be queued, and then nothing is held. */
int pass_call(struct pass *p, const char *region, const char *action, struct params *params, ecs_done_cb cb,
              void *userdata);

/* InstanceIds one DescribeInstances look takes (the API's limit). */
#define PASS_LOOK_MAX 100U

/* Looks at instances of region by id: one DescribeInstances (n <= PASS_LOOK_MAX ids, copied) that
 * holds the pass like pass_call(); -EINVAL for no ids, -errno when it could not be queued. */
int pass_look(struct pass *p, const char *region, char *const *ids, size_t n, ecs_done_cb cb, void *userdata);

/* Like pass_call(), for another API than ECS's (Auto Scaling). */
int pass_call_service(struct pass *p, enum ecs_service s, const char *region, const char *action,
                      struct params *params, ecs_done_cb cb, void *userdata);

/* Keeps the pass open for work that is not an ECS call (a deferred group commit, say). */
void pass_hold(struct pass *p);

/* Ends one hold; the last one runs p->finish (which may free the pass). */
void pass_release(struct pass *p);

/* A Windows instance of region bound to keypair was found: true when its skipped-windows event is
 * due (first time seen, a dry run, or no record), false when it was reported before. */
bool pass_windows_report_due(struct pass *p, const char *region, const char *instance, const char *keypair);

/* Realtime now, as the event loop saw it. */
uint64_t pass_now(const struct pass *p);

/* KEYREVOKE_ERROR= of a failed call: the API's code, the errno name, or "unparsable-answer". */
const char *pass_error_name(const struct ecs_result *r);
