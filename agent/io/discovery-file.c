/* The discovery memory in StateDirectory/discovery.json, replaced atomically on every save. */
#include <fcntl.h>

#include "base/fileio.h"
#include "base/log.h"
#include "io/discovery-file.h"

#define DISCOVERY_FILE "discovery.json"
/* Far more than any fleet needs (about 30 bytes a key pair). */
#define DISCOVERY_FILE_MAX_BYTES ((size_t) 16 * 1024 * 1024)

/* Reads path into a new memory; -ENOENT when it is missing, other errors logged. */
static int discovery_file_read(const char *path, struct discovery_memory **ret) {
        _cleanup_(discovery_memory_freep) struct discovery_memory *m = NULL;
        _cleanup_free_ char *text = NULL;
        _cleanup_close_ int fd = -1;
        const char *error = NULL;
        size_t size = 0;
        int r;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW);
        if (fd < 0)
                return errno == ENOENT ? -ENOENT : log_warning_errno(negative_errno(), "Cannot open %s: %m", path);
        r = fileio_read_fd(fd, DISCOVERY_FILE_MAX_BYTES, 0, false, &text, &size);
        if (r < 0)
                return r == -ENOMEM ? r : log_warning_errno(r, "Cannot read %s: %m", path);
        r = discovery_memory_new(&m);
        if (r < 0)
                return r;
        r = discovery_memory_from_json(m, text, size, &error);
        if (r < 0)
                return r == -ENOMEM ? r : log_warning_errno(r, "%s is corrupt: %s", path, error);
        *ret = TAKE_PTR(m);
        return 0;
}

int discovery_file_load(const char *directory, struct discovery_memory **ret) {
        _cleanup_free_ char *path = NULL;
        int r;

        if (asprintf(&path, "%s/" DISCOVERY_FILE, directory) < 0)
                return -ENOMEM;
        r = discovery_file_read(path, ret);
        if (r == -ENOMEM)
                return r;
        if (r >= 0)
                return 0;
        if (r != -ENOENT)
                log_warning("Ignoring %s: the region sizes it held are probed again and the file is replaced "
                            "after the next pass", path);
        return discovery_memory_new(ret);
}

int discovery_file_save(const char *directory, struct discovery_memory *m) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        int r;

        if (!discovery_memory_changed(m))
                return 0;
        r = discovery_memory_to_json(m, &text);
        if (r < 0)
                return r;
        if (asprintf(&path, "%s/" DISCOVERY_FILE, directory) < 0)
                return -ENOMEM;
        r = fileio_write_atomic(path, text, strlen(text), 0600);
        if (r < 0)
                return r;
        discovery_memory_mark_saved(m);
        return 0;
}
