/* The agent: owns the event loop, configuration, lists, ECS client, queue and the passes. */
#pragma once

#include "base/macro.h"

struct agent;

struct agent_options {
        const char *config_path;
        bool once;              /* one pass, the reboots due now, then exit */
        bool dry_run;           /* --dry-run, on top of DryRun= */
};

/* Exit statuses of keyrevoked (SPEC.md). */
enum {
        AGENT_EXIT_OK = 0,
        AGENT_EXIT_CONFIG = 1,  /* usage or configuration errors */
        AGENT_EXIT_PENDING = 2, /* some target could not be enforced */
};

/* Loads configuration, credentials, the queue and the lists. Problems are printed; returns
 * -EINVAL for configuration errors, -EBUSY when another keyrevoked holds the StateDirectory,
 * other -errno for setup failures. */
int agent_new(const struct agent_options *o, struct agent **ret);

/* Runs until SIGTERM/SIGINT (or the end of --once); returns an AGENT_EXIT_* status. */
int agent_run(struct agent *a);

struct agent *agent_free(struct agent *a);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct agent *, agent_free);
