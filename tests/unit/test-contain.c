/* Unit tests for contain.c: scope, the key set digest the script prints, the command, tokens and
 * the script's summary line, key sets split into runs and which run comes next. */
#include <inttypes.h>

#include "base/strutil.h"
#include "logic/contain.h"
#include "tests.h"

#define K1 "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHxyz0123456789abcdefghijklmnopqrstuvwxyzAB"
#define K2 "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7"

static const struct {
        const char *status, *os_type;
        bool bound;
        enum conf_contain_scope scope;
        bool in;
} scope_cases[] = {
        { "Running", "linux", true, CONF_CONTAIN_BOUND, true },
        { "Running", "linux", false, CONF_CONTAIN_BOUND, false },
        { "Running", "linux", false, CONF_CONTAIN_FLEET, true },
        { "Running", "windows", true, CONF_CONTAIN_BOUND, false },
        { "Running", "windows", true, CONF_CONTAIN_FLEET, false },
        { "Stopped", "linux", true, CONF_CONTAIN_BOUND, false },
        { "Starting", "linux", true, CONF_CONTAIN_FLEET, false },
        { NULL, "linux", true, CONF_CONTAIN_BOUND, false },
};

static void test_scope(void) {
        for (size_t i = 0; i < ELEMENTSOF(scope_cases); i++) {
                struct ecs_instance inst = { .instance_id = (char *) "i-1", .status = (char *) scope_cases[i].status,
                                             .os_type = (char *) scope_cases[i].os_type };
                CHECK(contain_in_scope(scope_cases[i].scope, &inst, scope_cases[i].bound) == scope_cases[i].in);
        }
}

static void test_digest_and_token(void) {
        char *one[] = { (char *) K1 }, *two[] = { (char *) K1, (char *) K2 };
        char *ids[] = { (char *) "i-1", (char *) "i-2" }, *other[] = { (char *) "i-1", (char *) "i-3" };
        char digest[CONTAIN_DIGEST_LEN + 1], a[CONTAIN_TOKEN_LEN + 1], b[CONTAIN_TOKEN_LEN + 1];

        /* What `printf '%s\n' "$KEYREVOKE_KEYS" | sha256sum | cut -c1-16` prints on the instance. */
        contain_keys_digest(one, 1, digest);
        CHECK_STREQ(digest, "4a7abdc3c992890a");
        contain_keys_digest(two, 2, digest);
        CHECK_STREQ(digest, "fe6460ab5d3c1789");

        contain_client_token(digest, ids, 2, a);
        contain_client_token(digest, ids, 2, b);
        CHECK_STREQ(a, b);
        CHECK_INTEQ(strlen(a), CONTAIN_TOKEN_LEN);
        CHECK(startswith(a, "kr-"));
        contain_client_token(digest, other, 2, b);
        CHECK(!streq(a, b));
        contain_client_token("0000000000000000", ids, 2, b);
        CHECK(!streq(a, b));
}

static void test_command(void) {
        char *good[] = { (char *) K1, (char *) K2 };
        char *quote[] = { (char *) "ssh-ed25519 AAAA'; rm -rf /; '" };
        char *type[] = { (char *) "ssh-foo AAAAB3NzaC1yc2E" };
        char *comment[] = { (char *) K1 " alice@laptop" };
        char *many[400];
        _cleanup_free_ char *text = NULL;

        CHECK_INTEQ(contain_command_build(good, 2, &text), 0);
        CHECK(startswith(text, "KEYREVOKE_KEYS='" K1 "\n" K2 "'\n"));
        CHECK(strstr(text, "| base64 -d | gzip -dc)\"\n"));
        CHECK_INTEQ(contain_command_build(quote, 1, &text), -EINVAL);
        CHECK_INTEQ(contain_command_build(type, 1, &text), -EINVAL);
        CHECK_INTEQ(contain_command_build(comment, 1, &text), -EINVAL);
        CHECK_INTEQ(contain_command_build(good, 0, &text), -EINVAL);
        for (size_t i = 0; i < ELEMENTSOF(many); i++)
                many[i] = (char *) K1;
        CHECK_INTEQ(contain_command_build(many, ELEMENTSOF(many), &text), -E2BIG);
        CHECK(!contain_keys_fit(many, ELEMENTSOF(many)));
        CHECK(contain_keys_fit(many, 20));
        CHECK(contain_keys_fit(good, 2));
}

static void test_split(void) {
        char *many[400], *one[] = { (char *) K1 };
        _cleanup_free_ size_t *ends = NULL, *single = NULL;
        size_t n = 0, n_single = 0, start = 0;

        for (size_t i = 0; i < ELEMENTSOF(many); i++)
                many[i] = (char *) K1;
        CHECK_INTEQ(contain_keys_split(many, ELEMENTSOF(many), &ends, &n), 0);
        CHECK(n > 1);
        for (size_t r = 0; r < n; r++) {
                CHECK(ends[r] > start);
                CHECK(contain_keys_fit(many + start, ends[r] - start));
                /* Each run is as long as it can be: one key more would not fit. */
                if (r + 1 < n)
                        CHECK(!contain_keys_fit(many + start, ends[r] + 1 - start));
                start = ends[r];
        }
        CHECK_INTEQ(start, ELEMENTSOF(many));
        CHECK_INTEQ(contain_keys_split(one, 1, &single, &n_single), 0);
        CHECK_INTEQ(n_single, 1);
        CHECK_INTEQ(single[0], 1);
}

