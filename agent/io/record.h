/* The record files in StateDirectory (queue.json, contained.json, ...): one reader (a size limit,
 * never through a symlink, a regular file only) and one writer (atomic, 0600), so that each
 * record's module keeps only its schema. */
#pragma once

#include <jansson.h>

#include "base/fileio.h"
#include "base/hashmap.h"
#include "base/log.h"

/* What one record file is. Its JSON form is {"version": version, list: [...], ...}, or without a
 * list when list is NULL. */
struct record_type {
        const char *name;       /* in the state directory: "contained.json" */
        const char *what;       /* for messages: "containment record" */
        size_t max_bytes;
        int version;
        const char *list;       /* the member holding the entries: "entries"; NULL for none */
};

/* One record file as read; all NULL but path when the file does not exist. */
struct record {
        char *path;             /* directory/name, for messages */
        char *text;             /* NUL-terminated, size bytes */
        size_t size;
        json_t *root;           /* record_load() only */
        json_t *list;           /* record_load() only: the array t->list names (borrowed from root) */
};

/* Frees what r holds and zeroes it. */
void record_done(struct record *r);

/* Reads directory/t->name as text into *ret (cleared with record_done()). A missing file is 0 with
 * ret->text NULL. Failures are logged at level, naming the file; -errno (-ELOOP for a symlink,
 * -EBADMSG for a file that is not regular, -EFBIG for one larger than t->max_bytes). */
int record_read_text(const struct record_type *t, const char *directory, enum log_level level,
                     struct record *ret);

/* Reads directory/t->name as record_read_text() does (failures logged as errors) and parses it:
 * duplicate keys refused, a syntax error logged as path:line:column, a version other than
 * t->version or a missing list logged as not a record of this kind (-EBADMSG). Then, unless the
 * file is missing, parse(userdata, rec) takes in its entries (and logs its own failures). 0 when
 * the file is missing, 1 when parse took it in, -errno. */
int record_load(const struct record_type *t, const char *directory,
                int (*parse)(void *userdata, const struct record *rec), void *userdata);

/* Replaces directory/t->name with text: temp file (mode 0600, owned as fileio_adopt_owner() says),
 * fsync, rename, fsync of the directory; -errno, the old file untouched (-EFBIG for a text larger
 * than t->max_bytes, which could not be loaded again). */
int record_write_text(const struct record_type *t, const char *directory, const char *text);

/* As record_write_text(), with the text written by fill(f, userdata) as it is made (a large
 * record is never held whole in memory). */
int record_write_with(const struct record_type *t, const char *directory, fileio_fill_fn fill, void *userdata);

/* Unless dirty points to false: writes new_root(userdata) (NULL: -ENOMEM) as compact JSON with
 * record_write_text(), and clears *dirty. */
int record_save(const struct record_type *t, const char *directory, bool *dirty,
                json_t *(*new_root)(const void *userdata), const void *userdata);

/* Unless *dirty is false: writes {"version": t->version, the members of more (NULL: none),
 * t->list: [entry_to_json(v) for each value v of map, in its order]} as compact JSON with
 * record_write_with(), one entry's JSON at a time, and clears *dirty. entry_to_json returns a new
 * reference (NULL: -ENOMEM). */
int record_save_list(const struct record_type *t, const char *directory, bool *dirty, const struct hashmap *map,
                     json_t *(*entry_to_json)(const void *entry), json_t *more);
