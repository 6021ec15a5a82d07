/* keyrevokectl: command line, dispatch to the subcommands, and what they share. */
#include <getopt.h>
#include <sys/stat.h>
#include <time.h>

#include "base/log.h"
#include "ctl/ctl.h"
#include "daemon/setup.h"


struct ctl_verb {
        const char *name;
        int (*run)(const struct ctl *c, char **args);
        size_t min_args;
        size_t max_args;
};

static const struct ctl_verb verbs[] = {
        { "status", ctl_status, 0, 0 },
        { "plan", ctl_plan, 0, SIZE_MAX },
        { "windows", ctl_windows, 0, 1 },
        { "check", ctl_check, 1, SIZE_MAX },
};

static void help(void) {
        printf("Usage: keyrevokectl [OPTION...] COMMAND [ARG...]\n"
               "Shows and checks what keyrevoked does, from its configuration and state.\n\n"
               "Commands:\n"
               "  status          revoked entries, their key pairs and instances, the reboot queue\n"
               "  plan [FILE...]  what a pass would detach, skip and reboot (read-only API calls),\n"
               "                  over the given list files instead of the configured ones\n"
               "  windows [N]     the next N maintenance windows (default 5)\n"
               "  check FILE...   validate revocation list files (exit 1 on any problem)\n\n"
               "Options:\n"
               "  -c, --config=FILE  configuration file (default %s)\n"
               "      --json         print JSON instead of tables\n"
               "      --version      print the version and exit\n"
               "  -h, --help         print this help and exit\n\n"
               "See keyrevokectl(1).\n",
               CONF_DEFAULT_PATH);
}

enum {
        ARG_JSON = 0x100,
        ARG_VERSION,
};

/* Parses the options into c; returns 1 to run, 0 to exit successfully, -EINVAL on a usage error. */
static int parse_argv(int argc, char *argv[], struct ctl *c) {
        static const struct option options[] = { { "config", required_argument, NULL, 'c' },
                                                 { "json", no_argument, NULL, ARG_JSON },
                                                 { "version", no_argument, NULL, ARG_VERSION },
                                                 { "help", no_argument, NULL, 'h' },
                                                 {} };
        int o;

        while ((o = getopt_long(argc, argv, "c:h", options, NULL)) >= 0)
                switch (o) {
                case 'c':
                        c->config_path = optarg;
                        break;
                case ARG_JSON:
                        c->json = true;
                        break;
                case ARG_VERSION:
                        printf("keyrevokectl %s\n", PACKAGE_VERSION);
                        return 0;
                case 'h':
                        help();
                        return 0;
                default:
                        return -EINVAL;
                }
        return 1;
}

static bool stdout_takes_color(void) {
        const char *term = getenv("TERM");

        return isatty(STDOUT_FILENO) && !getenv("NO_COLOR") && !streq_ptr(term, "dumb");
}

int main(int argc, char *argv[]) {
        struct ctl c = { .config_path = CONF_DEFAULT_PATH };
        const char *name;
        size_t n_args;
        int r;

        log_set_max_level(LOG_LEVEL_WARNING);
        r = parse_argv(argc, argv, &c);
        if (r <= 0)
                return r < 0 ? CTL_EXIT_FAILURE : CTL_EXIT_OK;
        c.color = !c.json && stdout_takes_color();
        name = optind < argc ? argv[optind++] : "status";
        n_args = (size_t) (argc - optind);
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++) {
                if (!streq(verbs[i].name, name))
                        continue;
                if (n_args < verbs[i].min_args || n_args > verbs[i].max_args) {
                        log_error("Wrong number of arguments for '%s'; see --help", name);
                        return CTL_EXIT_FAILURE;
                }
                return verbs[i].run(&c, argv + optind);
        }
        log_error("Unknown command '%s'; see --help", name);
        return CTL_EXIT_FAILURE;
}

/* ---- shared by the subcommands ------------------------------------------------------------- */

int ctl_load_conf(const struct ctl *c, struct conf **ret) {
        _cleanup_free_ char *tz = NULL;
        int r = setup_load_conf(c->config_path, ret);

        if (r < 0)
                return log_error_errno(r, "Invalid configuration in %s", c->config_path);
        /* Shown times are in the zone the windows are defined in (conf_load() checked it). */
        if (!isempty((*ret)->time_zone)) {
                if (asprintf(&tz, ":%s", (*ret)->time_zone) < 0 || setenv("TZ", tz, 1) < 0)
                        return log_error_errno(-ENOMEM, "Out of memory");
        }
        tzset();
        return 0;
}

int ctl_load_state(const struct conf *conf, struct state **ret) {
        struct stat st;
        int r;

        /* state_load() would create it: a status query changes nothing. */
        if (stat(conf->state_directory, &st) < 0 && errno == ENOENT)
                r = state_new(conf->state_directory, ret);
        else
                r = state_load(conf->state_directory, ret);
        if (r < 0)
                return log_error_errno(r, "Cannot read the reboot queue in %s: %m", conf->state_directory);
        return 0;
}