/* 400 distinct keys, in the storage of buf. */
static void distinct_keys(char *keys[400], char buf[400][sizeof(K1)]) {
        for (size_t i = 0; i < 400; i++) {
                snprintf(buf[i], sizeof(K1), "%.*s%03zu", (int) strlen(K1) - 3, K1, i);
                keys[i] = buf[i];
        }
}

static void test_runs(void) {
        static char buf[400][sizeof(K1)];
        char *many[400], *one[] = { (char *) K1 }, digest[CONTAIN_DIGEST_LEN + 1];
        struct contain_runs r, single;
        size_t n, total = 0;

        distinct_keys(many, buf);
        CHECK_INTEQ(contain_runs_split(many, ELEMENTSOF(many), &r), 0);
        CHECK(r.n_runs > 2);
        contain_keys_digest(many, ELEMENTSOF(many), digest);
        CHECK_STREQ(r.digest, digest);
        for (size_t i = 0; i < r.n_runs; i++) {
                char *const *keys = contain_runs_keys(&r, i, &n);
                CHECK(keys == many + total);
                CHECK(contain_keys_fit(keys, n));
                contain_keys_digest(keys, n, digest);
                CHECK_STREQ(contain_runs_digest(&r, i), digest);
                total += n;
        }
        CHECK_INTEQ(total, ELEMENTSOF(many));

        /* No record or another set: from the first run. A run proved: the next; failed or under
         * way: the same again. The last run proved, or the whole set: none left. */
        CHECK_INTEQ(contain_runs_next(&r, NULL, NULL, false), 0);
        CHECK_INTEQ(contain_runs_next(&r, "0000000000000000", contain_runs_digest(&r, 1), true), 0);
        CHECK_INTEQ(contain_runs_next(&r, r.digest, contain_runs_digest(&r, 0), true), 1);
        CHECK_INTEQ(contain_runs_next(&r, r.digest, contain_runs_digest(&r, 1), false), 1);
        CHECK_INTEQ(contain_runs_next(&r, r.digest, contain_runs_digest(&r, r.n_runs - 1), true), r.n_runs);
        CHECK_INTEQ(contain_runs_next(&r, r.digest, r.digest, true), r.n_runs);
        /* A run this split does not have (the script grew since): from the first run. */
        CHECK_INTEQ(contain_runs_next(&r, r.digest, "0000000000000000", true), 0);
        contain_runs_done(&r);
        CHECK(!r.ends && !r.digests);

        /* A set that fits is one run, its digest the set's: today's records mean the same. */
        CHECK_INTEQ(contain_runs_split(one, 1, &single), 0);
        CHECK_INTEQ(single.n_runs, 1);
        CHECK(!single.ends && !single.digests);
        CHECK_STREQ(contain_runs_digest(&single, 0), "4a7abdc3c992890a");
        CHECK(contain_runs_keys(&single, 0, &n) == one && n == 1);
        CHECK_INTEQ(contain_runs_next(&single, single.digest, single.digest, false), 0);
        CHECK_INTEQ(contain_runs_next(&single, single.digest, single.digest, true), 1);
        contain_runs_one(one, 1, &r);
        CHECK_STREQ(r.digest, single.digest);
        CHECK_INTEQ(r.n_runs, 1);
        contain_runs_one(one, 0, &r);
        CHECK_INTEQ(r.n_runs, 0);
}

static const struct {
        const char *output;
        int result;
        const char *status;
        unsigned removed;
        const char *verdict; /* for keys=2 digest=fe6460ab5d3c1789 */
} summary_cases[] = {
        { "changed /root/.ssh/authorized_keys\nKEYREVOKE-CONTAIN v1 status=contained keys=2 digest=fe6460ab5d3c1789 "
          "removed=3 files=2 unclean=0 revokedkeys=/etc/ssh/keyrevoke_revoked_keys sshd=reloaded\n",
          0, "contained", 3, NULL },
        /* the last summary counts; no final newline; a field of a later version ignored */
        { "KEYREVOKE-CONTAIN v1 status=failed keys=2 digest=fe6460ab5d3c1789\nKEYREVOKE-CONTAIN v1 status=contained "
          "keys=2 digest=fe6460ab5d3c1789 removed=0 files=0 unclean=1 sshd=unchanged future=1",
          0, "contained", 0, NULL },
        { "KEYREVOKE-CONTAIN v1 status=contained keys=1 digest=fe6460ab5d3c1789 sshd=reloaded\n", 0, "contained", 0,
          "summary-mismatch" },
        { "KEYREVOKE-CONTAIN v1 status=contained keys=2 digest=0000000000000000 sshd=reloaded\n", 0, "contained", 0,
          "summary-mismatch" },
        { "KEYREVOKE-CONTAIN v1 status=failed keys=2 digest=fe6460ab5d3c1789 revokedkeys=- sshd=failed\n", 0, "failed",
          0, "not-contained" },
        { "KEYREVOKE-CONTAIN v1 status=invalid-input keys=0 digest=x\n", 0, "invalid-input", 0, "invalid-input" },
        { "no summary at all\n", -ENOENT, NULL, 0, NULL },
        { " KEYREVOKE-CONTAIN v1 status=contained keys=2 digest=fe6460ab5d3c1789\n", -ENOENT, NULL, 0, NULL },
        { "KEYREVOKE-CONTAIN v1 status=contained keys=two digest=fe6460ab5d3c1789\n", -EBADMSG, NULL, 0, NULL },
        { "KEYREVOKE-CONTAIN v1 status=contained keys=2 digestfe6460ab5d3c1789\n", -EBADMSG, NULL, 0, NULL },
        { "KEYREVOKE-CONTAIN v1 keys=2 digest=fe6460ab5d3c1789\n", -EBADMSG, NULL, 0, NULL },
        { "KEYREVOKE-CONTAIN v1 status=contained keys=2 digest=fe6460ab5d3c17890000000000\n", -EBADMSG, NULL, 0, NULL },
};

