/* Start-up steps shared by keyrevoked and keyrevokectl: loading the config, making the ECS client. */
#include "creds.h"
#include "log.h"
#include "setup.h"

static void log_diags(struct diags *d) {
        for (size_t i = 0; i < d->n; i++) {
                _cleanup_free_ char *s = diag_format(&d->items[i]);
                log_error("%s", strempty(s));
        }
        diags_clear(d);
}

int setup_load_conf(const char *path, struct conf **ret) {
        struct diags d = {};
        int r = conf_load(path, getenv("STATE_DIRECTORY"), ret, &d);

        log_diags(&d);
        return r;
}

static int load_creds(const struct conf *c, struct creds **ret) {
        struct diags d = {};
        const char *source = NULL;
        int r = creds_load(c->credentials_file, c->profile, getuid(), ret, &source, &d);

        log_diags(&d);
        if (r == -ENOENT)
                return log_error_errno(r, "No credentials: set LoadCredential=aliyun:..., CredentialsFile= "
                                          "or ALIBABA_CLOUD_ACCESS_KEY_ID/ALIBABA_CLOUD_ACCESS_KEY_SECRET");
        if (r < 0)
                return log_error_errno(r, "Failed to load credentials: %m");
        log_info("Using credentials from %s", source);
        return 0;
}

int setup_make_ecs(sd_event *event, const struct conf *c, struct ecs **ret) {
        struct ecs_options o = {
                .endpoint = c->endpoint,
                .ca_file = c->ca_file,
                .max_concurrent = c->max_concurrent_requests,
                .max_per_second = c->max_requests_per_second,
                .timeout_usec = c->request_timeout_usec,
                .max_retries = c->max_retries,
        };
        _cleanup_(creds_freep) struct creds *creds = NULL;
        _cleanup_(ecs_freep) struct ecs *e = NULL;
        int r;

        r = load_creds(c, &creds);
        if (r < 0)
                return r;
        r = ecs_new(event, &o, &e);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the ECS client for %s: %m", c->endpoint);
        ecs_set_credentials(e, TAKE_PTR(creds));
        *ret = TAKE_PTR(e);
        return 0;
}
