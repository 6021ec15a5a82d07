/* Retiring revoked key pairs (DeleteRevokedKeyPairs=): once a complete listing shows no Linux
 * instance of a region bound to one any more, its public key is saved, then it is deleted there.
 * What was deleted keeps being revoked: by its saved key under any name, and by its old name.
 *
 * The evidence is this pass's: its complete listing of the key pair's instances, and the
 * confirmed detach of every Linux one it showed. Not having looked is never evidence.
 *
 * Crash safety: the saved key is the intent, written before DeleteKeyPairs is sent. Whoever sent
 * it (this run, or one killed before the answer was recorded), a later complete listing of the
 * key pairs that no longer shows it settles it as deleted, with its one keypair-deleted. */
#include "base/list.h"
#include "base/log.h"
#include "base/strutil.h"
#include "daemon/retire.h"
#include "io/report.h"

/* KeyPairNames per DeleteKeyPairs (CLOUD-API.md 4.3). */
#define RETIRE_BATCH_MAX 100U

/* Up to RETIRE_BATCH_MAX key pairs of one region, queued or in a DeleteKeyPairs call. */
struct retire_batch {
        struct retire *owner;
        struct pass *pass;              /* while its DeleteKeyPairs is in flight */
        char *region;
        char **names;
        size_t n;
        struct retire_batch *prev, *next;
};

struct retire {
        struct retired *record;
        struct revlist *fingerprints;   /* of the deleted keys, for the pass retire_lists() served */
        struct revlist **lists;
        struct retire_batch *queued;
        struct retire_batch *sent;      /* DeleteKeyPairs in flight */
        bool warned;                    /* a missing permission is said once per run */
};

/* ---- lifecycle ----------------------------------------------------------------------------- */

static void batch_free(struct retire_batch *b) {
        if (!b)
                return;
        strv_free(b->names);
        free(b->region);
        free(b);
}

static void batches_free(struct retire_batch **head) {
        while (*head) {
                struct retire_batch *b = *head;
                LIST_REMOVE(*head, b);
                batch_free(b);
        }
}

int retire_new(struct retired *record, struct retire **ret) {
        struct retire *r = calloc(1, sizeof(*r));

        if (!r)
                return -ENOMEM;
        r->record = record;
        *ret = r;
        return 0;
}

struct retire *retire_free(struct retire *r) {
        if (!r)
                return NULL;
        batches_free(&r->queued);
        batches_free(&r->sent);
        revlist_free(r->fingerprints);
        free(r->lists);
        free(r);
        return NULL;
}

/* ---- what a deleted key pair leaves revoked ------------------------------------------------ */

int retire_lists(struct retire *r, struct revlist *const *lists, size_t n, struct revlist *const **ret,
                 size_t *ret_n) {
        struct revlist **a;
        int k;

        r->fingerprints = revlist_free(r->fingerprints);
        k = retired_to_revlist(r->record, &r->fingerprints);
        if (k < 0)
                return k;
        a = reallocarray(r->lists, n + 1, sizeof(*a));
        if (!a)
                return -ENOMEM;
        r->lists = a;
        for (size_t i = 0; i < n; i++)
                a[i] = lists[i];
        a[n] = r->fingerprints;
        *ret = a;
        *ret_n = r->fingerprints->n_entries > 0 ? n + 1 : n;
        return 0;
}

static bool keypairs_contain(const struct ecs_keypair *kp, size_t n, const char *name) {
        for (size_t i = 0; i < n; i++)
                if (streq(kp[i].name, name))
                        return true;
        return false;
}

int retire_extend_keypairs(const struct retire *r, const char *region, struct ecs_keypair **keypairs, size_t *n) {
        struct retired_entry *e;
        size_t i = 0;

        while (retired_iterate(r->record, &i, &e)) {
                struct ecs_keypair *a;

                /* Deleted, or its deletion settled at the end of this pass (retire_settle_region()). */
                if (!streq(e->region, region) || keypairs_contain(*keypairs, *n, e->name))
                        continue;
                a = reallocarray(*keypairs, *n + 1, sizeof(*a));
                if (!a)
                        return -ENOMEM;
                *keypairs = a;
                a[*n] = (struct ecs_keypair) { .name = strdup(e->name), .public_key = strdup(e->public_key) };
                if (!a[*n].name || !a[*n].public_key) {
                        free(a[*n].name);
                        free(a[*n].public_key);
                        return -ENOMEM;
                }
                (*n)++;
        }
        return 0;
}

