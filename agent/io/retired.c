/* Revoked key pairs that keyrevoked deletes (DeleteRevokedKeyPairs=), in
 * StateDirectory/retired.json: each public key is saved before its key pair is deleted, so that
 * entries keep matching it (a re-import under another name) and containment still knows it.
 * Written atomically, mode 0600. */
#include <fcntl.h>
#include <jansson.h>

#include "base/fileio.h"
#include "base/log.h"
#include "base/strutil.h"
#include "io/retired.h"

#define RETIRED_FILE "retired.json"
#define RETIRED_FILE_MAX_BYTES ((size_t) 64 * 1024 * 1024)
#define RETIRED_VERSION 1
/* "SHA256:" and 43 characters. */
#define RETIRED_FINGERPRINT_MAX 64

static void entry_free(struct retired_entry *e) {
        if (!e)
                return;
        free(e->region);
        free(e->name);
        free(e->public_key);
        free(e->reason);
        free(e->key);
        free(e);
}

struct retired *retired_free(struct retired *r) {
        struct retired_entry *e;
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

static char *entry_key(const char *region, const char *name) {
        char *key;

        if (asprintf(&key, "%s\n%s", region, name) < 0)
                return NULL;
        return key;
}

struct retired_entry *retired_find(const struct retired *r, const char *region, const char *name) {
        _cleanup_free_ char *key = entry_key(region, name);

