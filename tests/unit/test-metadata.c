/* Unit tests for metadata.c: credentials answers, timestamps, refresh times, argument checks. */
#include "io/metadata.h"
#include "tests.h"

#define SEC(s) ((uint64_t) (s) * USEC_PER_SEC)
#define T0 SEC(1709296496) /* 2024-03-01T12:34:56Z */

static const struct {
        const char *file;
        int ret;
        const char *id;         /* expected on success */
        const char *secret;
        const char *token_prefix;
        uint64_t expiration_usec;
} parse_cases[] = {
        { "valid.json", 0, "STS.NTestKeyId1234", "s3cr3tValue+/=", "CAIS8gF1q6Ft5B2y", T0 },
        { "valid-pretty.json", 0, "STS.NPretty", "pretty-secret", "token.with-punct+/=", SEC(951868799) },
        { "code-failed.json", -EREMOTEIO },
        { "code-lowercase.json", -EREMOTEIO },
        { "code-missing.json", -EBADMSG },
        { "code-number.json", -EBADMSG },
        { "missing-id.json", -EBADMSG },
        { "missing-secret.json", -EBADMSG },
        { "missing-token.json", -EBADMSG },
        { "missing-expiration.json", -EBADMSG },
        { "bad-expiration-date.json", -EBADMSG },
        { "bad-expiration-offset.json", -EBADMSG },
        { "bad-expiration-number.json", -EBADMSG },
        { "empty-id.json", -EBADMSG },
        { "space-in-id.json", -EBADMSG },
        { "nul-in-secret.json", -EBADMSG },
        { "token-array.json", -EBADMSG },
        { "duplicate-key.json", -EBADMSG },
        { "array-root.json", -EBADMSG },
        { "trailing.json", -EBADMSG },
        { "truncated.json", -EBADMSG },
        { "xml.json", -EBADMSG },
};

static void test_parse_table(void) {
        for (size_t i = 0; i < ELEMENTSOF(parse_cases); i++) {
                char name[256];
                _cleanup_free_ char *text = NULL;
                _cleanup_(creds_freep) struct creds *c = NULL;
                size_t len;
                int r;

                snprintf(name, sizeof(name), "metadata/%s", parse_cases[i].file);
                text = tests_read_data(name, &len);
                r = metadata_parse_credentials(text, len, &c);
                CHECK_INTEQ(r, parse_cases[i].ret);
                if (r != parse_cases[i].ret)
                        fprintf(stderr, "  in %s\n", parse_cases[i].file);
                if (r < 0) {
                        CHECK(!c);
                        continue;
                }
                CHECK_STREQ(c->access_key_id, parse_cases[i].id);
                CHECK_STREQ(c->access_key_secret, parse_cases[i].secret);
                CHECK(c->security_token && strneq(c->security_token, parse_cases[i].token_prefix,
                                                  strlen(parse_cases[i].token_prefix)));
                CHECK_INTEQ(c->expiration_usec, parse_cases[i].expiration_usec);
        }
}

/* Answers over the size cap are refused before parsing; the cap itself is accepted. */
static void test_parse_size_cap(void) {
        _cleanup_free_ char *valid = tests_read_data("metadata/valid.json", NULL);
        size_t n = strlen(valid);
        _cleanup_free_ char *big = malloc(METADATA_CREDS_MAX_BYTES + 2);
        _cleanup_(creds_freep) struct creds *c = NULL;

        CHECK(big != NULL);
        if (!big)
                return;
        /* The valid answer padded with whitespace to exactly the cap, then one byte more. */
        memcpy(big, valid, n);
        memset(big + n, ' ', METADATA_CREDS_MAX_BYTES + 1 - n);
        big[METADATA_CREDS_MAX_BYTES + 1] = '\0';
        CHECK_INTEQ(metadata_parse_credentials(big, METADATA_CREDS_MAX_BYTES, &c), 0);
        CHECK(c && streq(c->access_key_id, "STS.NTestKeyId1234"));
        CHECK_INTEQ(metadata_parse_credentials(big, METADATA_CREDS_MAX_BYTES + 1, &c), -EMSGSIZE);
}

