/* The ECS RPC client: queues calls, paces and signs attempts, sends them over http.c, retries. */
#include <ctype.h>
#include <openssl/rand.h>
#include <strings.h>

#include "base/list.h"
#include "base/log.h"
#include "base/strutil.h"
#include "io/ecs.h"
#include "io/http.h"
#include "logic/ecsparse.h"
#include "logic/ratelimit.h"
#include "logic/sign.h"

#define ECS_BACKOFF_BASE_USEC (200 * USEC_PER_MSEC)
#define ECS_BACKOFF_CAP_USEC (20 * USEC_PER_SEC)
#define ECS_TIMER_ACCURACY_USEC USEC_PER_MSEC
#define ECS_ENDPOINT_MAX 512U
#define ECS_NAME_MAX 64U
#define ECS_NONCE_BYTES 16U

/* Parameters ecs.c sets itself; a caller may not pass them. */
static const char *const ecs_common_params[] = {
        "Action", "Version", "Format", "AccessKeyId", "SignatureMethod", "SignatureVersion",
        "SignatureNonce", "Timestamp", "SecurityToken", "Signature",
};

static const char *const ecs_api_versions[_ECS_SERVICE_MAX] = {
        [ECS_SERVICE_ECS] = ECS_API_VERSION,
        [ECS_SERVICE_ESS] = ESS_API_VERSION,
};

struct ecs_call {
        struct ecs *ecs;
        enum ecs_service service;
        char *region;
        char *action;
        char *url;
        struct params params;
        ecs_done_cb cb;
        void *userdata;
        unsigned attempts;
        uint64_t not_before_usec;       /* CLOCK_MONOTONIC; retry backoff */
        uint64_t sent_usec;             /* CLOCK_MONOTONIC; when the last attempt was started */
        struct http_call *http;         /* the attempt in flight, NULL while queued */
        struct ecs_call *prev, *next;
};

struct ecs {
        sd_event *event;
        struct http *http;
        sd_event_source *timer;         /* one timer for the queue head: pacing and backoff */
        char *endpoints[_ECS_SERVICE_MAX]; /* NULL: that service is not called */
        char *ca_file;
        unsigned max_concurrent;
        uint64_t timeout_usec;
        unsigned max_retries;
        struct creds *creds;
        struct ratelimit ratelimit;
        uint64_t paced_until_usec;      /* no token before this (CLOCK_MONOTONIC) */
        struct ecs_call *head, *tail;   /* every call, oldest first */
        unsigned n_calls, n_in_flight;
        struct ecs_stats stats;
        ecs_observe_cb observe_cb;      /* ecs_set_observer() */
        void *observe_userdata;
};

/* What a finished attempt left us that the result borrows from. */
struct ecs_answer {
        json_t *json;
        char *code;
        char *message;
};

static void ecs_answer_done(struct ecs_answer *a) {
        json_decref(a->json);
        free(a->code);
        free(a->message);
}

bool ecs_code_is_retryable(const char *code) {
        if (!code)
                return false;
        return startswith(code, "Throttling") || startswith(code, "ServiceUnavailable") ||
               startswith(code, "InternalError") || streq(code, "UnknownError");
}

/* Whether a request may be sent again after an ambiguous transport error (it may have reached the
 * API): RebootInstance has no client token, so a second copy could reboot twice. */
static bool ecs_action_is_safe_to_resend(const char *action) {
        return !streq(action, "RebootInstance");
}

static bool ecs_transport_is_retryable(int error, bool safe_to_resend) {
        switch (error) {
        case -ECONNREFUSED:
        case -EHOSTUNREACH:
                return true; /* nothing was sent */
        case -ETIMEDOUT:
        case -ECONNRESET:
        case -EPROTO:
        case -EIO:
                return safe_to_resend;
        default:
                return false; /* size cap, certificate, bad input, no memory: would fail again */
        }
}

static bool ecs_result_is_retryable(const struct ecs_call *c, const struct http_response *r,
                                    const struct ecs_result *res) {
        bool safe_to_resend = ecs_action_is_safe_to_resend(c->action);

        if (r->error < 0)
                return ecs_transport_is_retryable(r->error, safe_to_resend);
        if (res->error == 0)
                return false;
        if (res->code && ecs_code_is_retryable(res->code))
                return safe_to_resend || startswith(res->code, "Throttling") ||
                       startswith(res->code, "ServiceUnavailable");
        return res->http_status >= 500 && safe_to_resend;
}

