/* Unit tests for conf.c: defaults, the files under tests/data/conf/, drop-ins and FILE:LINE diags. */
#include <ctype.h>
#include <ftw.h>
#include <sys/stat.h>

#include "base/strutil.h"
#include "logic/conf.h"

#include "tests.h"

#define MAX_DIAGS 20

static void check_diags(const struct diags *d, const char *const *expected) {
        size_t n = 0;

        while (n < MAX_DIAGS && expected[n])
                n++;
        CHECK_INTEQ(d->n, n);
        for (size_t i = 0; i < d->n; i++) {
                _cleanup_free_ char *s = diag_format(&d->items[i]);
                if (i < n)
                        CHECK_STREQ(s, expected[i]);
                else
                        fprintf(stderr, "unexpected: %s\n", s);
        }
}

static void check_strv(char **l, const char *const *expected) {
        size_t n = 0;

        while (expected[n])
                n++;
        CHECK_INTEQ(strv_length(l), n);
        for (size_t i = 0; i < n && i < strv_length(l); i++)
                CHECK_STREQ(l[i], expected[i]);
}

/* Compares every key, path keys only when with_paths (they depend on the configure prefix). */
static void check_conf_equal(const struct conf *a, const struct conf *b, bool with_paths) {
        if (with_paths) {
                CHECK(streq_ptr(a->revocation_directory, b->revocation_directory));
                CHECK(streq_ptr(a->state_directory, b->state_directory));
        }
        CHECK(a->dry_run == b->dry_run);
        CHECK(a->rescan_interval_usec == b->rescan_interval_usec);
        CHECK(streq_ptr(a->metrics_file, b->metrics_file));
        CHECK(streq_ptr(a->endpoint, b->endpoint));
        CHECK_INTEQ(strv_length(a->regions), strv_length(b->regions));
        CHECK(streq_ptr(a->ca_file, b->ca_file));
        CHECK(streq_ptr(a->credentials_file, b->credentials_file));
        CHECK(streq_ptr(a->profile, b->profile));
        CHECK(streq_ptr(a->ram_role, b->ram_role));
        CHECK(streq_ptr(a->metadata_endpoint, b->metadata_endpoint));
        CHECK(a->max_concurrent_requests == b->max_concurrent_requests);
        CHECK(a->max_requests_per_second == b->max_requests_per_second);
        CHECK(a->request_timeout_usec == b->request_timeout_usec);
        CHECK(a->max_retries == b->max_retries);
        CHECK(a->reboot_enabled == b->reboot_enabled);
        CHECK(streq_ptr(a->time_zone, b->time_zone));
        CHECK(a->max_parallel == b->max_parallel);
        CHECK(a->cutoff_usec == b->cutoff_usec);
        CHECK(a->force_stop == b->force_stop);
        CHECK(a->health_timeout_usec == b->health_timeout_usec);
        CHECK(a->max_failures == b->max_failures);
}

static void test_defaults(void) {
        _cleanup_(conf_freep) struct conf *c = NULL;

        CHECK_INTEQ(conf_new(NULL, &c), 0);
        CHECK_STREQ(c->revocation_directory, CONF_DEFAULT_REVOCATION_DIRECTORY);
        CHECK_STREQ(c->state_directory, CONF_DEFAULT_STATE_DIRECTORY);
        CHECK(!c->dry_run);
        CHECK_INTEQ(c->rescan_interval_usec, USEC_PER_HOUR);
        CHECK(!c->metrics_file);
        CHECK_STREQ(c->endpoint, "https://ecs.{region}.aliyuncs.com");
        CHECK_INTEQ(strv_length(c->regions), 0);
        CHECK(!c->ca_file && !c->credentials_file && !c->ram_role && !c->time_zone);
        CHECK_STREQ(c->profile, "default");
        CHECK_STREQ(c->metadata_endpoint, "http://100.100.100.200");
        CHECK_INTEQ(c->max_concurrent_requests, 8);
        CHECK_INTEQ(c->max_requests_per_second, 20);
        CHECK_INTEQ(c->request_timeout_usec, 10 * USEC_PER_SEC);
        CHECK_INTEQ(c->max_retries, 5);
        CHECK(c->reboot_enabled);
        CHECK(window_set_is_empty(&c->windows));
        CHECK_INTEQ(c->max_parallel, 5);
        CHECK_INTEQ(c->cutoff_usec, 15 * USEC_PER_MINUTE);
        CHECK(!c->force_stop);
        CHECK_INTEQ(c->health_timeout_usec, 10 * USEC_PER_MINUTE);
        CHECK_INTEQ(c->max_failures, 3);
        c = conf_free(c);

        /* $STATE_DIRECTORY: its first entry, when absolute. */
        CHECK_INTEQ(conf_new("/var/lib/private/keyrevoke:/var/lib/other", &c), 0);
        CHECK_STREQ(c->state_directory, "/var/lib/private/keyrevoke");
        c = conf_free(c);
        CHECK_INTEQ(conf_new("relative/dir", &c), 0);
        CHECK_STREQ(c->state_directory, CONF_DEFAULT_STATE_DIRECTORY);
        c = conf_free(c);
        CHECK_INTEQ(conf_new("", &c), 0);
        CHECK_STREQ(c->state_directory, CONF_DEFAULT_STATE_DIRECTORY);
}

