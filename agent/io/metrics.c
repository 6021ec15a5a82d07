/* Prometheus textfile-collector output: API counters, the last pass, the reboot queue and
 * containment. */
#include <inttypes.h>

#include "base/fileio.h"
#include "io/metrics.h"

#define METRICS_PREFIX "keyrevoke_"

/* One counter: the requests of action (code NULL), or its errors with code. */
struct metrics_series {
        char *action;
        char *code;
        uint64_t count;
};

struct metrics {
        struct metrics_series *series; /* sorted by action, then code (NULL first) */
        size_t n, allocated;
};

int metrics_new(struct metrics **ret) {
        struct metrics *m = calloc(1, sizeof(*m));

        if (!m)
                return -ENOMEM;
        *ret = m;
        return 0;
}

struct metrics *metrics_free(struct metrics *m) {
        if (!m)
                return NULL;
        for (size_t i = 0; i < m->n; i++) {
                free(m->series[i].action);
                free(m->series[i].code);
        }
        free(m->series);
        free(m);
        return NULL;
}

/* A label value that needs no escaping: [A-Za-z0-9._:-], others become '_', at most
 * METRICS_LABEL_MAX bytes; "unknown" for an empty value. */
static char *label_value(const char *s) {
        size_t n = strnlen(s, METRICS_LABEL_MAX);
        char *v;

        if (n == 0)
                return strdup("unknown");
        v = strndup(s, n);
        for (char *p = v; p && *p; p++)
                if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-", *p))
                        *p = '_';
        return v;
}

static int series_compare(const char *action, const char *code, const struct metrics_series *s) {
        int c = strcmp(action, s->action);

        if (c != 0 || streq_ptr(code, s->code))
                return c;
        if (!code || !s->code)
                return code ? 1 : -1;
        return strcmp(code, s->code);
}

/* The series (action, code); when missing it is added in order if add is set. NULL when
 * missing and not added, or on ENOMEM. */
static struct metrics_series *metrics_series(struct metrics *m, const char *action, const char *code, bool add) {
        _cleanup_free_ char *a = label_value(action), *c = code ? label_value(code) : NULL;
        size_t i = 0;

        if (!a || (code && !c))
                return NULL;
        for (; i < m->n; i++) {
                int k = series_compare(a, c, &m->series[i]);
                if (k == 0)
                        return &m->series[i];
                if (k < 0)
                        break;
        }
        if (!add)
                return NULL;
        if (m->n == m->allocated) {
                size_t n = m->allocated ? m->allocated * 2 : 16;
                struct metrics_series *s = reallocarray(m->series, n, sizeof(*s));
                if (!s)
                        return NULL;
                m->series = s;
                m->allocated = n;
        }
        memmove(&m->series[i + 1], &m->series[i], (m->n - i) * sizeof(*m->series));
        m->series[i] = (struct metrics_series){ TAKE_PTR(a), TAKE_PTR(c), 0 };
        m->n++;
        return &m->series[i];
}

/* Counts one more in (action, code). Past METRICS_SERIES_MAX series, a new error code is
 * counted as the action's code "other" and a new action as action "other". */
static void metrics_count(struct metrics *m, const char *action, const char *code) {
        struct metrics_series *s = metrics_series(m, action, code, m->n < METRICS_SERIES_MAX);

        if (!s)
                s = metrics_series(m, code ? action : "other", code ? "other" : NULL, true);
        if (s)
                s->count++;
}

/* The code label of a failed attempt: the API's code, the HTTP status of an answer without
 * one, or the errno name of a transport error. */
static const char *error_code(const struct ecs_result *r, char *buf, size_t size) {
        const char *name;

        if (r->code)
                return r->code;
        if (r->error == -EBADMSG && r->http_status > 0) {
                snprintf(buf, size, "HTTP%ld", r->http_status);
                return buf;
        }
        name = strerrorname_np(-r->error);
        if (name)
                return name;
        snprintf(buf, size, "E%d", -r->error);
        return buf;
}

void metrics_observe_cb(const char *action, const struct ecs_result *r, void *userdata) {
        struct metrics *m = userdata;
        char buf[32];

        metrics_count(m, action, NULL);
        if (r->error < 0)
                metrics_count(m, action, error_code(r, buf, sizeof(buf)));
}