static struct ecs_call *ecs_call_free(struct ecs_call *c) {
        if (!c)
                return NULL;
        free(c->region);
        free(c->action);
        free(c->url);
        params_done(&c->params);
        free(c);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(struct ecs_call *, ecs_call_free);

static void ecs_unlink(struct ecs *e, struct ecs_call *c) {
        if (e->tail == c)
                e->tail = c->prev;
        LIST_REMOVE(e->head, c);
        e->n_calls--;
}

static uint64_t ecs_now(struct ecs *e, clockid_t clock) {
        uint64_t now = 0;

        (void) sd_event_now(e->event, clock, &now);
        return now;
}

static void ecs_arm(struct ecs *e, uint64_t usec) {
        /* Cannot fail for an existing timer source. */
        (void) sd_event_source_set_time(e->timer, usec);
        (void) sd_event_source_set_enabled(e->timer, SD_EVENT_ONESHOT);
}

/* Arms the timer for the earliest queued call that may start, or disarms it. Without
 * credentials (a RAM role's first ones, or calls queued while the agent starts) calls wait. */
static void ecs_schedule(struct ecs *e) {
        uint64_t next = UINT64_MAX, now;

        if (e->creds && e->n_in_flight < e->max_concurrent)
                for (struct ecs_call *c = e->head; c; c = c->next)
                        if (!c->http && c->not_before_usec < next)
                                next = c->not_before_usec;
        if (next == UINT64_MAX) {
                (void) sd_event_source_set_enabled(e->timer, SD_EVENT_OFF);
                return;
        }
        now = ecs_now(e, CLOCK_MONOTONIC);
        if (next < e->paced_until_usec)
                next = e->paced_until_usec;
        ecs_arm(e, next > now ? next : now);
}

/* Ends a call: the callback comes last, so that it may free e. */
static void ecs_finish(struct ecs_call *c, const struct ecs_result *res) {
        struct ecs *e = c->ecs;

        ecs_unlink(e, c);
        if (res->error < 0)
                e->stats.errors++;
        ecs_schedule(e);
        c->cb(res, c->userdata);
        ecs_call_free(c);
}

static int ecs_nonce(char *buf, size_t size) {
        uint8_t raw[ECS_NONCE_BYTES];

        if (size < 2 * sizeof(raw) + 1)
                return -EINVAL;
        if (RAND_bytes(raw, sizeof(raw)) != 1)
                return -EIO;
        for (size_t i = 0; i < sizeof(raw); i++)
                snprintf(buf + 2 * i, 3, "%02x", raw[i]);
        return 0;
}

static int ecs_add_common_params(struct ecs *e, const struct ecs_call *c, struct params *p) {
        char nonce[2 * ECS_NONCE_BYTES + 1], timestamp[32];
        int r;

        r = ecs_nonce(nonce, sizeof(nonce));
        if (r < 0)
                return r;
        r = sign_format_timestamp(ecs_now(e, CLOCK_REALTIME), timestamp, sizeof(timestamp));
        if (r < 0)
                return r;
        if ((r = params_add(p, "Action", c->action)) < 0 ||
            (r = params_add(p, "Version", ecs_api_versions[c->service])) < 0 ||
            (r = params_add(p, "Format", "JSON")) < 0 ||
            (r = params_add(p, "AccessKeyId", e->creds->access_key_id)) < 0 ||
            (r = params_add(p, "SignatureMethod", "HMAC-SHA1")) < 0 ||
            (r = params_add(p, "SignatureVersion", "1.0")) < 0 ||
            (r = params_add(p, "SignatureNonce", nonce)) < 0 ||
            (r = params_add(p, "Timestamp", timestamp)) < 0)
                return r;
        if (e->creds->security_token)
                return params_add(p, "SecurityToken", e->creds->security_token);
        return 0;
}

/* The signed form body of one attempt (fresh nonce and timestamp). */
static int ecs_encode(struct ecs *e, const struct ecs_call *c, char **ret) {
        _cleanup_(params_done) struct params p = {};
        int r;

        if (!e->creds || !e->creds->access_key_id || !e->creds->access_key_secret)
                return -ENOKEY;
        r = params_copy(&c->params, &p);
        if (r < 0)
                return r;
        r = ecs_add_common_params(e, c, &p);
        if (r < 0)
                return r;
        return sign_encode_request("POST", &p, e->creds->access_key_secret, ret);
}

uint32_t ecs_random_u32(void) {
        uint32_t v;

        /* Without randomness, back off without jitter rather than fail the call. */
        if (RAND_bytes((unsigned char *) &v, sizeof(v)) != 1)
                return 0;
        return v;
}

/* Turns one HTTP answer into a result; a owns what the result points to. */
/* Signature errors echo the string to sign, security token included: their text is not passed on. */
static const char *ecs_safe_message(const char *code, const char *message) {
        if (startswith(code, "SignatureDoesNotMatch") || startswith(code, "IncompleteSignature") ||
            startswith(code, "InvalidSecurityToken"))
                return "the API refused the signature or the security token (its details are withheld: they "
                       "echo credentials); check the AccessKeySecret and the clock";
        return message;
}

static void ecs_classify(const struct http_response *r, struct ecs_answer *a,
                         struct ecs_result *res) {
        res->http_status = r->status;
        res->request_id = r->request_id;
        if (r->error < 0) {
                res->error = r->error;
                res->message = r->error_text;
                return;
        }
        if (ecsparse_json(r->body, r->body_len, &a->json) >= 0 && ecsparse_request_id(a->json))
                res->request_id = ecsparse_request_id(a->json);
        if (r->status >= 200 && r->status < 300 && a->json) {
                res->body = a->json;
                return;
        }
        if (a->json && ecsparse_error(a->json, &a->code, &a->message) >= 0 && a->code) {
                res->error = -EREMOTEIO;
                res->code = a->code;
                res->message = ecs_safe_message(a->code, a->message);
                return;
        }
        res->error = -EBADMSG;
        res->message = "answer without a JSON object or an error code";
}

static void ecs_log_attempt(const struct ecs_call *c, const struct ecs_result *res) {
        const char *what = res->code ? res->code : res->error < 0 ? strerror(-res->error) : "ok";

        log_debug("ECS %s in %s, attempt %u: %s", c->action, c->region, c->attempts, what);
}

static void ecs_http_done_cb(const struct http_response *r, void *userdata) {
        _cleanup_(ecs_answer_done) struct ecs_answer a = {};
        struct ecs_call *c = userdata;
        struct ecs *e = c->ecs;
        struct ecs_result res = { .attempts = c->attempts };
        uint64_t now = ecs_now(e, CLOCK_MONOTONIC);

        c->http = NULL;
        e->n_in_flight--;
        ecs_classify(r, &a, &res);
        ecs_log_attempt(c, &res);
        if (e->observe_cb)
                e->observe_cb(c->action, &res, e->observe_userdata);
        if (res.code && startswith(res.code, "Throttling")) {
                e->stats.throttled++;
                ratelimit_throttled(&e->ratelimit, c->sent_usec, now);
        } else if (res.error == 0)
                ratelimit_succeeded(&e->ratelimit, now);
        if (c->attempts <= e->max_retries && ecs_result_is_retryable(c, r, &res)) {
                uint64_t backoff = ratelimit_backoff_usec(c->attempts, ECS_BACKOFF_BASE_USEC,
                                                          ECS_BACKOFF_CAP_USEC, ecs_random_u32());

                c->not_before_usec = now + backoff;
                e->stats.retries++;
                ecs_schedule(e);
                return;
        }
        ecs_finish(c, &res);
}

static int ecs_attempt_start(struct ecs *e, struct ecs_call *c) {
        _cleanup_erase_ char *body = NULL;
        struct http_request req = {
                .method = "POST",
                .url = c->url,
                .content_type = "application/x-www-form-urlencoded",
                .ca_file = e->ca_file,
                .timeout_usec = e->timeout_usec,
                .max_response_bytes = ECS_MAX_RESPONSE_BYTES,
        };
        int r;

        r = ecs_encode(e, c, &body);
        if (r < 0)
                return r;
        req.body = body;
        r = http_submit(e->http, &req, ecs_http_done_cb, c, &c->http);
        if (r < 0)
                return r;
        c->attempts++;
        c->sent_usec = ecs_now(e, CLOCK_MONOTONIC);
        e->n_in_flight++;
        e->stats.calls++;
        return 0;
}

/* Which ready call goes first: containment (it ends an exposure at once: the Cloud Assistant
 * chain of agent status, command and the results that prove it), then the calls that change the
 * fleet (a detach ends an exposure at the next boot), then the Describe* calls that find one. */
static unsigned ecs_action_rank(const char *action) {
        if (streq(action, "DescribeCloudAssistantStatus") || streq(action, "RunCommand") ||
            streq(action, "DescribeInvocationResults"))
                return 2;
        if (streq(action, "DetachKeyPair") || streq(action, "RebootInstance"))
                return 1;
        return 0;
}

static struct ecs_call *ecs_first_ready(struct ecs *e, uint64_t now) {
        struct ecs_call *first = NULL;
        unsigned best = 0;

