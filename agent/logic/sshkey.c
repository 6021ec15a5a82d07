/* OpenSSH public keys and fingerprints: parsing and SHA256/MD5 digests of key blobs. */
#include <openssl/evp.h>

#include "logic/base64.h"
#include "logic/sshkey.h"

#define SSHKEY_SEPARATORS " \t\r\n"
/* Longest padded base64 text whose decoded blob can still fit in SSHKEY_BLOB_MAX. */
#define SSHKEY_BASE64_MAX (((SSHKEY_BLOB_MAX + 2) / 3) * 4)
#define SSHKEY_SHA256_PREFIX "SHA256:"
#define SSHKEY_SHA256_BASE64_LEN 43
#define SSHKEY_MD5_PREFIX "MD5:"

/* The layout of each plain key type's blob: the type string, then n_fields SSH strings. */
static const struct sshkey_type {
        const char *name;
        unsigned n_fields;
        const char *curve; /* ECDSA: required content of the first field */
        uint32_t key_len;  /* Ed25519: required length of the first field */
} sshkey_types[] = {
        { .name = "ssh-rsa", .n_fields = 2 },
        { .name = "ssh-dss", .n_fields = 4 },
        { .name = "ssh-ed25519", .n_fields = 1, .key_len = 32 },
        { .name = "ecdsa-sha2-nistp256", .n_fields = 2, .curve = "nistp256" },
        { .name = "ecdsa-sha2-nistp384", .n_fields = 2, .curve = "nistp384" },
        { .name = "ecdsa-sha2-nistp521", .n_fields = 2, .curve = "nistp521" },
        /* curve, point, application */
        { .name = "sk-ecdsa-sha2-nistp256@openssh.com", .n_fields = 3, .curve = "nistp256" },
        /* key, application */
        { .name = "sk-ssh-ed25519@openssh.com", .n_fields = 2, .key_len = 32 },
};

/* A cursor over a key blob. */
struct sshkey_reader {
        const uint8_t *p;
        size_t left;
};

static const struct sshkey_type *sshkey_type_find(const char *s, size_t n) {
        for (size_t i = 0; i < ELEMENTSOF(sshkey_types); i++)
                if (strlen(sshkey_types[i].name) == n && memcmp(sshkey_types[i].name, s, n) == 0)
                        return &sshkey_types[i];
        return NULL;
}

bool sshkey_is_type(const char *token) {
        return sshkey_type_find(token, strlen(token));
}

static int sshkey_fail(const char **ret_error, const char *message) {
        if (ret_error)
                *ret_error = message;
        return -EINVAL;
}

/* Reads one SSH string (uint32 big-endian length, then the bytes). */
static int sshkey_read_string(struct sshkey_reader *rd, const uint8_t **ret, uint32_t *ret_len) {
        uint32_t n;

        if (rd->left < 4)
                return -EINVAL;
        n = (uint32_t) rd->p[0] << 24 | (uint32_t) rd->p[1] << 16 | (uint32_t) rd->p[2] << 8 |
            rd->p[3];
        if (n > rd->left - 4)
                return -EINVAL;
        *ret = rd->p + 4;
        *ret_len = n;
        rd->p += 4 + (size_t) n;
        rd->left -= 4 + (size_t) n;
        return 0;
}

static bool sshkey_string_eq(const uint8_t *s, uint32_t n, const char *expected) {
        return strlen(expected) == n && memcmp(s, expected, n) == 0;
}

/* Checks that the blob is exactly the type string followed by the type's fields. */
static int sshkey_check_blob(const struct sshkey_type *t, const uint8_t *blob, size_t len,
                             const char **ret_error) {
        struct sshkey_reader rd = { blob, len };
        const uint8_t *s;
        uint32_t n;

        if (sshkey_read_string(&rd, &s, &n) < 0)
                return sshkey_fail(ret_error, "key data is truncated");
        if (!sshkey_string_eq(s, n, t->name))
                return sshkey_fail(ret_error, "key data does not match the key type");
        for (unsigned i = 0; i < t->n_fields; i++) {
                if (sshkey_read_string(&rd, &s, &n) < 0)
                        return sshkey_fail(ret_error, "key data is truncated");
                if (i == 0 && t->curve && !sshkey_string_eq(s, n, t->curve))
                        return sshkey_fail(ret_error, "key data names the wrong curve");
                if (i == 0 && t->key_len > 0 && n != t->key_len)
                        return sshkey_fail(ret_error, "key data has the wrong key length");
        }
        if (rd.left > 0)
                return sshkey_fail(ret_error, "key data has trailing bytes");
        return 0;
}

static int sshkey_digest(const uint8_t *blob, size_t len, struct sshkey_digests *ret) {
        if (EVP_Digest(blob, len, ret->sha256, NULL, EVP_sha256(), NULL) != 1 ||
            EVP_Digest(blob, len, ret->md5, NULL, EVP_md5(), NULL) != 1)
                return -EIO;
        return 0;
}

