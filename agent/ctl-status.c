/* keyrevokectl status: the revoked entries, the key pairs and instances they reached, the queue. */
#include "ctl.h"
#include "lists.h"
#include "log.h"
#include "metrics.h"
#include "sshkey.h"
#include "table.h"

/* Longest entry label: "key SHA256:" and 43 base64 characters. */
#define STATUS_LABEL_MAX 64

struct status {
        const struct ctl *ctl;
        struct conf *conf;
        struct lists lists;
        struct diags problems;
        struct state *state;
        struct queue_entry **queue;             /* sorted by region, key pair, instance */
        const struct revlist **origin_list;     /* per queue entry: the list of its entry, or NULL */
        const struct revlist_entry **origin;    /* per queue entry: the entry it came from, or NULL */
        size_t n_queue;
        uint64_t now;
        int window;
        struct window_span span;
};

static void status_done(struct status *s) {
        free(s->queue);
        free(s->origin_list);
        free(s->origin);
        state_free(s->state);
        diags_clear(&s->problems);
        lists_done(&s->lists);
        conf_free(s->conf);
}

/* ---- which entry an instance came from ----------------------------------------------------- */

/* How well entry e explains queue entry q: 3 its name and reason, 2 its name, 1 the reason of a
 * key or fingerprint entry (status makes no API call to compare keys), 0 not at all. */
static int origin_score(const struct revlist_entry *e, const struct queue_entry *q) {
        bool same_reason = streq_ptr(e->reason, q->reason);

        if (!revlist_entry_in_region(e, q->region))
                return 0;
        if (e->kind == REVLIST_NAME)
                return streq(e->name, q->keypair) ? 2 + same_reason : 0;
        return same_reason;
}

/* The first entry, in list order, with the best score (the daemon reports the first entry that
 * matched a key pair); none when only the reasons of several key or fingerprint entries fit. */
static void status_find_origin(struct status *s, size_t k) {
        int best = 0;
        size_t n_best = 0;

        for (size_t i = 0; i < s->lists.n; i++)
                for (size_t j = 0; j < s->lists.items[i]->n_entries; j++) {
                        const struct revlist_entry *e = &s->lists.items[i]->entries[j];
                        int score = origin_score(e, s->queue[k]);
                        if (score > 0 && score == best)
                                n_best++;
                        if (score <= best)
                                continue;
                        best = score;
                        n_best = 1;
                        s->origin_list[k] = s->lists.items[i];
                        s->origin[k] = e;
                }
        if (best == 1 && n_best > 1) {
                s->origin_list[k] = NULL;
                s->origin[k] = NULL;
        }
}

static int queue_compare(const void *a, const void *b) {
        const struct queue_entry *x = *(struct queue_entry *const *) a, *y = *(struct queue_entry *const *) b;
        int c = strcmp(x->region, y->region);

        if (c == 0)
                c = strcmp(x->keypair, y->keypair);
        return c != 0 ? c : strcmp(x->instance_id, y->instance_id);
}

static int status_sort_queue(struct status *s) {
        struct queue_entry *e;
        size_t i = 0, n = 0;

        s->n_queue = hashmap_size(s->state->by_instance);
        s->queue = calloc(s->n_queue + 1, sizeof(*s->queue));
        s->origin_list = calloc(s->n_queue + 1, sizeof(*s->origin_list));
        s->origin = calloc(s->n_queue + 1, sizeof(*s->origin));
        if (!s->queue || !s->origin_list || !s->origin)
                return -ENOMEM;
        while (state_iterate(s->state, &i, &e))
                s->queue[n++] = e;
        qsort(s->queue, s->n_queue, sizeof(*s->queue), queue_compare);
        for (size_t k = 0; k < s->n_queue; k++)
                status_find_origin(s, k);
        return 0;
}

static int status_load(const struct ctl *c, struct status *s) {
        int r;

        s->ctl = c;
        s->now = ctl_now();
        r = ctl_load_conf(c, &s->conf);
        if (r < 0)
                return r;
        r = lists_load(s->conf->revocation_directory, getuid(), false, &s->lists, &s->problems);
        if (r < 0)
                return log_error_errno(r, "Out of memory while reading the lists");
        r = ctl_load_state(s->conf, &s->state);
        if (r < 0)
                return r;
        r = status_sort_queue(s);
        if (r < 0)
                return log_error_errno(r, "Out of memory");
        s->window = ctl_next_window(s->conf, s->now, &s->span);
        return 0;
}

/* ---- presentation -------------------------------------------------------------------------- */

