/* keyrevoke.conf: defaults, parsing of the INI files with inih, drop-ins, validation. */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <ini.h>
#include <stdarg.h>
#include <sys/stat.h>

#include "base/fileio.h"
#include "base/strutil.h"
#include "logic/conf.h"

#define CONF_FILE_MAX_BYTES (1024U * 1024U)
#define CONF_DROPINS_MAX 256U
#define CONF_REGIONS_MAX 64U
#define CONF_REGION_ID_MAX 64U
#define CONF_NAME_MAX 64U

struct conf_key {
        const char *section;
        const char *name;
        /* Stores value (never empty: an empty assignment is replaced by the default); -EINVAL with
         * a static reason, -ERANGE outside [min, max], -ENOMEM. */
        int (*set)(struct conf *c, const struct conf_key *k, const char *value, const char **ret_error);
        size_t offset;
        uint64_t min, max;
        const char *def; /* NULL: computed at run time (StateDirectory=) */
};

#define CONF_FIELD(c, k, type) ((type *) ((uint8_t *) (c) + (k)->offset))

/* One file being parsed; inih gets it both as the reader's stream and as the handler's data. */
struct conf_parser {
        struct conf *conf;
        const char *path;
        struct diags *diags;
        const char *next;       /* the text not handed to inih yet */
        unsigned line;          /* the line inih is working on */
        bool skip_section;      /* in an unknown or broken section, already reported */
        unsigned n_problems;
        int error;              /* -ENOMEM, which stops nothing in inih but fails the parse */
};

static int conf_set_string(struct conf *c, const struct conf_key *k, const char *value) {
        char *copy = strdup(value);

        if (!copy)
                return -ENOMEM;
        free_and_replace_str(CONF_FIELD(c, k, char *), copy);
        return 0;
}

/* Stores value, or NULL for "" (the default of optional keys). */
static int conf_set_optional_string(struct conf *c, const struct conf_key *k, const char *value) {
        if (isempty(value)) {
                free_and_replace_str(CONF_FIELD(c, k, char *), NULL);
                return 0;
        }
        return conf_set_string(c, k, value);
}

static bool path_is_valid(const char *s) {
        if (s[0] != '/')
                return false;
        for (; *s; s++)
                if ((unsigned char) *s < ' ' || *s == 0x7f)
                        return false;
        return true;
}

static int conf_set_path(struct conf *c, const struct conf_key *k, const char *value,
                         const char **ret_error) {
        if (!isempty(value) && !path_is_valid(value)) {
                *ret_error = "must be an absolute path";
                return -EINVAL;
        }
        return conf_set_optional_string(c, k, value);
}

/* True when s is scheme followed by a host and more printable, non-blank ASCII. */
static bool url_has_scheme(const char *s, const char *scheme) {
        size_t n = strlen(scheme);

        if (!strneq(s, scheme, n) || s[n] == '\0' || s[n] == '/')
                return false;
        for (s += n; *s; s++)
                if (!isgraph((unsigned char) *s))
                        return false;
        return true;
}

static int conf_set_https_url(struct conf *c, const struct conf_key *k, const char *value,
                              const char **ret_error) {
        if (!url_has_scheme(value, "https://")) {
                *ret_error = "must be an https:// URL";
                return -EINVAL;
        }
        return conf_set_string(c, k, value);
}

static int conf_set_url(struct conf *c, const struct conf_key *k, const char *value,
                        const char **ret_error) {
        if (!url_has_scheme(value, "http://") && !url_has_scheme(value, "https://")) {
                *ret_error = "must be an http:// or https:// URL";
                return -EINVAL;
        }
        return conf_set_string(c, k, value);
}

