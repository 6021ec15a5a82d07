/* keyrevokectl: what its subcommands share (options, config, queue, times, JSON output). */
#pragma once

#include <jansson.h>

#include "io/contained.h"
#include "io/metrics.h"
#include "io/passrecord.h"
#include "io/state.h"
#include "logic/conf.h"
#include "logic/window.h"

/* Exit statuses of keyrevokectl. */
enum {
        CTL_EXIT_OK = 0,
        CTL_EXIT_FAILURE = 1,    /* usage or configuration error, bad list (check) */
        CTL_EXIT_INCOMPLETE = 2, /* plan: some API call failed, the plan is incomplete */
        CTL_EXIT_PROBLEMS = 3,   /* status: it lists problems that need attention */
};

struct ctl {
        const char *config_path;
        bool json;  /* --json */
        bool color; /* stdout is a terminal that takes colours */
};

/* The subcommands; args are the words after the subcommand's name (NULL-terminated). Each returns
 * a CTL_EXIT_* status. */
int ctl_status(const struct ctl *c, char **args);
int ctl_plan(const struct ctl *c, char **args);
int ctl_windows(const struct ctl *c, char **args);
int ctl_check(const struct ctl *c, char **args);

/* ---- the health part of status (ctl-health.c) ---- */

struct ctl_health_input {
        const struct conf *conf;
        const struct state *state;
        const struct metrics_containment *containment;
        size_t list_problems;           /* bad list lines and files */
        int window;                     /* ctl_next_window() */
};

struct ctl_health {
        int last_r;                     /* passrecord_load(): 0, -ENOENT none recorded, other -errno */
        struct pass_record last;
        char **problems;                /* each a sentence; NULL when there is none */
        bool oom;
};

/* Reads the last pass and lists every problem (a bad list line, a pass that enforced nothing or
 * not everything, uncontained instances, reboots that never start or failed); -ENOMEM (logged). */
int ctl_health_collect(const struct ctl_health_input *in, struct ctl_health *ret);
void ctl_health_done(struct ctl_health *h);
/* "Last pass: <when> (<ago> ago, took <duration>): <verdict>, <summary>". */
void ctl_health_print_last_pass(const struct ctl_health *h, uint64_t now, FILE *f);
/* "Needs attention:" and the problems, one a line; nothing when there is none. */
void ctl_health_print_problems(const struct ctl_health *h, FILE *f);
/* {"start", "end", "result", "summary", "lists", "entries", "counts"} or null; NULL on ENOMEM. */
json_t *ctl_health_last_pass_json(const struct ctl_health *h);
/* The problems as an array of strings; NULL on ENOMEM. */
json_t *ctl_health_problems_json(const struct ctl_health *h);

/* Loads the configuration (problems are logged as FILE:LINE) and makes its TimeZone= the zone
 * every time is shown in. */
int ctl_load_conf(const struct ctl *c, struct conf **ret);

/* Reads the reboot queue of conf without creating anything: a missing StateDirectory is an empty
 * queue. -errno (logged) when it cannot be read. */
int ctl_load_state(const struct conf *conf, struct state **ret);

/* Reads the containment record of conf (a missing one is empty). -errno (logged). */
int ctl_load_contained(const struct conf *conf, struct contained **ret);

/* The current time (CLOCK_REALTIME, usec). */
uint64_t ctl_now(void);

/* Formats usec in the configured zone: "Sat 2026-11-28 02:00 +0800" for people, RFC 3339 with the
 * zone's offset ("2026-11-28T02:00:00+08:00") for JSON. buf holds at least CTL_TIME_MAX bytes. */
#define CTL_TIME_MAX 64
const char *ctl_format_time(uint64_t usec, bool json, char *buf);

/* Formats a duration as "3d 4h", "2h 5min", "40s"; buf holds at least CTL_DURATION_MAX bytes. */
#define CTL_DURATION_MAX 32
const char *ctl_format_duration(uint64_t usec, char *buf);

/* The zone times are shown in: TimeZone= or "local". */
const char *ctl_zone_name(const struct conf *conf);

/* The maintenance window for reboots at now: 1 open (span set), 0 next one (span set), -ENOENT
 * none configured, -ECANCELED reboots disabled, other -errno. */
int ctl_next_window(const struct conf *conf, uint64_t now, struct window_span *ret);

/* One line about the window ctl_next_window() found, e.g. "Sat 2026-11-28 02:00 +0800 - Sat
 * 2026-11-28 04:00 +0800 (Asia/Shanghai)", "open now, until ..." or "never: no Window= configured". */
void ctl_print_window(const struct conf *conf, int w, const struct window_span *span, FILE *f);

/* The same as a JSON object: {"state": "open"|"next"|"none"|"disabled", "start", "end",
 * "time_zone"}; NULL on ENOMEM. */
json_t *ctl_window_json(const struct conf *conf, int w, const struct window_span *span);

/* Prints j (stolen) on stdout, indented, with a newline; CTL_EXIT_FAILURE on ENOMEM. */
int ctl_print_json(json_t *j);

/* A JSON string, or null for NULL. */
json_t *ctl_json_string(const char *s);

/* ---- launch sources (ctl-sources.c) ---- */

struct referenced;

/* Reads the launch sources the daemon found in conf's StateDirectory (missing = none); -errno
 * (logged). */
int ctl_sources_load(const struct conf *conf, struct referenced **ret);
/* Prints them as a table (or why there is none) and a blank line; -ENOMEM. */
int ctl_sources_print_text(const struct conf *conf, const struct referenced *r, bool color);
/* {"checked": bool, "sources": [{"region","source","keypair","default","found"}]}; NULL on ENOMEM. */
json_t *ctl_sources_json(const struct conf *conf, const struct referenced *r);

/* ---- deleted key pairs (ctl-retired.c) ---- */

struct retired;

/* Reads the key pairs the daemon deleted or is deleting (DeleteRevokedKeyPairs=) from conf's
 * StateDirectory (missing = none); -errno (logged). */
int ctl_retired_load(const struct conf *conf, struct retired **ret);
/* Prints them as a table (region, key pair, state, when deleted, reason), or why there is none,
 * and a blank line; -ENOMEM. */
int ctl_retired_print_text(const struct conf *conf, const struct retired *r, bool color);
/* {"enabled": bool, "keypairs": [{"region","keypair","state": "deleted"|"deleting","deleted","reason"}]};
 * NULL on ENOMEM. */
json_t *ctl_retired_json(const struct conf *conf, const struct retired *r);
