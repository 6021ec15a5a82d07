/* Non-blocking HTTP(S): one libcurl multi handle whose sockets and timer live in sd-event. */
#include <ctype.h>
#include <curl/curl.h>
#include <limits.h>
#include <strings.h>
#include <sys/epoll.h>

#include "base/list.h"
#include "io/http.h"

#define HTTP_CONNECT_TIMEOUT_MS 5000L
#define HTTP_MAX_HOST_CONNECTIONS 16L
#define HTTP_MAX_CACHED_CONNECTIONS 32L
#define HTTP_MAX_HEADERS 32U
#define HTTP_REQUEST_ID_MAX 128U
#define HTTP_BUFFER_MIN 4096U
#define HTTP_TIMER_ACCURACY_USEC USEC_PER_MSEC
#define HTTP_USER_AGENT "keyrevoke"

/* Debian's libcurl4 links librtmp, which links GnuTLS, whose library constructor initialises
 * itself at load time (ASN.1 tables, PKCS#11 through p11-kit: about 0.7 MiB of resident memory and
 * a round of file reads at every start) although nothing in this process uses it: libcurl speaks
 * TLS through OpenSSL and is limited to HTTPS. Defining this function in the program is GnuTLS's
 * documented opt-out (GNUTLS_SKIP_GLOBAL_INIT in <gnutls/gnutls.h>); a library that does use
 * GnuTLS still initialises it explicitly with gnutls_global_init(). */
int _gnutls_global_init_skip(void);
int _gnutls_global_init_skip(void) {
        return 1;
}

struct http_socket {
        struct http *http;
        sd_event_source *source;
        struct http_socket *prev, *next;
};

struct http_call {
        struct http *http;
        CURL *easy;
        struct curl_slist *headers;
        char *body;                     /* our copy of the request body: may hold secrets */
        size_t body_size, body_sent;
        char *buf;                      /* the response body, NUL-terminated */
        size_t len, allocated, max;
        bool too_big;
        char request_id[HTTP_REQUEST_ID_MAX + 1];
        char error[CURL_ERROR_SIZE];
        http_done_cb cb;
        void *userdata;
        struct http_call *prev, *next;
};

struct http {
        sd_event *event;
        CURLM *multi;
        sd_event_source *timer;
        struct http_call *calls;
        struct http_socket *sockets;
        unsigned n_calls;
        bool dispatching;               /* inside curl_multi_socket_action() or completions */
        bool freed;                     /* http_free() was called while dispatching */
};

/* The only place where libcurl transfer results become errno values. */
static int http_errno_from_curl(CURLcode code, bool too_big) {
        switch (code) {
        case CURLE_OK:
                return 0;
        case CURLE_OPERATION_TIMEDOUT:
                return -ETIMEDOUT;
        case CURLE_COULDNT_CONNECT:
                return -ECONNREFUSED;
        case CURLE_SEND_ERROR:
        case CURLE_SEND_FAIL_REWIND:    /* a reused connection died; see http_read_cb() */
        case CURLE_RECV_ERROR:
        case CURLE_GOT_NOTHING:
        case CURLE_PARTIAL_FILE:
        case CURLE_HTTP2:
        case CURLE_HTTP2_STREAM:
                return -ECONNRESET;
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_SSL_CIPHER:
        case CURLE_SSL_SHUTDOWN_FAILED:
                return -EPROTO;
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_ISSUER_ERROR:
        case CURLE_SSL_CRL_BADFILE:
        case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
        case CURLE_SSL_INVALIDCERTSTATUS:
                return -EBADE;
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
                return -EHOSTUNREACH;
        case CURLE_FILESIZE_EXCEEDED:
                return -EMSGSIZE;
        case CURLE_WRITE_ERROR:
                return too_big ? -EMSGSIZE : -EIO;
        case CURLE_OUT_OF_MEMORY:
                return -ENOMEM;
        case CURLE_UNSUPPORTED_PROTOCOL:
        case CURLE_URL_MALFORMAT:
        case CURLE_BAD_FUNCTION_ARGUMENT:
        case CURLE_UNKNOWN_OPTION:
                return -EINVAL;
        default:
                return -EIO;
        }
}

static int http_errno_from_curlm(CURLMcode code) {
        switch (code) {
        case CURLM_OK:
                return 0;
        case CURLM_OUT_OF_MEMORY:
                return -ENOMEM;
        case CURLM_BAD_HANDLE:
        case CURLM_BAD_EASY_HANDLE:
        case CURLM_ADDED_ALREADY:
        case CURLM_UNKNOWN_OPTION:
                return -EINVAL;
        default:
                return -EIO;
        }
}

