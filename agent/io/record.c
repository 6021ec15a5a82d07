/* The record files in StateDirectory: one reader and one writer for all of them. */
#include <fcntl.h>
#include <sys/stat.h>

#include "base/fileio.h"
#include "io/record.h"

void record_done(struct record *r) {
        free(r->path);
        free(r->text);
        json_decref(r->root);
        *r = (struct record) {};
}

/* Opens path for reading, refusing a symlink and anything but a regular file; -ENOENT unlogged. */
static int open_regular(const char *path, enum log_level level, struct stat *ret) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW);

        if (fd < 0 && errno == ENOENT)
                return -ENOENT;
        if (fd < 0 && errno == ELOOP)
                return log_internal(level, -ELOOP, "%s is a symbolic link, refusing", path);
        if (fd < 0)
                return log_internal(level, negative_errno(), "Failed to open %s: %m", path);
        if (fstat(fd, ret) < 0)
                return log_internal(level, negative_errno(), "Failed to stat %s: %m", path);
        if (!S_ISREG(ret->st_mode))
                return log_internal(level, -EBADMSG, "%s: not a regular file", path);
        return TAKE_FD(fd);
}

static char *record_path(const struct record_type *t, const char *directory) {
        char *path;

        return asprintf(&path, "%s/%s", directory, t->name) < 0 ? NULL : path;
}

int record_read_text(const struct record_type *t, const char *directory, enum log_level level,
                     struct record *ret) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        _cleanup_close_ int fd = -1;
        struct stat st;
        size_t size = 0;
        int r;

        path = record_path(t, directory);
        if (!path)
                return -ENOMEM;
        fd = open_regular(path, level, &st);
        if (fd == -ENOENT) {
                *ret = (struct record) { .path = TAKE_PTR(path) };
                return 0;
        }
        if (fd < 0)
                return fd;
        /* The file may grow after fstat(): fileio_read_fd() caps the read itself too. */
        r = (uint64_t) st.st_size > t->max_bytes ? -EFBIG
                                                 : fileio_read_fd(fd, t->max_bytes, (size_t) st.st_size, false,
                                                                  &text, &size);
        if (r == -EFBIG)
                return log_internal(level, r, "%s is larger than %zu bytes, refusing", path, t->max_bytes);
        if (r < 0)
                return log_internal(level, r, "Failed to read %s: %m", path);
        *ret = (struct record) { .path = TAKE_PTR(path), .text = TAKE_PTR(text), .size = size };
        return 0;
}

/* The JSON in rec's text, its top level checked; -EBADMSG, logged. */
static int record_parse(const struct record_type *t, struct record *rec) {
        json_error_t err;

        rec->root = json_loadb(rec->text, rec->size, JSON_REJECT_DUPLICATES, &err);
        if (!rec->root)
                return log_error_errno(-EBADMSG, "%s:%d:%d: %s", rec->path, err.line, err.column, err.text);
        if (!json_is_integer(json_object_get(rec->root, "version")) ||
            json_integer_value(json_object_get(rec->root, "version")) != t->version)
                return log_error_errno(-EBADMSG, "%s: not a version %d %s (\"version\" is missing or not %d)",
                                       rec->path, t->version, t->what, t->version);
        rec->list = t->list ? json_object_get(rec->root, t->list) : NULL;
        if (t->list && !json_is_array(rec->list))
                return log_error_errno(-EBADMSG, "%s: not a version %d %s (\"%s\" is missing or not an array)",
                                       rec->path, t->version, t->what, t->list);
        return 0;
}

int record_load(const struct record_type *t, const char *directory,
                int (*parse)(void *userdata, const struct record *rec), void *userdata) {
        _cleanup_(record_done) struct record rec = {};
        int r;

        r = record_read_text(t, directory, LOG_LEVEL_ERR, &rec);
        if (r < 0 || !rec.text)
                return r;
        r = record_parse(t, &rec);
        if (r >= 0)
                r = parse(userdata, &rec);
        return r < 0 ? r : 1;
}

