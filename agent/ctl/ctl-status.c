/* keyrevokectl status: the revoked entries, the key pairs and instances they reached, the queue. */
#include "base/log.h"
#include "base/table.h"
#include "ctl/ctl.h"
#include "io/lists.h"
#include "io/metrics.h"
#include "io/referenced.h"
#include "io/retired.h"
#include "logic/sshkey.h"

/* Longest entry label: "key SHA256:" and 43 base64 characters. */
#define STATUS_LABEL_MAX 64

/* One list entry, with the queue entries it explains. */
struct status_entry {
        const struct revlist *list;
        const struct revlist_entry *entry;
        struct status_entry *next_same_key; /* the next entry with this name (or reason) */
        struct status_entry *last_same_key; /* the last one; kept in the first entry of a key */
        size_t first_queued, last_queued;   /* indices into status.queue, valid when n_queued > 0 */
        size_t n_queued;
};

struct status {
        const struct ctl *ctl;
        struct conf *conf;
        struct lists lists;
        struct diags problems;
        struct state *state;
        struct referenced *referenced; /* launch sources found naming a revoked key pair */
        struct retired *retired;      /* key pairs deleted (DeleteRevokedKeyPairs=) */
        struct contained *contained;  /* the containment record (empty when never used) */
        struct metrics_containment containment;
        struct ctl_health health;     /* the last pass and the problems listed at the end */
        struct status_entry *entries; /* every list entry, in list order */
        size_t n_entries;
        struct hashmap *by_name;      /* key pair name -> its first name entry */
        struct hashmap *by_reason;    /* reason ("" for none) -> first key/fingerprint entry */
        struct hashmap *by_list;      /* list path -> its first entry (a list's entries are adjacent) */
        struct queue_entry **queue;   /* sorted by region, key pair, instance */
        struct status_entry **origin; /* per queue entry: the entry it came from, or NULL */
        size_t *next_queued;          /* per queue entry: the next with the same origin */
        size_t n_queue;
        uint64_t now;
        int window;
        struct window_span span;
};

static void status_done(struct status *s) {
        free(s->queue);
        free(s->origin);
        free(s->next_queued);
        hashmap_free(s->by_name);
        hashmap_free(s->by_reason);
        hashmap_free(s->by_list);
        free(s->entries);
        state_free(s->state);
        referenced_free(s->referenced);
        retired_free(s->retired);
        contained_free(s->contained);
        ctl_health_done(&s->health);
        diags_clear(&s->problems);
        lists_done(&s->lists);
        conf_free(s->conf);
}

/* ---- which entry an instance came from ----------------------------------------------------- */

/* Appends e to the chain of key in map. */
static int index_add(struct hashmap *map, const char *key, struct status_entry *e) {
        struct status_entry *first = hashmap_get(map, key);

        if (!first) {
                e->last_same_key = e;
                return hashmap_put(map, key, e);
        }
        first->last_same_key->next_same_key = e;
        first->last_same_key = e;
        return 0;
}

