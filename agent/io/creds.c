/* Static credentials: the systemd credential "aliyun", CredentialsFile= and the environment. */
#include <fcntl.h>
#include <ini.h>
#include <stdarg.h>
#include <sys/stat.h>

#include "base/fileio.h"
#include "base/paths.h"
#include "io/creds.h"
#include "io/svcuser.h"

#define CREDS_FILE_MAX_BYTES (64U * 1024U)
#define CREDS_KEY_MAX_CHARS 1024U
#define CREDS_TOKEN_MAX_CHARS 16384U
#define CREDS_TYPE_SHOWN_MAX_CHARS 64U
#define CREDS_STACK_SCRUB_EXTRA_BYTES 4096U

#define ENV_ID "ALIBABA_CLOUD_ACCESS_KEY_ID"
#define ENV_SECRET "ALIBABA_CLOUD_ACCESS_KEY_SECRET"
#define ENV_TOKEN "ALIBABA_CLOUD_SECURITY_TOKEN"

enum creds_key {
        CREDS_KEY_TYPE,
        CREDS_KEY_ID,
        CREDS_KEY_SECRET,
        _CREDS_KEY_MAX,
};

static const char *const creds_key_names[_CREDS_KEY_MAX] = {
        [CREDS_KEY_TYPE] = "type",
        [CREDS_KEY_ID] = "access_key_id",
        [CREDS_KEY_SECRET] = "access_key_secret",
};

/* State of one credentials-file parse: the reader's cursor and what the profile set so far. */
struct creds_parser {
        const char *path;
        const char *profile;
        struct diags *d;
        const char *pos;
        unsigned line;
        unsigned n_errors;
        unsigned key_line[_CREDS_KEY_MAX]; /* 0 = not set yet */
        bool oom;
        struct creds *creds;
};

struct creds *creds_free(struct creds *c) {
        if (!c)
                return NULL;
        erase_and_free(c->access_key_id);
        erase_and_free(c->access_key_secret);
        erase_and_free(c->security_token);
        free(c);
        return NULL;
}

/* Why s cannot be used as a credential (a fixed text, never the value), or NULL when it can. */
static const char *token_problem(const char *s, size_t max) {
        size_t n = 0;

        for (; s[n]; n++)
                if ((unsigned char) s[n] <= ' ' || (unsigned char) s[n] >= 0x7f)
                        return "contains whitespace or characters outside printable ASCII";
        if (n == 0)
                return "is empty";
        return n > max ? "is too long" : NULL;
}

static void parser_error(struct creds_parser *p, unsigned line, const char *format, ...) _printf_(3, 4);
static void parser_error(struct creds_parser *p, unsigned line, const char *format, ...) {
        _cleanup_free_ char *m = NULL;
        va_list ap;
        int r;

        va_start(ap, format);
        r = vasprintf(&m, format, ap);
        va_end(ap);
        diags_add(p->d, p->path, line, "%s", r < 0 ? "out of memory" : m);
        p->n_errors++;
}

/* An fgets()-style reader over the text that counts lines (Debian's inih does not pass them to
 * the handler) and rejects over-long lines instead of letting inih split them in two. */
static char *parser_read_line(char *str, int num, void *stream) {
        struct creds_parser *p = stream;
        const char *nl;
        size_t len;

        if (!*p->pos)
                return NULL;
        nl = strchrnul(p->pos, '\n');
        len = (size_t) (nl - p->pos);
        p->line++;
        /* inih passes its buffer size, ini_max_line (200 unless changed), as num. */
        if (len + 1 > (size_t) num) {
                parser_error(p, p->line, "line is longer than %d characters", num - 1);
                len = 0;
        }
        memcpy(str, p->pos, len);
        str[len] = '\0';
        p->pos = *nl ? nl + 1 : nl;
        return str;
}

/* A copy of value without one pair of matching surrounding quotes, as the SDKs accept. */
static char *unquote(const char *value) {
        size_t n = strlen(value);

        if (n >= 2 && (value[0] == '"' || value[0] == '\'') && value[n - 1] == value[0])
                return strndup(value + 1, n - 2);
        return strdup(value);
}

