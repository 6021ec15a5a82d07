/* Revoked key pairs that keyrevoked deletes (DeleteRevokedKeyPairs=), in
 * StateDirectory/retired.json: each public key is saved before its key pair is deleted, so that
 * entries keep matching it (a re-import under another name) and containment still knows it.
 * Written atomically, mode 0600. */
#pragma once

#include "base/hashmap.h"
#include "logic/revlist.h"

struct retired_entry {
        char *region;
        char *name;
        char *public_key;
        char *reason;                   /* of the entry that revoked it; NULL when none */
        char *key;                      /* region and name: the map's key */
        uint64_t saved_usec;            /* realtime the public key was saved */
        uint64_t deleted_usec;          /* realtime DeleteKeyPairs succeeded; 0 before */
};

struct retired {
        char *directory;
        struct hashmap *by_key;
        bool dirty;
};

/* Reads directory/retired.json (missing = empty); a corrupt file is -EBADMSG (logged). */
int retired_load(const char *directory, struct retired **ret);
/* Writes it if dirty: temp file, fsync, rename, fsync of the directory. */
int retired_save(struct retired *r);
struct retired *retired_free(struct retired *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct retired *, retired_free);

struct retired_entry *retired_find(const struct retired *r, const char *region, const char *name);
/* Saves the public key of key pair name in region, to be deleted (a deleted entry of the same
 * name is made pending again: the name was imported anew). Strings are copied; marks dirty;
 * -EINVAL for an empty field, -ENOMEM. */
int retired_put(struct retired *r, const char *region, const char *name, const char *public_key, const char *reason,
                uint64_t now_usec, struct retired_entry **ret);
void retired_set_deleted(struct retired *r, struct retired_entry *e, uint64_t now_usec);
/* Forgets e (freed; marks dirty). */
void retired_remove(struct retired *r, struct retired_entry *e);
/* Whether a key pair of region other than name was deleted with the same public key (same SHA256
 * digest). */
bool retired_key_deleted_elsewhere(const struct retired *r, const char *region, const char *name,
                                   const char *public_key);

bool retired_iterate(const struct retired *r, size_t *i, struct retired_entry **ret);

/* A revocation list (path: the record's file) with one SHA256 fingerprint entry per saved key
 * (deleted or about to be), limited to its region, with its reason: the key stays revoked under
 * any name. Keys that do not parse are left out. -ENOMEM. */
int retired_to_revlist(const struct retired *r, struct revlist **ret);
