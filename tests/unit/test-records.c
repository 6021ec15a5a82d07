/* Unit tests for referenced.c, retired.c, warned.c and contained.c, the records of launch sources
 * reported, of key pairs deleted, of Windows instances warned about and of containment: round
 * trips, pruning, corrupt files, mode, the fingerprint list of the keys, and key sets sent in
 * runs. */
#include <fcntl.h>
#include <sys/stat.h>

#include "base/strutil.h"
#include "io/contained.h"
#include "io/referenced.h"
#include "io/retired.h"
#include "io/warned.h"
#include "tests.h"

#define KEY_A "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPT7vsQK7s6D36nSIvN7zxWWstxOrkdb5L51Hv0apJbu a@test"
#define KEY_C "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIINUall81KPQU5fvIcIqe1sHOyBUVLqof9a/A8BzaNm4 c@test"

static char tmpdir[] = "/tmp/test-records.XXXXXX";

static char *dir_named(const char *name) {
        char *p;

        CHECK(asprintf(&p, "%s/%s", tmpdir, name) > 0);
        CHECK(mkdir(p, 0700) == 0);
        return p;
}

static void write_file(const char *dir, const char *name, const char *text) {
        _cleanup_free_ char *path = NULL;
        int fd;

        CHECK(asprintf(&path, "%s/%s", dir, name) > 0);
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        CHECK(fd >= 0);
        CHECK(write(fd, text, strlen(text)) == (ssize_t) strlen(text));
        close(fd);
}

static mode_t file_mode(const char *dir, const char *name) {
        _cleanup_free_ char *path = NULL;
        struct stat st;

        CHECK(asprintf(&path, "%s/%s", dir, name) > 0);
        CHECK(stat(path, &st) == 0);
        return st.st_mode & 07777;
}

static void test_referenced(void) {
        _cleanup_free_ char *dir = dir_named("referenced");
        _cleanup_(referenced_freep) struct referenced *r = NULL, *again = NULL;
        _cleanup_(hashmap_freep) struct hashmap *keep = NULL;
        _cleanup_free_ char *key = NULL;
        struct referenced_entry *e;

        CHECK_INTEQ(referenced_load(dir, &r), 0); /* missing: empty */
        CHECK(!r->dirty);
        CHECK_INTEQ(referenced_put(r, "cn-hangzhou", "launch-template:lt-1:2", "kp-a", true, 5), 0);
        CHECK_INTEQ(referenced_put(r, "cn-hangzhou", "scaling-configuration:asc-1", "kp-a", false, 6), 0);
        CHECK_INTEQ(referenced_put(r, "cn-shanghai", "launch-template:lt-9:1", "kp-b", false, 7), 0);
        CHECK_INTEQ(referenced_put(r, "cn-shanghai", "", "kp-b", false, 7), -EINVAL);
        /* Again: the same entry, its first time kept. */
        CHECK_INTEQ(referenced_put(r, "cn-hangzhou", "launch-template:lt-1:2", "kp-a", true, 99), 0);
        CHECK_INTEQ(referenced_count(r, "launch-template:"), 2);
        CHECK_INTEQ(referenced_count(r, "scaling-configuration:"), 1);
        /* A source naming a key pair and carrying keys in its UserData counts once; the same
         * source name in another region is another source. */
        CHECK_INTEQ(referenced_put(r, "cn-hangzhou", "launch-template:lt-1:2", "user-data:SHA256:x", true, 8), 0);
        CHECK_INTEQ(referenced_put(r, "cn-hangzhou", "launch-template:lt-1:2", "user-data:SHA256:y", true, 8), 0);
        CHECK_INTEQ(referenced_put(r, "cn-shanghai", "launch-template:lt-1:2", "kp-b", false, 8), 0);
        CHECK_INTEQ(referenced_count(r, "launch-template:"), 3);
        CHECK_INTEQ(referenced_save(r), 0);
        CHECK_INTEQ(file_mode(dir, "referenced.json"), 0600);

        CHECK_INTEQ(referenced_load(dir, &again), 0);
        e = referenced_find(again, "cn-hangzhou", "launch-template:lt-1:2", "kp-a");
        CHECK(e && e->is_default && e->found_usec == 5);
        CHECK(!referenced_find(again, "cn-hangzhou", "launch-template:lt-1:2", "kp-b"));
        CHECK_INTEQ(hashmap_size(again->by_key), 6);

        /* A complete check of cn-hangzhou found only lt-1:2 again: the other one there goes. */
        key = referenced_key("cn-hangzhou", "launch-template:lt-1:2", "kp-a");
        CHECK(hashmap_new(&keep) == 0 && hashmap_put(keep, key, key) == 0);
        again->dirty = false;
        referenced_prune_region(again, "cn-hangzhou", keep);
        CHECK(again->dirty);
        CHECK(!referenced_find(again, "cn-hangzhou", "scaling-configuration:asc-1", "kp-a"));
        CHECK(referenced_find(again, "cn-shanghai", "launch-template:lt-9:1", "kp-b"));
        referenced_prune_region(again, NULL, NULL);
        CHECK_INTEQ(hashmap_size(again->by_key), 0);
}

