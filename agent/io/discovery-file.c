/* The discovery memory in StateDirectory/discovery.json, replaced atomically on every save. */
#include "base/log.h"
#include "io/discovery-file.h"
#include "io/record.h"

/* Its JSON form is checked by discovery_memory_from_json(): only the name and limit are used here. */
static const struct record_type discovery_record = {
        .name = "discovery.json",
        /* Far more than any fleet needs (about 30 bytes a key pair). */
        .max_bytes = (size_t) 16 * 1024 * 1024,
};

/* A new memory holding what rec's text records; -EBADMSG (logged) when it is corrupt. */
static int discovery_file_parse(const struct record *rec, struct discovery_memory **ret) {
        _cleanup_(discovery_memory_freep) struct discovery_memory *m = NULL;
        const char *error = NULL;
        int r;

        r = discovery_memory_new(&m);
        if (r < 0)
                return r;
        r = discovery_memory_from_json(m, rec->text, rec->size, &error);
        if (r < 0)
                return r == -ENOMEM ? r : log_warning_errno(r, "%s is corrupt: %s", rec->path, error);
        *ret = TAKE_PTR(m);
        return 0;
}

int discovery_file_load(const char *directory, struct discovery_memory **ret) {
        _cleanup_(record_done) struct record rec = {};
        int r;

        r = record_read_text(&discovery_record, directory, LOG_LEVEL_WARNING, &rec);
        if (r >= 0 && !rec.text)
                return discovery_memory_new(ret);
        if (r >= 0)
                r = discovery_file_parse(&rec, ret);
        if (r >= 0 || r == -ENOMEM)
                return r;
        log_warning("Ignoring %s/%s: the region sizes it held are probed again and the file is replaced after "
                    "the next pass", directory, discovery_record.name);
        return discovery_memory_new(ret);
}

int discovery_file_save(const char *directory, struct discovery_memory *m) {
        _cleanup_free_ char *text = NULL;
        int r;

        if (!discovery_memory_changed(m))
                return 0;
        r = discovery_memory_to_json(m, &text);
        if (r < 0)
                return r;
        r = record_write_text(&discovery_record, directory, text);
        if (r < 0)
                return r;
        discovery_memory_mark_saved(m);
        return 0;
}