/* Profile and RAM role names: they end up in INI section lookups and URL paths. */
static int conf_set_name(struct conf *c, const struct conf_key *k, const char *value,
                         const char **ret_error) {
        size_t n = strspn(value, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-");

        if (value[n] != '\0' || n > CONF_NAME_MAX) {
                *ret_error = "must be at most 64 letters, digits, '.', '_' or '-'";
                return -EINVAL;
        }
        return conf_set_optional_string(c, k, value);
}

static int conf_set_time_zone(struct conf *c, const struct conf_key *k, const char *value,
                              const char **ret_error) {
        if (!window_timezone_is_valid(value)) {
                *ret_error = "not a time zone of the system tz database (/usr/share/zoneinfo)";
                return -EINVAL;
        }
        return conf_set_optional_string(c, k, value);
}

static int conf_set_bool(struct conf *c, const struct conf_key *k, const char *value,
                         const char **ret_error) {
        int r = parse_boolean(value);

        if (r < 0) {
                *ret_error = "expected yes or no";
                return r;
        }
        *CONF_FIELD(c, k, bool) = r;
        return 0;
}

static int conf_set_unsigned(struct conf *c, const struct conf_key *k, const char *value,
                             const char **ret_error) {
        int r = parse_unsigned(value, (unsigned) k->min, (unsigned) k->max, CONF_FIELD(c, k, unsigned));

        if (r == -EINVAL)
                *ret_error = "expected a decimal number";
        return r;
}

static int conf_set_duration(struct conf *c, const struct conf_key *k, const char *value,
                             const char **ret_error) {
        uint64_t usec;
        int r = parse_duration_usec(value, &usec);

        if (r == -EINVAL) {
                *ret_error = "expected a duration such as 30s, 15min, 1h or 1d";
                return r;
        }
        if (r < 0 || usec < k->min || usec > k->max)
                return -ERANGE;
        *CONF_FIELD(c, k, uint64_t) = usec;
        return 0;
}

static bool region_id_is_valid(const char *s) {
        size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-");

        return n > 0 && n <= CONF_REGION_ID_MAX && s[n] == '\0';
}

/* Regions= replaces the whole list; "" means every region. Repeated ids are dropped. */
static int conf_set_regions(struct conf *c, const struct conf_key *k, const char *value,
                            const char **ret_error) {
        _cleanup_strv_free_ char **words = NULL, **regions = NULL;
        int r = strv_split_whitespace(value, &words);

        if (r < 0)
                return r;
        for (char **w = words; *w; w++) {
                if (!region_id_is_valid(*w)) {
                        *ret_error = "RegionIds are lowercase letters, digits and '-', such as cn-hangzhou";
                        return -EINVAL;
                }
                if (strv_contains(regions, *w))
                        continue;
                if (strv_length(regions) >= CONF_REGIONS_MAX) {
                        *ret_error = "too many regions (at most 64)";
                        return -EINVAL;
                }
                if (strv_extend(&regions, *w) < 0)
                        return -ENOMEM;
        }
        strv_free(c->regions);
        c->regions = TAKE_PTR(regions);
        return 0;
}

const char *conf_contain_scope_to_string(enum conf_contain_scope s) {
        switch (s) {
        case CONF_CONTAIN_BOUND:
                return "bound";
        case CONF_CONTAIN_FLEET:
                return "fleet";
        case _CONF_CONTAIN_SCOPE_MAX:
                break;
        }
        return NULL;
}

static int conf_set_contain_scope(struct conf *c, const struct conf_key *k, const char *value,
                                  const char **ret_error) {
        for (enum conf_contain_scope s = 0; s < _CONF_CONTAIN_SCOPE_MAX; s++)
                if (streq(value, conf_contain_scope_to_string(s))) {
                        *CONF_FIELD(c, k, enum conf_contain_scope) = s;
                        return 0;
                }
        *ret_error = "expected bound or fleet";
        return -EINVAL;
}

/* Window= appends; the empty assignment (here: the default "") clears the list. */
static int conf_set_window(struct conf *c, const struct conf_key *k, const char *value,
                           const char **ret_error) {
        if (isempty(value)) {
                window_set_done(&c->windows);
                return 0;
        }
        return window_set_add(&c->windows, value, ret_error);
}

#define CONF_KEY(s, n, setter, field, lo, hi, d)                                                 \
        { .section = s, .name = n, .set = setter, .offset = offsetof(struct conf, field), .min = lo, \
          .max = hi, .def = d }

static const struct conf_key conf_keys[] = {
        CONF_KEY("Agent", "RevocationDirectory", conf_set_path, revocation_directory, 0, 0,
                 CONF_DEFAULT_REVOCATION_DIRECTORY),
        CONF_KEY("Agent", "StateDirectory", conf_set_path, state_directory, 0, 0, NULL),
        CONF_KEY("Agent", "DryRun", conf_set_bool, dry_run, 0, 0, "no"),
        CONF_KEY("Agent", "RescanIntervalSec", conf_set_duration, rescan_interval_usec, 0, 7 * USEC_PER_DAY,
                 "1h"),
        CONF_KEY("Agent", "MetricsFile", conf_set_path, metrics_file, 0, 0, ""),
        CONF_KEY("Cloud", "Endpoint", conf_set_https_url, endpoint, 0, 0,
                 "https://ecs.{region}.aliyuncs.com"),
        CONF_KEY("Cloud", "Regions", conf_set_regions, regions, 0, 0, ""),
        CONF_KEY("Cloud", "CAFile", conf_set_path, ca_file, 0, 0, ""),
        CONF_KEY("Cloud", "CredentialsFile", conf_set_path, credentials_file, 0, 0, ""),
        CONF_KEY("Cloud", "Profile", conf_set_name, profile, 0, 0, "default"),
        CONF_KEY("Cloud", "RamRole", conf_set_name, ram_role, 0, 0, ""),
        CONF_KEY("Cloud", "MetadataEndpoint", conf_set_url, metadata_endpoint, 0, 0,
                 "http://100.100.100.200"),
        CONF_KEY("Cloud", "MaxConcurrentRequests", conf_set_unsigned, max_concurrent_requests, 1, 64, "8"),
        CONF_KEY("Cloud", "MaxRequestsPerSecond", conf_set_unsigned, max_requests_per_second, 1, 1000, "20"),
        CONF_KEY("Cloud", "RequestTimeoutSec", conf_set_duration, request_timeout_usec, USEC_PER_SEC,
                 5 * USEC_PER_MINUTE, "10"),
        CONF_KEY("Cloud", "MaxRetries", conf_set_unsigned, max_retries, 0, 20, "5"),
        CONF_KEY("Cloud", "DeleteRevokedKeyPairs", conf_set_bool, delete_revoked_keypairs, 0, 0, "no"),
        CONF_KEY("Cloud", "CheckLaunchSources", conf_set_bool, check_launch_sources, 0, 0, "yes"),
        CONF_KEY("Cloud", "ScalingEndpoint", conf_set_https_url, scaling_endpoint, 0, 0,
                 "https://ess.{region}.aliyuncs.com"),
        CONF_KEY("Contain", "Enabled", conf_set_bool, contain_enabled, 0, 0, "no"),
        CONF_KEY("Contain", "Scope", conf_set_contain_scope, contain_scope, 0, 0, "bound"),
        CONF_KEY("Contain", "TimeoutSec", conf_set_duration, contain_timeout_usec, 10 * USEC_PER_SEC,
                 USEC_PER_DAY, "60s"),
        CONF_KEY("Reboot", "Enabled", conf_set_bool, reboot_enabled, 0, 0, "yes"),
        CONF_KEY("Reboot", "Window", conf_set_window, windows, 0, 0, ""),
        CONF_KEY("Reboot", "TimeZone", conf_set_time_zone, time_zone, 0, 0, ""),
        CONF_KEY("Reboot", "MaxParallel", conf_set_unsigned, max_parallel, 1, 100, "5"),
        CONF_KEY("Reboot", "CutoffSec", conf_set_duration, cutoff_usec, 0, USEC_PER_DAY, "15min"),
        CONF_KEY("Reboot", "ForceStop", conf_set_bool, force_stop, 0, 0, "no"),
        CONF_KEY("Reboot", "HealthTimeoutSec", conf_set_duration, health_timeout_usec, USEC_PER_SEC,
                 USEC_PER_DAY, "10min"),
        CONF_KEY("Reboot", "MaxFailures", conf_set_unsigned, max_failures, 1, 1000, "3"),
};

static const char *const conf_sections[] = { "Agent", "Cloud", "Contain", "Reboot" };

static const struct conf_key *conf_key_find(const char *section, const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(conf_keys); i++)
                if (streq(conf_keys[i].section, section) && streq(conf_keys[i].name, name))
                        return &conf_keys[i];
        return NULL;
}

