/* Structured events to journald (the only caller of sd_journal_send), logfmt on stderr otherwise
 * and on a terminal. */
#include <ctype.h>
#include <stdarg.h>
#include <syslog.h>
#include <sys/uio.h>
/* CODE_FILE= etc. would always name this file, not the caller: leave them out. */
#define SD_JOURNAL_SUPPRESS_LOCATION 1
#include <systemd/sd-journal.h>

#include "io/report.h"

#define REPORT_PREFIX "KEYREVOKE_"
#define JOURNAL_SOCKET "/run/systemd/journal/socket"
#define REPORT_EXTRA_MAX 16U
/* The thirteen KEYREVOKE_* fields of struct event_fields, and the extras. */
#define REPORT_FIELDS_MAX (13U + REPORT_EXTRA_MAX)
/* MESSAGE, PRIORITY, MESSAGE_ID, SYSLOG_IDENTIFIER, KEYREVOKE_EVENT. */
#define REPORT_FIXED_FIELDS 5U

struct event_info {
        const char *name;
        const char *message_id; /* listed in systemd/keyrevoke.catalog */
        int priority;
};

/* One field of an event: key is the journal field name, key_len bytes of it. */
struct report_field {
        const char *key;
        size_t key_len;
        const char *value;
};

static bool force_stderr;
static report_sink_cb sink_cb;
static void *sink_userdata;

static struct event_info event_info(enum event_kind k) {
        switch (k) {
        case EVENT_LIST_LOADED:
                return (struct event_info) { "list-loaded", "be5736d832f2476187224e58fd932f40", LOG_INFO };
        case EVENT_LIST_ERROR:
                /* A rejected line is a revocation that is not enforced. */
                return (struct event_info) { "list-error", "bb7d5b0312e84dcdabbf5afd6d3fbb0b", LOG_ERR };
        case EVENT_KEYPAIR_NOT_FOUND:
                return (struct event_info) { "keypair-not-found", "7712097aa9e544a980a49cb1f9912bdc",
                                            LOG_NOTICE };
        case EVENT_DETACHED:
                return (struct event_info) { "detached", "ebefabd2f1c54f4e9e6a3e2254ce0b99", LOG_NOTICE };
        case EVENT_WOULD_DETACH:
                return (struct event_info) { "would-detach", "96718aab62d2452f9698e891460d0745", LOG_NOTICE };
        case EVENT_SKIPPED_WINDOWS:
                /* The revoked key stays usable there: the operator has to act. */
                return (struct event_info) { "skipped-windows", "946516fab4014eaaab18aeddc0f395e5",
                                            LOG_WARNING };
        case EVENT_DETACH_FAILED:
                return (struct event_info) { "detach-failed", "102c6f0ceedc4517a2342baed6b994ba", LOG_ERR };
        case EVENT_REBOOT_QUEUED:
                return (struct event_info) { "reboot-queued", "acd3316952a64a209513937b8385788b",
                                            LOG_NOTICE };
        case EVENT_REBOOT_STARTED:
                return (struct event_info) { "reboot-started", "0f504a1c7c7b46ecbb131e3728d6e1a7",
                                            LOG_NOTICE };
        case EVENT_WOULD_REBOOT:
                return (struct event_info) { "would-reboot", "8bc2ba4109dc4bb3a942069da0d0e7a8", LOG_NOTICE };
        case EVENT_REBOOT_COMPLETED:
                return (struct event_info) { "reboot-completed", "067567142afa4d10b990d685d57e84c6",
                                            LOG_NOTICE };
        case EVENT_REBOOT_SKIPPED:
                return (struct event_info) { "reboot-skipped", "c678efd2dad44662b4589ae1940ff508",
                                            LOG_NOTICE };
        case EVENT_REBOOT_FAILED:
                /* The key pair is detached already; the reboot is retried in a later window. */
                return (struct event_info) { "reboot-failed", "375952471e7e4b1ca9680fbf0f1d65f3",
                                            LOG_WARNING };
        case EVENT_LOOKUP_FAILED:
                return (struct event_info) { "lookup-failed", "3b2a811518564e02b15b4eaf4bc13d78", LOG_ERR };
        case EVENT_CONTAINED:
                return (struct event_info) { "contained", "75805835c9374f9aa20fdd84058ca180", LOG_NOTICE };
        case EVENT_WOULD_CONTAIN:
                return (struct event_info) { "would-contain", "43d808427bd4482fade0bcb1c0a3c275", LOG_NOTICE };
        case EVENT_CONTAIN_FAILED:
                return (struct event_info) { "contain-failed", "ab491b6e928e40fca939f22c1cb3ec1b", LOG_ERR };
        case EVENT_KEYPAIR_REFERENCED:
                return (struct event_info) { "keypair-referenced", "156eb28c3a0d4628bade804ae8fd9ee9",
                                            LOG_WARNING };
        case EVENT_KEYPAIR_DELETED:
                return (struct event_info) { "keypair-deleted", "c178c338ab6a41acbab229b9a4250676", LOG_NOTICE };
        case EVENT_ENFORCEMENT_COMPLETE:
                return (struct event_info) { "enforcement-complete", "144cf36bcaed46a38106530b32986a77",
                                            LOG_INFO };
        case _EVENT_KIND_MAX:
                break;
        }
        return (struct event_info) { NULL, NULL, LOG_ERR };
}

