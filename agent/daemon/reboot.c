/* The reboot scheduler: reboots queued instances inside maintenance windows, crash-safely. The
 * looks at an instance before and after its reboot are in reboot-look.c; this file acts on them. */
#include <assert.h>
#include <sys/timerfd.h>
#include <time.h>

#include "base/hashmap.h"
#include "base/list.h"
#include "base/log.h"
#include "daemon/reboot-look.h"
#include "daemon/reboot.h"
#include "io/report.h"
#include "logic/failgate.h"
#include "logic/planner.h"
#include "logic/window.h"

/* How often instances being rebooted are looked at. */
#define REBOOT_POLL_USEC (3 * USEC_PER_SEC)
#define REBOOT_WINDOW_ACCURACY_USEC USEC_PER_SEC

struct reboot {
        struct reboot_options o;
        sd_event_source *poll_source;   /* CLOCK_MONOTONIC, armed while something is in flight */
        sd_event_source *window_source; /* CLOCK_REALTIME, absolute: the next window change */
        sd_event_source *clock_source;  /* fires when the system clock is set */
        bool clock_unwatched;           /* re-arming it failed: tried again at every kick */
        unsigned calls;                 /* RebootInstance calls in flight */
        bool paused;                    /* reboot_pause(): no new call starts */
        unsigned failures_in_window;
        uint64_t window_start_usec;     /* the window the failures are counted for */
        struct failgate failgate;       /* CLOCK_BOOTTIME: failures over a sliding hour (failgate.h) */
        sd_event_source *reopen_source; /* CLOCK_BOOTTIME: when that gate opens again */
        uint64_t reopens_usec;          /* CLOCK_REALTIME of that, for STATUS=; 0 when not closed so */
        bool gate_closed_said;          /* the MaxFailures closing was logged */
        unsigned failures;
        struct hashmap *announced;      /* dry-run: instance ids already reported as would-reboot */
        struct reboot_look *look;       /* the looks at instances before and after their reboot */
        struct reboot_call *in_flight;  /* reboot calls sent, not answered yet */
};

/* One RebootInstance call: reboot_free() frees those its client cancelled. */
struct reboot_call {
        struct reboot_call *prev, *next;
        struct reboot *r;
        char *instance_id;
};

static void reboot_call_free(struct reboot_call *c) {
        free(c->instance_id);
        free(c);
}

static uint64_t reboot_now(const struct reboot *r) {
        uint64_t now = 0;
        (void) sd_event_now(r->o.event, CLOCK_REALTIME, &now);
        return now;
}

/* Elapsed time for the sliding hour: setting the clock moves neither way, a suspend counts. */
static uint64_t reboot_boottime(const struct reboot *r) {
        uint64_t now = 0;
        (void) sd_event_now(r->o.event, CLOCK_BOOTTIME, &now);
        return now;
}

static struct event_fields entry_fields(const struct reboot *r, const struct queue_entry *e, const char *request_id,
                                        const char *error) {
        return (struct event_fields) {
                .keypair = e->keypair,
                .region = e->region,
                .instance = e->instance_id,
                .request_id = request_id,
                .error = error,
                .reason = e->reason,
                .dry_run = r->o.dry_run,
        };
}

static void save_state(struct reboot *r) {
        int k = state_save(r->o.state);
        if (k < 0)
                log_error_errno(k, "Failed to save the reboot queue in %s: %m", r->o.state->directory);
}

/* ---- outcomes ------------------------------------------------------------------------------ */

static void entry_done(struct reboot *r, struct queue_entry *e, const char *outcome) {
        /* Without memory the outcome is lost, not the entry: it is done either way. */
        (void) state_set_text(r->o.state, &e->outcome, outcome);
        e->done_usec = reboot_now(r);
        state_set(r->o.state, e, QUEUE_DONE);
}

static void entry_skipped(struct reboot *r, struct queue_entry *e, const char *why, const char *request_id) {
        struct event_fields f = entry_fields(r, e, request_id, NULL);

        /* KEYREVOKE_SKIP says why; KEYREVOKE_REASON stays the entry's reason=, as in its other events. */
        f.skip = why;

        entry_done(r, e, why);
        report_event(EVENT_REBOOT_SKIPPED, &f, "Not rebooting %s: %s%s", e->instance_id, why,
                     streq(why, "stopped") ? " (it takes the change at its next boot)" : "");
}

