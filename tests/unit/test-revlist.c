/* Unit tests for revlist.c: the golden lists under tests/data/lists and the file safety checks. */
#include <fcntl.h>
#include <sys/stat.h>

#include "logic/revlist.h"
#include "tests.h"

#define HINT ": options are region=R1,R2 and reason=TEXT"
#define MSG_EMPTY "empty option value"
#define MSG_REGION "invalid region= value: expected RegionIds such as cn-hangzhou, separated by commas"
#define MSG_NAME_LEN "invalid key pair name: must be 2 to 128 characters long"
#define MSG_NAME_START "invalid key pair name: must start with a letter"
#define MSG_NAME_HTTP "invalid key pair name: must not start with http:// or https://"
#define MSG_NAME_CHARS "invalid key pair name: only letters, digits, ':', '_', '-' and '.' are allowed"
#define MSG_SHA256 "invalid fingerprint: expected SHA256: and 43 base64 characters"
#define MSG_MD5 "invalid fingerprint: expected MD5: and 16 colon-separated hex pairs"
#define MSG_LONG "line longer than 16 KiB"
#define MSG_UTF8 "line is not valid UTF-8"

struct expect_entry {
        unsigned line; /* 0 ends the table */
        enum revlist_kind kind;
        const char *value;   /* name, fingerprint, or for public keys the golden key under keys/ */
        const char *regions; /* comma-joined, NULL = every region */
        const char *reason;
};

struct expect_diag {
        unsigned line; /* 0 ends the table */
        const char *message;
};

