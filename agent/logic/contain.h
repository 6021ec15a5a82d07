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

/* Looking at an invocation's results: the first look after the run time seen so far (or a guess
 * before any), then, while some instance is still running, after a pause that doubles from
 * CONTAIN_LOOK_AGAIN_MIN_USEC up to CONTAIN_LOOK_AGAIN_MAX_USEC. */
#define CONTAIN_RUN_GUESS_USEC (500 * USEC_PER_MSEC)
#define CONTAIN_LOOK_AGAIN_MIN_USEC (250 * USEC_PER_MSEC)
#define CONTAIN_LOOK_AGAIN_MAX_USEC (2 * USEC_PER_SEC)

/* The pause before look number looks (0: the first) of an invocation answered run_usec ago at the
 * earliest; run_usec is the shortest time from a RunCommand answer to all its results final seen
 * so far, 0 before any. */
uint64_t contain_next_look_usec(unsigned looks, uint64_t run_usec);

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
