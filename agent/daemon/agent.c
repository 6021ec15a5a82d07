/* The agent: owns the event loop, configuration, lists, ECS client, queue and the passes. */
#include <inttypes.h>
#include <signal.h>
#include <time.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "base/log.h"
#include "daemon/agent.h"
#include "daemon/contain.h"
#include "daemon/enforce.h"
#include "daemon/listwatch.h"
#include "daemon/reboot.h"
#include "daemon/retire.h"
#include "daemon/setup.h"
#include "daemon/sources.h"
#include "io/credsource.h"
#include "io/discovery-file.h"
#include "io/ecs.h"
#include "io/lists.h"
#include "io/metrics.h"
#include "io/passrecord.h"
#include "io/referenced.h"
#include "io/retired.h"
#include "io/state.h"
#include "io/statelock.h"
#include "io/warned.h"
#include "logic/conf.h"
#include "logic/ratelimit.h"

/* Changes in the list directory are collected this long before the lists are re-read. */
#define AGENT_DEBOUNCE_USEC (200 * USEC_PER_MSEC)
#define AGENT_DEBOUNCE_ACCURACY_USEC USEC_PER_MSEC
/* A pass in which some region could not be listed is run again well before the next rescan:
 * after 20-40 s, then twice as long each time, at most 10-20 min (jittered). */
#define AGENT_LOOKUP_RETRY_BASE_USEC (40 * USEC_PER_SEC)
#define AGENT_LOOKUP_RETRY_CAP_USEC (20 * USEC_PER_MINUTE)

struct agent {
        struct agent_options o;
        sd_event *event;
        struct conf *conf;
        struct conf *pending_conf;      /* valid new config, applied once the running pass ends */
        struct ecs *ecs;
        struct credsource *credsource;
        bool have_creds;                /* the client got its first credentials */
        int lock_fd;                    /* holds the StateDirectory lock */
        struct state *state;
        struct lists lists;
        struct enforce *pass;
        struct reboot *reboot;
        struct metrics *metrics;        /* API counters for MetricsFile= */
        struct discovery_memory *discovery; /* region sizes seen by earlier passes */
        struct contained *contained;    /* [Contain] Enabled=yes: the record of containment */
        struct contain *contain;
        struct referenced *referenced;  /* launch sources reported, for CheckLaunchSources= */
        struct sources *launch_sources;
        struct retired *retired;        /* key pairs deleted (DeleteRevokedKeyPairs=), their keys kept */
        struct warned *warned;          /* Windows instances reported once (windows.json) */
        struct retire *retire;
        bool reboots_settled;           /* no reboot due now is left to start or follow */
        uint64_t pass_start_usec;       /* CLOCK_REALTIME start of the running or last pass */
        struct pass_record last;        /* the last pass; end_usec 0 before the first */
        bool rerun;                     /* lists changed while a pass was running */
        bool failed;                    /* some target could not be enforced (--once) */
        struct listwatch *watch;        /* the revocation directory (not for --once) */
        sd_event_source *debounce_source;
        sd_event_source *rescan_source;
        sd_event_source *lookup_retry_source; /* a pass again after regions failed to be listed */
        unsigned lookup_retries;        /* passes in a row with a region that failed */
};

static bool agent_dry_run(const struct agent *a) {
        return a->o.dry_run || a->conf->dry_run;
}