/* Parses tests/data/conf/name into a fresh conf; returns conf_parse()'s result. */
static int parse_data(const char *name, const char *state_directory_env, struct conf **ret, struct diags *d) {
        _cleanup_free_ char *text = tests_read_data(name, NULL);
        int r;

        CHECK_INTEQ(conf_new(state_directory_env, ret), 0);
        r = conf_parse(*ret, name, text, d);
        if (r != -EINVAL)
                diags_print(d, stderr);
        return r;
}

static void test_full(void) {
        _cleanup_(conf_freep) struct conf *c = NULL;
        struct diags d = {};

        CHECK_INTEQ(parse_data("conf/full.conf", NULL, &c, &d), 0);
        CHECK_INTEQ(d.n, 0);
        CHECK_STREQ(c->revocation_directory, "/srv/keyrevoke/revoked.d");
        CHECK_STREQ(c->state_directory, "/srv/keyrevoke/state");
        CHECK(c->dry_run);
        CHECK_INTEQ(c->rescan_interval_usec, 90 * USEC_PER_MINUTE);
        CHECK_STREQ(c->metrics_file, "/var/lib/node_exporter/keyrevoke.prom");
        CHECK_STREQ(c->endpoint, "https://127.0.0.1:8443/{region}");
        check_strv(c->regions, (const char *const[]) { "cn-hangzhou", "ap-southeast-1", NULL });
        CHECK_STREQ(c->ca_file, "/etc/keyrevoke/ca.pem");
        CHECK_STREQ(c->credentials_file, "/etc/keyrevoke/credentials");
        CHECK_STREQ(c->profile, "prod_2");
        CHECK_STREQ(c->ram_role, "KeyRevokeRole");
        CHECK_STREQ(c->metadata_endpoint, "https://127.0.0.1:9443");
        CHECK_INTEQ(c->max_concurrent_requests, 64);
        CHECK_INTEQ(c->max_requests_per_second, 1000);
        CHECK_INTEQ(c->request_timeout_usec, 5 * USEC_PER_MINUTE);
        CHECK_INTEQ(c->max_retries, 0);
        CHECK(!c->reboot_enabled);
        CHECK_INTEQ(c->windows.n, 2);
        CHECK(!c->windows.always);
        if (c->windows.n == 2) {
                CHECK_INTEQ(c->windows.items[0].days, 0x60);
                CHECK_INTEQ(c->windows.items[1].days, 0x1f);
                CHECK_INTEQ(c->windows.items[1].start_minute, 23 * 60);
                CHECK_INTEQ(c->windows.items[1].end_minute, 60);
        }
        CHECK_STREQ(c->time_zone, "Asia/Shanghai");
        CHECK_INTEQ(c->max_parallel, 100);
        CHECK_INTEQ(c->cutoff_usec, 0);
        CHECK(c->force_stop);
        CHECK_INTEQ(c->health_timeout_usec, USEC_PER_DAY);
        CHECK_INTEQ(c->max_failures, 1000);
        diags_clear(&d);
}