static void test_referenced_corrupt(void) {
        static const char *const bad[] = {
                "not json",
                "{\"version\":2,\"sources\":[]}",
                "{\"version\":1}",
                "{\"version\":1,\"sources\":[{\"region\":\"r\",\"source\":\"s\"}]}",
                "{\"version\":1,\"sources\":[{\"region\":\"\",\"source\":\"s\",\"keypair\":\"k\",\"default\":true,\"found_usec\":1}]}",
        };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_free_ char *name = NULL, *dir = NULL;
                struct referenced *r = NULL;

                CHECK(asprintf(&name, "referenced-bad-%zu", i) > 0);
                dir = dir_named(name);
                write_file(dir, "referenced.json", bad[i]);
                CHECK_INTEQ(referenced_load(dir, &r), -EBADMSG);
                CHECK(!r);
        }
}

static void test_retired(void) {
        _cleanup_free_ char *dir = dir_named("retired");
        _cleanup_(retired_freep) struct retired *r = NULL, *again = NULL;
        struct revlist *l = NULL;
        struct retired_entry *e = NULL;
        struct sshkey_digests d;
        const char *error;

        CHECK_INTEQ(retired_load(dir, &r), 0);
        CHECK_INTEQ(retired_put(r, "cn-hangzhou", "kp-a", KEY_A, "leaked \"badly\"", 10, &e), 0);
        retired_set_deleted(r, e, 11);
        CHECK_INTEQ(retired_put(r, "cn-shanghai", "kp-c", KEY_C, "lost", 12, NULL), 0);
        CHECK_INTEQ(retired_put(r, "cn-shanghai", "kp-x", "not a key", NULL, 12, NULL), 0);
        CHECK_INTEQ(retired_put(r, "cn-shanghai", "kp-y", "", NULL, 12, NULL), -EINVAL);
        CHECK_INTEQ(retired_save(r), 0);
        CHECK_INTEQ(file_mode(dir, "retired.json"), 0600);

        CHECK_INTEQ(retired_load(dir, &again), 0);
        e = retired_find(again, "cn-hangzhou", "kp-a");
        CHECK(e && streq(e->public_key, KEY_A) && e->saved_usec == 10 && e->deleted_usec == 11);
        CHECK_STREQ(e ? e->reason : NULL, "leaked \"badly\"");
        e = retired_find(again, "cn-shanghai", "kp-c");
        CHECK(e && e->deleted_usec == 0);
        CHECK(!retired_find(again, "cn-hangzhou", "kp-c"));

        /* Every saved key that parses, as a SHA256 entry of its region; a quoted reason is left out. */
        CHECK_INTEQ(retired_to_revlist(again, &l), 0);
        CHECK(l && l->n_entries == 2);
        CHECK_INTEQ(sshkey_parse_public(KEY_A, &d, &error), 0);
        for (size_t i = 0; l && i < l->n_entries; i++) {
                const struct revlist_entry *x = &l->entries[i];

                CHECK_INTEQ(x->kind, REVLIST_SHA256);
                CHECK(strv_length(x->regions) == 1);
                if (revlist_entry_in_region(x, "cn-hangzhou")) {
                        CHECK(memcmp(x->digest, d.sha256, sizeof(d.sha256)) == 0);
                        CHECK(!x->reason);
                } else
                        CHECK_STREQ(x->reason, "lost");
        }
        revlist_free(l);

        /* The same key deleted under another name of the region (kp-a in cn-hangzhou), not its own. */
        CHECK(retired_key_deleted_elsewhere(again, "cn-hangzhou", "kp-new", KEY_A " comment"));
        CHECK(!retired_key_deleted_elsewhere(again, "cn-hangzhou", "kp-a", KEY_A));
        CHECK(!retired_key_deleted_elsewhere(again, "cn-shanghai", "kp-new", KEY_A));
        CHECK(!retired_key_deleted_elsewhere(again, "cn-shanghai", "kp-new", KEY_C)); /* kp-c: not deleted */
        CHECK(!retired_key_deleted_elsewhere(again, "cn-hangzhou", "kp-new", "not a key"));

        /* A deletion no longer wanted is forgotten, and so written. */
        e = retired_find(again, "cn-shanghai", "kp-x");
        CHECK(e);
        again->dirty = false;
        if (e)
                retired_remove(again, e);
        CHECK(again->dirty && !retired_find(again, "cn-shanghai", "kp-x") && retired_find(again, "cn-shanghai", "kp-c"));

        /* Imported anew under the same name: to be deleted again. */
        CHECK_INTEQ(retired_put(again, "cn-hangzhou", "kp-a", KEY_C, NULL, 20, &e), 0);
        CHECK(e->deleted_usec == 0 && streq(e->public_key, KEY_C) && !e->reason);
}