/* Indexes every entry: name entries by their name, key and fingerprint entries by their reason. */
static int status_index_entries(struct status *s) {
        size_t n = 0;
        int r;

        s->n_entries = lists_count_entries(&s->lists);
        s->entries = calloc(s->n_entries + 1, sizeof(*s->entries));
        if (!s->entries || hashmap_new(&s->by_name) < 0 || hashmap_new(&s->by_reason) < 0 ||
            hashmap_new(&s->by_list) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < s->lists.n; i++) {
                if (s->lists.items[i]->n_entries > 0 &&
                    hashmap_put(s->by_list, s->lists.items[i]->path, &s->entries[n]) < 0)
                        return -ENOMEM;
                for (size_t j = 0; j < s->lists.items[i]->n_entries; j++) {
                        struct status_entry *e = &s->entries[n++];
                        e->list = s->lists.items[i];
                        e->entry = &e->list->entries[j];
                        if (e->entry->kind == REVLIST_NAME)
                                r = index_add(s->by_name, e->entry->name, e);
                        else
                                r = index_add(s->by_reason, e->entry->reason ? e->entry->reason : "", e);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* The entry at list:line, by binary search: a list's entries are in line order. */
static struct status_entry *find_position(const struct status *s, const char *list, unsigned line) {
        struct status_entry *first = hashmap_get(s->by_list, list);
        size_t lo = 0, hi = first ? first->list->n_entries : 0;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (first[mid].entry->line == line)
                        return &first[mid];
                if (first[mid].entry->line < line)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return NULL;
}

/* The entry q came from. The queue keeps the key pair and the reason of the entry that matched
 * first, not the entry: a name entry of the key pair (with q's reason if there is one) is sure;
 * else a key or fingerprint entry with q's reason, unless several could have matched (status
 * makes no API call to compare keys). Entries that record list and line are matched exactly. */
static struct status_entry *find_origin(const struct status *s, const struct queue_entry *q) {
        struct status_entry *best = NULL, *candidate = NULL;
        size_t n = 0;

        /* An entry that recorded its list and line names its origin exactly. */
        if (q->list && q->line > 0) {
                best = find_position(s, q->list, q->line);
                if (best)
                        return best;
        }

        for (struct status_entry *e = hashmap_get(s->by_name, q->keypair); e; e = e->next_same_key)
                if (revlist_entry_in_region(e->entry, q->region) &&
                    (!best || (!streq_ptr(best->entry->reason, q->reason) && streq_ptr(e->entry->reason, q->reason))))
                        best = e;
        if (best)
                return best;
        for (struct status_entry *e = hashmap_get(s->by_reason, strempty(q->reason)); e && n < 2; e = e->next_same_key)
                if (revlist_entry_in_region(e->entry, q->region) && n++ == 0)
                        candidate = e;
        return n == 1 ? candidate : NULL;
}

static int queue_compare(const void *a, const void *b) {
        const struct queue_entry *x = *(struct queue_entry *const *) a, *y = *(struct queue_entry *const *) b;
        int c = strcmp(x->region, y->region);

        if (c == 0)
                c = strcmp(x->keypair, y->keypair);
        return c != 0 ? c : strcmp(x->instance_id, y->instance_id);
}

/* Sorts the queue and links each entry to its origin, in queue order. */
static int status_link_queue(struct status *s) {
        struct queue_entry *e;
        size_t i = 0, n = 0;

        s->n_queue = hashmap_size(s->state->by_instance);
        s->queue = calloc(s->n_queue + 1, sizeof(*s->queue));
        s->origin = calloc(s->n_queue + 1, sizeof(*s->origin));
        s->next_queued = calloc(s->n_queue + 1, sizeof(*s->next_queued));
        if (!s->queue || !s->origin || !s->next_queued)
                return -ENOMEM;
        while (state_iterate(s->state, &i, &e))
                s->queue[n++] = e;
        qsort(s->queue, s->n_queue, sizeof(*s->queue), queue_compare);
        for (size_t k = 0; k < s->n_queue; k++) {
                struct status_entry *o = s->origin[k] = find_origin(s, s->queue[k]);
                s->next_queued[k] = SIZE_MAX;
                if (!o)
                        continue;
                if (o->n_queued++ == 0)
                        o->first_queued = k;
                else
                        s->next_queued[o->last_queued] = k;
                o->last_queued = k;
        }
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
        r = ctl_sources_load(s->conf, &s->referenced);
        if (r < 0)
                return r;
        r = ctl_retired_load(s->conf, &s->retired);
        if (r < 0)
                return r;
        r = ctl_load_contained(s->conf, &s->contained);
        if (r < 0)
                return r;
        metrics_containment(s->contained, s->state, &s->containment);
        r = status_index_entries(s);
        if (r >= 0)
                r = status_link_queue(s);
        if (r < 0)
                return log_error_errno(r, "Out of memory");
        s->window = ctl_next_window(s->conf, s->now, &s->span);
        return ctl_health_collect(&(struct ctl_health_input) { .conf = s->conf, .state = s->state,
                                                               .containment = &s->containment,
                                                               .list_problems = s->problems.n,
                                                               .window = s->window },
                                  &s->health);
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

/* The key pairs (region, keypair) of the instances that came from e, each once. */
static json_t *entry_keypairs_json(const struct status *s, const struct status_entry *e) {
        const struct queue_entry *last = NULL;
        json_t *a = json_array();
        size_t k = e->first_queued;

        for (size_t left = e->n_queued; a && left > 0; left--, k = s->next_queued[k]) {
                const struct queue_entry *q = s->queue[k];
                /* in queue order, sorted by region and key pair: equal ones are neighbours */
                if (last && streq(last->region, q->region) && streq(last->keypair, q->keypair))
                        continue;
                last = q;
                if (json_array_append_new(a, json_pack("{s:s, s:s}", "region", q->region, "keypair", q->keypair)) < 0)
                        a = (json_decref(a), NULL);
        }
        return a;
}

/* The same as "region/keypair, ...". */
static char *entry_keypairs_text(const struct status *s, const struct status_entry *e) {
        json_t *a = entry_keypairs_json(s, e), *kp;
        char *text = NULL;
        size_t size = 0, i;
        FILE *f = a ? open_memstream(&text, &size) : NULL;

        if (f) {
                json_array_foreach(a, i, kp)
                        fprintf(f, "%s%s/%s", i > 0 ? ", " : "", json_string_value(json_object_get(kp, "region")),
                                json_string_value(json_object_get(kp, "keypair")));
                if (fclose(f) != 0)
                        text = (free(text), NULL);
        }
        json_decref(a);
        return text;
}

static int entries_table(const struct status *s, struct table *t) {
        for (size_t i = 0; i < s->n_entries; i++) {
                const struct status_entry *e = &s->entries[i];
                _cleanup_free_ char *regions = entry_regions(e->entry), *keypairs = entry_keypairs_text(s, e);
                char label[STATUS_LABEL_MAX];

                if (!keypairs || !regions || table_add(t, entry_label(e->entry, label), TABLE_PLAIN) < 0 ||
                    table_addf(t, TABLE_PLAIN, "%s:%u", base_name(e->list->path), e->entry->line) < 0 ||
                    table_add(t, regions, TABLE_PLAIN) < 0 || table_add(t, e->entry->reason, TABLE_PLAIN) < 0 ||
                    table_addf(t, TABLE_PLAIN, "%zu", e->n_queued) < 0 || table_add(t, keypairs, TABLE_PLAIN) < 0)
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

/* Since when e has been exposed, as "3min 2s". */
static const char *uncontained_for(const struct status *s, const struct contained_entry *e, char *buf) {
        return ctl_format_duration(e->found_usec < s->now ? s->now - e->found_usec : 0, buf);
}

static void print_containment(const struct status *s) {
        const struct contained_entry *oldest = s->containment.oldest_uncontained;
        char when[CTL_TIME_MAX], age[CTL_DURATION_MAX];

        if (!s->conf->contain_enabled && hashmap_size(s->contained->by_instance) == 0) {
                printf("Containment: off ([Contain] Enabled=no)\n");
                return;
        }
        printf("Containment: %zu contained, %zu uncontained%s\n", s->containment.contained,
               s->containment.uncontained, s->conf->contain_enabled ? "" : " (now off: [Contain] Enabled=no)");
        if (oldest)
                printf("Oldest uncontained: %s (%s, found %s%s%s)\n", uncontained_for(s, oldest, age),
                       oldest->instance_id, ctl_format_time(oldest->found_usec, false, when),
                       oldest->error ? ", " : "", strempty(oldest->error));
        else
                printf("Oldest uncontained: none\n");
}

static void print_summary(const struct status *s) {
        const struct queue_entry *oldest = metrics_oldest_exposed(s->state);
        char when[CTL_TIME_MAX], age[CTL_DURATION_MAX];

        ctl_health_print_last_pass(&s->health, s->now, stdout);
        printf("Reboot queue: %zu pending, %zu rebooting, %zu detaching, %zu done\n",
               state_count(s->state, QUEUE_PENDING), state_count(s->state, QUEUE_REBOOTING),
               state_count(s->state, QUEUE_DETACHING), state_count(s->state, QUEUE_DONE));
        if (oldest)
                printf("Oldest exposure: %s (%s, detached %s)\n", ctl_format_duration(exposure_usec(s, oldest), age),
                       oldest->instance_id, ctl_format_time(oldest->detached_usec, false, when));
        else
                printf("Oldest exposure: none\n");
        print_containment(s);
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

/* The uncontained instances, exposed longest first. */
static int uncontained_compare(const void *a, const void *b) {
        const struct contained_entry *x = *(struct contained_entry *const *) a, *y = *(struct contained_entry *const *) b;

        if (x->found_usec != y->found_usec)
                return x->found_usec < y->found_usec ? -1 : 1;
        return strcmp(x->instance_id, y->instance_id);
}

/* A new array of the uncontained entries of the record, sorted; *ret_n of them. */
static int uncontained_list(const struct status *s, struct contained_entry ***ret, size_t *ret_n) {
        struct contained_entry *e, **a = calloc(s->containment.uncontained + 1, sizeof(*a));
        size_t i = 0, n = 0;

        if (!a)
                return -ENOMEM;
        while (contained_iterate(s->contained, &i, &e))
                if (n < s->containment.uncontained && metrics_uncontained(e, s->state))
                        a[n++] = e;
        qsort(a, n, sizeof(*a), uncontained_compare);
        *ret = a;
        *ret_n = n;
        return 0;
}

static int uncontained_table(const struct status *s, struct table *t) {
        _cleanup_free_ struct contained_entry **a = NULL;
        size_t n;
        int r = uncontained_list(s, &a, &n);

        for (size_t k = 0; r >= 0 && k < n; k++) {
                char found[CTL_TIME_MAX], age[CTL_DURATION_MAX];
                if (table_add(t, a[k]->region, TABLE_PLAIN) < 0 || table_add(t, a[k]->instance_id, TABLE_PLAIN) < 0 ||
                    table_add(t, contained_status_to_string(a[k]->status), TABLE_RED) < 0 ||
                    table_add(t, ctl_format_time(a[k]->found_usec, false, found), TABLE_PLAIN) < 0 ||
                    table_add(t, uncontained_for(s, a[k], age), TABLE_PLAIN) < 0 ||
                    table_addf(t, TABLE_PLAIN, "%u", a[k]->attempts) < 0 || table_add(t, a[k]->error, TABLE_RED) < 0)
                        r = -ENOMEM;
        }
        return r;
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
        r = print_table(s,
                        (const char *[]){ "ENTRY", "LIST:LINE", "REGIONS", "REASON", "INSTANCES", "KEY PAIRS", NULL },
                        entries_table, "No revocation entries.");
        if (r >= 0 && unattributed(s) > 0)
                printf("%zu instance(s) below are not counted above: their entry is gone, or several key or\n"
                       "fingerprint entries with the same reason could have matched them.\n\n",
                       unattributed(s));
        if (r >= 0)
                r = print_table(s,
                                (const char *[]){ "REGION", "KEY PAIR", "INSTANCE", "STATE", "DETACHED",
                                                  "REBOOT STARTED", "FINISHED", "RESULT", NULL },
                                instances_table, "No instance has been detached.");
        if (r >= 0)
                r = ctl_sources_print_text(s->conf, s->referenced, s->ctl->color);
        if (r >= 0)
                r = ctl_retired_print_text(s->conf, s->retired, s->ctl->color);
        if (r >= 0 && s->containment.uncontained > 0)
                r = print_table(s,
                                (const char *[]){ "REGION", "INSTANCE", "CONTAINMENT", "FOUND", "EXPOSED FOR",
                                                  "ATTEMPTS", "ERROR", NULL },
                                uncontained_table, "No uncontained instance.");
        if (r < 0)
                return log_error_errno(r, "Out of memory"), CTL_EXIT_FAILURE;
        print_summary(s);
        ctl_health_print_problems(&s->health, stdout);
        return s->health.problems ? CTL_EXIT_PROBLEMS : CTL_EXIT_OK;
}

/* ---- JSON ---------------------------------------------------------------------------------- */

static json_t *time_json(uint64_t usec) {
        char buf[CTL_TIME_MAX];
        return usec > 0 ? json_string(ctl_format_time(usec, true, buf)) : json_null();
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

        for (size_t i = 0; a && i < s->n_entries; i++) {
                const struct status_entry *e = &s->entries[i];
                char label[STATUS_LABEL_MAX];
                json_t *o = json_pack("{s:s, s:I, s:s, s:s, s:o, s:o, s:I, s:o}", "list", e->list->path, "line",
                                      (json_int_t) e->entry->line, "kind", revlist_kind_to_string(e->entry->kind),
                                      "entry", entry_label(e->entry, label), "regions", regions_json(e->entry->regions),
                                      "reason", ctl_json_string(e->entry->reason), "instances",
                                      (json_int_t) e->n_queued, "keypairs", entry_keypairs_json(s, e));
                if (json_array_append_new(a, o) < 0)
                        a = (json_decref(a), NULL);
        }
        return a;
}

static json_t *instance_json(const struct status *s, size_t k) {
        const struct queue_entry *q = s->queue[k];

        return json_pack("{s:s, s:s, s:s, s:o, s:s, s:o, s:o, s:o, s:o, s:I, s:o, s:o}", "instance_id", q->instance_id,
                         "region", q->region, "keypair", q->keypair, "reason", ctl_json_string(q->reason), "state",
                         queue_state_to_string(q->state), "detached", time_json(q->detached_usec), "reboot_started",
                         time_json(q->reboot_started_usec), "finished", time_json(q->done_usec), "outcome",
                         ctl_json_string(q->outcome), "reboot_failures", (json_int_t) q->reboot_failures, "list",
                         ctl_json_string(s->origin[k] ? s->origin[k]->list->path : NULL), "line",
                         s->origin[k] ? json_integer(s->origin[k]->entry->line) : json_null());
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

static json_t *uncontained_json(const struct status *s, const struct contained_entry *e) {
        return json_pack("{s:s, s:s, s:s, s:o, s:I, s:I, s:o}", "instance_id", e->instance_id, "region", e->region,
                         "status", contained_status_to_string(e->status), "found", time_json(e->found_usec), "seconds",
                         (json_int_t) ((e->found_usec < s->now ? s->now - e->found_usec : 0) / USEC_PER_SEC),
                         "attempts", (json_int_t) e->attempts, "error", ctl_json_string(e->error));
}

static json_t *containment_json(const struct status *s) {
        _cleanup_free_ struct contained_entry **a = NULL;
        const struct contained_entry *oldest = s->containment.oldest_uncontained;
        json_t *list = json_array();
        size_t n = 0;

        if (uncontained_list(s, &a, &n) < 0)
                list = (json_decref(list), NULL);
        for (size_t k = 0; list && k < n; k++)
                if (json_array_append_new(list, uncontained_json(s, a[k])) < 0)
                        list = (json_decref(list), NULL);
        return json_pack("{s:b, s:I, s:I, s:o, s:o}", "enabled", s->conf->contain_enabled, "contained",
                         (json_int_t) s->containment.contained, "uncontained", (json_int_t) s->containment.uncontained,
                         "oldest_uncontained", oldest ? uncontained_json(s, oldest) : json_null(), "instances", list);
}

static int status_print_json(const struct status *s) {
        int r = ctl_print_json(json_pack(
                "{s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "config", s->ctl->config_path, "last_pass",
                ctl_health_last_pass_json(&s->health), "lists", lists_json(s), "entries", entries_json(s), "queue",
                queue_json(s), "containment", containment_json(s), "next_window",
                ctl_window_json(s->conf, s->window, &s->span), "launch_sources",
                ctl_sources_json(s->conf, s->referenced), "deleted_keypairs", ctl_retired_json(s->conf, s->retired),
                "problems", ctl_health_problems_json(&s->health)));

        return r == CTL_EXIT_OK && s->health.problems ? CTL_EXIT_PROBLEMS : r;
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