static void parser_set_type(struct creds_parser *p, const char *type) {
        if (streq(type, "access_key"))
                return;
        if (!token_problem(type, CREDS_TYPE_SHOWN_MAX_CHARS))
                parser_error(p, p->line, "type = %s is not supported, only type = access_key", type);
        else
                parser_error(p, p->line, "type is not supported, only type = access_key");
}

static void parser_set(struct creds_parser *p, enum creds_key k, const char *raw) {
        _cleanup_erase_ char *value = unquote(raw);
        const char *problem;

        if (!value) {
                p->oom = true;
                return;
        }
        if (p->key_line[k] > 0) {
                parser_error(p, p->line, "%s is set twice (first on line %u)", creds_key_names[k],
                             p->key_line[k]);
                return;
        }
        p->key_line[k] = p->line;
        if (k == CREDS_KEY_TYPE) {
                parser_set_type(p, value);
                return;
        }
        problem = token_problem(value, CREDS_KEY_MAX_CHARS);
        if (problem)
                parser_error(p, p->line, "%s %s", creds_key_names[k], problem);
        else if (k == CREDS_KEY_ID)
                p->creds->access_key_id = TAKE_PTR(value);
        else
                p->creds->access_key_secret = TAKE_PTR(value);
}

/* Keys of other profiles and keys the access_key type does not use are ignored, as the SDKs do. */
static int parser_handler(void *user, const char *section, const char *name, const char *value) {
        struct creds_parser *p = user;

        if (!streq(section, p->profile))
                return 1;
        for (enum creds_key k = 0; k < _CREDS_KEY_MAX; k++)
                if (streq(name, creds_key_names[k]))
                        parser_set(p, k, value);
        return 1;
}

/* inih keeps each line, secrets included, in a stack buffer of ini_max_line bytes that it never
 * clears; after it returned, this overwrites the stack below the caller's frame. */
static __attribute__((noinline)) void scrub_stack(void) {
        size_t n = (size_t) (ini_max_line > 0 ? ini_max_line : 0) + CREDS_STACK_SCRUB_EXTRA_BYTES;
        char buf[n];

        explicit_bzero(buf, n);
        __asm__ __volatile__("" : : "r"(buf) : "memory");
}

/* The checks that need the whole profile: every key present. */
static int parser_finish(struct creds_parser *p) {
        if (p->n_errors > 0)
                return -EINVAL;
        if (p->key_line[CREDS_KEY_TYPE] == 0 && p->key_line[CREDS_KEY_ID] == 0 &&
            p->key_line[CREDS_KEY_SECRET] == 0) {
                diags_add(p->d, p->path, 0, "profile [%s] not found (or it sets none of type, %s, %s)",
                          p->profile, creds_key_names[CREDS_KEY_ID], creds_key_names[CREDS_KEY_SECRET]);
                return -ENOENT;
        }
        for (enum creds_key k = 0; k < _CREDS_KEY_MAX; k++)
                if (p->key_line[k] == 0)
                        parser_error(p, 0, "profile [%s] has no %s%s", p->profile, creds_key_names[k],
                                     k == CREDS_KEY_TYPE ? " = access_key" : "");
        return p->n_errors > 0 ? -EINVAL : 0;
}

int creds_parse(const char *path, const char *text, const char *profile, struct creds **ret,
                struct diags *d) {
        struct creds_parser p = {
                .path = path,
                .profile = isempty(profile) ? "default" : profile,
                .d = d,
                .pos = text,
        };
        int r;

        p.creds = calloc(1, sizeof(*p.creds));
        if (!p.creds)
                return -ENOMEM;
        r = ini_parse_stream(parser_read_line, &p, parser_handler, &p);
        scrub_stack();
        if (r < 0 || p.oom) {
                creds_free(p.creds);
                return -ENOMEM;
        }
        if (r > 0)
                parser_error(&p, (unsigned) r, "expected [profile] or key = value");
        r = parser_finish(&p);
        if (r < 0) {
                creds_free(p.creds);
                return r;
        }
        *ret = p.creds;
        return 0;
}