static void http_wipe_free(char *p, size_t size) {
        if (!p)
                return;
        explicit_bzero(p, size);
        free(p);
}

static struct http_call *http_call_free(struct http_call *c) {
        if (!c)
                return NULL;
        if (c->easy)
                curl_easy_cleanup(c->easy);
        /* Header lines may carry a token (metadata service). */
        for (struct curl_slist *l = c->headers; l; l = l->next)
                explicit_bzero(l->data, strlen(l->data));
        curl_slist_free_all(c->headers);
        http_wipe_free(c->body, c->body_size);
        http_wipe_free(c->buf, c->allocated);
        free(c);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(struct http_call *, http_call_free);

/* Grows the response buffer by copying, so that no unwiped copy of a secret stays behind. */
static int http_call_reserve(struct http_call *c, size_t need) {
        size_t a;
        char *n;

        if (need <= c->allocated)
                return 0;
        a = c->allocated > HTTP_BUFFER_MIN ? c->allocated : HTTP_BUFFER_MIN;
        while (a < need)
                a = a > SIZE_MAX / 2 ? need : a * 2;
        if (a > c->max + 1)
                a = c->max + 1;
        n = malloc(a);
        if (!n)
                return -ENOMEM;
        if (c->buf)
                memcpy(n, c->buf, c->len + 1);
        http_wipe_free(c->buf, c->allocated);
        c->buf = n;
        c->allocated = a;
        return 0;
}

static size_t http_write_cb(char *ptr, size_t size, size_t nmemb, void *userdata) {
        struct http_call *c = userdata;
        size_t n = size * nmemb;

        if (n > c->max - c->len) {
                c->too_big = true;
                return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
        }
        if (http_call_reserve(c, c->len + n + 1) < 0)
                return 0;
        memcpy(c->buf + c->len, ptr, n);
        c->len += n;
        c->buf[c->len] = '\0';
        return n;
}

/* Keeps the value of an x-acs-request-id header when it is short and printable. */
static void http_call_set_request_id(struct http_call *c, const char *v, size_t n) {
        while (n > 0 && isspace((unsigned char) *v)) {
                v++;
                n--;
        }
        while (n > 0 && isspace((unsigned char) v[n - 1]))
                n--;
        if (n == 0 || n > HTTP_REQUEST_ID_MAX)
                return;
        for (size_t i = 0; i < n; i++)
                if (v[i] <= ' ' || v[i] > '~')
                        return;
        memcpy(c->request_id, v, n);
        c->request_id[n] = '\0';
}

static size_t http_header_cb(char *ptr, size_t size, size_t nitems, void *userdata) {
        static const char name[] = "x-acs-request-id:";
        struct http_call *c = userdata;
        size_t n = size * nitems;

        if (n >= sizeof(name) - 1 && strncasecmp(ptr, name, sizeof(name) - 1) == 0)
                http_call_set_request_id(c, ptr + sizeof(name) - 1, n - (sizeof(name) - 1));
        return n;
}

static int http_call_add_header(struct http_call *c, const char *line) {
        struct curl_slist *l;

        if (strpbrk(line, "\r\n") || !strchr(line, ':'))
                return -EINVAL;
        l = curl_slist_append(c->headers, line);
        if (!l)
                return -ENOMEM;
        c->headers = l;
        return 0;
}

static int http_call_build_headers(struct http_call *c, const struct http_request *req) {
        _cleanup_free_ char *ct = NULL;
        size_t n = 0;
        int r;

        /* No "Expect: 100-continue" round trip for larger bodies. */
        r = http_call_add_header(c, "Expect:");
        if (r < 0)
                return r;
        /* Without a content type, "Content-Type:" drops the one libcurl would add for a body. */
        if (asprintf(&ct, "Content-Type:%s%s", req->content_type ? " " : "",
                     strempty(req->content_type)) < 0)
                return -ENOMEM;
        r = http_call_add_header(c, ct);
        if (r < 0)
                return r;
        for (const char *const *h = req->headers; h && *h; h++) {
                if (++n > HTTP_MAX_HEADERS)
                        return -E2BIG;
                r = http_call_add_header(c, *h);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Feeds the body. There is deliberately no seek callback: when a reused connection dies after
 * the body went out, libcurl would silently send it again on a new one (a duplicate nonce for
 * ECS, or a second RebootInstance); failing to rewind makes the call fail instead. */
static size_t http_read_cb(char *buf, size_t size, size_t nitems, void *userdata) {
        struct http_call *c = userdata;
        size_t n = size * nitems;

        if (n > c->body_size - c->body_sent)
                n = c->body_size - c->body_sent;
        memcpy(buf, c->body + c->body_sent, n);
        c->body_sent += n;
        return n;
}

static int http_call_set_method(struct http_call *c, const struct http_request *req) {
        bool put = streq(req->method, "PUT");
        CURL *x = c->easy;
        CURLcode e;

        if (streq(req->method, "GET")) {
                if (req->body)
                        return -EINVAL;
                return http_errno_from_curl(curl_easy_setopt(x, CURLOPT_HTTPGET, 1L), false);
        }
        if (!put && !streq(req->method, "POST"))
                return -EINVAL;
        c->body_size = req->body ? strlen(req->body) : 0;
        c->body = strdup(strempty(req->body));
        if (!c->body)
                return -ENOMEM;
        if ((e = curl_easy_setopt(x, CURLOPT_POST, 1L)) ||
            (e = curl_easy_setopt(x, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) c->body_size)) ||
            (e = curl_easy_setopt(x, CURLOPT_READFUNCTION, http_read_cb)) ||
            (e = curl_easy_setopt(x, CURLOPT_READDATA, c)) ||
            (put && (e = curl_easy_setopt(x, CURLOPT_CUSTOMREQUEST, "PUT"))))
                return http_errno_from_curl(e, false);
        return 0;
}

static long http_timeout_ms(uint64_t usec) {
        if (usec == 0)
                return 0;
        if (usec / USEC_PER_MSEC >= (uint64_t) LONG_MAX)
                return LONG_MAX;
        return usec < USEC_PER_MSEC ? 1 : (long) (usec / USEC_PER_MSEC);
}

/* CAFile= replaces the system store: libcurl's built-in CA path (Debian: /etc/ssl/certs) would
 * otherwise still be searched next to the bundle. */
static int http_call_set_trust(struct http_call *c, const struct http_request *req) {
        CURLcode e;

        if (!req->ca_file)
                return 0;
        if ((e = curl_easy_setopt(c->easy, CURLOPT_CAINFO, req->ca_file)) ||
            (e = curl_easy_setopt(c->easy, CURLOPT_CAPATH, NULL)))
                return http_errno_from_curl(e, false);
        return 0;
}

static int http_call_set_options(struct http_call *c, const struct http_request *req) {
        const char *protocols = req->allow_http ? "https,http" : "https";
        CURL *x = c->easy;
        CURLcode e;
        int r;

        if ((e = curl_easy_setopt(x, CURLOPT_PRIVATE, c)) ||
            (e = curl_easy_setopt(x, CURLOPT_URL, req->url)) ||
            (e = curl_easy_setopt(x, CURLOPT_PROTOCOLS_STR, protocols)) ||
            (e = curl_easy_setopt(x, CURLOPT_REDIR_PROTOCOLS_STR, protocols)) ||
            (e = curl_easy_setopt(x, CURLOPT_NOSIGNAL, 1L)) ||
            (e = curl_easy_setopt(x, CURLOPT_TIMEOUT_MS, http_timeout_ms(req->timeout_usec))) ||
            (e = curl_easy_setopt(x, CURLOPT_CONNECTTIMEOUT_MS, HTTP_CONNECT_TIMEOUT_MS)) ||
            (e = curl_easy_setopt(x, CURLOPT_FOLLOWLOCATION, 0L)) ||
            (e = curl_easy_setopt(x, CURLOPT_SSLVERSION, (long) CURL_SSLVERSION_TLSv1_2)) ||
            (e = curl_easy_setopt(x, CURLOPT_USERAGENT, HTTP_USER_AGENT)) ||
            (e = curl_easy_setopt(x, CURLOPT_ERRORBUFFER, c->error)) ||
            (e = curl_easy_setopt(x, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) c->max)) ||
            (e = curl_easy_setopt(x, CURLOPT_WRITEFUNCTION, http_write_cb)) ||
            (e = curl_easy_setopt(x, CURLOPT_WRITEDATA, c)) ||
            (e = curl_easy_setopt(x, CURLOPT_HEADERFUNCTION, http_header_cb)) ||
            (e = curl_easy_setopt(x, CURLOPT_HEADERDATA, c)) ||
            (e = curl_easy_setopt(x, CURLOPT_HTTPHEADER, c->headers)))
                return http_errno_from_curl(e, false);
        r = http_call_set_trust(c, req);
        if (r < 0)
                return r;
        return http_call_set_method(c, req);
}

static int http_call_new(const struct http_request *req, http_done_cb cb, void *userdata,
                         struct http_call **ret) {
        _cleanup_(http_call_freep) struct http_call *c = NULL;
        int r;

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->cb = cb;
        c->userdata = userdata;
        c->max = req->max_response_bytes;
        if (c->max == 0)
                c->max = HTTP_DEFAULT_MAX_RESPONSE_BYTES;
        c->easy = curl_easy_init();
        if (!c->easy)
                return -ENOMEM;
        r = http_call_build_headers(c, req);
        if (r < 0)
                return r;
        r = http_call_set_options(c, req);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(c);
        return 0;
}

/* Takes c out of the multi handle and the list; never called from inside a libcurl callback. */
static void http_call_unlink(struct http_call *c) {
        struct http *h = c->http;

        (void) curl_multi_remove_handle(h->multi, c->easy);
        LIST_REMOVE(h->calls, c);
        h->n_calls--;
}

static void http_call_complete(struct http_call *c, CURLcode result) {
        struct http_response r = {
                .body = c->buf ? c->buf : "",
                .body_len = c->len,
                .request_id = c->request_id[0] ? c->request_id : NULL,
        };

        (void) curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &r.status);
        r.error = http_errno_from_curl(result, c->too_big);
        if (r.error == -EMSGSIZE)
                r.error_text = "response body too large";
        else if (r.error < 0)
                r.error_text = c->error[0] ? c->error : curl_easy_strerror(result);
        http_call_unlink(c);
        c->cb(&r, c->userdata);
        http_call_free(c);
}