int ctl_load_contained(const struct conf *conf, struct contained **ret) {
        int r = contained_load(conf->state_directory, ret);

        if (r < 0)
                return log_error_errno(r, "Cannot read the containment record in %s: %m", conf->state_directory);
        return 0;
}

uint64_t ctl_now(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

const char *ctl_format_time(uint64_t usec, bool json, char *buf) {
        time_t t = (time_t) (usec / USEC_PER_SEC);
        struct tm tm;
        long off;
        size_t n;

        if (!localtime_r(&t, &tm))
                return strcpy(buf, "?");
        if (!json) {
                /* The numeric offset, not the zone's abbreviation: "CST" is China, Cuba or US Central. */
                if (strftime(buf, CTL_TIME_MAX, "%a %Y-%m-%d %H:%M %z", &tm) == 0)
                        strcpy(buf, "?");
                return buf;
        }
        n = strftime(buf, CTL_TIME_MAX, "%Y-%m-%dT%H:%M:%S", &tm);
        off = tm.tm_gmtoff / 60;
        snprintf(buf + n, CTL_TIME_MAX - n, "%c%02ld:%02ld", off < 0 ? '-' : '+', labs(off) / 60, labs(off) % 60);
        return buf;
}

const char *ctl_format_duration(uint64_t usec, char *buf) {
        uint64_t s = usec / USEC_PER_SEC;

        if (s >= 86400)
                snprintf(buf, CTL_DURATION_MAX, "%" PRIu64 "d %" PRIu64 "h", s / 86400, s % 86400 / 3600);
        else if (s >= 3600)
                snprintf(buf, CTL_DURATION_MAX, "%" PRIu64 "h %" PRIu64 "min", s / 3600, s % 3600 / 60);
        else if (s >= 60)
                snprintf(buf, CTL_DURATION_MAX, "%" PRIu64 "min %" PRIu64 "s", s / 60, s % 60);
        else
                snprintf(buf, CTL_DURATION_MAX, "%" PRIu64 "s", s);
        return buf;
}

const char *ctl_zone_name(const struct conf *conf) {
        return isempty(conf->time_zone) ? "local" : conf->time_zone;
}

int ctl_next_window(const struct conf *conf, uint64_t now, struct window_span *ret) {
        if (!conf->reboot_enabled)
                return -ECANCELED;
        return window_set_find(&conf->windows, conf->time_zone, now, ret);
}

void ctl_print_window(const struct conf *conf, int w, const struct window_span *span, FILE *f) {
        char start[CTL_TIME_MAX], end[CTL_TIME_MAX];

        if (w == -ECANCELED)
                fprintf(f, "never: reboots are disabled ([Reboot] Enabled=no)\n");
        else if (w == -ENOENT)
                fprintf(f, "never: no Window= is configured (reboots stay queued)\n");
        else if (w < 0)
                fprintf(f, "unknown: %s\n", strerror(-w));
        else if (conf->windows.always)
                fprintf(f, "always (Window=always)\n");
        else if (w == 1)
                fprintf(f, "open now, until %s (%s)\n", ctl_format_time(span->end_usec, false, end),
                        ctl_zone_name(conf));
        else
                fprintf(f, "%s - %s (%s)\n", ctl_format_time(span->start_usec, false, start),
                        ctl_format_time(span->end_usec, false, end), ctl_zone_name(conf));
}

static const char *window_state(const struct conf *conf, int w) {
        if (w == -ECANCELED)
                return "disabled";
        if (w < 0)
                return "none";
        if (conf->windows.always)
                return "always";
        return w == 1 ? "open" : "next";
}

json_t *ctl_window_json(const struct conf *conf, int w, const struct window_span *span) {
        char start[CTL_TIME_MAX], end[CTL_TIME_MAX];
        bool timed = w >= 0 && !conf->windows.always;

        return json_pack("{s:s, s:o, s:o, s:s}", "state", window_state(conf, w), "start",
                         timed ? json_string(ctl_format_time(span->start_usec, true, start)) : json_null(), "end",
                         timed ? json_string(ctl_format_time(span->end_usec, true, end)) : json_null(), "time_zone",
                         ctl_zone_name(conf));
}

int ctl_print_json(json_t *j) {
        int r;

        if (!j)
                return log_error_errno(-ENOMEM, "Out of memory"), CTL_EXIT_FAILURE;
        r = json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        json_decref(j);
        if (r < 0)
                return CTL_EXIT_FAILURE;
        putchar('\n');
        return CTL_EXIT_OK;
}

json_t *ctl_json_string(const char *s) {
        return s ? json_string(s) : json_null();
}
