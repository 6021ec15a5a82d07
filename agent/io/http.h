/* Non-blocking HTTP(S) requests: libcurl's multi interface driven by an sd-event loop. */
#pragma once

#include <systemd/sd-event.h>

#include "base/macro.h"

/* The response cap used when http_request.max_response_bytes is 0. */
#define HTTP_DEFAULT_MAX_RESPONSE_BYTES (1024U * 1024U)

struct http;
struct http_call;

struct http_request {
        const char *method;          /* "GET", "POST" or "PUT" */
        const char *url;
        const char *body;            /* POST/PUT body, or NULL */
        const char *content_type;    /* of body, or NULL */
        const char *const *headers;  /* extra "Name: value" lines, NULL-terminated, or NULL */
        const char *ca_file;         /* PEM bundle replacing the system store, or NULL */
        bool allow_http;             /* plain http too (the metadata service); else https only */
        uint64_t timeout_usec;       /* whole transfer; 0 = none */
        size_t max_response_bytes;   /* a larger body fails the call with -EMSGSIZE */
};

struct http_response {
        int error;                   /* 0, or negative errno for a transport failure */
        const char *error_text;      /* libcurl's description when error != 0 */
        long status;                 /* HTTP status, 0 when no response */
        const char *body;            /* NUL-terminated, never NULL */
        size_t body_len;
        const char *request_id;      /* x-acs-request-id header, or NULL */
};

/* Called once per submitted call from the event loop (never from inside http_submit); the
 * response is only valid during the call. */
typedef void (*http_done_cb)(const struct http_response *r, void *userdata);

int http_new(sd_event *event, struct http **ret);

/* Aborts calls still in flight without calling their callbacks. Accepts NULL. May be called
 * from inside a callback (the rest is then released when the callback returns). */
struct http *http_free(struct http *h);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct http *, http_free);

/* Starts a call; all strings in req are copied. ret_call may be NULL. A body is never sent twice:
 * when a reused connection dies after it went out, the call fails with -ECONNRESET instead of
 * libcurl silently resending it. */
int http_submit(struct http *h, const struct http_request *req, http_done_cb cb, void *userdata,
                struct http_call **ret_call);

/* Aborts one call; its callback is not called. */
void http_cancel(struct http_call *c);

/* Calls currently in flight. */
unsigned http_in_flight(const struct http *h);
