/* Where the ECS credentials come from (static sources or the RAM role), delivered asynchronously. */
#pragma once

#include <systemd/sd-event.h>

#include "io/creds.h"
#include "logic/conf.h"

struct credsource;

/* Called from the event loop with new credentials (owned by the callee, error 0), or with NULL
 * and a negative errno when a RAM-role fetch failed (logged already; it is retried). */
typedef void (*credsource_cb)(struct creds *c, int error, void *userdata);

/* Picks the source as SPEC.md orders them: $CREDENTIALS_DIRECTORY/aliyun, CredentialsFile=, the
 * environment, then RamRole= through the metadata service. Static credentials are read now
 * (problems are logged; -ENOENT when no source is configured, -EINVAL for a refused one) and
 * handed to cb from the event loop, RAM-role ones whenever they are fetched or refreshed. */
int credsource_new(sd_event *event, const struct conf *c, credsource_cb cb, void *userdata,
                   struct credsource **ret);

/* Stops fetching; no callback afterwards. Accepts NULL. */
struct credsource *credsource_free(struct credsource *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct credsource *, credsource_free);