static const char *conf_key_default(const struct conf *c, const struct conf_key *k) {
        return k->def ?: c->state_directory_default;
}

/* Formats a duration range bound with the largest unit dividing it ("15min", "1d"). */
static void format_duration(uint64_t usec, char *buf, size_t size) {
        static const struct {
                uint64_t usec;
                const char *suffix;
        } units[] = {
                { USEC_PER_DAY, "d" },
                { USEC_PER_HOUR, "h" },
                { USEC_PER_MINUTE, "min" },
                { USEC_PER_SEC, "s" },
        };
        size_t i = 0;

        while (i + 1 < ELEMENTSOF(units) && usec % units[i].usec != 0)
                i++;
        snprintf(buf, size, "%" PRIu64 "%s", usec / units[i].usec, usec ? units[i].suffix : "");
}

static void conf_problem(struct conf_parser *p, const char *format, ...) _printf_(2, 3);
static void conf_problem(struct conf_parser *p, const char *format, ...) {
        _cleanup_free_ char *message = NULL;
        va_list ap;
        int r;

        va_start(ap, format);
        r = vasprintf(&message, format, ap);
        va_end(ap);
        p->n_problems++;
        if (r < 0) {
                p->error = -ENOMEM;
                return;
        }
        diags_add(p->diags, p->path, p->line, "%s", message);
}