/* The refusal reasons, checked on the opened file so that nothing can swap it in between. */
static int check_file(const char *path, int fd, uid_t allowed_uid, struct diags *d) {
        struct stat st;

        if (fstat(fd, &st) < 0) {
                int r = negative_errno();
                diags_add(d, path, 0, "cannot stat credentials file: %s", strerror(-r));
                return r;
        }
        if (!S_ISREG(st.st_mode)) {
                diags_add(d, path, 0, "refusing credentials file: not a regular file");
                return -EINVAL;
        }
        if (st.st_mode & (S_IRWXG | S_IRWXO)) {
                diags_add(d, path, 0,
                          "refusing credentials file: mode %04o gives group or others access, use 0600 or "
                          "0400",
                          (unsigned) (st.st_mode & 07777));
                return -EACCES;
        }
        if (st.st_uid != 0 && st.st_uid != allowed_uid) {
                diags_add(d, path, 0, "refusing credentials file: owned by uid %u, not by root or uid %u",
                          (unsigned) st.st_uid, (unsigned) allowed_uid);
                return -EACCES;
        }
        if (st.st_size > (off_t) CREDS_FILE_MAX_BYTES) {
                diags_add(d, path, 0, "refusing credentials file: larger than %u bytes",
                          CREDS_FILE_MAX_BYTES);
                return -EFBIG;
        }
        return 0;
}

/* Reads at most CREDS_FILE_MAX_BYTES of text; the buffer is wiped on every failure. */
static int read_text(const char *path, int fd, char **ret, struct diags *d) {
        _cleanup_erase_ char *buf = NULL;
        size_t n;
        int r = fileio_read_fd(fd, CREDS_FILE_MAX_BYTES, 0, true, &buf, &n);

        if (r == -EFBIG)
                diags_add(d, path, 0, "refusing credentials file: larger than %u bytes", CREDS_FILE_MAX_BYTES);
        else if (r < 0)
                diags_add(d, path, 0, "cannot read credentials file: %s", strerror(-r));
        if (r < 0)
                return r;
        if (memchr(buf, '\0', n)) {
                diags_add(d, path, 0, "credentials file contains a NUL byte");
                return -EINVAL;
        }
        *ret = TAKE_PTR(buf);
        return 0;
}

/* Returns 1 with the checked file's text, 0 when missing_ok and the file does not exist. */
static int read_checked(const char *path, uid_t allowed_uid, bool missing_ok, char **ret, struct diags *d) {
        _cleanup_close_ int fd = -1;
        int r;

        /* O_NONBLOCK: a FIFO put in place of the file must not hang the daemon in open(). */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0) {
                r = negative_errno();
                if (r == -ENOENT && missing_ok)
                        return 0;
                diags_add(d, path, 0, "cannot open credentials file: %s", strerror(-r));
                return r;
        }
        r = check_file(path, fd, allowed_uid, d);
        if (r < 0)
                return r;
        r = read_text(path, fd, ret, d);
        return r < 0 ? r : 1;
}

static int load_checked(const char *path, const char *profile, uid_t allowed_uid, bool missing_ok,
                        struct creds **ret, struct diags *d) {
        _cleanup_erase_ char *text = NULL;
        int r;

        r = read_checked(path, allowed_uid, missing_ok, &text, d);
        if (r <= 0)
                return r;
        r = creds_parse(path, text, profile, ret, d);
        return r < 0 ? r : 1;
}

int creds_load_file(const char *path, const char *profile, uid_t allowed_uid, struct creds **ret,
                    struct diags *d) {
        int r = load_checked(path, profile, allowed_uid, false, ret, d);
        return r < 0 ? r : 0;
}

static int env_value(const char *name, size_t max, struct diags *d, char **ret) {
        const char *v = getenv(name), *problem = token_problem(v, max);

        if (problem) {
                diags_add(d, name, 0, "environment variable %s", problem);
                return -EINVAL;
        }
        *ret = strdup(v);
        return *ret ? 0 : -ENOMEM;
}

