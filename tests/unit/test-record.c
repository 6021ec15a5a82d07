/* Unit tests for record.c, the reader and writer of the state directory's record files: missing,
 * too big, not JSON (line and column in the message), symlinks and other non-regular files
 * refused, the version and list checked, round trips, mode 0600; the streamed writer bounded by
 * what the reader takes, and a failing writer leaving the old file and no temp file behind. */
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "io/record.h"
#include "tests.h"

static char tmpdir[] = "/tmp/test-record.XXXXXX";

static const struct record_type sample_record = {
        .name = "sample.json",
        .what = "sample record",
        .max_bytes = 64,
        .version = 3,
        .list = "items",
};

static char *path_in(const char *name) {
        char *p;

        CHECK(asprintf(&p, "%s/%s", tmpdir, name) > 0);
        return p;
}

static void write_sample(const char *text, mode_t mode) {
        _cleanup_free_ char *path = path_in(sample_record.name);
        int fd;

        (void) unlink(path);
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
        CHECK(fd >= 0);
        CHECK(write(fd, text, strlen(text)) == (ssize_t) strlen(text));
        close(fd);
}

/* The log lines written to stderr between capture_start() and capture_end() (freed by the caller). */
static int saved_stderr = -1;

static void capture_start(void) {
        _cleanup_free_ char *path = path_in("stderr");
        int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

        CHECK(fd >= 0);
        fflush(stderr);
        saved_stderr = dup(STDERR_FILENO);
        CHECK(saved_stderr >= 0 && dup2(fd, STDERR_FILENO) == STDERR_FILENO);
        close(fd);
}

static char *capture_end(void) {
        _cleanup_free_ char *path = path_in("stderr");
        char *text = calloc(1, 4096);
        int fd;

        fflush(stderr);
        CHECK(dup2(saved_stderr, STDERR_FILENO) == STDERR_FILENO);
        close(saved_stderr);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        CHECK(text && fd >= 0 && read(fd, text, 4095) >= 0);
        close(fd);
        return text;
}

/* What parse_cb() saw: how often it was called, the size and a copy of the root. */
static struct {
        unsigned calls;
        size_t size;
        json_t *root;
        int ret;
} parsed;

static int parse_cb(void *userdata, const struct record *rec) {
        CHECK(userdata == &parsed);
        parsed.calls++;
        parsed.size = rec->size;
        json_decref(parsed.root);
        parsed.root = json_deep_copy(rec->root);
        CHECK(rec->list == json_object_get(rec->root, "items") && json_is_array(rec->list));
        CHECK(strstr(rec->path, "/sample.json"));
        return parsed.ret;
}

static int load_sample(const char *directory) {
        parsed.calls = 0;
        return record_load(&sample_record, directory, parse_cb, &parsed);
}

/* record_load() of the sample fails with ret before parse, logging a line that contains message. */
static void check_load_fails(const char *what, int ret, const char *message) {
        _cleanup_free_ char *log = NULL;

        capture_start();
        CHECK_INTEQ(load_sample(tmpdir), ret);
        log = capture_end();
        CHECK_INTEQ(parsed.calls, 0);
        if (!strstr(log, message)) {
                fprintf(stderr, "  %s: \"%s\" not in the log:\n%s", what, message, log);
                tests_failed++;
        }
}

static void test_missing(void) {
        _cleanup_(record_done) struct record text = {};
        _cleanup_free_ char *path = path_in(sample_record.name);

        (void) unlink(path);
        CHECK_INTEQ(load_sample(tmpdir), 0);
        CHECK_INTEQ(parsed.calls, 0);
        /* A missing state directory holds no record either. */
        CHECK_INTEQ(load_sample("/nonexistent-keyrevoke-dir"), 0);
        CHECK_INTEQ(parsed.calls, 0);
        CHECK_INTEQ(record_read_text(&sample_record, tmpdir, LOG_LEVEL_ERR, &text), 0);
        CHECK_STREQ(text.path, path);
        CHECK(!text.text && !text.root && !text.list);
}

