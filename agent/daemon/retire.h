/* Retiring revoked key pairs (DeleteRevokedKeyPairs=): once a complete listing shows no Linux
 * instance of a region bound to one any more, its public key is saved, then it is deleted there.
 * What was deleted keeps being revoked: by its saved key under any name, and by its old name. */
#pragma once

#include "daemon/pass.h"
#include "io/retired.h"
#include "logic/planner.h"

struct retire;

/* A retirer keeping its record in record (borrowed; it must outlive the retirer). */
int retire_new(struct retired *record, struct retire **ret);
/* Frees what is queued; calls in flight belong to the ECS client (freed with it, or cancelled
 * first: no callback may follow). */
struct retire *retire_free(struct retire *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct retire *, retire_free);

/* The lists a pass enforces: lists, and when a key pair was deleted, the fingerprint list of the
 * deleted keys (retired_to_revlist()). *ret is borrowed until the next call or retire_free(). */
int retire_lists(struct retire *r, struct revlist *const *lists, size_t n, struct revlist *const **ret,
                 size_t *ret_n);

/* Appends to a region's complete key pair listing the saved ones it does not show (deleted: name
 * and saved key), so that entries naming them still match and containment still knows the key. */
int retire_extend_keypairs(const struct retire *r, const char *region, struct ecs_keypair **keypairs, size_t *n);

/* A revoked key pair of one region, its listing complete. */
struct retire_candidate {
        const char *region;
        const char *keypair;
        const char *public_key;         /* as DescribeKeyPairs gave it */
        const struct planner_entry *why;
        char *const *linux_ids;         /* the Linux instances the listing showed bound */
        size_t n_linux;
};

/* Queues c's key pair for deletion when every Linux instance the listing showed bound was
 * detached from it in this pass (Windows ones do not hold it back); in dry run only logs it.
 * -ENOMEM. */
int retire_consider(struct retire *r, struct pass *p, const struct retire_candidate *c);

/* Saves the queued public keys, then deletes the key pairs, at most 100 names per DeleteKeyPairs
 * (keypair-deleted each). The calls hold p. */
void retire_flush(struct retire *r, struct pass *p);

/* Why a key pair of the region is revoked in this pass (the first entry that matched it), NULL
 * when it is not. */
typedef const struct planner_entry *(*retire_why_fn)(const char *keypair, void *userdata);

/* A complete listing of region's key pairs (listed: what DescribeKeyPairs showed) settles the
 * deletions started before (their key saved, DeleteKeyPairs sent or about to be, by this run or a
 * killed one): a key pair no longer listed was deleted (keypair-deleted, once); one still listed
 * is kept to be tried again while deleting (DeleteRevokedKeyPairs=) and it is revoked by more than
 * its own saved key, else forgotten. The record is saved. Nothing in dry run. */
void retire_settle_region(struct retire *r, struct pass *p, const char *region, const struct ecs_keypair *listed,
                          size_t n_listed, bool deleting, retire_why_fn why, void *userdata);
