/* keyrevokectl plan [FILE...]: a dry-run enforcement pass (Describe* calls only), as a table. */
#include <systemd/sd-event.h>

#include "base/log.h"
#include "base/table.h"
#include "ctl/ctl.h"
#include "daemon/contain.h"
#include "daemon/enforce.h"
#include "daemon/setup.h"
#include "io/credsource.h"
#include "io/lists.h"
#include "io/metrics.h"
#include "io/report.h"
#include "io/svcuser.h"

/* One event of the pass that says what would happen to something. */
struct plan_row {
        enum event_kind kind;
        char *region;
        char *keypair;
        char *instance;
        char *reason; /* the entry's reason= or the error; the message of a failure */
        char *list;
        unsigned line;
};

struct plan {
        const struct conf *conf;
        struct state *state;
        sd_event *event;
        struct ecs *ecs;
        struct credsource *credsource;
        struct contained *record;       /* [Contain] Enabled=yes: read, never written */
        struct contain *contain;        /* in dry-run mode: would-contain events only */
        struct lists lists;
        struct enforce *pass;
        int error; /* the pass could not run */
        struct planner_counts counts;
        struct plan_row *rows;
        size_t n_rows, allocated;
        bool oom;
};

static void plan_done(struct plan *p) {
        report_set_sink(NULL, NULL);
        /* The client first: nothing may call back into the pass once it is freed. */
        credsource_free(p->credsource);
        ecs_free(p->ecs);
        enforce_free(p->pass);
        contain_free(p->contain);
        contained_free(p->record);
        lists_done(&p->lists);
        sd_event_unref(p->event);
        for (size_t i = 0; i < p->n_rows; i++) {
                struct plan_row *r = &p->rows[i];
                free(r->region);
                free(r->keypair);
                free(r->instance);
                free(r->reason);
                free(r->list);
        }
        free(p->rows);
}

/* The events a plan shows; the others (list-loaded, enforcement-complete) are not about a target. */
static bool plan_shows(enum event_kind k) {
        switch (k) {
        case EVENT_LIST_ERROR:
        case EVENT_KEYPAIR_NOT_FOUND:
        case EVENT_WOULD_DETACH:
        case EVENT_SKIPPED_WINDOWS:
        case EVENT_DETACH_FAILED:
        case EVENT_LOOKUP_FAILED:
        case EVENT_WOULD_CONTAIN:
        case EVENT_CONTAIN_FAILED:
        case EVENT_KEYPAIR_REFERENCED:
                return true;
        case EVENT_CONTAINED:
        case EVENT_KEYPAIR_DELETED:
        case EVENT_LIST_LOADED:
        case EVENT_DETACHED:
        case EVENT_REBOOT_QUEUED:
        case EVENT_REBOOT_STARTED:
        case EVENT_WOULD_REBOOT:
        case EVENT_REBOOT_COMPLETED:
        case EVENT_REBOOT_SKIPPED:
        case EVENT_REBOOT_FAILED:
        case EVENT_ENFORCEMENT_COMPLETE:
        case _EVENT_KIND_MAX:
                break;
        }
        return false;
}

static bool dup_field(char **dst, const char *src) {
        *dst = src ? strdup(src) : NULL;
        return !src || *dst;
}

static void plan_sink_cb(enum event_kind kind, const struct event_fields *f, const char *message, void *userdata) {
        struct plan *p = userdata;
        bool failure = kind == EVENT_DETACH_FAILED || kind == EVENT_LOOKUP_FAILED || kind == EVENT_CONTAIN_FAILED;
        const char *reason = failure ? message : f->reason ? f->reason : f->error;
        struct plan_row *r;

        if (!plan_shows(kind) || p->oom)
                return;
        if (p->n_rows == p->allocated) {
                size_t n = p->allocated ? p->allocated * 2 : 64;
                struct plan_row *a = reallocarray(p->rows, n, sizeof(*a));
                if (!a) {
                        p->oom = true;
                        return;
                }
                p->rows = a;
                p->allocated = n;
        }
        r = &p->rows[p->n_rows++];
        *r = (struct plan_row){ .kind = kind, .line = f->line };
        if (!dup_field(&r->region, f->region) || !dup_field(&r->keypair, f->keypair) ||
            !dup_field(&r->instance, f->instance) || !dup_field(&r->reason, reason) || !dup_field(&r->list, f->list))
                p->oom = true;
}

