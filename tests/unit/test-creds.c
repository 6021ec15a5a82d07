/* Unit tests for creds.c: file format, file checks, source order, secrets kept out of diags. */
#include <fcntl.h>
#include <sys/stat.h>

#include "io/creds.h"
#include "tests.h"

/* Every secret in tests/data/creds contains this marker; no diag may ever show it. */
#define SECRET_MARKER "S3CR3T"
#define TEST_UID ((uid_t) 12345)

static const char valid_text[] = "[default]\ntype = access_key\naccess_key_id = LTAI5tDEFAULTid0001\n"
                                 "access_key_secret = S3CR3Tdefault0123456789abcdef\n";

static void check_no_secret(const struct diags *d) {
        for (size_t i = 0; i < d->n; i++) {
                CHECK(!strstr(d->items[i].message, SECRET_MARKER));
                CHECK(!strstr(d->items[i].file, SECRET_MARKER));
        }
}

static bool diags_contain(const struct diags *d, unsigned line, const char *text) {
        for (size_t i = 0; i < d->n; i++)
                if (d->items[i].line == line && strstr(d->items[i].message, text))
                        return true;
        return false;
}

static const struct {
        const char *file;
        const char *profile;
        int ret;
        const char *id;         /* expected on success */
        const char *secret;
        unsigned diag_line;     /* expected diag on failure */
        const char *diag_text;
} parse_cases[] = {
        { "valid.ini", NULL, 0, "LTAI5tDEFAULTid0001", "S3CR3Tdefault0123456789abcdef" },
        { "valid.ini", "default", 0, "LTAI5tDEFAULTid0001", "S3CR3Tdefault0123456789abcdef" },
        { "crlf.ini", "default", 0, "LTAI5tDEFAULTid0001", "S3CR3Tdefault0123456789abcdef" },
        { "profiles.ini", "prod", 0, "LTAI5tPRODid0002", "S3CR3Tprod0123456789abcdef" },
        { "profiles.ini", "default", 0, "LTAI5tDEFAULTid0001", "S3CR3Tdefault0123456789abcdef" },
        { "profiles.ini", "staging", -ENOENT, NULL, NULL, 0, "profile [staging] not found" },
        { "profiles.ini", "ram", -EINVAL, NULL, NULL, 15, "type = ram_role_arn is not supported" },
        { "valid.ini", "prod", -ENOENT, NULL, NULL, 0, "profile [prod] not found" },
        { "missing-secret.ini", NULL, -EINVAL, NULL, NULL, 0, "has no access_key_secret" },
        { "no-type.ini", NULL, -EINVAL, NULL, NULL, 0, "has no type = access_key" },
        { "wrong-type.ini", NULL, -EINVAL, NULL, NULL, 2, "type = ecs_ram_role is not supported" },
        { "duplicate.ini", NULL, -EINVAL, NULL, NULL, 5,
          "access_key_secret is set twice (first on line 4)" },
        { "syntax.ini", NULL, -EINVAL, NULL, NULL, 4, "expected [profile] or key = value" },
        { "bad-secret.ini", NULL, -EINVAL, NULL, NULL, 4, "access_key_secret contains whitespace" },
        { "long-line.ini", NULL, -EINVAL, NULL, NULL, 3, "line is longer than" },
        { "empty-profile.ini", "default", -ENOENT, NULL, NULL, 0, "profile [default] not found" },
        { "empty-profile.ini", "prod", -EINVAL, NULL, NULL, 0, "has no access_key_id" },
};

static void test_parse_table(void) {
        for (size_t i = 0; i < ELEMENTSOF(parse_cases); i++) {
                char name[256];
                _cleanup_free_ char *text = NULL;
                _cleanup_(creds_freep) struct creds *c = NULL;
                struct diags d = {};
                int r;

                snprintf(name, sizeof(name), "creds/%s", parse_cases[i].file);
                text = tests_read_data(name, NULL);
                r = creds_parse(parse_cases[i].file, text, parse_cases[i].profile, &c, &d);
                CHECK_INTEQ(r, parse_cases[i].ret);
                if (r >= 0) {
                        CHECK_STREQ(c->access_key_id, parse_cases[i].id);
                        CHECK_STREQ(c->access_key_secret, parse_cases[i].secret);
                        CHECK(!c->security_token);
                        CHECK_INTEQ(c->expiration_usec, 0);
                        CHECK_INTEQ(d.n, 0);
                } else {
                        CHECK(!c);
                        CHECK(diags_contain(&d, parse_cases[i].diag_line, parse_cases[i].diag_text));
                        if (!diags_contain(&d, parse_cases[i].diag_line, parse_cases[i].diag_text))
                                diags_print(&d, stderr);
                }
                check_no_secret(&d);
                diags_clear(&d);
        }
}

static char tmpdir[] = "/tmp/test-creds.XXXXXX";

