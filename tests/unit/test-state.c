/* Unit tests for state.c: round trips, atomic-write leftovers, corrupt files, mode, 100k entries. */
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

#include "io/state.h"
#include "tests.h"

static char tmpdir[] = "/tmp/test-state.XXXXXX";

static char *path_in(const char *dir, const char *name) {
        char *p;
        CHECK(asprintf(&p, "%s/%s", dir, name) > 0);
        return p;
}

static char *make_dir(const char *name) {
        char *p = path_in(tmpdir, name);
        CHECK(mkdir(p, 0700) == 0);
        return p;
}

static void write_text(const char *path, const char *text) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        CHECK(fd >= 0);
        CHECK(write(fd, text, strlen(text)) == (ssize_t) strlen(text));
        close(fd);
}

static void remove_dir(const char *dir) {
        _cleanup_free_ char *cmd = NULL;
        CHECK(asprintf(&cmd, "rm -rf '%s'", dir) > 0);
        CHECK(system(cmd) == 0);
}

static size_t count_files(const char *dir) {
        _cleanup_free_ char *cmd = NULL;
        FILE *f;
        size_t n = 0;
        int c;

        CHECK(asprintf(&cmd, "ls -A '%s'", dir) > 0);
        f = popen(cmd, "r");
        CHECK(f);
        while ((c = fgetc(f)) != EOF)
                n += c == '\n';
        pclose(f);
        return n;
}

static const struct queue_entry sample[] = {
        { "i-detaching", "cn-hangzhou", "kp-1", NULL, QUEUE_DETACHING },
        { "i-pending", "cn-shanghai", "kp \"quoted\"\\", "left the company\nsecond line", QUEUE_PENDING,
          1700000000000000ULL },
        { "i-rebooting", "eu-central-1", "kp-ü-€", "reason=ünïcödé", QUEUE_REBOOTING,
          1700000000000001ULL, 1700000100000000ULL, "2024-01-01T02:00Z", NULL, 0, 2 },
        { "i-done", "us-west-1", "kp-4", NULL, QUEUE_DONE, 1, 2, "2024-01-01T02:00Z", "completed",
          (uint64_t) INT64_MAX, 4294967295U, true, "/etc/keyrevoke/revoked.d/a.list", 4294967295U },
};

static void add_sample(struct state *s) {
        for (size_t i = 0; i < ELEMENTSOF(sample); i++) {
                struct queue_entry *e = NULL;

                int r = state_add(s, sample[i].instance_id, sample[i].region, sample[i].keypair,
                                  sample[i].reason, &e);

                CHECK_INTEQ(r, 1);
                CHECK(e && e->state == QUEUE_DETACHING);
                state_set(s, e, sample[i].state);
                e->detached_usec = sample[i].detached_usec;
                e->reboot_started_usec = sample[i].reboot_started_usec;
                CHECK_INTEQ(state_set_text(s, &e->start_time_before, sample[i].start_time_before), 0);
                CHECK_INTEQ(state_set_text(s, &e->outcome, sample[i].outcome), 0);
                e->done_usec = sample[i].done_usec;
                e->reboot_failures = sample[i].reboot_failures;
                CHECK_INTEQ(state_set_text(s, &e->list, sample[i].list), 0);
                e->line = sample[i].line;
                e->reboot_accepted = sample[i].reboot_accepted;
        }
}

static void check_sample(const struct state *s) {
        CHECK_INTEQ(hashmap_size(s->by_instance), ELEMENTSOF(sample));
        for (size_t i = 0; i < ELEMENTSOF(sample); i++) {
                const struct queue_entry *e = state_find(s, sample[i].instance_id), *x = &sample[i];

                CHECK(e);
                if (!e)
                        continue;
                CHECK_STREQ(e->instance_id, x->instance_id);
                CHECK_STREQ(e->region, x->region);
                CHECK_STREQ(e->keypair, x->keypair);
                CHECK(streq_ptr(e->reason, x->reason));
                CHECK_INTEQ(e->state, x->state);
                CHECK(e->detached_usec == x->detached_usec);
                CHECK(e->reboot_started_usec == x->reboot_started_usec);
                CHECK(streq_ptr(e->start_time_before, x->start_time_before));
                CHECK(streq_ptr(e->outcome, x->outcome));
                CHECK(e->done_usec == x->done_usec);
                CHECK(e->reboot_failures == x->reboot_failures);
                CHECK(e->reboot_accepted == x->reboot_accepted);
                CHECK(streq_ptr(e->list, x->list));
                CHECK(e->line == x->line);
        }
}