static void plan_pass_done_cb(struct enforce *pass, const struct planner_counts *c, void *userdata) {
        struct plan *p = userdata;

        p->counts = *c;
        (void) sd_event_exit(p->event, 0);
}

static void plan_start_pass(struct plan *p) {
        struct enforce_options o = {
                .ecs = p->ecs,
                .state = p->state,
                .lists = p->lists.items,
                .n_lists = p->lists.n,
                .regions = p->conf->regions,
                .dry_run = true,
                .event = p->event,
                .contain = p->contain,
                .contain_scope = p->conf->contain_scope,
        };
        int r = enforce_start(&o, plan_pass_done_cb, p, &p->pass);

        if (r < 0) {
                p->error = log_error_errno(r, "Failed to start the dry-run pass: %m");
                (void) sd_event_exit(p->event, 0);
        }
}

/* The pass starts with the first credentials, as in keyrevoked --once. */
static void plan_creds_cb(struct creds *c, int error, void *userdata) {
        struct plan *p = userdata;

        if (!c) {
                if (!p->pass) {
                        p->error = log_error_errno(error, "No credentials from the RAM role, giving up: %m");
                        (void) sd_event_exit(p->event, 0);
                }
                return;
        }
        ecs_set_credentials(p->ecs, c);
        if (!p->pass)
                plan_start_pass(p);
}

static int row_compare(const void *a, const void *b) {
        const struct plan_row *x = a, *y = b;
        int c = strcmp(strempty(x->region), strempty(y->region));

        if (c == 0)
                c = strcmp(strempty(x->keypair), strempty(y->keypair));
        if (c == 0)
                c = strcmp(strempty(x->instance), strempty(y->instance));
        if (c == 0)
                c = strcmp(strempty(x->list), strempty(y->list));
        return c != 0 ? c : (x->line > y->line) - (x->line < y->line);
}

/* Loads the given list files instead of the revocation directory, with the same checks; their
 * problems become list-error rows. -ENOMEM only. */
static int plan_load_files(struct plan *p, char **files) {
        struct diags d = {};
        int r = 0;

        for (char **f = files; *f && r != -ENOMEM; f++) {
                struct revlist *l = NULL, **a;

                r = lists_load_file(*f, service_user_uid(), &l, &d);
                if (r < 0)
                        continue;
                a = reallocarray(p->lists.items, p->lists.n + 1, sizeof(*a));
                if (!a) {
                        revlist_free(l);
                        r = -ENOMEM;
                        break;
                }
                p->lists.items = a;
                p->lists.items[p->lists.n++] = l;
        }
        for (size_t i = 0; i < d.n; i++) {
                struct event_fields f = { .list = d.items[i].file,
                                          .line = d.items[i].line,
                                          .error = d.items[i].message };
                plan_sink_cb(EVENT_LIST_ERROR, &f, d.items[i].message, p);
        }
        diags_clear(&d);
        return r == -ENOMEM ? r : 0;
}

/* With [Contain] Enabled=yes: the record, and a containment that only says what it would do. */
static int plan_make_contain(struct plan *p) {
        struct contain_options o = {
                .ecs = p->ecs,
                .event = p->event,
                .timeout_usec = p->conf->contain_timeout_usec,
                .dry_run = true,
        };
        int r;

        if (!p->conf->contain_enabled)
                return 0;
        r = ctl_load_contained(p->conf, &p->record);
        if (r < 0)
                return r;
        o.record = p->record;
        r = contain_new(&o, &p->contain);
        if (r < 0)
                return log_error_errno(r, "Failed to set up containment: %m");
        return 0;
}

/* Runs one dry-run pass over the given list files, or the lists of p->conf, with a client of its
 * own, collecting the events; logs failures. */
