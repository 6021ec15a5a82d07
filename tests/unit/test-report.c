/* Unit tests for report.c: kind names and ids, the shipped catalog, the logfmt fallback, sinks. */
#include <fcntl.h>
#include <sys/stat.h>

#include "io/report.h"
#include "tests.h"

/* SPEC.md's table, in enum order. */
static const char *const kind_names[_EVENT_KIND_MAX] = {
        "list-loaded",     "list-error",     "keypair-not-found", "detached",       "would-detach",
        "skipped-windows", "detach-failed",  "reboot-queued",     "reboot-started", "would-reboot",
        "reboot-completed", "reboot-skipped", "reboot-failed",    "lookup-failed",  "contained",
        "would-contain",   "contain-failed", "keypair-referenced", "keypair-deleted", "enforcement-complete",
};

static bool is_message_id(const char *s) {
        return s && strlen(s) == 32 && strspn(s, "0123456789abcdef") == 32;
}

static void test_kinds(void) {
        for (enum event_kind k = 0; k < _EVENT_KIND_MAX; k++) {
                CHECK_STREQ(event_kind_to_string(k), kind_names[k]);
                CHECK(is_message_id(event_kind_message_id(k)));
                for (enum event_kind j = 0; j < k; j++) {
                        CHECK(!streq(event_kind_message_id(j), event_kind_message_id(k)));
                        CHECK(!streq(event_kind_to_string(j), event_kind_to_string(k)));
                }
        }
        CHECK(!event_kind_to_string(_EVENT_KIND_MAX));
        CHECK(!event_kind_message_id(_EVENT_KIND_MAX));
}

static char *read_file(const char *path) {
        FILE *f = fopen(path, "re");
        char *buf = NULL;
        size_t size = 0;

        CHECK(f);
        if (!f)
                return strdup("");
        if (getdelim(&buf, &size, '\0', f) < 0) {
                CHECK(feof(f));
                free(buf);
                buf = strdup("");
        }
        fclose(f);
        return buf;
}

static char *command_output(const char *command) {
        FILE *f = popen(command, "r");
        char *buf = NULL;
        size_t size = 0;

        CHECK(f);
        if (!f)
                return strdup("");
        if (getdelim(&buf, &size, '\0', f) < 0) {
                free(buf);
                buf = strdup("");
        }
        CHECK(pclose(f) == 0);
        return buf;
}

/* journalctl parses the catalog as installed (offline, with --root) and lists every id. */
static void check_catalog_with_journalctl(const char *catalog) {
        char root[] = "/tmp/test-report.XXXXXX";
        _cleanup_free_ char *cmd = NULL, *list = NULL;

        if (system("command -v journalctl >/dev/null") != 0) {
                fprintf(stderr, "journalctl not found, catalog parse check skipped\n");
                return;
        }
        CHECK(mkdtemp(root));
        CHECK(asprintf(&cmd,
                       "mkdir -p %1$s/usr/lib/systemd/catalog && cp '%2$s' %1$s/usr/lib/systemd/catalog/ && "
                       "journalctl --root=%1$s --update-catalog",
                       root, catalog) > 0);
        CHECK(system(cmd) == 0);
        free(cmd);
        CHECK(asprintf(&cmd, "journalctl --root=%s --list-catalog", root) > 0);
        list = command_output(cmd);
        for (enum event_kind k = 0; k < _EVENT_KIND_MAX; k++)
                CHECK(strstr(list, event_kind_message_id(k)));
        free(cmd);
        CHECK(asprintf(&cmd, "rm -rf '%s'", root) > 0);
        CHECK(system(cmd) == 0);
}

