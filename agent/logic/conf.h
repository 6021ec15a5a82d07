/* keyrevoke.conf: defaults, parsing of the INI files with inih, drop-ins, validation. */
#pragma once

#include "base/diag.h"
#include "base/paths.h"
#include "logic/window.h"

#define CONF_DEFAULT_PATH SYSCONFDIR "/keyrevoke/keyrevoke.conf"
#define CONF_DEFAULT_REVOCATION_DIRECTORY SYSCONFDIR "/keyrevoke/revoked.d"
#define CONF_DEFAULT_STATE_DIRECTORY LOCALSTATEDIR "/lib/keyrevoke"

enum conf_contain_scope {
        CONF_CONTAIN_BOUND,             /* Running Linux instances bound to a revoked key pair */
        CONF_CONTAIN_FLEET,             /* every Running Linux instance of the regions */
        _CONF_CONTAIN_SCOPE_MAX,
};

const char *conf_contain_scope_to_string(enum conf_contain_scope s);

struct conf {
        /* [Agent] */
        char *revocation_directory;
        char *state_directory;
        char *state_directory_default;  /* what an empty StateDirectory= restores */
        bool dry_run;
        uint64_t rescan_interval_usec;  /* 0 = only on change */
        char *metrics_file;             /* NULL = off */

        /* [Cloud] */
        char *endpoint;                 /* https URL, "{region}" replaced per call */
        char **regions;                 /* empty (NULL or {NULL}) = all, via DescribeRegions */
        char *ca_file;
        char *credentials_file;
        char *profile;
        char *ram_role;
        char *metadata_endpoint;
        unsigned max_concurrent_requests;
        unsigned max_requests_per_second;
        uint64_t request_timeout_usec;
        unsigned max_retries;
        bool delete_revoked_keypairs;   /* DeleteKeyPairs once no Linux instance is bound */
        bool check_launch_sources;      /* report launch templates and scaling configurations */
        char *scaling_endpoint;         /* Auto Scaling (ESS) API, "{region}" replaced */

        /* [Contain] */
        bool contain_enabled;
        enum conf_contain_scope contain_scope;
        uint64_t contain_timeout_usec;  /* Cloud Assistant command timeout on the instance */

        /* [Reboot] */
        bool reboot_enabled;
        struct window_set windows;
        char *time_zone;                /* NULL = host local zone */
        unsigned max_parallel;
        uint64_t cutoff_usec;
        bool force_stop;
        uint64_t health_timeout_usec;
        unsigned max_failures;
};

/* Allocates a conf holding the documented defaults. state_directory_env is $STATE_DIRECTORY
 * (may be NULL; the first of a colon-separated list is used when it is an absolute path). */
int conf_new(const char *state_directory_env, struct conf **ret);

/* Parses one file's text into c; each problem is added to d as path:line. Returns 0, -EINVAL when
 * a problem was found (the valid keys are still applied), -ENOMEM. Systemd-style: leading blanks
 * are ignored (no continuation lines); '#' or ';' at the start of a line or after a blank starts a
 * comment; an empty assignment ("Key=") resets the key to its default, and for Window= clears
 * the list; Regions= replaces the list. Lines are limited by inih (197 characters). */
int conf_parse(struct conf *c, const char *path, const char *text, struct diags *d);

/* Loads path (missing is an error), then path.d/ *.conf in lexical order (missing dir is fine),
 * then validates cross-key constraints. Returns 0 when d got no new problem, -EINVAL when it
 * did, -ENOMEM. On failure *ret is untouched. */
int conf_load(const char *path, const char *state_directory_env, struct conf **ret, struct diags *d);

struct conf *conf_free(struct conf *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct conf *, conf_free);
