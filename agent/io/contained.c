/* The containment record in StateDirectory/contained.json: which instances were sent the Cloud
 * Assistant command, with which key set, and how it ended. Written atomically, mode 0600. */
#include "base/log.h"
#include "base/strutil.h"
#include "io/contained.h"
#include "io/record.h"

static const struct record_type contained_record = {
        .name = "contained.json",
        .what = "containment record",
        .max_bytes = (size_t) 256 * 1024 * 1024,
        .version = 1,
        .list = "entries",
};

const char *contained_status_to_string(enum contained_status s) {
        switch (s) {
        case CONTAINED_SENDING:
                return "sending";
        case CONTAINED_RUNNING:
                return "running";
        case CONTAINED_DONE:
                return "contained";
        case CONTAINED_PARTIAL:
                return "partial";
        case CONTAINED_FAILED:
                return "failed";
        case _CONTAINED_STATUS_MAX:
                break;
        }
        return NULL;
}

static int contained_status_from_string(const char *s) {
        for (enum contained_status i = 0; i < _CONTAINED_STATUS_MAX; i++)
                if (streq_ptr(s, contained_status_to_string(i)))
                        return (int) i;
        return -EINVAL;
}

static void entry_free(void *p) {
        struct contained_entry *e = p;

        if (!e)
                return;
        free(e->instance_id);
        free(e->region);
        free(e->digest);
        free(e->set);
        free(e->token);
        free(e->invoke_id);
        free(e->error);
        free(e);
}

struct contained *contained_free(struct contained *c) {
        const char *digest;
        char **keys;
        size_t i = 0;

        if (!c)
                return NULL;
        hashmap_free_with(c->by_instance, entry_free);
        while (c->keysets && hashmap_iterate(c->keysets, &i, &digest, (void **) &keys)) {
                free((char *) digest);
                strv_free(keys);
        }
        hashmap_free(c->keysets);
        free(c->directory);
        free(c);
        return NULL;
}

/* ---- JSON ---------------------------------------------------------------------------------- */

static json_t *entry_to_json(const void *entry) {
        const struct contained_entry *e = entry;

        /* "set" only where it is: a record of sets that fit one command reads as before. */
        return json_pack("{s:s, s:s, s:s, s:s*, s:s, s:s*, s:s*, s:s, s:I, s:I, s:I, s:I, s:I}", "instance_id",
                         e->instance_id, "region", e->region, "digest", e->digest, "set", e->set, "token",
                         e->token, "invoke_id", e->invoke_id, "error", e->error, "status",
                         contained_status_to_string(e->status), "keys", (json_int_t) e->keys, "attempts",
                         (json_int_t) e->attempts, "removed", (json_int_t) e->removed, "found_usec",
                         (json_int_t) e->found_usec, "updated_usec", (json_int_t) e->updated_usec);
}

static int entry_from_json(json_t *o, struct contained_entry **ret) {
        struct contained_entry *e = calloc(1, sizeof(*e));
        const char *id, *region, *digest, *set = NULL, *token, *invoke_id = NULL, *error = NULL, *status;
        json_int_t keys, attempts, removed, found, updated;
        int s;

        if (!e)
                return -ENOMEM;
        if (json_unpack(o, "{s:s, s:s, s:s, s?s, s:s, s?s, s?s, s:s, s:I, s:I, s:I, s:I, s:I}", "instance_id", &id,
                        "region", &region, "digest", &digest, "set", &set, "token", &token, "invoke_id",
                        &invoke_id, "error", &error, "status", &status, "keys", &keys, "attempts", &attempts,
                        "removed", &removed, "found_usec", &found, "updated_usec", &updated) < 0 ||
            (s = contained_status_from_string(status)) < 0 || keys < 0 || attempts < 0 || removed < 0 || found < 0 ||
            updated < 0 || isempty(id)) {
                free(e);
                return -EBADMSG;
        }
        *e = (struct contained_entry) {
                .instance_id = strdup(id), .region = strdup(region), .digest = strdup(digest),
                .set = set ? strdup(set) : NULL, .token = strdup(token),
                .invoke_id = invoke_id ? strdup(invoke_id) : NULL,
                .error = error ? strdup(error) : NULL, .status = s, .keys = (unsigned) keys,
                .attempts = (unsigned) attempts, .removed = (unsigned) removed, .found_usec = (uint64_t) found,
                .updated_usec = (uint64_t) updated,
        };
        if (!e->instance_id || !e->region || !e->digest || (set && !e->set) || !e->token ||
            (invoke_id && !e->invoke_id) || (error && !e->error)) {
                entry_free(e);
                return -ENOMEM;
        }
        *ret = e;
        return 0;
}

