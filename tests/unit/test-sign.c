/* Unit tests for params.c and sign.c: known answers, encoding, ordering, timestamps. */
#include "logic/sign.h"
#include "tests.h"

#define MAX_KA_PARAMS 12

static const struct {
        const char *in;
        const char *out;
} encode_cases[] = {
        { "", "" },
        { "abcXYZ019", "abcXYZ019" },
        { "-_.~", "-_.~" },
        { " ", "%20" },
        { "a b", "a%20b" },
        { "*", "%2A" },
        { "+", "%2B" },
        { "/", "%2F" },
        { "%", "%25" },
        { "a=b&c", "a%3Db%26c" },
        { "2016-02-23T12:46:24Z", "2016-02-23T12%3A46%3A24Z" },
        { "[\"i-1\",\"i-2\"]", "%5B%22i-1%22%2C%22i-2%22%5D" },
        { "\xc3\xa9", "%C3%A9" },              /* é */
        { "\xe4\xb8\xad", "%E4%B8%AD" },       /* 中 */
        { "\xf0\x9f\x94\x91", "%F0%9F%94%91" }, /* key emoji */
        { "\x01\x7f\xff", "%01%7F%FF" },
        { "OLeaidS1JvxuMvnyHOwuJ+uX5qY=", "OLeaidS1JvxuMvnyHOwuJ%2BuX5qY%3D" },
};

struct nv {
        const char *name;
        const char *value;
};

/* The published examples from the ECS "request signatures" page (secret "testsecret"). */
static const struct {
        const char *method;
        struct nv params[MAX_KA_PARAMS];
        const char *string_to_sign; /* NULL when the page does not print it */
        const char *signature;
} known_answers[] = {
        {
                "GET",
                { { "Version", "2014-05-26" },
                  { "Timestamp", "2016-02-23T12:46:24Z" },
                  { "SignatureVersion", "1.0" },
                  { "SignatureNonce", "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf" },
                  { "SignatureMethod", "HMAC-SHA1" },
                  { "Format", "XML" },
                  { "Action", "DescribeRegions" },
                  { "AccessKeyId", "testid" } },
                "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML%26SignatureMethod%3D"
                "HMAC-SHA1%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf%26SignatureVersion%3D1.0%26"
                "Timestamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26",
                "OLeaidS1JvxuMvnyHOwuJ+uX5qY=",
        },
        {
                "GET",
                { { "AccessKeyId", "testid" },
                  { "Action", "DescribeDedicatedHosts" },
                  { "Format", "JSON" },
                  { "RegionId", "cn-beijing" },
                  { "SignatureMethod", "HMAC-SHA1" },
                  { "SignatureNonce", "edb2b34af0af9a6d14deaf7c1a5315eb" },
                  { "SignatureVersion", "1.0" },
                  { "Timestamp", "2023-03-13T08:34:30Z" },
                  { "Version", "2014-05-26" } },
                NULL,
                "9NaGiOspFP5UPcwX8Iwt2YJXXuk=",
        },
};

/* Parameters in insertion order and the canonical query they must give. */
static const struct {
        struct nv params[MAX_KA_PARAMS];
        const char *canonical;
} order_cases[] = {
        { { { NULL, NULL } }, "" },
        { { { "b", "2" }, { "a", "1" } }, "a=1&b=2" },
        /* byte order: upper case sorts before lower case, "10" before "2" */
        { { { "a", "x" }, { "Z", "y" }, { "B", "z" } }, "B=z&Z=y&a=x" },
        { { { "InstanceId.2", "i-2" }, { "InstanceId.10", "i-10" }, { "InstanceId.1", "i-1" } },
          "InstanceId.1=i-1&InstanceId.10=i-10&InstanceId.2=i-2" },
        /* a prefix sorts first */
        { { { "KeyPairNames", "b" }, { "KeyPairName", "a" } }, "KeyPairName=a&KeyPairNames=b" },
        /* equal names keep their insertion order */
        { { { "A", "2" }, { "B", "0" }, { "A", "1" }, { "A", "3" } }, "A=2&A=1&A=3&B=0" },
        /* Signature is never signed */
        { { { "Signature", "old" }, { "Action", "X" } }, "Action=X" },
        /* names and values are both encoded */
        { { { "a b", "c d" }, { "Tag.1.Key", "k/*" } }, "Tag.1.Key=k%2F%2A&a%20b=c%20d" },
        { { { "Empty", "" } }, "Empty=" },
};

static const struct {
        uint64_t usec;
        size_t size;
        int ret;
        const char *out;
} timestamp_cases[] = {
        { 0, 21, 0, "1970-01-01T00:00:00Z" },
        { 1456231584 * USEC_PER_SEC, 21, 0, "2016-02-23T12:46:24Z" },
        { 1456231584 * USEC_PER_SEC + 999999, 21, 0, "2016-02-23T12:46:24Z" }, /* truncated, not rounded */
        { 1678696470 * USEC_PER_SEC, 64, 0, "2023-03-13T08:34:30Z" },
        { 951782400 * USEC_PER_SEC, 21, 0, "2000-02-29T00:00:00Z" },
        { 253402300799 * USEC_PER_SEC, 21, 0, "9999-12-31T23:59:59Z" },
        { 253402300800 * USEC_PER_SEC, 21, -ERANGE, NULL },
        { UINT64_MAX, 64, -ERANGE, NULL },
        { 0, 20, -ENOBUFS, NULL },
        { 0, 0, -ENOBUFS, NULL },
};

static void fill(struct params *p, const struct nv *nv) {
        for (size_t i = 0; i < MAX_KA_PARAMS && nv[i].name; i++)
                CHECK_INTEQ(params_add(p, nv[i].name, nv[i].value), 0);
}

