/* Unit tests for userdata.c: Base64 UserData decoded (wrapped, compressed, broken, too large),
 * and revoked key blobs found only as whole words, in the shapes cloud-init and scripts use. */
#include "base/macro.h"
#include "logic/base64.h"
#include "logic/userdata.h"
#include "tests.h"

#define BLOB "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
#define KEY "ssh-ed25519 " BLOB

static void check_found(const char *text, bool expected) {
        if (userdata_carries_key(text, strlen(text), KEY) != expected) {
                fprintf(stderr, "userdata_carries_key(\"%s\") != %d\n", text, expected);
                tests_failed++;
        }
}

static void test_whole_words(void) {
        check_found("#cloud-config\nssh_authorized_keys:\n  - " KEY " alice@laptop\n", true);
        check_found("#!/bin/sh\necho '" KEY "' >> /root/.ssh/authorized_keys\n", true);
        check_found("{\"keys\":[\"" KEY "\"]}", true);
        check_found("command=\"/bin/true\" " KEY, true);
        check_found(BLOB, true);
        /* The blob as the start, the end or the middle of a longer word is another key. */
        check_found("ssh-ed25519 " BLOB "x", false);
        check_found("ssh-ed25519 " BLOB "==", false);
        check_found("ssh-ed25519 A" BLOB, false);
        check_found("ssh-ed25519 " BLOB, true);
        check_found("nothing here", false);
        check_found("", false);
        /* A later whole occurrence counts after a partial one. */
        check_found(BLOB "A " BLOB "\n", true);
        CHECK(!userdata_carries_key("x", 1, "no-blank"));
        CHECK(!userdata_carries_key("x", 1, "ssh-ed25519 "));
}

static void test_binary_text(void) {
        const char text[] = "\0\0bin\0" KEY "\0";

        CHECK(userdata_carries_key(text, sizeof(text) - 1, KEY));
}

static void check_decode(const char *base64, enum userdata_form form, const char *expected) {
        _cleanup_free_ char *text = NULL;
        enum userdata_form got;
        size_t len = 0;

        CHECK_INTEQ(userdata_decode(base64, &got, &text, &len), 0);
        CHECK_INTEQ(got, form);
        if (expected) {
                CHECK_STREQ(text, expected);
                CHECK_INTEQ(len, strlen(expected));
        } else
                CHECK(!text && len == 0);
}

static void test_decode(void) {
        _cleanup_free_ char *big = NULL, *big64 = NULL;
        const uint8_t gzip[] = { 0x1f, 0x8b, 0x08, 0x00, 0x00 };
        _cleanup_free_ char *gzip64 = base64_encode(gzip, sizeof(gzip));

        check_decode("aGVsbG8gd29ybGQ=", USERDATA_TEXT, "hello world");
        /* Wrapped Base64 decodes as one. */
        check_decode("aGVs\nbG8g\r\nd29y bGQ=", USERDATA_TEXT, "hello world");
        check_decode("", USERDATA_TEXT, "");
        check_decode("not base64!", USERDATA_UNDECODABLE, NULL);
        check_decode("aGVsbG8", USERDATA_UNDECODABLE, NULL);
        CHECK(gzip64);
        check_decode(gzip64, USERDATA_COMPRESSED, NULL);

        big = malloc(USERDATA_MAX_BYTES + 3);
        CHECK(big);
        memset(big, 'a', USERDATA_MAX_BYTES + 3);
        big64 = base64_encode(big, USERDATA_MAX_BYTES + 3);
        CHECK(big64);
        check_decode(big64, USERDATA_UNDECODABLE, NULL);
}

int main(void) {
        test_whole_words();
        test_binary_text();
        test_decode();
        TESTS_DONE();
}
