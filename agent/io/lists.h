/* The revocation directory: reading every *.list in it, reporting what was loaded or rejected. */
#pragma once

#include <sys/types.h>

#include "base/diag.h"
#include "logic/revlist.h"

struct lists {
        struct revlist **items;
        size_t n;
};

/* Reads one list file with revlist_load()'s checks; for another allowed_uid than the caller's
 * (see io/svcuser.h), that user must be able to open it too. A region= naming a misspelt region
 * is a problem too, although the entry is kept. Problems go to d. */
int lists_load_file(const char *path, uid_t allowed_uid, struct revlist **ret, struct diags *d);

/* Reads every list file of directory in lexical order with lists_load_file(). Each problem is added to d; with
 * report set, each list also produces a list-loaded or list-error event. A missing directory
 * is one problem, not an error. Returns -ENOMEM only. */
int lists_load(const char *directory, uid_t allowed_uid, bool report, struct lists *ret, struct diags *d);

/* Total entries over all lists. */
size_t lists_count_entries(const struct lists *l);

void lists_done(struct lists *l);
