/* A launch source's UserData, searched for revoked public keys: cloud-init and boot scripts can
 * install keys without any key pair (cloud-config ssh_authorized_keys, an echo into
 * authorized_keys), so a launch template or scaling configuration can bring a revoked key back
 * under any key pair name (CLOUD-API.md, "Launch templates"). Pure. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Decoded UserData larger than this is not searched (ECS takes 32 KB of Base64 at most). */
#define USERDATA_MAX_BYTES (64U * 1024U)

enum userdata_form {
        USERDATA_TEXT,          /* decoded: searchable */
        USERDATA_COMPRESSED,    /* gzip (cloud-init accepts it): cannot be searched here */
        USERDATA_UNDECODABLE,   /* not Base64, or too large */
};

/* Decodes Base64 UserData (ASCII whitespace ignored) into a new buffer (*ret, *ret_len; NUL after
 * the data) when it is USERDATA_TEXT; otherwise *ret is NULL. -ENOMEM. */
int userdata_decode(const char *base64, enum userdata_form *ret_form, char **ret, size_t *ret_len);

/* Whether text[0..len) holds the blob of key ("TYPE BLOB") as a whole Base64 word: not part of a
 * longer one, so that a key whose blob starts like a revoked one does not match. */
bool userdata_carries_key(const char *text, size_t len, const char *key);