static const struct list_case {
        const char *file;
        struct expect_entry entries[32];
        struct expect_diag bad[32];
} list_cases[] = {
        {
                "basic.list",
                {
                        { 3, REVLIST_NAME, "web-prod-2019" },
                        { 4, REVLIST_NAME, "ops:deploy_key.v2", NULL, "lost laptop" },
                        { 5, REVLIST_NAME, "ci-runner", "cn-hangzhou,cn-shanghai", "rotated" },
                        { 6, REVLIST_SHA256, "SHA256:EjljDIXABOZuGKhFEjon6w3z0z/TeEJH/zTp/cBm490", NULL,
                          "alice left" },
                        { 7, REVLIST_MD5, "MD5:f7:11:4d:d3:30:11:67:79:fc:8a:33:b4:e9:c5:a1:d3",
                          "ap-southeast-1" },
                        { 8, REVLIST_PUBLIC_KEY, "ed25519" },
                        { 12, REVLIST_NAME, "legacy-key", "eu-central-1" },
                        { 13, REVLIST_NAME, "web-prod-2019" }, /* duplicates are kept */
                },
                { { 11, "unexpected text \"name\"" HINT } },
        },
        {
                "names.list",
                {
                        { 2, REVLIST_NAME, "ab" },
                        { 4, REVLIST_NAME, "kxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"  /* 128 characters */
                                           "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                                           "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                                           "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" },
                        { 10, REVLIST_NAME, "http:example" },
                        { 11, REVLIST_NAME, "Key.Pair:1_2-3" },
                        { 19, REVLIST_NAME, "x-" },
                },
                {
                        { 3, MSG_NAME_LEN },
                        { 5, MSG_NAME_LEN },
                        { 6, MSG_NAME_START },
                        { 7, MSG_NAME_START },
                        { 8, MSG_NAME_HTTP },
                        { 9, MSG_NAME_HTTP },
                        { 12, MSG_NAME_CHARS },
                        { 13, MSG_NAME_CHARS },
                        { 14, MSG_NAME_CHARS },
                        { 15, MSG_NAME_CHARS },
                        { 16, MSG_NAME_START },
                        { 17, "certificates are not supported: list the public key or its fingerprint" },
                        { 18, "key data missing after the key type" },
                },
        },
        {
                "options.list",
                {
                        { 2, REVLIST_NAME, "a1", "cn-hangzhou" },
                        { 3, REVLIST_NAME, "a2", NULL, "plain" },
                        { 4, REVLIST_NAME, "a3", "us-west-1", "two words" },
                        { 5, REVLIST_NAME, "a4", "cn-beijing,cn-qingdao" },
                        { 6, REVLIST_NAME, "a5", NULL, "tab\tinside" },
                        { 22, REVLIST_NAME, "a21", NULL, "\xe9\x91\xb0\xe5\x8c\x99\xe4\xb8\xa2\xe5\xa4\xb1" },
                        { 23, REVLIST_NAME, "a22", NULL, "x#y" },
                        { 25, REVLIST_NAME, "a24", "cn-hangzhou", "spaced  out" },
                        { 26, REVLIST_NAME, "a25", "ap-southeast-1", "tabbed" },
                        { 29, REVLIST_SHA256, "SHA256:03znR5ZFmC/fbrrkE056CRzqKQjlB5SnMkqgoQAB2/Q",
                          "cn-shenzhen", "ci key" },
                        { 30, REVLIST_MD5, "MD5:1a:e4:13:20:c9:2d:10:df:96:80:90:fb:27:67:fc:7e", NULL,
                          "upper" },
                },
                {
                        { 7, "unterminated quote" },
                        { 8, MSG_EMPTY },
                        { 9, MSG_EMPTY },
                        { 10, MSG_EMPTY },
                        { 11, MSG_REGION },
                        { 12, MSG_REGION },
                        { 13, MSG_REGION },
                        { 14, "unknown option \"zone=\"" HINT },
                        { 15, "region= given twice" },
                        { 16, "reason= given twice" },
                        { 17, "text right after a closing quote" },
                        { 18, "quote inside an unquoted value" },
                        { 19, "unexpected text \"trailing\"" HINT },
                        { 20, "unknown option \"=\"" HINT },
                        { 21, "reason= contains a control character" },
                        { 24, "unexpected text \"#\"" HINT },
                        { 27, MSG_REGION },
                        { 28, "unknown option \"Region=\": did you mean region=R1,R2?" },
                        { 31, "unexpected text \"region\": did you mean region=R1,R2?" },
                        { 32, "unexpected text \"laptop\": a reason with spaces goes in double quotes, reason=\"...\"" },
                        { 33, "unknown option \"regoin=\": did you mean region=R1,R2?" },
                },
        },
        {
                "keys.list",
                {
                        { 2, REVLIST_PUBLIC_KEY, "ed25519" },
                        { 3, REVLIST_PUBLIC_KEY, "rsa" },
                        { 4, REVLIST_PUBLIC_KEY, "ecdsa256" },
                        { 5, REVLIST_PUBLIC_KEY, "ecdsa384" },
                        { 6, REVLIST_PUBLIC_KEY, "ecdsa521" },
                        { 7, REVLIST_PUBLIC_KEY, "dsa" },
                        { 8, REVLIST_PUBLIC_KEY, "sk-ed25519" },
                        { 9, REVLIST_PUBLIC_KEY, "sk-ecdsa256" },
                        { 10, REVLIST_PUBLIC_KEY, "ed25519" }, /* its "options" are the comment */
                        { 16, REVLIST_PUBLIC_KEY, "ed25519" },
                },
                {
                        { 11, "key data does not match the key type" },
                        { 12, "key data is truncated" },
                        { 13, "key data is not valid base64" },
                        { 14, "key data does not match the key type" },
                        { 15, "key data missing after the key type" },
                        { 17, MSG_SHA256 },
                        { 18, MSG_SHA256 },
                        { 19, MSG_MD5 },
                        { 20, MSG_MD5 },
                },
        },
        {
                "crlf.list",
                {
                        { 1, REVLIST_NAME, "name-one" },
                        { 4, REVLIST_NAME, "name-two", NULL, "x y" },
                        { 6, REVLIST_NAME, "name-three" },
                },
                { { 5, "unexpected text \"name\"" HINT } },
        },
};

/* The SHA256 fingerprint ssh-keygen printed for keys/NAME.pub, as a new string. */
static char *golden_sha256(const char *key) {
        char name[256], fp[128];
        char *text;

        snprintf(name, sizeof(name), "keys/%s.sha256", key);
        text = tests_read_data(name, NULL);
        if (sscanf(text, "%*s %127s", fp) != 1)
                abort();
        free(text);
        return strdup(fp);
}