static void conf_assign(struct conf_parser *p, const struct conf_key *k, const char *value) {
        char lo[32], hi[32];
        const char *error = NULL;
        int r = k->set(p->conf, k, isempty(value) ? conf_key_default(p->conf, k) : value, &error);

        if (r == -ENOMEM)
                p->error = r;
        else if (r == -ERANGE) {
                if (k->set == conf_set_duration) {
                        format_duration(k->min, lo, sizeof(lo));
                        format_duration(k->max, hi, sizeof(hi));
                } else {
                        snprintf(lo, sizeof(lo), "%" PRIu64, k->min);
                        snprintf(hi, sizeof(hi), "%" PRIu64, k->max);
                }
                conf_problem(p, "invalid value '%s' for %s=: out of range %s..%s", value, k->name, lo, hi);
        } else if (r < 0)
                conf_problem(p, "invalid value '%s' for %s=: %s", value, k->name, error);
}

static int conf_handler(void *userdata, const char *section, const char *name, const char *value) {
        struct conf_parser *p = userdata;
        const struct conf_key *k;

        if (p->skip_section)
                return 1;
        k = conf_key_find(section, name);
        if (k)
                conf_assign(p, k, value);
        else if (isempty(section))
                conf_problem(p, "key '%s' before any [section]", name);
        else
                conf_problem(p, "unknown key '%s' in section [%s]", name, section);
        /* Problems are collected in p; a zero return would only make inih count them again. */
        return 1;
}

/* Checks a "[...]" line. A broken or unknown section is reported once and its keys skipped.
 * Returns false when the line must not reach inih. */
static bool conf_section_begin(struct conf_parser *p, char *s) {
        char *close = strchr(s, ']');

        p->skip_section = true;
        if (!close) {
                conf_problem(p, "missing ']' in section header");
                return false;
        }
        if (close[1] != '\0') {
                conf_problem(p, "unexpected text after ']' in section header");
                return false;
        }
        *close = '\0';
        for (size_t i = 0; i < ELEMENTSOF(conf_sections); i++)
                if (streq(s + 1, conf_sections[i]))
                        p->skip_section = false;
        *close = ']';
        if (p->skip_section)
                conf_problem(p, "unknown section %s", s);
        return true;
}

/* Cuts a comment: a line starting with '#' or ';', or '#'/';' after a blank (inline). */
static void strip_comment(char *s) {
        for (char *c = s; *c; c++)
                if ((*c == '#' || *c == ';') && (c == s || isspace((unsigned char) c[-1]))) {
                        *c = '\0';
                        return;
                }
}

/* Normalizes one line in place for inih: no BOM, comment or surrounding blanks (so inih never
 * sees an indented line, which it would take as a continuation of the previous value), and
 * nothing inih would reject: syntax problems are reported here, with their line. */
static void conf_line_prepare(struct conf_parser *p, char *buf) {
        char *s = buf, *eq;

        if (p->line == 1 && strneq(s, "\xef\xbb\xbf", 3))
                s += 3;
        strip_comment(s);
        s = strstrip(s);
        eq = strchr(s, '=');
        if (*s == '[') {
                if (!conf_section_begin(p, s))
                        *s = '\0';
        } else if (*s != '\0' && (!eq || eq == s || strcspn(s, ":") < (size_t) (eq - s))) {
                conf_problem(p, "expected KEY=VALUE or [SECTION]");
                *s = '\0';
        }
        memmove(buf, s, strlen(s) + 1);
}

static bool line_is_clean(const char *s, size_t len) {
        for (size_t i = 0; i < len; i++)
                if (((unsigned char) s[i] < ' ' && s[i] != '\t') || s[i] == 0x7f)
                        return false;
        return utf8_is_valid(s, len);
}