const char *event_kind_to_string(enum event_kind k) {
        return event_info(k).name;
}

const char *event_kind_message_id(enum event_kind k) {
        return event_info(k).message_id;
}

void report_set_stderr(bool on) {
        force_stderr = on;
}

void report_set_sink(report_sink_cb sink, void *userdata) {
        sink_cb = sink;
        sink_userdata = userdata;
}

/* "NAME=value" with NAME of A-Z, 0-9, _ (not first), as journald accepts it. */
static bool extra_valid(const char *s, size_t *ret_key_len) {
        size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");

        if (n == 0 || s[0] == '_' || s[n] != '=')
                return false;
        *ret_key_len = n;
        return true;
}

static void fields_add(struct report_field *fields, size_t *n, const char *key, const char *value) {
        if (value)
                fields[(*n)++] = (struct report_field) { key, strlen(key), value };
}

/* The KEYREVOKE_* fields that are set, then the valid extras (at most REPORT_EXTRA_MAX). */
static size_t collect_fields(const struct event_fields *f, const char *line, struct report_field *fields) {
        size_t n = 0;

        fields_add(fields, &n, REPORT_PREFIX "KEYPAIR", f->keypair);
        fields_add(fields, &n, REPORT_PREFIX "REGION", f->region);
        fields_add(fields, &n, REPORT_PREFIX "INSTANCE", f->instance);
        fields_add(fields, &n, REPORT_PREFIX "REQUEST_ID", f->request_id);
        fields_add(fields, &n, REPORT_PREFIX "ERROR", f->error);
        fields_add(fields, &n, REPORT_PREFIX "LIST", f->list);
        fields_add(fields, &n, REPORT_PREFIX "LINE", f->line > 0 ? line : NULL);
        fields_add(fields, &n, REPORT_PREFIX "REASON", f->reason);
        fields_add(fields, &n, REPORT_PREFIX "SKIP", f->skip);
        fields_add(fields, &n, REPORT_PREFIX "INVOCATION", f->invocation);
        fields_add(fields, &n, REPORT_PREFIX "REMOVED", f->removed);
        fields_add(fields, &n, REPORT_PREFIX "SOURCE", f->source);
        fields_add(fields, &n, REPORT_PREFIX "DRY_RUN", f->dry_run ? "1" : NULL);
        for (size_t i = 0, limit = n + REPORT_EXTRA_MAX; f->extra && f->extra[i] && n < limit; i++) {
                size_t key_len;
                if (extra_valid(f->extra[i], &key_len))
                        fields[n++] =
                                (struct report_field) { f->extra[i], key_len, f->extra[i] + key_len + 1 };
        }
        return n;
}

static int field_text(char **ret, const char *format, ...) _printf_(2, 3);
static int field_text(char **ret, const char *format, ...) {
        va_list ap;
        int r;

        va_start(ap, format);
        r = vasprintf(ret, format, ap);
        va_end(ap);
        if (r < 0) {
                *ret = NULL;
                return -ENOMEM;
        }
        return 0;
}

/* One sd_journal_sendv() call; negative when journald cannot be reached. sd_journal_sendv()
 * itself drops events silently (and returns 0) when the socket does not exist. */