static void check_value(const struct revlist_entry *e, const struct expect_entry *x) {
        uint8_t md5[SSHKEY_SHA256_LEN] = {};
        char fp[64];
        char *golden;

        switch (x->kind) {
        case REVLIST_NAME:
                CHECK_STREQ(e->name, x->value);
                return;
        case REVLIST_PUBLIC_KEY:
        case REVLIST_SHA256:
                CHECK(!e->name);
                sshkey_format_sha256(e->digest, fp, sizeof(fp));
                golden = x->kind == REVLIST_PUBLIC_KEY ? golden_sha256(x->value) : NULL;
                CHECK_STREQ(fp, golden ? golden : x->value);
                free(golden);
                return;
        case REVLIST_MD5:
                CHECK(!e->name);
                CHECK_INTEQ(sshkey_parse_md5(x->value, md5), 0);
                CHECK(memcmp(md5, e->digest, sizeof(md5)) == 0);
                return;
        case _REVLIST_KIND_MAX:
                break;
        }
        CHECK(!"unexpected kind in the table");
}

static void check_entry(const char *file, const struct revlist_entry *e, const struct expect_entry *x) {
        unsigned before = tests_failed;
        char regions[256] = "";

        CHECK_INTEQ(e->line, x->line);
        CHECK_INTEQ(e->kind, x->kind);
        if (e->kind == x->kind)
                check_value(e, x);
        for (char **r = e->regions; r && *r; r++)
                snprintf(regions + strlen(regions), sizeof(regions) - strlen(regions), "%s%s",
                         r == e->regions ? "" : ",", *r);
        CHECK(!e->regions == !x->regions);
        if (x->regions)
                CHECK_STREQ(regions, x->regions);
        CHECK(streq_ptr(e->reason, x->reason));
        if (tests_failed != before)
                fprintf(stderr, "  ... in %s, entry expected at line %u\n", file, x->line);
}

static void test_list_case(const struct list_case *c) {
        _cleanup_(revlist_freep) struct revlist *l = NULL;
        struct diags d = {};
        char name[256];
        size_t len, n_entries = 0, n_bad = 0;
        char *text;

        snprintf(name, sizeof(name), "lists/%s", c->file);
        text = tests_read_data(name, &len);
        CHECK_INTEQ(revlist_parse(c->file, text, len, &l, &d), 0);
        free(text);
        if (!l)
                return;
        CHECK_STREQ(l->path, c->file);
        while (c->entries[n_entries].line)
                n_entries++;
        while (c->bad[n_bad].line)
                n_bad++;
        CHECK_INTEQ(l->n_entries, n_entries);
        for (size_t i = 0; i < n_entries && i < l->n_entries; i++)
                check_entry(c->file, &l->entries[i], &c->entries[i]);
        CHECK_INTEQ(d.n, n_bad);
        for (size_t i = 0; i < n_bad && i < d.n; i++) {
                CHECK_STREQ(d.items[i].file, c->file);
                CHECK_INTEQ(d.items[i].line, c->bad[i].line);
                CHECK_STREQ(d.items[i].message, c->bad[i].message);
        }
        diags_clear(&d);
}

/* Parses a heap copy of exactly len bytes, so that ASan sees any read past the buffer. */
static struct revlist *parse_buffer(const char *text, size_t len, struct diags *d) {
        struct revlist *l = NULL;
        char *copy = malloc(len ? len : 1);

        if (!copy)
                abort();
        memcpy(copy, text, len);
        CHECK_INTEQ(revlist_parse("buf.list", copy, len, &l, d), 0);
        free(copy);
        if (!l)
                abort();
        return l;
}

static char *repeat(char c, size_t n) {
        char *s = malloc(n + 1);

        if (!s)
                abort();
        memset(s, c, n);
        s[n] = '\0';
        return s;
}

/* Lines at, just past and far past REVLIST_LINE_MAX_BYTES; the parse resumes on the next line. */
static void test_line_limits(void) {
        const size_t prefix = strlen("ab reason=");
        char *at = repeat('x', REVLIST_LINE_MAX_BYTES - prefix);
        char *past = repeat('x', REVLIST_LINE_MAX_BYTES + 1), *far = repeat('y', 100 * 1024), *text;
        struct diags d = {};
        struct revlist *l;
        int n;

        n = asprintf(&text, "ab reason=%s\nab reason=%s\r\n%s\n%s\ncd\n", at, at, past, far);
        if (n < 0)
                abort();
        l = parse_buffer(text, (size_t) n, &d);
        CHECK_INTEQ(l->n_entries, 3);
        CHECK_INTEQ(l->entries[0].line, 1);
        CHECK_INTEQ(strlen(l->entries[0].reason), REVLIST_LINE_MAX_BYTES - prefix);
        CHECK_INTEQ(l->entries[1].line, 2);
        CHECK_INTEQ(l->entries[2].line, 5);
        CHECK_STREQ(l->entries[2].name, "cd");
        CHECK_INTEQ(d.n, 2);
        CHECK_INTEQ(d.items[0].line, 3);
        CHECK_STREQ(d.items[0].message, MSG_LONG);
        CHECK_INTEQ(d.items[1].line, 4);
        revlist_free(l);
        diags_clear(&d);
        free(at);
        free(past);
        free(far);
        free(text);
}