static void http_socket_free(struct http_socket *s) {
        struct http *h = s->http;

        (void) sd_event_source_disable_unref(s->source);
        LIST_REMOVE(h->sockets, s);
        free(s);
}

static void http_destroy(struct http *h) {
        /* Closing cached connections may still call http_curl_socket_cb(), so this goes first. */
        if (h->multi)
                (void) curl_multi_cleanup(h->multi);
        while (h->sockets)
                http_socket_free(h->sockets);
        (void) sd_event_source_disable_unref(h->timer);
        sd_event_unref(h->event);
        free(h);
        curl_global_cleanup();
}

/* Lets libcurl act on a socket or its timeout, then completes the finished calls. */
static void http_dispatch(struct http *h, curl_socket_t fd, int flags) {
        CURLMsg *m;
        int running, left;

        h->dispatching = true;
        (void) curl_multi_socket_action(h->multi, fd, flags, &running);
        while (!h->freed && (m = curl_multi_info_read(h->multi, &left))) {
                char *c = NULL;

                if (m->msg != CURLMSG_DONE)
                        continue;
                (void) curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &c);
                http_call_complete((struct http_call *) c, m->data.result);
        }
        h->dispatching = false;
        if (h->freed)
                http_destroy(h);
}

static int http_io_cb(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        int flags = 0;

        if (revents & EPOLLIN)
                flags |= CURL_CSELECT_IN;
        if (revents & EPOLLOUT)
                flags |= CURL_CSELECT_OUT;
        if (revents & (EPOLLERR | EPOLLHUP))
                flags |= CURL_CSELECT_ERR;
        http_dispatch(userdata, fd, flags);
        return 0;
}

