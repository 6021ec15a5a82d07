/* One keyrevoked at a time per StateDirectory: an flock on its lock file, which names the holder. */
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "base/fileio.h"
#include "base/log.h"
#include "io/statelock.h"

/* Longest pid, command line and unit name read about the holder. */
#define STATELOCK_TEXT_MAX 256U

/* Reads at most size - 1 bytes of path into buf (NUL-terminated); NUL bytes become spaces and
 * trailing whitespace is cut. Empty when it cannot be read. */
static void read_text(const char *path, char *buf, size_t size) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        ssize_t n = fd >= 0 ? read(fd, buf, size - 1) : -1;

        if (n < 0)
                n = 0;
        for (ssize_t i = 0; i < n; i++)
                if (buf[i] == '\0')
                        buf[i] = ' ';
        while (n > 0 && strchr(" \n\t", buf[n - 1]))
                n--;
        buf[n] = '\0';
}

/* The unit of pid from its cgroup path ("0::/system.slice/keyrevoked.service"), or "". */
static void holder_unit(const char *pid, char *buf, size_t size) {
        char path[64], cgroup[STATELOCK_TEXT_MAX];
        const char *slash;

        snprintf(path, sizeof(path), "/proc/%s/cgroup", pid);
        read_text(path, cgroup, sizeof(cgroup));
        slash = strrchr(cgroup, '/');
        snprintf(buf, size, "%s", slash && strstr(slash, ".service") ? slash + 1 : "");
}

/* Logs who holds the lock of directory: the pid the lock file names, its command line and unit. */
static int log_holder(const char *directory, int fd) {
        char pid[32], path[64], cmdline[STATELOCK_TEXT_MAX], unit[STATELOCK_TEXT_MAX];
        ssize_t n = pread(fd, pid, sizeof(pid) - 1, 0);

        pid[n > 0 ? n : 0] = '\0';
        pid[strspn(pid, "0123456789")] = '\0';
        if (!*pid)
                return log_error_errno(-EBUSY, "%s is in use by another keyrevoked; refusing to run a second one "
                                               "on it (stop the service first; keyrevokectl plan looks without "
                                               "changing anything)", directory);
        snprintf(path, sizeof(path), "/proc/%s/cmdline", pid);
        read_text(path, cmdline, sizeof(cmdline));
        holder_unit(pid, unit, sizeof(unit));
        return log_error_errno(-EBUSY, "%s is in use by pid %s (%s%s%s); refusing to run a second keyrevoked on "
                                       "it (stop %s first; keyrevokectl plan looks without changing anything)",
                               directory, pid, *cmdline ? cmdline : "exited", *unit ? ", " : "", unit,
                               *unit ? unit : "it");
}

/* Replaces the lock file's content with our pid. */
static int write_pid(int fd) {
        char pid[32];
        int n = snprintf(pid, sizeof(pid), "%ld\n", (long) getpid());

        if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t) n, 0) != n)
                return negative_errno();
        return 0;
}

int statelock_acquire(const char *directory, int *ret_fd) {
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int fd = -1;
        int r;

        r = fileio_ensure_directory(directory, 0700);
        if (r < 0)
                return log_error_errno(r, "Cannot create the state directory %s: %m", directory);
        if (asprintf(&path, "%s/" STATELOCK_FILE, directory) < 0)
                return log_error_errno(-ENOMEM, "Out of memory");
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK, 0600);
        if (fd < 0)
                return log_error_errno(negative_errno(), "Cannot open the lock file %s: %m", path);
        if (flock(fd, LOCK_EX | LOCK_NB) < 0)
                return errno == EWOULDBLOCK ? log_holder(directory, fd)
                                            : log_error_errno(negative_errno(), "Cannot lock %s: %m", path);
        r = fileio_adopt_owner(fd, directory);
        if (r >= 0)
                r = write_pid(fd);
        if (r < 0)
                return log_error_errno(r, "Cannot write the lock file %s: %m", path);
        *ret_fd = TAKE_FD(fd);
        return 0;
}