static void test_encode(void) {
        for (size_t i = 0; i < ELEMENTSOF(encode_cases); i++) {
                _cleanup_free_ char *e = NULL;
                CHECK_INTEQ(sign_percent_encode(encode_cases[i].in, &e), 0);
                CHECK_STREQ(e, encode_cases[i].out);
        }
}

static void test_known_answers(void) {
        for (size_t i = 0; i < ELEMENTSOF(known_answers); i++) {
                _cleanup_free_ char *sts = NULL, *sig = NULL;
                struct params p = {};

                fill(&p, known_answers[i].params);
                CHECK_INTEQ(sign_string_to_sign(known_answers[i].method, &p, &sts), 0);
                if (known_answers[i].string_to_sign)
                        CHECK_STREQ(sts, known_answers[i].string_to_sign);
                CHECK_INTEQ(sign_v1(known_answers[i].method, &p, "testsecret", &sig), 0);
                CHECK_STREQ(sig, known_answers[i].signature);

                /* an old Signature parameter changes nothing */
                CHECK_INTEQ(params_add(&p, "Signature", "stale"), 0);
                free(sig);
                sig = NULL;
                CHECK_INTEQ(sign_v1(known_answers[i].method, &p, "testsecret", &sig), 0);
                CHECK_STREQ(sig, known_answers[i].signature);
                params_done(&p);
        }
}

static void test_order(void) {
        for (size_t i = 0; i < ELEMENTSOF(order_cases); i++) {
                _cleanup_free_ char *q = NULL;
                struct params p = {};

                fill(&p, order_cases[i].params);
                CHECK_INTEQ(sign_canonical_query(&p, &q), 0);
                CHECK_STREQ(q, order_cases[i].canonical);
                params_done(&p);
        }
}

static void test_encode_request(void) {
        _cleanup_free_ char *req = NULL, *q = NULL, *expected = NULL, *sts = NULL, *sig = NULL;
        struct params p = {};

        fill(&p, known_answers[0].params);
        CHECK_INTEQ(params_add(&p, "Signature", "stale"), 0);
        CHECK_INTEQ(sign_encode_request("GET", &p, "testsecret", &req), 0);
        CHECK_INTEQ(sign_canonical_query(&p, &q), 0);
        CHECK(asprintf(&expected, "%s&Signature=OLeaidS1JvxuMvnyHOwuJ%%2BuX5qY%%3D", q) > 0);
        CHECK_STREQ(req, expected);
        CHECK(strstr(req, "Timestamp=2016-02-23T12%3A46%3A24Z&"));
        CHECK(!strstr(req, "stale"));

        /* the method is signed */
        CHECK_INTEQ(sign_v1("POST", &p, "testsecret", &sig), 0);
        CHECK(!streq(sig, known_answers[0].signature));

        /* refused inputs */
        CHECK_INTEQ(sign_v1("GET", &p, "", &sig), -EINVAL);
        CHECK_INTEQ(sign_v1("get", &p, "testsecret", &sig), -EINVAL);
        CHECK_INTEQ(sign_string_to_sign("", &p, &sts), -EINVAL);
        CHECK_INTEQ(sign_string_to_sign("G T", &p, &sts), -EINVAL);
        CHECK(!sts);
        params_done(&p);

        /* nothing but the signature */
        free(req);
        req = NULL;
        CHECK_INTEQ(sign_encode_request("POST", &p, "k", &req), 0);
        CHECK(req && strneq(req, "Signature=", 10));
}

static void test_timestamp(void) {
        for (size_t i = 0; i < ELEMENTSOF(timestamp_cases); i++) {
                char buf[64] = "";
                CHECK_INTEQ(sign_format_timestamp(timestamp_cases[i].usec, buf, timestamp_cases[i].size),
                            timestamp_cases[i].ret);
                if (timestamp_cases[i].out)
                        CHECK_STREQ(buf, timestamp_cases[i].out);
        }
}

static void test_params(void) {
        struct params p = {}, c = {};
        int r = 0;

        CHECK_INTEQ(params_add(&p, "RegionId", "cn-hangzhou"), 0);
        CHECK_INTEQ(params_addf(&p, "InstanceId.%d", "i-%03d", 7), 0);
        CHECK_INTEQ(params_add(&p, "RegionId", "second"), 0);
        CHECK_INTEQ(p.n, 3);
        CHECK_STREQ(params_get(&p, "RegionId"), "cn-hangzhou");
        CHECK_STREQ(params_get(&p, "InstanceId.%d"), "i-007");
        CHECK(!params_get(&p, "regionid"));

        CHECK_INTEQ(params_copy(&p, &c), 0);
        CHECK_INTEQ(c.n, 3);
        CHECK(c.items[0].value != p.items[0].value);
        CHECK_STREQ(c.items[2].value, "second");
        params_done(&p);
        CHECK(!p.items && p.n == 0 && p.allocated == 0);
        CHECK_STREQ(params_get(&c, "RegionId"), "cn-hangzhou");

        for (size_t i = c.n; i < PARAMS_MAX; i++)
                r |= params_addf(&c, "Tag", "%zu", i);
        CHECK_INTEQ(r, 0);
        CHECK_INTEQ(c.n, PARAMS_MAX);
        CHECK_INTEQ(params_add(&c, "One", "too many"), -E2BIG);
        CHECK_INTEQ(params_addf(&c, "One", "%s", "too many"), -E2BIG);
        CHECK_INTEQ(c.n, PARAMS_MAX);
        params_done(&c);
        params_done(&c);
}

int main(void) {
        test_encode();
        test_known_answers();
        test_order();
        test_encode_request();
        test_timestamp();
        test_params();
        TESTS_DONE();
}
