/* Revoked key pairs that keyrevoked deletes (DeleteRevokedKeyPairs=), in
 * StateDirectory/retired.json: each public key is saved before its key pair is deleted, so that
 * entries keep matching it (a re-import under another name) and containment still knows it.
 * Written atomically, mode 0600. */
#include "base/log.h"
#include "base/strutil.h"
#include "io/record.h"
#include "io/retired.h"

static const struct record_type retired_record = {
        .name = "retired.json",
        .what = "record of deleted key pairs",
        .max_bytes = (size_t) 64 * 1024 * 1024,
        .version = 1,
        .list = "keypairs",
};
/* "SHA256:" and 43 characters. */
#define RETIRED_FINGERPRINT_MAX 64

static void entry_free(void *p) {
        struct retired_entry *e = p;

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
        if (!r)
                return NULL;
        hashmap_free_with(r->by_key, entry_free);
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
        if (free_and_strdup(&e->public_key, public_key) < 0 || free_and_strdup(&e->reason, reason) < 0)
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

void retired_remove(struct retired *r, struct retired_entry *e) {
        (void) hashmap_remove(r->by_key, e->key);
        entry_free(e);
        r->dirty = true;
}

bool retired_key_deleted_elsewhere(const struct retired *r, const char *region, const char *name,
                                   const char *public_key) {
        struct sshkey_digests want, d;
        struct retired_entry *e;
        const char *error;
        size_t i = 0;

        if (sshkey_parse_public(public_key, &want, &error) < 0)
                return false;
        while (retired_iterate(r, &i, &e))
                if (e->deleted_usec > 0 && streq(e->region, region) && !streq(e->name, name) &&
                    sshkey_parse_public(e->public_key, &d, &error) >= 0 &&
                    memcmp(d.sha256, want.sha256, sizeof(d.sha256)) == 0)
                        return true;
        return false;
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

        if (!f || asprintf(&path, "%s/%s", r->directory, retired_record.name) < 0) {
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

static int retired_parse(void *userdata, const struct record *rec) {
        struct retired *r = userdata;
        size_t index;
        json_t *o;
        int ret;

        json_array_foreach(rec->list, index, o) {
                const char *region, *name, *public_key, *reason = NULL;
                json_int_t saved, deleted;
                struct retired_entry *e = NULL;

                if (json_unpack(o, "{s:s, s:s, s:s, s?s, s:I, s:I}", "region", &region, "name", &name, "public_key",
                                &public_key, "reason", &reason, "saved_usec", &saved, "deleted_usec", &deleted) < 0 ||
                    saved < 0 || deleted < 0)
                        return log_error_errno(-EBADMSG, "%s: entry %zu is invalid", rec->path, index);
                ret = retired_put(r, region, name, public_key, reason, (uint64_t) saved, &e);
                if (ret == -EINVAL)
                        return log_error_errno(-EBADMSG, "%s: entry %zu has an empty field", rec->path, index);
                if (ret < 0)
                        return ret;
                e->deleted_usec = (uint64_t) deleted;
        }
        r->dirty = false;
        return 0;
}

int retired_load(const char *directory, struct retired **ret) {
        _cleanup_(retired_freep) struct retired *r = calloc(1, sizeof(*r));
        int k;

        if (!r || !(r->directory = strdup(directory)) || hashmap_new(&r->by_key) < 0)
                return -ENOMEM;
        k = record_load(&retired_record, directory, retired_parse, r);
        if (k < 0)
                return k;
        *ret = TAKE_PTR(r);
        return 0;
}

static json_t *entry_to_json(const void *entry) {
        const struct retired_entry *e = entry;

        return json_pack("{s:s, s:s, s:s, s:s*, s:I, s:I}", "region", e->region, "name", e->name, "public_key",
                         e->public_key, "reason", e->reason, "saved_usec", (json_int_t) e->saved_usec,
                         "deleted_usec", (json_int_t) e->deleted_usec);
}

int retired_save(struct retired *r) {
        return record_save_list(&retired_record, r->directory, &r->dirty, r->by_key, entry_to_json, NULL);
}
