/* The last enforcement pass in StateDirectory/last-pass.json, for keyrevokectl status: when it
 * ran and what it counted. Written atomically, mode 0600. */
#include <fcntl.h>
#include <jansson.h>

#include "base/fileio.h"
#include "base/log.h"
#include "io/passrecord.h"

#define PASSRECORD_FILE "last-pass.json"
#define PASSRECORD_MAX_BYTES ((size_t) 64 * 1024)
#define PASSRECORD_VERSION 1

#define PASSRECORD_FORMAT                                                                                  \
        "{s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}"

int passrecord_save(const char *directory, const struct pass_record *r) {
        const struct planner_counts *c = &r->pass.counts;
        _cleanup_free_ char *path = NULL, *text = NULL;
        json_t *o;

        o = json_pack(PASSRECORD_FORMAT, "version", PASSRECORD_VERSION, "start_usec", (json_int_t) r->start_usec,
                      "end_usec", (json_int_t) r->end_usec, "lists", (json_int_t) r->pass.lists, "entries",
                      (json_int_t) r->pass.entries, "detached", (json_int_t) c->detached, "skipped",
                      (json_int_t) c->skipped, "failed", (json_int_t) c->failed, "not_found",
                      (json_int_t) c->not_found, "regions", (json_int_t) c->regions, "regions_failed",
                      (json_int_t) c->regions_failed, "newly_queued", (json_int_t) c->newly_queued);
        text = o ? json_dumps(o, JSON_COMPACT) : NULL;
        json_decref(o);
        if (!text || asprintf(&path, "%s/" PASSRECORD_FILE, directory) < 0)
                return -ENOMEM;
        return fileio_write_atomic(path, text, strlen(text), 0600);
}

/* A count of the record: a non-negative number that fits. */
static bool count_valid(json_int_t v) {
        return v >= 0 && v <= UINT32_MAX;
}

static int passrecord_parse(const char *path, const char *text, struct pass_record *ret) {
        json_int_t start, end, lists, entries, v[7];
        int version;
        json_t *o = json_loads(text, 0, NULL);
        int r;

        r = o ? json_unpack(o, PASSRECORD_FORMAT, "version", &version, "start_usec", &start, "end_usec", &end,
                            "lists", &lists, "entries", &entries, "detached", &v[0], "skipped", &v[1], "failed",
                            &v[2], "not_found", &v[3], "regions", &v[4], "regions_failed", &v[5], "newly_queued",
                            &v[6])
              : -1;
        json_decref(o);
        if (r < 0 || version != PASSRECORD_VERSION || start < 0 || end < start || lists < 0 || entries < 0)
                return log_error_errno(-EBADMSG, "%s: not a version %d pass record", path, PASSRECORD_VERSION);
        for (size_t i = 0; i < ELEMENTSOF(v); i++)
                if (!count_valid(v[i]))
                        return log_error_errno(-EBADMSG, "%s: a count is out of range", path);
        *ret = (struct pass_record) {
                .start_usec = (uint64_t) start,
                .end_usec = (uint64_t) end,
                .pass = { .lists = (size_t) lists, .entries = (size_t) entries,
                          .counts = { .detached = (unsigned) v[0], .skipped = (unsigned) v[1],
                                      .failed = (unsigned) v[2], .not_found = (unsigned) v[3],
                                      .regions = (unsigned) v[4], .regions_failed = (unsigned) v[5],
                                      .newly_queued = (unsigned) v[6] } },
        };
        return 0;
}

int passrecord_load(const char *directory, struct pass_record *ret) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        _cleanup_close_ int fd = -1;
        int r;

        if (asprintf(&path, "%s/" PASSRECORD_FILE, directory) < 0)
                return -ENOMEM;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW);
        if (fd < 0)
                return negative_errno();
        r = fileio_read_fd(fd, PASSRECORD_MAX_BYTES, 0, false, &text, NULL);
        if (r < 0)
                return r;
        return passrecord_parse(path, text, ret);
}
