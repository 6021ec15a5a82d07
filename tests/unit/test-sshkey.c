/* Unit tests for sshkey.c: real keys against ssh-keygen's fingerprints, crafted bad blobs. */
#include <openssl/evp.h>

#include "logic/sshkey.h"
#include "tests.h"

/* Generated once with ssh-keygen (the sk- ones built from real points); NAME.sha256 and NAME.md5
 * hold `ssh-keygen -l -E sha256|md5 -f NAME.pub` as printed. */
static const char *const golden_keys[] = {
        "ed25519", "rsa", "ecdsa256", "ecdsa384", "ecdsa521", "dsa", "sk-ed25519", "sk-ecdsa256",
};

/* Returns the fingerprint word of an `ssh-keygen -l` line ("BITS FINGERPRINT COMMENT (TYPE)"). */
static char *golden_fingerprint(const char *key, const char *hash) {
        char name[256], fp[128];
        char *text;

        snprintf(name, sizeof(name), "keys/%s.%s", key, hash);
        text = tests_read_data(name, NULL);
        if (sscanf(text, "%*s %127s", fp) != 1)
                abort();
        free(text);
        return strdup(fp);
}

static void test_golden_key(const char *key) {
        struct sshkey_digests d = {};
        uint8_t sha256[SSHKEY_SHA256_LEN], md5[SSHKEY_MD5_LEN];
        const char *error = NULL;
        char name[256], formatted[52], type[64];
        char *line, *fp_sha256, *fp_md5;

        snprintf(name, sizeof(name), "keys/%s.pub", key);
        line = tests_read_data(name, NULL);
        fp_sha256 = golden_fingerprint(key, "sha256");
        fp_md5 = golden_fingerprint(key, "md5");

        CHECK(sscanf(line, "%63s", type) == 1 && sshkey_is_type(type));
        CHECK_INTEQ(sshkey_parse_public(line, &d, &error), 0);
        CHECK(!error);
        sshkey_format_sha256(d.sha256, formatted, sizeof(formatted));
        CHECK_STREQ(formatted, fp_sha256);
        CHECK_INTEQ(sshkey_parse_sha256(fp_sha256, sha256), 0);
        CHECK(memcmp(sha256, d.sha256, sizeof(sha256)) == 0);
        CHECK_INTEQ(sshkey_parse_md5(fp_md5, md5), 0);
        CHECK(memcmp(md5, d.md5, sizeof(md5)) == 0);

        free(line);
        free(fp_sha256);
        free(fp_md5);
}