static int plan_run(struct plan *p, char **files) {
        struct diags d = {};
        int r;

        r = sd_event_new(&p->event);
        if (r < 0)
                return log_error_errno(r, "Failed to create an event loop: %m");
        r = setup_make_ecs(p->event, p->conf, &p->ecs);
        if (r < 0)
                return r;
        r = credsource_new(p->event, p->conf, plan_creds_cb, p, &p->credsource);
        if (r < 0)
                return r;
        r = plan_make_contain(p);
        if (r < 0)
                return r;
        report_set_sink(plan_sink_cb, p);
        if (files[0])
                r = plan_load_files(p, files);
        else
                r = lists_load(p->conf->revocation_directory, service_user_uid(), true, &p->lists, &d);
        diags_clear(&d);
        if (r < 0)
                return log_error_errno(r, "Out of memory while reading the lists");
        r = sd_event_loop(p->event);
        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m");
        if (p->error < 0)
                return p->error;
        if (p->oom)
                return log_error_errno(-ENOMEM, "Out of memory while collecting the plan");
        qsort(p->rows, p->n_rows, sizeof(*p->rows), row_compare);
        return 0;
}

/* ---- presentation -------------------------------------------------------------------------- */

static size_t plan_count(const struct plan *p, enum event_kind k) {
        size_t n = 0;

        for (size_t i = 0; i < p->n_rows; i++)
                n += p->rows[i].kind == k;
        return n;
}

static enum table_color kind_color(enum event_kind k) {
        return k == EVENT_WOULD_DETACH ? TABLE_YELLOW : k == EVENT_KEYPAIR_NOT_FOUND ? TABLE_PLAIN : TABLE_RED;
}

/* "file.list:7", "file.list" for a whole file, NULL when the row is about no list. */
static char *row_list(const struct plan_row *r) {
        const char *slash, *name;
        char *s;

        if (!r->list)
                return NULL;
        slash = strrchr(r->list, '/');
        name = slash ? slash + 1 : r->list;
        if (r->line == 0)
                return strdup(name);
        return asprintf(&s, "%s:%u", name, r->line) < 0 ? NULL : s;
}