static char *write_file(const char *name, const char *text, mode_t mode, uid_t uid) {
        char *path;
        int fd;

        CHECK(asprintf(&path, "%s/%s", tmpdir, name) > 0);
        (void) unlink(path);
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        CHECK(fd >= 0);
        CHECK(write(fd, text, strlen(text)) == (ssize_t) strlen(text));
        CHECK(fchown(fd, uid, 0) == 0);
        CHECK(fchmod(fd, mode) == 0);
        close(fd);
        return path;
}

static const struct {
        mode_t mode;
        uid_t owner;
        uid_t allowed_uid;
        int ret;
        const char *diag_text;
} file_cases[] = {
        { 0600, 0, 0, 0, NULL },
        { 0400, 0, 0, 0, NULL },
        { 0700, 0, TEST_UID, 0, NULL },
        { 0600, TEST_UID, TEST_UID, 0, NULL },
        { 0644, 0, 0, -EACCES, "mode 0644 gives group or others access" },
        { 0640, 0, 0, -EACCES, "mode 0640 gives group or others access" },
        { 0602, 0, 0, -EACCES, "mode 0602" },
        { 0610, 0, 0, -EACCES, "mode 0610" },
        { 0600, TEST_UID, 0, -EACCES, "owned by uid 12345, not by root or uid 0" },
        { 0600, TEST_UID, 999, -EACCES, "owned by uid 12345, not by root or uid 999" },
};

static void test_file_checks(void) {
        for (size_t i = 0; i < ELEMENTSOF(file_cases); i++) {
                _cleanup_free_ char *path = write_file("credentials", valid_text, file_cases[i].mode,
                                                       file_cases[i].owner);
                _cleanup_(creds_freep) struct creds *c = NULL;
                struct diags d = {};
                int r;

                r = creds_load_file(path, "default", file_cases[i].allowed_uid, &c, &d);
                CHECK_INTEQ(r, file_cases[i].ret);
                if (r >= 0) {
                        CHECK_STREQ(c->access_key_secret, "S3CR3Tdefault0123456789abcdef");
                        CHECK_INTEQ(d.n, 0);
                } else {
                        CHECK(!c);
                        CHECK_INTEQ(d.n, 1);
                        CHECK(d.n == 1 && streq(d.items[0].file, path));
                        CHECK(diags_contain(&d, 0, file_cases[i].diag_text));
                }
                check_no_secret(&d);
                diags_clear(&d);
                (void) unlink(path);
        }
}

static void check_load_file_fails(const char *path, int ret, const char *diag_text) {
        _cleanup_(creds_freep) struct creds *c = NULL;
        struct diags d = {};

        CHECK_INTEQ(creds_load_file(path, "default", 0, &c, &d), ret);
        CHECK(!c);
        CHECK(diags_contain(&d, 0, diag_text));
        check_no_secret(&d);
        diags_clear(&d);
}

static void test_file_kinds(void) {
        _cleanup_free_ char *missing = NULL, *fifo = NULL, *big = NULL, *nul = NULL, *text = NULL;
        size_t n = 70 * 1024;

        CHECK(asprintf(&missing, "%s/missing", tmpdir) > 0);
        check_load_file_fails(missing, -ENOENT, "cannot open credentials file");
        check_load_file_fails(tmpdir, -EINVAL, "not a regular file");

        CHECK(asprintf(&fifo, "%s/fifo", tmpdir) > 0);
        CHECK(mkfifo(fifo, 0600) == 0);
        check_load_file_fails(fifo, -EINVAL, "not a regular file");
        (void) unlink(fifo);

        text = malloc(n + 1);
        CHECK(text);
        memset(text, '#', n);
        text[n] = '\0';
        memcpy(text, valid_text, strlen(valid_text));
        big = write_file("big", text, 0600, 0);
        check_load_file_fails(big, -EFBIG, "larger than 65536 bytes");
        (void) unlink(big);

        nul = write_file("nul", valid_text, 0600, 0);
        CHECK(truncate(nul, (off_t) strlen(valid_text) + 8) == 0);
        check_load_file_fails(nul, -EINVAL, "contains a NUL byte");
        (void) unlink(nul);
}

static void set_env(const char *id, const char *secret, const char *token) {
        static const char *const names[] = {
                "ALIBABA_CLOUD_ACCESS_KEY_ID",
                "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
                "ALIBABA_CLOUD_SECURITY_TOKEN",
        };
        const char *values[] = { id, secret, token };

        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (values[i])
                        CHECK(setenv(names[i], values[i], 1) == 0);
                else
                        CHECK(unsetenv(names[i]) == 0);
}

enum {
        HAVE_CREDENTIAL = 1 << 0,       /* $CREDENTIALS_DIRECTORY/aliyun exists, valid */
        BAD_CREDENTIAL = 1 << 1,        /* ... exists, mode 0644 */
        HAVE_FILE = 1 << 2,             /* CredentialsFile= is set and valid */
        MISSING_FILE = 1 << 3,          /* CredentialsFile= is set, the file is missing */
        NO_DIRECTORY = 1 << 4,          /* $CREDENTIALS_DIRECTORY unset */
};

