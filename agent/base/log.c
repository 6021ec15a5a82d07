/* Operator-facing diagnostic log lines on stderr. */
#include <stdarg.h>
#include <sys/stat.h>

#include "base/log.h"

static enum log_level max_level = LOG_LEVEL_INFO;

void log_set_max_level(enum log_level level) {
        max_level = level;
}

/* True when stderr is connected to journald's stream socket ($JOURNAL_STREAM names it). */
static bool stderr_is_journal(void) {
        static int cached = -1;
        const char *e;
        struct stat st;
        unsigned long dev, ino;

        if (cached >= 0)
                return cached;
        e = getenv("JOURNAL_STREAM");
        cached = e && sscanf(e, "%lu:%lu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) >= 0 &&
                 st.st_dev == dev && st.st_ino == ino;
        return cached;
}

int log_internal(enum log_level level, int error, const char *format, ...) {
        int saved_errno = errno;
        va_list ap;

        if (level > max_level)
                return error < 0 ? error : -error;
        if (error != 0)
                errno = error < 0 ? -error : error;
        if (stderr_is_journal())
                fprintf(stderr, "<%d>", (int) level);
        va_start(ap, format);
        vfprintf(stderr, format, ap);
        va_end(ap);
        fputc('\n', stderr);
        errno = saved_errno;
        return error < 0 ? error : -error;
}