static void test_round_trip(void) {
        _cleanup_free_ char *parent = make_dir("round-trip"), *dir = path_in(parent, "state");
        _cleanup_free_ char *file = path_in(dir, "queue.json");
        _cleanup_(state_freep) struct state *s = NULL, *t = NULL;
        struct queue_entry *e = NULL;
        struct stat st;

        /* state_new() touches nothing; state_load() creates the directory, 0700; a missing
         * queue.json is an empty queue. */
        CHECK_INTEQ(state_new(dir, &s), 0);
        CHECK(s && hashmap_size(s->by_instance) == 0 && !s->dirty && streq(s->directory, dir));
        CHECK(access(dir, F_OK) < 0 && errno == ENOENT);
        s = state_free(s);
        CHECK_INTEQ(state_load(dir, &s), 0);
        CHECK(stat(dir, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0700);
        CHECK_INTEQ(hashmap_size(s->by_instance), 0);
        CHECK(!s->dirty);
        CHECK_INTEQ(state_save(s), 0);
        CHECK(access(file, F_OK) < 0 && errno == ENOENT);

        add_sample(s);
        CHECK(s->dirty);
        CHECK_INTEQ(state_count(s, QUEUE_PENDING), 1);
        CHECK_INTEQ(state_count(s, QUEUE_DONE), 1);
        /* An existing entry is returned untouched. */
        CHECK_INTEQ(state_add(s, "i-done", "other-region", "other-kp", NULL, &e), 0);
        CHECK(e == state_find(s, "i-done") && streq(e->region, "us-west-1") && e->state == QUEUE_DONE);
        CHECK_INTEQ(state_add(s, "", "r", "kp", NULL, &e), -EINVAL);
        CHECK_INTEQ(state_add(s, "i-x", "r", "kp-\xff", NULL, &e), -EINVAL);
        CHECK_INTEQ(state_add(s, "i-x", "r", "kp", "bad \xc3", &e), -EINVAL);

        CHECK_INTEQ(state_save(s), 0);
        CHECK(!s->dirty);
        CHECK(stat(file, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0600);
        CHECK_INTEQ(count_files(dir), 1);

        CHECK_INTEQ(state_load(dir, &t), 0);
        check_sample(t);
        CHECK(!t->dirty);

        /* Removing marks dirty and the removal survives a save. */
        state_remove(t, state_find(t, "i-pending"));
        CHECK(t->dirty && !state_find(t, "i-pending"));
        CHECK_INTEQ(state_save(t), 0);
        t = state_free(t);
        CHECK_INTEQ(state_load(dir, &t), 0);
        CHECK_INTEQ(hashmap_size(t->by_instance), ELEMENTSOF(sample) - 1);
        CHECK_INTEQ(state_count(t, QUEUE_PENDING), 0);
        remove_dir(parent);
}

static void test_stale_temp(void) {
        _cleanup_free_ char *dir = make_dir("stale"), *file = path_in(dir, "queue.json");
        _cleanup_free_ char *temp = path_in(dir, ".queue.json.Ab12Cd"), *other = path_in(dir, "keep.me");
        _cleanup_(state_freep) struct state *s = NULL;
        struct queue_entry *e;

        write_text(file, "{\"version\":1,\"entries\":[{\"instance_id\":\"i-1\",\"region\":\"r\","
                         "\"keypair\":\"k\",\"state\":\"pending\",\"detached_usec\":5,"
                         "\"reboot_started_usec\":0,\"done_usec\":0,\"reboot_failures\":0}]}");
        /* What a save killed half-way leaves: a partial temp file next to the intact queue.json. */
        write_text(temp, "{\"version\":1,\"entries\":[{\"instance_id\":\"i-");
        write_text(other, "x");

        CHECK_INTEQ(state_load(dir, &s), 0);
        CHECK_INTEQ(hashmap_size(s->by_instance), 1);
        e = state_find(s, "i-1");
        CHECK(e && e->state == QUEUE_PENDING && e->detached_usec == 5 && !e->reason && !e->outcome);
        CHECK(access(temp, F_OK) == 0);

        CHECK_INTEQ(state_save(s), 0);
        CHECK(access(temp, F_OK) < 0 && errno == ENOENT);
        CHECK(access(other, F_OK) == 0);
        CHECK_INTEQ(count_files(dir), 2);
        remove_dir(dir);
}

static void test_save_failure(void) {
        _cleanup_free_ char *dir = make_dir("gone");
        _cleanup_(state_freep) struct state *s = NULL;
        struct queue_entry *e;

        CHECK_INTEQ(state_load(dir, &s), 0);
        CHECK_INTEQ(state_add(s, "i-1", "r", "k", NULL, &e), 1);
        CHECK(rmdir(dir) == 0);
        CHECK_INTEQ(state_save(s), -ENOENT);
        CHECK(s->dirty);
}

/* A new detach of a queued instance starts a new cycle, except while its reboot is in flight. */
static void test_begin_detach(void) {
        static const struct {
                enum queue_state from;
                int result;
                enum queue_state to;
        } cases[] = {
                { QUEUE_DETACHING, 0, QUEUE_DETACHING },
                { QUEUE_PENDING, 0, QUEUE_DETACHING },
                { QUEUE_REBOOTING, -EBUSY, QUEUE_REBOOTING },
                { QUEUE_DONE, 0, QUEUE_DETACHING },
        };
        _cleanup_free_ char *dir = make_dir("begin");
        _cleanup_(state_freep) struct state *s = NULL;
        struct queue_entry *e, *again;

        CHECK_INTEQ(state_load(dir, &s), 0);
        CHECK_INTEQ(state_begin_detach(s, "i-new", "r", "kp-a", NULL, &e), 1);
        CHECK_INTEQ(e->state, QUEUE_DETACHING);
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                CHECK_INTEQ(state_add(s, "i-1", "r", "kp-old", "old reason", &e), 1);
                CHECK_INTEQ(state_set_origin(s, e, "/old.list", 3), 0);
                state_set(s, e, cases[i].from);
                e->detached_usec = 10;
                e->reboot_started_usec = 20;
                CHECK_INTEQ(state_set_text(s, &e->start_time_before, "2024-01-01T00:00Z"), 0);
                CHECK_INTEQ(state_set_text(s, &e->outcome, "completed"), 0);
                e->done_usec = 30;
                e->reboot_failures = 2;
                e->reboot_accepted = true;
                s->dirty = false;

                CHECK_INTEQ(state_begin_detach(s, "i-1", "r", "kp-new", NULL, &again), cases[i].result);
                CHECK_INTEQ(e->state, cases[i].to);
                if (cases[i].result == 0) {
                        bool reset = cases[i].from != QUEUE_DETACHING;
                        CHECK(again == e && s->dirty);
                        CHECK_STREQ(e->keypair, "kp-new");
                        CHECK(!e->reason);
                        CHECK(reset == (e->outcome == NULL && e->start_time_before == NULL));
                        CHECK(reset == (e->detached_usec == 0 && e->reboot_started_usec == 0 && e->done_usec == 0 &&
                                        e->reboot_failures == 0 && !e->reboot_accepted));
                        CHECK_INTEQ(state_set_origin(s, e, "/new.list", 7), 0);
                        CHECK_STREQ(e->list, "/new.list");
                        CHECK_INTEQ(e->line, 7);
                } else
                        CHECK(!s->dirty && streq(e->keypair, "kp-old") && e->reboot_accepted);
                state_remove(s, e);
        }
        /* The shared strings go with the last entry holding them: "r" and "kp-a" of i-new stay. */
        CHECK_INTEQ(strpool_size(s->strings), 2);
        remove_dir(dir);
}

/* Only DONE entries finished before the limit go; everything still to do stays. */
static void test_prune(void) {
        _cleanup_free_ char *dir = make_dir("prune");
        _cleanup_(state_freep) struct state *s = NULL;
        static const struct {
                const char *id;
                enum queue_state st;
                uint64_t done_usec;
                bool kept;
        } cases[] = {
                { "i-old-done", QUEUE_DONE, 100, false },
                { "i-new-done", QUEUE_DONE, 1000, true },
                { "i-pending", QUEUE_PENDING, 0, true },
                { "i-detaching", QUEUE_DETACHING, 0, true },
                { "i-rebooting", QUEUE_REBOOTING, 0, true },
                { "i-old-done-2", QUEUE_DONE, 999, false },
        };
        struct queue_entry *e;

        CHECK_INTEQ(state_load(dir, &s), 0);
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                CHECK_INTEQ(state_add(s, cases[i].id, "r", "k", NULL, &e), 1);
                state_set(s, e, cases[i].st);
                e->done_usec = cases[i].done_usec;
        }
        s->dirty = false;
        CHECK_INTEQ(state_prune(s, 1000), 2);
        CHECK(s->dirty);
        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                CHECK_INTEQ(state_find(s, cases[i].id) != NULL, cases[i].kept);
        CHECK_INTEQ(state_prune(s, 1000), 0);
}

