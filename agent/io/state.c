/* The persistent reboot queue: StateDirectory/queue.json, replaced atomically on every save. */
#include <dirent.h>
#include <inttypes.h>
#include <limits.h>

#include "base/fileio.h"
#include "base/log.h"
#include "base/strutil.h"
#include "io/record.h"
#include "io/state.h"

#define STATE_TEMP_PREFIX ".queue.json."
#define STATE_VERSION 1
#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)

enum field_type {
        FIELD_ID,              /* char *, owned, never NULL or empty */
        FIELD_STRING,          /* const char * from the pool, never NULL or empty */
        FIELD_OPTIONAL_STRING, /* const char * from the pool, NULL written as null */
        FIELD_STATE,           /* enum queue_state, written as its name */
        FIELD_USEC,            /* uint64_t */
        FIELD_UNSIGNED,        /* unsigned */
        FIELD_BOOL,            /* bool; missing reads as false (files written before it existed) */
        FIELD_OPTIONAL_UNSIGNED, /* unsigned; missing reads as 0 (files written before it existed) */
};

/* Every member of struct queue_entry and its JSON name: the one description both directions use. */
static const struct entry_field {
        const char *name;
        enum field_type type;
        size_t offset;
} entry_fields[] = {
        { "instance_id", FIELD_ID, offsetof(struct queue_entry, instance_id) },
        { "region", FIELD_STRING, offsetof(struct queue_entry, region) },
        { "keypair", FIELD_STRING, offsetof(struct queue_entry, keypair) },
        { "reason", FIELD_OPTIONAL_STRING, offsetof(struct queue_entry, reason) },
        { "list", FIELD_OPTIONAL_STRING, offsetof(struct queue_entry, list) },
        { "line", FIELD_OPTIONAL_UNSIGNED, offsetof(struct queue_entry, line) },
        { "state", FIELD_STATE, offsetof(struct queue_entry, state) },
        { "detached_usec", FIELD_USEC, offsetof(struct queue_entry, detached_usec) },
        { "reboot_started_usec", FIELD_USEC, offsetof(struct queue_entry, reboot_started_usec) },
        { "start_time_before", FIELD_OPTIONAL_STRING, offsetof(struct queue_entry, start_time_before) },
        { "outcome", FIELD_OPTIONAL_STRING, offsetof(struct queue_entry, outcome) },
        { "done_usec", FIELD_USEC, offsetof(struct queue_entry, done_usec) },
        { "reboot_failures", FIELD_UNSIGNED, offsetof(struct queue_entry, reboot_failures) },
        { "reboot_accepted", FIELD_BOOL, offsetof(struct queue_entry, reboot_accepted) },
};

#define FIELD_PTR(e, f, type) ((type *) ((uint8_t *) (e) + (f)->offset))

static const struct record_type state_record = {
        .name = "queue.json",
        .what = "reboot queue",
        .max_bytes = (size_t) 256 * 1024 * 1024,
        .version = STATE_VERSION,
        .list = "entries",
};

const char *queue_state_to_string(enum queue_state s) {
        switch (s) {
        case QUEUE_DETACHING:
                return "detaching";
        case QUEUE_PENDING:
                return "pending";
        case QUEUE_REBOOTING:
                return "rebooting";
        case QUEUE_DONE:
                return "done";
        case _QUEUE_STATE_MAX:
                break;
        }
        return NULL;
}

int queue_state_from_string(const char *s) {
        for (enum queue_state st = 0; st < _QUEUE_STATE_MAX; st++)
                if (streq(s, queue_state_to_string(st)))
                        return (int) st;
        return -EINVAL;
}

static struct queue_entry *entry_free(struct state *s, struct queue_entry *e) {
        if (!e)
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(entry_fields); i++)
                if (entry_fields[i].type == FIELD_STRING || entry_fields[i].type == FIELD_OPTIONAL_STRING)
                        strpool_clear(s->strings, FIELD_PTR(e, &entry_fields[i], const char *));
        free(e->instance_id);
        free(e);
        return NULL;
}

struct state *state_free(struct state *s) {
        struct queue_entry *e;
        size_t i = 0;

        if (!s)
                return NULL;
        if (s->by_instance)
                while (hashmap_iterate(s->by_instance, &i, NULL, (void **) &e))
                        entry_free(s, e);
        hashmap_free(s->by_instance);
        strpool_free(s->strings);
        free(s->directory);
        free(s);
        return NULL;
}

/* ---- loading ------------------------------------------------------------------------------ */

static bool is_nonempty_string(const json_t *v) {
        return json_is_string(v) && json_string_length(v) > 0;
}

