/* Unit tests for planner.c: key pair matching per region, instance actions, batch splits and the
 * reboot gate, precheck and follow decisions. Lists are parsed from inline text with revlist_parse;
 * public keys come from the golden keys under tests/data/keys. */
#include "logic/planner.h"
#include "tests.h"

#define SEC USEC_PER_SEC
#define MIN_ USEC_PER_MINUTE

/* ---- matching ------------------------------------------------------------------------------ */

/* "@RSA@" is replaced by the golden RSA public key line (a key entry takes no options). */
static const char list_a[] =
        "# revoked key pairs\n"                                                 /* 1 */
        "kp-alice reason=\"lost laptop\"\n"                                     /* 2 */
        "kp-bob region=cn-shanghai\n"                                           /* 3 */
        "SHA256:EjljDIXABOZuGKhFEjon6w3z0z/TeEJH/zTp/cBm490 reason=alice\n"     /* 4: ed25519 */
        "@RSA@\n"                                                               /* 5 */
        "MD5:1a:e4:13:20:c9:2d:10:df:96:80:90:fb:27:67:fc:7e region=cn-hangzhou,cn-beijing\n" /* 6: ecdsa256 */
        "kp-nobody\n"                                                           /* 7 */
        "kp-carol region=cn-beijing\n";                                         /* 8 */

static const char list_b[] =
        "kp-alice reason=second\n"                                              /* 1 */
        "kp-dave\n"                                                             /* 2 */
        "kp-eve\n";                                                             /* 3 */