/* One complete entry with the instance id and detached_usec given as "key":value text. */
#define ONE_ENTRY(id, detached)                                                                       \
        "{" id ",\"region\":\"r\",\"keypair\":\"k\",\"state\":\"done\"," detached                     \
        ",\"reboot_started_usec\":0,\"done_usec\":0,\"reboot_failures\":0}"
#define ENTRY_WITH(id, detached) "{\"version\":1,\"entries\":[" ONE_ENTRY(id, detached) "]}"

/* An entry without state and reboot_failures, which extra completes (or not). */
#define ENTRY(extra)                                                                                  \
        "{\"version\":1,\"entries\":[{\"instance_id\":\"i-1\",\"region\":\"r\",\"keypair\":\"k\","    \
        "\"detached_usec\":0,\"reboot_started_usec\":0,\"done_usec\":0" extra "}]}"

static const struct {
        const char *text;
        int ret;
        size_t n_entries;
} load_cases[] = {
        { "{\"version\":1,\"entries\":[]}", 0, 0 },
        { ENTRY(",\"state\":\"done\",\"reboot_failures\":3,\"reason\":null,\"outcome\":\"stopped\""), 0, 1 },
        { ENTRY(",\"state\":\"done\",\"reboot_failures\":3,\"future_field\":[1,2]"), 0, 1 },
        { "", -EBADMSG },
        { "{", -EBADMSG },
        { "{\"version\":1,\"entries\":[]}garbage", -EBADMSG },
        { "[]", -EBADMSG },
        { "{\"version\":2,\"entries\":[]}", -EBADMSG },
        { "{\"version\":\"1\",\"entries\":[]}", -EBADMSG },
        { "{\"version\":1}", -EBADMSG },
        { "{\"version\":1,\"entries\":{}}", -EBADMSG },
        { "{\"version\":1,\"entries\":[1]}", -EBADMSG },
        { "{\"version\":1,\"version\":1,\"entries\":[]}", -EBADMSG },
        { ENTRY(",\"state\":\"rebooted\",\"reboot_failures\":0"), -EBADMSG },
        { ENTRY(",\"state\":\"PENDING\",\"reboot_failures\":0"), -EBADMSG },
        { ENTRY(",\"state\":1,\"reboot_failures\":0"), -EBADMSG },
        { ENTRY(",\"state\":\"pending\""), -EBADMSG },
        { ENTRY(",\"state\":\"pending\",\"reboot_failures\":-1"), -EBADMSG },
        { ENTRY(",\"state\":\"pending\",\"reboot_failures\":4294967296"), -EBADMSG },
        { ENTRY(",\"state\":\"pending\",\"reboot_failures\":1.5"), -EBADMSG },
        { ENTRY(",\"state\":\"pending\",\"reboot_failures\":0,\"reason\":5"), -EBADMSG },
        { ENTRY(",\"state\":\"done\",\"reboot_failures\":0,\"reboot_accepted\":\"yes\""), -EBADMSG },
        { ENTRY(",\"state\":\"done\",\"reboot_failures\":0,\"reboot_accepted\":true"), 0, 1 },
        { ENTRY(",\"state\":\"pending\",\"reboot_failures\":0,\"instance_id\":\"i-2\""), -EBADMSG },
        { ENTRY_WITH("\"instance_id\":\"\"", "\"detached_usec\":0"), -EBADMSG },
        { ENTRY_WITH("\"instance_id\":\"i-1\"", "\"detached_usec\":-5"), -EBADMSG },
        { ENTRY_WITH("\"instance_id\":\"i-\\u0000\"", "\"detached_usec\":0"), -EBADMSG },
        { "{\"version\":1,\"entries\":[" ONE_ENTRY("\"instance_id\":\"i-1\"", "\"detached_usec\":0") ","
          ONE_ENTRY("\"instance_id\":\"i-1\"", "\"detached_usec\":0") "]}", -EBADMSG },
};