static int plan_fill_table(const struct plan *p, struct table *t) {
        for (size_t i = 0; i < p->n_rows; i++) {
                const struct plan_row *r = &p->rows[i];
                _cleanup_free_ char *list = row_list(r);

                if ((r->list && !list) || table_add(t, r->region, TABLE_PLAIN) < 0 ||
                    table_add(t, r->keypair, TABLE_PLAIN) < 0 || table_add(t, r->instance, TABLE_PLAIN) < 0 ||
                    table_add(t, event_kind_to_string(r->kind), kind_color(r->kind)) < 0 ||
                    table_add(t, r->reason, TABLE_PLAIN) < 0 || table_add(t, list, TABLE_PLAIN) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static void print_containment(const struct plan *p) {
        struct metrics_containment mc;

        if (!p->record) {
                printf("Containment: off ([Contain] Enabled=no).\n");
                return;
        }
        metrics_containment(p->record, p->state, &mc);
        printf("Containment: would contain %zu instance(s); %zu contained and %zu uncontained so far.\n",
               plan_count(p, EVENT_WOULD_CONTAIN), mc.contained, mc.uncontained);
}

static json_t *containment_json(const struct plan *p) {
        struct metrics_containment mc;

        metrics_containment(p->record, p->state, &mc);
        return json_pack("{s:b, s:I, s:I, s:I}", "enabled", p->record != NULL, "would_contain",
                         (json_int_t) plan_count(p, EVENT_WOULD_CONTAIN), "contained", (json_int_t) mc.contained,
                         "uncontained", (json_int_t) mc.uncontained);
}

static int plan_print_text(const struct ctl *c, const struct conf *conf, const struct plan *p, const size_t *queued,
                           int w, const struct window_span *span) {
        _cleanup_(table_freep) struct table *t = NULL;
        size_t detach = plan_count(p, EVENT_WOULD_DETACH);

        if (table_new((const char *[]){ "REGION", "KEY PAIR", "INSTANCE", "ACTION", "REASON", "LIST:LINE", NULL }, &t) <
                    0 ||
            plan_fill_table(p, t) < 0)
                return log_error_errno(-ENOMEM, "Out of memory"), CTL_EXIT_FAILURE;
        if (table_rows(t) > 0) {
                table_print(t, stdout, c->color);
                putchar('\n');
        }
        printf("Would detach %zu instance(s); %zu Windows instance(s) skipped; %zu key pair name(s) not found; "
               "%zu list problem(s); %zu failure(s).\n",
               detach, plan_count(p, EVENT_SKIPPED_WINDOWS), plan_count(p, EVENT_KEYPAIR_NOT_FOUND),
               plan_count(p, EVENT_LIST_ERROR), plan_count(p, EVENT_DETACH_FAILED));
        if (queued)
                printf("Reboots: %zu to queue after their detach, %zu already queued.\n", detach, *queued);
        else
                printf("Reboots: %zu to queue after their detach (the current queue could not be read).\n", detach);
        print_containment(p);
        printf("Reboot window: ");
        ctl_print_window(conf, w, span, stdout);
        return CTL_EXIT_OK;
}

static json_t *row_json(const struct plan_row *r) {
        return json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:o}", "action", event_kind_to_string(r->kind), "region",
                         ctl_json_string(r->region), "keypair", ctl_json_string(r->keypair), "instance",
                         ctl_json_string(r->instance), "reason", ctl_json_string(r->reason), "list",
                         ctl_json_string(r->list), "line", r->line > 0 ? json_integer(r->line) : json_null());
}

static int plan_print_json(const struct conf *conf, const struct plan *p, const size_t *queued, int w,
                           const struct window_span *span) {
        json_t *rows = json_array();

        for (size_t i = 0; rows && i < p->n_rows; i++)
                if (json_array_append_new(rows, row_json(&p->rows[i])) < 0)
                        rows = (json_decref(rows), NULL);
        return ctl_print_json(json_pack(
                "{s:o, s:{s:I, s:I, s:I, s:I, s:I}, s:{s:I, s:o, s:o}, s:o}", "actions", rows, "counts", "would_detach",
                (json_int_t) plan_count(p, EVENT_WOULD_DETACH), "skipped_windows",
                (json_int_t) plan_count(p, EVENT_SKIPPED_WINDOWS), "keypairs_not_found",
                (json_int_t) plan_count(p, EVENT_KEYPAIR_NOT_FOUND), "list_errors",
                (json_int_t) plan_count(p, EVENT_LIST_ERROR), "failed", (json_int_t) plan_count(p, EVENT_DETACH_FAILED),
                "reboot", "would_queue", (json_int_t) plan_count(p, EVENT_WOULD_DETACH), "queued",
                queued ? json_integer((json_int_t) *queued) : json_null(), "window", ctl_window_json(conf, w, span),
                "containment", containment_json(p)));
}

int ctl_plan(const struct ctl *c, char **args) {
        _cleanup_(conf_freep) struct conf *conf = NULL;
        _cleanup_(state_freep) struct state *state = NULL;
        struct plan p = {};
        struct window_span span = {};
        size_t queued = 0;
        bool have_queue;
        int r, w;

        if (ctl_load_conf(c, &conf) < 0)
                return CTL_EXIT_FAILURE;
        /* The queue only adds its count to the plan: without it the plan is still right. */
        have_queue = ctl_load_state(conf, &state) >= 0;
        if (have_queue)
                queued = state_count(state, QUEUE_PENDING) + state_count(state, QUEUE_REBOOTING);
        else if (state_new(conf->state_directory, &state) < 0)
                return log_error_errno(-ENOMEM, "Out of memory"), CTL_EXIT_FAILURE;
        p.conf = conf;
        p.state = state;
        r = plan_run(&p, args);
        if (r >= 0) {
                w = ctl_next_window(conf, ctl_now(), &span);
                r = c->json ? plan_print_json(conf, &p, have_queue ? &queued : NULL, w, &span)
                            : plan_print_text(c, conf, &p, have_queue ? &queued : NULL, w, &span);
                if (r == CTL_EXIT_OK && p.counts.failed > 0)
                        r = CTL_EXIT_INCOMPLETE;
        } else
                r = CTL_EXIT_FAILURE;
        plan_done(&p);
        return r;
}