static const struct {
        const char *text;
        int ret;
        uint64_t usec;
} timestamp_cases[] = {
        { "2024-03-01T12:34:56Z", 0, T0 },
        { "1970-01-01T00:00:00Z", 0, 0 },
        { "2000-02-29T23:59:59Z", 0, SEC(951868799) },
        { "2100-03-01T00:00:00Z", 0, SEC(4107542400) },
        { "2038-01-19T03:14:08Z", 0, SEC(2147483648) },
        { "9999-12-31T23:59:59Z", 0, SEC(253402300799) },
        { "2100-02-29T00:00:00Z", -EINVAL },    /* 2100 is not a leap year */
        { "2023-02-29T00:00:00Z", -EINVAL },
        { "2024-04-31T00:00:00Z", -EINVAL },
        { "2024-13-01T00:00:00Z", -EINVAL },
        { "2024-00-01T00:00:00Z", -EINVAL },
        { "2024-01-00T00:00:00Z", -EINVAL },
        { "2024-01-01T24:00:00Z", -EINVAL },
        { "2024-01-01T00:60:00Z", -EINVAL },
        { "2024-01-01T00:00:60Z", -EINVAL },
        { "1969-12-31T23:59:59Z", -EINVAL },
        { "2024-03-01T12:34Z", -EINVAL },
        { "2024-03-01T12:34:56", -EINVAL },
        { "2024-03-01 12:34:56Z", -EINVAL },
        { "2024-03-01T12:34:56z", -EINVAL },
        { "2024-03-01T12:34:56.000Z", -EINVAL },
        { "2024-3-01T12:34:56Z ", -EINVAL },
        { "+024-03-01T12:34:56Z", -EINVAL },
        { "2024-03-01T12:34:5 Z", -EINVAL },
        { "", -EINVAL },
        { NULL, -EINVAL },
};

static void test_timestamps(void) {
        for (size_t i = 0; i < ELEMENTSOF(timestamp_cases); i++) {
                uint64_t usec = 1;
                int r = metadata_parse_timestamp(timestamp_cases[i].text, &usec);

                CHECK_INTEQ(r, timestamp_cases[i].ret);
                if (r != timestamp_cases[i].ret)
                        fprintf(stderr, "  for \"%s\"\n", strempty(timestamp_cases[i].text));
                CHECK_INTEQ(usec, r == 0 ? timestamp_cases[i].usec : 1);
        }
}

static const struct {
        uint64_t remaining_sec;         /* Expiration - now */
        uint64_t delay_sec;             /* expected refresh time - now */
} refresh_cases[] = {
        { 21600, 17280 },       /* 6 h: a fifth (72 min) before */
        { 3600, 2880 },         /* 1 h: a fifth (12 min) before */
        { 1500, 1200 },         /* 25 min: 5 min is exactly a fifth */
        { 900, 600 },           /* 15 min: 5 min before */
        { 400, 100 },           /* 5 min margin, 100 s delay */
        { 360, 60 },            /* exactly at the minimum delay */
        { 300, 60 },            /* margin >= lifetime: minimum delay */
        { 90, 60 },             /* short-lived: 30 s before expiry */
        { 60, 60 },
        { 30, 60 },             /* expires before: still no faster polling */
        { 0, 60 },
};

