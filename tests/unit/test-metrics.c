/* Unit tests for metrics.c: the exposition text of a few agent states (golden files under
 * tests/data/metrics/, also checked with promtool when installed), series caps, atomic writes. */
#include <sys/stat.h>

#include "io/metrics.h"
#include "tests.h"

#define T0 (1795800000ULL * USEC_PER_SEC)

struct call {
        const char *action;
        int error;
        const char *code;
        long http_status;
};

struct queued {
        const char *instance;
        enum queue_state state;
        uint64_t detached_usec;
        uint64_t done_usec; /* DONE: rebooted then ("completed") */
};

/* A containment record entry: status, and when the instance was found exposed. */
struct contained_at {
        const char *instance;
        enum contained_status status;
        uint64_t found_usec;
};

static const struct call calls_pass[] = {
        { "DescribeKeyPairs", 0, NULL, 200 },      { "DescribeInstances", 0, NULL, 200 },
        { "DescribeInstances", 0, NULL, 200 },     { "DetachKeyPair", -EREMOTEIO, "Throttling.User", 400 },
        { "DetachKeyPair", 0, NULL, 200 },         { "DetachKeyPair", -ETIMEDOUT, NULL, 0 },
        { "DetachKeyPair", -EBADMSG, NULL, 503 },  { "RebootInstance", -EREMOTEIO, "Bad\"Code\n\xc3\xa9", 400 },
        { "RebootInstance", -EREMOTEIO, "", 400 }, {},
};

static const struct queued queue_pass[] = {
        { "i-1", QUEUE_PENDING, T0 - 3600 * USEC_PER_SEC },
        { "i-2", QUEUE_PENDING, T0 - 60 * USEC_PER_SEC },
        { "i-3", QUEUE_REBOOTING, T0 - 7200 * USEC_PER_SEC - 500000 },
        { "i-4", QUEUE_DONE, T0 - 86400 * USEC_PER_SEC, T0 - 3600 * USEC_PER_SEC },
        { "i-5", QUEUE_DETACHING, 0 },
        {},
};

/* i-1 contained; i-2, i-6 (offline agent) and i-3 still exposed, i-6 the longest; i-4's reboot
 * ended its exposure. */
static const struct contained_at record_pass[] = {
        { "i-1", CONTAINED_DONE, T0 - 3000 * USEC_PER_SEC },
        { "i-2", CONTAINED_FAILED, T0 - 50 * USEC_PER_SEC },
        { "i-3", CONTAINED_RUNNING, T0 - 7000 * USEC_PER_SEC },
        { "i-4", CONTAINED_FAILED, T0 - 80000 * USEC_PER_SEC },
        { "i-6", CONTAINED_FAILED, T0 - 9000 * USEC_PER_SEC - 250000 },
        {},
};

static const struct {
        const char *golden;
        const struct call *calls;
        const struct queued *queue;
        const struct contained_at *record;
        struct planner_counts counts;
        struct metrics_input in;
} cases[] = {
        { "metrics/empty.prom", NULL, NULL, NULL, {}, { .pass_start_usec = T0, .pass_end_usec = T0, .now_usec = T0 } },
        { "metrics/pass.prom",
          calls_pass,
          queue_pass,
          record_pass,
          { .detached = 7, .skipped = 1, .failed = 2, .not_found = 3 },
          { .lists = 2,
            .entries = 12,
            .pass_start_usec = T0 - 1250000,
            .pass_end_usec = T0,
            .dry_run = true,
            .reboot_failures = 4,
            .now_usec = T0 } },
};

static struct state *make_state(const char *dir, const struct queued *q) {
        struct state *s = NULL;

        CHECK_INTEQ(state_load(dir, &s), 0);
        for (; q && q->instance; q++) {
                struct queue_entry *e;
                CHECK_INTEQ(state_add(s, q->instance, "cn-hangzhou", "kp-a", NULL, &e), 1);
                state_set(s, e, q->state);
                e->detached_usec = q->detached_usec;
                if (q->done_usec > 0) {
                        e->done_usec = q->done_usec;
                        CHECK_INTEQ(state_set_text(s, &e->outcome, "completed"), 0);
                }
        }
        return s;
}

