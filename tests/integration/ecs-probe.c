/* Sends ECS API calls through ecs.c in an sd-event loop and prints each answer or error. */
#include <getopt.h>
#include <jansson.h>
#include <systemd/sd-event.h>
#include <time.h>

#include "base/log.h"
#include "base/strutil.h"
#include "io/creds.h"
#include "io/ecs.h"

#define PROBE_MAX_PARAMS 64

struct probe {
        struct ecs_options options;
        const char *region;
        const char *action;
        const char *params[PROBE_MAX_PARAMS];
        size_t n_params;
        unsigned count;
        unsigned done;
        unsigned failed;
        sd_event *event;
};

static void probe_print_result(const struct ecs_result *r) {
        _cleanup_free_ char *text = NULL;

        if (r->error == 0) {
                text = json_dumps(r->body, JSON_COMPACT | JSON_SORT_KEYS);
                printf("ok attempts=%u status=%ld request_id=%s %s\n", r->attempts, r->http_status,
                       strempty(r->request_id), strempty(text));
                return;
        }
        printf("error errno=%d (%s) code=%s message=%s request_id=%s status=%ld attempts=%u\n",
               -r->error, strerror(-r->error), strempty(r->code), strempty(r->message),
               strempty(r->request_id), r->http_status, r->attempts);
}

static void probe_done_cb(const struct ecs_result *r, void *userdata) {
        struct probe *p = userdata;

        probe_print_result(r);
        if (r->error < 0)
                p->failed++;
        if (++p->done == p->count)
                (void) sd_event_exit(p->event, 0);
}

static int probe_build_params(const struct probe *p, struct params *ret) {
        _cleanup_(params_done) struct params q = {};

        for (size_t i = 0; i < p->n_params; i++) {
                _cleanup_free_ char *name = strdup(p->params[i]);
                char *eq;
                int r;

                if (!name)
                        return -ENOMEM;
                eq = strchr(name, '=');
                if (!eq)
                        return -EINVAL;
                *eq = '\0';
                r = params_add(&q, name, eq + 1);
                if (r < 0)
                        return r;
        }
        *ret = q;
        q = (struct params) {};
        return 0;
}

static int probe_credentials(struct creds **ret) {
        const char *id = getenv("ALIBABA_CLOUD_ACCESS_KEY_ID");
        const char *secret = getenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET");
        const char *token = getenv("ALIBABA_CLOUD_SECURITY_TOKEN");
        _cleanup_(creds_freep) struct creds *c = NULL;

        if (isempty(id) || isempty(secret))
                return -ENOKEY;
        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->access_key_id = strdup(id);
        c->access_key_secret = strdup(secret);
        c->security_token = isempty(token) ? NULL : strdup(token);
        if (!c->access_key_id || !c->access_key_secret || (!isempty(token) && !c->security_token))
                return -ENOMEM;
        *ret = TAKE_PTR(c);
        return 0;
}

static int probe_parse_number(const char *s, unsigned *ret) {
        return parse_unsigned(s, 0, 1000000, ret);
}

static const struct option probe_options[] = {
        { "endpoint", required_argument, NULL, 'e' },
        { "ca", required_argument, NULL, 'c' },
        { "region", required_argument, NULL, 'r' },
        { "action", required_argument, NULL, 'a' },
        { "param", required_argument, NULL, 'p' },
        { "count", required_argument, NULL, 'n' },
        { "max-concurrent", required_argument, NULL, 'j' },
        { "max-per-second", required_argument, NULL, 's' },
        { "timeout-ms", required_argument, NULL, 't' },
        { "retries", required_argument, NULL, 'R' },
        { "debug", no_argument, NULL, 'd' },
        {},
};

