/* Start-up steps shared by keyrevoked and keyrevokectl: loading the config, making the ECS client. */
#include "base/log.h"
#include "daemon/setup.h"
#include "logic/regions.h"

/* A misspelt region in Regions= gets no answer but errors: say so at once. */
static void log_region_problems(const struct conf *c) {
        for (char **r = c->regions; r && *r; r++) {
                char text[256];
                bool typo;

                if (region_problem(*r, text, sizeof(text), &typo))
                        log_internal(typo ? LOG_LEVEL_ERR : LOG_LEVEL_WARNING, 0, "Regions=: %s", text);
        }
}

int setup_load_conf(const char *path, struct conf **ret) {
        struct diags d = {};
        int r = conf_load(path, getenv("STATE_DIRECTORY"), ret, &d);

        for (size_t i = 0; i < d.n; i++) {
                _cleanup_free_ char *s = diag_format(&d.items[i]);
                log_error("%s", strempty(s));
        }
        diags_clear(&d);
        if (r >= 0)
                log_region_problems(*ret);
        return r;
}

int setup_make_ecs(sd_event *event, const struct conf *c, struct ecs **ret) {
        struct ecs_options o = {
                .endpoint = c->endpoint,
                .scaling_endpoint = c->check_launch_sources ? c->scaling_endpoint : NULL,
                .ca_file = c->ca_file,
                .max_concurrent = c->max_concurrent_requests,
                .max_per_second = c->max_requests_per_second,
                .timeout_usec = c->request_timeout_usec,
                .max_retries = c->max_retries,
        };
        int r = ecs_new(event, &o, ret);

        if (r < 0)
                return log_error_errno(r, "Failed to set up the API client for %s (and %s): %m", c->endpoint,
                                       c->scaling_endpoint);
        return 0;
}