/* ---- deciding ------------------------------------------------------------------------------ */

/* Every Linux instance the listing showed bound now waits for its reboot: this pass detached it
 * (a detach that failed or was not confirmed leaves no PENDING entry). */
static bool candidate_all_detached(const struct pass *p, const struct retire_candidate *c) {
        for (size_t i = 0; i < c->n_linux; i++) {
                const struct queue_entry *e = state_find(p->state, c->linux_ids[i]);

                if (!e || e->state != QUEUE_PENDING || !streq(e->keypair, c->keypair) || !streq(e->region, c->region))
                        return false;
        }
        return true;
}

static struct retire_batch *retire_batch_for(struct retire *r, const char *region) {
        struct retire_batch *b;

        for (b = r->queued; b; b = b->next)
                if (streq(b->region, region) && b->n < RETIRE_BATCH_MAX)
                        return b;
        b = calloc(1, sizeof(*b));
        if (!b || !(b->region = strdup(region))) {
                free(b);
                return NULL;
        }
        b->owner = r;
        LIST_PREPEND(r->queued, b);
        return b;
}

/* Whether key pair name of region is revoked by more than its own saved key (which keeps an intent's
 * key revoked while the intent lasts): by an entry of the lists, or by the key of another key
 * pair deleted there. why: the first entry that matched it, NULL when none did. */
static bool retire_wanted(const struct retire *r, const char *region, const char *name, const char *public_key,
                          const struct planner_entry *why) {
        if (!why)
                return false;
        if (why->list != r->fingerprints)
                return true;
        return public_key && retired_key_deleted_elsewhere(r->record, region, name, public_key);
}

int retire_consider(struct retire *r, struct pass *p, const struct retire_candidate *c) {
        struct retire_batch *b;
        int k;

        if (!c->public_key || !candidate_all_detached(p, c) ||
            !retire_wanted(r, c->region, c->keypair, c->public_key, c->why))
                return 0;
        if (p->dry_run) {
                log_info("Would delete key pair '%s' in %s: no Linux instance is bound to it any more (dry run)",
                         c->keypair, c->region);
                return 0;
        }
        k = retired_put(r->record, c->region, c->keypair, c->public_key, c->why->entry->reason, pass_now(p), NULL);
        if (k < 0)
                return k;
        b = retire_batch_for(r, c->region);
        if (!b || strv_extend(&b->names, c->keypair) < 0)
                return -ENOMEM;
        b->n++;
        return 0;
}

/* ---- deleting ------------------------------------------------------------------------------ */

static bool code_is_permission(const char *code) {
        return code && (startswith(code, "Forbidden") || startswith(code, "NoPermission"));
}

/* keypair-deleted for key pair name of region, recorded as deleted (e may be NULL: not saved). The
 * event goes out before the record is saved: a kill between them repeats it rather than lose it. */
static void report_deleted(struct retired *record, struct retired_entry *e, const char *region, const char *name,
                           const char *request_id, const char *how, struct pass *p) {
        struct event_fields f = { .keypair = name, .region = region, .request_id = request_id,
                                  .reason = e ? e->reason : NULL };

        if (e)
                retired_set_deleted(record, e, pass_now(p));
        report_event(EVENT_KEYPAIR_DELETED, &f,
                     "Deleted revoked key pair '%s' in %s: no Linux instance is bound to it any more, and nothing "
                     "new can be launched with it (its public key stays revoked)%s",
                     name, region, how);
}

static void save_deleted(struct retired *record) {
        int k = retired_save(record);

        if (k < 0)
                log_error_errno(k, "Failed to save the deleted key pairs in %s: %m", record->directory);
}