static void entry_failed(struct reboot *r, struct queue_entry *e, const char *error, const char *request_id,
                         const char *message) {
        struct event_fields f = entry_fields(r, e, request_id, error);

        r->failures++;
        r->failures_in_window++;
        failgate_record(&r->failgate, reboot_boottime(r));
        e->reboot_failures++;
        report_event(EVENT_REBOOT_FAILED, &f, "Reboot of %s failed: %s", e->instance_id, message);
}

static void entry_requeue(struct reboot *r, struct queue_entry *e) {
        e->reboot_accepted = false;
        e->seen_down = false;
        state_set(r->o.state, e, QUEUE_PENDING);
}

/* ---- acting on the looks ------------------------------------------------------------------- */

static void reboot_call_done_cb(const struct ecs_result *res, void *userdata);
static void settle(struct reboot *r);

/* ECS calls in flight: RebootInstance and looks. */
static unsigned calls_in_flight(const struct reboot *r) {
        return r->calls + reboot_look_calls_in_flight(r->look);
}

/* The last call in flight ended: the client may be replaced now. */
static void notify_drained(struct reboot *r) {
        if (calls_in_flight(r) == 0 && r->o.drained_cb)
                r->o.drained_cb(r, r->o.userdata);
}
static bool may_start_now(struct reboot *r);
static void start_due_if_open(struct reboot *r);

static void start_reboot(struct reboot *r, struct queue_entry *e, const struct ecs_instance *i) {
        struct reboot_call *c = calloc(1, sizeof(*c));
        struct params params = {};
        /* Without the StartTime before the call, any look afterwards would seem a restart. */
        int noted = state_set_text(r->o.state, &e->start_time_before, i->start_time);

        e->reboot_started_usec = reboot_now(r);
        e->reboot_accepted = false;
        e->seen_down = false;
        state_set(r->o.state, e, QUEUE_REBOOTING);
        /* The intent is on disk before the call: a restart never reboots twice for one detach. */
        if (noted < 0 || !c || !(c->instance_id = strdup(e->instance_id)) || state_save(r->o.state) < 0 ||
            params_add(&params, "InstanceId", e->instance_id) < 0 ||
            params_add(&params, "ForceStop", r->o.conf->force_stop ? "true" : "false") < 0) {
                params_done(&params);
                if (c)
                        free(c->instance_id);
                free(c);
                entry_requeue(r, e);
                log_error("Not rebooting %s now: cannot persist the intent or out of memory", e->instance_id);
                return;
        }
        c->r = r;
        if (ecs_call(r->o.ecs, e->region, "RebootInstance", &params, reboot_call_done_cb, c) < 0) {
                reboot_call_free(c);
                entry_requeue(r, e);
                return;
        }
        LIST_PREPEND(r->in_flight, c);
        e->busy = true;
        r->calls++;
}

/* Whether e's containment command waits or runs: its reboot waits for it (it would cut it off). */
static bool held_by_containment(const struct reboot *r, const struct queue_entry *e) {
        return r->o.contain && contain_holds(r->o.contain, e->instance_id);
}

static void precheck_cb(struct queue_entry *e, const struct ecs_instance *i, enum planner_precheck verdict,
                        void *userdata) {
        struct reboot *r = userdata;

        switch (verdict) {
        case PLANNER_PRECHECK_REBOOT:
                /* The window may have closed (or the slots filled) while the precheck ran, or
                 * containment taken the instance (a pass found it waiting): it goes later. */
                if (may_start_now(r) && !held_by_containment(r, e))
                        start_reboot(r, e, i);
                break;
        case PLANNER_PRECHECK_STOPPED:
                entry_skipped(r, e, "stopped", NULL);
                break;
        case PLANNER_PRECHECK_NOT_FOUND:
                entry_skipped(r, e, "not-found", NULL);
                break;
        case PLANNER_PRECHECK_WAIT:
        case _PLANNER_PRECHECK_MAX:
                break;
        }
}

