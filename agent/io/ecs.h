/* The ECS RPC client: builds, signs, paces, sends, retries and parses API calls. */
#pragma once

#include <jansson.h>
#include <systemd/sd-event.h>

#include "io/creds.h"
#include "logic/params.h"

#define ECS_API_VERSION "2014-05-26"
#define ESS_API_VERSION "2014-08-28"
#define ECS_MAX_RESPONSE_BYTES (8U * 1024U * 1024U)

struct ecs;

/* The products one client calls: the same signing, pacing, budget and retries; each its own
 * endpoint and API version. */
enum ecs_service {
        ECS_SERVICE_ECS,                /* ECS, API 2014-05-26 */
        ECS_SERVICE_ESS,                /* Auto Scaling, API 2014-08-28 */
        _ECS_SERVICE_MAX,
};

struct ecs_options {
        const char *endpoint;           /* "https://ecs.{region}.aliyuncs.com"; {region} replaced */
        const char *scaling_endpoint;   /* ESS, the same way; NULL = no ESS calls */
        const char *ca_file;            /* NULL = system store */
        unsigned max_concurrent;        /* MaxConcurrentRequests= */
        unsigned max_per_second;        /* MaxRequestsPerSecond= */
        uint64_t timeout_usec;          /* RequestTimeoutSec= */
        unsigned max_retries;           /* MaxRetries= */
};

struct ecs_result {
        int error;               /* 0 success; -EREMOTEIO API error (code set); other -errno transport */
        const char *code;        /* API error code, or NULL */
        const char *message;     /* API message or transport error text, or NULL */
        const char *request_id;  /* RequestId (body or x-acs-request-id), or NULL */
        long http_status;
        json_t *body;            /* parsed answer (borrowed, valid during the callback), or NULL */
        unsigned attempts;       /* attempts made, 1 = no retry */
};

/* Called exactly once per ecs_call() from the event loop, after the last retry. */
typedef void (*ecs_done_cb)(const struct ecs_result *r, void *userdata);

struct ecs_stats {
        unsigned long calls;         /* HTTP requests sent, retries included */
        unsigned long retries;
        unsigned long throttled;     /* answers with a Throttling* code */
        unsigned long errors;        /* calls ending in an error */
};

/* -EINVAL unless each endpoint is https://host[:port][/path] and both limits are at least 1. */
int ecs_new(sd_event *event, const struct ecs_options *o, struct ecs **ret);

/* Cancels every queued or in-flight call without calling back; wipes credentials. May be called
 * from inside an ecs_done_cb. */
struct ecs *ecs_free(struct ecs *e);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct ecs *, ecs_free);

/* Replaces the credentials used for calls signed from now on (takes ownership). */
void ecs_set_credentials(struct ecs *e, struct creds *c);

/* Queues a call of action in region (the endpoint's {region}); params hold the action's own
 * parameters (RegionId included where the API wants it) and are taken over: *params is empty
 * afterwards, also on failure. -EINVAL when region is not [A-Za-z0-9-]{1,64}, action not
 * [A-Za-z0-9]{1,64}, or params hold a common parameter (Action, Signature, ...). The callback
 * never runs inside ecs_call(); without credentials the call ends with -ENOKEY. RebootInstance
 * is not retried after an ambiguous failure (timeout, reset, 5xx): it may have taken effect. */
int ecs_call(struct ecs *e, const char *region, const char *action, struct params *params, ecs_done_cb cb,
             void *userdata);

/* Like ecs_call(), for the API of service s (-EINVAL for ESS when the client has no
 * scaling_endpoint). */
int ecs_call_service(struct ecs *e, enum ecs_service s, const char *region, const char *action,
                     struct params *params, ecs_done_cb cb, void *userdata);

/* Calls queued or in flight. */
unsigned ecs_pending(const struct ecs *e);

const struct ecs_stats *ecs_get_stats(const struct ecs *e);

/* True for codes that are retried: Throttling*, ServiceUnavailable*, InternalError*, UnknownError. */
bool ecs_code_is_retryable(const char *code);

/* A random value for the jitter of a backoff (0 when no randomness is at hand). */
uint32_t ecs_random_u32(void);

/* ---- observer (metrics) ---- */

/* Called after every attempt, retries included, with the call's action and the attempt's result
 * (borrowed for the call), before a retry is scheduled or the call's callback runs. */
typedef void (*ecs_observe_cb)(const char *action, const struct ecs_result *r, void *userdata);

/* Sets the observer of e (NULL clears it). */
void ecs_set_observer(struct ecs *e, ecs_observe_cb cb, void *userdata);
