/* The persistent reboot queue in StateDirectory: one JSON file, written atomically, mode 0600. */
#pragma once

#include "base/hashmap.h"
#include "base/strpool.h"

enum queue_state {
        QUEUE_DETACHING,        /* intent written, DetachKeyPair sent or about to be */
        QUEUE_PENDING,          /* detached, waiting for a window */
        QUEUE_REBOOTING,        /* intent written, RebootInstance sent or about to be */
        QUEUE_DONE,             /* rebooted (or skipped for good): kept for keyrevokectl */
        _QUEUE_STATE_MAX,
};

/* The strings but instance_id are shared copies from the state's pool (thousands of entries hold
 * the same region, key pair and list file): change them with state_set_text(), never free them. */
struct queue_entry {
        char *instance_id;
        const char *region;
        const char *keypair;
        const char *reason;             /* NULL when none */
        enum queue_state state;
        uint64_t detached_usec;         /* realtime when the detach was confirmed (0 before) */
        uint64_t reboot_started_usec;   /* realtime when REBOOTING was written (0 before) */
        const char *start_time_before;  /* instance StartTime seen right before the reboot */
        const char *outcome;            /* for DONE: "completed", "stopped", "not-found", ... */
        uint64_t done_usec;
        unsigned reboot_failures;
        bool reboot_accepted;           /* RebootInstance answered success */
        const char *list;               /* the list file of the entry that revoked it (NULL: unknown) */
        unsigned line;                  /* and its line there (0: unknown) */
        /* Runtime only, never persisted: */
        bool seen_down;                 /* seen not Running since the reboot call */
        bool busy;                      /* a call about this entry is in flight */
};

struct state {
        char *directory;
        struct hashmap *by_instance;    /* instance id -> struct queue_entry * */
        struct strpool *strings;        /* the entries' shared strings */
        bool dirty;
        bool stale_temps_removed;       /* state_save() removed temp files left by a crash */
};

const char *queue_state_to_string(enum queue_state s);
/* The state named s, or -EINVAL. */
int queue_state_from_string(const char *s);

/* An empty queue for directory, without touching the disk (keyrevokectl, before a first run). */
int state_new(const char *directory, struct state **ret);

/* Reads directory/queue.json (missing = empty queue), creating directory (0700) if needed.
 * A corrupt file is an error (-EBADMSG, details logged), never silently dropped. */
int state_load(const char *directory, struct state **ret);

/* Writes the queue if dirty: temp file (0600), fsync, rename, fsync of the directory. */
int state_save(struct state *s);

struct queue_entry *state_find(const struct state *s, const char *instance_id);

/* Adds an entry in QUEUE_DETACHING and marks dirty, or returns the existing one untouched.
 * Returns 1 when added, 0 when it existed; -EINVAL for empty or non-UTF-8 strings. */
int state_add(struct state *s, const char *instance_id, const char *region, const char *keypair,
              const char *reason, struct queue_entry **ret);

/* The intent of a new detach of instance_id: a new entry, or the existing one made DETACHING for
 * keypair and reason with everything of its finished cycle (reboot fields, outcome) reset.
 * -EBUSY when its reboot is in flight (QUEUE_REBOOTING): that has to settle first. Marks dirty. */
int state_begin_detach(struct state *s, const char *instance_id, const char *region, const char *keypair,
                       const char *reason, struct queue_entry **ret);

/* Records the list file and line of the entry that revoked e; -ENOMEM. Marks dirty. */
int state_set_origin(struct state *s, struct queue_entry *e, const char *list, unsigned line);

/* Points a string member of an entry of s (&e->outcome, ...) at a copy of value (NULL allowed);
 * marks dirty; -ENOMEM leaves it as it was. */
int state_set_text(struct state *s, const char **member, const char *value);

/* Changes an entry's state; marks dirty. */
void state_set(struct state *s, struct queue_entry *e, enum queue_state st);

/* Removes and frees an entry (its detach certainly did not happen); marks dirty. */
void state_remove(struct state *s, struct queue_entry *e);

/* How long finished entries are kept for keyrevokectl before state_prune() drops them. */
#define STATE_DONE_KEEP_USEC (30 * 24 * 3600 * UINT64_C(1000000))

/* Drops DONE entries finished before done_before_usec; returns how many. Marks dirty if any. */
size_t state_prune(struct state *s, uint64_t done_before_usec);

/* Iteration over all entries, in no particular order. */
bool state_iterate(const struct state *s, size_t *i, struct queue_entry **ret);

size_t state_count(const struct state *s, enum queue_state st);

struct state *state_free(struct state *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct state *, state_free);