        return key ? hashmap_get(r->by_key, key) : NULL;
}

static int set_string(char **p, const char *v) {
        char *copy = v ? strdup(v) : NULL;

        if (v && !copy)
                return -ENOMEM;
        free_and_replace_str(p, copy);
        return 0;
}

int retired_put(struct retired *r, const char *region, const char *name, const char *public_key, const char *reason,
                uint64_t now_usec, struct retired_entry **ret) {
        struct retired_entry *e;

        if (isempty(region) || isempty(name) || isempty(public_key))
                return -EINVAL;
        e = retired_find(r, region, name);
        if (!e) {
                e = calloc(1, sizeof(*e));
                if (!e || !(e->region = strdup(region)) || !(e->name = strdup(name)) ||
                    !(e->key = entry_key(region, name)) || hashmap_put(r->by_key, e->key, e) < 0) {
                        entry_free(e);
                        return -ENOMEM;
                }
        }
        if (set_string(&e->public_key, public_key) < 0 || set_string(&e->reason, reason) < 0)
                return -ENOMEM;
        e->saved_usec = now_usec;
        e->deleted_usec = 0;
        r->dirty = true;
        if (ret)
                *ret = e;
        return 0;
}

void retired_set_deleted(struct retired *r, struct retired_entry *e, uint64_t now_usec) {
        e->deleted_usec = now_usec;
        r->dirty = true;
}

bool retired_iterate(const struct retired *r, size_t *i, struct retired_entry **ret) {
        return hashmap_iterate(r->by_key, i, NULL, (void **) ret);
}

/* ---- as a revocation list ------------------------------------------------------------------ */

/* One list line for e, or 0 (nothing written) when its key does not parse. */
static int entry_line(const struct retired_entry *e, FILE *f) {
        struct sshkey_digests d;
        char fp[RETIRED_FINGERPRINT_MAX];
        const char *error;

        if (sshkey_parse_public(e->public_key, &d, &error) < 0)
                return 0;
        sshkey_format_sha256(d.sha256, fp, sizeof(fp));
        fprintf(f, "%s region=%s", fp, e->region);
        /* A reason holding a quote cannot be quoted: it is left out. */
        if (e->reason && !strchr(e->reason, '"'))
                fprintf(f, " reason=\"%s\"", e->reason);
        fputc('\n', f);
        return 1;
}

int retired_to_revlist(const struct retired *r, struct revlist **ret) {
        _cleanup_free_ char *text = NULL, *path = NULL;
        struct retired_entry *e;
        struct diags d = {};
        size_t size = 0, i = 0;
        FILE *f = open_memstream(&text, &size);
        int k;

        if (!f || asprintf(&path, "%s/" RETIRED_FILE, r->directory) < 0) {
                if (f)
                        fclose(f);
                return -ENOMEM;
        }
        /* Saved keys are revoked ones, deleted or not yet: a kill between the deletion and its record
         * must not let the key go. */
        while (retired_iterate(r, &i, &e))
                (void) entry_line(e, f);
        if (fclose(f) != 0 || !text)
                return -ENOMEM;
        k = revlist_parse(path, text, size, ret, &d);
        diags_clear(&d);
        return k;
}

/* ---- the file ------------------------------------------------------------------------------ */

static int retired_parse(struct retired *r, const char *path, const char *text, size_t size) {
        json_error_t err;
        json_t *root = json_loadb(text, size, JSON_REJECT_DUPLICATES, &err), *entries, *o;
        size_t index;
        int ret = 0;

        if (!root)
                return log_error_errno(-EBADMSG, "%s:%d:%d: %s", path, err.line, err.column, err.text);
        entries = json_object_get(root, "keypairs");
        if (json_integer_value(json_object_get(root, "version")) != RETIRED_VERSION || !json_is_array(entries))
                ret = log_error_errno(-EBADMSG, "%s: not a version %d record of deleted key pairs", path,
                                      RETIRED_VERSION);
        json_array_foreach(entries, index, o) {
                const char *region, *name, *public_key, *reason = NULL;
                json_int_t saved, deleted;
                struct retired_entry *e = NULL;

                if (ret < 0)
                        break;
                if (json_unpack(o, "{s:s, s:s, s:s, s?s, s:I, s:I}", "region", &region, "name", &name, "public_key",
                                &public_key, "reason", &reason, "saved_usec", &saved, "deleted_usec", &deleted) < 0 ||
                    saved < 0 || deleted < 0) {
                        ret = log_error_errno(-EBADMSG, "%s: entry %zu is invalid", path, index);
                        break;
                }
                ret = retired_put(r, region, name, public_key, reason, (uint64_t) saved, &e);
                if (ret == -EINVAL)
                        ret = log_error_errno(-EBADMSG, "%s: entry %zu has an empty field", path, index);
                if (ret >= 0)
                        e->deleted_usec = (uint64_t) deleted;
        }
        json_decref(root);
        r->dirty = false;
        return ret;
}

int retired_load(const char *directory, struct retired **ret) {
        _cleanup_(retired_freep) struct retired *r = calloc(1, sizeof(*r));
        _cleanup_free_ char *path = NULL, *text = NULL;
        _cleanup_close_ int fd = -1;
        size_t size = 0;
        int k;

        if (!r || !(r->directory = strdup(directory)) || hashmap_new(&r->by_key) < 0 ||
            asprintf(&path, "%s/" RETIRED_FILE, directory) < 0)
                return -ENOMEM;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW);
        if (fd < 0 && errno != ENOENT)
                return log_error_errno(negative_errno(), "Failed to open %s: %m", path);
        if (fd >= 0) {
                k = fileio_read_fd(fd, RETIRED_FILE_MAX_BYTES, 0, false, &text, &size);
                if (k < 0)
                        return log_error_errno(k, "Failed to read %s: %m", path);
                k = retired_parse(r, path, text, size);
                if (k < 0)
                        return k;
        }
        *ret = TAKE_PTR(r);
        return 0;
}

int retired_save(struct retired *r) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        json_t *root, *entries = json_array();
        struct retired_entry *e;
        size_t i = 0;
        int k;

        if (!r->dirty) {
                json_decref(entries);
                return 0;
        }
        while (entries && retired_iterate(r, &i, &e))
                if (json_array_append_new(entries, json_pack("{s:s, s:s, s:s, s:s*, s:I, s:I}", "region", e->region,
                                                             "name", e->name, "public_key", e->public_key, "reason",
                                                             e->reason, "saved_usec", (json_int_t) e->saved_usec,
                                                             "deleted_usec", (json_int_t) e->deleted_usec)) < 0)
                        json_decref(TAKE_PTR(entries));
        root = entries ? json_pack("{s:i, s:o}", "version", RETIRED_VERSION, "keypairs", entries) : NULL;
        text = root ? json_dumps(root, JSON_COMPACT) : NULL;
        json_decref(root);
        if (!text || asprintf(&path, "%s/" RETIRED_FILE, r->directory) < 0)
                return -ENOMEM;
        k = fileio_write_atomic(path, text, strlen(text), 0600);
        if (k < 0)
                return k;
        r->dirty = false;
        return 0;
}