static void follow_cb(struct queue_entry *e, const struct ecs_instance *i, enum planner_follow verdict,
                      void *userdata) {
        struct reboot *r = userdata;
        struct event_fields f = entry_fields(r, e, NULL, NULL);

        switch (verdict) {
        case PLANNER_FOLLOW_IN_PROGRESS:
                if (i && !streq_ptr(i->status, "Running"))
                        e->seen_down = true;
                break;
        case PLANNER_FOLLOW_COMPLETED:
                entry_done(r, e, "completed");
                report_event(EVENT_REBOOT_COMPLETED, &f, "%s is Running again after its reboot", e->instance_id);
                break;
        case PLANNER_FOLLOW_NOT_STARTED:
                log_info("The reboot of %s did not take effect; it stays queued", e->instance_id);
                entry_requeue(r, e);
                break;
        case PLANNER_FOLLOW_TIMED_OUT:
                entry_done(r, e, "health-timeout");
                entry_failed(r, e, "health-timeout", NULL, "not Running again within HealthTimeoutSec");
                break;
        case PLANNER_FOLLOW_STOPPED:
                entry_skipped(r, e, "stopped", NULL);
                break;
        case PLANNER_FOLLOW_NOT_FOUND:
                entry_skipped(r, e, "not-found", NULL);
                break;
        case _PLANNER_FOLLOW_MAX:
                break;
        }
}

/* The entries of one look are judged. */
static void look_done_cb(bool ok, bool follow, void *userdata) {
        struct reboot *r = userdata;

        save_state(r);
        /* Slots freed by completed reboots are filled at once, not at the next poll. A precheck
         * never triggers this: an instance that must wait would be looked at again and again. */
        if (ok && follow)
                start_due_if_open(r);
        settle(r);
        notify_drained(r);
}

/* ---- deciding ------------------------------------------------------------------------------ */

/* Fewest failed reboots first (one failing instance must not hold up the others), then oldest. */
static int compare_pending(const void *a, const void *b) {
        const struct queue_entry *x = *(struct queue_entry *const *) a, *y = *(struct queue_entry *const *) b;
        if (x->reboot_failures != y->reboot_failures)
                return x->reboot_failures < y->reboot_failures ? -1 : 1;
        if (x->detached_usec != y->detached_usec)
                return x->detached_usec < y->detached_usec ? -1 : 1;
        return strcmp(x->instance_id, y->instance_id);
}

/* PENDING entries in the order they are rebooted; those whose containment runs wait for it. */
static struct queue_entry **pending_entries(const struct reboot *r, size_t *ret_n) {
        size_t n = 0, i = 0, total = state_count(r->o.state, QUEUE_PENDING);
        struct queue_entry **a = calloc(total + 1, sizeof(*a)), *e;

        if (!a)
                return NULL;
        while (state_iterate(r->o.state, &i, &e))
                if (e->state == QUEUE_PENDING && n < total && !held_by_containment(r, e))
                        a[n++] = e;
        qsort(a, n, sizeof(*a), compare_pending);
        *ret_n = n;
        return a;
}

static unsigned count_in_flight(const struct reboot *r) {
        unsigned n = (unsigned) state_count(r->o.state, QUEUE_REBOOTING);
        size_t i = 0;
        struct queue_entry *e;

        while (state_iterate(r->o.state, &i, &e))
                if (e->state == QUEUE_PENDING && e->busy)
                        n++;
        return n;
}

static enum planner_gate evaluate_gate(struct reboot *r, unsigned in_flight, struct window_span *ret_span, int *ret_window) {
        uint64_t now = reboot_now(r);
        struct window_span span = {};
        int w = window_set_find(&r->o.conf->windows, r->o.conf->time_zone, now, &span);
        struct planner_gate_input in;
        bool sliding;

