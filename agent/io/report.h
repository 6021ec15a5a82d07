/* Structured events to journald (the only caller of sd_journal_send), logfmt on stderr otherwise
 * and on a terminal. */
#pragma once

#include "base/macro.h"

enum event_kind {
        EVENT_LIST_LOADED,
        EVENT_LIST_ERROR,
        EVENT_KEYPAIR_NOT_FOUND,
        EVENT_DETACHED,
        EVENT_WOULD_DETACH,
        EVENT_SKIPPED_WINDOWS,
        EVENT_DETACH_FAILED,
        EVENT_REBOOT_QUEUED,
        EVENT_REBOOT_STARTED,
        EVENT_WOULD_REBOOT,
        EVENT_REBOOT_COMPLETED,
        EVENT_REBOOT_SKIPPED,
        EVENT_REBOOT_FAILED,
        EVENT_LOOKUP_FAILED,
        EVENT_CONTAINED,
        EVENT_WOULD_CONTAIN,
        EVENT_CONTAIN_FAILED,
        EVENT_KEYPAIR_REFERENCED,
        EVENT_KEYPAIR_DELETED,
        EVENT_ENFORCEMENT_COMPLETE,
        _EVENT_KIND_MAX,
};

/* The KEYREVOKE_* fields of an event; NULL/0 fields are left out. */
struct event_fields {
        const char *keypair;
        const char *region;
        const char *instance;
        const char *request_id;
        const char *error;
        const char *list;
        unsigned line;
        const char *reason;
        const char *skip;               /* KEYREVOKE_SKIP: why a reboot was skipped */
        const char *invocation;         /* KEYREVOKE_INVOCATION: Cloud Assistant InvokeId */
        const char *removed;            /* KEYREVOKE_REMOVED: authorized-keys lines removed */
        const char *source;             /* KEYREVOKE_SOURCE: launch template or scaling configuration */
        bool dry_run;
        const char *const *extra;       /* more "KEYREVOKE_X=value" strings, NULL-terminated */
};

/* "list-loaded", ... as in SPEC.md. */
const char *event_kind_to_string(enum event_kind k);
/* The fixed MESSAGE_ID (32 hex characters) of the kind. */
const char *event_kind_message_id(enum event_kind k);

/* Forces the stderr logfmt output (tests, --check-config). */
void report_set_stderr(bool on);

/* Receives each event instead of journald and stderr; message is the formatted MESSAGE=. */
typedef void (*report_sink_cb)(enum event_kind kind, const struct event_fields *f, const char *message,
                               void *userdata);

/* Sends every event to sink from now on (keyrevokectl plan collects them); NULL restores the
 * journald/stderr output. f is never NULL in a sink call; it and message are borrowed. */
void report_set_sink(report_sink_cb sink, void *userdata);

/* Sends one event with MESSAGE= formatted from format; writes it as one logfmt line on stderr
 * too when stderr is a terminal, and instead when journald cannot be reached. Never fails. f may be NULL (no KEYREVOKE_* fields); extras
 * that are not "NAME=value" with NAME of A-Z, 0-9 and _ are dropped, and at most 16 are sent. */
void report_event(enum event_kind kind, const struct event_fields *f, const char *format, ...) _printf_(3, 4);