static void test_refused(void) {
        _cleanup_free_ char *path = path_in(sample_record.name), *target = path_in("target.json"),
                            *line_column = NULL;

        /* 65 bytes for a limit of 64 */
        write_sample("{\"version\":3,\"items\":[\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"]}", 0600);
        check_load_fails("too big", -EFBIG, "sample.json is larger than 64 bytes");
        /* 64 bytes are read; what parse returns is the result */
        write_sample("{\"version\":3,\"items\":[\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"]}", 0600);
        CHECK_INTEQ(load_sample(tmpdir), 1);
        CHECK_INTEQ(parsed.calls, 1);
        CHECK_INTEQ(parsed.size, 64);
        CHECK_INTEQ(json_array_size(json_object_get(parsed.root, "items")), 1);
        parsed.ret = -EBADMSG;
        CHECK_INTEQ(load_sample(tmpdir), -EBADMSG);
        CHECK_INTEQ(parsed.calls, 1);
        parsed.ret = 0;

        write_sample("{\"version\":3,\n \"items\":[1,]}", 0600);
        CHECK(asprintf(&line_column, "%s:2:13: unexpected token near ']'", path) > 0);
        check_load_fails("not JSON", -EBADMSG, line_column);
        write_sample("{\"version\":3,\"items\":[],\"items\":[]}", 0600);
        check_load_fails("duplicate key", -EBADMSG, "duplicate object key");
        write_sample("{\"version\":2,\"items\":[]}", 0600);
        check_load_fails("version", -EBADMSG, "not a version 3 sample record (\"version\" is missing or not 3)");
        write_sample("{\"version\":\"3\",\"items\":[]}", 0600);
        check_load_fails("version string", -EBADMSG, "(\"version\" is missing or not 3)");
        write_sample("[]", 0600);
        check_load_fails("array", -EBADMSG, "(\"version\" is missing or not 3)");
        write_sample("{\"version\":3,\"items\":{}}", 0600);
        check_load_fails("list", -EBADMSG, "not a version 3 sample record (\"items\" is missing or not an array)");

        /* A symlink is not followed, even to a valid record. */
        CHECK(unlink(path) == 0);
        write_sample("{\"version\":3,\"items\":[]}", 0600);
        CHECK(rename(path, target) == 0);
        CHECK(symlink(target, path) == 0);
        check_load_fails("symlink", -ELOOP, "sample.json is a symbolic link, refusing");
        CHECK(unlink(path) == 0);

        CHECK(mkfifo(path, 0600) == 0); /* O_NONBLOCK: opening it does not wait for a writer */
        check_load_fails("fifo", -EBADMSG, "sample.json: not a regular file");
        CHECK(unlink(path) == 0);
        CHECK(mkdir(path, 0700) == 0);
        check_load_fails("directory", -EBADMSG, "sample.json: not a regular file");
        CHECK(rmdir(path) == 0);
}

static mode_t sample_mode(void) {
        _cleanup_free_ char *path = path_in(sample_record.name);
        struct stat st;

        CHECK(lstat(path, &st) == 0);
        CHECK(S_ISREG(st.st_mode));
        return st.st_mode & 07777;
}

static char *read_sample(void) {
        _cleanup_(record_done) struct record text = {};

        CHECK_INTEQ(record_read_text(&sample_record, tmpdir, LOG_LEVEL_ERR, &text), 0);
        return TAKE_PTR(text.text);
}

static json_t *entry_to_json(const void *entry) {
        return json_string(entry);
}

static json_t *no_entry(const void *entry) {
        CHECK(entry);
        return NULL;
}

static json_t *no_root(const void *userdata) {
        CHECK(!userdata);
        return NULL;
}

static void test_round_trip(void) {
        _cleanup_(hashmap_freep) struct hashmap *map = NULL;
        _cleanup_free_ char *path = path_in(sample_record.name), *text = NULL;
        json_t *expected = json_pack("{s:i, s:[s]}", "version", 3, "items", "ü \"quoted\""), *more;
        bool dirty = false;
        mode_t old_umask;

        CHECK(hashmap_new(&map) == 0 && hashmap_put(map, "key", (void *) "ü \"quoted\"") == 0);
        /* Not dirty: nothing written. */
        (void) unlink(path);
        CHECK_INTEQ(record_save_list(&sample_record, tmpdir, &dirty, map, entry_to_json, NULL), 0);
        CHECK(access(path, F_OK) < 0 && errno == ENOENT);

        /* An existing file of another kind, even a symlink, is replaced by a 0600 one; umask 0
         * changes nothing. */
        CHECK(symlink("/nonexistent-target", path) == 0);
        old_umask = umask(0);
        dirty = true;
        CHECK_INTEQ(record_save_list(&sample_record, tmpdir, &dirty, map, entry_to_json, NULL), 0);
        umask(old_umask);
        CHECK(!dirty);
        CHECK_INTEQ(sample_mode(), 0600);
        text = read_sample();
        CHECK_STREQ(text, "{\"version\":3,\"items\":[\"ü \\\"quoted\\\"\"]}");
        CHECK_INTEQ(load_sample(tmpdir), 1);
        CHECK(parsed.calls == 1 && json_equal(parsed.root, expected));
        json_decref(expected);

        write_sample("text as given", 0644);
        CHECK_INTEQ(record_write_text(&sample_record, tmpdir, "{\"version\":3,\"items\":[]}\n"), 0);
        CHECK_INTEQ(sample_mode(), 0600);
        free(text);
        text = read_sample();
        CHECK_STREQ(text, "{\"version\":3,\"items\":[]}\n");

        /* Failures leave the file and the dirty flag alone: an allocation that failed (no root),
         * a directory that is missing. */
        dirty = true;
        CHECK_INTEQ(record_save(&sample_record, tmpdir, &dirty, no_root, NULL), -ENOMEM);
        CHECK(dirty);
        CHECK_INTEQ(record_save_list(&sample_record, tmpdir, &dirty, map, no_entry, NULL), -ENOMEM);
        CHECK(dirty);
        CHECK_INTEQ(record_save_list(&sample_record, "/nonexistent-keyrevoke-dir", &dirty, map, entry_to_json, NULL),
                    -ENOENT);
        CHECK(dirty);
        free(text);
        text = read_sample();
        CHECK_STREQ(text, "{\"version\":3,\"items\":[]}\n");

        /* More members of the root come before the list, each one as it is. */
        more = json_pack("{s:{s:i}}", "k", "a\"b", 1);
        CHECK_INTEQ(record_save_list(&sample_record, tmpdir, &dirty, map, entry_to_json, more), 0);
        json_decref(more);
        free(text);
        text = read_sample();
        CHECK_STREQ(text, "{\"version\":3,\"k\":{\"a\\\"b\":1},\"items\":[\"ü \\\"quoted\\\"\"]}");
        CHECK_INTEQ(load_sample(tmpdir), 1);
        CHECK(unlink(path) == 0);
}

