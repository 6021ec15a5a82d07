/* Unit tests for base64.c: RFC 4648's test vectors both ways, and what the decoder refuses. */
#include <errno.h>

#include "base/macro.h"
#include "logic/base64.h"
#include "tests.h"

static const struct {
        const char *data, *text;
} vectors[] = {
        { "", "" },         { "f", "Zg==" },        { "fo", "Zm8=" },         { "foo", "Zm9v" },
        { "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
};

static const char *const refused[] = {
        "Zg=",          /* not whole quads */
        "Zh==",         /* bits past the last byte set: not the canonical form of "f" */
        "Zm9=",         /* the same for "fo" */
        "Z===",         /* three pads */
        "Zm9v\n",       /* a newline */
        "Zm 9",         /* a space */
        "Zm-_",         /* the URL alphabet */
        "=Zm9",         /* a pad first */
};

static void test_vectors(void) {
        for (size_t i = 0; i < ELEMENTSOF(vectors); i++) {
                _cleanup_free_ char *text = base64_encode(vectors[i].data, strlen(vectors[i].data)), *data = NULL;
                size_t len = 99;

                CHECK_STREQ(text, vectors[i].text);
                CHECK_INTEQ(base64_decode(vectors[i].text, strlen(vectors[i].text), &data, &len), 0);
                CHECK_INTEQ(len, strlen(vectors[i].data));
                CHECK_STREQ(data, vectors[i].data);
        }
}

static void test_refused(void) {
        for (size_t i = 0; i < ELEMENTSOF(refused); i++) {
                char *data = NULL;
                size_t len = 0;

                CHECK_INTEQ(base64_decode(refused[i], strlen(refused[i]), &data, &len), -EINVAL);
                CHECK(!data);
        }
}

static void test_binary(void) {
        const uint8_t bytes[] = { 0x00, 0xff, 0x10, 0x80, 0x00 };
        _cleanup_free_ char *text = base64_encode(bytes, sizeof(bytes));
        uint8_t buf[8];
        size_t len = 0;

        CHECK_STREQ(text, "AP8QgAA=");
        CHECK_INTEQ(base64_decode_into(text, strlen(text), buf, &len), 0);
        CHECK_INTEQ(len, sizeof(bytes));
        CHECK(memcmp(buf, bytes, sizeof(bytes)) == 0);
}

int main(void) {
        test_vectors();
        test_refused();
        test_binary();
        TESTS_DONE();
}