static int keysets_from_json(struct contained *c, const char *path, json_t *o) {
        const char *digest;
        json_t *keys;

        if (!json_is_object(o))
                return log_error_errno(-EBADMSG, "%s: \"keysets\" is missing or not an object", path);
        json_object_foreach(o, digest, keys) {
                _cleanup_strv_free_ char **l = NULL;
                size_t i;
                json_t *k;

                if (!json_is_array(keys))
                        return log_error_errno(-EBADMSG, "%s: key set %s is not an array", path, digest);
                json_array_foreach(keys, i, k)
                        if (!json_is_string(k) || strv_extend(&l, json_string_value(k)) < 0)
                                return log_error_errno(-EBADMSG, "%s: key set %s is invalid", path, digest);
                if (contained_put_keyset(c, digest, l, strv_length(l)) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static int contained_parse(void *userdata, const struct record *rec) {
        struct contained *c = userdata;
        size_t index;
        json_t *o;
        int r;

        r = keysets_from_json(c, rec->path, json_object_get(rec->root, "keysets"));
        json_array_foreach(rec->list, index, o) {
                struct contained_entry *e = NULL;
                if (r < 0)
                        break;
                r = entry_from_json(o, &e);
                if (r == -EBADMSG)
                        log_error("%s: entry %zu is invalid", rec->path, index);
                if (r >= 0 && hashmap_get(c->by_instance, e->instance_id)) {
                        log_error("%s: instance %s is listed twice", rec->path, e->instance_id);
                        r = -EBADMSG;
                }
                if (r >= 0)
                        r = hashmap_put(c->by_instance, e->instance_id, e);
                if (r < 0)
                        entry_free(e);
        }
        return r;
}

int contained_load(const char *directory, struct contained **ret) {
        _cleanup_(contained_freep) struct contained *c = calloc(1, sizeof(*c));
        int r;

        if (!c || !(c->directory = strdup(directory)) || hashmap_new(&c->by_instance) < 0 ||
            hashmap_new(&c->keysets) < 0)
                return -ENOMEM;
        r = record_load(&contained_record, directory, contained_parse, c);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(c);
        return 0;
}

/* Adds the keys kept for digest to o (unless they are there or unknown); -ENOMEM. */
static int keyset_to_json(const struct contained *c, json_t *o, const char *digest) {
        char **keys = contained_get_keyset(c, digest);
        json_t *a;

        if (!keys || json_object_get(o, digest))
                return 0;
        a = json_array();
        for (char **k = keys; a && *k; k++)
                if (json_array_append_new(a, json_string(*k)) < 0)
                        json_decref(TAKE_PTR(a));
        return a && json_object_set_new(o, digest, a) >= 0 ? 0 : -ENOMEM;
}

/* The key sets some entry still refers to: the keys it was sent, and the whole set they are a
 * run of (a restart splits it again to tell which run comes next). */
static json_t *keysets_to_json(const struct contained *c) {
        json_t *o = json_object();
        struct contained_entry *e;
        size_t i = 0;

        while (o && contained_iterate(c, &i, &e))
                if (keyset_to_json(c, o, e->digest) < 0 || (e->set && keyset_to_json(c, o, e->set) < 0))
                        json_decref(TAKE_PTR(o));
        return o;
}

int contained_save(struct contained *c) {
        json_t *more;
        int r;

        if (!c->dirty)
                return 0;
        more = json_pack("{s:o}", "keysets", keysets_to_json(c));
        if (!more)
                return -ENOMEM;
        r = record_save_list(&contained_record, c->directory, &c->dirty, c->by_instance, entry_to_json, more);
        json_decref(more);
        return r;
}

/* ---- entries ------------------------------------------------------------------------------- */

struct contained_entry *contained_find(const struct contained *c, const char *instance_id) {
        return hashmap_get(c->by_instance, instance_id);
}

const char *contained_entry_set(const struct contained_entry *e) {
        return e->set ? e->set : e->digest;
}

/* The entry of instance_id (created if missing) for these keys of a set (set NULL: they are the
 * set): a new key set starts a new exposure (found now, no attempts yet, no lines removed). */
static int entry_for_keys(struct contained *c, const char *instance_id, const char *region, const char *digest,
                          unsigned keys, const char *set, uint64_t now_usec, struct contained_entry **ret) {
        struct contained_entry *e = contained_find(c, instance_id);
        bool same_keys = e && streq(contained_entry_set(e), set ? set : digest);

        if (!e) {
                e = calloc(1, sizeof(*e));
                if (!e || !(e->instance_id = strdup(instance_id)) || hashmap_put(c->by_instance, e->instance_id, e) < 0) {
                        entry_free(e);
                        return -ENOMEM;
                }
        }
        if (free_and_strdup(&e->region, region) < 0 || free_and_strdup(&e->digest, digest) < 0 ||
            free_and_strdup(&e->set, set) < 0)
                return -ENOMEM;
        if (!same_keys) {
                e->attempts = 0;
                e->removed = 0;
                e->found_usec = now_usec;
        }
        e->keys = keys;
        e->updated_usec = now_usec;
        c->dirty = true;
        *ret = e;
        return 0;
}

int contained_begin(struct contained *c, const char *instance_id, const char *region, const char *digest,
                    unsigned keys, const char *set, const char *token, uint64_t now_usec,
                    struct contained_entry **ret) {
        struct contained_entry *e;

        if (isempty(instance_id) || isempty(region) || isempty(digest) || isempty(token))
                return -EINVAL;
        if (entry_for_keys(c, instance_id, region, digest, keys, set, now_usec, &e) < 0 ||
            free_and_strdup(&e->token, token) < 0 || free_and_strdup(&e->invoke_id, NULL) < 0 || free_and_strdup(&e->error, NULL) < 0)
                return -ENOMEM;
        e->attempts++;
        e->status = CONTAINED_SENDING;
        *ret = e;
        return 0;
}

int contained_note_unsent(struct contained *c, const char *instance_id, const char *region, const char *digest,
                          unsigned keys, const char *set, const char *error, uint64_t now_usec) {
        struct contained_entry *e;

        if (isempty(instance_id) || isempty(region) || isempty(digest) || isempty(error))
                return -EINVAL;
        if (entry_for_keys(c, instance_id, region, digest, keys, set, now_usec, &e) < 0 ||
            (!e->token && free_and_strdup(&e->token, "") < 0) || free_and_strdup(&e->invoke_id, NULL) < 0 ||
            free_and_strdup(&e->error, error) < 0)
                return -ENOMEM;
        e->status = CONTAINED_FAILED;
        return 0;
}

int contained_complete(struct contained *c, struct contained_entry *e, unsigned keys, uint64_t now_usec) {
        if (e->set) {
                free(e->digest);
                e->digest = TAKE_PTR(e->set);
        }
        e->keys = keys;
        return contained_set(c, e, CONTAINED_DONE, NULL, NULL, now_usec);
}

int contained_set(struct contained *c, struct contained_entry *e, enum contained_status s, const char *invoke_id,
                  const char *error, uint64_t now_usec) {
        if ((invoke_id && free_and_strdup(&e->invoke_id, invoke_id) < 0) || free_and_strdup(&e->error, error) < 0)
                return -ENOMEM;
        e->status = s;
        e->updated_usec = now_usec;
        c->dirty = true;
        return 0;
}

int contained_put_keyset(struct contained *c, const char *digest, char *const *keys, size_t n) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *key = NULL;

        if (n == 0)
                return -EINVAL;
        if (hashmap_get(c->keysets, digest))
                return 0;
        for (size_t i = 0; i < n; i++)
                if (strv_extend(&l, keys[i]) < 0)
                        return -ENOMEM;
        key = strdup(digest);
        if (!key || hashmap_put(c->keysets, key, l) < 0)
                return -ENOMEM;
        TAKE_PTR(key);
        TAKE_PTR(l);
        c->dirty = true;
        return 0;
}

char **contained_get_keyset(const struct contained *c, const char *digest) {
        return hashmap_get(c->keysets, digest);
}

bool contained_iterate(const struct contained *c, size_t *i, struct contained_entry **ret) {
        return hashmap_iterate(c->by_instance, i, NULL, (void **) ret);
}

size_t contained_count(const struct contained *c, enum contained_status s) {
        struct contained_entry *e;
        size_t i = 0, n = 0;

        while (contained_iterate(c, &i, &e))
                n += e->status == s;
        return n;
}