static void test_summary(void) {
        for (size_t i = 0; i < ELEMENTSOF(summary_cases); i++) {
                struct contain_summary s;
                int r = contain_summary_parse(summary_cases[i].output, strlen(summary_cases[i].output), &s);

                if (r != summary_cases[i].result)
                        fprintf(stderr, "  summary case %zu\n", i);
                CHECK_INTEQ(r, summary_cases[i].result);
                if (r < 0)
                        continue;
                CHECK_STREQ(s.status, summary_cases[i].status);
                CHECK_INTEQ(s.removed, summary_cases[i].removed);
                CHECK(streq_ptr(contain_summary_verdict(&s, 2, "fe6460ab5d3c1789"), summary_cases[i].verdict));
        }
        /* Only the bytes given count: a summary cut by the length is not read past it. */
        CHECK_INTEQ(contain_summary_parse("KEYREVOKE-CONTAIN v1 status=contained", 10, &(struct contain_summary) {}),
                    -ENOENT);
}

/* A look waits for the run time seen so far to pass since RunCommand answered; before any is
 * seen, the first look is a guess and the next ones come every 250 ms for a while (the first
 * invocation teaches the others); past the run time the looks back off from 250 ms. */
static void test_next_look(void) {
        static const struct {
                unsigned looks;
                uint64_t run_usec, elapsed, want;
        } cases[] = {
                { 0, 0, 0, CONTAIN_RUN_GUESS_USEC },                    /* no run seen yet: a guess */
                { 0, 1280 * USEC_PER_MSEC, 0, 1280 * USEC_PER_MSEC },
                /* Answered 300 ms ago (a resumed or deferred look): what is left of the run time. */
                { 0, 1280 * USEC_PER_MSEC, 300 * USEC_PER_MSEC, 980 * USEC_PER_MSEC },
                { 3, 1280 * USEC_PER_MSEC, 300 * USEC_PER_MSEC, 980 * USEC_PER_MSEC },
                /* Past the run time: at once for a first look, else backing off. */
                { 0, 1280 * USEC_PER_MSEC, 2 * USEC_PER_SEC, 0 },
                { 1, 1280 * USEC_PER_MSEC, 2 * USEC_PER_SEC, 250 * USEC_PER_MSEC },
                { 2, 1280 * USEC_PER_MSEC, 2 * USEC_PER_SEC, 500 * USEC_PER_MSEC },
                /* Learning the run time: short pauses for CONTAIN_LEARN_USEC, then backing off. */
                { 1, 0, 600 * USEC_PER_MSEC, 250 * USEC_PER_MSEC },
                { 6, 0, CONTAIN_LEARN_USEC - 1, 250 * USEC_PER_MSEC },
                { 2, 0, CONTAIN_LEARN_USEC, 500 * USEC_PER_MSEC },
                { 3, 0, CONTAIN_LEARN_USEC, USEC_PER_SEC },
                { 4, 0, CONTAIN_LEARN_USEC, 2 * USEC_PER_SEC },
                { 5, 0, CONTAIN_LEARN_USEC, 2 * USEC_PER_SEC },         /* capped */
                { 1000, 0, 10 * USEC_PER_SEC, 2 * USEC_PER_SEC },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                if (contain_next_look_usec(cases[i].looks, cases[i].run_usec, cases[i].elapsed) != cases[i].want) {
                        fprintf(stderr, "next look, case %zu: %" PRIu64 ", expected %" PRIu64 "\n", i,
                                contain_next_look_usec(cases[i].looks, cases[i].run_usec, cases[i].elapsed),
                                cases[i].want);
                        tests_failed++;
                }
}

int main(void) {
        test_scope();
        test_next_look();
        test_digest_and_token();
        test_command();
        test_split();
        test_runs();
        test_summary();
        TESTS_DONE();
}