/* inih's fgets()-like reader: hands out one line per call, so p->line is inih's line number. */
static char *conf_reader(char *buf, int size, void *stream) {
        struct conf_parser *p = stream;
        const char *line = p->next, *eol;
        size_t len;

        if (*line == '\0')
                return NULL;
        eol = strchrnul(line, '\n');
        p->next = *eol ? eol + 1 : eol;
        p->line++;
        len = (size_t) (eol - line);
        if (len > 0 && line[len - 1] == '\r')
                len--;
        buf[0] = '\0';
        /* inih's documented limit: its buffer must hold the line plus "\r\n\0". Longer lines would
         * be split silently, so they are rejected whole. */
        if (size < 3 || len > (size_t) size - 3)
                conf_problem(p, "line too long (at most %d characters)", size - 3);
        else if (!line_is_clean(line, len))
                conf_problem(p, "invalid UTF-8 or control character");
        else {
                memcpy(buf, line, len);
                buf[len] = '\0';
                conf_line_prepare(p, buf);
        }
        return buf;
}

int conf_parse(struct conf *c, const char *path, const char *text, struct diags *d) {
        struct conf_parser p = { .conf = c, .path = path, .diags = d, .next = text };
        int r = ini_parse_stream(conf_reader, &p, conf_handler, &p);

        if (p.error < 0 || r == -2)
                return -ENOMEM;
        /* The reader lets no syntax error through; should another inih version find one, it still
         * fails the file, with the line inih names. */
        if (r > 0 && p.n_problems == 0) {
                diags_add(d, path, (unsigned) r, "syntax error");
                p.n_problems++;
        }
        return p.n_problems > 0 ? -EINVAL : 0;
}

/* The first entry of $STATE_DIRECTORY when it is a usable path, else CONF_DEFAULT_STATE_DIRECTORY. */
static int conf_state_directory_default(const char *env, char **ret) {
        size_t n = env ? strcspn(env, ":") : 0;

        if (n > 0 && env[0] == '/') {
                _cleanup_free_ char *first = strndup(env, n);
                if (!first)
                        return -ENOMEM;
                if (path_is_valid(first)) {
                        *ret = TAKE_PTR(first);
                        return 0;
                }
        }
        *ret = strdup(CONF_DEFAULT_STATE_DIRECTORY);
        return *ret ? 0 : -ENOMEM;
}

int conf_new(const char *state_directory_env, struct conf **ret) {
        _cleanup_(conf_freep) struct conf *c = calloc(1, sizeof(*c));
        int r;

        if (!c)
                return -ENOMEM;
        r = conf_state_directory_default(state_directory_env, &c->state_directory_default);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(conf_keys); i++) {
                const char *error = NULL;
                r = conf_keys[i].set(c, &conf_keys[i], conf_key_default(c, &conf_keys[i]), &error);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(c);
        return 0;
}

/* Reports a file problem (no line) and returns -EINVAL, the "problem recorded" result. */
static int conf_file_problem(struct diags *d, const char *path, int error, const char *what) {
        if (error)
                diags_add(d, path, 0, "%s: %s", what, strerror(-error));
        else
                diags_add(d, path, 0, "%s", what);
        return -EINVAL;
}

/* Reads a whole regular file of at most CONF_FILE_MAX_BYTES without NUL bytes; -ENOMEM, or -EINVAL
 * with the problem in d. */
static int conf_read_file(const char *path, struct diags *d, char **ret) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        _cleanup_free_ char *buf = NULL;
        const char *nul;
        struct stat st;
        size_t n = 0;
        int r;

        if (fd < 0)
                return conf_file_problem(d, path, negative_errno(), "cannot open");
        if (fstat(fd, &st) < 0)
                return conf_file_problem(d, path, negative_errno(), "cannot stat");
        if (!S_ISREG(st.st_mode))
                return conf_file_problem(d, path, 0, "not a regular file");
        r = fileio_read_fd(fd, CONF_FILE_MAX_BYTES, (size_t) st.st_size, false, &buf, &n);
        if (r == -EFBIG)
                return conf_file_problem(d, path, 0, "larger than 1 MiB");
        if (r < 0)
                return conf_file_problem(d, path, r, "cannot read");
        nul = memchr(buf, '\0', n);
        if (nul) {
                unsigned line = 1;
                for (const char *s = buf; s < nul; s++)
                        line += *s == '\n';
                diags_add(d, path, line, "NUL byte in file");
                return -EINVAL;
        }
        *ret = TAKE_PTR(buf);
        return 0;
}