/* The record of r, in a directory of its own (NULL without r). */
static struct contained *make_record(const char *dir, const struct contained_at *r) {
        _cleanup_free_ char *sub = NULL;
        struct contained *c = NULL;

        if (!r)
                return NULL;
        CHECK(asprintf(&sub, "%s/record", dir) > 0);
        CHECK(mkdir(sub, 0700) == 0 || errno == EEXIST);
        CHECK_INTEQ(contained_load(sub, &c), 0);
        for (; r->instance; r++) {
                struct contained_entry *e;
                if (r->status == CONTAINED_FAILED && !streq(r->instance, "i-2"))
                        CHECK_INTEQ(contained_note_unsent(c, r->instance, "cn-hangzhou", "d1", 1, NULL, "agent-offline",
                                                          r->found_usec), 0);
                else {
                        CHECK_INTEQ(contained_begin(c, r->instance, "cn-hangzhou", "d1", 1, NULL, "tok", r->found_usec, &e),
                                    0);
                        CHECK_INTEQ(contained_set(c, e, r->status, NULL, NULL, r->found_usec + 1), 0);
                }
        }
        return c;
}

static void observe(struct metrics *m, const struct call *c) {
        for (; c && c->action; c++) {
                struct ecs_result r = { .error = c->error, .code = c->code, .http_status = c->http_status };
                metrics_observe_cb(c->action, &r, m);
        }
}

/* promtool, when installed, must accept the text (counters end in _total, HELP, TYPE, ...). */
static void check_with_promtool(const char *dir, const char *text) {
        _cleanup_free_ char *path = NULL, *cmd = NULL;
        FILE *f;

        if (system("command -v promtool >/dev/null") != 0) {
                fprintf(stderr, "promtool not found, lint skipped\n");
                return;
        }
        CHECK(asprintf(&path, "%s/lint.prom", dir) > 0);
        CHECK((f = fopen(path, "we")));
        if (!f)
                return;
        fputs(text, f);
        fclose(f);
        CHECK(asprintf(&cmd, "promtool check metrics <'%s'", path) > 0);
        CHECK(system(cmd) == 0);
}

static void test_format(const char *dir) {
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(metrics_freep) struct metrics *m = NULL;
                _cleanup_(state_freep) struct state *s = make_state(dir, cases[i].queue);
                _cleanup_(contained_freep) struct contained *c = make_record(dir, cases[i].record);
                _cleanup_free_ char *text = NULL, *golden = tests_read_data(cases[i].golden, NULL);
                struct metrics_input in = cases[i].in;

                CHECK_INTEQ(metrics_new(&m), 0);
                observe(m, cases[i].calls);
                in.pass = &cases[i].counts;
                in.state = s;
                in.contained = c;
                CHECK_INTEQ(metrics_format(m, &in, &text), 0);
                CHECK_STREQ(text, golden);
                check_with_promtool(dir, strempty(text));
        }
}

/* What status shows: the same counts and the same oldest uncontained instance. */
static void test_containment(const char *dir) {
        _cleanup_(state_freep) struct state *s = make_state(dir, queue_pass);
        _cleanup_(contained_freep) struct contained *c = make_record(dir, record_pass);
        struct metrics_containment mc;

        metrics_containment(NULL, s, &mc);
        CHECK(mc.contained == 0 && mc.uncontained == 0 && !mc.oldest_uncontained);
        metrics_containment(c, s, &mc);
        CHECK_INTEQ(mc.contained, 1);
        CHECK_INTEQ(mc.uncontained, 3);
        CHECK(mc.oldest_uncontained && streq(mc.oldest_uncontained->instance_id, "i-6"));
        CHECK_STREQ(mc.oldest_uncontained->error, "agent-offline");
}

