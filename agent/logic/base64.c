/* Standard padded base64, over OpenSSL. */
#include <openssl/evp.h>

#include "base/macro.h"
#include "logic/base64.h"

char *base64_encode(const void *data, size_t n) {
        unsigned char *out;

        if (n > INT32_MAX / 4 * 3)
                return NULL;
        out = malloc((n + 2) / 3 * 4 + 1);
        if (out)
                EVP_EncodeBlock(out, data, (int) n);
        return (char *) out;
}

static bool is_base64_char(char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

int base64_decode_into(const char *s, size_t n, uint8_t *buf, size_t *ret_len) {
        size_t pad = 0;
        int r;

        if (n % 4 != 0 || n > INT32_MAX)
                return -EINVAL;
        if (n == 0) {
                *ret_len = 0;
                return 0;
        }
        while (pad < 2 && s[n - 1 - pad] == '=')
                pad++;
        for (size_t i = 0; i < n - pad; i++)
                if (!is_base64_char(s[i]))
                        return -EINVAL;
        /* EVP_DecodeBlock() decodes '=' as zero bits and counts those bytes in its result. */
        r = EVP_DecodeBlock(buf, (const unsigned char *) s, (int) n);
        if (r < 0 || (size_t) r != n / 4 * 3)
                return -EINVAL;
        for (size_t i = (size_t) r - pad; i < (size_t) r; i++)
                if (buf[i] != 0)
                        return -EINVAL;
        *ret_len = (size_t) r - pad;
        return 0;
}

int base64_decode(const char *s, size_t n, char **ret, size_t *ret_len) {
        _cleanup_free_ uint8_t *buf = malloc(n / 4 * 3 + 1);
        int r;

        if (!buf)
                return -ENOMEM;
        r = base64_decode_into(s, n, buf, ret_len);
        if (r < 0)
                return r;
        buf[*ret_len] = '\0';
        *ret = (char *) TAKE_PTR(buf);
        return 0;
}