/* Warned about once; the parts of each entry survive a round trip; a complete listing of a
 * region forgets what it did not show, there only. */
static void test_warned(void) {
        _cleanup_free_ char *dir = dir_named("warned");
        _cleanup_(warned_freep) struct warned *w = NULL, *again = NULL;

        CHECK_INTEQ(warned_load(dir, &w), 0);
        CHECK_INTEQ(warned_see(w, "cn-hangzhou", "i-w1", "kp-a", 5), 1);
        CHECK_INTEQ(warned_see(w, "cn-hangzhou", "i-w1", "kp-a", 6), 0);
        CHECK_INTEQ(warned_see(w, "cn-hangzhou", "i-w1", "kp-b", 7), 1);
        CHECK_INTEQ(warned_see(w, "cn-hangzhou", "i-w2", "kp-a", 8), 1);
        CHECK_INTEQ(warned_see(w, "cn-shanghai", "i-w3", "kp-c", 9), 1);
        CHECK_INTEQ(warned_see(w, "cn-shanghai", "", "kp-c", 9), -EINVAL);
        CHECK(w->dirty);
        CHECK_INTEQ(warned_save(w), 0);
        CHECK(!w->dirty);
        CHECK_INTEQ(file_mode(dir, "windows.json"), 0600);

        CHECK_INTEQ(warned_load(dir, &again), 0);
        CHECK_INTEQ(hashmap_size(again->by_key), 4);
        CHECK_INTEQ(warned_see(again, "cn-hangzhou", "i-w1", "kp-b", 10), 0);
        CHECK_INTEQ(warned_see(again, "cn-shanghai", "i-w3", "kp-c", 10), 0);
        /* cn-hangzhou listed to the end showing only i-w1 with kp-b: the other two go. */
        warned_forget_unseen(again, "cn-hangzhou");
        CHECK_INTEQ(hashmap_size(again->by_key), 2);
        CHECK_INTEQ(warned_see(again, "cn-hangzhou", "i-w1", "kp-b", 11), 0);
        CHECK_INTEQ(warned_see(again, "cn-hangzhou", "i-w2", "kp-a", 11), 1);
        /* The next listing starts unseen: cn-shanghai's entry stays until its own listing. */
        warned_forget_unseen(again, "cn-shanghai");
        CHECK_INTEQ(warned_see(again, "cn-shanghai", "i-w3", "kp-c", 12), 0);
        CHECK_INTEQ(hashmap_size(again->by_key), 3);

        write_file(dir, "windows.json", "{\"version\":1,\"instances\":[{\"region\":\"r\"}]}");
        warned_free(TAKE_PTR(again));
        CHECK_INTEQ(warned_load(dir, &again), -EBADMSG);
}

