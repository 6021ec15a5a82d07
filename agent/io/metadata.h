/* ECS RAM-role credentials from the instance metadata service (hardened mode), kept fresh. */
#pragma once

#include <systemd/sd-event.h>

#include "io/creds.h"
#include "io/http.h"

#define METADATA_TOKEN_TTL_SEC_DEFAULT 21600U
#define METADATA_ROLE_MAX 64U
#define METADATA_TOKEN_MAX_BYTES (4U * 1024U)
#define METADATA_CREDS_MAX_BYTES (64U * 1024U)

/* Refresh policy (metadata_refresh_at): the credentials are renewed when a fifth of their
 * remaining lifetime is left, but at least METADATA_REFRESH_MARGIN_USEC before Expiration, and
 * never sooner than METADATA_REFRESH_MIN_DELAY_USEC after they arrived (a service handing out the
 * same credentials again, or a skewed clock, must not make us poll in a loop). */
#define METADATA_REFRESH_MARGIN_USEC (5 * USEC_PER_MINUTE)
#define METADATA_REFRESH_MIN_DELAY_USEC (60 * USEC_PER_SEC)
/* A failed fetch is retried after 5 s, doubling up to 5 min, until one succeeds. */
#define METADATA_RETRY_MIN_USEC (5 * USEC_PER_SEC)
#define METADATA_RETRY_MAX_USEC (5 * USEC_PER_MINUTE)

struct metadata;

/* Called from the event loop whenever fresh credentials arrive (c is owned by the callee, error 0),
 * or with c NULL and a negative errno when a fetch failed (already logged with its details; the
 * previous credentials stay usable until they expire, a retry is scheduled). The callee may call
 * metadata_free(). */
typedef void (*metadata_creds_cb)(struct creds *c, int error, void *userdata);

/* Sets up the fetcher; no request is made before metadata_start(). endpoint is MetadataEndpoint=
 * (http:// or https://, a trailing '/' is ignored), role is RamRole= (1..64 of [A-Za-z0-9._-]).
 * http is borrowed and must outlive m. -EINVAL on a bad endpoint or role. */
int metadata_new(sd_event *event, struct http *http, const char *endpoint, const char *role,
                 metadata_creds_cb cb, void *userdata, struct metadata **ret);

/* Cancels the request in flight and the timer, wipes the token; no callback. Accepts NULL. */
struct metadata *metadata_free(struct metadata *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct metadata *, metadata_free);

/* The metadata token lifetime asked for (1..21600 s, default 21600); -ERANGE otherwise. */
int metadata_set_token_ttl(struct metadata *m, unsigned sec);

/* Starts the first fetch now; refreshes and retries are then scheduled by m itself.
 * -EBUSY when already started. */
int metadata_start(struct metadata *m);

/* True for a valid RamRole= value: 1..METADATA_ROLE_MAX characters of [A-Za-z0-9._-]. */
bool metadata_role_is_valid(const char *role);

/* Parses UTC "yyyy-MM-ddTHH:mm:ssZ" (exactly that form) into usec since the epoch; -EINVAL. */
int metadata_parse_timestamp(const char *s, uint64_t *ret);

/* Parses the security-credentials answer into new credentials (AccessKeyId, AccessKeySecret,
 * SecurityToken, Expiration). -EMSGSIZE above METADATA_CREDS_MAX_BYTES, -EREMOTEIO when Code is
 * not "Success", -EBADMSG for anything else malformed or missing, -ENOMEM. */
int metadata_parse_credentials(const char *json, size_t len, struct creds **ret);

/* When credentials expiring at expiration (usec, CLOCK_REALTIME) should be refreshed, given the
 * current time now: see the refresh policy above. */
uint64_t metadata_refresh_at(uint64_t now, uint64_t expiration);
