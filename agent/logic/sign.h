/* Alibaba Cloud RPC signature V1 (HMAC-SHA1): canonicalization and signing, no clock reads. */
#pragma once

#include "logic/params.h"

/* RFC 3986 percent-encoding as the signature needs it: A-Z a-z 0-9 - _ . ~ stay, every other
 * byte becomes %XX (uppercase). Returns a new string; -ENOMEM, -E2BIG (too long to encode). */
int sign_percent_encode(const char *s, char **ret);

/* The canonicalized query string: params sorted by name (byte order), encoded, joined by '&'.
 * A parameter named "Signature" is left out. */
int sign_canonical_query(const struct params *p, char **ret);

/* METHOD&%2F&percent-encode(canonical query); -EINVAL unless method is A-Z only (GET, POST). */
int sign_string_to_sign(const char *method, const struct params *p, char **ret);

/* Base64(HMAC-SHA1(secret + "&", string to sign)); -EINVAL for an empty or absurdly long
 * (> 1024 bytes) secret or a bad method, -EIO when OpenSSL fails. */
int sign_v1(const char *method, const struct params *p, const char *secret, char **ret_signature);

/* The full encoded request (canonical query + "&Signature=" + encoded signature), ready to be
 * sent as a query string or a form body. It holds SecurityToken when signed: wipe it after use. */
int sign_encode_request(const char *method, const struct params *p, const char *secret, char **ret);

/* Formats usec since the epoch as UTC "yyyy-MM-ddTHH:mm:ssZ" into buf (at least 21 bytes, else
 * -ENOBUFS); -ERANGE past year 9999. */
int sign_format_timestamp(uint64_t usec, char *buf, size_t size);