const struct queue_entry *metrics_oldest_exposed(const struct state *s) {
        struct queue_entry *e, *oldest = NULL;
        size_t i = 0;

        while (state_iterate(s, &i, &e))
                if ((e->state == QUEUE_PENDING || e->state == QUEUE_REBOOTING) && e->detached_usec > 0 &&
                    (!oldest || e->detached_usec < oldest->detached_usec))
                        oldest = e;
        return oldest;
}

/* The instance was rebooted after its exposure began: the reboot ended it. */
static bool rebooted_since(const struct state *s, const struct contained_entry *e) {
        const struct queue_entry *q = state_find(s, e->instance_id);

        return q && q->state == QUEUE_DONE && streq_ptr(q->outcome, "completed") && q->done_usec >= e->found_usec;
}

bool metrics_uncontained(const struct contained_entry *e, const struct state *s) {
        return e->status != CONTAINED_DONE && !rebooted_since(s, e);
}

void metrics_containment(const struct contained *c, const struct state *s, struct metrics_containment *ret) {
        struct contained_entry *e;
        size_t i = 0;

        *ret = (struct metrics_containment) {};
        while (c && contained_iterate(c, &i, &e)) {
                if (e->status == CONTAINED_DONE)
                        ret->contained++;
                else if (metrics_uncontained(e, s)) {
                        ret->uncontained++;
                        if (!ret->oldest_uncontained || e->found_usec < ret->oldest_uncontained->found_usec)
                                ret->oldest_uncontained = e;
                }
        }
}

/* ---- formatting ---------------------------------------------------------------------------- */

static void header(FILE *f, const char *name, const char *type, const char *help) {
        fprintf(f, "# HELP " METRICS_PREFIX "%s %s\n# TYPE " METRICS_PREFIX "%s %s\n", name, help, name, type);
}

static void gauge(FILE *f, const char *name, const char *help, uint64_t value) {
        header(f, name, "gauge", help);
        fprintf(f, METRICS_PREFIX "%s %" PRIu64 "\n", name, value);
}

/* Seconds with microseconds, without floating point. */
static void gauge_seconds(FILE *f, const char *name, const char *help, uint64_t usec) {
        header(f, name, "gauge", help);
        fprintf(f, METRICS_PREFIX "%s %" PRIu64 ".%06" PRIu64 "\n", name, usec / USEC_PER_SEC, usec % USEC_PER_SEC);
}

static void format_pass(FILE *f, const struct metrics_input *in) {
        const struct planner_counts *c = in->pass;
        uint64_t duration = in->pass_end_usec > in->pass_start_usec ? in->pass_end_usec - in->pass_start_usec : 0;

        header(f, "last_pass_instances", "gauge", "Instances of the last enforcement pass, by result.");
        fprintf(f, METRICS_PREFIX "last_pass_instances{result=\"detached\"} %u\n", c->detached);
        fprintf(f, METRICS_PREFIX "last_pass_instances{result=\"skipped\"} %u\n", c->skipped);
        fprintf(f, METRICS_PREFIX "last_pass_instances{result=\"failed\"} %u\n", c->failed);
        gauge(f, "last_pass_keypairs_not_found", "Named key pairs of the last pass that exist nowhere.", c->not_found);
        gauge(f, "last_pass_dry_run", "1 when the last pass was a dry run (nothing was detached).", in->dry_run);
        gauge_seconds(f, "last_pass_timestamp_seconds", "When the last enforcement pass ended (Unix time).",
                      in->pass_end_usec);
        gauge_seconds(f, "last_pass_duration_seconds", "How long the last enforcement pass took.", duration);
}

