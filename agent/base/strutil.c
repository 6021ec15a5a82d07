/* String, number, duration and string-vector helpers (no I/O). */
#include <ctype.h>
#include <limits.h>

#include "base/strutil.h"

int parse_boolean(const char *s) {
        static const char *const yes[] = { "1", "yes", "y", "true", "t", "on" };
        static const char *const no[] = { "0", "no", "n", "false", "f", "off" };

        for (size_t i = 0; i < ELEMENTSOF(yes); i++)
                if (strcasecmp(s, yes[i]) == 0)
                        return 1;
        for (size_t i = 0; i < ELEMENTSOF(no); i++)
                if (strcasecmp(s, no[i]) == 0)
                        return 0;
        return -EINVAL;
}

int parse_unsigned(const char *s, unsigned min, unsigned max, unsigned *ret) {
        unsigned long v;
        char *end;

        if (!isdigit((unsigned char) *s))
                return -EINVAL;
        errno = 0;
        v = strtoul(s, &end, 10);
        if (*end != '\0')
                return -EINVAL;
        if (errno == ERANGE || v < min || v > max)
                return -ERANGE;
        *ret = (unsigned) v;
        return 0;
}

static const struct {
        const char *suffix;
        uint64_t usec;
} duration_units[] = {
        { "sec", USEC_PER_SEC },     { "s", USEC_PER_SEC },      { "min", USEC_PER_MINUTE },
        { "m", USEC_PER_MINUTE },    { "hour", USEC_PER_HOUR },  { "h", USEC_PER_HOUR },
        { "day", USEC_PER_DAY },     { "d", USEC_PER_DAY },      { "ms", USEC_PER_MSEC },
};

/* Parses one "NUMBER[unit]" part at *p, advancing *p; adds it to *sum. */
static int parse_duration_part(const char **p, uint64_t *sum) {
        unsigned long long v;
        uint64_t unit = USEC_PER_SEC;
        size_t len = 0;
        char *end;

        if (!isdigit((unsigned char) **p))
                return -EINVAL;
        errno = 0;
        v = strtoull(*p, &end, 10);
        if (errno == ERANGE)
                return -ERANGE;
        while (isalpha((unsigned char) end[len]))
                len++;
        if (len > 0) {
                size_t i;
                for (i = 0; i < ELEMENTSOF(duration_units); i++)
                        if (strlen(duration_units[i].suffix) == len && strneq(end, duration_units[i].suffix, len))
                                break;
                if (i == ELEMENTSOF(duration_units))
                        return -EINVAL;
                unit = duration_units[i].usec;
        }
        if (v > (UINT64_MAX - *sum) / unit)
                return -ERANGE;
        *sum += v * unit;
        *p = end + len;
        return 0;
}

int parse_duration_usec(const char *s, uint64_t *ret) {
        uint64_t sum = 0;
        bool any = false;

        for (;;) {
                int r;
                while (isspace((unsigned char) *s))
                        s++;
                if (*s == '\0')
                        break;
                r = parse_duration_part(&s, &sum);
                if (r < 0)
                        return r;
                any = true;
        }
        if (!any)
                return -EINVAL;
        *ret = sum;
        return 0;
}

bool startswith(const char *s, const char *prefix) {
        return strneq(s, prefix, strlen(prefix));
}

int free_and_strdup(char **p, const char *s) {
        char *copy;

        if (streq_ptr(*p, s))
                return 0;
        copy = s ? strdup(s) : NULL;
        if (s && !copy)
                return -ENOMEM;
        free_and_replace_str(p, copy);
        return 1;
}

char *strstrip(char *s) {
        char *e;

        while (isspace((unsigned char) *s))
                s++;
        e = s + strlen(s);
        while (e > s && isspace((unsigned char) e[-1]))
                e--;
        *e = '\0';
        return s;
}

/* Length of the UTF-8 sequence starting with byte c, 0 when c cannot start one. */
static size_t utf8_sequence_length(uint8_t c) {
        if (c < 0x80)
                return 1;
        if (c >= 0xc2 && c <= 0xdf)
                return 2;
        if (c >= 0xe0 && c <= 0xef)
                return 3;
        if (c >= 0xf0 && c <= 0xf4)
                return 4;
        return 0;
}

