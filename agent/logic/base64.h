/* Standard padded base64 (RFC 4648, section 4), over OpenSSL's EVP_EncodeBlock/EVP_DecodeBlock. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* The encoding of data[0..n), NUL-terminated, or NULL when out of memory. */
char *base64_encode(const void *data, size_t n);

/* Decodes s[0..n) into buf (room for n / 4 * 3 bytes). Only the canonical encoding is accepted:
 * alphabet characters, at most two '=' at the end, the bits past the last byte zero. -EINVAL. */
int base64_decode_into(const char *s, size_t n, uint8_t *buf, size_t *ret_len);

/* The same into a new buffer, with a NUL after the data (for text). -EINVAL, -ENOMEM. */
int base64_decode(const char *s, size_t n, char **ret, size_t *ret_len);