        for (struct ecs_call *c = e->head; c; c = c->next) {
                unsigned rank;

                if (c->http || c->not_before_usec > now)
                        continue;
                rank = ecs_action_rank(c->action);
                if (!first || rank > best) {
                        first = c;
                        best = rank;
                }
        }
        return first;
}

/* Starts as many ready calls as concurrency and the token bucket allow. */
static int ecs_timer_cb(sd_event_source *s, uint64_t usec, void *userdata) {
        struct ecs *e = userdata;
        uint64_t now = ecs_now(e, CLOCK_MONOTONIC);

        while (e->n_in_flight < e->max_concurrent) {
                struct ecs_call *c = ecs_first_ready(e, now);
                uint64_t wait;
                int r;

                if (!c)
                        break;
                wait = ratelimit_take(&e->ratelimit, now);
                if (wait > 0) {
                        e->paced_until_usec = now + wait;
                        ecs_arm(e, e->paced_until_usec);
                        return 0;
                }
                r = ecs_attempt_start(e, c);
                if (r < 0) {
                        struct ecs_result res = {
                                .error = r,
                                .message = "could not send the request",
                                .attempts = c->attempts,
                        };

                        ecs_finish(c, &res);
                        return 0; /* e may be gone; ecs_finish() rescheduled the rest */
                }
        }
        ecs_schedule(e);
        return 0;
}

/* https://host[:port][/path] with no userinfo, query or fragment; the path is plain characters. */
static bool ecs_endpoint_is_valid(const char *endpoint) {
        const char *host, *path;
        size_t n;

        if (strncasecmp(endpoint, "https://", 8) != 0 || strlen(endpoint) > ECS_ENDPOINT_MAX)
                return false;
        host = endpoint + 8;
        path = strchrnul(host, '/');
        n = (size_t) (path - host);
        if (n == 0)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!isgraph((unsigned char) host[i]) || strchr("?#@\\", host[i]))
                        return false;
        for (; *path; path++)
                if (!isalnum((unsigned char) *path) && !strchr("/-._~{}", *path))
                        return false;
        return true;
}