bool utf8_is_valid(const char *str, size_t len) {
        const uint8_t *s = (const uint8_t *) str;

        for (size_t i = 0; i < len;) {
                size_t n = utf8_sequence_length(s[i]);
                uint32_t cp;

                if (n == 0 || i + n > len || s[i] == 0)
                        return false;
                cp = n == 1 ? s[i] : (uint32_t) (s[i] & (0x7f >> n));
                for (size_t k = 1; k < n; k++) {
                        if ((s[i + k] & 0xc0) != 0x80)
                                return false;
                        cp = (cp << 6) | (s[i + k] & 0x3f);
                }
                /* overlong 3/4-byte forms, surrogates and values past U+10FFFF */
                if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
                    (cp >= 0xd800 && cp <= 0xdfff))
                        return false;
                i += n;
        }
        return true;
}

char **strv_free(char **l) {
        if (l) {
                for (char **i = l; *i; i++)
                        free(*i);
                free(l);
        }
        return NULL;
}

size_t strv_length(char *const *l) {
        size_t n = 0;
        if (l)
                while (l[n])
                        n++;
        return n;
}

bool strv_contains(char *const *l, const char *s) {
        if (l)
                for (; *l; l++)
                        if (streq(*l, s))
                                return true;
        return false;
}

char **strv_copy_n(char *const *l, size_t n) {
        _cleanup_strv_free_ char **copy = calloc(n + 1, sizeof(char *));

        if (!copy)
                return NULL;
        for (size_t i = 0; i < n; i++)
                if (!(copy[i] = strdup(l[i])))
                        return NULL;
        return TAKE_PTR(copy);
}

int strv_extend(char ***l, const char *s) {
        size_t n = strv_length(*l);
        _cleanup_free_ char *copy = strdup(s);
        char **nl;

        if (!copy)
                return -ENOMEM;
        nl = reallocarray(*l, n + 2, sizeof(char *));
        if (!nl)
                return -ENOMEM;
        nl[n] = TAKE_PTR(copy);
        nl[n + 1] = NULL;
        *l = nl;
        return 0;
}

/* Splits s at any byte of seps, dropping empty words. */
static int strv_split_generic(const char *s, const char *seps, char ***ret) {
        _cleanup_strv_free_ char **l = calloc(1, sizeof(char *));
        _cleanup_free_ char *copy = strdup(s);
        char *saveptr = NULL;

        if (!l || !copy)
                return -ENOMEM;
        for (char *w = strtok_r(copy, seps, &saveptr); w; w = strtok_r(NULL, seps, &saveptr))
                if (strv_extend(&l, w) < 0)
                        return -ENOMEM;
        *ret = TAKE_PTR(l);
        return 0;
}

int strv_split_whitespace(const char *s, char ***ret) {
        return strv_split_generic(s, " \t\n\r\f\v", ret);
}

int strv_split_char(const char *s, char sep, char ***ret) {
        char seps[2] = { sep, '\0' };
        return strv_split_generic(s, seps, ret);
}

unsigned strutil_edit_distance(const char *a, const char *b) {
        size_t n = strlen(b);
        unsigned row[STRUTIL_EDIT_DISTANCE_MAX_LEN + 1];

        if (n > STRUTIL_EDIT_DISTANCE_MAX_LEN)
                return UINT_MAX;
        /* One row at a time. */
        for (size_t j = 0; j <= n; j++)
                row[j] = (unsigned) j;
        for (size_t i = 1; a[i - 1]; i++) {
                unsigned diagonal = row[0];

                row[0] = (unsigned) i;
                for (size_t j = 1; j <= n; j++) {
                        unsigned above = row[j];
                        unsigned best = MIN(above, row[j - 1]) + 1;

                        row[j] = MIN(best, diagonal + (a[i - 1] != b[j - 1]));
                        diagonal = above;
                }
        }
        return row[n];
}
