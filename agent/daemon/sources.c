/* Launch sources: each pass lists a region's launch templates (every version) and Auto Scaling
 * configurations and reports those that name one of its revoked key pairs (SPEC.md
 * "Re-introduction") or carry one of its revoked public keys in their UserData, once per source
 * and key pair or key, remembered in StateDirectory.
 *
 * Reading only: a source is reported, never changed. A failed or refused listing leaves what
 * was remembered alone and holds nothing else back. */
#include "base/list.h"
#include "base/log.h"
#include "base/strutil.h"
#include "daemon/sources.h"
#include "io/report.h"
#include "logic/sshkey.h"
#include "logic/userdata.h"

#define SOURCES_PAGE_SIZE 50U
/* A TotalCount above this is not believed (and not paged). */
#define SOURCES_MAX_ITEMS 100000U

enum sources_list {
        LIST_TEMPLATES,
        LIST_VERSIONS,
        LIST_CONFIGS,
        _LIST_MAX,
};

static const struct {
        enum ecs_service service;
        const char *action;
        const char *what;
        const char *permission;         /* the RAM action it needs */
} source_lists[_LIST_MAX] = {
        [LIST_TEMPLATES] = { ECS_SERVICE_ECS, "DescribeLaunchTemplates", "launch templates",
                             "ecs:DescribeLaunchTemplates" },
        [LIST_VERSIONS] = { ECS_SERVICE_ECS, "DescribeLaunchTemplateVersions", "launch template versions",
                            "ecs:DescribeLaunchTemplateVersions" },
        [LIST_CONFIGS] = { ECS_SERVICE_ESS, "DescribeScalingConfigurations", "scaling configurations",
                           "ess:DescribeScalingConfigurations" },
};

struct sources {
        struct referenced *record;
        bool warned[_LIST_MAX];         /* a missing permission is reported once per run */
        bool warned_compressed;         /* so is compressed UserData */
        struct sources_region *regions; /* checks in progress */
};

/* A revoked public key looked for in UserData (the region's copy of a struct sources_key). */
struct region_key {
        char *key;                      /* "TYPE BLOB" */
        char fingerprint[64];           /* SHA256:... */
        char *record_as;                /* "user-data:" fingerprint: the record's key pair field */
        const char *keypair;            /* in the region's keypairs; NULL when none here */
        struct planner_entry why;
};

/* A source found naming a revoked key pair, or carrying a revoked key (carried not NULL). */
struct sources_found {
        char *source;
        char *key;                      /* referenced_key() */
        char *what;                     /* how the event's message names it */
        char *request_id;
        const char *keypair;            /* the revoked key pair (borrowed from the region) or NULL */
        const char *record_as;          /* the record's key pair field (borrowed) */
        const struct region_key *carried;
        struct planner_entry why;
        bool is_default;
};

/* One page asked for; owned by its region, so that a cancelled call leaves nothing behind. */
struct sources_call {
        struct sources_region *region;
        enum sources_list list;
        unsigned page;
        struct ecs_launch_template template; /* LIST_VERSIONS: whose versions */
        struct sources_call *prev, *next;
};

struct sources_region {
        struct sources *owner;
        struct pass *pass;
        char *name;
        struct planner_target *targets; /* keypair points into keypairs */
        char **keypairs;
        size_t n_targets;
        struct region_key *keys;
        size_t n_keys;
        unsigned compressed;            /* sources whose UserData is compressed (not searched) */
        bool complete;
        bool failed;
        bool warned;                    /* a listing failed: said once per region and pass */
        unsigned pending;
        struct sources_found *found;
        size_t n_found;
        struct sources_call *calls;
        struct sources_region *prev, *next;
};

/* ---- lifecycle ----------------------------------------------------------------------------- */

static void region_free(struct sources_region *g) {
        if (!g)
                return;
        LIST_REMOVE(g->owner->regions, g);
        while (g->calls) {
                struct sources_call *c = g->calls;

                LIST_REMOVE(g->calls, c);
                free(c->template.id);
                free(c->template.name);
                free(c);
        }
        for (size_t i = 0; i < g->n_found; i++) {
                free(g->found[i].source);
                free(g->found[i].key);
                free(g->found[i].what);
                free(g->found[i].request_id);
        }
        free(g->found);
        for (size_t i = 0; i < g->n_keys; i++) {
                free(g->keys[i].key);
                free(g->keys[i].record_as);
        }
        free(g->keys);
        free(g->targets);
        strv_free(g->keypairs);
        free(g->name);
        free(g);
}