static bool ecs_name_is_valid(const char *s, const char *extra) {
        size_t n = strlen(s);

        if (n == 0 || n > ECS_NAME_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!isalnum((unsigned char) s[i]) && !strchr(extra, s[i]))
                        return false;
        return true;
}

/* The endpoint with every "{region}" replaced, ending in "/". */
static int ecs_url(const char *endpoint, const char *region, char **ret) {
        static const char key[] = "{region}";
        size_t n = 0, rl = strlen(region);
        const char *p, *q;
        char *url;

        for (p = endpoint; (q = strstr(p, key)); p = q + strlen(key))
                n += (size_t) (q - p) + rl;
        n += strlen(p);
        url = malloc(n + 2);
        if (!url)
                return -ENOMEM;
        url[0] = '\0';
        for (p = endpoint; (q = strstr(p, key)); p = q + strlen(key)) {
                strncat(url, p, (size_t) (q - p));
                strcat(url, region);
        }
        strcat(url, p);
        if (url[n - 1] != '/')
                strcat(url, "/");
        *ret = url;
        return 0;
}

static int ecs_check_call(const char *region, const char *action, const struct params *params) {
        if (!ecs_name_is_valid(region, "-") || !ecs_name_is_valid(action, ""))
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(ecs_common_params); i++)
                if (params_get(params, ecs_common_params[i]))
                        return -EINVAL;
        return 0;
}

int ecs_call(struct ecs *e, const char *region, const char *action, struct params *params,
             ecs_done_cb cb, void *userdata) {
        return ecs_call_service(e, ECS_SERVICE_ECS, region, action, params, cb, userdata);
}