static void test_catalog(void) {
        const char *srcdir = getenv("srcdir");
        _cleanup_free_ char *path = NULL, *text = NULL;
        size_t n_entries = 0;

        CHECK(asprintf(&path, "%s/systemd/keyrevoke.catalog", srcdir ? srcdir : ".") > 0);
        text = read_file(path);
        for (enum event_kind k = 0; k < _EVENT_KIND_MAX; k++) {
                char header[64];
                snprintf(header, sizeof(header), "\n-- %s\n", event_kind_message_id(k));
                CHECK(strstr(text, header));
        }
        for (const char *p = text; (p = strstr(p, "\n-- ")); p++)
                n_entries++;
        CHECK_INTEQ(n_entries, _EVENT_KIND_MAX);
        check_catalog_with_journalctl(path);
}

static const char *const count_extras[] = {
        "KEYREVOKE_DETACHED=3", "KEYREVOKE_SKIPPED=0", "not a field", "lower=x", "_KEYREVOKE_X=1", "=empty",
        NULL,
};

static const char *const many_extras[] = {
        "E1=1", "E2=2", "E3=3", "E4=4", "E5=5", "E6=6", "E7=7", "E8=8", "E9=9", "E10=10", "E11=11",
        "E12=12", "E13=13", "E14=14", "E15=15", "E16=16", "E17=17", "E18=18", NULL,
};

static const struct {
        enum event_kind kind;
        struct event_fields fields;
        const char *message;
        const char *expected;
} logfmt_cases[] = {
        { EVENT_DETACHED,
          { .keypair = "kp-1", .region = "cn-hangzhou", .instance = "i-1",
            .request_id = "473469C7-AA6F-4DC5", .reason = "left the company" },
          "Detached key pair kp-1 from i-1",
          "event=detached priority=5 keypair=kp-1 region=cn-hangzhou instance=i-1 "
          "request_id=473469C7-AA6F-4DC5 reason=\"left the company\" "
          "msg=\"Detached key pair kp-1 from i-1\"\n" },
        { EVENT_LIST_ERROR,
          { .list = "/etc/keyrevoke/revoked.d/a b.list", .line = 7, .error = "bad \"key\" \\ here" },
          "line 7:\nbad\tkey\x01\x7f",
          "event=list-error priority=3 error=\"bad \\\"key\\\" \\\\ here\" "
          "list=\"/etc/keyrevoke/revoked.d/a b.list\" line=7 msg=\"line 7:\\nbad\\tkey\\u0001\\u007f\"\n" },
        { EVENT_LIST_ERROR, { .list = "/x.list", .line = 0, .error = "" }, "whole file",
          "event=list-error priority=3 error=\"\" list=/x.list msg=\"whole file\"\n" },
        { EVENT_WOULD_DETACH, { .keypair = "kp=1", .reason = "ünïcödé", .dry_run = true }, "x",
          "event=would-detach priority=5 keypair=\"kp=1\" reason=ünïcödé dry_run=1 msg=x\n" },
        { EVENT_ENFORCEMENT_COMPLETE, { .extra = count_extras }, "3 detached",
          "event=enforcement-complete priority=6 detached=3 skipped=0 msg=\"3 detached\"\n" },
        { EVENT_REBOOT_SKIPPED, { .instance = "i-2", .extra = many_extras }, "",
          "event=reboot-skipped priority=5 instance=i-2 e1=1 e2=2 e3=3 e4=4 e5=5 e6=6 e7=7 e8=8 e9=9 e10=10 "
          "e11=11 e12=12 e13=13 e14=14 e15=15 e16=16 msg=\"\"\n" },
        { EVENT_SKIPPED_WINDOWS, { .instance = "i-w" }, "Windows",
          "event=skipped-windows priority=4 instance=i-w msg=Windows\n" },
        { EVENT_REBOOT_FAILED, { .instance = "i-3", .error = "HealthTimeout" }, "timeout",
          "event=reboot-failed priority=4 instance=i-3 error=HealthTimeout msg=timeout\n" },
        { EVENT_KEYPAIR_NOT_FOUND, { .keypair = "kp-x", .region = "r" }, "not found",
          "event=keypair-not-found priority=5 keypair=kp-x region=r msg=\"not found\"\n" },
        { EVENT_LIST_LOADED, { .list = "/a.list" }, "3 entries",
          "event=list-loaded priority=6 list=/a.list msg=\"3 entries\"\n" },
};