static void batch_deleted(struct retire_batch *b, struct pass *p, const struct ecs_result *res) {
        struct retired *record = b->owner->record;

        for (size_t i = 0; i < b->n; i++)
                report_deleted(record, retired_find(record, b->region, b->names[i]), b->region, b->names[i],
                               res->request_id, "", p);
        save_deleted(record);
}

static void batch_failed(struct retire_batch *b, struct pass *p, const struct ecs_result *res) {
        if (code_is_permission(res->code)) {
                if (!b->owner->warned)
                        log_warning("Missing RAM permission ecs:DeleteKeyPairs (%s, request %s): revoked key pairs "
                                    "are not deleted; grant it, or set DeleteRevokedKeyPairs=no. Detaches go on.",
                                    res->code, strna(res->request_id));
                b->owner->warned = true;
                return;
        }
        p->counts.failed++;
        log_error("Could not delete %zu revoked key pair(s) in %s ('%s'%s; request %s): %s%s%s; tried again at the "
                  "next pass",
                  b->n, b->region, b->names[0], b->n > 1 ? ", ..." : "", strna(res->request_id), pass_error_name(res),
                  res->message ? ": " : "", strempty(res->message));
}

static void delete_done_cb(const struct ecs_result *res, void *userdata) {
        struct retire_batch *b = userdata;
        struct pass *p = b->pass;

        if (res->error < 0)
                batch_failed(b, p, res);
        else
                batch_deleted(b, p, res);
        LIST_REMOVE(b->owner->sent, b);
        batch_free(b);
        pass_release(p);
}

static int batch_send(struct retire_batch *b, struct pass *p) {
        struct params params = {};

        b->pass = p;
        if (params_add(&params, "RegionId", b->region) < 0 ||
            params_add_id_array(&params, "KeyPairNames", b->names, b->n) < 0) {
                params_done(&params);
                return -ENOMEM;
        }
        return pass_call(p, b->region, "DeleteKeyPairs", &params, delete_done_cb, b);
}

void retire_flush(struct retire *r, struct pass *p) {
        int k;

        if (!r->queued)
                return;
        /* The keys first: once deleted, the API no longer tells them. */
        k = retired_save(r->record);
        if (k < 0) {
                p->counts.failed++;
                log_error_errno(k, "Not deleting any key pair: their public keys could not be saved in %s: %m",
                                r->record->directory);
                return batches_free(&r->queued);
        }
        while (r->queued) {
                struct retire_batch *b = r->queued;

                LIST_REMOVE(r->queued, b);
                if (batch_send(b, p) < 0) {
                        p->counts.failed++;
                        batch_free(b);
                        continue;
                }
                LIST_PREPEND(r->sent, b);
        }
}

/* ---- deletions started before --------------------------------------------------------------- */

/* Forgets the intents of region's key pairs still listed that are no longer to be deleted. */
static void drop_unwanted(struct retire *r, const char *region, bool deleting, retire_why_fn why, void *userdata) {
        struct retired_entry *e;
        size_t i = 0;

        while (retired_iterate(r->record, &i, &e))
                if (e->deleted_usec == 0 && streq(e->region, region) &&
                    !(deleting && retire_wanted(r, region, e->name, e->public_key, why(e->name, userdata)))) {
                        log_info("Not deleting key pair '%s' in %s any more: %s", e->name, region,
                                 deleting ? "it is no longer revoked" : "DeleteRevokedKeyPairs=no");
                        retired_remove(r->record, e);
                }
}

void retire_settle_region(struct retire *r, struct pass *p, const char *region, const struct ecs_keypair *listed,
                          size_t n_listed, bool deleting, retire_why_fn why, void *userdata) {
        struct retired_entry *e;
        size_t i = 0;

        if (p->dry_run)
                return;
        /* The gone ones first: deleted, one may keep another one of the same key wanted. */
        while (retired_iterate(r->record, &i, &e))
                if (e->deleted_usec == 0 && streq(e->region, region) && !keypairs_contain(listed, n_listed, e->name))
                        report_deleted(r->record, e, region, e->name, NULL,
                                       " (found deleted: its DeleteKeyPairs went unanswered, or was sent before a "
                                       "restart)", p);
        drop_unwanted(r, region, deleting, why, userdata);
        save_deleted(r->record);
}