int ecs_call_service(struct ecs *e, enum ecs_service s, const char *region, const char *action,
                     struct params *params, ecs_done_cb cb, void *userdata) {
        _cleanup_(ecs_call_freep) struct ecs_call *c = NULL;
        int r;

        if (!e || (unsigned) s >= _ECS_SERVICE_MAX || !e->endpoints[s] || !region || !action || !params || !cb) {
                if (params)
                        params_done(params);
                return -EINVAL;
        }
        c = calloc(1, sizeof(*c));
        if (!c) {
                params_done(params);
                return -ENOMEM;
        }
        c->params = *params;
        *params = (struct params) {};
        r = ecs_check_call(region, action, &c->params);
        if (r < 0)
                return r;
        c->region = strdup(region);
        c->action = strdup(action);
        if (!c->region || !c->action || ecs_url(e->endpoints[s], region, &c->url) < 0)
                return -ENOMEM;
        c->ecs = e;
        c->service = s;
        c->cb = cb;
        c->userdata = userdata;
        LIST_APPEND(e->head, e->tail, TAKE_PTR(c));
        e->n_calls++;
        ecs_schedule(e);
        return 0;
}

static int ecs_setup_events(struct ecs *e, sd_event *event, unsigned max_per_second) {
        int r;

        e->event = sd_event_ref(event);
        r = http_new(event, &e->http);
        if (r < 0)
                return r;
        r = sd_event_add_time(event, &e->timer, CLOCK_MONOTONIC, 0, ECS_TIMER_ACCURACY_USEC,
                              ecs_timer_cb, e);
        if (r < 0)
                return r;
        /* Ahead of the answers still waiting to be read: a freed slot is refilled at once. */
        r = sd_event_source_set_priority(e->timer, SD_EVENT_PRIORITY_IMPORTANT);
        if (r < 0)
                return r;
        r = sd_event_source_set_enabled(e->timer, SD_EVENT_OFF);
        if (r < 0)
                return r;
        ratelimit_init(&e->ratelimit, max_per_second, ecs_now(e, CLOCK_MONOTONIC));
        return 0;
}

int ecs_new(sd_event *event, const struct ecs_options *o, struct ecs **ret) {
        _cleanup_(ecs_freep) struct ecs *e = NULL;
        int r;

        if (!event || !o || !o->endpoint || !ecs_endpoint_is_valid(o->endpoint) ||
            (o->scaling_endpoint && !ecs_endpoint_is_valid(o->scaling_endpoint)) || o->max_concurrent == 0 ||
            o->max_per_second == 0)
                return -EINVAL;
        e = calloc(1, sizeof(*e));
        if (!e)
                return -ENOMEM;
        e->endpoints[ECS_SERVICE_ECS] = strdup(o->endpoint);
        e->endpoints[ECS_SERVICE_ESS] = o->scaling_endpoint ? strdup(o->scaling_endpoint) : NULL;
        e->ca_file = o->ca_file ? strdup(o->ca_file) : NULL;
        if (!e->endpoints[ECS_SERVICE_ECS] || (o->scaling_endpoint && !e->endpoints[ECS_SERVICE_ESS]) ||
            (o->ca_file && !e->ca_file))
                return -ENOMEM;
        e->max_concurrent = o->max_concurrent;
        e->timeout_usec = o->timeout_usec;
        e->max_retries = o->max_retries;
        r = ecs_setup_events(e, event, o->max_per_second);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(e);
        return 0;
}

struct ecs *ecs_free(struct ecs *e) {
        if (!e)
                return NULL;
        while (e->head) {
                struct ecs_call *c = e->head;

                http_cancel(c->http);
                ecs_unlink(e, c);
                ecs_call_free(c);
        }
        (void) sd_event_source_disable_unref(e->timer);
        http_free(e->http);
        creds_free(e->creds);
        for (size_t i = 0; i < ELEMENTSOF(e->endpoints); i++)
                free(e->endpoints[i]);
        free(e->ca_file);
        sd_event_unref(e->event);
        free(e);
        return NULL;
}

void ecs_set_credentials(struct ecs *e, struct creds *c) {
        if (!e) {
                creds_free(c);
                return;
        }
        creds_free(e->creds);
        e->creds = c;
        ecs_schedule(e);
}

unsigned ecs_pending(const struct ecs *e) {
        return e ? e->n_calls : 0;
}

const struct ecs_stats *ecs_get_stats(const struct ecs *e) {
        return &e->stats;
}

void ecs_set_observer(struct ecs *e, ecs_observe_cb cb, void *userdata) {
        e->observe_cb = cb;
        e->observe_userdata = userdata;
}