/* Both the key id and the secret are needed; a half-configured environment is an error. */
static int creds_from_env(struct creds **ret, struct diags *d) {
        bool have_id = !isempty(getenv(ENV_ID)), have_secret = !isempty(getenv(ENV_SECRET));
        bool have_token = !isempty(getenv(ENV_TOKEN));
        _cleanup_(creds_freep) struct creds *c = NULL;
        int r;

        if (!have_id && !have_secret) {
                if (!have_token)
                        return -ENOENT;
                diags_add(d, ENV_TOKEN, 0, "set without %s and %s", ENV_ID, ENV_SECRET);
                return -EINVAL;
        }
        if (!have_id || !have_secret) {
                diags_add(d, have_id ? ENV_ID : ENV_SECRET, 0, "set without %s",
                          have_id ? ENV_SECRET : ENV_ID);
                return -EINVAL;
        }
        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        r = env_value(ENV_ID, CREDS_KEY_MAX_CHARS, d, &c->access_key_id);
        if (r >= 0)
                r = env_value(ENV_SECRET, CREDS_KEY_MAX_CHARS, d, &c->access_key_secret);
        if (r >= 0 && have_token)
                r = env_value(ENV_TOKEN, CREDS_TOKEN_MAX_CHARS, d, &c->security_token);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(c);
        return 0;
}

/* A source that exists but fails is an error, never a reason to fall through: -ENOENT stays
 * reserved for "nothing configured". */
static int configured_source_result(int r) {
        return r == -ENOENT ? -EINVAL : r;
}

/* systemd hands the service a private 0400 copy of the file the unit's LoadCredential=aliyun:
 * names, so the source's own mode and owner are checked here: stat() sees them where the service
 * cannot read the file. Missing (encrypted credentials instead) or out of sight is no problem. */
static int check_unit_source(uid_t allowed_uid, struct diags *d) {
        _cleanup_close_ int fd = open(UNIT_CREDENTIAL_FILE, O_PATH | O_CLOEXEC);

        if (fd < 0)
                return 0;
        return check_file(UNIT_CREDENTIAL_FILE, fd, allowed_uid, d);
}

/* The systemd credential: $CREDENTIALS_DIRECTORY/aliyun in the service. Outside it, as root (a
 * root shell; the unit's ExecReload=+, which systemd gives a $CREDENTIALS_DIRECTORY that it does
 * not mount there), the file that the unit's LoadCredential= names, as systemd reads it: as root,
 * with the same checks. 0 when there is none. */
static int load_systemd_credential(const char *profile, uid_t allowed_uid, struct creds **ret,
                                   const char **ret_source, struct diags *d) {
        const char *dir = getenv("CREDENTIALS_DIRECTORY");
        int r;

        if (!isempty(dir)) {
                _cleanup_free_ char *path = NULL;

                if (asprintf(&path, "%s/aliyun", dir) < 0)
                        return -ENOMEM;
                r = load_checked(path, profile, allowed_uid, true, ret, d);
                if (r > 0) {
                        *ret_source = "systemd credential aliyun";
                        if (check_unit_source(allowed_uid, d) < 0) {
                                *ret = creds_free(*ret);
                                return -EACCES;
                        }
                }
                if (r != 0)
                        return r;
        }
        if (geteuid() != 0)
                return 0;
        r = load_checked(UNIT_CREDENTIAL_FILE, profile, allowed_uid, true, ret, d);
        if (r > 0)
                *ret_source = "the unit's credential file " UNIT_CREDENTIAL_FILE " (LoadCredential=aliyun:)";
        return r;
}

/* CredentialsFile=, which the service itself opens: as root for the service's user, that user
 * must be able to open it too. */
static int load_credentials_file(const char *path, const char *profile, uid_t allowed_uid, struct creds **ret,
                                 struct diags *d) {
        int r = creds_load_file(path, profile, allowed_uid, ret, d);

        if (r < 0)
                return r;
        r = service_user_can_open(allowed_uid, path);
        if (r < 0) {
                diags_add(d, path, 0, "refusing credentials file: the service's user %s (uid %u) cannot open it: %s",
                          SERVICE_USER, (unsigned) allowed_uid, strerror(-r));
                *ret = creds_free(*ret);
        }
        return r;
}

int creds_load(const char *credentials_file, const char *profile, uid_t allowed_uid, struct creds **ret,
               const char **ret_source, struct diags *d) {
        int r;

        r = load_systemd_credential(profile, allowed_uid, ret, ret_source, d);
        if (r != 0)
                return r < 0 ? configured_source_result(r) : 0;
        if (!isempty(credentials_file)) {
                r = load_credentials_file(credentials_file, profile, allowed_uid, ret, d);
                if (r >= 0)
                        *ret_source = "CredentialsFile=";
                return configured_source_result(r);
        }
        r = creds_from_env(ret, d);
        if (r >= 0)
                *ret_source = "environment";
        return r;
}
