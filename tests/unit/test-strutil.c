/* Unit tests for strutil.c: booleans, numbers, durations, UTF-8 and string vectors. */
#include <limits.h>

#include "base/strutil.h"
#include "tests.h"

static const struct {
        const char *in;
        int ret;
} boolean_cases[] = {
        { "1", 1 },          { "yes", 1 },         { "YES", 1 },        { "y", 1 },
        { "true", 1 },       { "True", 1 },        { "t", 1 },          { "on", 1 },
        { "0", 0 },          { "no", 0 },          { "N", 0 },          { "false", 0 },
        { "f", 0 },          { "off", 0 },         { "OFF", 0 },        { "", -EINVAL },
        { "2", -EINVAL },    { "yes ", -EINVAL },  { " no", -EINVAL },  { "enable", -EINVAL },
        { "truee", -EINVAL }, { "o", -EINVAL },
};

static const struct {
        const char *in;
        unsigned min, max;
        int ret;
        unsigned out;
} unsigned_cases[] = {
        { "0", 0, 10, 0, 0 },
        { "10", 0, 10, 0, 10 },
        { "007", 0, 10, 0, 7 },
        { "11", 0, 10, -ERANGE, 0 },
        { "0", 1, 10, -ERANGE, 0 },
        { "4294967295", 0, UINT_MAX, 0, UINT_MAX },
        { "4294967296", 0, UINT_MAX, -ERANGE, 0 },
        { "18446744073709551616", 0, UINT_MAX, -ERANGE, 0 },
        { "99999999999999999999999999", 0, UINT_MAX, -ERANGE, 0 },
        { "", 0, 10, -EINVAL, 0 },
        { "-1", 0, 10, -EINVAL, 0 },
        { "+1", 0, 10, -EINVAL, 0 },
        { " 1", 0, 10, -EINVAL, 0 },
        { "1 ", 0, 10, -EINVAL, 0 },
        { "0x10", 0, 100, -EINVAL, 0 },
        { "1e3", 0, 10000, -EINVAL, 0 },
        { "5s", 0, 10, -EINVAL, 0 },
};

static const struct {
        const char *in;
        int ret;
        uint64_t out;
} duration_cases[] = {
        { "1h", 0, USEC_PER_HOUR },
        { "15min", 0, 15 * USEC_PER_MINUTE },
        { "10", 0, 10 * USEC_PER_SEC },
        { "0", 0, 0 },
        { "0s", 0, 0 },
        { "1h 30min", 0, 90 * USEC_PER_MINUTE },
        { "1h30min", 0, 90 * USEC_PER_MINUTE },
        { "  2d\t1h  ", 0, 49 * USEC_PER_HOUR },
        { "1d 1h 1min 1s 1ms", 0,
          USEC_PER_DAY + USEC_PER_HOUR + USEC_PER_MINUTE + USEC_PER_SEC + USEC_PER_MSEC },
        { "5m", 0, 5 * USEC_PER_MINUTE },
        { "3sec", 0, 3 * USEC_PER_SEC },
        { "2hour", 0, 2 * USEC_PER_HOUR },
        { "1day", 0, USEC_PER_DAY },
        { "250ms", 0, 250 * USEC_PER_MSEC },
        { "10 20", 0, 30 * USEC_PER_SEC },
        { "213503982d", 0, 213503982 * USEC_PER_DAY },
        { "", -EINVAL, 0 },
        { "   ", -EINVAL, 0 },
        { "h", -EINVAL, 0 },
        { "1x", -EINVAL, 0 },
        { "1hh", -EINVAL, 0 },
        { "1H", -EINVAL, 0 },
        { "1us", -EINVAL, 0 },
        { "-1", -EINVAL, 0 },
        { "+1", -EINVAL, 0 },
        { "1.5h", -EINVAL, 0 },
        { "1h-", -EINVAL, 0 },
        { "1h,30min", -EINVAL, 0 },
        { "min", -EINVAL, 0 },
        { "infinity", -EINVAL, 0 },
        { "213503983d", -ERANGE, 0 },
        { "213503982d 1d", -ERANGE, 0 },
        { "18446744073709551615", -ERANGE, 0 },
        { "18446744073709551615ms", -ERANGE, 0 },
        { "99999999999999999999999", -ERANGE, 0 },
};