static void test_refresh_at(void) {
        const uint64_t now = T0;

        for (size_t i = 0; i < ELEMENTSOF(refresh_cases); i++) {
                uint64_t at = metadata_refresh_at(now, now + SEC(refresh_cases[i].remaining_sec));

                CHECK_INTEQ(at - now, SEC(refresh_cases[i].delay_sec));
        }
        /* Already expired long ago (skewed clock or stale answer). */
        CHECK_INTEQ(metadata_refresh_at(now, now - SEC(3600)), now + METADATA_REFRESH_MIN_DELAY_USEC);
        CHECK_INTEQ(metadata_refresh_at(now, 0), now + METADATA_REFRESH_MIN_DELAY_USEC);
        /* The refresh is always before Expiration when the lifetime allows the minimum delay. */
        for (uint64_t s = 61; s < 100000; s += 997) {
                uint64_t at = metadata_refresh_at(now, now + SEC(s));

                CHECK(at < now + SEC(s));
                CHECK(at >= now + METADATA_REFRESH_MIN_DELAY_USEC);
        }
}

static const struct {
        const char *role;
        bool valid;
} role_cases[] = {
        { "KeyrevokeRole", true },
        { "a", true },
        { "role.name_with-all.chars09", true },
        { "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", true },   /* 64 */
        { "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false },  /* 65 */
        { "", false },
        { NULL, false },
        { "role/../x", false },
        { "role name", false },
        { "role?x=1", false },
        { "role%2F", false },
        { "r\xc3\xb6le", false },
        { "role\n", false },
};

static void test_roles(void) {
        for (size_t i = 0; i < ELEMENTSOF(role_cases); i++) {
                CHECK(metadata_role_is_valid(role_cases[i].role) == role_cases[i].valid);
                if (metadata_role_is_valid(role_cases[i].role) != role_cases[i].valid)
                        fprintf(stderr, "  for \"%s\"\n", strempty(role_cases[i].role));
        }
}

static void ignore_creds_cb(struct creds *c, int error, void *userdata) {
        creds_free(c);
}

static const struct {
        const char *endpoint;
        const char *role;
        int ret;
} new_cases[] = {
        { "http://100.100.100.200", "KeyrevokeRole", 0 },
        { "http://127.0.0.1:8080/", "KeyrevokeRole", 0 },
        { "https://[::1]:8443", "R", 0 },
        { "ftp://127.0.0.1", "KeyrevokeRole", -EINVAL },
        { "127.0.0.1", "KeyrevokeRole", -EINVAL },
        { "http://127.0.0.1 x", "KeyrevokeRole", -EINVAL },
        { "http://", "KeyrevokeRole", -EINVAL },
        { "https:///", "KeyrevokeRole", -EINVAL },
        { "", "KeyrevokeRole", -EINVAL },
        { NULL, "KeyrevokeRole", -EINVAL },
        { "http://127.0.0.1", "bad/role", -EINVAL },
        { "http://127.0.0.1", "", -EINVAL },
};

/* Construction only checks its arguments: no request is made before metadata_start(). */
static void test_new(void) {
        sd_event *event = NULL;
        _cleanup_(http_freep) struct http *http = NULL;

        CHECK_INTEQ(sd_event_new(&event), 0);
        CHECK_INTEQ(http_new(event, &http), 0);
        for (size_t i = 0; i < ELEMENTSOF(new_cases); i++) {
                _cleanup_(metadata_freep) struct metadata *m = NULL;
                int r = metadata_new(event, http, new_cases[i].endpoint, new_cases[i].role, ignore_creds_cb,
                                     NULL, &m);

                CHECK_INTEQ(r, new_cases[i].ret);
                CHECK((r == 0) == (m != NULL));
                if (!m)
                        continue;
                CHECK_INTEQ(metadata_set_token_ttl(m, 0), -ERANGE);
                CHECK_INTEQ(metadata_set_token_ttl(m, 21601), -ERANGE);
                CHECK_INTEQ(metadata_set_token_ttl(m, 1), 0);
                CHECK_INTEQ(metadata_start(m), 0);
                CHECK_INTEQ(metadata_start(m), -EBUSY);
                CHECK_INTEQ(http_in_flight(http), 0);
        }
        http = http_free(http);
        sd_event_unref(event);
}

int main(void) {
        test_parse_table();
        test_parse_size_cap();
        test_timestamps();
        test_refresh_at();
        test_roles();
        test_new();
        TESTS_DONE();
}