int sshkey_parse_public(const char *line, struct sshkey_digests *ret, const char **ret_error) {
        uint8_t blob[SSHKEY_BASE64_MAX / 4 * 3];
        struct sshkey_digests digests;
        const struct sshkey_type *t;
        const char *p = line + strspn(line, SSHKEY_SEPARATORS);
        size_t n = strcspn(p, SSHKEY_SEPARATORS), blob_len;

        t = sshkey_type_find(p, n);
        if (!t)
                return sshkey_fail(ret_error, "unknown key type");
        p += n;
        p += strspn(p, SSHKEY_SEPARATORS);
        n = strcspn(p, SSHKEY_SEPARATORS);
        if (n == 0)
                return sshkey_fail(ret_error, "key data missing after the key type");
        if (n > SSHKEY_BASE64_MAX)
                return sshkey_fail(ret_error, "key data too large");
        if (base64_decode_into(p, n, blob, &blob_len) < 0 || blob_len == 0)
                return sshkey_fail(ret_error, "key data is not valid base64");
        if (blob_len > SSHKEY_BLOB_MAX)
                return sshkey_fail(ret_error, "key data too large");
        if (sshkey_check_blob(t, blob, blob_len, ret_error) < 0)
                return -EINVAL;
        if (sshkey_digest(blob, blob_len, &digests) < 0) {
                if (ret_error)
                        *ret_error = "cannot compute the key digests";
                return -EIO;
        }
        *ret = digests;
        return 0;
}

int sshkey_type_and_blob(const char *line, char **ret) {
        size_t type_len = strcspn(line, " \t"), blob_len;
        const char *blob = line + type_len;
        _cleanup_free_ char *type = strndup(line, type_len);
        char *out;

        if (!type)
                return -ENOMEM;
        if (!sshkey_is_type(type))
                return -EINVAL;
        blob += strspn(blob, " \t");
        blob_len = strspn(blob, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");
        blob_len += strspn(blob + blob_len, "=");
        if (blob_len == 0 || blob_len > SSHKEY_BLOB_MAX * 2 || (blob[blob_len] && !strchr(" \t\r\n", blob[blob_len])))
                return -EINVAL;
        if (asprintf(&out, "%s %.*s", type, (int) blob_len, blob) < 0)
                return -ENOMEM;
        *ret = out;
        return 0;
}

int sshkey_parse_sha256(const char *token, uint8_t ret[SSHKEY_SHA256_LEN]) {
        char padded[SSHKEY_SHA256_BASE64_LEN + 2];
        uint8_t buf[(SSHKEY_SHA256_BASE64_LEN + 1) / 4 * 3];
        size_t len;

        if (!strneq(token, SSHKEY_SHA256_PREFIX, strlen(SSHKEY_SHA256_PREFIX)))
                return -EINVAL;
        token += strlen(SSHKEY_SHA256_PREFIX);
        if (strlen(token) != SSHKEY_SHA256_BASE64_LEN)
                return -EINVAL;
        /* ssh-keygen drops the padding; restore it so the decoder sees whole quads */
        memcpy(padded, token, SSHKEY_SHA256_BASE64_LEN);
        padded[SSHKEY_SHA256_BASE64_LEN] = '=';
        padded[SSHKEY_SHA256_BASE64_LEN + 1] = '\0';
        if (base64_decode_into(padded, sizeof(padded) - 1, buf, &len) < 0 ||
            len != SSHKEY_SHA256_LEN)
                return -EINVAL;
        memcpy(ret, buf, SSHKEY_SHA256_LEN);
        return 0;
}

static int sshkey_hex_value(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -EINVAL;
}

int sshkey_parse_md5(const char *token, uint8_t ret[SSHKEY_MD5_LEN]) {
        uint8_t buf[SSHKEY_MD5_LEN];

        if (!strneq(token, SSHKEY_MD5_PREFIX, strlen(SSHKEY_MD5_PREFIX)))
                return -EINVAL;
        token += strlen(SSHKEY_MD5_PREFIX);
        if (strlen(token) != SSHKEY_MD5_LEN * 3 - 1)
                return -EINVAL;
        for (size_t i = 0; i < SSHKEY_MD5_LEN; i++) {
                const char *p = token + i * 3;
                int hi = sshkey_hex_value(p[0]), lo = sshkey_hex_value(p[1]);

                if (hi < 0 || lo < 0 || (i + 1 < SSHKEY_MD5_LEN && p[2] != ':'))
                        return -EINVAL;
                buf[i] = (uint8_t) (hi << 4 | lo);
        }
        memcpy(ret, buf, SSHKEY_MD5_LEN);
        return 0;
}

void sshkey_format_sha256(const uint8_t d[SSHKEY_SHA256_LEN], char *buf, size_t size) {
        char b64[(SSHKEY_SHA256_LEN + 2) / 3 * 4 + 1];
        int n = EVP_EncodeBlock((unsigned char *) b64, d, SSHKEY_SHA256_LEN);

        while (n > 0 && b64[n - 1] == '=')
                n--;
        snprintf(buf, size, SSHKEY_SHA256_PREFIX "%.*s", n, b64);
}