/* "last pass 2026-12-02 15:02:03 UTC: enforced, 7 detached (...)", or "no pass yet". */
static void describe_last_pass(const struct agent *a, char *buf, size_t size) {
        time_t t = (time_t) (a->last.end_usec / USEC_PER_SEC);
        char when[32], text[256];
        struct tm tm;

        if (a->last.end_usec == 0) {
                snprintf(buf, size, "no pass yet");
                return;
        }
        if (!gmtime_r(&t, &tm) || strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
                snprintf(when, sizeof(when), "?");
        health_describe(&a->last.pass, agent_dry_run(a) ? "would be detached" : "detached", text, sizeof(text));
        snprintf(buf, size, "last pass %s: %s, %s", when, health_verdict_to_string(health_judge(&a->last.pass)), text);
}

/* STATUS=: whether a pass runs, how the last one ended, the lists, the queue and the next window;
 * sent at every change of these (passes, reboots and containment settling). */
static void notify_status(struct agent *a) {
        char window[64], last[320];

        reboot_describe_next_window(a->reboot, window, sizeof(window));
        describe_last_pass(a, last, sizeof(last));
        (void) sd_notifyf(false,
                          "STATUS=%s: %s; %zu list(s), %zu entries; %zu reboot(s) pending, %zu rebooting; "
                          "next window: %s%s",
                          a->pass ? "Enforcing" : "Idle", last, a->lists.n, lists_count_entries(&a->lists),
                          state_count(a->state, QUEUE_PENDING), state_count(a->state, QUEUE_REBOOTING), window,
                          agent_dry_run(a) ? " (dry run)" : "");
}

/* ---- configuration, credentials, client ---------------------------------------------------- */

static void start_pass(struct agent *a);

/* Credentials arrived (or were refreshed): the first ones let the passes start. */
static void creds_cb(struct creds *c, int error, void *userdata) {
        struct agent *a = userdata;

        if (!c) {
                if (a->o.once && !a->have_creds) {
                        log_error_errno(error, "No credentials from the RAM role, giving up: %m");
                        a->failed = true;
                        (void) sd_event_exit(a->event, 0);
                }
                return;
        }
        ecs_set_credentials(a->ecs, c);
        if (a->have_creds)
                return;
        a->have_creds = true;
        /* Reboots left in flight by an earlier run are followed from now on (--once does it after
         * its pass). */
        if (!a->o.once)
                reboot_kick(a->reboot);
        if (a->rerun)
                start_pass(a);
}

/* A client for c and the source of its credentials, both new; nothing is changed on failure. */
static int make_client(struct agent *a, const struct conf *c, struct ecs **ret_ecs, struct credsource **ret_source) {
        _cleanup_(ecs_freep) struct ecs *e = NULL;
        int r = setup_make_ecs(a->event, c, &e);

        if (r < 0)
                return r;
        ecs_set_observer(e, metrics_observe_cb, a->metrics);
        r = credsource_new(a->event, c, creds_cb, a, ret_source);
        if (r < 0)
                return r;
        *ret_ecs = TAKE_PTR(e);
        return 0;
}

/* ---- lists and passes ---------------------------------------------------------------------- */

static void reload_lists(struct agent *a) {
        struct diags d = {};
        struct lists l = {};

        if (lists_load(a->conf->revocation_directory, getuid(), true, &l, &d) < 0)
                log_error("Out of memory while reading %s; keeping the lists loaded before",
                          a->conf->revocation_directory);
        else {
                lists_done(&a->lists);
                a->lists = l;
        }
        diags_clear(&d);
}

/* MetricsFile= belongs to the service: a dry run, or a --once run by hand (not by a systemd unit,
 * which sets $INVOCATION_ID), leaves what the service wrote in place. */
static bool agent_writes_metrics(const struct agent *a) {
        return a->conf->metrics_file && !agent_dry_run(a) && (!a->o.once || getenv("INVOCATION_ID"));
}

/* MetricsFile=: the last pass, the queue and containment, for the Prometheus textfile collector;
 * written after each pass and again when containment or the reboots settle. */
static void write_metrics(struct agent *a) {
        struct metrics_input in = {
                .lists = a->lists.n,
                .entries = lists_count_entries(&a->lists),
                .pass = &a->last.pass.counts,
                .pass_start_usec = a->last.start_usec,
                .pass_end_usec = a->last.end_usec,
                .dry_run = agent_dry_run(a),
                .state = a->state,
                .contained = a->contained,
                .reboot_failures = reboot_failures(a->reboot),
                .referenced = a->conf->check_launch_sources ? a->referenced : NULL,
        };
        int r;

        if (!agent_writes_metrics(a) || a->last.end_usec == 0)
                return;
        (void) sd_event_now(a->event, CLOCK_REALTIME, &in.now_usec);
        r = metrics_write(a->conf->metrics_file, a->metrics, &in);
        if (r < 0)
                log_warning_errno(r, "Failed to write the metrics file %s: %m", a->conf->metrics_file);
}

/* Keeps what the pass did for STATUS= and the metrics, and (unless it was a dry run) in
 * StateDirectory for keyrevokectl status. */
static void record_pass(struct agent *a, const struct planner_counts *c) {
        int r;

        a->last = (struct pass_record) {
                .start_usec = a->pass_start_usec,
                .pass = { .lists = a->lists.n, .entries = lists_count_entries(&a->lists), .counts = *c },
        };
        (void) sd_event_now(a->event, CLOCK_REALTIME, &a->last.end_usec);
        r = agent_dry_run(a) ? 0 : passrecord_save(a->conf->state_directory, &a->last);
        if (r < 0)
                log_warning_errno(r, "Failed to record the pass in %s (keyrevokectl status shows an older one): %m",
                                  a->conf->state_directory);
}

/* Regions that could not be listed are looked at again soon, not only at the next rescan (with
 * RescanIntervalSec=0, never). */
static void arm_lookup_retry(struct agent *a, unsigned regions_failed) {
        uint64_t delay;
        int r;

        if (regions_failed == 0 || a->o.once) {
                a->lookup_retries = 0;
                (void) sd_event_source_set_enabled(a->lookup_retry_source, SD_EVENT_OFF);
                return;
        }
        delay = ratelimit_backoff_usec(++a->lookup_retries, AGENT_LOOKUP_RETRY_BASE_USEC, AGENT_LOOKUP_RETRY_CAP_USEC,
                                       ecs_random_u32());
        if (a->conf->rescan_interval_usec != 0 && delay >= a->conf->rescan_interval_usec)
                return;         /* the rescan comes first */
        r = sd_event_source_set_time_relative(a->lookup_retry_source, delay);
        if (r >= 0)
                r = sd_event_source_set_enabled(a->lookup_retry_source, SD_EVENT_ONESHOT);
        if (r < 0)
                return (void) log_error_errno(r, "Failed to arm the retry of the regions that could not be listed: %m");
        log_info("%u region(s) could not be listed; the pass runs again in %" PRIu64 " s", regions_failed,
                 delay / USEC_PER_SEC);
}

static void pass_done_cb(struct enforce *p, const struct planner_counts *c, void *userdata) {
        struct agent *a = userdata;
        int r;

        if (c->failed > 0)
                a->failed = true;
        r = agent_dry_run(a) ? 0 : discovery_file_save(a->conf->state_directory, a->discovery);
        if (r < 0)
                log_warning_errno(r, "Failed to save the region sizes seen in %s (the next run probes them "
                                     "again): %m", a->conf->state_directory);
        record_pass(a, c);
        write_metrics(a);
        arm_lookup_retry(a, c->regions_failed);
        a->pass = enforce_free(p);      /* c is the pass's */
        /* The queue may have grown: the reboots due now start (and --once ends when idle). */
        reboot_kick(a->reboot);
        notify_status(a);
        if (a->rerun && !a->o.once)
                start_pass(a);
}

static void apply_pending_conf(struct agent *a);

static void start_pass(struct agent *a) {
        struct enforce_options o;
        struct revlist *const *lists;
        size_t n_lists;
        int r;

        if (a->pass) {
                a->rerun = true;
                return;
        }
        apply_pending_conf(a);
        if (a->pending_conf) {
                a->rerun = true;        /* starts once the swap is done */
                return;
        }
        if (!a->have_creds) {
                a->rerun = true;        /* starts when the credentials arrive */
                return;
        }
        a->rerun = false;
        reload_lists(a);
        /* The keys of deleted key pairs stay revoked under any name. */
        if (retire_lists(a->retire, a->lists.items, a->lists.n, &lists, &n_lists) < 0) {
                log_error("Out of memory while adding the deleted key pairs to the lists");
                lists = a->lists.items;
                n_lists = a->lists.n;
        }
        o = (struct enforce_options) {
                .ecs = a->ecs,
                .state = a->state,
                .lists = lists,
                .n_lists = n_lists,
                .regions = a->conf->regions,
                .dry_run = agent_dry_run(a),
                .event = a->event,
                .memory = a->discovery,
                .contain = a->contain,
                .contain_scope = a->conf->contain_scope,
                .sources = a->conf->check_launch_sources ? a->launch_sources : NULL,
                .retire = a->retire,
                .warned = a->warned,
                .delete_keypairs = a->conf->delete_revoked_keypairs,
        };
        (void) sd_event_now(a->event, CLOCK_REALTIME, &a->pass_start_usec);
        r = enforce_start(&o, pass_done_cb, a, &a->pass);
        if (r < 0) {
                log_error_errno(r, "Failed to start an enforcement pass: %m");
                a->failed = true;
                if (a->o.once)
                        (void) sd_event_exit(a->event, 0);
                return;
        }
        notify_status(a);
}

/* ---- event sources ------------------------------------------------------------------------- */

static int debounce_cb(sd_event_source *s, uint64_t usec, void *userdata) {
        start_pass(userdata);
        return 0;
}

/* Something in the list directory changed (or the directory was replaced): re-read soon. */
static void lists_changed_cb(void *userdata) {
        struct agent *a = userdata;
        int r = sd_event_source_set_time_relative(a->debounce_source, AGENT_DEBOUNCE_USEC);

        if (r >= 0)
                r = sd_event_source_set_enabled(a->debounce_source, SD_EVENT_ONESHOT);
        if (r < 0)
                log_warning_errno(r, "Failed to schedule a re-read of the lists: %m");
}

static int watch_lists(struct agent *a) {
        int r;

        if (a->watch || a->o.once)
                return 0;
        r = listwatch_new(a->event, a->conf->revocation_directory, lists_changed_cb, a, &a->watch);
        if (r < 0)
                return log_warning_errno(r, "Cannot watch %s (lists are re-read on rescan and SIGHUP): %m",
                                         a->conf->revocation_directory);
        return 0;
}

static int arm_rescan(struct agent *a) {
        if (a->o.once || a->conf->rescan_interval_usec == 0)
                return sd_event_source_set_enabled(a->rescan_source, SD_EVENT_OFF);
        int r = sd_event_source_set_time_relative(a->rescan_source, a->conf->rescan_interval_usec);
        if (r < 0)
                return r;
        return sd_event_source_set_enabled(a->rescan_source, SD_EVENT_ONESHOT);
}

static int lookup_retry_cb(sd_event_source *s, uint64_t usec, void *userdata) {
        start_pass(userdata);
        return 0;
}

static int rescan_cb(sd_event_source *s, uint64_t usec, void *userdata) {
        struct agent *a = userdata;

        (void) watch_lists(a);
        start_pass(a);
        if (arm_rescan(a) < 0)
                log_error("Failed to re-arm the rescan timer");
        return 0;
}

/* Whether a pass, a reboot or a containment call still points into the client. */
static bool client_in_use(const struct agent *a) {
        return a->pass || reboot_calls_in_flight(a->reboot) > 0 ||
               (a->contain && contain_calls_in_flight(a->contain) > 0);
}

/* While a swap waits, no new reboot or containment call starts, so the ones in flight drain. */
static void pause_calls(struct agent *a, bool pause) {
        reboot_pause(a->reboot, pause);
        if (a->contain)
                contain_pause(a->contain, pause);
}

static void apply_contain_conf(struct agent *a);

/* Swaps in a config validated by SIGHUP once nothing uses the old client: freeing it cancels its
 * calls unanswered, and an unanswered RebootInstance may still reboot (then be sent again). */
static void apply_pending_conf(struct agent *a) {
        _cleanup_(ecs_freep) struct ecs *e = NULL;
        struct credsource *source = NULL;

        if (!a->pending_conf)
                return;
        if (client_in_use(a)) {
                log_debug("The new configuration waits for the calls in flight");
                return pause_calls(a, true);
        }
        pause_calls(a, false);
        if (make_client(a, a->pending_conf, &e, &source) < 0) {
                log_error("Keeping the previous configuration: the new one's client could not be set up");
                a->pending_conf = conf_free(a->pending_conf);
                return;
        }
        ecs_free(a->ecs);
        a->ecs = TAKE_PTR(e);
        credsource_free(a->credsource);
        a->credsource = source;
        a->have_creds = false;
        conf_free(a->conf);
        a->conf = TAKE_PTR(a->pending_conf);
        apply_contain_conf(a);
        a->watch = listwatch_free(a->watch);
        (void) watch_lists(a);
        (void) arm_rescan(a);
        log_info("Configuration reloaded");
}

static int sighup_cb(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        struct agent *a = userdata;
        struct conf *c = NULL;

        (void) sd_notify(false, "RELOADING=1\nSTATUS=Reloading configuration");
        if (setup_load_conf(a->o.config_path, &c) < 0)
                log_error("New configuration is invalid (the problems are above); keeping the running one");
        else {
                conf_free(a->pending_conf);
                a->pending_conf = c;
        }
        start_pass(a);
        (void) sd_notify(false, "READY=1");
        notify_status(a);
        return 0;
}

static int sigterm_cb(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        struct agent *a = userdata;

        (void) sd_notify(false, "STOPPING=1\nSTATUS=Stopping");
        log_info("Received %s, stopping", si->ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
        return sd_event_exit(a->event, 0);
}

static int add_sources(struct agent *a) {
        sigset_t mask;
        int r;

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return negative_errno();
        if ((r = sd_event_add_signal(a->event, NULL, SIGTERM, sigterm_cb, a)) < 0 ||
            (r = sd_event_add_signal(a->event, NULL, SIGINT, sigterm_cb, a)) < 0 ||
            (r = sd_event_add_signal(a->event, NULL, SIGHUP, sighup_cb, a)) < 0)
                return r;
        r = sd_event_add_time_relative(a->event, &a->debounce_source, CLOCK_MONOTONIC, AGENT_DEBOUNCE_USEC,
                                       AGENT_DEBOUNCE_ACCURACY_USEC, debounce_cb, a);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(a->debounce_source, SD_EVENT_OFF);
        r = sd_event_add_time_relative(a->event, &a->rescan_source, CLOCK_MONOTONIC, UINT64_MAX / 2, 0, rescan_cb, a);
        if (r < 0)
                return r;
        r = arm_rescan(a);
        if (r < 0)
                return r;
        r = sd_event_add_time_relative(a->event, &a->lookup_retry_source, CLOCK_MONOTONIC, UINT64_MAX / 2,
                                       USEC_PER_SEC, lookup_retry_cb, a);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(a->lookup_retry_source, SD_EVENT_OFF);
        (void) watch_lists(a);
        return sd_event_set_watchdog(a->event, true);
}

/* ---- lifecycle ----------------------------------------------------------------------------- */

/* --once: the run is over when the pass, the reboots due now and containment are done. */
static void once_maybe_exit(struct agent *a) {
        if (!a->pass && a->reboots_settled && (!a->contain || contain_idle(a->contain)))
                (void) sd_event_exit(a->event, 0);
}

/* The reboot scheduler or containment has no call in flight any more: a waiting reload goes on. */
static void calls_drained(struct agent *a) {
        if (a->pending_conf && !client_in_use(a))
                start_pass(a);
}

static void agent_reboot_drained_cb(struct reboot *r, void *userdata) {
        calls_drained(userdata);
}

static void agent_contain_drained_cb(struct contain *c, void *userdata) {
        calls_drained(userdata);
}

/* Nothing is rebooting and nothing more can start now: what operators see is brought up to date. */
static void agent_reboot_idle_cb(struct reboot *r, void *userdata) {
        struct agent *a = userdata;

        a->reboots_settled = true;
        notify_status(a);
        write_metrics(a);
        if (a->o.once)
                once_maybe_exit(a);
}

static void agent_contain_idle_cb(struct contain *c, void *userdata) {
        struct agent *a = userdata;

        reboot_kick(a->reboot);
        notify_status(a);
        write_metrics(a);
        if (a->o.once)
                once_maybe_exit(a);
}

static int make_contain(struct agent *a) {
        struct contain_options o = {
                .ecs = a->ecs,
                .event = a->event,
                .timeout_usec = a->conf->contain_timeout_usec,
                .dry_run = agent_dry_run(a),
                .idle_cb = agent_contain_idle_cb,
                .drained_cb = agent_contain_drained_cb,
                .userdata = a,
        };
        int r;

        if (!a->conf->contain_enabled)
                return 0;
        r = contained_load(a->conf->state_directory, &a->contained);
        if (r < 0)
                return r;
        o.record = a->contained;
        o.queue = a->state;
        return contain_new(&o, &a->contain);
}

/* Containment stops (agent_free(), or Enabled=no at a reload): what its commands left open stays
 * in the record, followed again when it starts. */
static void stop_contain(struct agent *a) {
        a->contain = contain_free(a->contain);
        if (a->contained) {
                int r = contained_save(a->contained);
                if (r < 0)
                        log_error_errno(r, "Failed to save the containment record in %s: %m",
                                        a->contained->directory);
                a->contained = contained_free(a->contained);
        }
}

/* [Contain] as a reloaded configuration says: started, stopped, or given the new client and
 * TimeoutSec= (Scope= is the next pass's). Nothing is in flight here (apply_pending_conf()). */
static void apply_contain_conf(struct agent *a) {
        if (a->contain && !a->conf->contain_enabled) {
                stop_contain(a);
                log_info("Containment stopped ([Contain] Enabled=no)");
        } else if (a->contain)
                contain_reconfigure(a->contain, a->ecs, a->conf->contain_timeout_usec);
        else if (a->conf->contain_enabled) {
                int r = make_contain(a);
                if (r < 0) {
                        stop_contain(a);
                        log_error_errno(r, "Failed to start containment (record in %s): %m", a->conf->state_directory);
                } else
                        log_info("Containment started ([Contain] Enabled=yes)");
        }
        reboot_set_client(a->reboot, a->ecs, a->conf, a->contain);
}

/* Launch sources and retired key pairs: their records are kept even while the options are off. */
static int make_launch_sources(struct agent *a) {
        int r = referenced_load(a->conf->state_directory, &a->referenced);

        if (r < 0)
                return log_error_errno(r, "Failed to load the launch sources found from %s: %m",
                                       a->conf->state_directory);
        r = sources_new(a->referenced, &a->launch_sources);
        if (r < 0)
                return r;
        r = retired_load(a->conf->state_directory, &a->retired);
        if (r < 0)
                return log_error_errno(r, "Failed to load the deleted key pairs from %s: %m",
                                       a->conf->state_directory);
        return retire_new(a->retired, &a->retire);
}

static int make_reboot(struct agent *a) {
        struct reboot_options o = {
                .event = a->event,
                .ecs = a->ecs,
                .state = a->state,
                .conf = a->conf,
                .contain = a->contain,
                .dry_run = agent_dry_run(a),
                .idle_cb = agent_reboot_idle_cb,
                .drained_cb = agent_reboot_drained_cb,
                .userdata = a,
        };
        return reboot_new(&o, &a->reboot);
}

int agent_new(const struct agent_options *o, struct agent **ret) {
        _cleanup_(agent_freep) struct agent *a = calloc(1, sizeof(*a));
        int r;

        if (!a)
                return -ENOMEM;
        a->o = *o;
        a->lock_fd = -1;
        r = setup_load_conf(o->config_path, &a->conf);
        if (r < 0)
                return r == -ENOMEM ? r : -EINVAL;
        r = statelock_acquire(a->conf->state_directory, &a->lock_fd);
        if (r < 0)
                return r;
        if (a->conf->metrics_file && !agent_writes_metrics(a))
                log_info("Leaving %s alone: it is the service's (this is a %s run)", a->conf->metrics_file,
                         agent_dry_run(a) ? "dry" : "manual --once");
        r = metrics_new(&a->metrics);
        if (r < 0)
                return r;
        r = sd_event_default(&a->event);
        if (r < 0)
                return log_error_errno(r, "Failed to create the event loop: %m");
        r = state_load(a->conf->state_directory, &a->state);
        if (r < 0)
                return log_error_errno(r, "Failed to load the reboot queue from %s (refusing to start rather "
                                          "than lose it): %m", a->conf->state_directory);
        r = discovery_file_load(a->conf->state_directory, &a->discovery);
        if (r < 0)
                return r;
        r = make_client(a, a->conf, &a->ecs, &a->credsource);
        if (r < 0)
                return -EINVAL;
        r = make_contain(a);
        if (r < 0)
                return log_error_errno(r, "Failed to set up containment (record in %s): %m",
                                       a->conf->state_directory);
        r = make_reboot(a);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the reboot scheduler: %m");
        r = warned_load(a->conf->state_directory, &a->warned);
        if (r < 0)
                return log_error_errno(r, "Failed to load the Windows instances reported from %s: %m",
                                       a->conf->state_directory);
        r = make_launch_sources(a);
        if (r < 0)
                return r;
        r = add_sources(a);
        if (r < 0)
                return log_error_errno(r, "Failed to set up event sources: %m");
        *ret = TAKE_PTR(a);
        return 0;
}

int agent_run(struct agent *a) {
        int r;

        start_pass(a);
        (void) sd_notify(false, "READY=1");
        notify_status(a);
        r = sd_event_loop(a->event);
        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m"), AGENT_EXIT_PENDING;
        if (a->o.once && (a->failed || reboot_failures(a->reboot) > 0))
                return AGENT_EXIT_PENDING;
        return AGENT_EXIT_OK;
}

struct agent *agent_free(struct agent *a) {
        if (!a)
                return NULL;
        /* The client first: its calls are abandoned without callbacks into the pass. */
        a->credsource = credsource_free(a->credsource);
        a->ecs = ecs_free(a->ecs);
        a->pass = enforce_free(a->pass);
        a->reboot = reboot_free(a->reboot);
        stop_contain(a);
        a->launch_sources = sources_free(a->launch_sources);
        a->referenced = referenced_free(a->referenced);
        a->retire = retire_free(a->retire);
        a->retired = retired_free(a->retired);
        a->warned = warned_free(a->warned);
        if (a->state) {
                int r = state_save(a->state);
                if (r < 0)
                        log_error_errno(r, "Failed to save the reboot queue in %s: %m", a->state->directory);
                state_free(a->state);
        }
        lists_done(&a->lists);
        listwatch_free(a->watch);
        sd_event_source_disable_unref(a->debounce_source);
        sd_event_source_disable_unref(a->rescan_source);
        sd_event_source_disable_unref(a->lookup_retry_source);
        sd_event_unref(a->event);
        conf_free(a->pending_conf);
        conf_free(a->conf);
        metrics_free(a->metrics);
        discovery_memory_free(a->discovery);
        /* Last: the state is saved while the lock is held. */
        if (a->lock_fd >= 0)
                (void) close(a->lock_fd);
        free(a);
        return NULL;
}