/* SPEC.md's block, inline comments and all, gives the defaults plus its example window. */
static void test_spec_block(void) {
        _cleanup_(conf_freep) struct conf *c = NULL, *defaults = NULL;
        struct diags d = {};

        CHECK_INTEQ(parse_data("conf/spec-block.conf", NULL, &c, &d), 0);
        CHECK_INTEQ(d.n, 0);
        CHECK_INTEQ(conf_new(NULL, &defaults), 0);
        check_conf_equal(c, defaults, false);
        CHECK_STREQ(c->state_directory, "/var/lib/keyrevoke");
        CHECK_INTEQ(c->windows.n, 1);
        diags_clear(&d);
}

static void test_bom_crlf_resets(void) {
        _cleanup_(conf_freep) struct conf *c = NULL, *defaults = NULL;
        struct diags d = {};

        CHECK_INTEQ(parse_data("conf/bom-crlf.conf", NULL, &c, &d), 0);
        CHECK(c->dry_run);
        CHECK(c->windows.always);
        CHECK_STREQ(c->time_zone, "UTC");
        c = conf_free(c);

        CHECK_INTEQ(parse_data("conf/resets.conf", "/run/state", &c, &d), 0);
        CHECK_INTEQ(d.n, 0);
        CHECK_INTEQ(conf_new("/run/state", &defaults), 0);
        check_conf_equal(c, defaults, true);
        CHECK_INTEQ(c->windows.n, 1);
        if (c->windows.n == 1)
                CHECK_INTEQ(c->windows.items[0].start_minute, 3 * 60);
        diags_clear(&d);
}

static const struct {
        const char *name;
        const char *diags[MAX_DIAGS];
} bad_files[] = {
        { "conf/unknown-key.conf",
          { "conf/unknown-key.conf:4: unknown key 'dryrun' in section [Agent]",
            "conf/unknown-key.conf:5: unknown key 'Colour' in section [Agent]" } },
        { "conf/unknown-section.conf", { "conf/unknown-section.conf:4: unknown section [Agents]" } },
        { "conf/bad-duration.conf",
          { "conf/bad-duration.conf:2: invalid value '1 fortnight' for RescanIntervalSec=: expected a duration such as 30s, 15min, 1h or 1d",
            "conf/bad-duration.conf:5: invalid value '10min' for RequestTimeoutSec=: out of range 1s..5min",
            "conf/bad-duration.conf:6: invalid value '500ms' for RequestTimeoutSec=: out of range 1s..5min",
            "conf/bad-duration.conf:9: invalid value '-5s' for HealthTimeoutSec=: expected a duration such as 30s, 15min, 1h or 1d" } },
        { "conf/bad-bool.conf",
          { "conf/bad-bool.conf:2: invalid value 'maybe' for DryRun=: expected yes or no",
            "conf/bad-bool.conf:4: invalid value 'yes please' for ForceStop=: expected yes or no" } },
        { "conf/http-endpoint.conf",
          { "conf/http-endpoint.conf:2: invalid value 'http://ecs.{region}.aliyuncs.com' for Endpoint=: must be an https:// URL",
            "conf/http-endpoint.conf:3: invalid value 'https://' for Endpoint=: must be an https:// URL",
            "conf/http-endpoint.conf:4: invalid value 'ftp://100.100.100.200' for MetadataEndpoint=: must be an http:// or https:// URL" } },
        { "conf/missing-bracket.conf",
          { "conf/missing-bracket.conf:4: missing ']' in section header",
            "conf/missing-bracket.conf:6: unexpected text after ']' in section header" } },
        { "conf/several-errors.conf",
          { "conf/several-errors.conf:1: key 'DryRun' before any [section]",
            "conf/several-errors.conf:3: invalid value 'var/lib/keyrevoke' for StateDirectory=: must be an absolute path",
            "conf/several-errors.conf:4: expected KEY=VALUE or [SECTION]",
            "conf/several-errors.conf:5: expected KEY=VALUE or [SECTION]",
            "conf/several-errors.conf:6: expected KEY=VALUE or [SECTION]",
            "conf/several-errors.conf:8: invalid value 'cn-hangzhou CN-Beijing' for Regions=: RegionIds are lowercase letters, digits and '-', such as cn-hangzhou",
            "conf/several-errors.conf:9: invalid value '65' for MaxConcurrentRequests=: out of range 1..64",
            "conf/several-errors.conf:10: invalid value '0' for MaxRequestsPerSecond=: out of range 1..1000",
            "conf/several-errors.conf:11: invalid value 'lots' for MaxRetries=: expected a decimal number",
            "conf/several-errors.conf:12: invalid value 'my profile' for Profile=: must be at most 64 letters, digits, '.', '_' or '-'",
            "conf/several-errors.conf:13: invalid value '../../latest' for RamRole=: must be at most 64 letters, digits, '.', '_' or '-'",
            "conf/several-errors.conf:15: invalid value 'Sat 25:00-26:00' for Window=: invalid time, expected HH:MM between 00:00 and 23:59",
            "conf/several-errors.conf:16: invalid value 'Mox 02:00-03:00' for Window=: unknown day, expected Mon, Tue, Wed, Thu, Fri, Sat, Sun or a range Mon..Fri",
            "conf/several-errors.conf:17: invalid value 'Mars/Olympus_Mons' for TimeZone=: not a time zone of the system tz database (/usr/share/zoneinfo)",
            "conf/several-errors.conf:18: invalid value '../../etc/passwd' for TimeZone=: not a time zone of the system tz database (/usr/share/zoneinfo)",
            "conf/several-errors.conf:19: invalid value '1001' for MaxFailures=: out of range 1..1000",
            NULL } },
};

