/* The Windows instances already reported as skipped, in StateDirectory/windows.json: each
 * instance and key pair is warned about once, not at every pass, across restarts too; an entry
 * goes when a complete listing of its region no longer shows it. Written atomically, 0600. */
#pragma once

#include "base/hashmap.h"

struct warned {
        char *directory;
        struct hashmap *by_key;         /* "region\ninstance\nkeypair" -> struct warned_entry * */
        bool dirty;
};

/* Reads directory/windows.json (missing = empty); a corrupt file is -EBADMSG (logged). */
int warned_load(const char *directory, struct warned **ret);
/* Writes it if dirty. */
int warned_save(struct warned *w);
struct warned *warned_free(struct warned *w);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct warned *, warned_free);

/* Notes that the pass saw this Windows instance bound to keypair: 1 when it is new (to be
 * reported), 0 when it was reported before; -ENOMEM, -EINVAL for empty strings. */
int warned_see(struct warned *w, const char *region, const char *instance, const char *keypair,
               uint64_t now_usec);

/* The pass listed region to the end: the entries of region it did not see since the last call
 * are dropped (such an instance is reported again if it shows up again). Marks dirty if any. */
void warned_forget_unseen(struct warned *w, const char *region);