static void test_raw_lines(void) {
        static const struct {
                const char *text;
                size_t len;
                size_t n_entries;
                unsigned bad_line;
                const char *message;
        } cases[] = {
#define RAW(s) s, sizeof(s) - 1
                { RAW(""), 0 },
                { RAW("\n\n\n"), 0 },
                { RAW("ab"), 1 },
                { RAW("ab\ncd\n"), 2 },
                { RAW("\r\n\r\nab\r\n"), 1 },
                { RAW("ab\xff\ncd\n"), 1, 1, MSG_UTF8 },
                { RAW("ab\ncd reason=\xc3\x28\n"), 1, 2, MSG_UTF8 },
                { RAW("ab\ncd reason=\xc0\xaf\n"), 1, 2, MSG_UTF8 },        /* overlong '/' */
                { RAW("ab\ncd reason=\xed\xa0\x80\n"), 1, 2, MSG_UTF8 },    /* surrogate */
                { RAW("ab\ncd reason=\xe2\x82"), 1, 2, MSG_UTF8 },          /* cut at the end */
                { RAW("ab reason=\xe2\x82\xac\n"), 1 },
                { RAW("ab\0cd\nef\n"), 1, 1, "line contains a NUL byte" },
                { RAW("ab\rcd\n"), 0, 1, MSG_NAME_CHARS },
                { RAW("ab reason=\"a\rb\"\n"), 0, 1, "reason= contains a control character" },
                { RAW("\xef\xbb\xbf# only a comment\n"), 0 },
                { RAW("ab\n\xef\xbb\xbf" "cd\n"), 1, 2, MSG_NAME_START }, /* a BOM only counts first */
#undef RAW
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                unsigned before = tests_failed;
                struct diags d = {};
                struct revlist *l = parse_buffer(cases[i].text, cases[i].len, &d);

                CHECK_INTEQ(l->n_entries, cases[i].n_entries);
                CHECK_INTEQ(d.n, cases[i].message ? 1 : 0);
                if (cases[i].message && d.n == 1) {
                        CHECK_INTEQ(d.items[0].line, cases[i].bad_line);
                        CHECK_STREQ(d.items[0].message, cases[i].message);
                }
                if (tests_failed != before)
                        fprintf(stderr, "  ... in raw case %zu\n", i);
                revlist_free(l);
                diags_clear(&d);
        }
}

/* A buffer of n copies of line. */
static char *repeat_line(const char *line, size_t n, size_t *ret_len) {
        size_t k = strlen(line);
        char *s = malloc(k * n + 1);

        if (!s)
                abort();
        for (size_t i = 0; i < n; i++)
                memcpy(s + i * k, line, k);
        s[k * n] = '\0';
        *ret_len = k * n;
        return s;
}

static void test_count_limits(void) {
        struct diags d = {};
        struct revlist *l;
        size_t len;
        char *text;

        text = repeat_line("1bad\n", 150, &len);
        l = parse_buffer(text, len, &d);
        CHECK_INTEQ(l->n_entries, 0);
        CHECK_INTEQ(d.n, REVLIST_BAD_LINES_MAX + 1);
        CHECK_INTEQ(d.items[REVLIST_BAD_LINES_MAX].line, REVLIST_BAD_LINES_MAX + 1);
        CHECK_STREQ(d.items[REVLIST_BAD_LINES_MAX].message,
                    "more than 100 bad lines, not reporting the rest");
        revlist_free(l);
        diags_clear(&d);
        free(text);

        text = repeat_line("ab\n", REVLIST_ENTRIES_MAX + 2, &len);
        l = parse_buffer(text, len, &d);
        CHECK_INTEQ(l->n_entries, REVLIST_ENTRIES_MAX);
        CHECK_INTEQ(d.n, 2);
        CHECK_INTEQ(d.items[0].line, REVLIST_ENTRIES_MAX + 1);
        CHECK_STREQ(d.items[0].message, "too many entries in one file");
        revlist_free(l);
        diags_clear(&d);
        free(text);
}