static int http_timer_cb(sd_event_source *s, uint64_t usec, void *userdata) {
        http_dispatch(userdata, CURL_SOCKET_TIMEOUT, 0);
        return 0;
}

static int http_socket_new(struct http *h, curl_socket_t fd, uint32_t events) {
        struct http_socket *s;
        int r;

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        r = sd_event_add_io(h->event, &s->source, fd, events, http_io_cb, h);
        if (r < 0) {
                free(s);
                return r;
        }
        s->http = h;
        LIST_PREPEND(h->sockets, s);
        r = http_errno_from_curlm(curl_multi_assign(h->multi, fd, s));
        if (r < 0)
                http_socket_free(s);
        return r;
}

/* CURLMOPT_SOCKETFUNCTION: watch what libcurl asks for on fd. */
static int http_curl_socket_cb(CURL *easy, curl_socket_t fd, int what, void *userdata,
                               void *socketp) {
        struct http_socket *s = socketp;
        uint32_t events = 0;

        if (what == CURL_POLL_REMOVE) {
                if (s)
                        http_socket_free(s);
                return 0;
        }
        if (what & CURL_POLL_IN)
                events |= EPOLLIN;
        if (what & CURL_POLL_OUT)
                events |= EPOLLOUT;
        if (s)
                return sd_event_source_set_io_events(s->source, events) < 0 ? -1 : 0;
        return http_socket_new(userdata, fd, events) < 0 ? -1 : 0;
}