static void format_queue(FILE *f, const struct metrics_input *in) {
        const struct queue_entry *oldest = metrics_oldest_exposed(in->state);

        gauge(f, "reboot_queue_length", "Detached instances whose reboot is still to come (pending, rebooting).",
              state_count(in->state, QUEUE_PENDING) + state_count(in->state, QUEUE_REBOOTING));
        header(f, "queue_entries", "gauge", "Entries of the persistent reboot queue, by state.");
        for (enum queue_state s = 0; s < _QUEUE_STATE_MAX; s++)
                fprintf(f, METRICS_PREFIX "queue_entries{state=\"%s\"} %zu\n", queue_state_to_string(s),
                        state_count(in->state, s));
        gauge_seconds(f, "oldest_exposure_seconds",
                      "Time since the oldest detach whose reboot is still to come (0 when none).",
                      oldest && oldest->detached_usec < in->now_usec ? in->now_usec - oldest->detached_usec : 0);
        gauge_seconds(f, "oldest_exposure_timestamp_seconds",
                      "When the oldest detach whose reboot is still to come was made (Unix time; 0 when none).",
                      oldest ? oldest->detached_usec : 0);
        header(f, "reboot_failures_total", "counter", "Reboots that failed since the daemon started.");
        fprintf(f, METRICS_PREFIX "reboot_failures_total %u\n", in->reboot_failures);
}

static void format_sources(FILE *f, const struct metrics_input *in) {
        header(f, "launch_sources_referencing", "gauge",
               "Launch template versions and scaling configurations naming a revoked key pair or carrying a revoked "
               "key, by kind.");
        fprintf(f, METRICS_PREFIX "launch_sources_referencing{kind=\"launch-template\"} %zu\n",
                referenced_count(in->referenced, "launch-template:"));
        fprintf(f, METRICS_PREFIX "launch_sources_referencing{kind=\"scaling-configuration\"} %zu\n",
                referenced_count(in->referenced, "scaling-configuration:"));
}

static void format_containment(FILE *f, const struct metrics_input *in) {
        struct metrics_containment c;
        uint64_t since;

        metrics_containment(in->contained, in->state, &c);
        since = c.oldest_uncontained ? c.oldest_uncontained->found_usec : 0;
        header(f, "contained_instances", "gauge",
               "Instances whose revoked keys are blocked (contained) or still exposed (uncontained).");
        fprintf(f, METRICS_PREFIX "contained_instances{state=\"contained\"} %zu\n", c.contained);
        fprintf(f, METRICS_PREFIX "contained_instances{state=\"uncontained\"} %zu\n", c.uncontained);
        gauge_seconds(f, "oldest_uncontained_seconds",
                      "Time since the oldest uncontained instance was found exposed (0 when none).",
                      since > 0 && since < in->now_usec ? in->now_usec - since : 0);
        gauge_seconds(f, "oldest_uncontained_timestamp_seconds",
                      "When the oldest uncontained instance was found exposed (Unix time; 0 when none).", since);
}

static void format_api(FILE *f, const struct metrics *m) {
        header(f, "api_requests_total", "counter", "ECS API requests sent, retries included, by action.");
        for (size_t i = 0; i < m->n; i++)
                if (!m->series[i].code)
                        fprintf(f, METRICS_PREFIX "api_requests_total{action=\"%s\"} %" PRIu64 "\n",
                                m->series[i].action, m->series[i].count);
        header(f, "api_errors_total", "counter",
               "ECS API requests that failed, by action and error code (API code, HTTPnnn or errno name).");
        for (size_t i = 0; i < m->n; i++)
                if (m->series[i].code)
                        fprintf(f, METRICS_PREFIX "api_errors_total{action=\"%s\",code=\"%s\"} %" PRIu64 "\n",
                                m->series[i].action, m->series[i].code, m->series[i].count);
}

int metrics_format(const struct metrics *m, const struct metrics_input *in, char **ret) {
        _cleanup_free_ char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);

        if (!f)
                return -ENOMEM;
        gauge(f, "revocation_lists", "Revocation list files loaded.", in->lists);
        gauge(f, "revoked_entries", "Entries in the loaded revocation lists.", in->entries);
        format_pass(f, in);
        format_queue(f, in);
        format_sources(f, in);
        format_containment(f, in);
        format_api(f, m);
        if (fclose(f) != 0 || !text)
                return -ENOMEM;
        *ret = TAKE_PTR(text);
        return 0;
}

int metrics_write(const char *path, const struct metrics *m, const struct metrics_input *in) {
        _cleanup_free_ char *text = NULL;
        int r = metrics_format(m, in, &text);

        if (r < 0)
                return r;
        return fileio_write_atomic(path, text, strlen(text), 0644);
}
