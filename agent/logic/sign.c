/* Alibaba Cloud RPC signature V1 (HMAC-SHA1): canonicalization and signing, no clock reads. */
#include <limits.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "logic/base64.h"
#include "logic/sign.h"

/* AccessKeySecrets are 30 characters; anything near this is not a secret but a mistake. */
#define SIGN_SECRET_MAX 1024

static bool is_unreserved(uint8_t c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '_' || c == '.' || c == '~';
}

static size_t encoded_length(const char *s) {
        size_t n = 0;

        for (; *s; s++)
                n += is_unreserved((uint8_t) *s) ? 1 : 3;
        return n;
}

/* Writes the encoding of s at out (no NUL); returns the end of what was written. */
static char *encode_into(char *out, const char *s) {
        static const char hex[] = "0123456789ABCDEF";

        for (; *s; s++) {
                uint8_t c = (uint8_t) *s;
                if (is_unreserved(c))
                        *out++ = (char) c;
                else {
                        *out++ = '%';
                        *out++ = hex[c >> 4];
                        *out++ = hex[c & 15];
                }
        }
        return out;
}

int sign_percent_encode(const char *s, char **ret) {
        char *e;

        if (strlen(s) > SIZE_MAX / 3 - 1)
                return -E2BIG;
        e = malloc(encoded_length(s) + 1);
        if (!e)
                return -ENOMEM;
        *encode_into(e, s) = '\0';
        *ret = e;
        return 0;
}

static int param_compare(const void *a, const void *b) {
        const struct param *const *x = a, *const *y = b;
        int c = strcmp((*x)->name, (*y)->name);

        /* the pointers are into one array, in insertion order: comparing them makes the sort stable */
        if (c == 0)
                c = *x < *y ? -1 : *x > *y;
        return c;
}

/* The parameters to sign, sorted; the caller frees the array (not the items). */
static int sorted_params(const struct params *p, const struct param ***ret, size_t *ret_n) {
        const struct param **s = calloc(p->n + 1, sizeof(*s));
        size_t n = 0;

        if (!s)
                return -ENOMEM;
        for (size_t i = 0; i < p->n; i++)
                if (!streq(p->items[i].name, "Signature"))
                        s[n++] = &p->items[i];
        qsort(s, n, sizeof(*s), param_compare);
        *ret = s;
        *ret_n = n;
        return 0;
}

int sign_canonical_query(const struct params *p, char **ret) {
        _cleanup_free_ const struct param **s = NULL;
        size_t n, len = 0;
        char *q, *w;
        int r;

        r = sorted_params(p, &s, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                len += encoded_length(s[i]->name) + 1 + encoded_length(s[i]->value) + 1;
        q = malloc(len + 1);
        if (!q)
                return -ENOMEM;
        w = q;
        for (size_t i = 0; i < n; i++) {
                if (i > 0)
                        *w++ = '&';
                w = encode_into(w, s[i]->name);
                *w++ = '=';
                w = encode_into(w, s[i]->value);
        }
        *w = '\0';
        *ret = q;
        return 0;
}

static bool method_is_valid(const char *method) {
        if (isempty(method) || strlen(method) > 16)
                return false;
        for (const char *c = method; *c; c++)
                if (*c < 'A' || *c > 'Z')
                        return false;
        return true;
}

int sign_string_to_sign(const char *method, const struct params *p, char **ret) {
        _cleanup_erase_ char *query = NULL, *encoded = NULL;
        char *s;
        int r;

        if (!method_is_valid(method))
                return -EINVAL;
        r = sign_canonical_query(p, &query);
        if (r < 0)
                return r;
        r = sign_percent_encode(query, &encoded);
        if (r < 0)
                return r;
        if (asprintf(&s, "%s&%%2F&%s", method, encoded) < 0)
                return -ENOMEM;
        *ret = s;
        return 0;
}

/* Base64(HMAC-SHA1(secret + "&", data)); the key buffer is wiped. */
static int hmac_sha1_base64(const char *secret, const char *data, char **ret) {
        unsigned char md[EVP_MAX_MD_SIZE];
        size_t secret_len = strlen(secret);
        unsigned md_len = 0;
        char *key, *s;
        bool ok;

        key = malloc(secret_len + 2);
        if (!key)
                return -ENOMEM;
        memcpy(key, secret, secret_len);
        key[secret_len] = '&';
        key[secret_len + 1] = '\0';
        ok = HMAC(EVP_sha1(), key, (int) secret_len + 1, (const unsigned char *) data, strlen(data),
                  md, &md_len) != NULL;
        OPENSSL_cleanse(key, secret_len + 2);
        free(key);
        if (!ok)
                return -EIO;
        s = base64_encode(md, md_len);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

int sign_v1(const char *method, const struct params *p, const char *secret, char **ret_signature) {
        _cleanup_erase_ char *sts = NULL;
        int r;

        if (isempty(secret) || strlen(secret) > SIGN_SECRET_MAX)
                return -EINVAL;
        r = sign_string_to_sign(method, p, &sts);
        if (r < 0)
                return r;
        return hmac_sha1_base64(secret, sts, ret_signature);
}

int sign_encode_request(const char *method, const struct params *p, const char *secret, char **ret) {
        _cleanup_erase_ char *query = NULL;
        _cleanup_free_ char *signature = NULL, *encoded = NULL;
        char *s;
        int r;

        r = sign_v1(method, p, secret, &signature);
        if (r < 0)
                return r;
        r = sign_canonical_query(p, &query);
        if (r < 0)
                return r;
        r = sign_percent_encode(signature, &encoded);
        if (r < 0)
                return r;
        if (asprintf(&s, "%s%sSignature=%s", query, isempty(query) ? "" : "&", encoded) < 0)
                return -ENOMEM;
        *ret = s;
        return 0;
}

int sign_format_timestamp(uint64_t usec, char *buf, size_t size) {
        time_t t = (time_t) (usec / USEC_PER_SEC);
        struct tm tm;

        if (size < 21)
                return -ENOBUFS;
        if (!gmtime_r(&t, &tm) || tm.tm_year + 1900 > 9999)
                return -ERANGE;
        if (strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) != 20)
                return -ERANGE;
        return 0;
}