        /* "always" is one window without end: its span starts anew at every call. */
        if (w == 1 && span.end_usec != UINT64_MAX && span.start_usec != r->window_start_usec) {
                r->window_start_usec = span.start_usec;
                r->failures_in_window = 0;
        }
        sliding = w == 1 && failgate_is_sliding(span.start_usec, span.end_usec);
        in = (struct planner_gate_input) {
                .enabled = r->o.conf->reboot_enabled,
                .window = w < 0 ? -ENOENT : w,
                .window_end_usec = span.end_usec,
                .now_usec = now,
                .cutoff_usec = r->o.conf->cutoff_usec,
                .failures = sliding ? failgate_count(&r->failgate, reboot_boottime(r)) : r->failures_in_window,
                .max_failures = r->o.conf->max_failures,
                .in_flight = in_flight,
                .max_parallel = r->o.conf->max_parallel,
        };
        *ret_span = span;
        *ret_window = w;
        return planner_reboot_gate(&in);
}

static bool may_start_now(struct reboot *r) {
        struct window_span span;
        int window;

        return !r->paused && evaluate_gate(r, count_in_flight(r), &span, &window) == PLANNER_GATE_OPEN;
}

static void announce_would_reboot(struct reboot *r, struct queue_entry *e) {
        struct event_fields f = entry_fields(r, e, NULL, NULL);
        char *id;

        if (hashmap_get(r->announced, e->instance_id) || !(id = strdup(e->instance_id)))
                return;
        if (hashmap_put(r->announced, id, id) < 0)
                return free(id);
        report_event(EVENT_WOULD_REBOOT, &f, "Would reboot %s now", e->instance_id);
}

/* Starts prechecks for as many PENDING entries as the gate allows. */
static void start_due(struct reboot *r, unsigned in_flight) {
        _cleanup_(hashmap_freep) struct hashmap *looks = NULL;
        _cleanup_free_ struct queue_entry **pending = NULL;
        size_t n = 0;
        unsigned slots = r->o.conf->max_parallel > in_flight ? r->o.conf->max_parallel - in_flight : 0;

        pending = pending_entries(r, &n);
        if (!pending || hashmap_new(&looks) < 0)
                return (void) log_error("Out of memory while scheduling reboots");
        for (size_t i = 0; i < n && slots > 0; i++) {
                if (pending[i]->busy)
                        continue;
                if (r->o.dry_run) {
                        announce_would_reboot(r, pending[i]);
                        continue;
                }
                reboot_look_add(r->look, looks, false, pending[i]);
                slots--;
        }
        reboot_look_send_all(r->look, looks);
}

/* Looks at every REBOOTING entry with no call in flight. */
static void follow_all(struct reboot *r) {
        _cleanup_(hashmap_freep) struct hashmap *looks = NULL;
        struct queue_entry *e;
        size_t i = 0;

        if (r->paused)
                return;
        if (hashmap_new(&looks) < 0)
                return (void) log_error("Out of memory while following reboots");
        while (state_iterate(r->o.state, &i, &e))
                if (e->state == QUEUE_REBOOTING && !e->busy)
                        reboot_look_add(r->look, looks, true, e);
        reboot_look_send_all(r->look, looks);
}

static void arm_timers(struct reboot *r, enum planner_gate gate, int window, const struct window_span *span) {
        bool active = calls_in_flight(r) > 0 || state_count(r->o.state, QUEUE_REBOOTING) > 0;

        (void) sd_event_source_set_enabled(r->poll_source, SD_EVENT_OFF);
        (void) sd_event_source_set_enabled(r->window_source, SD_EVENT_OFF);
        if (active || ((gate == PLANNER_GATE_OPEN || gate == PLANNER_GATE_FULL) && !r->o.dry_run &&
                       state_count(r->o.state, QUEUE_PENDING) > 0)) {
                (void) sd_event_source_set_time_relative(r->poll_source, REBOOT_POLL_USEC);
                (void) sd_event_source_set_enabled(r->poll_source, SD_EVENT_ONESHOT);
        }
        /* Outside: wake at the next start; inside but closed (cutoff, failures): at the end. */
        if (window >= 0 && span->start_usec != 0 && state_count(r->o.state, QUEUE_PENDING) > 0) {
                uint64_t at = window == 0 ? span->start_usec : span->end_usec;
                if (at != UINT64_MAX && gate != PLANNER_GATE_OPEN && gate != PLANNER_GATE_FULL) {
                        (void) sd_event_source_set_time(r->window_source, at);
                        (void) sd_event_source_set_enabled(r->window_source, SD_EVENT_ONESHOT);
                }
        }
}