int sources_new(struct referenced *record, struct sources **ret) {
        struct sources *s = calloc(1, sizeof(*s));

        if (!s)
                return -ENOMEM;
        s->record = record;
        *ret = s;
        return 0;
}

struct sources *sources_free(struct sources *s) {
        if (!s)
                return NULL;
        while (s->regions)
                region_free(s->regions);
        free(s);
        return NULL;
}

/* ---- what was found ------------------------------------------------------------------------ */

static const struct planner_target *region_target(const struct sources_region *g, const char *keypair) {
        for (size_t i = 0; keypair && i < g->n_targets; i++)
                if (streq(g->targets[i].keypair, keypair))
                        return &g->targets[i];
        return NULL;
}

/* One launch source as listed: what it is called, what it names, what it carries. */
struct source_seen {
        const char *source;             /* KEYREVOKE_SOURCE */
        const char *what;               /* how messages name it */
        const char *key_pair_name;
        const char *user_data;          /* Base64, or NULL */
        const char *request_id;
        bool is_default;
};

/* Adds a source naming the revoked key pair keypair (carried NULL) or carrying a revoked key. */
static int region_add_found(struct sources_region *g, const struct source_seen *seen, const char *keypair,
                            const struct region_key *carried, const struct planner_entry *why) {
        struct sources_found *a, *f;

        a = reallocarray(g->found, g->n_found + 1, sizeof(*a));
        if (!a)
                return -ENOMEM;
        g->found = a;
        f = &a[g->n_found++];
        *f = (struct sources_found) {
                .keypair = keypair,
                .record_as = carried ? carried->record_as : keypair,
                .carried = carried,
                .why = *why,
                .is_default = seen->is_default,
        };
        f->source = strdup(seen->source);
        f->what = strdup(seen->what);
        f->key = referenced_key(g->name, seen->source, f->record_as);
        f->request_id = seen->request_id ? strdup(seen->request_id) : NULL;
        return f->source && f->what && f->key && (!seen->request_id || f->request_id) ? 0 : -ENOMEM;
}

/* The revoked keys the source's UserData carries (compressed UserData is counted, unsearched). */
static int region_search_user_data(struct sources_region *g, const struct source_seen *seen) {
        _cleanup_free_ char *text = NULL;
        enum userdata_form form;
        size_t len = 0;
        int r;

        if (!seen->user_data || g->n_keys == 0)
                return 0;
        r = userdata_decode(seen->user_data, &form, &text, &len);
        if (r < 0)
                return r;
        if (form == USERDATA_COMPRESSED)
                g->compressed++;
        for (size_t i = 0; r >= 0 && text && i < g->n_keys; i++)
                if (userdata_carries_key(text, len, g->keys[i].key))
                        r = region_add_found(g, seen, g->keys[i].keypair, &g->keys[i], &g->keys[i].why);
        return r;
}

static int region_found_source(struct sources_region *g, const struct source_seen *seen) {
        const struct planner_target *target = region_target(g, seen->key_pair_name);
        int r = 0;

        if (target)
                r = region_add_found(g, seen, target->keypair, NULL, &target->why);
        return r < 0 ? r : region_search_user_data(g, seen);
}

static int region_found_version(struct sources_region *g, const struct ecs_launch_template *t,
                                const struct ecs_template_version *v, const char *request_id) {
        bool is_default = v->is_default || v->number == t->default_version;
        _cleanup_free_ char *source = NULL, *what = NULL;

        if (!region_target(g, v->key_pair_name) && (!v->user_data || g->n_keys == 0))
                return 0;
        if (asprintf(&source, "launch-template:%s:%u", t->id, v->number) < 0 ||
            asprintf(&what, "Launch template %s%s%s%s version %u%s", t->id, t->name ? " (" : "", strempty(t->name),
                     t->name ? ")" : "", v->number, is_default ? ", its default version," : "") < 0)
                return -ENOMEM;
        return region_found_source(g, &(struct source_seen) {
                .source = source,
                .what = what,
                .key_pair_name = v->key_pair_name,
                .user_data = v->user_data,
                .request_id = request_id,
                .is_default = is_default,
        });
}

