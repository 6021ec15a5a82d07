/* Minimal assertion helpers for the unit test programs (one program per module). */
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned tests_failed;

#define CHECK(expr)                                                                             \
        do {                                                                                    \
                if (!(expr)) {                                                                  \
                        fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #expr); \
                        tests_failed++;                                                         \
                }                                                                               \
        } while (0)

#define CHECK_STREQ(a, b)                                                                            \
        do {                                                                                         \
                const char *_a = (a), *_b = (b);                                                     \
                if (!_a || !_b || strcmp(_a, _b) != 0) {                                             \
                        fprintf(stderr, "%s:%d: \"%s\" != \"%s\"\n", __FILE__, __LINE__, _a ? _a : "(null)", \
                                _b ? _b : "(null)");                                                 \
                        tests_failed++;                                                              \
                }                                                                                    \
        } while (0)

#define CHECK_INTEQ(a, b)                                                                             \
        do {                                                                                          \
                long long _a = (long long) (a), _b = (long long) (b);                                 \
                if (_a != _b) {                                                                       \
                        fprintf(stderr, "%s:%d: %s == %lld, expected %lld\n", __FILE__, __LINE__, #a, _a, _b); \
                        tests_failed++;                                                               \
                }                                                                                     \
        } while (0)

/* Ends main(): prints a summary line and returns the exit status automake expects. */
#define TESTS_DONE()                                                                  \
        do {                                                                          \
                fprintf(stderr, "%s: %u check(s) failed\n", __FILE__, tests_failed);  \
                return tests_failed ? EXIT_FAILURE : EXIT_SUCCESS;                    \
        } while (0)

/* Reads a whole file under tests/data (srcdir from $srcdir or "."); aborts on failure. */
static inline char *tests_read_data(const char *name, size_t *ret_len) {
        const char *srcdir = getenv("srcdir");
        char path[4096];
        FILE *f;
        char *buf;
        long n;

        snprintf(path, sizeof(path), "%s/tests/data/%s", srcdir ? srcdir : ".", name);
        f = fopen(path, "rb");
        if (!f) {
                perror(path);
                abort();
        }
        fseek(f, 0, SEEK_END);
        n = ftell(f);
        fseek(f, 0, SEEK_SET);
        buf = malloc((size_t) n + 1);
        if (!buf || fread(buf, 1, (size_t) n, f) != (size_t) n)
                abort();
        buf[n] = '\0';
        fclose(f);
        if (ret_len)
                *ret_len = (size_t) n;
        return buf;
}