static void test_load_table(void) {
        _cleanup_free_ char *dir = make_dir("load"), *file = path_in(dir, "queue.json");

        for (size_t i = 0; i < ELEMENTSOF(load_cases); i++) {
                _cleanup_(state_freep) struct state *s = NULL;
                int r;

                write_text(file, load_cases[i].text);
                r = state_load(dir, &s);
                CHECK_INTEQ(r, load_cases[i].ret);
                if (r != load_cases[i].ret)
                        fprintf(stderr, "  case %zu: %s\n", i, load_cases[i].text);
                if (r >= 0)
                        CHECK_INTEQ(hashmap_size(s->by_instance), load_cases[i].n_entries);
                else
                        CHECK(!s);
        }
        /* queue.json must be a regular file; the state directory must be a directory. */
        CHECK(unlink(file) == 0);
        CHECK(mkdir(file, 0700) == 0);
        {
                _cleanup_(state_freep) struct state *s = NULL;
                CHECK_INTEQ(state_load(dir, &s), -EBADMSG);
        }
        remove_dir(dir);
        {
                _cleanup_free_ char *notdir = path_in(tmpdir, "notdir");
                _cleanup_(state_freep) struct state *s = NULL;
                write_text(notdir, "x");
                CHECK_INTEQ(state_load(notdir, &s), -ENOTDIR);
                CHECK(unlink(notdir) == 0);
        }
}