static int region_found_config(struct sources_region *g, const struct ecs_scaling_config *c, const char *request_id) {
        _cleanup_free_ char *source = NULL, *what = NULL;

        if (!region_target(g, c->key_pair_name) && (!c->user_data || g->n_keys == 0))
                return 0;
        if (asprintf(&source, "scaling-configuration:%s", c->id) < 0 ||
            asprintf(&what, "Scaling configuration %s%s%s (%s)", c->id, c->group_id ? " of scaling group " : "",
                     strempty(c->group_id), c->active ? "active: new instances use it" : "inactive") < 0)
                return -ENOMEM;
        return region_found_source(g, &(struct source_seen) {
                .source = source,
                .what = what,
                .key_pair_name = c->key_pair_name,
                .user_data = c->user_data,
                .request_id = request_id,
                .is_default = c->active,
        });
}

static void region_report(const struct sources_region *g, const struct sources_found *f) {
        _cleanup_free_ char *fingerprint = NULL;
        struct event_fields ev = {
                .keypair = f->keypair,
                .region = g->name,
                .source = f->source,
                .request_id = f->request_id,
                .list = f->why.list ? f->why.list->path : NULL,
                .line = f->why.entry ? f->why.entry->line : 0,
                .reason = f->why.entry ? f->why.entry->reason : NULL,
                .dry_run = g->pass->dry_run,
        };

        if (!f->carried)
                return report_event(EVENT_KEYPAIR_REFERENCED, &ev,
                                    "%s names revoked key pair '%s' in %s: instances launched from it come up with "
                                    "the revoked key",
                                    f->what, f->keypair, g->name);
        if (asprintf(&fingerprint, "KEYREVOKE_FINGERPRINT=%s", f->carried->fingerprint) < 0)
                fingerprint = NULL; /* the event goes out without it */
        ev.extra = (const char *const[]) { "KEYREVOKE_REFERENCE=user-data", fingerprint, NULL };
        report_event(EVENT_KEYPAIR_REFERENCED, &ev,
                     "%s carries revoked key %s%s%s%s in its UserData in %s: instances launched from it accept the "
                     "revoked key",
                     f->what, f->carried->fingerprint, f->keypair ? " (of key pair '" : "", strempty(f->keypair),
                     f->keypair ? "')" : "", g->name);
}

static void sources_save(struct sources *s, const struct pass *p) {
        int r = p->dry_run ? 0 : referenced_save(s->record);

        if (r < 0)
                log_error_errno(r, "Failed to save the launch sources found in %s: %m", s->record->directory);
}

/* Reports what was not reported before and remembers it; what a complete check did not find
 * again is forgotten. */
static void region_commit(struct sources_region *g) {
        struct referenced *record = g->owner->record;
        _cleanup_(hashmap_freep) struct hashmap *keep = NULL;
        bool prune = g->complete && !g->failed;

        if (hashmap_new(&keep) < 0)
                prune = false;
        for (size_t i = 0; i < g->n_found; i++) {
                const struct sources_found *f = &g->found[i];

                if (!referenced_find(record, g->name, f->source, f->record_as))
                        region_report(g, f);
                if (referenced_put(record, g->name, f->source, f->record_as, f->is_default, pass_now(g->pass)) < 0 ||
                    (keep && hashmap_put(keep, f->key, (void *) f) < 0))
                        prune = false;
        }
        if (prune)
                referenced_prune_region(record, g->name, keep);
        sources_save(g->owner, g->pass);
        if (g->compressed > 0 && !g->owner->warned_compressed)
                log_notice("%u launch source(s) in %s have compressed (gzip) UserData, which is not searched for "
                           "revoked keys (said once per run)",
                           g->compressed, g->name);
        g->owner->warned_compressed |= g->compressed > 0;
}

/* ---- listings ------------------------------------------------------------------------------ */

static void page_done_cb(const struct ecs_result *r, void *userdata);