/* "kp-name", "SHA256:...", "MD5:aa:bb:..." or "key SHA256:..." */
static const char *entry_label(const struct revlist_entry *e, char *buf) {
        char fp[STATUS_LABEL_MAX - 8]; /* "SHA256:" and 43 characters fit */

        switch (e->kind) {
        case REVLIST_NAME:
                return e->name;
        case REVLIST_SHA256:
                sshkey_format_sha256(e->digest, buf, STATUS_LABEL_MAX);
                return buf;
        case REVLIST_PUBLIC_KEY:
                sshkey_format_sha256(e->digest, fp, sizeof(fp));
                snprintf(buf, STATUS_LABEL_MAX, "key %s", fp);
                return buf;
        case REVLIST_MD5:
                strcpy(buf, "MD5");
                for (size_t i = 0; i < SSHKEY_MD5_LEN; i++)
                        snprintf(buf + 3 + 3 * i, STATUS_LABEL_MAX - 3 - 3 * i, ":%02x", e->digest[i]);
                return buf;
        case _REVLIST_KIND_MAX:
                break;
        }
        return "?";
}

/* The regions of e joined by ',' (a new string), "all" without region=. */
static char *entry_regions(const struct revlist_entry *e) {
        _cleanup_free_ char *text = NULL;
        size_t size = 0;
        FILE *f;

        if (!e->regions)
                return strdup("all");
        f = open_memstream(&text, &size);
        if (!f)
                return NULL;
        for (char **r = e->regions; *r; r++)
                fprintf(f, "%s%s", r == e->regions ? "" : ",", *r);
        if (fclose(f) != 0)
                return NULL;
        return TAKE_PTR(text);
}

static const char *base_name(const char *path) {
        const char *slash = strrchr(path, '/');
        return slash ? slash + 1 : path;
}

/* The distinct "region/keypair" of the instances that came from e, joined by ", ". */
static char *entry_keypairs(const struct status *s, const struct revlist_entry *e, size_t *ret_instances) {
        _cleanup_free_ char *text = NULL;
        size_t size = 0, n = 0;
        FILE *f = open_memstream(&text, &size);
        const struct queue_entry *last = NULL;

        if (!f)
                return NULL;
        for (size_t k = 0; k < s->n_queue; k++) {
                const struct queue_entry *q = s->queue[k];
                if (s->origin[k] != e)
                        continue;
                n++;
                /* sorted by region and key pair: equal neighbours are one key pair */
                if (!last || !streq(last->region, q->region) || !streq(last->keypair, q->keypair))
                        fprintf(f, "%s%s/%s", last ? ", " : "", q->region, q->keypair);
                last = q;
        }
        if (fclose(f) != 0)
                return NULL;
        *ret_instances = n;
        return TAKE_PTR(text);
}

static int entries_table(const struct status *s, struct table *t) {
        for (size_t i = 0; i < s->lists.n; i++)
                for (size_t j = 0; j < s->lists.items[i]->n_entries; j++) {
                        const struct revlist_entry *e = &s->lists.items[i]->entries[j];
                        _cleanup_free_ char *regions = entry_regions(e);
                        char label[STATUS_LABEL_MAX];
                        size_t n = 0;
                        _cleanup_free_ char *keypairs = entry_keypairs(s, e, &n);

                        if (!keypairs || !regions ||
                            table_add(t, entry_label(e, label), TABLE_PLAIN) < 0 ||
                            table_addf(t, TABLE_PLAIN, "%s:%u", base_name(s->lists.items[i]->path), e->line) < 0 ||
                            table_add(t, regions, TABLE_PLAIN) < 0 ||
                            table_add(t, e->reason, TABLE_PLAIN) < 0 ||
                            table_addf(t, TABLE_PLAIN, "%zu", n) < 0 || table_add(t, keypairs, TABLE_PLAIN) < 0)
                                return -ENOMEM;
                }
        return 0;
}

/* Green when done, red when a reboot failed or timed out, yellow while waiting. */
static enum table_color state_color(const struct queue_entry *q) {
        if (q->state == QUEUE_DONE)
                return streq_ptr(q->outcome, "health-timeout") ? TABLE_RED : TABLE_GREEN;
        return q->reboot_failures > 0 ? TABLE_RED : TABLE_YELLOW;
}

/* "completed", "2 failed reboot(s)", or nothing yet. */
static const char *queue_result(const struct queue_entry *q, char *buf, size_t size) {
        if (q->state == QUEUE_DONE)
                return q->outcome;
        if (q->reboot_failures == 0)
                return NULL;
        snprintf(buf, size, "%u failed reboot(s)", q->reboot_failures);
        return buf;
}

static const char *time_or_null(uint64_t usec, char *buf) {
        return usec > 0 ? ctl_format_time(usec, false, buf) : NULL;
}

