/* Containment through Cloud Assistant, the pure part: which instances are in scope, the command
 * sent to them (the on-instance script of agent/instance/ with the revoked keys as data), and
 * what its summary line says (no I/O, no clock). */
#include <limits.h>
#include <openssl/evp.h>

#include "base/strutil.h"
#include "logic/contain-script.h"
#include "logic/contain.h"
#include "logic/sshkey.h"

#define SUMMARY_PREFIX "KEYREVOKE-CONTAIN v1 "
#define SUMMARY_LINE_MAX 1024U

bool contain_in_scope(enum conf_contain_scope scope, const struct ecs_instance *i, bool bound_to_revoked) {
        if (!streq_ptr(i->status, "Running") || !streq_ptr(i->os_type, "linux"))
                return false;
        switch (scope) {
        case CONF_CONTAIN_BOUND:
                return bound_to_revoked;
        case CONF_CONTAIN_FLEET:
                return true;
        case _CONF_CONTAIN_SCOPE_MAX:
                break;
        }
        return false;
}

static void hex(const uint8_t *d, size_t n, char *buf) {
        static const char digits[] = "0123456789abcdef";

        for (size_t i = 0; i < n; i++) {
                buf[2 * i] = digits[d[i] >> 4];
                buf[2 * i + 1] = digits[d[i] & 0xf];
        }
        buf[2 * n] = '\0';
}

/* "a\nb\n...z" + tail of n strings, as a new string; NULL on ENOMEM. */
static char *join_lines(const char *head, char *const *lines, size_t n, const char *tail) {
        size_t len = strlen(head) + strlen(tail) + 1;
        char *s;

        for (size_t i = 0; i < n; i++)
                len += strlen(lines[i]) + 1;
        s = malloc(len);
        if (!s)
                return NULL;
        strcpy(s, head);
        for (size_t i = 0; i < n; i++) {
                if (i > 0 || !isempty(head))
                        strcat(s, "\n");
                strcat(s, lines[i]);
        }
        strcat(s, tail);
        return s;
}

/* The first 2 * bytes hex characters of SHA256(text); "" when text is NULL (out of memory). */
static void sha256_hex(const char *text, size_t bytes, char *buf) {
        uint8_t d[EVP_MAX_MD_SIZE];

        buf[0] = '\0';
        if (text && EVP_Digest(text, strlen(text), d, NULL, EVP_sha256(), NULL) == 1)
                hex(d, bytes, buf);
}

void contain_keys_digest(char *const *keys, size_t n, char *buf) {
        _cleanup_free_ char *text = join_lines("", keys, n, "\n");

        sha256_hex(text, CONTAIN_DIGEST_LEN / 2, buf);
}

/* A key goes into single quotes only as the "TYPE BLOB" that sshkey_type_and_blob() makes. */
static bool key_is_quotable(const char *key) {
        _cleanup_free_ char *normal = NULL;

        return sshkey_type_and_blob(key, &normal) >= 0 && streq(normal, key);
}

int contain_command_build(char *const *keys, size_t n, char **ret) {
        _cleanup_free_ char *joined = NULL, *text = NULL;

        if (n == 0)
                return -EINVAL;
        for (size_t i = 0; i < n; i++)
                if (!key_is_quotable(keys[i]))
                        return -EINVAL;
        joined = join_lines("", keys, n, "");
        if (!joined)
                return -ENOMEM;
        /* The script arrives compressed: it would not fit the content limit with its comments. */
        if (asprintf(&text, "KEYREVOKE_KEYS='%s'\neval \"$(printf '%%s' '%s' | base64 -d | gzip -dc)\"\n", joined,
                     CONTAIN_SCRIPT_GZ_BASE64) < 0)
                return -ENOMEM;
        if ((strlen(text) + 2) / 3 * 4 > CONTAIN_CONTENT_MAX)
                return -E2BIG;
        *ret = TAKE_PTR(text);
        return 0;
}

bool contain_keys_fit(char *const *keys, size_t n) {
        _cleanup_free_ char *text = NULL;

        return contain_command_build(keys, n, &text) != -E2BIG;
}

uint64_t contain_next_look_usec(unsigned looks, uint64_t run_usec, uint64_t elapsed_usec) {
        uint64_t pause = CONTAIN_LOOK_AGAIN_MIN_USEC;

        if (run_usec > elapsed_usec)
                return run_usec - elapsed_usec;
        if (looks == 0)
                return run_usec > 0 ? 0 : CONTAIN_RUN_GUESS_USEC;
        if (run_usec == 0 && elapsed_usec < CONTAIN_LEARN_USEC)
                return pause;
        for (unsigned i = 1; i < looks && pause < CONTAIN_LOOK_AGAIN_MAX_USEC; i++)
                pause *= 2;
        return pause < CONTAIN_LOOK_AGAIN_MAX_USEC ? pause : CONTAIN_LOOK_AGAIN_MAX_USEC;
}

static int ends_append(size_t **ends, size_t *n, size_t end) {
        size_t *a = reallocarray(*ends, *n + 1, sizeof(*a));

        if (!a)
                return -ENOMEM;
        a[(*n)++] = end;
        *ends = a;
        return 0;
}

int contain_keys_split(char *const *keys, size_t n, size_t **ret_ends, size_t *ret_n) {
        _cleanup_free_ size_t *ends = NULL;
        size_t runs = 0, start = 0;

        for (size_t i = 1; i < n; i++)
                if (!contain_keys_fit(keys + start, i + 1 - start)) {
                        if (ends_append(&ends, &runs, i) < 0)
                                return -ENOMEM;
                        start = i;
                }
        if (n > 0 && ends_append(&ends, &runs, n) < 0)
                return -ENOMEM;
        *ret_ends = TAKE_PTR(ends);
        *ret_n = runs;
        return 0;
}