static void format_utc(uint64_t usec, char *buf, size_t size) {
        time_t t = (time_t) (usec / USEC_PER_SEC);
        struct tm tm;

        if (!gmtime_r(&t, &tm) || strftime(buf, size, "%a %Y-%m-%d %H:%M UTC", &tm) == 0)
                snprintf(buf, size, "unknown");
}

/* MaxFailures closed the gate: said once, and for a sliding hour, a wake-up when it opens. */
static void watch_failure_gate(struct reboot *r, enum planner_gate gate, int window, const struct window_span *span) {
        uint64_t boot = reboot_boottime(r), reopens = 0;
        char when[64];

        (void) sd_event_source_set_enabled(r->reopen_source, SD_EVENT_OFF);
        r->reopens_usec = 0;
        if (gate != PLANNER_GATE_MAX_FAILURES) {
                r->gate_closed_said = false;
                return;
        }
        if (window == 1 && failgate_is_sliding(span->start_usec, span->end_usec))
                reopens = failgate_reopens_usec(&r->failgate, r->o.conf->max_failures, boot);
        if (reopens > boot) {
                r->reopens_usec = reboot_now(r) + (reopens - boot);
                (void) sd_event_source_set_time(r->reopen_source, reopens);
                (void) sd_event_source_set_enabled(r->reopen_source, SD_EVENT_ONESHOT);
        }
        if (r->gate_closed_said)
                return;
        r->gate_closed_said = true;
        if (r->reopens_usec) {
                format_utc(r->reopens_usec, when, sizeof(when));
                log_warning("%u reboots failed within the last hour (MaxFailures=%u): no reboot starts before %s",
                            r->o.conf->max_failures, r->o.conf->max_failures, when);
        } else
                log_warning("%u reboots failed in this maintenance window (MaxFailures=%u): no reboot starts in it "
                            "any more", r->o.conf->max_failures, r->o.conf->max_failures);
}

/* Arms the timers for what is left and tells an --once caller when nothing more can happen. */
static void settle(struct reboot *r) {
        struct window_span span;
        int window;
        enum planner_gate gate = evaluate_gate(r, count_in_flight(r), &span, &window);

        arm_timers(r, gate, window, &span);
        watch_failure_gate(r, gate, window, &span);
        if (calls_in_flight(r) == 0 && state_count(r->o.state, QUEUE_REBOOTING) == 0 && r->o.idle_cb &&
            (gate != PLANNER_GATE_OPEN || state_count(r->o.state, QUEUE_PENDING) == 0 || r->o.dry_run))
                r->o.idle_cb(r, r->o.userdata);
}

static void start_due_if_open(struct reboot *r) {
        if (may_start_now(r))
                start_due(r, count_in_flight(r));
}

static int clock_watch_arm(int fd);

void reboot_kick(struct reboot *r) {
        if (r->clock_unwatched && clock_watch_arm(sd_event_source_get_io_fd(r->clock_source)) >= 0) {
                r->clock_unwatched = false;
                log_info("Watching the system clock again");
        }
        follow_all(r);
        start_due_if_open(r);
        settle(r);
}

/* ---- RebootInstance answers ---------------------------------------------------------------- */

/* An answer after which the reboot may have happened all the same. SignatureNonceUsed: libcurl
 * resent the request on a fresh connection after the reused one died, so a copy reached the API
 * before. IncorrectInstanceStatus: such a copy may be rebooting it, or it is starting or
 * stopping; any boot after the detach is as good as our reboot. */
static bool answer_is_ambiguous(const struct ecs_result *res) {
        return res->error != -EREMOTEIO || res->http_status >= 500 || ecs_code_is_retryable(res->code) ||
               streq_ptr(res->code, "SignatureNonceUsed") || streq_ptr(res->code, "IncorrectInstanceStatus");
}