/* Sets one field of e from its JSON value; false when the value is missing or of the wrong kind,
 * or on -ENOMEM. */
static bool field_from_json(struct state *s, struct queue_entry *e, const struct entry_field *f, const json_t *v) {
        int st;

        switch (f->type) {
        case FIELD_ID:
                return is_nonempty_string(v) && (e->instance_id = strdup(json_string_value(v)));
        case FIELD_OPTIONAL_STRING:
                if (!v || json_is_null(v))
                        return true;
                _fallthrough_;
        case FIELD_STRING:
                return is_nonempty_string(v) &&
                       strpool_set(s->strings, FIELD_PTR(e, f, const char *), json_string_value(v)) >= 0;
        case FIELD_STATE:
                st = json_is_string(v) ? queue_state_from_string(json_string_value(v)) : -EINVAL;
                if (st < 0)
                        return false;
                *FIELD_PTR(e, f, enum queue_state) = (enum queue_state) st;
                return true;
        case FIELD_USEC:
                if (!json_is_integer(v) || json_integer_value(v) < 0)
                        return false;
                *FIELD_PTR(e, f, uint64_t) = (uint64_t) json_integer_value(v);
                return true;
        case FIELD_OPTIONAL_UNSIGNED:
                if (!v)
                        return true;
                _fallthrough_;
        case FIELD_UNSIGNED:
                if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > UINT_MAX)
                        return false;
                *FIELD_PTR(e, f, unsigned) = (unsigned) json_integer_value(v);
                return true;
        case FIELD_BOOL:
                if (v && !json_is_boolean(v))
                        return false;
                *FIELD_PTR(e, f, bool) = v && json_is_true(v);
                return true;
        }
        return false;
}

static int entry_from_json(struct state *s, const char *path, size_t index, const json_t *o,
                           struct queue_entry **ret) {
        struct queue_entry *e;

        if (!json_is_object(o)) {
                log_error("%s: entry %zu is not an object", path, index);
                return -EBADMSG;
        }
        e = calloc(1, sizeof(*e));
        if (!e)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(entry_fields); i++)
                if (!field_from_json(s, e, &entry_fields[i], json_object_get(o, entry_fields[i].name))) {
                        /* An allocation failure looks the same here; both stop the daemon. */
                        log_error("%s: entry %zu: \"%s\" is missing or invalid", path, index,
                                  entry_fields[i].name);
                        entry_free(s, e);
                        return -EBADMSG;
                }
        *ret = e;
        return 0;
}

/* Adds e to the map, or frees it. */
static int state_insert(struct state *s, struct queue_entry *e) {
        int r = hashmap_put(s->by_instance, e->instance_id, e);

        if (r < 0)
                entry_free(s, e);
        return r;
}

static int state_parse(void *userdata, const struct record *rec) {
        struct state *s = userdata;
        const json_t *o;
        size_t index;

        json_array_foreach(rec->list, index, o) {
                struct queue_entry *e = NULL;
                int r = entry_from_json(s, rec->path, index, o, &e);
                if (r < 0)
                        return r;
                if (hashmap_get(s->by_instance, e->instance_id)) {
                        log_error("%s: entry %zu: instance %s is listed twice", rec->path, index, e->instance_id);
                        entry_free(s, e);
                        return -EBADMSG;
                }
                r = state_insert(s, e);
                if (r < 0)
                        return r;
        }
        return 0;
}

