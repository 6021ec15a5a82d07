/* OpenSSH public keys and fingerprints: parsing and SHA256/MD5 digests of key blobs. */
#pragma once

#include "base/macro.h"

#define SSHKEY_SHA256_LEN 32
#define SSHKEY_MD5_LEN 16
#define SSHKEY_BLOB_MAX 16384

struct sshkey_digests {
        uint8_t sha256[SSHKEY_SHA256_LEN];
        uint8_t md5[SSHKEY_MD5_LEN];
};

/* True for the key type tokens an authorized_keys / RevokedKeys line may start with. */
bool sshkey_is_type(const char *token);

/* Parses "TYPE BASE64 [comment]" (one line); the blob must decode and its embedded type string
 * must equal TYPE. Fills the digests of the decoded blob. -EINVAL with a reason in *ret_error
 * (static string) on bad input. */
int sshkey_parse_public(const char *line, struct sshkey_digests *ret, const char **ret_error);

/* "TYPE BLOB" of a public key line (options before it are not allowed, a comment after it is
 * dropped), as a new string; -EINVAL unless it starts with a key type and a base64 blob. */
int sshkey_type_and_blob(const char *line, char **ret);

/* Parses "SHA256:" + 43 unpadded base64 chars into 32 bytes. */
int sshkey_parse_sha256(const char *token, uint8_t ret[SSHKEY_SHA256_LEN]);
/* Parses "MD5:" + 16 colon-separated hex pairs (either case) into 16 bytes. */
int sshkey_parse_md5(const char *token, uint8_t ret[SSHKEY_MD5_LEN]);

/* Formats "SHA256:..." as ssh-keygen prints it; buf at least 52 bytes. */
void sshkey_format_sha256(const uint8_t d[SSHKEY_SHA256_LEN], char *buf, size_t size);
