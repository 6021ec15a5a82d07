/* The last enforcement pass in StateDirectory/last-pass.json, for keyrevokectl status: when it
 * ran and what it counted. Written atomically, mode 0600. */
#include "base/log.h"
#include "io/passrecord.h"
#include "io/record.h"

static const struct record_type passrecord_record = {
        .name = "last-pass.json",
        .what = "pass record",
        .max_bytes = (size_t) 64 * 1024,
        .version = 1,
};

#define PASSRECORD_FORMAT                                                                                  \
        "{s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}"

static json_t *passrecord_to_json(const void *userdata) {
        const struct pass_record *r = userdata;
        const struct planner_counts *c = &r->pass.counts;

        return json_pack(PASSRECORD_FORMAT, "version", passrecord_record.version, "start_usec",
                         (json_int_t) r->start_usec, "end_usec", (json_int_t) r->end_usec, "lists",
                         (json_int_t) r->pass.lists, "entries", (json_int_t) r->pass.entries, "detached",
                         (json_int_t) c->detached, "skipped", (json_int_t) c->skipped, "failed",
                         (json_int_t) c->failed, "not_found", (json_int_t) c->not_found, "regions",
                         (json_int_t) c->regions, "regions_failed", (json_int_t) c->regions_failed, "newly_queued",
                         (json_int_t) c->newly_queued);
}

int passrecord_save(const char *directory, const struct pass_record *r) {
        return record_save(&passrecord_record, directory, NULL, passrecord_to_json, r);
}

/* A count of the record: a non-negative number that fits. */
static bool count_valid(json_int_t v) {
        return v >= 0 && v <= UINT32_MAX;
}

/* The version is checked by record_load() already. */
static int passrecord_parse(void *userdata, const struct record *rec) {
        struct pass_record *ret = userdata;
        json_int_t start, end, lists, entries, v[7];
        int version;

        if (json_unpack(rec->root, PASSRECORD_FORMAT, "version", &version, "start_usec", &start, "end_usec", &end,
                        "lists", &lists, "entries", &entries, "detached", &v[0], "skipped", &v[1], "failed", &v[2],
                        "not_found", &v[3], "regions", &v[4], "regions_failed", &v[5], "newly_queued", &v[6]) < 0 ||
            start < 0 || end < start || lists < 0 || entries < 0)
                return log_error_errno(-EBADMSG, "%s: not a version %d pass record", rec->path,
                                       passrecord_record.version);
        for (size_t i = 0; i < ELEMENTSOF(v); i++)
                if (!count_valid(v[i]))
                        return log_error_errno(-EBADMSG, "%s: a count is out of range", rec->path);
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
        int r = record_load(&passrecord_record, directory, passrecord_parse, ret);

        return r == 0 ? -ENOENT : r < 0 ? r : 0;
}