static void reboot_answer(struct reboot *r, struct queue_entry *e, const struct ecs_result *res) {
        struct event_fields f = entry_fields(r, e, res->request_id, res->code);

        if (res->error == 0) {
                e->reboot_accepted = true;
                /* Persisted: after a restart an unseen reboot still counts as done, never repeated. */
                state_set(r->o.state, e, QUEUE_REBOOTING);
                report_event(EVENT_REBOOT_STARTED, &f, "Rebooting %s so that the detach takes effect", e->instance_id);
        } else if (streq_ptr(res->code, "InvalidInstanceId.NotFound"))
                entry_skipped(r, e, "not-found", res->request_id);
        else if (!answer_is_ambiguous(res)) {
                entry_failed(r, e, res->code, res->request_id, strempty(res->message));
                entry_requeue(r, e);
        } else
                /* Following the instance tells whether it rebooted; if not, it is queued again. */
                log_warning("No clear answer to the reboot of %s (%s); following the instance to find out",
                            e->instance_id, res->code ? res->code : strempty(res->message));
}

static void reboot_call_done_cb(const struct ecs_result *res, void *userdata) {
        struct reboot_call *c = userdata;
        struct reboot *r = c->r;
        struct queue_entry *e = state_find(r->o.state, c->instance_id);

        if (e)
                e->busy = false;
        if (e && e->state == QUEUE_REBOOTING)
                reboot_answer(r, e, res);
        LIST_REMOVE(r->in_flight, c);
        reboot_call_free(c);
        r->calls--;
        save_state(r);
        settle(r);
        notify_drained(r);
}

/* ---- lifecycle ----------------------------------------------------------------------------- */

static int timer_cb(sd_event_source *s, uint64_t usec, void *userdata) {
        reboot_kick(userdata);
        return 0;
}

/* A timer that never expires but is cancelled whenever the system clock is set (or jumps). */
static int clock_watch_arm(int fd) {
        /* The largest time_t: the kernel saturates it, the timer never expires. */
        struct itimerspec its = { .it_value.tv_sec = (time_t) ((UINTMAX_C(1) << (sizeof(time_t) * 8 - 1)) - 1) };

        if (timerfd_settime(fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &its, NULL) < 0)
                return negative_errno();
        return 0;
}

/* The clock was set: the next window start is computed anew from the new time. */
static int clock_changed_cb(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct reboot *r = userdata;
        uint64_t expirations;

        /* ECANCELED is the news itself; the read only resets the cancellation. */
        if (read(fd, &expirations, sizeof(expirations)) < 0 && errno != ECANCELED && errno != EAGAIN)
                log_debug_errno(-errno, "Reading the clock watch failed: %m");
        if (clock_watch_arm(fd) < 0) {
                log_warning("Cannot watch the system clock now; windows follow it at the next timer (trying again)");
                r->clock_unwatched = true;
        }
        log_info("The system clock was set; looking at the maintenance windows again");
        reboot_kick(r);
        return 0;
}

static int clock_watch_new(struct reboot *r) {
        _cleanup_close_ int fd = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);
        int k;

        if (fd < 0)
                return negative_errno();
        k = clock_watch_arm(fd);
        if (k < 0)
                return k;
        k = sd_event_add_io(r->o.event, &r->clock_source, fd, EPOLLIN, clock_changed_cb, r);
        if (k < 0)
                return k;
        k = sd_event_source_set_io_fd_own(r->clock_source, true);
        if (k < 0)
                return k;
        fd = -1; /* owned by the event source now */
        return 0;
}