static const struct {
        const char *in;
        size_t len;
        bool valid;
} utf8_cases[] = {
        { "", 0, true },
        { "plain ascii", 11, true },
        { "\x7f", 1, true },
        { "\xc3\xa9", 2, true },                /* é */
        { "\xc2\x80", 2, true },                /* U+0080, smallest 2-byte */
        { "\xdf\xbf", 2, true },                /* U+07FF */
        { "\xe0\xa0\x80", 3, true },            /* U+0800, smallest 3-byte */
        { "\xe4\xb8\xad", 3, true },            /* 中 */
        { "\xed\x9f\xbf", 3, true },            /* U+D7FF, below the surrogates */
        { "\xee\x80\x80", 3, true },            /* U+E000, above them */
        { "\xef\xbf\xbf", 3, true },            /* U+FFFF */
        { "\xf0\x90\x80\x80", 4, true },        /* U+10000, smallest 4-byte */
        { "\xf0\x9f\x94\x91", 4, true },        /* key emoji */
        { "\xf4\x8f\xbf\xbf", 4, true },        /* U+10FFFF, the last one */
        { "a\xc3\xa9z", 4, true },
        { "\xc0\x80", 2, false },               /* overlong NUL */
        { "\xc1\xbf", 2, false },               /* overlong U+007F */
        { "\xe0\x80\x80", 3, false },           /* overlong 3-byte */
        { "\xe0\x9f\xbf", 3, false },           /* overlong U+07FF */
        { "\xf0\x80\x80\x80", 4, false },       /* overlong 4-byte */
        { "\xf0\x8f\xbf\xbf", 4, false },       /* overlong U+FFFF */
        { "\xed\xa0\x80", 3, false },           /* U+D800 */
        { "\xed\xbf\xbf", 3, false },           /* U+DFFF */
        { "\xed\xa0\xbd\xed\xb2\xa9", 6, false }, /* CESU-8 surrogate pair */
        { "\xf4\x90\x80\x80", 4, false },       /* U+110000 */
        { "\xf5\x80\x80\x80", 4, false },
        { "\xf8\x88\x80\x80\x80", 5, false },   /* old 5-byte form */
        { "\xfe", 1, false },
        { "\xff", 1, false },
        { "\x80", 1, false },                   /* lone continuation */
        { "a\xbf", 2, false },
        { "\xc3", 1, false },                   /* truncated */
        { "\xc3\xa9", 1, false },               /* truncated by len */
        { "\xe4\xb8", 2, false },
        { "\xf0\x9f\x94", 3, false },
        { "\xc3\x28", 2, false },               /* bad continuation */
        { "\xe4\x28\xad", 3, false },
        { "\xf0\x9f\x28\x91", 4, false },
        { "a\0b", 3, false },                   /* NUL */
        { "\0", 1, false },
};

static const struct {
        const char *in;
        const char *out;
} strip_cases[] = {
        { "", "" }, { "   ", "" }, { "a", "a" }, { "  a b \t\n", "a b" }, { "\r\nx", "x" }, { "x\v\f", "x" },
};

#define MAX_WORDS 5

static const struct {
        const char *in;
        char sep; /* 0 = whitespace */
        const char *words[MAX_WORDS];
} split_cases[] = {
        { "", 0, { NULL } },
        { " \t\n ", 0, { NULL } },
        { "a", 0, { "a" } },
        { "  cn-hangzhou\tcn-beijing\n  eu-central-1 ", 0, { "cn-hangzhou", "cn-beijing", "eu-central-1" } },
        { "Sat,Sun", ',', { "Sat", "Sun" } },
        { ",a,,b,", ',', { "a", "b" } },
        { ",,,", ',', { NULL } },
        { "a b,c", ',', { "a b", "c" } },
        { "x:y", ':', { "x", "y" } },
};

static void test_boolean(void) {
        for (size_t i = 0; i < ELEMENTSOF(boolean_cases); i++)
                CHECK_INTEQ(parse_boolean(boolean_cases[i].in), boolean_cases[i].ret);
}