static void test_bad_files(void) {
        for (size_t i = 0; i < ELEMENTSOF(bad_files); i++) {
                _cleanup_(conf_freep) struct conf *c = NULL;
                struct diags d = {};

                CHECK_INTEQ(parse_data(bad_files[i].name, NULL, &c, &d), -EINVAL);
                check_diags(&d, bad_files[i].diags);
                diags_clear(&d);
        }
}

/* Valid keys around bad ones still apply; broken or unknown sections are skipped. */
static void test_bad_files_details(void) {
        _cleanup_(conf_freep) struct conf *c = NULL;
        struct diags d = {};

        CHECK_INTEQ(parse_data("conf/several-errors.conf", NULL, &c, &d), -EINVAL);
        CHECK(!c->dry_run);
        CHECK(window_set_is_empty(&c->windows));
        CHECK_INTEQ(c->max_failures, 3);
        diags_clear(&d);

        c = conf_free(c);
        CHECK_INTEQ(parse_data("conf/unknown-section.conf", NULL, &c, &d), -EINVAL);
        CHECK(c->dry_run);
        CHECK_INTEQ(c->max_parallel, 2);
        diags_clear(&d);

        c = conf_free(c);
        CHECK_INTEQ(parse_data("conf/missing-bracket.conf", NULL, &c, &d), -EINVAL);
        CHECK(c->dry_run);
        CHECK_INTEQ(c->max_retries, 5);   /* under the broken [Cloud: skipped */
        CHECK_INTEQ(c->max_parallel, 3);  /* only the line under the good [Reboot] */
        diags_clear(&d);
}

/* Lines inih cannot take whole, and bytes that are not text. */
static void test_bad_lines(void) {
        static const struct {
                const char *text;
                const char *diag;
        } cases[] = {
                { "[Agent]\nDryRun=\x01yes\n", "t.conf:2: invalid UTF-8 or control character" },
                { "[Agent]\n\nDryRun=\xffyes\n", "t.conf:3: invalid UTF-8 or control character" },
                { "[Agent]\nDryRun=yes\rno\n", "t.conf:2: invalid UTF-8 or control character" },
                { "[Agent]\nDryRun=yes\n   [Cloud\n", "t.conf:3: missing ']' in section header" },
        };
        char long_line[400];

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(conf_freep) struct conf *c = NULL;
                struct diags d = {};

                CHECK_INTEQ(conf_new(NULL, &c), 0);
                CHECK_INTEQ(conf_parse(c, "t.conf", cases[i].text, &d), -EINVAL);
                check_diags(&d, (const char *const[]) { cases[i].diag, NULL });
                diags_clear(&d);
        }

        /* 197 characters fit; 198 do not, and the rest of the line is not taken as a new line. */
        for (size_t len = 197; len <= 198; len++) {
                _cleanup_(conf_freep) struct conf *c = NULL;
                struct diags d = {};
                int n = snprintf(long_line, sizeof(long_line), "[Agent]\nMetricsFile=/%0*d\nDryRun=yes\n",
                                 (int) len - 13, 0);

                CHECK(n > 0 && (size_t) n < sizeof(long_line));
                CHECK_INTEQ(conf_new(NULL, &c), 0);
                CHECK_INTEQ(conf_parse(c, "t.conf", long_line, &d), len == 197 ? 0 : -EINVAL);
                if (len == 198)
                        check_diags(&d, (const char *const[]) { "t.conf:2: line too long (at most 197 characters)", NULL });
                else
                        CHECK_INTEQ(strlen(strempty(c->metrics_file)), len - 12);
                CHECK(c->dry_run);
                diags_clear(&d);
        }
}

