/* The launch sources found naming a revoked key pair, in StateDirectory/referenced.json: each is
 * reported once, and again only after it changed, across restarts too. Written atomically, 0600. */
#include <fcntl.h>
#include <jansson.h>

#include "base/fileio.h"
#include "base/log.h"
#include "base/strutil.h"
#include "io/referenced.h"

#define REFERENCED_FILE "referenced.json"
#define REFERENCED_FILE_MAX_BYTES ((size_t) 64 * 1024 * 1024)
#define REFERENCED_VERSION 1

static void entry_free(struct referenced_entry *e) {
        if (!e)
                return;
        free(e->region);
        free(e->source);
        free(e->keypair);
        free(e->key);
        free(e);
}

struct referenced *referenced_free(struct referenced *r) {
        struct referenced_entry *e;
        size_t i = 0;

        if (!r)
                return NULL;
        while (r->by_key && hashmap_iterate(r->by_key, &i, NULL, (void **) &e))
                entry_free(e);
        hashmap_free(r->by_key);
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

size_t referenced_count(const struct referenced *r, const char *prefix) {
        struct referenced_entry *e;
        size_t i = 0, n = 0;

        while (r && referenced_iterate(r, &i, &e))
                n += startswith(e->source, prefix);
        return n;
}

/* ---- the file ------------------------------------------------------------------------------ */

static int referenced_parse(struct referenced *r, const char *path, const char *text, size_t size) {
        json_error_t err;
        json_t *root = json_loadb(text, size, JSON_REJECT_DUPLICATES, &err), *entries, *o;
        size_t index;
        int ret = 0;

        if (!root)
                return log_error_errno(-EBADMSG, "%s:%d:%d: %s", path, err.line, err.column, err.text);
        entries = json_object_get(root, "sources");
        if (json_integer_value(json_object_get(root, "version")) != REFERENCED_VERSION || !json_is_array(entries))
                ret = log_error_errno(-EBADMSG, "%s: not a version %d record of launch sources", path,
                                      REFERENCED_VERSION);
        json_array_foreach(entries, index, o) {
                const char *region, *source, *keypair;
                json_int_t found;
                int is_default;

                if (ret < 0)
                        break;
                if (json_unpack(o, "{s:s, s:s, s:s, s:b, s:I}", "region", &region, "source", &source, "keypair",
                                &keypair, "default", &is_default, "found_usec", &found) < 0 || found < 0) {
                        ret = log_error_errno(-EBADMSG, "%s: entry %zu is invalid", path, index);
                        break;
                }
                ret = referenced_put(r, region, source, keypair, is_default, (uint64_t) found);
                if (ret == -EINVAL)
                        ret = log_error_errno(-EBADMSG, "%s: entry %zu has an empty field", path, index);
        }
        json_decref(root);
        r->dirty = false;
        return ret;
}

int referenced_load(const char *directory, struct referenced **ret) {
        _cleanup_(referenced_freep) struct referenced *r = calloc(1, sizeof(*r));
        _cleanup_free_ char *path = NULL, *text = NULL;
        _cleanup_close_ int fd = -1;
        size_t size = 0;
        int k;

        if (!r || !(r->directory = strdup(directory)) || hashmap_new(&r->by_key) < 0 ||
            asprintf(&path, "%s/" REFERENCED_FILE, directory) < 0)
                return -ENOMEM;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW);
        if (fd < 0 && errno != ENOENT)
                return log_error_errno(negative_errno(), "Failed to open %s: %m", path);
        if (fd >= 0) {
                k = fileio_read_fd(fd, REFERENCED_FILE_MAX_BYTES, 0, false, &text, &size);
                if (k < 0)
                        return log_error_errno(k, "Failed to read %s: %m", path);
                k = referenced_parse(r, path, text, size);
                if (k < 0)
                        return k;
        }
        *ret = TAKE_PTR(r);
        return 0;
}

int referenced_save(struct referenced *r) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        json_t *root, *entries = json_array();
        struct referenced_entry *e;
        size_t i = 0;
        int k;

        if (!r->dirty) {
                json_decref(entries);
                return 0;
        }
        while (entries && referenced_iterate(r, &i, &e))
                if (json_array_append_new(entries, json_pack("{s:s, s:s, s:s, s:b, s:I}", "region", e->region,
                                                             "source", e->source, "keypair", e->keypair, "default",
                                                             e->is_default, "found_usec",
                                                             (json_int_t) e->found_usec)) < 0)
                        json_decref(TAKE_PTR(entries));
        root = entries ? json_pack("{s:i, s:o}", "version", REFERENCED_VERSION, "sources", entries) : NULL;
        text = root ? json_dumps(root, JSON_COMPACT) : NULL;
        json_decref(root);
        if (!text || asprintf(&path, "%s/" REFERENCED_FILE, r->directory) < 0)
                return -ENOMEM;
        k = fileio_write_atomic(path, text, strlen(text), 0600);
        if (k < 0)
                return k;
        r->dirty = false;
        return 0;
}