/* Runs fn with stderr redirected to a temp file; returns what was written. */
static char *capture_stderr(void (*fn)(void)) {
        char path[] = "/tmp/test-report-stderr.XXXXXX";
        int fd = mkstemp(path), saved = dup(STDERR_FILENO);
        char *text;

        CHECK(fd >= 0 && saved >= 0);
        fflush(stderr);
        CHECK(dup2(fd, STDERR_FILENO) == STDERR_FILENO);
        fn();
        fflush(stderr);
        CHECK(dup2(saved, STDERR_FILENO) == STDERR_FILENO);
        close(saved);
        close(fd);
        text = read_file(path);
        (void) unlink(path);
        return text;
}

static void send_logfmt_cases(void) {
        for (size_t i = 0; i < ELEMENTSOF(logfmt_cases); i++)
                report_event(logfmt_cases[i].kind, &logfmt_cases[i].fields, "%s", logfmt_cases[i].message);
        report_event(EVENT_REBOOT_QUEUED, NULL, "queued %s in %d s", "i-4", 5);
}

static void test_logfmt(void) {
        _cleanup_free_ char *out = NULL;
        const char *p;

        report_set_stderr(true);
        out = capture_stderr(send_logfmt_cases);
        report_set_stderr(false);
        p = out;
        for (size_t i = 0; i < ELEMENTSOF(logfmt_cases); i++) {
                size_t n = strlen(logfmt_cases[i].expected);
                if (!strneq(p, logfmt_cases[i].expected, n)) {
                        fprintf(stderr, "case %zu: got: %.*s", i, (int) strcspn(p, "\n") + 1, p);
                        CHECK_STREQ("", logfmt_cases[i].expected);
                        return;
                }
                p += n;
        }
        CHECK_STREQ(p, "event=reboot-queued priority=5 msg=\"queued i-4 in 5 s\"\n");
}

static void send_one(void) {
        report_event(EVENT_DETACHED, &(struct event_fields) { .instance = "i-1" }, "detached");
}

/* Without a journald socket the same line goes to stderr unforced. */
static void test_fallback(void) {
        _cleanup_free_ char *out = NULL;

        if (access("/run/systemd/journal/socket", F_OK) == 0) {
                fprintf(stderr, "journald is running, fallback check skipped\n");
                return;
        }
        out = capture_stderr(send_one);
        CHECK_STREQ(out, "event=detached priority=5 instance=i-1 msg=detached\n");
}

struct sink_seen {
        unsigned n;
        enum event_kind kind;
        char *instance;
        char *message;
};

static void sink_cb(enum event_kind kind, const struct event_fields *f, const char *message,
                    void *userdata) {
        struct sink_seen *seen = userdata;

        seen->n++;
        seen->kind = kind;
        free(seen->instance);
        free(seen->message);
        seen->instance = f->instance ? strdup(f->instance) : NULL;
        seen->message = strdup(message);
}

static void send_to_sink(void) {
        report_event(EVENT_WOULD_REBOOT, &(struct event_fields) { .instance = "i-9" }, "would reboot %d", 9);
        report_event(EVENT_REBOOT_QUEUED, NULL, "queued");
}

/* A sink receives the events instead of journald and stderr. */
static void test_sink(void) {
        struct sink_seen seen = {};
        _cleanup_free_ char *out = NULL;

        report_set_stderr(true);
        report_set_sink(sink_cb, &seen);
        out = capture_stderr(send_to_sink);
        report_set_sink(NULL, NULL);
        report_set_stderr(false);
        CHECK_STREQ(out, "");
        CHECK_INTEQ(seen.n, 2);
        CHECK_INTEQ(seen.kind, EVENT_REBOOT_QUEUED);
        CHECK(!seen.instance);
        CHECK_STREQ(seen.message, "queued");
        free(seen.instance);
        free(seen.message);
}

int main(void) {
        test_kinds();
        test_catalog();
        test_logfmt();
        test_fallback();
        test_sink();

        TESTS_DONE();
}