void contain_runs_one(char *const *keys, size_t n, struct contain_runs *ret) {
        *ret = (struct contain_runs) { .keys = keys, .n = n, .n_runs = n > 0 };
        contain_keys_digest(keys, n, ret->digest);
}

int contain_runs_split(char *const *keys, size_t n, struct contain_runs *ret) {
        struct contain_runs r;

        contain_runs_one(keys, n, &r);
        if (contain_keys_split(keys, n, &r.ends, &r.n_runs) < 0)
                return -ENOMEM;
        if (r.n_runs <= 1) {
                r.ends = mfree(r.ends);
                *ret = r;
                return 0;
        }
        r.digests = calloc(r.n_runs, sizeof(*r.digests));
        if (!r.digests) {
                free(r.ends);
                return -ENOMEM;
        }
        for (size_t i = 0, start = 0; i < r.n_runs; start = r.ends[i++])
                contain_keys_digest(keys + start, r.ends[i] - start, r.digests[i]);
        *ret = r;
        return 0;
}

void contain_runs_done(struct contain_runs *r) {
        r->ends = mfree(r->ends);
        r->digests = mfree(r->digests);
}

char *const *contain_runs_keys(const struct contain_runs *r, size_t i, size_t *ret_n) {
        size_t start = i > 0 ? r->ends[i - 1] : 0;

        *ret_n = (r->ends ? r->ends[i] : r->n) - start;
        return r->keys + start;
}

const char *contain_runs_digest(const struct contain_runs *r, size_t i) {
        return r->digests ? r->digests[i] : r->digest;
}

size_t contain_runs_next(const struct contain_runs *r, const char *set, const char *sent, bool proved) {
        if (!streq_ptr(set, r->digest))
                return 0;
        if (proved && streq_ptr(sent, r->digest))
                return r->n_runs;
        for (size_t i = 0; i < r->n_runs; i++)
                if (streq_ptr(sent, contain_runs_digest(r, i)))
                        return proved ? i + 1 : i;
        return 0;
}

void contain_client_token(const char *digest, char *const *ids, size_t n, char *buf) {
        _cleanup_free_ char *text = join_lines(digest, ids, n, "");

        memcpy(buf, "kr-", 4);
        sha256_hex(text, (CONTAIN_TOKEN_LEN - 3) / 2, buf + 3);
}

/* The start of the last line of output[0..len) that begins with SUMMARY_PREFIX, or NULL. */
static const char *summary_find(const char *output, size_t len) {
        size_t k = strlen(SUMMARY_PREFIX);
        const char *found = NULL;

        for (size_t i = 0; i + k <= len; i++)
                if ((i == 0 || output[i - 1] == '\n') && memcmp(output + i, SUMMARY_PREFIX, k) == 0)
                        found = output + i;
        return found;
}

static int summary_field(struct contain_summary *s, const char *key, const char *value) {
        struct {
                const char *key;
                char *text;
                size_t size;
                unsigned *number;
        } fields[] = {
                { "status", s->status, sizeof(s->status), NULL },
                { "keys", NULL, 0, &s->keys },
                { "digest", s->digest, sizeof(s->digest), NULL },
                { "removed", NULL, 0, &s->removed },
                { "files", NULL, 0, &s->files },
                { "unclean", NULL, 0, &s->unclean },
                { "sshd", s->sshd, sizeof(s->sshd), NULL },
        };

        for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
                if (!streq(fields[i].key, key))
                        continue;
                if (fields[i].number)
                        return parse_unsigned(value, 0, UINT_MAX, fields[i].number) < 0 ? -EBADMSG : 0;
                if (strlen(value) >= fields[i].size)
                        return -EBADMSG;
                strcpy(fields[i].text, value);
                return 0;
        }
        return 0; /* fields of later versions of the script are ignored */
}

int contain_summary_parse(const char *output, size_t len, struct contain_summary *ret) {
        const char *start = summary_find(output, len);
        char line[SUMMARY_LINE_MAX];
        struct contain_summary s = {};
        size_t n;

        if (!start)
                return -ENOENT;
        n = strcspn(start, "\r\n");
        n = MIN(n, (size_t) (output + len - start));
        if (n >= sizeof(line))
                return -EBADMSG;
        memcpy(line, start, n);
        line[n] = '\0';
        for (char *save = NULL, *w = strtok_r(line + strlen(SUMMARY_PREFIX), " ", &save); w;
             w = strtok_r(NULL, " ", &save)) {
                char *eq = strchr(w, '=');
                if (!eq)
                        return -EBADMSG;
                *eq = '\0';
                if (summary_field(&s, w, eq + 1) < 0)
                        return -EBADMSG;
        }
        if (isempty(s.status) || isempty(s.digest))
                return -EBADMSG;
        *ret = s;
        return 0;
}

const char *contain_summary_verdict(const struct contain_summary *s, size_t n_keys, const char *digest) {
        if (!streq(s->status, "contained"))
                return streq(s->status, "invalid-input") ? "invalid-input" : "not-contained";
        if (s->keys != n_keys || !streq(s->digest, digest))
                return "summary-mismatch";
        if (streq(s->sshd, "failed"))
                return "sshd-failed";
        return NULL;
}