static const struct {
        unsigned setup;
        const char *env_id, *env_secret, *env_token;
        int ret;
        const char *source;
        const char *id;
        const char *token;
        const char *diag_text;
} order_cases[] = {
        { HAVE_CREDENTIAL | HAVE_FILE, "LTAI5tENVid", "S3CR3Tenv", NULL, 0, "systemd credential aliyun",
          "LTAI5tCREDid" },
        { HAVE_FILE, "LTAI5tENVid", "S3CR3Tenv", NULL, 0, "CredentialsFile=", "LTAI5tFILEid" },
        { HAVE_FILE | NO_DIRECTORY, NULL, NULL, NULL, 0, "CredentialsFile=", "LTAI5tFILEid" },
        { 0, "LTAI5tENVid", "S3CR3Tenv", NULL, 0, "environment", "LTAI5tENVid" },
        { NO_DIRECTORY, "LTAI5tENVid", "S3CR3Tenv", "S3CR3Ttoken+/=", 0, "environment", "LTAI5tENVid",
          "S3CR3Ttoken+/=" },
        { 0, NULL, NULL, NULL, -ENOENT },
        { 0, "", "", NULL, -ENOENT },
        { 0, "LTAI5tENVid", NULL, NULL, -EINVAL, NULL, NULL, NULL,
          "set without ALIBABA_CLOUD_ACCESS_KEY_SECRET" },
        { 0, NULL, "S3CR3Tenv", NULL, -EINVAL, NULL, NULL, NULL, "set without ALIBABA_CLOUD_ACCESS_KEY_ID" },
        { 0, NULL, NULL, "S3CR3Ttoken", -EINVAL, NULL, NULL, NULL, "set without" },
        { 0, "LTAI5tENVid", "S3CR3T env", NULL, -EINVAL, NULL, NULL, NULL, "contains whitespace" },
        { BAD_CREDENTIAL | HAVE_FILE, "LTAI5tENVid", "S3CR3Tenv", NULL, -EACCES, NULL, NULL, NULL,
          "mode 0644" },
        { MISSING_FILE, "LTAI5tENVid", "S3CR3Tenv", NULL, -EINVAL, NULL, NULL, NULL, "cannot open" },
};

static void run_order_case(size_t i, const char *file, const char *credentials_dir) {
        _cleanup_(creds_freep) struct creds *c = NULL;
        const char *source = NULL;
        struct diags d = {};
        int r;

        if (order_cases[i].setup & NO_DIRECTORY)
                CHECK(unsetenv("CREDENTIALS_DIRECTORY") == 0);
        else
                CHECK(setenv("CREDENTIALS_DIRECTORY", credentials_dir, 1) == 0);
        set_env(order_cases[i].env_id, order_cases[i].env_secret, order_cases[i].env_token);

        r = creds_load(file, "default", 0, &c, &source, &d);
        CHECK_INTEQ(r, order_cases[i].ret);
        if (r >= 0) {
                CHECK_STREQ(source, order_cases[i].source);
                CHECK_STREQ(c->access_key_id, order_cases[i].id);
                CHECK(streq_ptr(c->security_token, order_cases[i].token));
                CHECK_INTEQ(d.n, 0);
        } else if (order_cases[i].diag_text)
                CHECK(diags_contain(&d, 0, order_cases[i].diag_text));
        else
                CHECK_INTEQ(d.n, 0);
        check_no_secret(&d);
        diags_clear(&d);
}

static const char credential_text[] = "[default]\ntype = access_key\naccess_key_id = LTAI5tCREDid\n"
                                      "access_key_secret = S3CR3Tcred\n";

static void test_load_order(void) {
        _cleanup_free_ char *credentials_dir = NULL, *file = NULL, *missing = NULL;

        CHECK(asprintf(&credentials_dir, "%s/credentials.d", tmpdir) > 0);
        CHECK(mkdir(credentials_dir, 0700) == 0);
        file = write_file("credentials", "[default]\ntype = access_key\naccess_key_id = LTAI5tFILEid\n"
                                         "access_key_secret = S3CR3Tfile\n", 0600, 0);
        CHECK(asprintf(&missing, "%s/missing", tmpdir) > 0);

        for (size_t i = 0; i < ELEMENTSOF(order_cases); i++) {
                unsigned setup = order_cases[i].setup;
                _cleanup_free_ char *credential = NULL;

                if (setup & (HAVE_CREDENTIAL | BAD_CREDENTIAL))
                        credential = write_file("credentials.d/aliyun", credential_text,
                                                setup & BAD_CREDENTIAL ? 0644 : 0400, 0);
                run_order_case(i, setup & HAVE_FILE ? file : setup & MISSING_FILE ? missing : NULL,
                               credentials_dir);
                if (credential)
                        (void) unlink(credential);
        }
        (void) unlink(file);
        (void) rmdir(credentials_dir);
}

int main(void) {
        test_parse_table();

        CHECK(mkdtemp(tmpdir));
        test_file_checks();
        test_file_kinds();
        test_load_order();
        CHECK(rmdir(tmpdir) == 0);

        TESTS_DONE();
}