static void test_list_names(void) {
        static const struct {
                const char *name;
                bool ok;
        } cases[] = {
                { "a.list", true },          { "prod-keys.list", true }, { "2024.05.list", true },
                { ".list", false },          { ".hidden.list", false },  { "a.list~", false },
                { "a.list.swp", false },     { ".a.list.swp", false },   { "#a.list#", false },
                { "a.list.dpkg-old", false }, { "a.LIST", false },        { "a.lis", false },
                { "list", false },           { "", false },              { "dir/a.list", false },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                CHECK(revlist_is_list_name(cases[i].name) == cases[i].ok);
}

static void test_regions(void) {
        char *regions[] = { "cn-hangzhou", "cn-beijing", NULL };
        struct revlist_entry any = { .kind = REVLIST_NAME };
        struct revlist_entry some = { .kind = REVLIST_NAME, .regions = regions };

        CHECK(revlist_entry_in_region(&any, "cn-hangzhou"));
        CHECK(revlist_entry_in_region(&any, "us-west-1"));
        CHECK(revlist_entry_in_region(&some, "cn-hangzhou"));
        CHECK(revlist_entry_in_region(&some, "cn-beijing"));
        CHECK(!revlist_entry_in_region(&some, "cn-beijing-1"));
        CHECK(!revlist_entry_in_region(&some, "us-west-1"));
}

static void key_digests(const char *key, struct sshkey_digests *ret) {
        char name[256];
        char *line;
        const char *error;

        snprintf(name, sizeof(name), "keys/%s.pub", key);
        line = tests_read_data(name, NULL);
        if (sshkey_parse_public(line, ret, &error) < 0)
                abort();
        free(line);
}

/* basic.list: line 6 is ed25519's SHA256, line 7 rsa's MD5, line 8 ed25519's public key. */
static void test_matches(void) {
        static const struct {
                unsigned line;
                const char *key;
                bool match;
        } cases[] = {
                { 3, "ed25519", false }, { 6, "ed25519", true },  { 6, "rsa", false },
                { 7, "rsa", true },      { 7, "ed25519", false }, { 8, "ed25519", true },
                { 8, "sk-ed25519", false }, /* same point, different key type */
        };
        _cleanup_(revlist_freep) struct revlist *l = NULL;
        struct diags d = {};
        size_t len;
        char *text = tests_read_data("lists/basic.list", &len);

        CHECK_INTEQ(revlist_parse("basic.list", text, len, &l, &d), 0);
        free(text);
        diags_clear(&d);
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct sshkey_digests digests;
                const struct revlist_entry *e = NULL;

                for (size_t k = 0; k < l->n_entries; k++)
                        if (l->entries[k].line == cases[i].line)
                                e = &l->entries[k];
                key_digests(cases[i].key, &digests);
                CHECK(e && revlist_entry_matches_key(e, &digests) == cases[i].match);
        }
}

/* The shipped sample must stay a valid list. */
static void test_example(void) {
        _cleanup_(revlist_freep) struct revlist *l = NULL;
        struct diags d = {};
        size_t len;
        char *text = tests_read_data("../../conf/revoked.list.example", &len);

        CHECK_INTEQ(revlist_parse("revoked.list.example", text, len, &l, &d), 0);
        free(text);
        CHECK_INTEQ(d.n, 0);
        CHECK(l && l->n_entries == 7);
        diags_clear(&d);
}

static void test_kind_names(void) {
        CHECK_STREQ(revlist_kind_to_string(REVLIST_NAME), "name");
        CHECK_STREQ(revlist_kind_to_string(REVLIST_PUBLIC_KEY), "public-key");
        CHECK_STREQ(revlist_kind_to_string(REVLIST_SHA256), "sha256");
        CHECK_STREQ(revlist_kind_to_string(REVLIST_MD5), "md5");
        CHECK(!revlist_kind_to_string(_REVLIST_KIND_MAX));
}

static const char good_text[] = "# two entries\nab\ncd reason=\"x\"\n";

static int write_file(const char *path, const char *text, size_t len, mode_t mode) {
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        bool ok;

        if (fd < 0)
                return -errno;
        ok = write(fd, text, len) == (ssize_t) len;
        ok = close(fd) == 0 && ok;
        if (!ok || chmod(path, mode) < 0)
                return -EIO;
        return 0;
}