static int region_send(struct sources_region *g, enum sources_list list, unsigned page,
                       const struct ecs_launch_template *t) {
        struct sources_call *c = calloc(1, sizeof(*c));
        struct params params = {};
        int r;

        if (!c)
                return -ENOMEM;
        *c = (struct sources_call) { .region = g, .list = list, .page = page };
        LIST_PREPEND(g->calls, c);
        if (t && (!(c->template.id = strdup(t->id)) || (t->name && !(c->template.name = strdup(t->name)))))
                return -ENOMEM;
        if (t)
                c->template.default_version = t->default_version;
        if (params_add(&params, "RegionId", g->name) < 0 || params_addf(&params, "PageNumber", "%u", page) < 0 ||
            params_addf(&params, "PageSize", "%u", SOURCES_PAGE_SIZE) < 0 ||
            (t && (params_add(&params, "LaunchTemplateId", t->id) < 0 ||
                   params_add(&params, "DetailFlag", "true") < 0))) {
                params_done(&params);
                return -ENOMEM;
        }
        r = pass_call_service(g->pass, source_lists[list].service, g->name, source_lists[list].action, &params,
                              page_done_cb, c);
        if (r < 0)
                return r;
        g->pending++;
        return 0;
}

static bool code_is_permission(const char *code) {
        return code && (startswith(code, "Forbidden") || startswith(code, "NoPermission"));
}

static void region_failed(struct sources_region *g, enum sources_list list, const struct ecs_result *r) {
        struct sources *s = g->owner;
        const char *error = r->error == -EBADMSG && !r->code ? "unparsable or implausible answer" : pass_error_name(r);

        g->failed = true;
        if (code_is_permission(r->code)) {
                if (!s->warned[list])
                        log_warning("Missing RAM permission %s (%s, request %s): %s are not checked for revoked key "
                                    "pairs; grant it, or set CheckLaunchSources=no. Detaches go on.",
                                    source_lists[list].permission, r->code, strna(r->request_id),
                                    source_lists[list].what);
                s->warned[list] = true;
                return;
        }
        if (!g->warned)
                log_warning("Could not list %s in %s: %s%s%s (request %s); they are checked again at the next pass",
                            source_lists[list].what, g->name, error, r->message ? ": " : "", strempty(r->message),
                            strna(r->request_id));
        g->warned = true;
}

/* Page one told how many items there are: the other pages go out at once. */
static void region_more_pages(struct sources_region *g, const struct sources_call *c, unsigned total) {
        unsigned pages = (total + SOURCES_PAGE_SIZE - 1) / SOURCES_PAGE_SIZE;

        for (unsigned page = 2; page <= pages; page++)
                if (region_send(g, c->list, page, c->list == LIST_VERSIONS ? &c->template : NULL) < 0) {
                        g->failed = true;
                        log_error("Failed to ask for all %s in %s", source_lists[c->list].what, g->name);
                        return;
                }
}

static int parse_templates(struct sources_region *g, json_t *body, unsigned *ret_total) {
        struct ecs_launch_template *a = NULL;
        size_t n = 0;
        int r = ecsparse_launch_templates(body, &a, &n, ret_total);

        for (size_t i = 0; r >= 0 && i < n; i++)
                r = region_send(g, LIST_VERSIONS, 1, &a[i]);
        ecs_launch_templates_free(a, n);
        return r;
}

static int parse_versions(struct sources_region *g, const struct sources_call *c, const struct ecs_result *res,
                          unsigned *ret_total) {
        struct ecs_template_version *a = NULL;
        size_t n = 0;
        int r = ecsparse_template_versions(res->body, &a, &n, ret_total);

        for (size_t i = 0; r >= 0 && i < n; i++)
                r = region_found_version(g, &c->template, &a[i], res->request_id);
        ecs_template_versions_free(a, n);
        return r;
}

static int parse_configs(struct sources_region *g, const struct ecs_result *res, unsigned *ret_total) {
        struct ecs_scaling_config *a = NULL;
        size_t n = 0;
        int r = ecsparse_scaling_configs(res->body, &a, &n, ret_total);

        for (size_t i = 0; r >= 0 && i < n; i++)
                r = region_found_config(g, &a[i], res->request_id);
        ecs_scaling_configs_free(a, n);
        return r;
}