int state_new(const char *directory, struct state **ret) {
        _cleanup_(state_freep) struct state *s = calloc(1, sizeof(*s));
        int r;

        if (!s)
                return -ENOMEM;
        s->directory = strdup(directory);
        if (!s->directory || strpool_new(&s->strings) < 0)
                return -ENOMEM;
        r = hashmap_new(&s->by_instance);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

int state_load(const char *directory, struct state **ret) {
        _cleanup_(state_freep) struct state *s = NULL;
        int r;

        r = fileio_ensure_directory(directory, 0700);
        if (r < 0)
                return r;
        r = state_new(directory, &s);
        if (r < 0)
                return r;
        r = record_load(&state_record, directory, state_parse, s);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

/* ---- saving ------------------------------------------------------------------------------- */

/* A save in progress: written by hand to the stream rather than through a jansson tree, which
 * costs a dozen allocations per entry (0.8 s of CPU for 100,000 entries instead of 0.1 s), and
 * as it is made, so that the text of a large queue is never held whole in memory. The first
 * failure sticks and is reported at the end. */
struct out {
        FILE *f;
        int error;
};

static void out_write(struct out *o, const char *p, size_t n) {
        if (o->error < 0 || n == 0)
                return;
        if (fwrite(p, 1, n, o->f) != n)
                o->error = errno > 0 ? -errno : -EIO;
}

static void out_puts(struct out *o, const char *p) {
        out_write(o, p, strlen(p));
}

/* A JSON string; only valid UTF-8 is accepted, since anything else would not load again. */
static void out_string(struct out *o, const char *v) {
        const char *run = v;
        char esc[8];

        if (!utf8_is_valid(v, strlen(v))) {
                o->error = -EINVAL;
                return;
        }
        out_puts(o, "\"");
        for (; *v; v++) {
                unsigned char c = (unsigned char) *v;
                if (c >= 0x20 && c != '"' && c != '\\')
                        continue;
                out_write(o, run, (size_t) (v - run));
                if (c == '"' || c == '\\')
                        snprintf(esc, sizeof(esc), "\\%c", c);
                else
                        snprintf(esc, sizeof(esc), "\\u%04x", c);
                out_puts(o, esc);
                run = v + 1;
        }
        out_write(o, run, (size_t) (v - run));
        out_puts(o, "\"");
}

static void out_number(struct out *o, uint64_t v) {
        char buf[32];

        /* jansson reads integers as signed 64-bit: a larger value would make the file unloadable. */
        if (v > INT64_MAX) {
                o->error = -ERANGE;
                return;
        }
        snprintf(buf, sizeof(buf), "%" PRIu64, v);
        out_puts(o, buf);
}

static void out_field(struct out *o, const struct queue_entry *e, const struct entry_field *f) {
        const char *v;

        /* The names are plain ASCII: no escaping needed. */
        out_puts(o, "\"");
        out_puts(o, f->name);
        out_puts(o, "\":");
        switch (f->type) {
        case FIELD_ID:
                out_string(o, e->instance_id);
                return;
        case FIELD_STRING:
        case FIELD_OPTIONAL_STRING:
                v = *FIELD_PTR(e, f, const char *const);
                if (v && (*v || f->type == FIELD_OPTIONAL_STRING))
                        out_string(o, v);
                else if (f->type == FIELD_OPTIONAL_STRING)
                        out_puts(o, "null");
                else
                        o->error = -EINVAL;
                return;
        case FIELD_STATE:
                v = queue_state_to_string(*FIELD_PTR(e, f, const enum queue_state));
                if (v)
                        out_string(o, v);
                else
                        o->error = -EINVAL;
                return;
        case FIELD_USEC:
                out_number(o, *FIELD_PTR(e, f, const uint64_t));
                return;
        case FIELD_UNSIGNED:
        case FIELD_OPTIONAL_UNSIGNED:
                out_number(o, *FIELD_PTR(e, f, const unsigned));
                return;
        case FIELD_BOOL:
                out_puts(o, *FIELD_PTR(e, f, const bool) ? "true" : "false");
                return;
        }
}

/* {"version":1,"entries":[...]} with one entry per line, for operators reading the file. */
static int state_format(FILE *f, void *userdata) {
        const struct state *s = userdata;
        struct out o = { .f = f };
        struct queue_entry *e;
        size_t i = 0;
        bool first = true;

        out_puts(&o, "{\"version\":" STRINGIFY(STATE_VERSION) ",\"entries\":[");
        while (o.error >= 0 && state_iterate(s, &i, &e)) {
                out_puts(&o, first ? "\n{" : ",\n{");
                for (size_t k = 0; k < ELEMENTSOF(entry_fields); k++) {
                        if (k > 0)
                                out_puts(&o, ",");
                        out_field(&o, e, &entry_fields[k]);
                }
                out_puts(&o, "}");
                first = false;
        }
        out_puts(&o, "\n]}\n");
        return o.error;
}

/* Temp files a killed daemon left behind; queue.json itself is always complete. */
static void remove_stale_temps(const char *directory) {
        _cleanup_closedir_ DIR *d = opendir(directory);
        struct dirent *de;

        if (!d)
                return;
        while ((de = readdir(d)))
                if (strneq(de->d_name, STATE_TEMP_PREFIX, strlen(STATE_TEMP_PREFIX)))
                        (void) unlinkat(dirfd(d), de->d_name, 0);
}

int state_save(struct state *s) {
        int r;

        if (!s->stale_temps_removed) {
                remove_stale_temps(s->directory);
                s->stale_temps_removed = true;
        }
        if (!s->dirty)
                return 0;
        /* Temp file ".queue.json.XXXXXX" (STATE_TEMP_PREFIX), fsync, rename, fsync of the
         * directory: a crash at any instant leaves either the old or the new queue.json. */
        r = record_write_with(&state_record, s->directory, state_format, s);
        if (r < 0)
                return r;
        s->dirty = false;
        return 0;
}

/* ---- the queue ---------------------------------------------------------------------------- */

struct queue_entry *state_find(const struct state *s, const char *instance_id) {
        return hashmap_get(s->by_instance, instance_id);
}

/* Only valid UTF-8 can be written as JSON; one bad entry would otherwise block every save. */
static bool valid_string(const char *v, bool optional) {
        if (!v)
                return optional;
        return *v && utf8_is_valid(v, strlen(v));
}

/* Replaces *p with a copy of v (NULL allowed) unless they are equal; -ENOMEM. */
int state_begin_detach(struct state *s, const char *instance_id, const char *region, const char *keypair,
                       const char *reason, struct queue_entry **ret) {
        struct queue_entry *e = state_find(s, instance_id);

        if (!e)
                return state_add(s, instance_id, region, keypair, reason, ret);
        if (e->state == QUEUE_REBOOTING)
                return -EBUSY;
        if (!valid_string(region, false) || !valid_string(keypair, false) || !valid_string(reason, true))
                return -EINVAL;
        if (strpool_set(s->strings, &e->region, region) < 0 || strpool_set(s->strings, &e->keypair, keypair) < 0 ||
            strpool_set(s->strings, &e->reason, reason) < 0)
                return -ENOMEM;
        if (e->state != QUEUE_DETACHING) {
                e->detached_usec = 0;
                e->reboot_started_usec = 0;
                strpool_clear(s->strings, &e->start_time_before);
                strpool_clear(s->strings, &e->outcome);
                e->done_usec = 0;
                e->reboot_failures = 0;
                e->reboot_accepted = false;
                e->seen_down = false;
                e->state = QUEUE_DETACHING;
        }
        s->dirty = true;
        *ret = e;
        return 0;
}

int state_set_origin(struct state *s, struct queue_entry *e, const char *list, unsigned line) {
        if (strpool_set(s->strings, &e->list, list) < 0)
                return -ENOMEM;
        e->line = line;
        s->dirty = true;
        return 0;
}

int state_set_text(struct state *s, const char **member, const char *value) {
        if (strpool_set(s->strings, member, value) < 0)
                return -ENOMEM;
        s->dirty = true;
        return 0;
}

int state_add(struct state *s, const char *instance_id, const char *region, const char *keypair,
              const char *reason, struct queue_entry **ret) {
        struct queue_entry *e = state_find(s, instance_id);
        int r;

        if (e) {
                *ret = e;
                return 0;
        }
        if (!valid_string(instance_id, false) || !valid_string(region, false) ||
            !valid_string(keypair, false) || !valid_string(reason, true))
                return -EINVAL;
        e = calloc(1, sizeof(*e));
        if (!e)
                return -ENOMEM;
        e->state = QUEUE_DETACHING;
        if (!(e->instance_id = strdup(instance_id)) || strpool_set(s->strings, &e->region, region) < 0 ||
            strpool_set(s->strings, &e->keypair, keypair) < 0 || strpool_set(s->strings, &e->reason, reason) < 0) {
                entry_free(s, e);
                return -ENOMEM;
        }
        r = state_insert(s, e);
        if (r < 0)
                return r;
        s->dirty = true;
        *ret = e;
        return 1;
}

void state_set(struct state *s, struct queue_entry *e, enum queue_state st) {
        e->state = st;
        s->dirty = true;
}

void state_remove(struct state *s, struct queue_entry *e) {
        (void) hashmap_remove(s->by_instance, e->instance_id);
        entry_free(s, e);
        s->dirty = true;
}

size_t state_prune(struct state *s, uint64_t done_before_usec) {
        struct queue_entry *e;
        size_t i = 0, n = 0;

        /* Removing leaves a tombstone in place, so the iteration stays valid. */
        while (state_iterate(s, &i, &e))
                if (e->state == QUEUE_DONE && e->done_usec < done_before_usec) {
                        state_remove(s, e);
                        n++;
                }
        return n;
}

bool state_iterate(const struct state *s, size_t *i, struct queue_entry **ret) {
        return hashmap_iterate(s->by_instance, i, NULL, (void **) ret);
}

size_t state_count(const struct state *s, enum queue_state st) {
        struct queue_entry *e;
        size_t i = 0, n = 0;

        while (state_iterate(s, &i, &e))
                if (e->state == st)
                        n++;
        return n;
}
