/* keyrevokectl status: how the last pass ended and the problems that make status exit non-zero. */
#include <stdarg.h>

#include "base/log.h"
#include "base/strutil.h"
#include "ctl/ctl.h"

/* Adds one problem, formatted; a failed allocation is remembered in h->oom. */
static void add_problem(struct ctl_health *h, const char *format, ...) _printf_(2, 3);
static void add_problem(struct ctl_health *h, const char *format, ...) {
        _cleanup_free_ char *p = NULL;
        va_list ap;
        int r;

        va_start(ap, format);
        r = vasprintf(&p, format, ap);
        va_end(ap);
        if (r < 0 || strv_extend(&h->problems, p) < 0)
                h->oom = true;
}

static void collect_last_pass(const struct conf *conf, struct ctl_health *h) {
        char text[256];
        enum health_verdict v;

        if (h->last_r == -ENOENT) {
                add_problem(h, "no enforcement pass recorded in %s: keyrevoked has not run with this "
                               "StateDirectory yet", conf->state_directory);
                return;
        }
        if (h->last_r < 0) {
                add_problem(h, "the last pass cannot be read from %s: %s", conf->state_directory,
                            strerror(-h->last_r));
                return;
        }
        v = health_judge(&h->last.pass);
        health_describe(&h->last.pass, "detached", text, sizeof(text));
        switch (v) {
        case HEALTH_ENFORCED:
                break;
        case HEALTH_INCOMPLETE:
                add_problem(h, "the last pass is incomplete (%s): see journalctl KEYREVOKE_EVENT=detach-failed and "
                               "KEYREVOKE_EVENT=lookup-failed", text);
                break;
        case HEALTH_NO_LISTS:
        case HEALTH_NO_ENTRIES:
        case HEALTH_ALL_REGIONS_FAILED:
        case _HEALTH_VERDICT_MAX:
                add_problem(h, "the last pass enforced nothing: %s", text + strlen("nothing enforced: "));
                break;
        }
}

/* Queued instances whose reboot failed (and is retried) or timed out. */
static size_t failed_reboots(const struct state *state) {
        struct queue_entry *e;
        size_t i = 0, n = 0;

        while (state_iterate(state, &i, &e))
                n += e->state == QUEUE_DONE ? streq_ptr(e->outcome, "health-timeout") : e->reboot_failures > 0;
        return n;
}

int ctl_health_collect(const struct ctl_health_input *in, struct ctl_health *ret) {
        struct ctl_health h = {};
        size_t pending = state_count(in->state, QUEUE_PENDING), failed = failed_reboots(in->state);

        h.last_r = passrecord_load(in->conf->state_directory, &h.last);
        if (in->list_problems > 0)
                add_problem(&h, "%zu list line(s) or file(s) are not enforced (listed above)", in->list_problems);
        collect_last_pass(in->conf, &h);
        if (in->containment->uncontained > 0)
                add_problem(&h, "%zu instance(s) uncontained: the revoked key still works there until contained "
                                "or rebooted", in->containment->uncontained);
        if (pending > 0 && in->window == -ENOENT)
                add_problem(&h, "%zu reboot(s) pending, but no Window= is configured: they never start", pending);
        if (pending > 0 && in->window == -ECANCELED)
                add_problem(&h, "%zu reboot(s) pending, but reboots are disabled ([Reboot] Enabled=no)", pending);
        if (failed > 0)
                add_problem(&h, "%zu instance(s) with a failed reboot", failed);
        if (h.oom) {
                strv_free(h.problems);
                return log_error_errno(-ENOMEM, "Out of memory");
        }
        *ret = h;
        return 0;
}

void ctl_health_done(struct ctl_health *h) {
        h->problems = strv_free(h->problems);
}

void ctl_health_print_last_pass(const struct ctl_health *h, uint64_t now, FILE *f) {
        char when[CTL_TIME_MAX], ago[CTL_DURATION_MAX], took[CTL_DURATION_MAX], text[256];

        if (h->last_r < 0) {
                fprintf(f, "Last pass: %s\n", h->last_r == -ENOENT ? "none recorded" : "unreadable");
                return;
        }
        health_describe(&h->last.pass, "detached", text, sizeof(text));
        fprintf(f, "Last pass: %s (%s ago, took %s): %s, %s\n", ctl_format_time(h->last.end_usec, false, when),
                ctl_format_duration(now > h->last.end_usec ? now - h->last.end_usec : 0, ago),
                ctl_format_duration(h->last.end_usec - h->last.start_usec, took),
                health_verdict_to_string(health_judge(&h->last.pass)), text);
}

void ctl_health_print_problems(const struct ctl_health *h, FILE *f) {
        if (!h->problems)
                return;
        fprintf(f, "\nNeeds attention:\n");
        for (char **p = h->problems; *p; p++)
                fprintf(f, "  %s\n", *p);
}

json_t *ctl_health_last_pass_json(const struct ctl_health *h) {
        const struct planner_counts *c = &h->last.pass.counts;
        char start[CTL_TIME_MAX], end[CTL_TIME_MAX], text[256];

        if (h->last_r < 0)
                return json_null();
        health_describe(&h->last.pass, "detached", text, sizeof(text));
        return json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I}}", "start",
                         ctl_format_time(h->last.start_usec, true, start), "end",
                         ctl_format_time(h->last.end_usec, true, end), "result",
                         health_verdict_to_string(health_judge(&h->last.pass)), "summary", text, "lists",
                         (json_int_t) h->last.pass.lists, "entries", (json_int_t) h->last.pass.entries, "counts",
                         "detached", (json_int_t) c->detached, "skipped", (json_int_t) c->skipped,
                         "instances_failed", (json_int_t) health_instances_failed(c), "regions", (json_int_t) c->regions,
                         "regions_failed", (json_int_t) c->regions_failed, "keypairs_not_found",
                         (json_int_t) c->not_found, "newly_queued", (json_int_t) c->newly_queued);
}

json_t *ctl_health_problems_json(const struct ctl_health *h) {
        json_t *a = json_array();

        for (char **p = h->problems; a && p && *p; p++)
                if (json_array_append_new(a, json_string(*p)) < 0)
                        a = (json_decref(a), NULL);
        return a;
}