static int probe_parse_args(int argc, char **argv, struct probe *p) {
        unsigned ms = 10000;
        int c, r = 0;

        while (r >= 0 && (c = getopt_long(argc, argv, "", probe_options, NULL)) >= 0)
                switch (c) {
                case 'e':
                        p->options.endpoint = optarg;
                        break;
                case 'c':
                        p->options.ca_file = optarg;
                        break;
                case 'r':
                        p->region = optarg;
                        break;
                case 'a':
                        p->action = optarg;
                        break;
                case 'p':
                        if (p->n_params == PROBE_MAX_PARAMS)
                                return -E2BIG;
                        p->params[p->n_params++] = optarg;
                        break;
                case 'n':
                        r = probe_parse_number(optarg, &p->count);
                        break;
                case 'j':
                        r = probe_parse_number(optarg, &p->options.max_concurrent);
                        break;
                case 's':
                        r = probe_parse_number(optarg, &p->options.max_per_second);
                        break;
                case 't':
                        r = probe_parse_number(optarg, &ms);
                        break;
                case 'R':
                        r = probe_parse_number(optarg, &p->options.max_retries);
                        break;
                case 'd':
                        log_set_max_level(LOG_LEVEL_DEBUG);
                        break;
                default:
                        return -EINVAL;
                }
        p->options.timeout_usec = ms * USEC_PER_MSEC;
        if (r < 0 || optind != argc || !p->options.endpoint || !p->region || !p->action)
                return -EINVAL;
        if (p->count == 0)
                return -EINVAL;
        return 0;
}

static int probe_queue_calls(struct probe *p, struct ecs *e) {
        for (unsigned i = 0; i < p->count; i++) {
                struct params q = {};
                int r;

                r = probe_build_params(p, &q);
                if (r < 0)
                        return r;
                r = ecs_call(e, p->region, p->action, &q, probe_done_cb, p);
                if (r < 0)
                        return r;
        }
        return 0;
}

static double probe_now_sec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static int probe_run(struct probe *p) {
        _cleanup_(ecs_freep) struct ecs *e = NULL;
        struct creds *c = NULL;
        const struct ecs_stats *st;
        double start = probe_now_sec();
        int r;

        r = sd_event_default(&p->event);
        if (r < 0)
                return log_error_errno(r, "Failed to get an event loop: %m");
        r = probe_credentials(&c);
        if (r < 0)
                return log_error_errno(r, "Failed to read ALIBABA_CLOUD_ACCESS_KEY_ID/SECRET: %m");
        r = ecs_new(p->event, &p->options, &e);
        if (r < 0) {
                creds_free(c);
                return log_error_errno(r, "Failed to set up the ECS client: %m");
        }
        ecs_set_credentials(e, c);
        r = probe_queue_calls(p, e);
        if (r < 0)
                return log_error_errno(r, "Failed to queue a call: %m");
        r = sd_event_loop(p->event);
        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m");
        st = ecs_get_stats(e);
        fprintf(stderr, "calls=%lu retries=%lu throttled=%lu errors=%lu elapsed=%.3f\n", st->calls,
                st->retries, st->throttled, st->errors, probe_now_sec() - start);
        return 0;
}

int main(int argc, char **argv) {
        struct probe p = {
                .options = { .max_concurrent = 8, .max_per_second = 20, .max_retries = 5 },
                .count = 1,
        };
        int r;

        if (probe_parse_args(argc, argv, &p) < 0) {
                fprintf(stderr,
                        "usage: %s --endpoint URL [--ca FILE] --region R --action A\n"
                        "       [--param K=V]... [--count N] [--max-concurrent N]\n"
                        "       [--max-per-second N] [--timeout-ms N] [--retries N] [--debug]\n"
                        "Credentials come from ALIBABA_CLOUD_ACCESS_KEY_ID/_SECRET\n"
                        "(and ALIBABA_CLOUD_SECURITY_TOKEN).\n",
                        argv[0]);
                return 2;
        }
        r = probe_run(&p);
        sd_event_unref(p.event);
        if (r < 0)
                return 2;
        return p.failed > 0 ? 1 : 0;
}
