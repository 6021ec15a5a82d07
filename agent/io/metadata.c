/* ECS RAM-role credentials: token-guarded fetches from the metadata service, refreshed on a timer. */
#include <inttypes.h>
#include <jansson.h>

#include "base/log.h"
#include "io/metadata.h"
#include "logic/sign.h"

#define METADATA_ENDPOINT_MAX 512U
#define METADATA_KEY_MAX 1024U
#define METADATA_SECURITY_TOKEN_MAX 16384U
#define METADATA_REQUEST_TIMEOUT_USEC (10 * USEC_PER_SEC)
#define METADATA_TIMER_ACCURACY_USEC USEC_PER_SEC
#define METADATA_TOKEN_PATH "/latest/api/token"
#define METADATA_CREDS_PATH "/latest/meta-data/ram/security-credentials/"

struct metadata {
        sd_event *event;
        struct http *http;              /* borrowed */
        char *endpoint;                 /* without trailing '/' */
        char *role;
        char *token_url;
        char *creds_url;
        unsigned token_ttl_sec;
        char *token;                    /* secret; NULL until fetched and after a 401 */
        bool token_fresh;               /* the token was fetched by the current attempt */
        bool started;
        struct http_call *call;         /* the request in flight, or NULL */
        sd_event_source *timer;         /* next refresh or retry, or NULL */
        uint64_t retry_usec;            /* delay before the next retry after a failure */
        metadata_creds_cb cb;
        void *userdata;
};

/* ---- pure parsing ------------------------------------------------------------------------- */

bool metadata_role_is_valid(const char *role) {
        size_t n;

        if (!role)
                return false;
        n = strspn(role, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-");
        return n > 0 && n <= METADATA_ROLE_MAX && role[n] == '\0';
}

/* True when s[0..n) is 1..max bytes of printable ASCII without spaces. */
static bool metadata_is_printable_word(const char *s, size_t n, size_t max) {
        if (n == 0 || n > max)
                return false;
        for (size_t i = 0; i < n; i++)
                if (s[i] <= ' ' || s[i] >= 0x7f)
                        return false;
        return true;
}

static int metadata_parse_digits(const char *s, size_t n, unsigned *ret) {
        unsigned v = 0;

        for (size_t i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -EINVAL;
                v = v * 10 + (unsigned) (s[i] - '0');
        }
        *ret = v;
        return 0;
}

static unsigned metadata_days_in_month(unsigned year, unsigned month) {
        static const unsigned days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
        bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

        return days[month - 1] + (month == 2 && leap);
}

/* Days from 1970-01-01 to the given proleptic Gregorian date (year >= 1970). */
static uint64_t metadata_days_since_epoch(unsigned year, unsigned month, unsigned day) {
        unsigned y = year - (month <= 2);
        unsigned era = y / 400, yoe = y % 400;
        unsigned doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
        unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

        return (uint64_t) era * 146097 + doe - 719468;
}

int metadata_parse_timestamp(const char *s, uint64_t *ret) {
        unsigned year, month, day, hour, minute, second;

        if (!s || strlen(s) != 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
            s[16] != ':' || s[19] != 'Z')
                return -EINVAL;
        if (metadata_parse_digits(s, 4, &year) < 0 || metadata_parse_digits(s + 5, 2, &month) < 0 ||
            metadata_parse_digits(s + 8, 2, &day) < 0 || metadata_parse_digits(s + 11, 2, &hour) < 0 ||
            metadata_parse_digits(s + 14, 2, &minute) < 0 || metadata_parse_digits(s + 17, 2, &second) < 0)
                return -EINVAL;
        if (year < 1970 || month < 1 || month > 12 || day < 1 || day > metadata_days_in_month(year, month) ||
            hour > 23 || minute > 59 || second > 59)
                return -EINVAL;
        *ret = (((metadata_days_since_epoch(year, month, day) * 24 + hour) * 60 + minute) * 60 + second) *
               USEC_PER_SEC;
        return 0;
}

/* Copies the string member name when it is a printable word of at most max bytes. */
static int metadata_get_word(json_t *o, const char *name, size_t max, char **ret) {
        json_t *v = json_object_get(o, name);
        const char *s = json_string_value(v);
        size_t n = json_string_length(v);

        if (!s || !metadata_is_printable_word(s, n, max))
                return -EBADMSG;
        *ret = strndup(s, n);
        return *ret ? 0 : -ENOMEM;
}

static int metadata_creds_from_json(json_t *o, struct creds **ret) {
        _cleanup_(creds_freep) struct creds *c = NULL;
        const char *code = json_string_value(json_object_get(o, "Code"));
        const char *expiration = json_string_value(json_object_get(o, "Expiration"));
        int r;

        if (!code)
                return -EBADMSG;
        if (!streq(code, "Success"))
                return -EREMOTEIO;
        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        if ((r = metadata_get_word(o, "AccessKeyId", METADATA_KEY_MAX, &c->access_key_id)) < 0 ||
            (r = metadata_get_word(o, "AccessKeySecret", METADATA_KEY_MAX, &c->access_key_secret)) < 0 ||
            (r = metadata_get_word(o, "SecurityToken", METADATA_SECURITY_TOKEN_MAX, &c->security_token)) < 0)
                return r;
        if (metadata_parse_timestamp(expiration, &c->expiration_usec) < 0)
                return -EBADMSG;
        *ret = TAKE_PTR(c);
        return 0;
}

/* jansson frees without wiping: clear its copies of the secrets first. */
static void metadata_json_wipe_free(json_t *o) {
        const char *key;
        json_t *v;

        json_object_foreach(o, key, v)
                if (json_is_string(v))
                        explicit_bzero((char *) json_string_value(v), json_string_length(v));
        json_decref(o);
}

int metadata_parse_credentials(const char *json, size_t len, struct creds **ret) {
        json_t *o;
        int r;

        if (len > METADATA_CREDS_MAX_BYTES)
                return -EMSGSIZE;
        o = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);
        if (!o)
                return -EBADMSG;
        r = json_is_object(o) ? metadata_creds_from_json(o, ret) : -EBADMSG;
        metadata_json_wipe_free(o);
        return r;
}