static int parse_page(struct sources_region *g, const struct sources_call *c, const struct ecs_result *res,
                      unsigned *ret_total) {
        int r = -EINVAL;

        switch (c->list) {
        case LIST_TEMPLATES:
                r = parse_templates(g, res->body, ret_total);
                break;
        case LIST_VERSIONS:
                r = parse_versions(g, c, res, ret_total);
                break;
        case LIST_CONFIGS:
                r = parse_configs(g, res, ret_total);
                break;
        case _LIST_MAX:
                break;
        }
        if (r >= 0 && *ret_total > SOURCES_MAX_ITEMS)
                return -EBADMSG;
        return r;
}

static void page_done_cb(const struct ecs_result *r, void *userdata) {
        struct sources_call *c = userdata;
        struct sources_region *g = c->region;
        struct pass *p = g->pass;
        unsigned total = 0;
        int k = r->error < 0 ? r->error : parse_page(g, c, r, &total);

        if (k < 0) {
                struct ecs_result bad = { .request_id = r->request_id, .error = k };
                region_failed(g, c->list, r->error < 0 ? r : &bad);
        } else if (c->page == 1)
                region_more_pages(g, c, total);
        if (--g->pending == 0) {
                region_commit(g);
                region_free(g);
        }
        pass_release(p);
}

/* ---- start --------------------------------------------------------------------------------- */

static int region_copy_targets(struct sources_region *g, const struct planner_target *targets, size_t n) {
        g->targets = calloc(n, sizeof(*g->targets));
        if (!g->targets)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (strv_extend(&g->keypairs, targets[i].keypair) < 0)
                        return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                g->targets[i] = (struct planner_target) { .keypair = g->keypairs[i], .why = targets[i].why };
        g->n_targets = n;
        return 0;
}

/* The keys to look for in UserData, each with its fingerprint and the copy of its key pair's name. */
static int region_copy_keys(struct sources_region *g, const struct sources_key *keys, size_t n) {
        g->keys = calloc(n, sizeof(*g->keys));
        if (!g->keys)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                struct region_key *k = &g->keys[g->n_keys];
                const struct planner_target *t = region_target(g, keys[i].keypair);
                struct sshkey_digests d;
                const char *error = "not TYPE BLOB";
                int r;

                *k = (struct region_key) { .keypair = t ? t->keypair : NULL, .why = keys[i].why };
                r = sshkey_parse_public(keys[i].key, &d, &error);
                if (r >= 0)
                        r = sshkey_type_and_blob(keys[i].key, &k->key);
                if (r == -EINVAL) {
                        log_debug("Not looking for a malformed public key in UserData: %s", error);
                        continue;
                }
                if (r < 0)
                        return r;
                sshkey_format_sha256(d.sha256, k->fingerprint, sizeof(k->fingerprint));
                if (asprintf(&k->record_as, "user-data:%s", k->fingerprint) < 0) {
                        free(k->key);
                        return -ENOMEM;
                }
                g->n_keys++;
        }
        return 0;
}

void sources_forget(struct sources *s, struct pass *p) {
        referenced_prune_region(s->record, NULL, NULL);
        sources_save(s, p);
}

int sources_check_region(struct sources *s, struct pass *p, const char *region, const struct planner_target *targets,
                         size_t n, const struct sources_key *keys, size_t n_keys, bool complete) {
        struct sources_region *g;
        int r;

        if (n == 0 && n_keys == 0) {
                /* Nothing is revoked here: nothing here is remembered either. */
                if (complete)
                        referenced_prune_region(s->record, region, NULL);
                sources_save(s, p);
                return 0;
        }
        g = calloc(1, sizeof(*g));
        if (!g)
                return -ENOMEM;
        *g = (struct sources_region) { .owner = s, .pass = p, .complete = complete };
        LIST_PREPEND(s->regions, g);
        g->name = strdup(region);
        r = g->name ? region_copy_targets(g, targets, n) : -ENOMEM;
        if (r >= 0)
                r = region_copy_keys(g, keys, n_keys);
        if (r >= 0)
                r = region_send(g, LIST_TEMPLATES, 1, NULL);
        if (r >= 0)
                r = region_send(g, LIST_CONFIGS, 1, NULL);
        if (r < 0 && g->pending == 0) {
                region_free(g);
                return r;
        }
        if (r < 0)
                g->failed = true; /* what was sent goes on; nothing is forgotten */
        return 0;
}