static double now_msec(clockid_t clock) {
        struct timespec ts;
        clock_gettime(clock, &ts);
        return (double) ts.tv_sec * 1000.0 + (double) ts.tv_nsec / 1e6;
}

/* Saves and reloads n entries; prints how long each step took (wall clock, and CPU time since
 * the machine may be busy). */
static void test_many(size_t n) {
        _cleanup_free_ char *dir = make_dir("many");
        _cleanup_(state_freep) struct state *s = NULL, *t = NULL;
        double wall[3], cpu[3];

        CHECK_INTEQ(state_load(dir, &s), 0);
        for (size_t i = 0; i < n; i++) {
                char id[32], kp[32];
                struct queue_entry *e;

                snprintf(id, sizeof(id), "i-bp1%018zu", i);
                snprintf(kp, sizeof(kp), "kp-%zu", i % 100);
                CHECK_INTEQ(state_add(s, id, "cn-hangzhou", kp, i % 2 ? "offboarding" : NULL, &e), 1);
                state_set(s, e, (enum queue_state) (i % _QUEUE_STATE_MAX));
                e->detached_usec = 1700000000000000ULL + i;
                e->reboot_failures = (unsigned) (i % 4);
        }
        wall[0] = now_msec(CLOCK_MONOTONIC), cpu[0] = now_msec(CLOCK_PROCESS_CPUTIME_ID);
        CHECK_INTEQ(state_save(s), 0);
        wall[1] = now_msec(CLOCK_MONOTONIC), cpu[1] = now_msec(CLOCK_PROCESS_CPUTIME_ID);
        CHECK_INTEQ(state_load(dir, &t), 0);
        wall[2] = now_msec(CLOCK_MONOTONIC), cpu[2] = now_msec(CLOCK_PROCESS_CPUTIME_ID);
        fprintf(stderr, "%zu entries: save %.1f ms (cpu %.1f), load %.1f ms (cpu %.1f)\n", n,
                wall[1] - wall[0], cpu[1] - cpu[0], wall[2] - wall[1], cpu[2] - cpu[1]);

        CHECK_INTEQ(hashmap_size(t->by_instance), n);
        for (enum queue_state st = 0; st < _QUEUE_STATE_MAX; st++)
                CHECK_INTEQ(state_count(t, st), state_count(s, st));
        for (size_t i = 0; i < n; i += n / 100) {
                char id[32];
                const struct queue_entry *e;

                snprintf(id, sizeof(id), "i-bp1%018zu", i);
                e = state_find(t, id);
                CHECK(e && e->detached_usec == 1700000000000000ULL + i && e->reboot_failures == i % 4 &&
                      (i % 2 ? streq_ptr(e->reason, "offboarding") : !e->reason));
        }
        remove_dir(dir);
}

static void test_state_names(void) {
        for (enum queue_state st = 0; st < _QUEUE_STATE_MAX; st++) {
                CHECK(queue_state_to_string(st));
                CHECK_INTEQ(queue_state_from_string(queue_state_to_string(st)), st);
        }
        CHECK_STREQ(queue_state_to_string(QUEUE_DETACHING), "detaching");
        CHECK_STREQ(queue_state_to_string(QUEUE_DONE), "done");
        CHECK_INTEQ(queue_state_from_string("Done"), -EINVAL);
}

int main(void) {
        CHECK(mkdtemp(tmpdir));
        test_begin_detach();
        test_state_names();
        test_round_trip();
        test_stale_temp();
        test_save_failure();
        test_prune();
        test_load_table();
        test_many(10000);
        test_many(100000);
        remove_dir(tmpdir);

        TESTS_DONE();
}
