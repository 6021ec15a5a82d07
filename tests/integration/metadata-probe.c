/* Fetches RAM-role credentials through metadata.c in an sd-event loop, optionally uses them. */
#include <getopt.h>
#include <jansson.h>
#include <systemd/sd-event.h>

#include "base/log.h"
#include "base/strutil.h"
#include "io/ecs.h"
#include "io/http.h"
#include "io/metadata.h"
#include "logic/sign.h"

struct probe {
        const char *metadata_endpoint;
        const char *role;
        unsigned token_ttl_sec;         /* 0 = metadata.c's default */
        unsigned rounds;                /* credential deliveries to wait for */
        unsigned timeout_sec;
        const char *region;             /* with ecs: DescribeRegions after each delivery */
        struct ecs_options options;
        sd_event *event;
        struct ecs *ecs;
        unsigned done;
        unsigned failed;                /* API errors and refreshes after expiry */
        uint64_t previous_expiration_usec;
};

static void probe_finish(struct probe *p, int code) {
        (void) sd_event_exit(p->event, code);
}

static void probe_round_done(struct probe *p) {
        if (++p->done == p->rounds)
                probe_finish(p, p->failed > 0);
}

static void probe_api_done_cb(const struct ecs_result *r, void *userdata) {
        struct probe *p = userdata;
        json_t *regions = json_object_get(json_object_get(r->body, "Regions"), "Region");

        if (r->error == 0)
                printf("api ok regions=%zu request_id=%s\n", json_array_size(regions),
                       strempty(r->request_id));
        else {
                printf("api error errno=%d code=%s message=%s\n", -r->error, strempty(r->code),
                       strempty(r->message));
                p->failed++;
        }
        fflush(stdout);
        probe_round_done(p);
}

/* Says how long before the previous credentials' expiry the new ones came. */
static void probe_check_refresh(struct probe *p) {
        uint64_t now = 0, before = p->previous_expiration_usec;

        (void) sd_event_now(p->event, CLOCK_REALTIME, &now);
        if (before == 0)
                return;
        if (now < before)
                printf("refreshed %" PRIu64 " s before expiry\n", (before - now) / USEC_PER_SEC);
        else {
                printf("refreshed %" PRIu64 " s after expiry\n", (now - before) / USEC_PER_SEC);
                p->failed++;
        }
}

static int probe_call_api(struct probe *p) {
        struct params q = {};

        return ecs_call(p->ecs, p->region, "DescribeRegions", &q, probe_api_done_cb, p);
}

static void probe_creds_cb(struct creds *c, int error, void *userdata) {
        struct probe *p = userdata;
        char expires[32] = "?";
        int r;

        if (!c) {
                printf("error errno=%d (%s)\n", -error, strerror(-error));
                fflush(stdout);
                return;
        }
        probe_check_refresh(p);
        p->previous_expiration_usec = c->expiration_usec;
        (void) sign_format_timestamp(c->expiration_usec, expires, sizeof(expires));
        printf("ok %s expires %s\n", c->access_key_id, expires);
        fflush(stdout);
        if (!p->ecs) {
                creds_free(c);
                probe_round_done(p);
                return;
        }
        ecs_set_credentials(p->ecs, c);
        r = probe_call_api(p);
        if (r < 0) {
                log_error_errno(r, "Failed to queue DescribeRegions: %m");
                probe_finish(p, 1);
        }
}

static int probe_timeout_cb(sd_event_source *s, uint64_t usec, void *userdata) {
        printf("timeout\n");
        probe_finish(userdata, 1);
        return 0;
}

static int probe_parse_args(int argc, char **argv, struct probe *p) {
        static const struct option options[] = {
                { "metadata", required_argument, NULL, 'm' },
                { "role", required_argument, NULL, 'r' },
                { "token-ttl", required_argument, NULL, 'T' },
                { "rounds", required_argument, NULL, 'n' },
                { "timeout", required_argument, NULL, 't' },
                { "endpoint", required_argument, NULL, 'e' },
                { "ca", required_argument, NULL, 'c' },
                { "region", required_argument, NULL, 'R' },
                { "debug", no_argument, NULL, 'd' },
                {},
        };
        int c, r = 0;

        while (r >= 0 && (c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 'm': p->metadata_endpoint = optarg; break;
                case 'r': p->role = optarg; break;
                case 'T': r = parse_unsigned(optarg, 1, 21600, &p->token_ttl_sec); break;
                case 'n': r = parse_unsigned(optarg, 1, 1000, &p->rounds); break;
                case 't': r = parse_unsigned(optarg, 1, 86400, &p->timeout_sec); break;
                case 'e': p->options.endpoint = optarg; break;
                case 'c': p->options.ca_file = optarg; break;
                case 'R': p->region = optarg; break;
                case 'd': log_set_max_level(LOG_LEVEL_DEBUG); break;
                default: return -EINVAL;
                }
        if (r < 0 || optind != argc || !p->metadata_endpoint || !p->role)
                return -EINVAL;
        /* --endpoint and --region go together. */
        if (!p->options.endpoint != !p->region)
                return -EINVAL;
        return 0;
}

static int probe_run(struct probe *p) {
        _cleanup_(http_freep) struct http *http = NULL;
        _cleanup_(metadata_freep) struct metadata *m = NULL;
        uint64_t timeout = (uint64_t) p->timeout_sec * USEC_PER_SEC;
        int r;

        if ((r = sd_event_default(&p->event)) < 0 ||
            (r = sd_event_add_time_relative(p->event, NULL, CLOCK_MONOTONIC, timeout, 0, probe_timeout_cb,
                                            p)) < 0 ||
            (r = http_new(p->event, &http)) < 0)
                return log_error_errno(r, "Failed to set up the event loop: %m");
        if (p->options.endpoint && (r = ecs_new(p->event, &p->options, &p->ecs)) < 0)
                return log_error_errno(r, "Failed to set up the ECS client: %m");
        r = metadata_new(p->event, http, p->metadata_endpoint, p->role, probe_creds_cb, p, &m);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the metadata client: %m");
        if (p->token_ttl_sec > 0 && (r = metadata_set_token_ttl(m, p->token_ttl_sec)) < 0)
                return log_error_errno(r, "Bad token TTL: %m");
        r = metadata_start(m);
        if (r < 0)
                return log_error_errno(r, "Failed to start the metadata client: %m");
        return sd_event_loop(p->event);
}

int main(int argc, char **argv) {
        struct probe p = {
                .options = { .max_concurrent = 2, .max_per_second = 10, .timeout_usec = 10 * USEC_PER_SEC,
                             .max_retries = 2 },
                .rounds = 1,
                .timeout_sec = 60,
        };
        int r;

        if (probe_parse_args(argc, argv, &p) < 0) {
                fprintf(stderr,
                        "usage: %s --metadata URL --role ROLE [--token-ttl S] [--rounds N] [--timeout S]\n"
                        "       [--endpoint URL --region R [--ca FILE]] [--debug]\n",
                        argv[0]);
                return 2;
        }
        r = probe_run(&p);
        p.ecs = ecs_free(p.ecs);
        sd_event_unref(p.event);
        if (r < 0)
                return 2;
        return r;
}