static int report_journal(const struct event_info *info, const struct report_field *fields, size_t n_fields,
                          const char *message) {
        char *texts[REPORT_FIXED_FIELDS + REPORT_FIELDS_MAX] = {};
        struct iovec iov[ELEMENTSOF(texts)];
        size_t n = REPORT_FIXED_FIELDS;
        int r = 0;

        if (access(JOURNAL_SOCKET, F_OK) < 0)
                return negative_errno();
        r |= field_text(&texts[0], "MESSAGE=%s", message);
        r |= field_text(&texts[1], "PRIORITY=%d", info->priority);
        r |= field_text(&texts[2], "MESSAGE_ID=%s", info->message_id);
        r |= field_text(&texts[3], "SYSLOG_IDENTIFIER=keyrevoked");
        r |= field_text(&texts[4], REPORT_PREFIX "EVENT=%s", info->name);
        for (size_t i = 0; i < n_fields; i++)
                r |= field_text(&texts[n++], "%.*s=%s", (int) fields[i].key_len, fields[i].key,
                                fields[i].value);
        if (r >= 0) {
                for (size_t i = 0; i < n; i++)
                        iov[i] = (struct iovec) { texts[i], strlen(texts[i]) };
                r = sd_journal_sendv(iov, (int) n);
        }
        for (size_t i = 0; i < n; i++)
                free(texts[i]);
        return r < 0 ? r : 0;
}

/* A logfmt value: bare when it can be, else quoted with \" \\ \n \t and \u00XX escapes. */
static void logfmt_value(FILE *f, const char *v) {
        bool quote = !*v;

        for (const char *p = v; *p && !quote; p++)
                quote = (unsigned char) *p <= ' ' || *p == '=' || *p == '"' || *p == '\\' || *p == 0x7f;
        if (!quote) {
                fputs(v, f);
                return;
        }
        fputc('"', f);
        for (; *v; v++) {
                unsigned char c = (unsigned char) *v;
                if (c == '"' || c == '\\')
                        fprintf(f, "\\%c", c);
                else if (c == '\n')
                        fputs("\\n", f);
                else if (c == '\t')
                        fputs("\\t", f);
                else if (c < ' ' || c == 0x7f)
                        fprintf(f, "\\u%04x", c);
                else
                        fputc(c, f);
        }
        fputc('"', f);
}

/* The key of a journal field in logfmt: without the KEYREVOKE_ prefix, in lower case. */
static void logfmt_key(FILE *f, const struct report_field *field) {
        size_t skip = strlen(REPORT_PREFIX);

        if (field->key_len <= skip || !strneq(field->key, REPORT_PREFIX, skip))
                skip = 0;
        for (size_t i = skip; i < field->key_len; i++)
                fputc(tolower((unsigned char) field->key[i]), f);
}

/* The whole line is built first and written with one call, so lines never interleave. */
static void report_logfmt(const struct event_info *info, const struct report_field *fields, size_t n_fields,
                          const char *message) {
        _cleanup_free_ char *line = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&line, &size);

        if (!f)
                return;
        fprintf(f, "event=%s priority=%d", info->name, info->priority);
        for (size_t i = 0; i < n_fields; i++) {
                fputc(' ', f);
                logfmt_key(f, &fields[i]);
                fputc('=', f);
                logfmt_value(f, fields[i].value);
        }
        fputs(" msg=", f);
        logfmt_value(f, message);
        fputc('\n', f);
        if (fclose(f) == 0)
                (void) fwrite(line, 1, size, stderr);
}

void report_event(enum event_kind kind, const struct event_fields *f, const char *format, ...) {
        static const struct event_fields none = {};
        struct event_info info = event_info(kind);
        struct report_field fields[REPORT_FIELDS_MAX];
        _cleanup_free_ char *message = NULL;
        char line[16];
        size_t n;
        va_list ap;

        if (!info.name)
                return; /* not an event kind: a caller bug, nothing sensible to report */
        if (!f)
                f = &none;
        va_start(ap, format);
        if (vasprintf(&message, format, ap) < 0)
                message = NULL;
        va_end(ap);
        if (sink_cb) {
                sink_cb(kind, f, message ? message : info.name, sink_userdata);
                return;
        }
        snprintf(line, sizeof(line), "%u", f->line);
        n = collect_fields(f, line, fields);
        /* A terminal is a person running it by hand: they see the events too. */
        if (!force_stderr && report_journal(&info, fields, n, message ? message : info.name) >= 0 &&
            !isatty(STDERR_FILENO))
                return;
        report_logfmt(&info, fields, n, message ? message : info.name);
}
