/* The launch sources found naming a revoked key pair, in StateDirectory/referenced.json: each is
 * reported once, and again only after it changed, across restarts too. Written atomically, 0600. */
#pragma once

#include "base/hashmap.h"

struct referenced_entry {
        char *region;
        char *source;                   /* "launch-template:ID:VERSION" or "scaling-configuration:ID" */
        char *keypair;
        char *key;                      /* region, source and key pair: the map's key */
        bool is_default;                /* the template's default version (or an Active configuration) */
        uint64_t found_usec;            /* realtime of the pass that first reported it */
};

struct referenced {
        char *directory;
        struct hashmap *by_key;
        bool dirty;
};

/* Reads directory/referenced.json (missing = empty); a corrupt file is -EBADMSG (logged). */
int referenced_load(const char *directory, struct referenced **ret);
/* Writes it if dirty: temp file, fsync, rename, fsync of the directory. */
int referenced_save(struct referenced *r);
struct referenced *referenced_free(struct referenced *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct referenced *, referenced_free);

/* The entry of this source naming this key pair in region, or NULL. */
struct referenced_entry *referenced_find(const struct referenced *r, const char *region, const char *source,
                                         const char *keypair);
/* Adds (or updates) the entry; strings are copied. Marks dirty; -ENOMEM, -EINVAL for empty ones. */
int referenced_put(struct referenced *r, const char *region, const char *source, const char *keypair,
                   bool is_default, uint64_t found_usec);
/* Drops every entry of region (NULL: of every region) that keep (a map of keys, may be NULL)
 * does not hold; marks dirty when one went. */
void referenced_prune_region(struct referenced *r, const char *region, const struct hashmap *keep);

bool referenced_iterate(const struct referenced *r, size_t *i, struct referenced_entry **ret);
/* Sources (a version naming a key pair and carrying keys is one) whose name starts with prefix
 * ("launch-template:", "scaling-configuration:"). */
size_t referenced_count(const struct referenced *r, const char *prefix);
/* The key referenced_find() uses, new; NULL on ENOMEM. */
char *referenced_key(const char *region, const char *source, const char *keypair);