static int instances_table(const struct status *s, struct table *t) {
        for (size_t k = 0; k < s->n_queue; k++) {
                const struct queue_entry *q = s->queue[k];
                char detached[CTL_TIME_MAX], started[CTL_TIME_MAX], done[CTL_TIME_MAX], result[64];

                if (table_add(t, q->region, TABLE_PLAIN) < 0 || table_add(t, q->keypair, TABLE_PLAIN) < 0 ||
                    table_add(t, q->instance_id, TABLE_PLAIN) < 0 ||
                    table_add(t, queue_state_to_string(q->state), state_color(q)) < 0 ||
                    table_add(t, time_or_null(q->detached_usec, detached), TABLE_PLAIN) < 0 ||
                    table_add(t, time_or_null(q->reboot_started_usec, started), TABLE_PLAIN) < 0 ||
                    table_add(t, time_or_null(q->done_usec, done), TABLE_PLAIN) < 0 ||
                    table_add(t, queue_result(q, result, sizeof(result)), state_color(q)) < 0)
                        return -ENOMEM;
        }
        return 0;
}

/* How long the oldest exposed instance has been waiting for the reboot that makes its detach
 * take effect. */
static uint64_t exposure_usec(const struct status *s, const struct queue_entry *oldest) {
        return oldest->detached_usec < s->now ? s->now - oldest->detached_usec : 0;
}

static void print_summary(const struct status *s) {
        const struct queue_entry *oldest = metrics_oldest_exposed(s->state);
        char when[CTL_TIME_MAX], age[CTL_DURATION_MAX];

        printf("Reboot queue: %zu pending, %zu rebooting, %zu detaching, %zu done\n",
               state_count(s->state, QUEUE_PENDING), state_count(s->state, QUEUE_REBOOTING),
               state_count(s->state, QUEUE_DETACHING), state_count(s->state, QUEUE_DONE));
        if (oldest)
                printf("Oldest exposure: %s (%s, detached %s)\n",
                       ctl_format_duration(exposure_usec(s, oldest), age), oldest->instance_id,
                       ctl_format_time(oldest->detached_usec, false, when));
        else
                printf("Oldest exposure: none\n");
        printf("Next window: ");
        ctl_print_window(s->conf, s->window, &s->span, stdout);
}

static int print_table(const struct status *s, const char *const *headers,
                       int (*fill)(const struct status *s, struct table *t), const char *empty) {
        _cleanup_(table_freep) struct table *t = NULL;
        int r = table_new(headers, &t);

        if (r >= 0)
                r = fill(s, t);
        if (r < 0)
                return r;
        if (table_rows(t) == 0)
                printf("%s\n", empty);
        else
                table_print(t, stdout, s->ctl->color);
        putchar('\n');
        return 0;
}

/* Queue entries that no list entry explains for sure. */
static size_t unattributed(const struct status *s) {
        size_t n = 0;

        for (size_t k = 0; k < s->n_queue; k++)
                n += !s->origin[k];
        return n;
}

static int status_print_text(const struct status *s) {
        int r;

        printf("Revocation lists: %zu file(s), %zu entries in %s\n", s->lists.n, lists_count_entries(&s->lists),
               s->conf->revocation_directory);
        if (s->problems.n > 0) {
                printf("Problems (these lines are not enforced):\n");
                for (size_t i = 0; i < s->problems.n; i++) {
                        _cleanup_free_ char *p = diag_format(&s->problems.items[i]);
                        printf("  %s\n", strempty(p));
                }
        }
        putchar('\n');
        r = print_table(s, (const char *[]) { "ENTRY", "LIST:LINE", "REGIONS", "REASON", "INSTANCES", "KEY PAIRS", NULL },
                        entries_table, "No revocation entries.");
        if (r >= 0 && unattributed(s) > 0)
                printf("%zu instance(s) below are not counted above: their entry is gone, or several key or\n"
                       "fingerprint entries with the same reason could have matched them.\n\n",
                       unattributed(s));
        if (r >= 0)
                r = print_table(s, (const char *[]) { "REGION", "KEY PAIR", "INSTANCE", "STATE", "DETACHED",
                                                      "REBOOT STARTED", "FINISHED", "RESULT", NULL },
                                instances_table, "No instance has been detached.");
        if (r < 0)
                return log_error_errno(r, "Out of memory"), CTL_EXIT_FAILURE;
        print_summary(s);
        return CTL_EXIT_OK;
}

/* ---- JSON ---------------------------------------------------------------------------------- */

static json_t *time_json(uint64_t usec) {
        char buf[CTL_TIME_MAX];
        return usec > 0 ? json_string(ctl_format_time(usec, true, buf)) : json_null();
}

static json_t *entry_keypairs_json(const struct status *s, const struct revlist_entry *e) {
        json_t *a = json_array();
        const struct queue_entry *last = NULL;

        for (size_t k = 0; a && k < s->n_queue; k++) {
                const struct queue_entry *q = s->queue[k];
                if (s->origin[k] != e || (last && streq(last->region, q->region) && streq(last->keypair, q->keypair)))
                        continue;
                last = q;
                if (json_array_append_new(a, json_pack("{s:s, s:s}", "region", q->region, "keypair", q->keypair)) < 0)
                        a = (json_decref(a), NULL);
        }
        return a;
}