static void test_unsigned(void) {
        for (size_t i = 0; i < ELEMENTSOF(unsigned_cases); i++) {
                unsigned v = 12345;
                int r = parse_unsigned(unsigned_cases[i].in, unsigned_cases[i].min, unsigned_cases[i].max,
                                       &v);

                if (r != unsigned_cases[i].ret)
                        fprintf(stderr, "parse_unsigned(\"%s\")\n", unsigned_cases[i].in);
                CHECK_INTEQ(r, unsigned_cases[i].ret);
                CHECK_INTEQ(v, r == 0 ? unsigned_cases[i].out : 12345);
        }
}

static void test_duration(void) {
        for (size_t i = 0; i < ELEMENTSOF(duration_cases); i++) {
                uint64_t v = 12345;
                int r = parse_duration_usec(duration_cases[i].in, &v);

                if (r != duration_cases[i].ret)
                        fprintf(stderr, "parse_duration_usec(\"%s\")\n", duration_cases[i].in);
                CHECK_INTEQ(r, duration_cases[i].ret);
                if (r == 0)
                        CHECK(v == duration_cases[i].out);
                else
                        CHECK_INTEQ(v, 12345);
        }
}

static void test_utf8(void) {
        for (size_t i = 0; i < ELEMENTSOF(utf8_cases); i++) {
                bool v = utf8_is_valid(utf8_cases[i].in, utf8_cases[i].len);
                if (v != utf8_cases[i].valid)
                        fprintf(stderr, "utf8 case %zu\n", i);
                CHECK(v == utf8_cases[i].valid);
        }
}

static void test_strip(void) {
        for (size_t i = 0; i < ELEMENTSOF(strip_cases); i++) {
                _cleanup_free_ char *s = strdup(strip_cases[i].in);
                CHECK(s);
                CHECK_STREQ(strstrip(s), strip_cases[i].out);
        }
}

static void test_split(void) {
        for (size_t i = 0; i < ELEMENTSOF(split_cases); i++) {
                _cleanup_strv_free_ char **l = NULL;
                size_t n = 0;
                int r;

                if (split_cases[i].sep)
                        r = strv_split_char(split_cases[i].in, split_cases[i].sep, &l);
                else
                        r = strv_split_whitespace(split_cases[i].in, &l);
                CHECK_INTEQ(r, 0);
                CHECK(l);
                while (n < MAX_WORDS && split_cases[i].words[n])
                        n++;
                CHECK_INTEQ(strv_length(l), n);
                for (size_t k = 0; k < n && l && l[k]; k++)
                        CHECK_STREQ(l[k], split_cases[i].words[k]);
        }
}

static void test_strv(void) {
        _cleanup_strv_free_ char **l = NULL, **two = NULL, **none = NULL;

        CHECK_INTEQ(strv_length(NULL), 0);
        CHECK(!strv_contains(NULL, "a"));
        CHECK_INTEQ(strv_extend(&l, "a"), 0);
        CHECK_INTEQ(strv_extend(&l, ""), 0);
        CHECK_INTEQ(strv_extend(&l, "c"), 0);
        CHECK_INTEQ(strv_length(l), 3);
        CHECK(strv_contains(l, "a") && strv_contains(l, "") && strv_contains(l, "c"));
        CHECK(!strv_contains(l, "b") && !strv_contains(l, "A"));
        CHECK(!l[3]);
        /* The first n, copied and NULL-terminated. */
        two = strv_copy_n(l, 2);
        CHECK(two && streq(two[0], "a") && streq(two[1], "") && !two[2] && two[0] != l[0]);
        none = strv_copy_n(l, 0);
        CHECK(none && !none[0]);
        CHECK(!strv_free(NULL));
}

static void test_free_and_strdup(void) {
        char *p = NULL;

        CHECK_INTEQ(free_and_strdup(&p, NULL), 0);
        CHECK_INTEQ(free_and_strdup(&p, "a"), 1);
        CHECK_STREQ(p, "a");
        CHECK_INTEQ(free_and_strdup(&p, "a"), 0);
        CHECK_INTEQ(free_and_strdup(&p, "bc"), 1);
        CHECK_STREQ(p, "bc");
        CHECK_INTEQ(free_and_strdup(&p, NULL), 1);
        CHECK(!p);
}

int main(void) {
        test_boolean();
        test_unsigned();
        test_duration();
        test_utf8();
        test_strip();
        test_split();
        test_strv();
        test_free_and_strdup();
        TESTS_DONE();
}
