/* keyrevoked --check-config: what the service will load, judged as the service will find it. */
#include <libgen.h>
#include <limits.h>

#include "base/log.h"
#include "daemon/agent.h"
#include "daemon/checkconfig.h"
#include "io/creds.h"
#include "io/lists.h"
#include "io/svcuser.h"
#include "logic/conf.h"
#include "logic/regions.h"
#include "logic/sandbox.h"

struct checks {
        const char *config_path;
        struct diags problems;
        struct diags warnings;  /* do not change the exit status */
};

/* Regions=: a misspelling is a problem, a name far from every known region a warning (lists get
 * the same check from lists_load()). */
static void check_regions(struct checks *k, const struct conf *c) {
        for (char **r = c->regions; r && *r; r++) {
                char text[256];
                bool typo;

                if (region_problem(*r, text, sizeof(text), &typo))
                                diags_add(typo ? &k->problems : &k->warnings, k->config_path, 0, "%sRegions=: %s",
                                  typo ? "" : "warning: ", text);
        }
}

/* path with symlinks resolved, as far as it exists (a MetricsFile= may not exist yet). */
static char *resolve(const char *path) {
        _cleanup_free_ char *copy = strdup(path), *parent = NULL;
        char *resolved = realpath(path, NULL);

        if (resolved || !copy)
                return resolved;
        parent = realpath(dirname(copy), NULL);
        if (!parent || asprintf(&resolved, "%s/%s", parent, basename((char *) path)) < 0)
                return strdup(path);
        return resolved;
}

/* A file or directory the service must open: hidden from it by the unit's sandbox? */
static void check_visible(struct checks *k, const char *key, const char *path) {
        _cleanup_free_ char *resolved = NULL;
        const char *setting, *top;

        if (isempty(path))
                return;
        resolved = resolve(path);
        setting = sandbox_hidden_by(resolved ? resolved : path, &top);
        if (setting)
                diags_add(&k->problems, k->config_path, 0,
                          "%s=%s: the service cannot see it: keyrevoked.service's sandbox hides %s (%s); "
                          "put it under %s/keyrevoke, for example",
                          key, path, top, setting, SYSCONFDIR);
}

static void check_sandbox(struct checks *k, const struct conf *c) {
        check_visible(k, "CAFile", c->ca_file);
        check_visible(k, "CredentialsFile", c->credentials_file);
        check_visible(k, "RevocationDirectory", c->revocation_directory);
        check_visible(k, "MetricsFile", c->metrics_file);
}

static void check_credentials(struct checks *k, const struct conf *c) {
        _cleanup_(creds_freep) struct creds *creds = NULL;
        const char *source;

        if (creds_load(c->credentials_file, c->profile, service_user_uid(), &creds, &source, &k->problems) == -ENOENT &&
            isempty(c->ram_role))
                diags_add(&k->problems, k->config_path, 0,
                          "no credentials source: set CredentialsFile=, RamRole=, LoadCredential=aliyun:... "
                          "(or create %s) or ALIBABA_CLOUD_ACCESS_KEY_*", UNIT_CREDENTIAL_FILE);
}

static void check_reboots(struct checks *k, const struct conf *c) {
        if (c->reboot_enabled && window_set_is_empty(&c->windows))
                diags_add(&k->warnings, k->config_path, 0,
                          "warning: [Reboot] Enabled=yes and no Window=: detached instances are queued but never rebooted "
                          "(set Window=, or Enabled=no)");
}

static void print_diags(struct diags *d, FILE *f) {
        for (size_t i = 0; i < d->n; i++) {
                _cleanup_free_ char *s = diag_format(&d->items[i]);
                fprintf(f, "%s\n", strempty(s));
        }
        diags_clear(d);
}

int check_config(const char *config_path) {
        _cleanup_(conf_freep) struct conf *c = NULL;
        struct checks k = { .config_path = config_path };
        struct lists l = {};
        int r;

        if (conf_load(config_path, getenv("STATE_DIRECTORY"), &c, &k.problems) >= 0) {
                check_credentials(&k, c);
                if (lists_load(c->revocation_directory, service_user_uid(), false, &l, &k.problems) >= 0)
                        lists_done(&l);
                check_regions(&k, c);
                /* Only the service's own configuration runs in its sandbox. */
                if (streq(config_path, CONF_DEFAULT_PATH))
                        check_sandbox(&k, c);
                check_reboots(&k, c);
        }
        r = k.problems.n > 0 ? AGENT_EXIT_CONFIG : AGENT_EXIT_OK;
        print_diags(&k.problems, stdout);
        print_diags(&k.warnings, stderr);
        return r;
}