static json_t *regions_json(char *const *regions) {
        json_t *a = regions ? json_array() : json_null();

        for (char *const *r = regions; a && r && *r; r++)
                if (json_array_append_new(a, json_string(*r)) < 0)
                        a = (json_decref(a), NULL);
        return a;
}

static json_t *entries_json(const struct status *s) {
        json_t *a = json_array();

        for (size_t i = 0; a && i < s->lists.n; i++)
                for (size_t j = 0; a && j < s->lists.items[i]->n_entries; j++) {
                        const struct revlist_entry *e = &s->lists.items[i]->entries[j];
                        char label[STATUS_LABEL_MAX];
                        json_t *o = json_pack("{s:s, s:I, s:s, s:s, s:o, s:o, s:o}", "list",
                                              s->lists.items[i]->path, "line", (json_int_t) e->line, "kind",
                                              revlist_kind_to_string(e->kind), "entry", entry_label(e, label),
                                              "regions", regions_json(e->regions), "reason",
                                              ctl_json_string(e->reason), "keypairs", entry_keypairs_json(s, e));
                        if (json_array_append_new(a, o) < 0)
                                a = (json_decref(a), NULL);
                }
        return a;
}

static json_t *instance_json(const struct status *s, size_t k) {
        const struct queue_entry *q = s->queue[k];

        return json_pack("{s:s, s:s, s:s, s:o, s:s, s:o, s:o, s:o, s:o, s:I, s:o, s:o}", "instance_id",
                         q->instance_id, "region", q->region, "keypair", q->keypair, "reason",
                         ctl_json_string(q->reason), "state", queue_state_to_string(q->state), "detached",
                         time_json(q->detached_usec), "reboot_started", time_json(q->reboot_started_usec),
                         "finished", time_json(q->done_usec), "outcome", ctl_json_string(q->outcome),
                         "reboot_failures", (json_int_t) q->reboot_failures, "list",
                         ctl_json_string(s->origin_list[k] ? s->origin_list[k]->path : NULL), "line",
                         s->origin[k] ? json_integer(s->origin[k]->line) : json_null());
}

static json_t *lists_json(const struct status *s) {
        json_t *lists = json_array(), *problems = json_array();

        for (size_t i = 0; lists && i < s->lists.n; i++)
                if (json_array_append_new(lists, json_pack("{s:s, s:I}", "path", s->lists.items[i]->path, "entries",
                                                           (json_int_t) s->lists.items[i]->n_entries)) < 0)
                        lists = (json_decref(lists), NULL);
        for (size_t i = 0; problems && i < s->problems.n; i++) {
                _cleanup_free_ char *p = diag_format(&s->problems.items[i]);
                if (!p || json_array_append_new(problems, json_string(p)) < 0)
                        problems = (json_decref(problems), NULL);
        }
        return json_pack("{s:s, s:o, s:o}", "directory", s->conf->revocation_directory, "files", lists, "problems",
                         problems);
}

static json_t *queue_json(const struct status *s) {
        const struct queue_entry *oldest = metrics_oldest_exposed(s->state);
        json_t *counts = json_object(), *instances = json_array();

        for (enum queue_state st = 0; counts && st < _QUEUE_STATE_MAX; st++)
                if (json_object_set_new(counts, queue_state_to_string(st),
                                        json_integer((json_int_t) state_count(s->state, st))) < 0)
                        counts = (json_decref(counts), NULL);
        for (size_t k = 0; instances && k < s->n_queue; k++)
                if (json_array_append_new(instances, instance_json(s, k)) < 0)
                        instances = (json_decref(instances), NULL);
        return json_pack("{s:o, s:o, s:o}", "counts", counts, "instances", instances, "oldest_exposure",
                         oldest ? json_pack("{s:s, s:o, s:I}", "instance_id", oldest->instance_id, "detached",
                                            time_json(oldest->detached_usec), "seconds",
                                            (json_int_t) (exposure_usec(s, oldest) / USEC_PER_SEC))
                                : json_null());
}

static int status_print_json(const struct status *s) {
        return ctl_print_json(json_pack("{s:s, s:o, s:o, s:o, s:o}", "config", s->ctl->config_path, "lists",
                                        lists_json(s), "entries", entries_json(s), "queue", queue_json(s),
                                        "next_window", ctl_window_json(s->conf, s->window, &s->span)));
}

int ctl_status(const struct ctl *c, char **args) {
        struct status s = {};
        int r = status_load(c, &s);

        if (r >= 0)
                r = c->json ? status_print_json(&s) : status_print_text(&s);
        else
                r = CTL_EXIT_FAILURE;
        status_done(&s);
        return r;
}