static int setup_good(const char *path) {
        return write_file(path, good_text, strlen(good_text), 0644);
}

static int setup_world_writable(const char *path) {
        return write_file(path, good_text, strlen(good_text), 0666);
}

static int setup_group_writable(const char *path) {
        return write_file(path, good_text, strlen(good_text), 0620);
}

static int setup_read_only(const char *path) {
        return write_file(path, good_text, strlen(good_text), 0400);
}

static int setup_empty(const char *path) {
        return write_file(path, "", 0, 0644);
}

/* A symlink to a file made by setup (links are followed: the target is what is checked). */
static int setup_link_to(const char *path, int (*setup)(const char *)) {
        char target[4096];
        int r;

        snprintf(target, sizeof(target), "%s.target", path);
        r = setup(target);
        if (r < 0)
                return r;
        return symlink(target, path) < 0 ? -errno : 0;
}

static int setup_link_good(const char *path) {
        return setup_link_to(path, setup_good);
}

static int setup_link_world_writable(const char *path) {
        return setup_link_to(path, setup_world_writable);
}

static int setup_link_dangling(const char *path) {
        return symlink("/nonexistent/keyrevoke-test.list", path) < 0 ? -errno : 0;
}

static int setup_directory(const char *path) {
        return mkdir(path, 0755) < 0 ? -errno : 0;
}

static int setup_fifo(const char *path) {
        return mkfifo(path, 0644) < 0 ? -errno : 0;
}

static int setup_sized(const char *path, size_t size) {
        size_t len;
        char *line = repeat('x', 1022), *text;
        int r;

        /* 1 KiB comment lines, cut to size */
        line[0] = '#';
        line[1021] = '\n';
        text = repeat_line(line, size / 1022 + 1, &len);
        r = write_file(path, text, size, 0644);
        free(line);
        free(text);
        return r;
}

static int setup_max_size(const char *path) {
        return setup_sized(path, REVLIST_FILE_MAX_BYTES);
}

static int setup_max_size_plus_one(const char *path) {
        return setup_sized(path, REVLIST_FILE_MAX_BYTES + 1);
}

static int setup_20_mib(const char *path) {
        return setup_sized(path, 20 * 1024 * 1024);
}

static int setup_long_line(const char *path) {
        char *far = repeat('x', 100 * 1024), *text;
        int n = asprintf(&text, "ab\n%s\ncd\n", far), r;

        free(far);
        if (n < 0)
                return -ENOMEM;
        r = write_file(path, text, (size_t) n, 0644);
        free(text);
        return r;
}

static int setup_bad_utf8(const char *path) {
        static const char text[] = "ab\n\xff\xfe latin-1 \xe9t\xe9\ncd\n";
        return write_file(path, text, sizeof(text) - 1, 0644);
}

static int setup_binary(const char *path) {
        static const char text[] = "ab\n\x7f" "ELF\x02\x01\x01\0\0\0\0\ncd\n";
        return write_file(path, text, sizeof(text) - 1, 0644);
}

static int setup_other_owner(const char *path) {
        int r = setup_good(path);

        if (r < 0)
                return r;
        return chown(path, 12345, 12345) < 0 ? -errno : 0;
}

#define OTHER_UID ((uid_t) 12345)

