/* Where the ECS credentials come from (static sources or the RAM role), delivered asynchronously. */
#include "base/log.h"
#include "io/credsource.h"
#include "io/http.h"
#include "io/metadata.h"
#include "io/svcuser.h"

struct credsource {
        credsource_cb cb;
        void *userdata;
        struct creds *pending;          /* static credentials waiting for the event loop */
        sd_event_source *defer;
        struct http *http;              /* RAM role only */
        struct metadata *metadata;
};

struct credsource *credsource_free(struct credsource *s) {
        if (!s)
                return NULL;
        sd_event_source_disable_unref(s->defer);
        creds_free(s->pending);
        metadata_free(s->metadata);
        http_free(s->http);
        free(s);
        return NULL;
}

static int deliver_cb(sd_event_source *es, void *userdata) {
        struct credsource *s = userdata;

        s->cb(TAKE_PTR(s->pending), 0, s->userdata);
        return 0;
}

static void metadata_cb(struct creds *c, int error, void *userdata) {
        struct credsource *s = userdata;
        s->cb(c, error, s->userdata);
}

static void log_problems(struct diags *d) {
        for (size_t i = 0; i < d->n; i++) {
                _cleanup_free_ char *s = diag_format(&d->items[i]);
                log_error("%s", strempty(s));
        }
        diags_clear(d);
}

static int start_ram_role(struct credsource *s, sd_event *event, const struct conf *c) {
        int r = http_new(event, &s->http);

        if (r < 0)
                return log_error_errno(r, "Failed to set up HTTP for the metadata service: %m");
        r = metadata_new(event, s->http, c->metadata_endpoint, c->ram_role, metadata_cb, s, &s->metadata);
        if (r < 0)
                return log_error_errno(r, "Invalid RamRole=%s or MetadataEndpoint=%s: %m", c->ram_role,
                                       c->metadata_endpoint);
        log_info("Using credentials of RAM role %s from %s", c->ram_role, c->metadata_endpoint);
        return metadata_start(s->metadata);
}

int credsource_new(sd_event *event, const struct conf *c, credsource_cb cb, void *userdata,
                   struct credsource **ret) {
        _cleanup_(credsource_freep) struct credsource *s = calloc(1, sizeof(*s));
        struct diags d = {};
        const char *source = NULL;
        int r;

        if (!s)
                return -ENOMEM;
        s->cb = cb;
        s->userdata = userdata;
        r = creds_load(c->credentials_file, c->profile, service_user_uid(), &s->pending, &source, &d);
        log_problems(&d);
        if (r == -ENOENT && !isempty(c->ram_role))
                r = start_ram_role(s, event, c);
        else if (r == -ENOENT)
                return log_error_errno(r, "No credentials: set LoadCredential=aliyun:..., CredentialsFile=, "
                                          "RamRole= or ALIBABA_CLOUD_ACCESS_KEY_ID/ALIBABA_CLOUD_ACCESS_KEY_SECRET");
        else if (r < 0)
                return log_error_errno(r, "Failed to load credentials: %m");
        else {
                log_info("Using credentials from %s", source);
                r = sd_event_add_defer(event, &s->defer, deliver_cb, s);
        }
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}
