/* keyrevokectl windows [N]: the next maintenance windows, in the configured time zone. */
#include "base/log.h"
#include "base/strutil.h"
#include "base/table.h"
#include "ctl/ctl.h"

#define WINDOWS_DEFAULT 5U
#define WINDOWS_MAX 1000U

/* Up to n spans from now on, each found from the end of the one before; returns how many
 * (0 when no window is configured). */
static size_t windows_find(const struct conf *conf, uint64_t now, struct window_span *spans, size_t n) {
        size_t k = 0;

        for (uint64_t from = now; k < n; k++) {
                if (window_set_find(&conf->windows, conf->time_zone, from, &spans[k]) < 0)
                        break;
                if (conf->windows.always)
                        return k + 1;
                from = spans[k].end_usec;
        }
        return k;
}

static json_t *span_json(const struct window_span *span) {
        char start[CTL_TIME_MAX], end[CTL_TIME_MAX];

        return json_pack("{s:s, s:s}", "start", ctl_format_time(span->start_usec, true, start), "end",
                         ctl_format_time(span->end_usec, true, end));
}

static int windows_print_json(const struct conf *conf, const struct window_span *spans, size_t n, bool open) {
        json_t *a = json_array();

        for (size_t i = 0; a && !conf->windows.always && i < n; i++)
                if (json_array_append_new(a, span_json(&spans[i])) < 0)
                        a = (json_decref(a), NULL);
        return ctl_print_json(json_pack("{s:s, s:b, s:b, s:b, s:o}", "time_zone", ctl_zone_name(conf),
                                        "reboots_enabled", conf->reboot_enabled, "always", conf->windows.always,
                                        "open_now", open, "windows", a));
}

static int windows_print_table(const struct ctl *c, const struct conf *conf, const struct window_span *spans, size_t n,
                               bool open) {
        _cleanup_(table_freep) struct table *t = NULL;
        char start[CTL_TIME_MAX], end[CTL_TIME_MAX], length[CTL_DURATION_MAX];

        printf("Time zone: %s\n", ctl_zone_name(conf));
        if (!conf->reboot_enabled)
                printf("Reboots are disabled ([Reboot] Enabled=no): none starts in these windows.\n");
        if (n == 0) {
                printf("No Window= is configured: reboots stay queued.\n");
                return CTL_EXIT_OK;
        }
        if (conf->windows.always) {
                printf("Always open (Window=always).\n");
                return CTL_EXIT_OK;
        }
        if (open)
                printf("The first window is open now.\n");
        if (table_new((const char *[]){ "START", "END", "LENGTH", NULL }, &t) < 0)
                return log_error_errno(-ENOMEM, "Out of memory"), CTL_EXIT_FAILURE;
        for (size_t i = 0; i < n; i++)
                if (table_add(t, ctl_format_time(spans[i].start_usec, false, start), TABLE_PLAIN) < 0 ||
                    table_add(t, ctl_format_time(spans[i].end_usec, false, end), TABLE_PLAIN) < 0 ||
                    table_add(t, ctl_format_duration(spans[i].end_usec - spans[i].start_usec, length), TABLE_PLAIN) < 0)
                        return log_error_errno(-ENOMEM, "Out of memory"), CTL_EXIT_FAILURE;
        table_print(t, stdout, c->color);
        return CTL_EXIT_OK;
}

int ctl_windows(const struct ctl *c, char **args) {
        _cleanup_(conf_freep) struct conf *conf = NULL;
        _cleanup_free_ struct window_span *spans = NULL;
        unsigned n = WINDOWS_DEFAULT;
        uint64_t now = ctl_now();
        size_t found;
        bool open;

        if (args[0] && parse_unsigned(args[0], 1, WINDOWS_MAX, &n) < 0) {
                log_error("Invalid number of windows '%s': expected 1 to %u", args[0], WINDOWS_MAX);
                return CTL_EXIT_FAILURE;
        }
        if (ctl_load_conf(c, &conf) < 0)
                return CTL_EXIT_FAILURE;
        spans = calloc(n, sizeof(*spans));
        if (!spans)
                return log_error_errno(-ENOMEM, "Out of memory"), CTL_EXIT_FAILURE;
        found = windows_find(conf, now, spans, n);
        open = found > 0 && spans[0].start_usec <= now;
        if (c->json)
                return windows_print_json(conf, spans, found, open);
        return windows_print_table(c, conf, spans, found, open);
}