/* A record of today's format (one digest an entry) reads as before: the digest is the set's. */
static void test_contained_old_format(void) {
        _cleanup_free_ char *dir = dir_named("contained-old");
        _cleanup_(contained_freep) struct contained *c = NULL;
        struct contained_entry *e;

        write_file(dir, "contained.json",
                   "{\"version\":1,\"keysets\":{\"d1\":[\"ssh-ed25519 AAAA\"]},\"entries\":[{\"instance_id\":\"i-1\","
                   "\"region\":\"r\",\"digest\":\"d1\",\"token\":\"t\",\"status\":\"contained\",\"keys\":1,"
                   "\"attempts\":1,\"removed\":2,\"found_usec\":5,\"updated_usec\":6}]}");
        CHECK_INTEQ(contained_load(dir, &c), 0);
        e = contained_find(c, "i-1");
        CHECK(e && e->status == CONTAINED_DONE && !e->set && e->removed == 2);
        CHECK_STREQ(contained_entry_set(e), "d1");
        CHECK(contained_get_keyset(c, "d1"));
}

/* A set sent in runs: each run's entry names the set, whose keys are kept beside the run's; the
 * exposure and the lines removed span the runs; the last run makes the entry what a set that fits
 * one command makes it; key sets no entry refers to any more are left out. */
static void test_contained_runs(void) {
        _cleanup_free_ char *dir = dir_named("contained");
        _cleanup_(contained_freep) struct contained *c = NULL, *again = NULL;
        char *run1[] = { (char *) "ssh-ed25519 AAAA1" }, *run2[] = { (char *) "ssh-ed25519 AAAA2" };
        char *set[] = { run1[0], run2[0] };
        struct contained_entry *e;

        CHECK_INTEQ(contained_load(dir, &c), 0);
        CHECK_INTEQ(contained_put_keyset(c, "s", set, 2), 0);
        CHECK_INTEQ(contained_put_keyset(c, "r1", run1, 1), 0);
        CHECK_INTEQ(contained_put_keyset(c, "r2", run2, 1), 0);
        CHECK_INTEQ(contained_begin(c, "i-1", "cn-hangzhou", "r1", 1, "s", "t1", 10, &e), 0);
        e->removed = 3;
        CHECK_INTEQ(contained_set(c, e, CONTAINED_PARTIAL, "inv-1", NULL, 11), 0);
        CHECK_INTEQ(contained_begin(c, "i-1", "cn-hangzhou", "r2", 1, "s", "t2", 12, &e), 0);
        CHECK_INTEQ(contained_save(c), 0);

        CHECK_INTEQ(contained_load(dir, &again), 0);
        e = contained_find(again, "i-1");
        CHECK(e && e->status == CONTAINED_SENDING && e->found_usec == 10 && e->removed == 3 && e->attempts == 2);
        CHECK_STREQ(e->digest, "r2");
        CHECK_STREQ(e->set, "s");
        CHECK_STREQ(e->token, "t2");
        CHECK(contained_get_keyset(again, "s") && contained_get_keyset(again, "r2"));
        CHECK(!contained_get_keyset(again, "r1"));
        CHECK_INTEQ(contained_complete(again, e, 2, 13), 0);
        CHECK(e->status == CONTAINED_DONE && !e->set && e->keys == 2);
        CHECK_STREQ(e->digest, "s");
        CHECK_INTEQ(contained_save(again), 0);
        contained_free(TAKE_PTR(again));
        CHECK_INTEQ(contained_load(dir, &again), 0);
        e = contained_find(again, "i-1");
        CHECK(e && e->status == CONTAINED_DONE && !e->set);
        CHECK(contained_get_keyset(again, "s") && !contained_get_keyset(again, "r2"));

        /* Another set: a new exposure. */
        CHECK_INTEQ(contained_note_unsent(again, "i-1", "cn-hangzhou", "r9", 1, "s9", "agent-offline", 20), 0);
        CHECK(e->status == CONTAINED_FAILED && e->found_usec == 20 && e->removed == 0 && e->attempts == 0);
        CHECK_STREQ(contained_entry_set(e), "s9");
        CHECK_STREQ(contained_status_to_string(CONTAINED_PARTIAL), "partial");
}

int main(void) {
        _cleanup_free_ char *cmd = NULL;

        CHECK(mkdtemp(tmpdir));
        test_referenced();
        test_referenced_corrupt();
        test_retired();
        test_warned();
        test_contained_old_format();
        test_contained_runs();
        CHECK(asprintf(&cmd, "rm -rf '%s'", tmpdir) > 0);
        CHECK(system(cmd) == 0);
        TESTS_DONE();
}