static void write_file_len(const char *dir, const char *name, const char *text, size_t len) {
        char path[4096];
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        f = fopen(path, "we");
        CHECK(f);
        if (!f)
                return;
        CHECK_INTEQ(fwrite(text, 1, len, f), len);
        CHECK_INTEQ(fclose(f), 0);
}

static void write_file(const char *dir, const char *name, const char *text) {
        write_file_len(dir, name, text, strlen(text));
}

/* Loads dir/keyrevoke.conf; checks the result and the diags, in which dir is written as "@". */
static struct conf *load(const char *dir, int expected, const char *const *diags) {
        char path[4096], expanded[MAX_DIAGS][4096];
        const char *ptrs[MAX_DIAGS] = {};
        struct conf *c = NULL;
        struct diags d = {};

        snprintf(path, sizeof(path), "%s/keyrevoke.conf", dir);
        CHECK_INTEQ(conf_load(path, "/run/keyrevoke-state", &c, &d), expected);
        CHECK(expected == 0 ? c != NULL : c == NULL);
        for (size_t i = 0; i < MAX_DIAGS - 1 && diags[i]; i++) {
                const char *at = strchr(diags[i], '@');
                snprintf(expanded[i], sizeof(expanded[i]), "%.*s%s%s", (int) (at - diags[i]), diags[i], dir, at + 1);
                ptrs[i] = expanded[i];
        }
        check_diags(&d, ptrs);
        diags_clear(&d);
        return c;
}

static int remove_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path);
}

