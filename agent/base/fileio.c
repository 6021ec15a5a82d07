/* Whole-file reads with a size limit, and writes that a crash can never leave half done. */
#include <fcntl.h>
#include <libgen.h>
#include <sys/stat.h>

#include "base/fileio.h"

static int fsync_directory(const char *directory) {
        _cleanup_close_ int fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (fd < 0 || fsync(fd) < 0)
                return negative_errno();
        return 0;
}

int fileio_adopt_owner(int fd, const char *directory) {
        struct stat st;

        if (geteuid() != 0)
                return 0;
        if (stat(directory, &st) < 0)
                return negative_errno();
        if (st.st_uid == 0 || fchown(fd, st.st_uid, st.st_gid) >= 0)
                return 0;
        return negative_errno();
}

int fileio_ensure_directory(const char *directory, mode_t mode) {
        struct stat st;

        if (mkdir(directory, mode) >= 0)
                return 0;
        if (errno != EEXIST)
                return negative_errno();
        if (stat(directory, &st) < 0)
                return negative_errno();
        return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

/* Fills the file behind fd (owner, mode, what fill writes, fsync) and closes it. */
static int write_temp(int fd, const char *directory, mode_t mode, fileio_fill_fn fill, void *userdata) {
        int r = fileio_adopt_owner(fd, directory);
        FILE *f;

        if (r >= 0 && fchmod(fd, mode) < 0)
                r = negative_errno();
        f = r >= 0 ? fdopen(fd, "w") : NULL;
        if (!f) {
                r = r < 0 ? r : negative_errno();
                (void) close(fd);
                return r;
        }
        /* Large records are written as they are formatted, never held whole in memory. */
        (void) setvbuf(f, NULL, _IOFBF, 64 * 1024);
        r = fill(f, userdata);
        if (r >= 0 && fflush(f) != 0)
                r = negative_errno();
        if (r >= 0 && fsync(fileno(f)) < 0)
                r = negative_errno();
        if (fclose(f) != 0 && r >= 0)
                r = negative_errno();
        return r;
}

int fileio_write_atomic_with(const char *path, mode_t mode, fileio_fill_fn fill, void *userdata) {
        _cleanup_free_ char *dir_copy = strdup(path), *base_copy = strdup(path), *temp = NULL;
        const char *directory, *base;
        int fd, r;

        if (!dir_copy || !base_copy)
                return -ENOMEM;
        directory = dirname(dir_copy);
        base = basename(base_copy);
        if (asprintf(&temp, "%s/.%s.XXXXXX", directory, base) < 0)
                return -ENOMEM;
        fd = mkostemp(temp, O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        r = write_temp(fd, directory, mode, fill, userdata);
        if (r >= 0 && rename(temp, path) < 0)
                r = negative_errno();
        if (r < 0) {
                (void) unlink(temp);
                return r;
        }
        return fsync_directory(directory);
}

struct buffer {
        const char *data;
        size_t size;
};

static int fill_buffer(FILE *f, void *userdata) {
        const struct buffer *b = userdata;

        if (fwrite(b->data, 1, b->size, f) != b->size)
                return errno > 0 ? -errno : -EIO;
        return 0;
}

int fileio_write_atomic(const char *path, const char *data, size_t size, mode_t mode) {
        struct buffer b = { .data = data, .size = size };

        return fileio_write_atomic_with(path, mode, fill_buffer, &b);
}

/* Reads until EOF into *buf, growing it up to full bytes; -EFBIG when even that fills up. */
static int read_loop(int fd, size_t full, char **buf, size_t *allocated, size_t *n) {
        for (;;) {
                ssize_t k;

                if (*n + 1 == *allocated) {
                        size_t a = *allocated * 2 < full ? *allocated * 2 : full;
                        char *nb;

                        if (*allocated == full)
                                return -EFBIG;
                        nb = realloc(*buf, a);
                        if (!nb)
                                return -ENOMEM;
                        *buf = nb;
                        *allocated = a;
                }
                k = read(fd, *buf + *n, *allocated - 1 - *n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return negative_errno();
                if (k == 0)
                        return 0;
                *n += (size_t) k;
        }
}

int fileio_read_fd(int fd, size_t max, size_t size_hint, bool wipe, char **ret, size_t *ret_len) {
        /* max bytes, one more to notice a larger file, and the NUL */
        size_t full = max + 2, n = 0;
        size_t allocated = wipe || size_hint >= max ? full : size_hint + 2;
        char *buf = malloc(allocated);
        int r;

        if (!buf)
                return -ENOMEM;
        r = read_loop(fd, full, &buf, &allocated, &n);
        if (r < 0) {
                if (wipe)
                        explicit_bzero(buf, allocated);
                free(buf);
                return r;
        }
        buf[n] = '\0';
        *ret = buf;
        if (ret_len)
                *ret_len = n;
        return 0;
}