uint64_t metadata_refresh_at(uint64_t now, uint64_t expiration) {
        uint64_t earliest = now + METADATA_REFRESH_MIN_DELAY_USEC, remaining, margin;

        if (expiration <= earliest)
                return earliest;
        remaining = expiration - now;
        margin = remaining / 5 > METADATA_REFRESH_MARGIN_USEC ? remaining / 5 : METADATA_REFRESH_MARGIN_USEC;
        if (margin >= remaining || expiration - margin < earliest)
                return earliest;
        return expiration - margin;
}

/* ---- the fetcher -------------------------------------------------------------------------- */

/* Checks an http:// or https:// URL naming a host and drops its trailing slashes. */
static int metadata_endpoint_normalize(const char *endpoint, char **ret) {
        size_t scheme, n;

        if (!endpoint)
                return -EINVAL;
        if (strneq(endpoint, "http://", 7))
                scheme = 7;
        else if (strneq(endpoint, "https://", 8))
                scheme = 8;
        else
                return -EINVAL;
        n = strlen(endpoint);
        if (!metadata_is_printable_word(endpoint, n, METADATA_ENDPOINT_MAX))
                return -EINVAL;
        while (n > scheme && endpoint[n - 1] == '/')
                n--;
        if (n == scheme)
                return -EINVAL;
        *ret = strndup(endpoint, n);
        return *ret ? 0 : -ENOMEM;
}

