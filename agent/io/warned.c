/* The Windows instances already reported as skipped, in StateDirectory/windows.json: each
 * instance and key pair is warned about once, not at every pass, across restarts too; an entry
 * goes when a complete listing of its region no longer shows it. Written atomically, 0600. */
#include "base/log.h"
#include "io/record.h"
#include "io/warned.h"

static const struct record_type warned_record = {
        .name = "windows.json",
        .what = "record of Windows instances reported",
        .max_bytes = (size_t) 64 * 1024 * 1024,
        .version = 1,
        .list = "instances",
};

struct warned_entry {
        char *key;                      /* "region\ninstance\nkeypair", followed by the three below */
        const char *region;
        const char *instance;
        const char *keypair;
        uint64_t reported_usec;
        bool seen;                      /* runtime only: seen since the last warned_forget_unseen() */
};

static void entry_free(void *p) {
        struct warned_entry *e = p;

        if (!e)
                return;
        free(e->key);
        free(e);
}

struct warned *warned_free(struct warned *w) {
        if (!w)
                return NULL;
        hashmap_free_with(w->by_key, entry_free);
        free(w->directory);
        free(w);
        return NULL;
}

/* Copies s to *p and moves *p past its NUL; returns where the copy starts. */
static const char *put_string(char **p, const char *s) {
        const char *start = *p;

        *p = stpcpy(*p, s) + 1;
        return start;
}

/* Adds an entry, its key and parts in one allocation (a rotation warns about thousands of
 * Windows instances); -ENOMEM. */
static int warned_add(struct warned *w, const char *key, const char *region, const char *instance,
                      const char *keypair, uint64_t reported_usec, bool seen) {
        struct warned_entry *e = calloc(1, sizeof(*e));
        size_t size = strlen(key) + strlen(region) + strlen(instance) + strlen(keypair) + 4;
        char *p;

        if (!e || !(e->key = p = malloc(size))) {
                free(e);
                return -ENOMEM;
        }
        (void) put_string(&p, key);
        e->region = put_string(&p, region);
        e->instance = put_string(&p, instance);
        e->keypair = put_string(&p, keypair);
        if (hashmap_put(w->by_key, e->key, e) < 0) {
                entry_free(e);
                return -ENOMEM;
        }
        e->reported_usec = reported_usec;
        e->seen = seen;
        w->dirty = true;
        return 0;
}

int warned_see(struct warned *w, const char *region, const char *instance, const char *keypair,
               uint64_t now_usec) {
        _cleanup_free_ char *key = NULL;
        struct warned_entry *e;
        int r;

        if (isempty(region) || isempty(instance) || isempty(keypair))
                return -EINVAL;
        if (asprintf(&key, "%s\n%s\n%s", region, instance, keypair) < 0)
                return -ENOMEM;
        e = hashmap_get(w->by_key, key);
        if (e) {
                e->seen = true;
                return 0;
        }
        r = warned_add(w, key, region, instance, keypair, now_usec, true);
        return r < 0 ? r : 1;
}

void warned_forget_unseen(struct warned *w, const char *region) {
        struct warned_entry *e;
        size_t i = 0;

        /* Removing leaves a tombstone in place, so the iteration stays valid. */
        while (hashmap_iterate(w->by_key, &i, NULL, (void **) &e))
                if (streq(e->region, region) && !e->seen) {
                        (void) hashmap_remove(w->by_key, e->key);
                        entry_free(e);
                        w->dirty = true;
                }
        /* The next pass starts unseen. */
        for (i = 0; hashmap_iterate(w->by_key, &i, NULL, (void **) &e);)
                if (streq(e->region, region))
                        e->seen = false;
}

/* ---- the file ------------------------------------------------------------------------------ */

static int warned_parse(void *userdata, const struct record *rec) {
        struct warned *w = userdata;
        size_t index;
        json_t *o;

        json_array_foreach(rec->list, index, o) {
                const char *region, *instance, *keypair;
                _cleanup_free_ char *key = NULL;
                json_int_t reported;

                if (json_unpack(o, "{s:s, s:s, s:s, s:I}", "region", &region, "instance", &instance, "keypair",
                                &keypair, "reported_usec", &reported) < 0 ||
                    reported < 0 || isempty(region) || isempty(instance) || isempty(keypair))
                        return log_error_errno(-EBADMSG, "%s: entry %zu is invalid", rec->path, index);
                if (asprintf(&key, "%s\n%s\n%s", region, instance, keypair) < 0 ||
                    (!hashmap_get(w->by_key, key) &&
                     warned_add(w, key, region, instance, keypair, (uint64_t) reported, false) < 0))
                        return -ENOMEM;
        }
        w->dirty = false;
        return 0;
}

int warned_load(const char *directory, struct warned **ret) {
        _cleanup_(warned_freep) struct warned *w = calloc(1, sizeof(*w));
        int r;

        if (!w || !(w->directory = strdup(directory)) || hashmap_new(&w->by_key) < 0)
                return -ENOMEM;
        r = record_load(&warned_record, directory, warned_parse, w);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(w);
        return 0;
}

static json_t *entry_to_json(const void *entry) {
        const struct warned_entry *e = entry;

        return json_pack("{s:s, s:s, s:s, s:I}", "region", e->region, "instance", e->instance, "keypair", e->keypair,
                         "reported_usec", (json_int_t) e->reported_usec);
}

int warned_save(struct warned *w) {
        return record_save_list(&warned_record, w->directory, &w->dirty, w->by_key, entry_to_json, NULL);
}
