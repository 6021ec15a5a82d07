/* UserData searched for revoked public keys: decoding, then a whole-word search for key blobs. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/macro.h"
#include "logic/base64.h"
#include "logic/userdata.h"

static bool is_space(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool is_base64_char(char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
               c == '/' || c == '=';
}

/* A copy of s without ASCII whitespace (API answers may wrap Base64), or NULL. */
static char *strip_spaces(const char *s, size_t *ret_len) {
        size_t n = 0;
        char *out = malloc(strlen(s) + 1);

        if (!out)
                return NULL;
        for (; *s; s++)
                if (!is_space(*s))
                        out[n++] = *s;
        out[n] = '\0';
        *ret_len = n;
        return out;
}

int userdata_decode(const char *base64, enum userdata_form *ret_form, char **ret, size_t *ret_len) {
        _cleanup_free_ char *packed = NULL, *text = NULL;
        size_t n = 0, len = 0;
        int r;

        *ret = NULL;
        *ret_len = 0;
        *ret_form = USERDATA_UNDECODABLE;
        packed = strip_spaces(base64, &n);
        if (!packed)
                return -ENOMEM;
        if (n / 4 * 3 > USERDATA_MAX_BYTES)
                return 0;
        r = base64_decode(packed, n, &text, &len);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return 0;
        if (len >= 2 && (unsigned char) text[0] == 0x1f && (unsigned char) text[1] == 0x8b) {
                *ret_form = USERDATA_COMPRESSED;
                return 0;
        }
        *ret_form = USERDATA_TEXT;
        *ret = TAKE_PTR(text);
        *ret_len = len;
        return 0;
}

bool userdata_carries_key(const char *text, size_t len, const char *key) {
        const char *blob = key ? strchr(key, ' ') : NULL;
        size_t blob_len;

        if (!blob)
                return false;
        blob++;
        blob_len = strlen(blob);
        if (blob_len == 0)
                return false;
        for (const char *p = text, *end = text + len; (p = memmem(p, (size_t) (end - p), blob, blob_len)); p++) {
                bool starts = p == text || !is_base64_char(p[-1]);
                bool ends = p + blob_len == end || !is_base64_char(p[blob_len]);

                if (starts && ends)
                        return true;
        }
        return false;
}