/* A record without a list: only its version is checked; saved whenever asked (no dirty flag). */
static const struct record_type flat_record = {
        .name = "flat.json",
        .what = "flat record",
        .max_bytes = 64,
        .version = 1,
};

static int flat_parse(void *userdata, const struct record *rec) {
        CHECK(!rec->list);
        *(json_int_t *) userdata = json_integer_value(json_object_get(rec->root, "n"));
        return 0;
}

static json_t *flat_to_json(const void *userdata) {
        return json_pack("{s:i, s:I}", "version", flat_record.version, "n", *(const json_int_t *) userdata);
}

static void test_flat(void) {
        _cleanup_free_ char *path = path_in(flat_record.name), *log = NULL;
        json_int_t n = 42, back = 0;

        CHECK_INTEQ(record_load(&flat_record, tmpdir, flat_parse, &back), 0);
        CHECK_INTEQ(record_save(&flat_record, tmpdir, NULL, flat_to_json, &n), 0);
        CHECK_INTEQ(record_load(&flat_record, tmpdir, flat_parse, &back), 1);
        CHECK_INTEQ(back, 42);
        CHECK(unlink(path) == 0);
        n = 7;
        CHECK_INTEQ(record_save(&flat_record, tmpdir, NULL, flat_to_json, &n), 0);
        CHECK_INTEQ(record_load(&flat_record, tmpdir, flat_parse, &back), 1);
        CHECK_INTEQ(back, 7);

        CHECK(unlink(path) == 0);
        CHECK(symlink("/dev/null", path) == 0);
        capture_start();
        CHECK_INTEQ(record_load(&flat_record, tmpdir, flat_parse, &back), -ELOOP);
        log = capture_end();
        CHECK(strstr(log, "flat.json is a symbolic link, refusing"));
        CHECK(unlink(path) == 0);
}

/* Writes the text it is given in pieces of 8 bytes, then returns the error it is given. */
struct stream_fill {
        const char *text;
        int ret;
};

static int stream_cb(FILE *f, void *userdata) {
        const struct stream_fill *sf = userdata;

        for (const char *p = sf->text; *p; p += MIN(strlen(p), (size_t) 8))
                CHECK(fwrite(p, 1, MIN(strlen(p), (size_t) 8), f) == MIN(strlen(p), (size_t) 8));
        return sf->ret;
}

/* Every file in tmpdir, hidden temp files too. */
static unsigned files_in_tmpdir(void) {
        DIR *d = opendir(tmpdir);
        struct dirent *de;
        unsigned n = 0;

        CHECK(d);
        while ((de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        n++;
        closedir(d);
        return n;
}

static void test_streamed(void) {
        const char *good = "{\"version\":3,\"items\":[1,2]}";
        struct stream_fill ok = { .text = good }, failing = { .text = "{\"version\":3,", .ret = -EIO },
                           big = { .text = "{\"version\":3,\"items\":[11111111111111111111111111111111111111111]}" };
        unsigned files;

        CHECK(strlen(big.text) > sample_record.max_bytes);
        CHECK_INTEQ(record_write_with(&sample_record, tmpdir, stream_cb, &ok), 0);
        CHECK_INTEQ(load_sample(tmpdir), 1);
        CHECK_INTEQ(parsed.size, strlen(good));
        files = files_in_tmpdir();

        /* Neither a failing writer nor a record its reader would refuse replaces the file. */
        CHECK_INTEQ(record_write_with(&sample_record, tmpdir, stream_cb, &failing), -EIO);
        CHECK_INTEQ(record_write_with(&sample_record, tmpdir, stream_cb, &big), -EFBIG);
        CHECK_INTEQ(record_write_text(&sample_record, tmpdir, big.text), -EFBIG);
        CHECK_INTEQ(files_in_tmpdir(), files);
        CHECK_INTEQ(load_sample(tmpdir), 1);
        CHECK_INTEQ(parsed.size, strlen(good));
}

int main(void) {
        _cleanup_free_ char *cmd = NULL;

        CHECK(mkdtemp(tmpdir));
        test_missing();
        test_refused();
        test_round_trip();
        test_flat();
        test_streamed();
        json_decref(parsed.root);
        CHECK(asprintf(&cmd, "rm -rf '%s'", tmpdir) > 0);
        CHECK(system(cmd) == 0);
        TESTS_DONE();
}