/* A record larger than its reader takes would be written once and never loaded again. */
int record_write_text(const struct record_type *t, const char *directory, const char *text) {
        _cleanup_free_ char *path = NULL;
        size_t size = strlen(text);

        if (size > t->max_bytes)
                return -EFBIG;
        path = record_path(t, directory);
        return path ? fileio_write_atomic(path, text, size, 0600) : -ENOMEM;
}

struct bounded_fill {
        const struct record_type *type;
        fileio_fill_fn fill;
        void *userdata;
};

static int fill_bounded(FILE *f, void *userdata) {
        const struct bounded_fill *b = userdata;
        int r = b->fill(f, b->userdata);
        off_t written;

        if (r < 0)
                return r;
        written = ftello(f);
        if (written < 0)
                return negative_errno();
        return (uint64_t) written > b->type->max_bytes ? -EFBIG : 0;
}

int record_write_with(const struct record_type *t, const char *directory, fileio_fill_fn fill, void *userdata) {
        _cleanup_free_ char *path = NULL;
        struct bounded_fill b = { .type = t, .fill = fill, .userdata = userdata };

        path = record_path(t, directory);
        return path ? fileio_write_atomic_with(path, 0600, fill_bounded, &b) : -ENOMEM;
}

int record_save(const struct record_type *t, const char *directory, bool *dirty,
                json_t *(*new_root)(const void *userdata), const void *userdata) {
        _cleanup_free_ char *text = NULL;
        json_t *root;
        int r;

        if (dirty && !*dirty)
                return 0;
        root = new_root(userdata);
        text = root ? json_dumps(root, JSON_COMPACT) : NULL;
        json_decref(root);
        if (!text)
                return -ENOMEM;
        r = record_write_text(t, directory, text);
        if (r < 0)
                return r;
        if (dirty)
                *dirty = false;
        return 0;
}

struct list_fill {
        const struct record_type *type;
        const struct hashmap *map;
        json_t *(*entry_to_json)(const void *entry);
        json_t *more;
};

static int dump_json(const json_t *j, FILE *f) {
        return json_dumpf(j, f, JSON_COMPACT | JSON_ENCODE_ANY) < 0 ? -EIO : 0;
}

/* "key":value, for each member of more. */
static int fill_members(FILE *f, json_t *more) {
        const char *key;
        json_t *value;

        json_object_foreach(more, key, value) {
                json_t *k = json_string(key);
                int r = k ? dump_json(k, f) : -ENOMEM;

                json_decref(k);
                if (r < 0)
                        return r;
                if (fputc(':', f) == EOF || dump_json(value, f) < 0 || fputc(',', f) == EOF)
                        return -EIO;
        }
        return 0;
}

/* The record, one entry's JSON at a time: never the whole tree or text in memory. */
static int fill_list(FILE *f, void *userdata) {
        const struct list_fill *l = userdata;
        void *entry;
        size_t i = 0;
        bool first = true;
        int r;

        if (fprintf(f, "{\"version\":%d,", l->type->version) < 0)
                return -EIO;
        r = fill_members(f, l->more);
        if (r < 0)
                return r;
        /* The list's name is one of ours, plain ASCII. */
        if (fprintf(f, "\"%s\":[", l->type->list) < 0)
                return -EIO;
        while (hashmap_iterate(l->map, &i, NULL, &entry)) {
                json_t *j = l->entry_to_json(entry);

                r = !j ? -ENOMEM : !first && fputc(',', f) == EOF ? -EIO : dump_json(j, f);
                json_decref(j);
                if (r < 0)
                        return r;
                first = false;
        }
        return fputs("]}", f) == EOF ? -EIO : 0;
}

int record_save_list(const struct record_type *t, const char *directory, bool *dirty, const struct hashmap *map,
                     json_t *(*entry_to_json)(const void *entry), json_t *more) {
        struct list_fill l = { .type = t, .map = map, .entry_to_json = entry_to_json, .more = more };
        int r;

        if (!*dirty)
                return 0;
        r = record_write_with(t, directory, fill_list, &l);
        if (r < 0)
                return r;
        *dirty = false;
        return 0;
}
