/* Revocation lists: parsing *.list files into entries, with the file safety checks. */
#pragma once

#include <sys/types.h>

#include "base/diag.h"
#include "logic/sshkey.h"

#define REVLIST_FILE_MAX_BYTES (16U * 1024U * 1024U)
#define REVLIST_LINE_MAX_BYTES (16U * 1024U)
#define REVLIST_ENTRIES_MAX (1024U * 1024U) /* per file; later entry lines are bad lines */
#define REVLIST_BAD_LINES_MAX 100U          /* per file; one more diag says the rest were cut */

enum revlist_kind {
        REVLIST_NAME,        /* a key pair name, exact match */
        REVLIST_PUBLIC_KEY,  /* an OpenSSH public key line: matched by its SHA256 digest */
        REVLIST_SHA256,      /* SHA256: fingerprint */
        REVLIST_MD5,         /* MD5: fingerprint */
        _REVLIST_KIND_MAX,
};

struct revlist_entry {
        enum revlist_kind kind;
        char *name;                          /* REVLIST_NAME only */
        char *public_key;                    /* REVLIST_PUBLIC_KEY only: "TYPE BLOB" */
        uint8_t digest[SSHKEY_SHA256_LEN];   /* SHA256 for PUBLIC_KEY/SHA256, first 16 bytes MD5 */
        char **regions;                      /* region= option; NULL = every region */
        char *reason;                        /* reason= option; NULL when absent */
        unsigned line;
};

struct revlist {
        char *path;
        struct revlist_entry *entries;
        size_t n_entries;
};

const char *revlist_kind_to_string(enum revlist_kind k);

/* Parses a buffer (need not be NUL-terminated). Bad lines are appended to d as path:line; the
 * valid entries are kept, in file order, duplicates included. Returns 0 (even with bad lines),
 * -ENOMEM. */
int revlist_parse(const char *path, const char *text, size_t len, struct revlist **ret, struct diags *d);

/* Opens and checks one file (regular after links, owner root or allowed_uid, not writable by
 * group/others, at most REVLIST_FILE_MAX_BYTES), then parses it. A rejected file is one diag
 * with line 0 and a negative return (-EPERM, -EFBIG, -EINVAL, -errno from open). */
int revlist_load(const char *path, uid_t allowed_uid, struct revlist **ret, struct diags *d);

/* True when name is a list file name: "*.list", not hidden. */
bool revlist_is_list_name(const char *name);

/* True when the entry applies in region (no region= option, or region listed). */
bool revlist_entry_in_region(const struct revlist_entry *e, const char *region);

/* True when the key pair's digests match a key or fingerprint entry. */
bool revlist_entry_matches_key(const struct revlist_entry *e, const struct sshkey_digests *d);

struct revlist *revlist_free(struct revlist *l);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct revlist *, revlist_free);