/* CURLMOPT_TIMERFUNCTION: one monotonic timer; -1 disarms it, 0 means "as soon as possible". */
static int http_curl_timer_cb(CURLM *multi, long timeout_ms, void *userdata) {
        struct http *h = userdata;
        uint64_t now;

        if (timeout_ms < 0)
                return sd_event_source_set_enabled(h->timer, SD_EVENT_OFF) < 0 ? -1 : 0;
        if (sd_event_now(h->event, CLOCK_MONOTONIC, &now) < 0 ||
            sd_event_source_set_time(h->timer, now + (uint64_t) timeout_ms * USEC_PER_MSEC) < 0 ||
            sd_event_source_set_enabled(h->timer, SD_EVENT_ONESHOT) < 0)
                return -1;
        return 0;
}

static int http_setup_multi(struct http *h) {
        CURLM *x;
        CURLMcode m;

        x = h->multi = curl_multi_init();
        if (!x)
                return -ENOMEM;
        if ((m = curl_multi_setopt(x, CURLMOPT_SOCKETFUNCTION, http_curl_socket_cb)) ||
            (m = curl_multi_setopt(x, CURLMOPT_SOCKETDATA, h)) ||
            (m = curl_multi_setopt(x, CURLMOPT_TIMERFUNCTION, http_curl_timer_cb)) ||
            (m = curl_multi_setopt(x, CURLMOPT_TIMERDATA, h)) ||
            (m = curl_multi_setopt(x, CURLMOPT_MAX_HOST_CONNECTIONS, HTTP_MAX_HOST_CONNECTIONS)) ||
            (m = curl_multi_setopt(x, CURLMOPT_MAXCONNECTS, HTTP_MAX_CACHED_CONNECTIONS)))
                return http_errno_from_curlm(m);
        return 0;
}

int http_new(sd_event *event, struct http **ret) {
        _cleanup_(http_freep) struct http *h = NULL;
        int r;

        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                return -EIO;
        h = calloc(1, sizeof(*h));
        if (!h) {
                curl_global_cleanup();
                return -ENOMEM;
        }
        h->event = sd_event_ref(event);
        r = sd_event_add_time(event, &h->timer, CLOCK_MONOTONIC, 0, HTTP_TIMER_ACCURACY_USEC,
                              http_timer_cb, h);
        if (r < 0)
                return r;
        r = sd_event_source_set_enabled(h->timer, SD_EVENT_OFF);
        if (r < 0)
                return r;
        r = http_setup_multi(h);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(h);
        return 0;
}

struct http *http_free(struct http *h) {
        if (!h)
                return NULL;
        while (h->calls)
                http_cancel(h->calls);
        if (h->dispatching)
                h->freed = true; /* http_dispatch() finishes the job */
        else
                http_destroy(h);
        return NULL;
}

int http_submit(struct http *h, const struct http_request *req, http_done_cb cb, void *userdata,
                struct http_call **ret_call) {
        _cleanup_(http_call_freep) struct http_call *c = NULL;
        CURLMcode m;
        int r;

        if (!h || h->freed || !req || !req->method || !req->url || !cb)
                return -EINVAL;
        r = http_call_new(req, cb, userdata, &c);
        if (r < 0)
                return r;
        /* Arms the curl timer at 0: the transfer starts, and can only end, in the event loop. */
        m = curl_multi_add_handle(h->multi, c->easy);
        if (m != CURLM_OK)
                return http_errno_from_curlm(m);
        c->http = h;
        LIST_PREPEND(h->calls, c);
        h->n_calls++;
        if (ret_call)
                *ret_call = c;
        TAKE_PTR(c);
        return 0;
}

void http_cancel(struct http_call *c) {
        if (!c)
                return;
        http_call_unlink(c);
        http_call_free(c);
}

unsigned http_in_flight(const struct http *h) {
        return h ? h->n_calls : 0;
}
