/* Revocation lists: parsing *.list files into entries, with the file safety checks. */
#include <fcntl.h>
#include <strings.h>
#include <sys/stat.h>

#include "base/fileio.h"
#include "base/strutil.h"
#include "logic/revlist.h"

#define REVLIST_SEPARATORS " \t"
#define REVLIST_NAME_MIN 2
#define REVLIST_NAME_MAX 128
#define REVLIST_REGION_MAX 64
#define REVLIST_CERT_SUFFIX "-cert-v01@openssh.com"
#define REVLIST_OPTIONS_HINT "options are region=R1,R2 and reason=TEXT"

/* Per-file parsing state. */
struct revlist_parser {
        struct revlist *list;
        size_t allocated;
        struct diags *diags;
        unsigned n_bad;
};

static const char *const revlist_kind_table[_REVLIST_KIND_MAX] = {
        [REVLIST_NAME] = "name",
        [REVLIST_PUBLIC_KEY] = "public-key",
        [REVLIST_SHA256] = "sha256",
        [REVLIST_MD5] = "md5",
};

const char *revlist_kind_to_string(enum revlist_kind k) {
        return k >= 0 && k < _REVLIST_KIND_MAX ? revlist_kind_table[k] : NULL;
}

static int revlist_fail(const char **ret_error, const char *message) {
        *ret_error = message;
        return -EINVAL;
}

