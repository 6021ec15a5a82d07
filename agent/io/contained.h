/* The containment record in StateDirectory/contained.json: which instances were sent the Cloud
 * Assistant command, with which key set, and how it ended. Written atomically, mode 0600. */
#pragma once

#include "base/hashmap.h"

enum contained_status {
        CONTAINED_SENDING,      /* intent written, RunCommand sent or about to be */
        CONTAINED_RUNNING,      /* RunCommand answered: the invocation is followed */
        CONTAINED_DONE,         /* the summary proved the key set blocked */
        CONTAINED_PARTIAL,      /* runs of a set too large for one command proved, up to the one in
                                 * digest; the next one is still to be sent */
        CONTAINED_FAILED,       /* tried and failed: tried again at the next pass */
        _CONTAINED_STATUS_MAX,
};

struct contained_entry {
        char *instance_id;
        char *region;
        char *digest;                   /* of the key set sent */
        char *set;                      /* a set sent in runs: its digest, NULL once it is DONE (and for
                                         * a set that fits one command: digest is the set's) */
        char *token;                    /* ClientToken of its RunCommand */
        char *invoke_id;                /* NULL before RunCommand answered */
        char *error;                    /* CONTAINED_FAILED: why */
        enum contained_status status;
        unsigned keys;                  /* keys sent (in the whole set once it is DONE) */
        unsigned attempts;              /* RunCommand attempts for this key set */
        unsigned removed;               /* authorized-keys lines its proved runs removed */
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
/* The digest of the whole key set e is about (its set, else its digest). */
const char *contained_entry_set(const struct contained_entry *e);

/* The entry of instance_id made a SENDING intent for these keys (digest, keys of them) and token:
 * set is the digest of the whole set when the keys are one run of it, else NULL. Created, or reset
 * from an earlier one; a new set starts a new exposure (attempts and removed count within one set).
 * Marks dirty; -ENOMEM/-EINVAL. */
int contained_begin(struct contained *c, const char *instance_id, const char *region, const char *digest,
                    unsigned keys, const char *set, const char *token, uint64_t now_usec,
                    struct contained_entry **ret);

/* Records that instance_id was found exposed to these keys (set as for contained_begin()) but could
 * not be sent the command (error, e.g. "agent-offline"): the entry (created if needed) is made
 * FAILED, so that it counts as uncontained from its first sighting. Marks dirty; -ENOMEM/-EINVAL. */
int contained_note_unsent(struct contained *c, const char *instance_id, const char *region, const char *digest,
                          unsigned keys, const char *set, const char *error, uint64_t now_usec);

/* The last keys sent to e proved its whole set blocked: DONE, its digest the set's (of keys keys),
 * as for a set that fits one command. Marks dirty; -ENOMEM. */
int contained_complete(struct contained *c, struct contained_entry *e, unsigned keys, uint64_t now_usec);

/* Sets e's status (and invoke id or error, copied, where given); marks dirty; -ENOMEM. */
int contained_set(struct contained *c, struct contained_entry *e, enum contained_status s, const char *invoke_id,
                  const char *error, uint64_t now_usec);

/* Keeps the keys of a digest (copied), so that an intent can be sent again after a restart. */
int contained_put_keyset(struct contained *c, const char *digest, char *const *keys, size_t n);
/* The keys kept for digest (NULL-terminated, borrowed), or NULL. */
char **contained_get_keyset(const struct contained *c, const char *digest);

bool contained_iterate(const struct contained *c, size_t *i, struct contained_entry **ret);
size_t contained_count(const struct contained *c, enum contained_status s);
