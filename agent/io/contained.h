/* The containment record in StateDirectory/contained.json: which instances were sent the Cloud
 * Assistant command, with which key set, and how it ended. Written atomically, mode 0600. */
#pragma once

#include "base/hashmap.h"

enum contained_status {
        CONTAINED_SENDING,      /* intent written, RunCommand sent or about to be */
        CONTAINED_RUNNING,      /* RunCommand answered: the invocation is followed */
        CONTAINED_DONE,         /* the summary proved the key set blocked */
        CONTAINED_FAILED,       /* tried and failed: tried again at the next pass */
        _CONTAINED_STATUS_MAX,
};

struct contained_entry {
        char *instance_id;
        char *region;
        char *digest;                   /* of the key set sent */
        char *token;                    /* ClientToken of its RunCommand */
        char *invoke_id;                /* NULL before RunCommand answered */
        char *error;                    /* CONTAINED_FAILED: why */
        enum contained_status status;
        unsigned keys;                  /* keys in the set */
        unsigned attempts;              /* RunCommand attempts for this key set */
        unsigned removed;               /* authorized-keys lines the last run removed */
        uint64_t found_usec;            /* realtime when first found exposed with this key set */
        uint64_t updated_usec;
        bool busy;                      /* runtime only: a call about it is in flight */
};

struct contained {
        char *directory;
        struct hashmap *by_instance;
        struct hashmap *keysets;        /* digest -> NULL-terminated strv of "TYPE BLOB" */
        bool dirty;
};

const char *contained_status_to_string(enum contained_status s);

/* Reads directory/contained.json (missing = empty); a corrupt file is -EBADMSG (logged). */
int contained_load(const char *directory, struct contained **ret);
/* Writes it if dirty: temp file, fsync, rename, fsync of the directory. */
int contained_save(struct contained *c);
struct contained *contained_free(struct contained *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct contained *, contained_free);

struct contained_entry *contained_find(const struct contained *c, const char *instance_id);

/* The entry of instance_id made a SENDING intent for this key set and token (created, or reset
 * from an earlier one; attempts counts the tries of one key set). Marks dirty; -ENOMEM/-EINVAL. */
int contained_begin(struct contained *c, const char *instance_id, const char *region, const char *digest,
                    unsigned keys, const char *token, uint64_t now_usec, struct contained_entry **ret);

/* Records that instance_id was found exposed to this key set but could not be sent the command
 * (error, e.g. "agent-offline"): the entry (created if needed) is made FAILED, so that it counts as
 * uncontained from its first sighting. Marks dirty; -ENOMEM/-EINVAL. */
int contained_note_unsent(struct contained *c, const char *instance_id, const char *region, const char *digest,
                          unsigned keys, const char *error, uint64_t now_usec);

/* Sets e's status (and invoke id or error, copied, where given); marks dirty; -ENOMEM. */
int contained_set(struct contained *c, struct contained_entry *e, enum contained_status s, const char *invoke_id,
                  const char *error, uint64_t now_usec);

/* Keeps the keys of a digest (copied), so that an intent can be sent again after a restart. */
int contained_put_keyset(struct contained *c, const char *digest, char *const *keys, size_t n);
/* The keys kept for digest (NULL-terminated, borrowed), or NULL. */
char **contained_get_keyset(const struct contained *c, const char *digest);

bool contained_iterate(const struct contained *c, size_t *i, struct contained_entry **ret);
size_t contained_count(const struct contained *c, enum contained_status s);
