/* The launch sources found naming a revoked key pair, in StateDirectory/referenced.json: each is
 * reported once, and again only after it changed, across restarts too. Written atomically, 0600. */
#include "base/log.h"
#include "base/strutil.h"
#include "io/record.h"
#include "io/referenced.h"

static const struct record_type referenced_record = {
        .name = "referenced.json",
        .what = "record of launch sources",
        .max_bytes = (size_t) 64 * 1024 * 1024,
        .version = 1,
        .list = "sources",
};

static void entry_free(void *p) {
        struct referenced_entry *e = p;

        if (!e)
                return;
        free(e->region);
        free(e->source);
        free(e->keypair);
        free(e->key);
        free(e);
}

struct referenced *referenced_free(struct referenced *r) {
        if (!r)
                return NULL;
        hashmap_free_with(r->by_key, entry_free);
        free(r->directory);
        free(r);
        return NULL;
}

char *referenced_key(const char *region, const char *source, const char *keypair) {
        char *key;

        if (asprintf(&key, "%s\n%s\n%s", region, source, keypair) < 0)
                return NULL;
        return key;
}

struct referenced_entry *referenced_find(const struct referenced *r, const char *region, const char *source,
                                         const char *keypair) {
        _cleanup_free_ char *key = referenced_key(region, source, keypair);

        return key ? hashmap_get(r->by_key, key) : NULL;
}

int referenced_put(struct referenced *r, const char *region, const char *source, const char *keypair,
                   bool is_default, uint64_t found_usec) {
        struct referenced_entry *e;

        if (isempty(region) || isempty(source) || isempty(keypair))
                return -EINVAL;
        e = referenced_find(r, region, source, keypair);
        if (e) {
                r->dirty |= e->is_default != is_default;
                e->is_default = is_default;
                return 0;
        }
        e = calloc(1, sizeof(*e));
        if (!e || !(e->region = strdup(region)) || !(e->source = strdup(source)) || !(e->keypair = strdup(keypair)) ||
            !(e->key = referenced_key(region, source, keypair)) || hashmap_put(r->by_key, e->key, e) < 0) {
                entry_free(e);
                return -ENOMEM;
        }
        e->is_default = is_default;
        e->found_usec = found_usec;
        r->dirty = true;
        return 0;
}

void referenced_prune_region(struct referenced *r, const char *region, const struct hashmap *keep) {
        struct referenced_entry *e;
        size_t i = 0;

        while (hashmap_iterate(r->by_key, &i, NULL, (void **) &e))
                if ((!region || streq(e->region, region)) && !(keep && hashmap_get(keep, e->key))) {
                        (void) hashmap_remove(r->by_key, e->key);
                        entry_free(e);
                        r->dirty = true;
                        i = 0; /* the map changed under the iteration */
                }
}

bool referenced_iterate(const struct referenced *r, size_t *i, struct referenced_entry **ret) {
        return hashmap_iterate(r->by_key, i, NULL, (void **) ret);
}

/* Whether an entry the iteration gives before e (which left the cursor at until) is about the
 * same source as e. */
static bool source_seen_before(const struct referenced *r, size_t until, const struct referenced_entry *e) {
        struct referenced_entry *o;
        size_t j = 0;

        while (referenced_iterate(r, &j, &o) && j < until)
                if (streq(o->region, e->region) && streq(o->source, e->source))
                        return true;
        return false;
}

size_t referenced_count(const struct referenced *r, const char *prefix) {
        struct referenced_entry *e;
        size_t i = 0, n = 0;

        while (r && referenced_iterate(r, &i, &e))
                n += startswith(e->source, prefix) && !source_seen_before(r, i, e);
        return n;
}

/* ---- the file ------------------------------------------------------------------------------ */

static int referenced_parse(void *userdata, const struct record *rec) {
        struct referenced *r = userdata;
        size_t index;
        json_t *o;
        int ret = 0;

        json_array_foreach(rec->list, index, o) {
                const char *region, *source, *keypair;
                json_int_t found;
                int is_default;

                if (json_unpack(o, "{s:s, s:s, s:s, s:b, s:I}", "region", &region, "source", &source, "keypair",
                                &keypair, "default", &is_default, "found_usec", &found) < 0 || found < 0)
                        return log_error_errno(-EBADMSG, "%s: entry %zu is invalid", rec->path, index);
                ret = referenced_put(r, region, source, keypair, is_default, (uint64_t) found);
                if (ret == -EINVAL)
                        return log_error_errno(-EBADMSG, "%s: entry %zu has an empty field", rec->path, index);
                if (ret < 0)
                        return ret;
        }
        r->dirty = false;
        return 0;
}

int referenced_load(const char *directory, struct referenced **ret) {
        _cleanup_(referenced_freep) struct referenced *r = calloc(1, sizeof(*r));
        int k;

        if (!r || !(r->directory = strdup(directory)) || hashmap_new(&r->by_key) < 0)
                return -ENOMEM;
        k = record_load(&referenced_record, directory, referenced_parse, r);
        if (k < 0)
                return k;
        *ret = TAKE_PTR(r);
        return 0;
}

static json_t *entry_to_json(const void *entry) {
        const struct referenced_entry *e = entry;

        return json_pack("{s:s, s:s, s:s, s:b, s:I}", "region", e->region, "source", e->source, "keypair",
                         e->keypair, "default", e->is_default, "found_usec", (json_int_t) e->found_usec);
}

int referenced_save(struct referenced *r) {
        return record_save_list(&referenced_record, r->directory, &r->dirty, r->by_key, entry_to_json, NULL);
}