static bool ascii_is_letter(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool ascii_is_digit(char c) {
        return c >= '0' && c <= '9';
}

static bool revlist_has_suffix(const char *s, const char *suffix) {
        size_t n = strlen(s), k = strlen(suffix);
        return n >= k && streq(s + n - k, suffix);
}

/* Alibaba's key pair name rules; returns a reason when name breaks one, NULL otherwise. */
static const char *revlist_check_name(const char *name) {
        size_t n = strlen(name);

        if (revlist_has_suffix(name, REVLIST_CERT_SUFFIX))
                return "certificates are not supported: list the public key or its fingerprint";
        if (n < REVLIST_NAME_MIN || n > REVLIST_NAME_MAX)
                return "invalid key pair name: must be 2 to 128 characters long";
        if (startswith(name, "http://") || startswith(name, "https://"))
                return "invalid key pair name: must not start with http:// or https://";
        if (!ascii_is_letter(name[0]))
                return "invalid key pair name: must start with a letter";
        for (const char *p = name; *p; p++)
                if (!ascii_is_letter(*p) && !ascii_is_digit(*p) && !strchr(":_-.", *p))
                        return "invalid key pair name: "
                               "only letters, digits, ':', '_', '-' and '.' are allowed";
        return NULL;
}

/* A RegionId such as "cn-hangzhou" or "ap-southeast-1". */
static bool revlist_region_is_valid(const char *s) {
        size_t n = strlen(s);

        if (n == 0 || n > REVLIST_REGION_MAX || !(*s >= 'a' && *s <= 'z'))
                return false;
        for (; *s; s++)
                if (!(*s >= 'a' && *s <= 'z') && !ascii_is_digit(*s) && *s != '-')
                        return false;
        return true;
}

static int revlist_set_regions(struct revlist_entry *e, char *value, const char **ret_error) {
        _cleanup_strv_free_ char **l = NULL;

        if (e->regions)
                return revlist_fail(ret_error, "region= given twice");
        for (char *r; (r = strsep(&value, ","));) {
                if (!revlist_region_is_valid(r))
                        return revlist_fail(ret_error, "invalid region= value: expected RegionIds "
                                                       "such as cn-hangzhou, separated by commas");
                if (strv_extend(&l, r) < 0)
                        return -ENOMEM;
        }
        e->regions = TAKE_PTR(l);
        return 0;
}

static int revlist_set_reason(struct revlist_entry *e, const char *value, const char **ret_error) {
        if (e->reason)
                return revlist_fail(ret_error, "reason= given twice");
        for (const char *p = value; *p; p++)
                if (((unsigned char) *p < 0x20 && *p != '\t') || *p == 0x7f)
                        return revlist_fail(ret_error, "reason= contains a control character");
        e->reason = strdup(value);
        return e->reason ? 0 : -ENOMEM;
}

/* Cuts the option value at *p (plain, or in double quotes without escapes) and advances *p past
 * it. */
static int revlist_cut_value(char **p, char **ret_value, const char **ret_error) {
        char *s = *p, *end;

        if (*s == '"') {
                end = strchr(++s, '"');
                if (!end)
                        return revlist_fail(ret_error, "unterminated quote");
                *end++ = '\0';
                if (*end != '\0' && !strchr(REVLIST_SEPARATORS, *end))
                        return revlist_fail(ret_error, "text right after a closing quote");
        } else {
                end = s + strcspn(s, REVLIST_SEPARATORS "\"");
                if (*end == '"')
                        return revlist_fail(ret_error, "quote inside an unquoted value");
                if (*end != '\0')
                        *end++ = '\0';
        }
        if (*s == '\0')
                return revlist_fail(ret_error, "empty option value");
        *ret_value = s;
        *p = end;
        return 0;
}

/* Longest piece of a bad token quoted in its message. */
#define REVLIST_TOKEN_QUOTE_MAX 40

/* The option a misspelt or valueless word meant ("region=R1,R2"), or NULL. */
static const char *revlist_nearest_option(const char *word) {
        static const char *const options[] = { "region=R1,R2", "reason=TEXT" };

        for (size_t i = 0; i < ELEMENTSOF(options); i++) {
                size_t n = strcspn(options[i], "=");
                char name[8];

                snprintf(name, sizeof(name), "%.*s", (int) n, options[i]);
                if (strutil_edit_distance(word, name) <= 2)
                        return options[i];
        }
        return NULL;
}

/* Formats into buf what is wrong with the word at s (what, the word quoted, what would be right)
 * and fails with it. */
static int revlist_fail_word(const char *what, const char *s, const struct revlist_entry *e, char *buf,
                             size_t size, const char **ret_error) {
        size_t n = strcspn(s, "=" REVLIST_SEPARATORS);
        _cleanup_free_ char *word = strndup(s, n);
        const char *meant = word ? revlist_nearest_option(word) : NULL;
        size_t quoted = strcspn(s, REVLIST_SEPARATORS);

        if (meant)
                snprintf(buf, size, "%s \"%.*s%s\": did you mean %s?", what, REVLIST_TOKEN_QUOTE_MAX, s,
                         quoted > REVLIST_TOKEN_QUOTE_MAX ? "..." : "", meant);
        else if (e->reason && s[n] != '=')
                snprintf(buf, size, "%s \"%.*s%s\": a reason with spaces goes in double quotes, reason=\"...\"",
                         what, REVLIST_TOKEN_QUOTE_MAX, s, quoted > REVLIST_TOKEN_QUOTE_MAX ? "..." : "");
        else
                snprintf(buf, size, "%s \"%.*s%s\": " REVLIST_OPTIONS_HINT, what, REVLIST_TOKEN_QUOTE_MAX, s,
                         quoted > REVLIST_TOKEN_QUOTE_MAX ? "..." : "");
        return revlist_fail(ret_error, buf);
}

/* The n bytes at s are "region" or "reason". */
static bool revlist_is_option(const char *s, size_t n) {
        return n == strlen("region") && (strneq(s, "region", n) || strneq(s, "reason", n));
}

/* Parses the options after a name or fingerprint: region=R1,R2 and reason=TEXT. A bad word is
 * described in buf. */
static int revlist_parse_options(char *s, struct revlist_entry *e, char *buf, size_t size,
                                 const char **ret_error) {
        for (;;) {
                char *key, *value;
                size_t n;
                int r;

                s += strspn(s, REVLIST_SEPARATORS);
                if (*s == '\0')
                        return 0;
                key = s;
                n = strcspn(s, "=" REVLIST_SEPARATORS);
                if (s[n] != '=') {
                        s[strcspn(s, REVLIST_SEPARATORS)] = '\0';
                        return revlist_fail_word("unexpected text", s, e, buf, size, ret_error);
                }
                if (!revlist_is_option(s, n)) {
                        s[n + 1] = '\0';
                        return revlist_fail_word("unknown option", s, e, buf, size, ret_error);
                }
                s[n] = '\0';
                s += n + 1;
                r = revlist_cut_value(&s, &value, ret_error);
                if (r < 0)
                        return r;
                if (streq(key, "region"))
                        r = revlist_set_regions(e, value, ret_error);
                else
                        r = revlist_set_reason(e, value, ret_error);
                if (r < 0)
                        return r;
        }
}

/* Fills e from the first token (NUL-terminated) of a name or fingerprint line. */
static int revlist_parse_target(const char *token, struct revlist_entry *e,
                                const char **ret_error) {
        const char *error;

        /* any case, so that "sha256:..." is reported rather than taken for a key pair name */
        if (strncasecmp(token, "SHA256:", strlen("SHA256:")) == 0) {
                e->kind = REVLIST_SHA256;
                if (sshkey_parse_sha256(token, e->digest) < 0)
                        return revlist_fail(ret_error, "invalid fingerprint: "
                                                       "expected SHA256: and 43 base64 characters");
                return 0;
        }
        if (strncasecmp(token, "MD5:", strlen("MD5:")) == 0) {
                e->kind = REVLIST_MD5;
                if (sshkey_parse_md5(token, e->digest) < 0)
                        return revlist_fail(ret_error, "invalid fingerprint: expected MD5: "
                                                       "and 16 colon-separated hex pairs");
                return 0;
        }
        e->kind = REVLIST_NAME;
        error = revlist_check_name(token);
        if (error)
                return revlist_fail(ret_error, error);
        e->name = strdup(token);
        return e->name ? 0 : -ENOMEM;
}

/* Parses one stripped, non-empty, non-comment line into e; a message about a bad word is
 * formatted into buf. */
static int revlist_parse_entry(char *s, struct revlist_entry *e, char *buf, size_t size, const char **ret_error) {
        size_t n = strcspn(s, REVLIST_SEPARATORS);
        char saved = s[n];
        char *rest;
        bool is_key;
        int r;

        s[n] = '\0';
        is_key = sshkey_is_type(s);
        s[n] = saved;
        if (is_key) {
                struct sshkey_digests digests;

                e->kind = REVLIST_PUBLIC_KEY;
                r = sshkey_parse_public(s, &digests, ret_error);
                if (r < 0)
                        return r;
                memcpy(e->digest, digests.sha256, SSHKEY_SHA256_LEN);
                return sshkey_type_and_blob(s, &e->public_key);
        }
        rest = s + n;
        if (*rest != '\0')
                *rest++ = '\0';
        r = revlist_parse_target(s, e, ret_error);
        if (r < 0)
                return r;
        return revlist_parse_options(rest, e, buf, size, ret_error);
}

static void revlist_entry_done(struct revlist_entry *e) {
        free(e->name);
        free(e->public_key);
        strv_free(e->regions);
        free(e->reason);
}

static int revlist_append(struct revlist_parser *p, const struct revlist_entry *e) {
        struct revlist *l = p->list;

        if (l->n_entries == p->allocated) {
                size_t a = p->allocated ? p->allocated * 2 : 16;
                struct revlist_entry *n = reallocarray(l->entries, a, sizeof(*n));

                if (!n)
                        return -ENOMEM;
                l->entries = n;
                p->allocated = a;
        }
        l->entries[l->n_entries++] = *e;
        return 0;
}

/* Records a bad line, up to REVLIST_BAD_LINES_MAX per file, then one note that more were cut.
 * Returns 0: a bad line never fails the parse. */
static int revlist_bad_line(struct revlist_parser *p, unsigned line, const char *message) {
        p->n_bad++;
        if (p->n_bad <= REVLIST_BAD_LINES_MAX)
                diags_add(p->diags, p->list->path, line, "%s", message);
        else if (p->n_bad == REVLIST_BAD_LINES_MAX + 1)
                diags_add(p->diags, p->list->path, line,
                          "more than %u bad lines, not reporting the rest", REVLIST_BAD_LINES_MAX);
        return 0;
}

/* Checks the raw line s[0..n) (without its newline), then parses it unless blank or a comment. */
static int revlist_parse_line(struct revlist_parser *p, unsigned line, const char *s, size_t n) {
        struct revlist_entry e = { .line = line };
        _cleanup_free_ char *copy = NULL;
        const char *error = NULL;
        char *t, message[REVLIST_TOKEN_QUOTE_MAX + 120];
        int r;

        if (n > REVLIST_LINE_MAX_BYTES)
                return revlist_bad_line(p, line, "line longer than 16 KiB");
        if (memchr(s, '\0', n))
                return revlist_bad_line(p, line, "line contains a NUL byte");
        if (!utf8_is_valid(s, n))
                return revlist_bad_line(p, line, "line is not valid UTF-8");
        copy = strndup(s, n);
        if (!copy)
                return -ENOMEM;
        t = strstrip(copy);
        if (*t == '\0' || *t == '#')
                return 0;
        if (p->list->n_entries >= REVLIST_ENTRIES_MAX)
                return revlist_bad_line(p, line, "too many entries in one file");
        r = revlist_parse_entry(t, &e, message, sizeof(message), &error);
        if (r >= 0)
                r = revlist_append(p, &e);
        if (r < 0)
                revlist_entry_done(&e);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return revlist_bad_line(p, line, error ? error : "invalid entry");
        return 0;
}

int revlist_parse(const char *path, const char *text, size_t len, struct revlist **ret,
                  struct diags *d) {
        _cleanup_(revlist_freep) struct revlist *l = calloc(1, sizeof(*l));
        struct revlist_parser p = { .list = l, .diags = d };
        unsigned line = 0;
        size_t off = 0;

        if (!l)
                return -ENOMEM;
        l->path = strdup(path);
        if (!l->path)
                return -ENOMEM;
        /* editors on other systems may start the file with a UTF-8 byte order mark */
        if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
                off = 3;
        while (off < len) {
                const char *s = text + off, *nl = memchr(s, '\n', len - off);
                size_t n = nl ? (size_t) (nl - s) : len - off;
                int r;

                off += n + (nl ? 1 : 0);
                if (n > 0 && s[n - 1] == '\r')
                        n--;
                r = revlist_parse_line(&p, ++line, s, n);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

static const char *revlist_file_type(mode_t m) {
        if (S_ISDIR(m))
                return "a directory";
        if (S_ISFIFO(m))
                return "a FIFO";
        if (S_ISSOCK(m))
                return "a socket";
        if (S_ISCHR(m) || S_ISBLK(m))
                return "a device";
        return "a special file";
}

/* The checks on the opened file; each refusal is one diag naming the reason. */
static int revlist_check_stat(const char *path, const struct stat *st, uid_t allowed_uid,
                              struct diags *d) {
        if (!S_ISREG(st->st_mode)) {
                diags_add(d, path, 0, "not a regular file (%s), refusing",
                          revlist_file_type(st->st_mode));
                return -EINVAL;
        }
        if (st->st_uid != 0 && st->st_uid != allowed_uid) {
                diags_add(d, path, 0, "owned by uid %u, not root or the daemon's user, refusing",
                          (unsigned) st->st_uid);
                return -EPERM;
        }
        if (st->st_mode & (S_IWGRP | S_IWOTH)) {
                diags_add(d, path, 0, "writable by group or others (mode %04o), refusing",
                          (unsigned) (st->st_mode & 07777));
                return -EPERM;
        }
        if (st->st_size > (off_t) REVLIST_FILE_MAX_BYTES) {
                diags_add(d, path, 0, "larger than 16 MiB, refusing");
                return -EFBIG;
        }
        return 0;
}

int revlist_load(const char *path, uid_t allowed_uid, struct revlist **ret, struct diags *d) {
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        size_t len;
        int r;

        /* O_NONBLOCK: opening a FIFO planted under a list name must not hang the daemon */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0 || fstat(fd, &st) < 0) {
                r = negative_errno();
                diags_add(d, path, 0, "cannot open: %s, refusing", strerror(-r));
                return r;
        }
        r = revlist_check_stat(path, &st, allowed_uid, d);
        if (r < 0)
                return r;
        r = fileio_read_fd(fd, REVLIST_FILE_MAX_BYTES, (size_t) st.st_size, false, &buf, &len);
        if (r == -EFBIG)
                diags_add(d, path, 0, "larger than 16 MiB, refusing");
        else if (r < 0)
                diags_add(d, path, 0, "cannot read: %s, refusing", strerror(-r));
        if (r < 0)
                return r;
        if (memchr(buf, '\0', len)) {
                diags_add(d, path, 0, "contains NUL bytes (binary data?), refusing");
                return -EINVAL;
        }
        return revlist_parse(path, buf, len, ret, d);
}

bool revlist_is_list_name(const char *name) {
        return name[0] != '.' && !strchr(name, '/') && strlen(name) > strlen(".list") &&
               revlist_has_suffix(name, ".list");
}

bool revlist_entry_in_region(const struct revlist_entry *e, const char *region) {
        return !e->regions || strv_contains(e->regions, region);
}

bool revlist_entry_matches_key(const struct revlist_entry *e, const struct sshkey_digests *d) {
        switch (e->kind) {
        case REVLIST_NAME:
                return false;
        case REVLIST_PUBLIC_KEY:
        case REVLIST_SHA256:
                return memcmp(e->digest, d->sha256, SSHKEY_SHA256_LEN) == 0;
        case REVLIST_MD5:
                return memcmp(e->digest, d->md5, SSHKEY_MD5_LEN) == 0;
        case _REVLIST_KIND_MAX:
                break;
        }
        return false;
}

struct revlist *revlist_free(struct revlist *l) {
        if (!l)
                return NULL;
        for (size_t i = 0; i < l->n_entries; i++)
                revlist_entry_done(&l->entries[i]);
        free(l->entries);
        free(l->path);
        free(l);
        return NULL;
}