static void test_load(void) {
        char dir[] = "/tmp/test-conf-XXXXXX", dropins[64], path[128];
        _cleanup_free_ char *big = NULL;
        struct conf *c;

        CHECK(mkdtemp(dir));
        snprintf(dropins, sizeof(dropins), "%s/keyrevoke.conf.d", dir);

        /* Missing main file. */
        load(dir, -EINVAL, (const char *const[]) { "@/keyrevoke.conf: cannot open: No such file or directory", NULL });

        /* Main file only, no drop-in directory. */
        write_file(dir, "keyrevoke.conf", "[Agent]\nDryRun=yes\n[Reboot]\nWindow=Sat 02:00-04:00\nMaxParallel=2\n");
        c = load(dir, 0, (const char *const[]) { NULL });
        CHECK(c && c->dry_run && c->windows.n == 1 && streq(c->state_directory, "/run/keyrevoke-state"));
        c = conf_free(c);

        /* Drop-ins in lexical order, later wins; Window= appends across files; others are ignored. */
        CHECK_INTEQ(mkdir(dropins, 0755), 0);
        write_file(dropins, "20-b.conf", "[Reboot]\nMaxParallel=4\nWindow=Sun 02:00-04:00\n");
        write_file(dropins, "10-a.conf", "[Reboot]\nMaxParallel=3\nMaxFailures=9\n[Agent]\nDryRun=no\n");
        write_file(dropins, "30-c.conf.bak", "[Reboot]\nMaxParallel=99\n");
        write_file(dropins, ".hidden.conf", "not a config file");
        write_file(dropins, "README", "not a config file");
        c = load(dir, 0, (const char *const[]) { NULL });
        CHECK(c && !c->dry_run && c->max_parallel == 4 && c->max_failures == 9 && c->windows.n == 2);
        c = conf_free(c);

        /* Problems in drop-ins name the drop-in; every file is still read. */
        write_file(dropins, "15-bad.conf", "[Reboot]\nMaxParallel=0\n");
        write_file_len(dropins, "25-nul.conf", "[Reboot]\n\nMaxParallel=1\0\n", 26);
        snprintf(path, sizeof(path), "%s/26-dir.conf", dropins);
        CHECK_INTEQ(mkdir(path, 0755), 0);
        load(dir, -EINVAL, (const char *const[]) {
                "@/keyrevoke.conf.d/15-bad.conf:2: invalid value '0' for MaxParallel=: out of range 1..100",
                "@/keyrevoke.conf.d/25-nul.conf:3: NUL byte in file",
                "@/keyrevoke.conf.d/26-dir.conf: not a regular file", NULL });
        CHECK_INTEQ(rmdir(path), 0);
        snprintf(path, sizeof(path), "%s/15-bad.conf", dropins);
        CHECK_INTEQ(unlink(path), 0);
        snprintf(path, sizeof(path), "%s/25-nul.conf", dropins);
        CHECK_INTEQ(unlink(path), 0);

        /* Cross-key check: each window must be longer than CutoffSec. */
        write_file(dropins, "40-cutoff.conf", "[Reboot]\nCutoffSec=2h\n");
        load(dir, -EINVAL, (const char *const[]) {
                "@/keyrevoke.conf: CutoffSec=2h leaves no time to start a reboot in the 120-minute window at 02:00",
                "@/keyrevoke.conf: CutoffSec=2h leaves no time to start a reboot in the 120-minute window at 02:00",
                NULL });
        write_file(dropins, "40-cutoff.conf", "[Reboot]\nCutoffSec=119min\n");
        c = load(dir, 0, (const char *const[]) { NULL });
        c = conf_free(c);

        /* Size limit: 1 MiB. */
        big = malloc(1024 * 1024 + 1);
        CHECK(big);
        if (big) {
                memset(big, '\n', 1024 * 1024 + 1);
                write_file_len(dropins, "50-big.conf", big, 1024 * 1024);
                c = load(dir, 0, (const char *const[]) { NULL });
                c = conf_free(c);
                write_file_len(dropins, "50-big.conf", big, 1024 * 1024 + 1);
                load(dir, -EINVAL, (const char *const[]) { "@/keyrevoke.conf.d/50-big.conf: larger than 1 MiB", NULL });
        }
        CHECK_INTEQ(nftw(dir, remove_cb, 16, FTW_DEPTH | FTW_PHYS), 0);
}

/* True when the line at s is "#Key=...", a commented-out assignment. */
static bool is_commented_assignment(const char *s) {
        size_t n = strspn(s + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");

        return s[0] == '#' && isupper((unsigned char) s[1]) && s[1 + n] == '=';
}

/* conf/keyrevoke.conf (made by the build from conf/keyrevoke.conf.in) documents the defaults: with
 * its "#Key=value" lines uncommented it parses cleanly into the defaults, the configured paths
 * included (Window= is an example). */
static void test_shipped(void) {
        _cleanup_(conf_freep) struct conf *c = NULL, *defaults = NULL;
        _cleanup_free_ char *text = NULL;
        const char *builddir = getenv("top_builddir");
        char path[4096];
        struct diags d = {};
        size_t keys = 0;
        FILE *f;
        size_t n;

        snprintf(path, sizeof(path), "%s/conf/keyrevoke.conf", builddir ? builddir : ".");
        f = fopen(path, "re");
        CHECK(f);
        if (!f)
                return;
        text = calloc(1, 65536);
        CHECK(text);
        n = text ? fread(text, 1, 65535, f) : 0;
        fclose(f);
        CHECK(n > 0 && n < 65535);
        for (char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
                if (is_commented_assignment(line)) {
                        line[0] = ' ';
                        keys++;
                }
        CHECK_INTEQ(keys, 30);
        CHECK_INTEQ(conf_new(NULL, &c), 0);
        CHECK_INTEQ(conf_parse(c, path, text, &d), 0);
        diags_print(&d, stderr);
        CHECK_INTEQ(conf_new(NULL, &defaults), 0);
        check_conf_equal(c, defaults, true);
        CHECK_INTEQ(c->windows.n, 1);
        diags_clear(&d);
}

int main(void) {
        test_defaults();
        test_full();
        test_spec_block();
        test_bom_crlf_resets();
        test_bad_files();
        test_bad_files_details();
        test_bad_lines();
        test_load();
        test_shipped();
        TESTS_DONE();
}