static size_t count_lines(const char *text, const char *prefix) {
        size_t n = 0;

        for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
                n += strneq(p, prefix, strlen(prefix));
        return n;
}

/* Error codes come from the network: past METRICS_SERIES_MAX series they are lumped as "other". */
static void test_series_cap(const char *dir) {
        _cleanup_(metrics_freep) struct metrics *m = NULL;
        _cleanup_(state_freep) struct state *s = make_state(dir, NULL);
        _cleanup_free_ char *text = NULL;
        struct planner_counts counts = {};
        struct metrics_input in = { .pass = &counts, .state = s };
        char code[32];

        CHECK_INTEQ(metrics_new(&m), 0);
        for (unsigned i = 0; i < 2 * METRICS_SERIES_MAX; i++) {
                struct ecs_result r = { .error = -EREMOTEIO, .code = code };
                snprintf(code, sizeof(code), "Code%04u", i);
                metrics_observe_cb("DescribeInstances", &r, m);
                metrics_observe_cb("DescribeInstances", &r, m);
        }
        CHECK_INTEQ(metrics_format(m, &in, &text), 0);
        CHECK_INTEQ(count_lines(text, "keyrevoke_api_errors_total{"), METRICS_SERIES_MAX);
        CHECK(strstr(text, "keyrevoke_api_errors_total{action=\"DescribeInstances\",code=\"Code0000\"} 2\n"));
        CHECK(strstr(text, "keyrevoke_api_errors_total{action=\"DescribeInstances\",code=\"other\"} 514\n"));
        CHECK(strstr(text, "keyrevoke_api_requests_total{action=\"DescribeInstances\"} 1024\n"));
        CHECK(!strstr(text, "Code0300"));
}

static void test_write(const char *dir) {
        _cleanup_(metrics_freep) struct metrics *m = NULL;
        _cleanup_(state_freep) struct state *s = make_state(dir, queue_pass);
        _cleanup_free_ char *path = NULL, *missing = NULL, *text = NULL, *written = NULL;
        struct planner_counts counts = { .detached = 1 };
        struct metrics_input in = { .pass = &counts, .state = s, .now_usec = T0 };
        struct stat st;
        FILE *f;

        CHECK_INTEQ(metrics_new(&m), 0);
        CHECK(asprintf(&path, "%s/keyrevoke.prom", dir) > 0);
        CHECK(asprintf(&missing, "%s/no/such/dir.prom", dir) > 0);
        umask(0077);
        CHECK_INTEQ(metrics_write(path, m, &in), 0);
        CHECK_INTEQ(metrics_write(path, m, &in), 0); /* replaces */
        CHECK_INTEQ(stat(path, &st), 0);
        CHECK_INTEQ(st.st_mode & 07777, 0644);
        CHECK_INTEQ(metrics_format(m, &in, &text), 0);
        CHECK((f = fopen(path, "re")));
        if (f) {
                size_t size = 0;
                CHECK(getdelim(&written, &size, '\0', f) > 0);
                fclose(f);
        }
        CHECK_STREQ(written, text);
        CHECK_INTEQ(metrics_write(missing, m, &in), -ENOENT);
}

/* Only the queue file and the written files may be left: no temp file. */
static void check_no_temp(const char *dir) {
        _cleanup_free_ char *cmd = NULL;

        CHECK(asprintf(&cmd, "test -z \"$(find '%s' -name '.keyrevoke.prom.*')\"", dir) > 0);
        CHECK(system(cmd) == 0);
}

int main(void) {
        char dir[] = "/tmp/test-metrics.XXXXXX";
        _cleanup_free_ char *cleanup = NULL;

        CHECK(mkdtemp(dir));
        test_format(dir);
        test_containment(dir);
        test_series_cap(dir);
        test_write(dir);
        check_no_temp(dir);
        CHECK(asprintf(&cleanup, "rm -rf '%s'", dir) > 0);
        CHECK(system(cleanup) == 0);
        TESTS_DONE();
}