int metadata_new(sd_event *event, struct http *http, const char *endpoint, const char *role,
                 metadata_creds_cb cb, void *userdata, struct metadata **ret) {
        _cleanup_(metadata_freep) struct metadata *m = NULL;
        int r;

        if (!event || !http || !cb || !metadata_role_is_valid(role))
                return -EINVAL;
        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        m->event = sd_event_ref(event);
        m->http = http;
        m->cb = cb;
        m->userdata = userdata;
        m->token_ttl_sec = METADATA_TOKEN_TTL_SEC_DEFAULT;
        m->retry_usec = METADATA_RETRY_MIN_USEC;
        r = metadata_endpoint_normalize(endpoint, &m->endpoint);
        if (r < 0)
                return r;
        m->role = strdup(role);
        if (!m->role)
                return -ENOMEM;
        if (asprintf(&m->token_url, "%s" METADATA_TOKEN_PATH, m->endpoint) < 0 ||
            asprintf(&m->creds_url, "%s" METADATA_CREDS_PATH "%s", m->endpoint, role) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(m);
        return 0;
}

struct metadata *metadata_free(struct metadata *m) {
        if (!m)
                return NULL;
        http_cancel(m->call);
        (void) sd_event_source_disable_unref(m->timer);
        erase_and_free(m->token);
        free(m->endpoint);
        free(m->role);
        free(m->token_url);
        free(m->creds_url);
        sd_event_unref(m->event);
        free(m);
        return NULL;
}

int metadata_set_token_ttl(struct metadata *m, unsigned sec) {
        if (sec < 1 || sec > METADATA_TOKEN_TTL_SEC_DEFAULT)
                return -ERANGE;
        m->token_ttl_sec = sec;
        return 0;
}

static int metadata_timer_cb(sd_event_source *s, uint64_t usec, void *userdata);

/* Replaces the pending timer with one firing at usec on clock. */
static int metadata_schedule(struct metadata *m, clockid_t clock, uint64_t usec) {
        m->timer = sd_event_source_disable_unref(m->timer);
        return sd_event_add_time(m->event, &m->timer, clock, usec, METADATA_TIMER_ACCURACY_USEC,
                                 metadata_timer_cb, m);
}

static uint64_t metadata_now(struct metadata *m, clockid_t clock) {
        uint64_t now = 0;

        (void) sd_event_now(m->event, clock, &now);
        return now;
}

/* Logs the failure, schedules the retry (monotonic: wall-clock steps must not delay it) and
 * reports it. */
static void metadata_fail(struct metadata *m, int error, const char *step, long status) {
        uint64_t delay = m->retry_usec;
        char http[32] = "";
        int r;

        m->retry_usec = delay >= METADATA_RETRY_MAX_USEC / 2 ? METADATA_RETRY_MAX_USEC : delay * 2;
        r = metadata_schedule(m, CLOCK_MONOTONIC, metadata_now(m, CLOCK_MONOTONIC) + delay);
        if (r < 0)
                log_error_errno(r, "Failed to schedule the next credentials fetch for RAM role '%s': %m",
                                m->role);
        if (status > 0)
                (void) snprintf(http, sizeof(http), " (HTTP %ld)", status);
        log_warning_errno(error, "Fetching credentials of RAM role '%s' from %s failed at the %s%s: %m; "
                          "retrying in %" PRIu64 " s",
                          m->role, m->endpoint, step, http, delay / USEC_PER_SEC);
        m->cb(NULL, error, m->userdata);
}

/* Schedules the refresh (wall clock: Expiration is a wall-clock instant) and hands c over. */
static void metadata_succeed(struct metadata *m, struct creds *c) {
        uint64_t now = metadata_now(m, CLOCK_REALTIME), at = metadata_refresh_at(now, c->expiration_usec);
        char expires[32] = "?";
        int r;

        m->retry_usec = METADATA_RETRY_MIN_USEC;
        r = metadata_schedule(m, CLOCK_REALTIME, at);
        if (r < 0)
                log_error_errno(r, "Failed to schedule the credentials refresh for RAM role '%s': %m",
                                m->role);
        (void) sign_format_timestamp(c->expiration_usec, expires, sizeof(expires));
        log_info("Got credentials of RAM role '%s', valid until %s; refreshing in %" PRIu64 " s", m->role,
                 expires, (at - now) / USEC_PER_SEC);
        m->cb(c, 0, m->userdata);
}

static int metadata_errno_from_status(long status) {
        if (status == 200)
                return 0;
        if (status == 401 || status == 403)
                return -EACCES;
        if (status == 404)
                return -ENOENT;
        return -EREMOTEIO;
}

static int metadata_submit(struct metadata *m, const char *method, const char *url, const char *header,
                           size_t max_bytes, http_done_cb cb) {
        const char *headers[] = { header, NULL };
        struct http_request req = {
                .method = method,
                .url = url,
                .headers = headers,
                .allow_http = true,
                .timeout_usec = METADATA_REQUEST_TIMEOUT_USEC,
                .max_response_bytes = max_bytes,
        };

        return http_submit(m->http, &req, cb, m, &m->call);
}

static void metadata_creds_done_cb(const struct http_response *r, void *userdata);
static void metadata_token_done_cb(const struct http_response *r, void *userdata);

static void metadata_request_token(struct metadata *m) {
        _cleanup_free_ char *header = NULL;
        int r;

        if (asprintf(&header, "X-aliyun-ecs-metadata-token-ttl-seconds: %u", m->token_ttl_sec) < 0)
                r = -ENOMEM;
        else
                r = metadata_submit(m, "PUT", m->token_url, header, METADATA_TOKEN_MAX_BYTES,
                                    metadata_token_done_cb);
        if (r < 0)
                metadata_fail(m, r, "token request", 0);
}

static void metadata_request_creds(struct metadata *m) {
        _cleanup_(erase_and_freep) char *header = NULL;
        int r;

        if (asprintf(&header, "X-aliyun-ecs-metadata-token: %s", m->token) < 0)
                r = -ENOMEM;
        else
                r = metadata_submit(m, "GET", m->creds_url, header, METADATA_CREDS_MAX_BYTES,
                                    metadata_creds_done_cb);
        if (r < 0)
                metadata_fail(m, r, "credentials request", 0);
}

/* One attempt: reuses the token while the service accepts it, fetches one first otherwise. */
static void metadata_fetch(struct metadata *m) {
        m->token_fresh = !m->token;
        if (m->token)
                metadata_request_creds(m);
        else
                metadata_request_token(m);
}

/* Keeps the token from the answer: trailing line ends are dropped, the rest must be one word. */
static int metadata_set_token(struct metadata *m, const struct http_response *r) {
        size_t n = r->body_len;

        while (n > 0 && strchr("\r\n\t ", r->body[n - 1]))
                n--;
        if (!metadata_is_printable_word(r->body, n, METADATA_TOKEN_MAX_BYTES))
                return -EBADMSG;
        erase_and_free(m->token);
        m->token = strndup(r->body, n);
        return m->token ? 0 : -ENOMEM;
}

/* The error of a finished request, or 0 for a 200 answer. */
static int metadata_response_errno(const struct http_response *r) {
        return r->error < 0 ? r->error : metadata_errno_from_status(r->status);
}

static void metadata_token_done_cb(const struct http_response *r, void *userdata) {
        struct metadata *m = userdata;
        int e;

        m->call = NULL;
        e = metadata_response_errno(r);
        if (e < 0)
                metadata_fail(m, e, "token request", r->status);
        else if ((e = metadata_set_token(m, r)) < 0)
                metadata_fail(m, e, "token answer", 0);
        else
                metadata_request_creds(m);
}

static void metadata_creds_done_cb(const struct http_response *r, void *userdata) {
        struct metadata *m = userdata;
        struct creds *c = NULL;
        int e;

        m->call = NULL;
        if (r->error == 0 && r->status == 401) {
                /* The token expired (or the service restarted): get a new one, once per attempt. */
                erase_and_free(TAKE_PTR(m->token));
                if (!m->token_fresh) {
                        metadata_fetch(m);
                        return;
                }
        }
        e = metadata_response_errno(r);
        if (e < 0)
                metadata_fail(m, e, "credentials request", r->status);
        else if ((e = metadata_parse_credentials(r->body, r->body_len, &c)) < 0)
                metadata_fail(m, e, "credentials answer", 0);
        else
                metadata_succeed(m, c);
}

static int metadata_timer_cb(sd_event_source *s, uint64_t usec, void *userdata) {
        struct metadata *m = userdata;

        m->timer = sd_event_source_disable_unref(m->timer);
        metadata_fetch(m);
        return 0;
}

int metadata_start(struct metadata *m) {
        int r;

        if (m->started)
                return -EBUSY;
        /* Through the timer, so that the callback always runs from the event loop. */
        r = metadata_schedule(m, CLOCK_MONOTONIC, 0);
        if (r < 0)
                return r;
        m->started = true;
        return 0;
}
