/* LD_PRELOAD shim for the integration tests: CLOCK_BOOTTIME as the process sees it runs ahead by
 * the number of seconds in the file $KR_BOOTTIME_SHIFT_FILE (read at every call; none: 0). Lets a
 * test show what a daemon does an hour later without waiting an hour; the wall clock (request
 * signatures) and CLOCK_MONOTONIC (timers) are left alone. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static long shift_seconds(void) {
        const char *path = getenv("KR_BOOTTIME_SHIFT_FILE");
        long s = 0;
        FILE *f;

        if (!path || !(f = fopen(path, "re")))
                return 0;
        if (fscanf(f, "%ld", &s) != 1)
                s = 0;
        fclose(f);
        return s;
}

int clock_gettime(clockid_t id, struct timespec *ts) {
        static int (*real)(clockid_t, struct timespec *);
        int r;

        if (!real)
                real = (int (*)(clockid_t, struct timespec *)) dlsym(RTLD_NEXT, "clock_gettime");
        r = real(id, ts);
        if (r == 0 && id == CLOCK_BOOTTIME)
                ts->tv_sec += shift_seconds();
        return r;
}