/* A key pair as DescribeKeyPairs gives it; key is a golden key name, a literal, or NULL. */
static const struct {
        const char *name;
        const char *key_file;   /* tests/data/keys/<key_file>.pub */
        const char *key_text;
} keypairs[] = {
        { "kp-alice", "ed25519" },      /* name and SHA256 and b's name: a:2, the first, wins */
        { "kp-bob" },                   /* only in cn-shanghai */
        { "kp-eve", "ed25519" },        /* SHA256 a:4 comes before b's name entry */
        { "kp-frank", NULL, "@RSA-NO-COMMENT@" }, /* same key blob, no comment */
        { "kp-grace", "ecdsa256" },     /* MD5, only in cn-hangzhou and cn-beijing */
        { "kp-heidi", NULL, "ssh-ed25519 AAAA" }, /* unparsable key: matches nothing, no crash */
        { "kp-ivan", "ecdsa384" },      /* a key nobody revoked */
        { "KP-ALICE" },                 /* names are exact, case included */
        { "kp-ali" },                   /* never a prefix or pattern */
        { "kp-dave" },
        { "kp-carol" },                 /* only in cn-beijing */
        { "kp-judy", NULL, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJBB95JqO5Vs2vFAJjnJyw8QvE1KHHk68JeyYobA7D46 other" },
};

static const struct match_case {
        const char *region;
        size_t n_entries;
        bool needs_keys;
        const char *targets;    /* "keypair=list:line ..." in key pair order */
        const char *names_found;
} match_cases[] = {
        { "cn-hangzhou", 8, true, "kp-alice=a:2 kp-eve=a:4 kp-frank=a:5 kp-grace=a:6 kp-dave=b:2 kp-judy=a:4",
          "a:2 b:1 b:2 b:3" },
        { "cn-shanghai", 8, true, "kp-alice=a:2 kp-bob=a:3 kp-eve=a:4 kp-frank=a:5 kp-dave=b:2 kp-judy=a:4",
          "a:2 a:3 b:1 b:2 b:3" },
        { "cn-beijing", 9, true,
          "kp-alice=a:2 kp-eve=a:4 kp-frank=a:5 kp-grace=a:6 kp-dave=b:2 kp-carol=a:8 kp-judy=a:4",
          "a:2 a:8 b:1 b:2 b:3" },
        { "us-west-1", 7, true, "kp-alice=a:2 kp-eve=a:4 kp-frank=a:5 kp-dave=b:2 kp-judy=a:4", "a:2 b:1 b:2 b:3" },
};

/* The golden key's first line without its newline (and without its comment when asked). */
static char *read_key(const char *file, bool strip_comment) {
        char name[64];
        char *text, *p;

        snprintf(name, sizeof(name), "keys/%s.pub", file);
        text = tests_read_data(name, NULL);
        text[strcspn(text, "\n")] = '\0';
        if (strip_comment && (p = strchr(text, ' ')) && (p = strchr(p + 1, ' ')))
                *p = '\0';
        return text;
}

static struct revlist *parse_list(const char *path, const char *text) {
        _cleanup_free_ char *rsa = read_key("rsa", false), *expanded = NULL;
        const char *at = strstr(text, "@RSA@");
        struct revlist *l = NULL;
        struct diags d = {};

        if (at)
                CHECK(asprintf(&expanded, "%.*s%s%s", (int) (at - text), text, rsa, at + 5) > 0);
        else
                expanded = strdup(text);
        CHECK_INTEQ(revlist_parse(path, expanded, strlen(expanded), &l, &d), 0);
        CHECK_INTEQ(d.n, 0);
        diags_clear(&d);
        return l;
}

static void make_keypairs(struct ecs_keypair *kp) {
        for (size_t i = 0; i < ELEMENTSOF(keypairs); i++) {
                kp[i].name = strdup(keypairs[i].name);
                if (keypairs[i].key_file)
                        kp[i].public_key = read_key(keypairs[i].key_file, false);
                else if (keypairs[i].key_text && streq(keypairs[i].key_text, "@RSA-NO-COMMENT@"))
                        kp[i].public_key = read_key("rsa", true);
                else if (keypairs[i].key_text)
                        kp[i].public_key = strdup(keypairs[i].key_text);
        }
}

/* "a:2" for an entry of list a at line 2. */
static void append_entry(char *buf, size_t size, const struct planner_entry *e) {
        size_t len = strlen(buf);
        snprintf(buf + len, size - len, "%s%s:%u", len ? " " : "", e->list->path, e->entry->line);
}

static void check_match_case(const struct match_case *c, struct revlist *const *lists, size_t n_lists,
                             const struct ecs_keypair *kp) {
        _cleanup_free_ struct planner_entry *entries = NULL;
        _cleanup_free_ struct planner_target *targets = NULL;
        _cleanup_free_ bool *found = NULL;
        size_t n_entries = 0, n_targets = 0;
        char got[1024] = "", names[256] = "";

        CHECK_INTEQ(planner_entries_for_region(lists, n_lists, c->region, &entries, &n_entries), 0);
        CHECK_INTEQ(n_entries, c->n_entries);
        CHECK(planner_needs_public_keys(entries, n_entries) == c->needs_keys);
        found = calloc(n_entries + 1, sizeof(bool));
        CHECK(found != NULL);
        CHECK_INTEQ(planner_match_keypairs(entries, n_entries, kp, ELEMENTSOF(keypairs), found, &targets,
                                           &n_targets), 0);
        for (size_t i = 0; i < n_targets; i++) {
                size_t len = strlen(got);
                snprintf(got + len, sizeof(got) - len, "%s%s=", len ? " " : "", targets[i].keypair);
                len = strlen(got);
                snprintf(got + len, sizeof(got) - len, "%s:%u", targets[i].why.list->path, targets[i].why.entry->line);
        }
        for (size_t i = 0; i < n_entries; i++)
                if (found[i])
                        append_entry(names, sizeof(names), &entries[i]);
        if (strcmp(got, c->targets) != 0 || strcmp(names, c->names_found) != 0)
                fprintf(stderr, "  region %s\n", c->region);
        CHECK_STREQ(got, c->targets);
        CHECK_STREQ(names, c->names_found);
        /* The reason reported is the winning entry's. */
        for (size_t i = 0; i < n_targets; i++)
                if (streq(targets[i].keypair, "kp-alice"))
                        CHECK_STREQ(targets[i].why.entry->reason, "lost laptop");
}

static void test_match(void) {
        struct revlist *lists[2] = { parse_list("a", list_a), parse_list("b", list_b) };
        struct ecs_keypair kp[ELEMENTSOF(keypairs)] = {};

        make_keypairs(kp);
        for (size_t i = 0; i < ELEMENTSOF(match_cases); i++)
                check_match_case(&match_cases[i], lists, ELEMENTSOF(lists), kp);
        for (size_t i = 0; i < ELEMENTSOF(kp); i++) {
                free(kp[i].name);
                free(kp[i].public_key);
        }
        for (size_t i = 0; i < ELEMENTSOF(lists); i++)
                revlist_free(lists[i]);
}

static void test_match_edges(void) {
        _cleanup_(revlist_freep) struct revlist *names = parse_list("n", "kp-x\nkp-y region=eu-central-1\n");
        struct revlist *lists[1] = { names };
        _cleanup_free_ struct planner_entry *entries = NULL;
        _cleanup_free_ struct planner_target *targets = NULL;
        struct ecs_keypair kp[1] = { { .name = (char *) "kp-x" } };
        bool found[2] = {};
        size_t n = 99, n_targets = 99;

        /* No lists: nothing applies, nothing matches. */
        CHECK_INTEQ(planner_entries_for_region(lists, 0, "cn-hangzhou", &entries, &n), 0);
        CHECK_INTEQ(n, 0);
        CHECK(!planner_needs_public_keys(entries, n));
        CHECK_INTEQ(planner_match_keypairs(entries, n, kp, 1, found, &targets, &n_targets), 0);
        CHECK_INTEQ(n_targets, 0);
        free(TAKE_PTR(entries));
        free(TAKE_PTR(targets));

        /* Names only: public keys are not needed; a region filter drops its entry. */
        CHECK_INTEQ(planner_entries_for_region(lists, 1, "cn-hangzhou", &entries, &n), 0);
        CHECK_INTEQ(n, 1);
        CHECK(!planner_needs_public_keys(entries, n));
        free(TAKE_PTR(entries));
        CHECK_INTEQ(planner_entries_for_region(lists, 1, "eu-central-1", &entries, &n), 0);
        CHECK_INTEQ(n, 2);

        /* No key pairs in the region. */
        CHECK_INTEQ(planner_match_keypairs(entries, n, kp, 0, found, &targets, &n_targets), 0);
        CHECK_INTEQ(n_targets, 0);
        CHECK(!found[0] && !found[1]);
}

/* Without a key pair listing, names are targets as they are: each once, with its first entry. */
static void test_name_targets(void) {
        _cleanup_(revlist_freep) struct revlist *l =
                parse_list("n", "kp-x reason=first\nSHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU\nkp-y\nkp-x reason=second\n");
        struct revlist *lists[1] = { l };
        _cleanup_free_ struct planner_entry *entries = NULL;
        _cleanup_free_ struct planner_target *targets = NULL;
        size_t n = 0, n_targets = 0;

        CHECK_INTEQ(planner_entries_for_region(lists, 1, "cn-hangzhou", &entries, &n), 0);
        CHECK_INTEQ(n, 4);
        CHECK_INTEQ(planner_name_targets(entries, n, &targets, &n_targets), 0);
        CHECK_INTEQ(n_targets, 2);
        CHECK_STREQ(targets[0].keypair, "kp-x");
        CHECK_STREQ(targets[0].why.entry->reason, "first");
        CHECK_STREQ(targets[1].keypair, "kp-y");
        free(TAKE_PTR(targets));
        CHECK_INTEQ(planner_name_targets(entries, 0, &targets, &n_targets), 0);
        CHECK_INTEQ(n_targets, 0);
}

/* ---- instances and batches ----------------------------------------------------------------- */

static const struct {
        const char *os_type;
        enum planner_instance_action action;
} action_cases[] = {
        { "linux", PLANNER_DETACH },
        { "windows", PLANNER_SKIP_WINDOWS },
        { NULL, PLANNER_DETACH },       /* unknown: sent; DependencyViolation isolates it if needed */
        { "", PLANNER_DETACH },
};

static void test_instance_action(void) {
        for (size_t i = 0; i < ELEMENTSOF(action_cases); i++) {
                struct ecs_instance inst = { .instance_id = (char *) "i-1", .status = (char *) "Running",
                                             .os_type = (char *) action_cases[i].os_type };
                CHECK_INTEQ(planner_instance_action(&inst), action_cases[i].action);
        }
}

static const struct {
        size_t n, first;
} split_cases[] = {
        { 0, 0 }, { 1, 0 }, { 2, 1 }, { 3, 1 }, { 4, 2 }, { 49, 24 }, { 50, 25 },
};

static void test_split_batch(void) {
        for (size_t i = 0; i < ELEMENTSOF(split_cases); i++) {
                size_t first = planner_split_batch(split_cases[i].n);
                CHECK_INTEQ(first, split_cases[i].first);
                /* Both halves are non-empty whenever there is something to split. */
                if (split_cases[i].n > 1)
                        CHECK(first > 0 && first < split_cases[i].n);
        }
}

/* ---- reboot gate --------------------------------------------------------------------------- */

#define T0 (1700000000 * SEC)
#define GATE(enabled_, window_, end_, now_, failures_, in_flight_) \
        { .enabled = (enabled_), .window = (window_), .window_end_usec = (end_), .now_usec = (now_), \
          .cutoff_usec = 15 * MIN_, .failures = (failures_), .max_failures = 3, .in_flight = (in_flight_), \
          .max_parallel = 5 }

static const struct {
        struct planner_gate_input in;
        enum planner_gate gate;
} gate_cases[] = {
        { GATE(false, 1, T0 + 60 * MIN_, T0, 0, 0), PLANNER_GATE_DISABLED },
        { GATE(false, -ENOENT, 0, T0, 0, 0), PLANNER_GATE_DISABLED },
        { GATE(true, -ENOENT, 0, T0, 0, 0), PLANNER_GATE_NO_WINDOW },
        { GATE(true, 0, T0 + 60 * MIN_, T0, 0, 0), PLANNER_GATE_OUTSIDE },
        { GATE(true, 1, T0 + 60 * MIN_, T0, 0, 0), PLANNER_GATE_OPEN },
        { GATE(true, 1, T0 + 15 * MIN_ + 1, T0, 0, 0), PLANNER_GATE_OPEN },     /* 1 us before cutoff */
        { GATE(true, 1, T0 + 15 * MIN_, T0, 0, 0), PLANNER_GATE_CUTOFF },       /* exactly at cutoff */
        { GATE(true, 1, T0 + 5 * MIN_, T0, 0, 0), PLANNER_GATE_CUTOFF },
        { GATE(true, 1, 10 * MIN_, 0, 0, 0), PLANNER_GATE_CUTOFF },             /* end < cutoff: no underflow */
        { GATE(true, 1, UINT64_MAX, T0, 0, 0), PLANNER_GATE_OPEN },             /* Window=always */
        { GATE(true, 1, UINT64_MAX, UINT64_MAX - 1, 0, 0), PLANNER_GATE_OPEN },
        { GATE(true, 1, T0 + 60 * MIN_, T0, 2, 0), PLANNER_GATE_OPEN },
        { GATE(true, 1, T0 + 60 * MIN_, T0, 3, 0), PLANNER_GATE_MAX_FAILURES },
        { GATE(true, 1, T0 + 60 * MIN_, T0, 7, 0), PLANNER_GATE_MAX_FAILURES },
        { GATE(true, 1, T0 + 60 * MIN_, T0, 0, 4), PLANNER_GATE_OPEN },
        { GATE(true, 1, T0 + 60 * MIN_, T0, 0, 5), PLANNER_GATE_FULL },
        { GATE(true, 1, T0 + 60 * MIN_, T0, 0, 9), PLANNER_GATE_FULL },
        /* Precedence: cutoff before failures before full. */
        { GATE(true, 1, T0 + 5 * MIN_, T0, 3, 5), PLANNER_GATE_CUTOFF },
        { GATE(true, 1, T0 + 60 * MIN_, T0, 3, 5), PLANNER_GATE_MAX_FAILURES },
        { GATE(true, 0, T0 + 5 * MIN_, T0, 3, 5), PLANNER_GATE_OUTSIDE },
};

static void test_gate(void) {
        for (size_t i = 0; i < ELEMENTSOF(gate_cases); i++) {
                enum planner_gate g = planner_reboot_gate(&gate_cases[i].in);
                if (g != gate_cases[i].gate)
                        fprintf(stderr, "  gate case %zu: %s\n", i, strempty(planner_gate_to_string(g)));
                CHECK_INTEQ(g, gate_cases[i].gate);
        }
        for (enum planner_gate g = 0; g < _PLANNER_GATE_MAX; g++)
                CHECK(!isempty(planner_gate_to_string(g)));
        CHECK(planner_gate_to_string(_PLANNER_GATE_MAX) == NULL);
}

/* ---- precheck and follow ------------------------------------------------------------------- */

#define NOT_FOUND NULL

static const struct {
        const char *status;     /* NOT_FOUND: the instance does not exist */
        bool exists;
        enum planner_precheck result;
} precheck_cases[] = {
        { NOT_FOUND, false, PLANNER_PRECHECK_NOT_FOUND },
        { "Running", true, PLANNER_PRECHECK_REBOOT },
        { "Stopped", true, PLANNER_PRECHECK_STOPPED },
        { "Starting", true, PLANNER_PRECHECK_WAIT },
        { "Stopping", true, PLANNER_PRECHECK_WAIT },
        { "Pending", true, PLANNER_PRECHECK_WAIT },
        { NULL, true, PLANNER_PRECHECK_WAIT },          /* no Status: look again */
        { "running", true, PLANNER_PRECHECK_WAIT },     /* statuses are exact */
};

static void test_precheck(void) {
        for (size_t i = 0; i < ELEMENTSOF(precheck_cases); i++) {
                struct ecs_instance inst = { .instance_id = (char *) "i-1", .status = (char *) precheck_cases[i].status,
                                             .start_time = (char *) "2024-01-01T00:00Z" };
                CHECK_INTEQ(planner_reboot_precheck(precheck_cases[i].exists ? &inst : NULL), precheck_cases[i].result);
        }
}

#define BEFORE "2024-01-01T00:00Z"
#define AFTER "2026-11-27T18:30Z"

static const struct follow_case {
        const char *status;     /* NULL with exists false: not found */
        bool exists;
        const char *start_time;
        const char *before;
        bool accepted, seen_down;
        uint64_t elapsed;
        enum planner_follow result;
} follow_cases[] = {
        /* gone or stopped, whatever else is known */
        { NULL, false, NULL, BEFORE, true, true, 5 * SEC, PLANNER_FOLLOW_NOT_FOUND },
        { NULL, false, NULL, BEFORE, false, false, 60 * MIN_, PLANNER_FOLLOW_NOT_FOUND },
        { "Stopped", true, BEFORE, BEFORE, true, true, 5 * SEC, PLANNER_FOLLOW_STOPPED },
        { "Stopped", true, AFTER, BEFORE, false, false, 30 * MIN_, PLANNER_FOLLOW_STOPPED },
        /* down: in progress until the health timeout (10 min) */
        { "Stopping", true, BEFORE, BEFORE, true, false, 1 * SEC, PLANNER_FOLLOW_IN_PROGRESS },
        { "Starting", true, BEFORE, BEFORE, false, true, 9 * MIN_, PLANNER_FOLLOW_IN_PROGRESS },
        { "Pending", true, NULL, BEFORE, true, true, 10 * MIN_, PLANNER_FOLLOW_IN_PROGRESS },
        { "Starting", true, BEFORE, BEFORE, true, true, 10 * MIN_ + 1, PLANNER_FOLLOW_TIMED_OUT },
        { "Stopping", true, BEFORE, BEFORE, false, false, 60 * MIN_, PLANNER_FOLLOW_TIMED_OUT },
        /* Running with a new StartTime: done, even unaccepted (answer lost) and within grace */
        { "Running", true, AFTER, BEFORE, false, false, 1 * SEC, PLANNER_FOLLOW_COMPLETED },
        { "Running", true, AFTER, BEFORE, true, false, 2 * SEC, PLANNER_FOLLOW_COMPLETED },
        { "Running", true, AFTER, NULL, false, false, 2 * SEC, PLANNER_FOLLOW_COMPLETED },
        { "Running", true, AFTER, BEFORE, false, false, 30 * MIN_, PLANNER_FOLLOW_COMPLETED },
        /* Running, same StartTime (minute precision), seen down since the call: done */
        { "Running", true, BEFORE, BEFORE, false, true, 3 * SEC, PLANNER_FOLLOW_COMPLETED },
        { "Running", true, BEFORE, BEFORE, true, true, 3 * SEC, PLANNER_FOLLOW_COMPLETED },
        /* Running, same StartTime, never seen down: wait out the grace (20 s) */
        { "Running", true, BEFORE, BEFORE, true, false, 0, PLANNER_FOLLOW_IN_PROGRESS },
        { "Running", true, BEFORE, BEFORE, false, false, 19 * SEC, PLANNER_FOLLOW_IN_PROGRESS },
        { "Running", true, NULL, NULL, false, false, 5 * SEC, PLANNER_FOLLOW_IN_PROGRESS },
        /* ... then an accepted call still happened; an unanswered one never took effect */
        { "Running", true, BEFORE, BEFORE, true, false, 20 * SEC, PLANNER_FOLLOW_COMPLETED },
        { "Running", true, BEFORE, BEFORE, false, false, 20 * SEC, PLANNER_FOLLOW_NOT_STARTED },
        { "Running", true, BEFORE, BEFORE, false, false, 60 * MIN_, PLANNER_FOLLOW_NOT_STARTED },
        { "Running", true, NULL, NULL, false, false, 21 * SEC, PLANNER_FOLLOW_NOT_STARTED },
        { "Running", true, NULL, NULL, true, false, 21 * SEC, PLANNER_FOLLOW_COMPLETED },
        /* StartTime appearing where there was none counts as new */
        { "Running", true, AFTER, NULL, true, false, 1 * SEC, PLANNER_FOLLOW_COMPLETED },
};

static void test_follow(void) {
        for (size_t i = 0; i < ELEMENTSOF(follow_cases); i++) {
                const struct follow_case *c = &follow_cases[i];
                struct ecs_instance inst = { .instance_id = (char *) "i-1", .status = (char *) c->status,
                                             .start_time = (char *) c->start_time };
                struct planner_follow_input in = {
                        .instance = c->exists ? &inst : NULL,
                        .start_time_before = c->before,
                        .accepted = c->accepted,
                        .seen_down = c->seen_down,
                        .elapsed_usec = c->elapsed,
                        .health_timeout_usec = 10 * MIN_,
                        .grace_usec = 20 * SEC,
                };
                enum planner_follow f = planner_reboot_follow(&in);
                if (f != c->result)
                        fprintf(stderr, "  follow case %zu\n", i);
                CHECK_INTEQ(f, c->result);
        }
}

int main(void) {
        test_match();
        test_match_edges();
        test_name_targets();
        test_instance_action();
        test_split_batch();
        test_gate();
        test_precheck();
        test_follow();
        TESTS_DONE();
}