static int conf_load_file(struct conf *c, const char *path, struct diags *d) {
        _cleanup_free_ char *text = NULL;
        int r = conf_read_file(path, d, &text);

        if (r < 0)
                return r;
        return conf_parse(c, path, text, d);
}

static bool conf_is_dropin_name(const char *name) {
        size_t n = strlen(name);

        return name[0] != '.' && n > 5 && streq(name + n - 5, ".conf");
}

static int strv_compare(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Lists dir's drop-in names, sorted bytewise; a missing directory has none. */
static int conf_list_dropins(const char *dir, struct diags *d, char ***ret) {
        _cleanup_closedir_ DIR *dp = opendir(dir);
        _cleanup_strv_free_ char **names = NULL;
        size_t n = 0;
        struct dirent *de;

        if (!dp && errno == ENOENT) {
                *ret = NULL;
                return 0;
        }
        if (!dp)
                return conf_file_problem(d, dir, negative_errno(), "cannot open directory");
        for (errno = 0; (de = readdir(dp)); errno = 0) {
                if (!conf_is_dropin_name(de->d_name))
                        continue;
                if (n >= CONF_DROPINS_MAX)
                        return conf_file_problem(d, dir, 0, "more than 256 drop-in files");
                if (strv_extend(&names, de->d_name) < 0)
                        return -ENOMEM;
                n++;
        }
        if (errno != 0)
                return conf_file_problem(d, dir, negative_errno(), "cannot read directory");
        if (names)
                qsort(names, n, sizeof(char *), strv_compare);
        *ret = TAKE_PTR(names);
        return 0;
}

/* Loads dir/ *.conf in order; every file is tried even after a bad one. */
static int conf_load_dropins(struct conf *c, const char *dir, struct diags *d) {
        _cleanup_strv_free_ char **names = NULL;
        int r, result;

        result = conf_list_dropins(dir, d, &names);
        if (result < 0)
                return result;
        for (char **name = names; name && *name; name++) {
                _cleanup_free_ char *path = NULL;

                if (asprintf(&path, "%s/%s", dir, *name) < 0)
                        return -ENOMEM;
                r = conf_load_file(c, path, d);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        result = r;
        }
        return result;
}

/* Cross-key checks, once all files are in: a window no longer than CutoffSec never starts a reboot. */
static int conf_validate(const struct conf *c, const char *path, struct diags *d) {
        int r = 0;

        for (size_t i = 0; i < c->windows.n && !c->windows.always; i++) {
                const struct window *w = &c->windows.items[i];
                unsigned minutes = (w->end_minute + 24 * 60 - w->start_minute) % (24 * 60) ?: 24 * 60;
                char cutoff[32];

                if (c->cutoff_usec < minutes * USEC_PER_MINUTE)
                        continue;
                format_duration(c->cutoff_usec, cutoff, sizeof(cutoff));
                diags_add(d, path, 0,
                          "CutoffSec=%s leaves no time to start a reboot in the %u-minute window "
                          "at %02u:%02u",
                          cutoff, minutes, w->start_minute / 60, w->start_minute % 60);
                r = -EINVAL;
        }
        return r;
}

int conf_load(const char *path, const char *state_directory_env, struct conf **ret, struct diags *d) {
        _cleanup_(conf_freep) struct conf *c = NULL;
        _cleanup_free_ char *dropin_dir = NULL;
        int r, result;

        r = conf_new(state_directory_env, &c);
        if (r < 0)
                return r;
        result = conf_load_file(c, path, d);
        if (result == -ENOMEM)
                return result;
        if (asprintf(&dropin_dir, "%s.d", path) < 0)
                return -ENOMEM;
        r = conf_load_dropins(c, dropin_dir, d);
        if (r == -ENOMEM)
                return r;
        if (conf_validate(c, path, d) < 0 || r < 0 || result < 0)
                return -EINVAL;
        *ret = TAKE_PTR(c);
        return 0;
}

struct conf *conf_free(struct conf *c) {
        if (!c)
                return NULL;
        free(c->revocation_directory);
        free(c->state_directory);
        free(c->state_directory_default);
        free(c->metrics_file);
        free(c->endpoint);
        strv_free(c->regions);
        free(c->ca_file);
        free(c->credentials_file);
        free(c->profile);
        free(c->ram_role);
        free(c->metadata_endpoint);
        free(c->scaling_endpoint);
        window_set_done(&c->windows);
        free(c->time_zone);
        free(c);
        return NULL;
}