static void test_is_type(void) {
        static const struct {
                const char *token;
                bool ok;
        } cases[] = {
                { "ssh-rsa", true },
                { "ssh-dss", true },
                { "ssh-ed25519", true },
                { "ecdsa-sha2-nistp256", true },
                { "ecdsa-sha2-nistp384", true },
                { "ecdsa-sha2-nistp521", true },
                { "sk-ecdsa-sha2-nistp256@openssh.com", true },
                { "sk-ssh-ed25519@openssh.com", true },
                { "ssh-ed25519-cert-v01@openssh.com", false },
                { "ssh-rsa-cert-v01@openssh.com", false },
                { "rsa-sha2-256", false },
                { "ecdsa-sha2-nistp224", false },
                { "SSH-RSA", false },
                { "ssh-rsa ", false },
                { "ssh-rs", false },
                { "", false },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                CHECK(sshkey_is_type(cases[i].token) == cases[i].ok);
}

#define KEY32 "0123456789abcdef0123456789abcdef"
#define KEY31 "0123456789abcdef0123456789abcde"

/* Builds "TYPE BASE64 comment" from the blob's SSH strings, dropping cut bytes from its end. */
static char *make_line(const char *type, const char *const *fields, size_t n_fields, size_t extra,
                       size_t cut) {
        size_t len = 0, off = 0;
        uint8_t *blob;
        char *line;
        int n;

        for (size_t i = 0; i < n_fields; i++)
                len += 4 + strlen(fields[i]);
        len += extra;
        blob = calloc(1, len);
        line = malloc(strlen(type) + len / 3 * 4 + 16);
        if (!blob || !line)
                abort();
        for (size_t i = 0; i < n_fields; i++) {
                uint32_t l = (uint32_t) strlen(fields[i]);
                uint8_t be[4] = { (uint8_t) (l >> 24), (uint8_t) (l >> 16), (uint8_t) (l >> 8), (uint8_t) l };

                memcpy(blob + off, be, 4);
                memcpy(blob + off + 4, fields[i], l);
                off += 4 + l;
        }
        n = sprintf(line, "%s ", type);
        n += EVP_EncodeBlock((unsigned char *) line + n, blob, (int) (len - cut));
        strcpy(line + n, " comment");
        free(blob);
        return line;
}

static void test_crafted_blobs(void) {
        static const struct {
                const char *type;
                const char *fields[6];
                size_t extra; /* zero bytes appended after the fields */
                size_t cut;   /* bytes removed from the end of the blob */
                const char *error;
        } cases[] = {
                { "ssh-ed25519", { "ssh-ed25519", KEY32 }, 0, 0, NULL },
                { "ssh-rsa", { "ssh-rsa", "e", "n" }, 0, 0, NULL },
                { "ssh-dss", { "ssh-dss", "p", "q", "g", "y" }, 0, 0, NULL },
                { "sk-ssh-ed25519@openssh.com", { "sk-ssh-ed25519@openssh.com", KEY32, "ssh:" }, 0, 0, NULL },
                { "ssh-rsa", { "ssh-ed25519", KEY32 }, 0, 0, "key data does not match the key type" },
                { "ssh-ed25519", { "ssh-ed25519x", KEY32 }, 0, 0, "key data does not match the key type" },
                { "ssh-ed25519", { "ssh-ed25519", KEY32 }, 0, 1, "key data is truncated" },
                { "ssh-ed25519", { "ssh-ed25519", KEY32 }, 0, 33, "key data is truncated" },
                { "ssh-ed25519", { "ssh-ed25519" }, 0, 0, "key data is truncated" },
                { "ssh-ed25519", { "ssh-ed25519", KEY32 }, 0, 38, "key data is truncated" },
                { "ssh-ed25519", { "ssh-ed" }, 0, 0, "key data does not match the key type" },
                { "ssh-ed25519", { "ssh-ed25519", KEY31 }, 0, 0, "key data has the wrong key length" },
                { "ssh-ed25519", { "ssh-ed25519", KEY32 }, 1, 0, "key data has trailing bytes" },
                { "ssh-ed25519", { "ssh-ed25519", KEY32, "x" }, 0, 0, "key data has trailing bytes" },
                { "ssh-rsa", { "ssh-rsa", "e" }, 0, 0, "key data is truncated" },
                { "ecdsa-sha2-nistp384", { "ecdsa-sha2-nistp384", "nistp256", "Q" }, 0, 0,
                  "key data names the wrong curve" },
                { "sk-ecdsa-sha2-nistp256@openssh.com",
                  { "sk-ecdsa-sha2-nistp256@openssh.com", "nistp256", "Q" }, 0, 0, "key data is truncated" },
                { "ssh-ed25519-cert-v01@openssh.com", { "ssh-ed25519-cert-v01@openssh.com", KEY32 }, 0, 0,
                  "unknown key type" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct sshkey_digests d;
                const char *error = NULL;
                size_t n = 0;
                char *line;
                int r;

                while (n < ELEMENTSOF(cases[i].fields) && cases[i].fields[n])
                        n++;
                line = make_line(cases[i].type, cases[i].fields, n, cases[i].extra, cases[i].cut);
                r = sshkey_parse_public(line, &d, &error);
                if (cases[i].error) {
                        CHECK_INTEQ(r, -EINVAL);
                        CHECK_STREQ(error, cases[i].error);
                } else {
                        CHECK_INTEQ(r, 0);
                        CHECK(!error);
                }
                free(line);
        }
}

static void test_bad_text(void) {
        static const struct {
                const char *line;
                const char *error;
        } cases[] = {
                { "", "unknown key type" },
                { "ssh-ed25519", "key data missing after the key type" },
                { "ssh-ed25519   \t ", "key data missing after the key type" },
                { "ssh-ed25519 AAAA!NzaC1lZDI1NTE5", "key data is not valid base64" },
                { "ssh-ed25519 AAAAC3NzaC1lZDI1NTE", "key data is not valid base64" },
                { "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5=", "key data is not valid base64" },
                { "ssh-ed25519 AAAA=C3N", "key data is not valid base64" },
                { "ssh-ed25519 A===", "key data is not valid base64" },
                { "ssh-ed25519 ====", "key data is not valid base64" },
                { "ssh-ed25519 AB==", "key data is not valid base64" }, /* non-zero padding bits */
                { "ssh-ed25519 AAB=", "key data is not valid base64" },
                { "ssh-ed25519 AA-_", "key data is not valid base64" }, /* URL-safe alphabet */
                { "ssh-ed25519 AA==", "key data is truncated" },
                { "ssh-ed25519 AAAA", "key data is truncated" },
                { "ssh-ed25519 AAAAAA==", "key data does not match the key type" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct sshkey_digests d;
                const char *error = NULL;

                CHECK_INTEQ(sshkey_parse_public(cases[i].line, &d, &error), -EINVAL);
                CHECK_STREQ(error, cases[i].error);
        }
}

/* An RSA blob whose modulus field makes the whole blob exactly blob_len bytes long. */
static char *make_rsa_line(size_t blob_len) {
        size_t n_len = blob_len - (4 + 7) - (4 + 1) - 4;
        const char *fields[] = { "ssh-rsa", "e", NULL };
        char *n = malloc(n_len + 1), *line;

        if (!n)
                abort();
        memset(n, 'n', n_len);
        n[n_len] = '\0';
        fields[2] = n;
        line = make_line("ssh-rsa", fields, 3, 0, 0);
        free(n);
        return line;
}

static void test_size_limits(void) {
        static const struct {
                size_t blob_len;
                int r;
        } cases[] = {
                { SSHKEY_BLOB_MAX - 1, 0 },
                { SSHKEY_BLOB_MAX, 0 },
                { SSHKEY_BLOB_MAX + 1, -EINVAL },
                { SSHKEY_BLOB_MAX + 2, -EINVAL },
                { SSHKEY_BLOB_MAX + 3, -EINVAL },
                { 4 * SSHKEY_BLOB_MAX, -EINVAL },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct sshkey_digests d;
                const char *error = NULL;
                char *line = make_rsa_line(cases[i].blob_len);

                CHECK_INTEQ(sshkey_parse_public(line, &d, &error), cases[i].r);
                if (cases[i].r < 0)
                        CHECK_STREQ(error, "key data too large");
                free(line);
        }
}

static void test_parse_sha256(void) {
        static const struct {
                const char *token;
                int r;
        } cases[] = {
                { "SHA256:EjljDIXABOZuGKhFEjon6w3z0z/TeEJH/zTp/cBm490", 0 },
                { "SHA256:03znR5ZFmC/fbrrkE056CRzqKQjlB5SnMkqgoQAB2/Q", 0 },
                { "SHA256:EjljDIXABOZuGKhFEjon6w3z0z/TeEJH/zTp/cBm491", -EINVAL }, /* spare bits set */
                { "SHA256:EjljDIXABOZuGKhFEjon6w3z0z/TeEJH/zTp/cBm49", -EINVAL },
                { "SHA256:EjljDIXABOZuGKhFEjon6w3z0z/TeEJH/zTp/cBm490=", -EINVAL },
                { "SHA256:EjljDIXABOZuGKhFEjon6w3z0z/TeEJH/zTp/cBm49=", -EINVAL },
                { "SHA256:EjljDIXABOZuGKhFEjon6w3z0z/TeEJH/zTp_cBm490", -EINVAL },
                { "SHA256:EjljDIXABOZuGKhFEjon6w3z0z/TeEJH/zTp cBm490", -EINVAL },
                { "sha256:EjljDIXABOZuGKhFEjon6w3z0z/TeEJH/zTp/cBm490", -EINVAL },
                { "EjljDIXABOZuGKhFEjon6w3z0z/TeEJH/zTp/cBm490", -EINVAL },
                { "SHA256:", -EINVAL },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                uint8_t d[SSHKEY_SHA256_LEN];
                char back[52];

                CHECK_INTEQ(sshkey_parse_sha256(cases[i].token, d), cases[i].r);
                if (cases[i].r == 0) {
                        sshkey_format_sha256(d, back, sizeof(back));
                        CHECK_STREQ(back, cases[i].token);
                }
        }
}

static void test_parse_md5(void) {
        static const struct {
                const char *token;
                int r;
        } cases[] = {
                { "MD5:cf:30:4a:8d:07:75:44:d9:a0:5c:98:04:9c:c7:95:cd", 0 },
                { "MD5:CF:30:4A:8D:07:75:44:D9:A0:5C:98:04:9C:C7:95:CD", 0 },
                { "MD5:cf:30:4a:8d:07:75:44:d9:a0:5c:98:04:9c:c7:95", -EINVAL },
                { "MD5:cf:30:4a:8d:07:75:44:d9:a0:5c:98:04:9c:c7:95:cd:", -EINVAL },
                { "MD5:cf:30:4a:8d:07:75:44:d9:a0:5c:98:04:9c:c7:95:cd:00", -EINVAL },
                { "MD5:cf304a8d077544d9a05c98049cc795cd", -EINVAL },
                { "MD5:cf-30-4a-8d-07-75-44-d9-a0-5c-98-04-9c-c7-95-cd", -EINVAL },
                { "MD5:cg:30:4a:8d:07:75:44:d9:a0:5c:98:04:9c:c7:95:cd", -EINVAL },
                { "MD5:cf:30:4a:8d:07:75:44:d9:a0:5c:98:04:9c:c7:95:c", -EINVAL },
                { "md5:cf:30:4a:8d:07:75:44:d9:a0:5c:98:04:9c:c7:95:cd", -EINVAL },
                { "cf:30:4a:8d:07:75:44:d9:a0:5c:98:04:9c:c7:95:cd", -EINVAL },
                { "MD5:", -EINVAL },
        };
        static const uint8_t expected[SSHKEY_MD5_LEN] = {
                0xcf, 0x30, 0x4a, 0x8d, 0x07, 0x75, 0x44, 0xd9,
                0xa0, 0x5c, 0x98, 0x04, 0x9c, 0xc7, 0x95, 0xcd,
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                uint8_t d[SSHKEY_MD5_LEN];

                CHECK_INTEQ(sshkey_parse_md5(cases[i].token, d), cases[i].r);
                if (cases[i].r == 0)
                        CHECK(memcmp(d, expected, sizeof(d)) == 0);
        }
}

static void test_format_truncates(void) {
        uint8_t d[SSHKEY_SHA256_LEN] = {};
        char buf[10];

        sshkey_format_sha256(d, buf, sizeof(buf));
        CHECK_STREQ(buf, "SHA256:AA");
}

int main(void) {
        for (size_t i = 0; i < ELEMENTSOF(golden_keys); i++)
                test_golden_key(golden_keys[i]);
        test_is_type();
        test_crafted_blobs();
        test_bad_text();
        test_size_limits();
        test_parse_sha256();
        test_parse_md5();
        test_format_truncates();
        TESTS_DONE();
}