static const struct load_case {
        const char *name;
        int (*setup)(const char *path);
        uid_t allowed_uid; /* 0: the test's own uid */
        int r;
        size_t n_entries;
        struct expect_diag diag; /* line 0 with a message: the whole file refused */
} load_cases[] = {
        { "good", setup_good, 0, 0, 2 },
        { "read-only", setup_read_only, 0, 0, 2 },
        { "empty", setup_empty, 0, 0, 0 },
        { "world-writable", setup_world_writable, 0, -EPERM, 0,
          { 0, "writable by group or others (mode 0666), refusing" } },
        { "group-writable", setup_group_writable, 0, -EPERM, 0,
          { 0, "writable by group or others (mode 0620), refusing" } },
        { "link-good", setup_link_good, 0, 0, 2 },
        { "link-world-writable", setup_link_world_writable, 0, -EPERM, 0,
          { 0, "writable by group or others (mode 0666), refusing" } },
        { "link-dangling", setup_link_dangling, 0, -ENOENT, 0,
          { 0, "cannot open: No such file or directory, refusing" } },
        { "missing", NULL, 0, -ENOENT, 0, { 0, "cannot open: No such file or directory, refusing" } },
        { "directory", setup_directory, 0, -EINVAL, 0, { 0, "not a regular file (a directory), refusing" } },
        { "fifo", setup_fifo, 0, -EINVAL, 0, { 0, "not a regular file (a FIFO), refusing" } },
        { "max-size", setup_max_size, 0, 0, 0 },
        { "max-size-plus-one", setup_max_size_plus_one, 0, -EFBIG, 0, { 0, "larger than 16 MiB, refusing" } },
        { "20-mib", setup_20_mib, 0, -EFBIG, 0, { 0, "larger than 16 MiB, refusing" } },
        { "long-line", setup_long_line, 0, 0, 2, { 2, MSG_LONG } },
        { "bad-utf8", setup_bad_utf8, 0, 0, 2, { 2, MSG_UTF8 } },
        { "binary", setup_binary, 0, -EINVAL, 0, { 0, "contains NUL bytes (binary data?), refusing" } },
        { "other-owner", setup_other_owner, 0, -EPERM, 0,
          { 0, "owned by uid 12345, not root or the daemon's user, refusing" } },
        { "other-owner-allowed", setup_other_owner, OTHER_UID, 0, 2 },
};

static void test_load_case(const char *dir, const struct load_case *c) {
        _cleanup_(revlist_freep) struct revlist *l = NULL;
        unsigned before = tests_failed;
        struct diags d = {};
        char path[4096];
        int r;

        snprintf(path, sizeof(path), "%s/%s.list", dir, c->name);
        r = c->setup ? c->setup(path) : 0;
        if (r == -EPERM && c->setup == setup_other_owner) {
                fprintf(stderr, "%s: skipped, chown needs root\n", c->name);
                return;
        }
        if (r < 0) {
                fprintf(stderr, "%s: setup failed: %s\n", c->name, strerror(-r));
                tests_failed++;
                return;
        }
        r = revlist_load(path, c->allowed_uid ? c->allowed_uid : geteuid(), &l, &d);
        CHECK_INTEQ(r, c->r);
        CHECK(!l == (c->r < 0));
        if (l)
                CHECK_INTEQ(l->n_entries, c->n_entries);
        CHECK_INTEQ(d.n, c->diag.message ? 1 : 0);
        if (c->diag.message && d.n == 1) {
                CHECK_STREQ(d.items[0].file, path);
                CHECK_INTEQ(d.items[0].line, c->diag.line);
                CHECK_STREQ(d.items[0].message, c->diag.message);
        }
        if (tests_failed != before)
                fprintf(stderr, "  ... in load case %s\n", c->name);
        diags_clear(&d);
}

/* /proc files claim st_size 0: the read must not stop at the size fstat() gave. */
static void test_load_size_hint(void) {
        _cleanup_(revlist_freep) struct revlist *l = NULL;
        struct diags d = {};

        if (access("/proc/self/status", R_OK) < 0) {
                fprintf(stderr, "/proc/self/status: skipped, not readable\n");
                return;
        }
        CHECK_INTEQ(revlist_load("/proc/self/status", geteuid(), &l, &d), 0);
        /* "Name:\ttest-revlist" is the name "Name:" followed by text that is no option */
        CHECK(d.n > 10);
        CHECK(d.n > 0 && d.items[0].line == 1 && strstr(d.items[0].message, "unexpected text \"") &&
              strstr(d.items[0].message, HINT));
        diags_clear(&d);
}

static void test_load(void) {
        char dir[] = "/tmp/test-revlist.XXXXXX", cmd[64];

        if (!mkdtemp(dir))
                abort();
        for (size_t i = 0; i < ELEMENTSOF(load_cases); i++)
                test_load_case(dir, &load_cases[i]);
        test_load_size_hint();
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
                tests_failed++;
}

int main(void) {
        /* a FIFO that made revlist_load() block would otherwise hang the test run */
        alarm(60);
        for (size_t i = 0; i < ELEMENTSOF(list_cases); i++)
                test_list_case(&list_cases[i]);
        test_line_limits();
        test_raw_lines();
        test_count_limits();
        test_list_names();
        test_regions();
        test_matches();
        test_kind_names();
        test_example();
        test_load();
        TESTS_DONE();
}