int reboot_new(const struct reboot_options *o, struct reboot **ret) {
        _cleanup_(reboot_freep) struct reboot *r = calloc(1, sizeof(*r));
        int k;

        if (!r)
                return -ENOMEM;
        r->o = *o;
        k = hashmap_new(&r->announced);
        if (k < 0)
                return k;
        k = sd_event_add_time_relative(o->event, &r->poll_source, CLOCK_MONOTONIC, REBOOT_POLL_USEC, 0, timer_cb, r);
        if (k < 0)
                return k;
        k = sd_event_add_time(o->event, &r->window_source, CLOCK_REALTIME, UINT64_MAX - 1, REBOOT_WINDOW_ACCURACY_USEC,
                              timer_cb, r);
        if (k < 0)
                return k;
        k = sd_event_add_time(o->event, &r->reopen_source, CLOCK_BOOTTIME, UINT64_MAX - 1, REBOOT_WINDOW_ACCURACY_USEC,
                              timer_cb, r);
        if (k < 0)
                return k;
        (void) sd_event_source_set_enabled(r->poll_source, SD_EVENT_OFF);
        (void) sd_event_source_set_enabled(r->window_source, SD_EVENT_OFF);
        (void) sd_event_source_set_enabled(r->reopen_source, SD_EVENT_OFF);
        k = reboot_look_new(&(struct reboot_look_options) {
                .event = o->event,
                .ecs = o->ecs,
                .state = o->state,
                .conf = o->conf,
                .precheck_cb = precheck_cb,
                .follow_cb = follow_cb,
                .done_cb = look_done_cb,
                .userdata = r,
        }, &r->look);
        if (k < 0)
                return k;
        k = clock_watch_new(r);
        if (k < 0)
                return k;
        if (r->o.conf->reboot_enabled && window_set_is_empty(&r->o.conf->windows))
                log_warning("No Window= in [Reboot]: detached instances are queued but never rebooted");
        *ret = TAKE_PTR(r);
        return 0;
}

struct reboot *reboot_free(struct reboot *r) {
        const char *id;
        size_t i = 0;

        if (!r)
                return NULL;
        sd_event_source_disable_unref(r->poll_source);
        sd_event_source_disable_unref(r->window_source);
        sd_event_source_disable_unref(r->reopen_source);
        sd_event_source_disable_unref(r->clock_source);
        /* Calls cancelled with their client (ecs_free()) were never answered. */
        reboot_look_free(r->look);
        while (r->in_flight) {
                struct reboot_call *c = r->in_flight;
                LIST_REMOVE(r->in_flight, c);
                reboot_call_free(c);
        }
        if (r->announced)
                while (hashmap_iterate(r->announced, &i, &id, NULL))
                        free((char *) id);
        hashmap_free(r->announced);
        free(r);
        return NULL;
}

void reboot_set_client(struct reboot *r, struct ecs *ecs, const struct conf *conf, const struct contain *contain) {
        /* An abandoned RebootInstance may have reached the API: it is never dropped unanswered. */
        assert(r->calls == 0);
        r->o.ecs = ecs;
        r->o.conf = conf;
        r->o.contain = contain;
        reboot_look_set_client(r->look, ecs, conf);
}

void reboot_pause(struct reboot *r, bool pause) {
        r->paused = pause;
}

unsigned reboot_calls_in_flight(const struct reboot *r) {
        return calls_in_flight(r);
}

unsigned reboot_failures(const struct reboot *r) {
        return r->failures;
}

void reboot_describe_next_window(const struct reboot *r, char *buf, size_t size) {
        struct window_span span;
        uint64_t now = reboot_now(r);
        int w = window_set_find(&r->o.conf->windows, r->o.conf->time_zone, now, &span);
        char when[64];

        if (r->o.conf->reboot_enabled && window_set_is_empty(&r->o.conf->windows)) {
                snprintf(buf, size, "never (no Window=: reboots stay queued)");
                return;
        }
        if (!r->o.conf->reboot_enabled || w < 0) {
                snprintf(buf, size, "never");
                return;
        }
        if (w == 1 && r->gate_closed_said && r->reopens_usec) {
                format_utc(r->reopens_usec, when, sizeof(when));
                snprintf(buf, size, "closed by MaxFailures=%u failed reboots in an hour until %s", r->o.conf->max_failures,
                         when);
                return;
        }
        if (w == 1 && r->gate_closed_said) {
                snprintf(buf, size, "closed by MaxFailures=%u failed reboots in this window", r->o.conf->max_failures);
                return;
        }
        if (w == 1) {
                snprintf(buf, size, "open now");
                return;
        }
        format_utc(span.start_usec, buf, size);
}
