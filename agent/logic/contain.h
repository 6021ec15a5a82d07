/* Containment through Cloud Assistant, the pure part: which instances are in scope, the command
 * sent to them (the on-instance script of agent/instance/ with the revoked keys as data), and
 * what its summary line says (no I/O, no clock). */
#pragma once

#include "logic/conf.h"
#include "logic/ecsparse.h"

/* Instances per RunCommand (the oldest documented limit) and per status look. */
#define CONTAIN_BATCH_MAX 50U
/* Base64 CommandContent accepted by every documented RunCommand version. */
#define CONTAIN_CONTENT_MAX 16384U
/* Hex characters of a key set's digest, as the script prints it. */
#define CONTAIN_DIGEST_LEN 16U
/* Characters of a RunCommand ClientToken we make ("kr-" and hex; the API takes 64). */
#define CONTAIN_TOKEN_LEN 35U

/* Whether a listed instance is sent the command: Running Linux, and (Scope=bound) bound to a
 * revoked key pair. Windows and stopped instances never are. */
bool contain_in_scope(enum conf_contain_scope scope, const struct ecs_instance *i, bool bound_to_revoked);

/* The digest the script reports for this key set: the first CONTAIN_DIGEST_LEN hex characters of
 * SHA256 over the keys joined by newlines plus a final newline. buf holds at least 17 bytes. */
void contain_keys_digest(char *const *keys, size_t n, char *buf);

/* The CommandContent (plain text) for keys ("TYPE BLOB" each): a KEYREVOKE_KEYS assignment, then
 * the embedded script. -EINVAL for a key that is not TYPE BLOB (it could not be quoted safely),
 * -E2BIG when its base64 would exceed CONTAIN_CONTENT_MAX, -ENOMEM. */
int contain_command_build(char *const *keys, size_t n, char **ret);

/* Whether one command can carry these keys (contain_command_build() would not say -E2BIG). */
bool contain_keys_fit(char *const *keys, size_t n);

/* Splits keys[0..n) into consecutive runs, each as long as one command can carry: (*ret_ends)[k]
 * is one past the last key of run k, *ret_n the number of runs (one for keys that fit). A key too
 * large for any command is a run of its own (its command says -E2BIG). -ENOMEM. */
int contain_keys_split(char *const *keys, size_t n, size_t **ret_ends, size_t *ret_n);

/* A key set split into runs that fit one command each (contain_keys_split()), with the digests of
 * the whole set and of each run: made once per region and pass, shared by its instances. A set
 * that fits one command is one run, with neither ends nor digests allocated. */
struct contain_runs {
        char *const *keys;                              /* borrowed, sorted */
        size_t n;
        char digest[CONTAIN_DIGEST_LEN + 1];            /* of all n keys */
        size_t n_runs;                                  /* 0 for no keys */
        size_t *ends;                                   /* n_runs > 1: one past each run's last key */
        char (*digests)[CONTAIN_DIGEST_LEN + 1];        /* n_runs > 1: each run's digest */
};

/* keys[0..n) as one run (nothing allocated, nothing to free): the keys one command carries. */
void contain_runs_one(char *const *keys, size_t n, struct contain_runs *ret);
/* keys[0..n) (borrowed, they must outlive *ret) split as contain_keys_split() does. -ENOMEM. */
int contain_runs_split(char *const *keys, size_t n, struct contain_runs *ret);
/* Frees what contain_runs_split() allocated. */
void contain_runs_done(struct contain_runs *r);
/* Run i's keys (*ret_n of them) and digest. */
char *const *contain_runs_keys(const struct contain_runs *r, size_t i, size_t *ret_n);
const char *contain_runs_digest(const struct contain_runs *r, size_t i);

/* The run of r an instance is sent next, by its record: set is the digest of the key set the
 * record is about, sent the digest of the keys last sent (the whole set's or a run's), proved
 * whether the script proved those (NULLs: no record). 0 for a new or changed set (or a run this
 * split does not have), the run after a proved one, the same run after one that failed or is
 * under way; r->n_runs once the whole set is proved (the script only adds to RevokedKeys, so
 * proved runs add up on the host). */
size_t contain_runs_next(const struct contain_runs *r, const char *set, const char *sent, bool proved);

/* Looking at an invocation's results: when the run time seen so far has passed since RunCommand
 * answered (a guess before any run was seen), then, while some instance is still running, after a
 * pause that doubles from CONTAIN_LOOK_AGAIN_MIN_USEC up to CONTAIN_LOOK_AGAIN_MAX_USEC. Before
 * any run time is known, the first invocation is looked at every CONTAIN_LOOK_AGAIN_MIN_USEC for
 * CONTAIN_LEARN_USEC, so that the run time it shows the others is close to the true one. */
#define CONTAIN_RUN_GUESS_USEC (500 * USEC_PER_MSEC)
#define CONTAIN_LEARN_USEC (3 * USEC_PER_SEC)
#define CONTAIN_LOOK_AGAIN_MIN_USEC (250 * USEC_PER_MSEC)
#define CONTAIN_LOOK_AGAIN_MAX_USEC (2 * USEC_PER_SEC)

/* The pause before look number looks (0: the first) of an invocation whose RunCommand answered
 * elapsed_usec ago; run_usec is the shortest time from a RunCommand answer to all its results
 * final seen so far, 0 before any. Before run_usec has passed the look waits for it (an
 * invocation cannot be done sooner than the fastest one seen); after it, the pauses back off;
 * with run_usec 0 they stay short for CONTAIN_LEARN_USEC. */
uint64_t contain_next_look_usec(unsigned looks, uint64_t run_usec, uint64_t elapsed_usec);

/* A ClientToken for one RunCommand: the same digest and instances give the same token, so a
 * call resent after a crash or a lost answer runs only once. buf holds CONTAIN_TOKEN_LEN + 1. */
void contain_client_token(const char *digest, char *const *ids, size_t n, char *buf);

/* The script's summary (the last "KEYREVOKE-CONTAIN v1" line of its output). */
struct contain_summary {
        char status[32];        /* contained, failed, invalid-input */
        unsigned keys;
        char digest[CONTAIN_DIGEST_LEN + 1];
        unsigned removed;
        unsigned files;
        unsigned unclean;
        char sshd[32];
};

/* Parses the summary from output (len bytes, need not be NUL-terminated); -ENOENT when there is
 * none, -EBADMSG when it is malformed. */
int contain_summary_parse(const char *output, size_t len, struct contain_summary *ret);

/* Whether a summary proves containment of the key set sent (n keys, digest): NULL when it does,
 * else the KEYREVOKE_ERROR= to report (a static string). */
const char *contain_summary_verdict(const struct contain_summary *s, size_t n_keys, const char *digest);
