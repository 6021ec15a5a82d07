/* Unit tests for window.c: Window= parsing and finding open/next windows, across DST changes.
 * Expected instants were computed independently with GNU date, e.g.
 * `TZ=Europe/Berlin date -d '2025-03-30 03:00' +%s`; comments show them as local time. */
#include "logic/window.h"

#include "tests.h"

#define NO_WINDOW 0

static const struct {
        const char *value;
        uint8_t days;
        unsigned start_minute, end_minute;
} parse_ok[] = {
        { "02:00-04:00", 0x7f, 120, 240 },
        { "Sat,Sun 02:00-04:00", 0x60, 120, 240 },
        { "Mon..Fri 08:00-17:30", 0x1f, 480, 1050 },
        { "Fri..Mon 23:00-01:00", 0x71, 1380, 60 },            /* range wrapping over the week end */
        { "sun..sun 00:00-00:00", 0x40, 0, 0 },                /* case-insensitive; 24 hours */
        { "  Mon, Wed..Thu 12:00-12:01  ", 0x0d, 720, 721 },   /* blanks around items */
        { "Tue,Tue 23:59-00:00", 0x02, 1439, 0 },
};

static const char *const parse_bad[] = {
        "",
        "   ",
        "Mox 02:00-04:00",      /* bad day */
        "Mon..Xyz 02:00-04:00",
        "Mon.. 02:00-04:00",
        "Mon,,Tue 02:00-04:00",
        "Mon, 02:00-04:00",
        "Mon Tue 02:00-04:00",  /* days must be comma-separated */
        "25:00-26:00",          /* hour out of range */
        "02:60-03:00",
        "2:00-04:00",           /* exactly HH:MM */
        "02:00 04:00",          /* missing dash */
        "02:00-04:00x",         /* trailing junk */
        "Mon 02:00-04:00 junk",
        "02:00-",
        "-02:00",
        "02:00-04:00-05:00",
        "always now",
        "Always",
};

static void test_parse(void) {
        for (size_t i = 0; i < ELEMENTSOF(parse_ok); i++) {
                struct window_set ws = {};
                const char *error = NULL;

                CHECK_INTEQ(window_set_add(&ws, parse_ok[i].value, &error), 0);
                CHECK_INTEQ(ws.n, 1);
                if (ws.n != 1)
                        continue;
                CHECK_INTEQ(ws.items[0].days, parse_ok[i].days);
                CHECK_INTEQ(ws.items[0].start_minute, parse_ok[i].start_minute);
                CHECK_INTEQ(ws.items[0].end_minute, parse_ok[i].end_minute);
                window_set_done(&ws);
        }
        for (size_t i = 0; i < ELEMENTSOF(parse_bad); i++) {
                struct window_set ws = {};
                const char *error = NULL;

                CHECK_INTEQ(window_set_add(&ws, parse_bad[i], &error), -EINVAL);
                CHECK(error && *error);
                CHECK(window_set_is_empty(&ws));
                if (!error)
                        fprintf(stderr, "no error for '%s'\n", parse_bad[i]);
                window_set_done(&ws);
        }
}

static void test_limits(void) {
        struct window_set ws = {};
        const char *error = NULL;
        size_t n = 0;

        CHECK(window_set_is_empty(&ws));
        while (window_set_add(&ws, "Mon 01:00-02:00", &error) == 0)
                n++;
        CHECK_INTEQ(n, 64);
        CHECK(error && strstr(error, "too many"));
        CHECK(!window_set_is_empty(&ws));
        window_set_done(&ws);
        CHECK(window_set_is_empty(&ws));
        CHECK_INTEQ(ws.n, 0);
}

static const struct {
        const char *tz;
        const char *windows[3];
        int64_t now;
        int expected;
        int64_t start, end;
} find_cases[] = {
        /* Europe/Berlin spring forward, Sun 2025-03-30 02:00 CET -> 03:00 CEST. */
        /* Start inside the gap: skipped that day; the next one is a week later. */
        { "Europe/Berlin", { "Sun 02:15-02:45" }, 1743246000 /* Sat 12:00 CET */, 0,
          1743898500 /* Apr 6 02:15 CEST */, 1743900300 /* 02:45 CEST */ },
        { "Europe/Berlin", { "Sun 02:15-02:45" }, 1743295800 /* Sun 01:50 CET */, 0, 1743898500, 1743900300 },
        /* Start in the gap, end after it: skipped too, not moved to 03:00. */
        { "Europe/Berlin", { "Sun 02:30-03:30" }, 1743297000 /* Sun 03:10 CEST */, 0,
          1743899400 /* Apr 6 02:30 CEST */, 1743903000 /* 03:30 CEST */ },
        /* End inside the gap: the window ends at 03:00 CEST, 30 minutes long. */
        { "Europe/Berlin", { "Sun 01:30-02:30" }, 1743295200 /* 01:40 CET */, 1,
          1743294600 /* 01:30 CET */, 1743296400 /* 03:00 CEST */ },
        /* Crossing midnight into the short night. */
        { "Europe/Berlin", { "Sat 23:30-02:30" }, 1743294600, 1,
          1743287400 /* Sat 23:30 CET */, 1743296400 /* Sun 03:00 CEST */ },
        /* Europe/Berlin fall back, Sun 2025-10-26 03:00 CEST -> 02:00 CET. */
        /* Spanning the repeated hour: 3 wall-clock hours, 4 real ones. */
        { "Europe/Berlin", { "Sun 01:00-04:00" }, 1761442200, 1,
          1761433200 /* 01:00 CEST */, 1761447600 /* 04:00 CET */ },
        /* Ambiguous start: its first occurrence (CEST). */
        { "Europe/Berlin", { "Sun 02:30-03:30" }, 1761439500 /* 02:45 CEST */, 1,
          1761438600 /* 02:30 CEST */, 1761445800 /* 03:30 CET */ },
        /* America/New_York spring forward, Sun 2025-03-09 02:00 EST -> 03:00 EDT. */
        { "America/New_York", { "02:00-02:59" }, 1741500000 /* Sun 01:00 EST */, 0,
          1741586400 /* Mon 02:00 EDT */, 1741589940 /* Mon 02:59 EDT */ },
        /* America/New_York fall back, Sun 2025-11-02 02:00 EDT -> 01:00 EST. */
        { "America/New_York", { "Sun 00:30-02:30" }, 1762059600, 1,
          1762057800 /* 00:30 EDT */, 1762068600 /* 02:30 EST, 3 hours later */ },
        /* Ambiguous start and end: the first occurrences; the repeated hour is not reopened. */
        { "America/New_York", { "01:15-01:45" }, 1762060500 /* 01:15 EDT */, 1,
          1762060500, 1762062300 /* 01:45 EDT */ },
        { "America/New_York", { "01:15-01:45" }, 1762064400 /* 01:20 EST */, 0,
          1762150500 /* Mon 01:15 EST */, 1762152300 /* Mon 01:45 EST */ },
        /* Crossing midnight into a new week: Sunday's window ends Monday 01:00. */
        { "Europe/Berlin", { "Sun 23:00-01:00" }, 1748817000 /* Mon 2025-06-02 00:30 CEST */, 1,
          1748811600 /* Sun 23:00 CEST */, 1748818800 /* Mon 01:00 CEST */ },
        /* Asia/Shanghai (UTC+8, no DST): weekday nights, the Friday one ends Saturday. */
        { "Asia/Shanghai", { "Mon..Fri 22:00-06:00" }, 1749236400 /* Sat 2025-06-07 03:00 */, 1,
          1749218400 /* Fri 22:00 */, 1749247200 /* Sat 06:00 */ },
        { "Asia/Shanghai", { "Mon..Fri 22:00-06:00" }, 1749268800 /* Sat 12:00 */, 0,
          1749477600 /* Mon 2025-06-09 22:00 */, 1749506400 /* Tue 06:00 */ },
        { "Asia/Shanghai", { "Fri..Mon 03:00-04:00" }, 1749528000 /* Tue 2025-06-10 12:00 */, 0,
          1749754800 /* Fri 03:00 */, 1749758400 /* Fri 04:00 */ },
        /* Overlapping windows are one span. */
        { "Asia/Shanghai", { "Sat 02:00-04:00", "Sat 03:30-06:00" }, 1749239400 /* Sat 03:50 */, 1,
          1749232800 /* Sat 02:00 */, 1749247200 /* Sat 06:00 */ },
        /* So are touching ones, across midnight. */
        { "UTC", { "Tue 00:00-02:00", "Mon 22:00-00:00" }, 1748905200 /* Mon 2025-06-02 23:00 */, 1,
          1748901600 /* Mon 22:00 */, 1748916000 /* Tue 02:00 */ },
        /* Several windows: the earliest next one wins, whatever the order. */
        { "UTC", { "Wed 09:00-10:00", "Tue 10:00-11:00" }, 1748865600 /* Mon 12:00 */, 0,
          1748944800 /* Tue 10:00 */, 1748948400 /* Tue 11:00 */ },
        /* Boundaries: open at its start, closed at its end. */
        { "UTC", { "Tue 10:00-11:00" }, 1748944800, 1, 1748944800, 1748948400 },
        { "UTC", { "Tue 10:00-11:00" }, 1748948400, 0, 1748944800 + 7 * 86400, 1748948400 + 7 * 86400 },
        /* end == start: 24 hours. */
        { "UTC", { "Wed 05:00-05:00" }, 1749038400 /* Wed 2025-06-04 12:00 */, 1,
          1749013200 /* Wed 05:00 */, 1749099600 /* Thu 05:00 */ },
        /* "always" wins over any other window. */
        { "Asia/Shanghai", { "Sat 02:00-04:00", "always" }, 1749268800, 1, 1749268800, NO_WINDOW },
};

static void test_find(void) {
        for (size_t i = 0; i < ELEMENTSOF(find_cases); i++) {
                struct window_set ws = {};
                struct window_span span = {};
                const char *error = NULL;
                int r;

                for (size_t k = 0; k < ELEMENTSOF(find_cases[i].windows) && find_cases[i].windows[k]; k++)
                        CHECK_INTEQ(window_set_add(&ws, find_cases[i].windows[k], &error), 0);
                r = window_set_find(&ws, find_cases[i].tz, (uint64_t) find_cases[i].now * USEC_PER_SEC, &span);
                if (r != find_cases[i].expected)
                        fprintf(stderr, "case %zu: %s\n", i, find_cases[i].windows[0]);
                CHECK_INTEQ(r, find_cases[i].expected);
                CHECK_INTEQ(span.start_usec, (uint64_t) find_cases[i].start * USEC_PER_SEC);
                if (find_cases[i].end == NO_WINDOW)
                        CHECK(span.end_usec == UINT64_MAX);
                else
                        CHECK_INTEQ(span.end_usec, (uint64_t) find_cases[i].end * USEC_PER_SEC);
                window_set_done(&ws);
        }
}

/* The local zone is the process's: $TZ, which window_set_find() restores after using a named zone. */
static void test_local_zone(void) {
        struct window_set ws = {};
        struct window_span span = {};
        const char *error = NULL;
        /* Inside the second: still open, and the span is in whole seconds. */
        uint64_t now = UINT64_C(1749236400) * USEC_PER_SEC + 500000;

        CHECK_INTEQ(window_set_add(&ws, "Mon..Fri 22:00-06:00", &error), 0);
        CHECK_INTEQ(setenv("TZ", ":Asia/Shanghai", 1), 0);
        CHECK_INTEQ(window_set_find(&ws, NULL, now, &span), 1);
        CHECK_INTEQ(span.start_usec, UINT64_C(1749218400) * USEC_PER_SEC);
        CHECK_INTEQ(span.end_usec, UINT64_C(1749247200) * USEC_PER_SEC);
        CHECK_INTEQ(window_set_find(&ws, "", now, &span), 1);
        CHECK_INTEQ(span.start_usec, UINT64_C(1749218400) * USEC_PER_SEC);

        /* Sat 2025-06-07 03:00 in Shanghai is Fri 15:00 in New York: Friday's window is ahead. */
        CHECK_INTEQ(window_set_find(&ws, "America/New_York", now, &span), 0);
        CHECK_INTEQ(span.start_usec, UINT64_C(1749261600) * USEC_PER_SEC); /* Fri 22:00 EDT */
        CHECK_STREQ(getenv("TZ"), ":Asia/Shanghai");

        CHECK_INTEQ(unsetenv("TZ"), 0);
        CHECK_INTEQ(window_set_find(&ws, "America/New_York", now, &span), 0);
        CHECK(!getenv("TZ"));
        window_set_done(&ws);
}

static void test_find_errors(void) {
        struct window_set ws = {};
        struct window_span span = {};
        const char *error = NULL;

        CHECK_INTEQ(window_set_find(&ws, "UTC", 0, &span), -ENOENT);
        CHECK_INTEQ(window_set_add(&ws, "Mon 01:00-02:00", &error), 0);
        CHECK_INTEQ(window_set_find(&ws, "Nowhere/City", 0, &span), -EINVAL);
        CHECK_INTEQ(window_set_find(&ws, "../../etc/passwd", 0, &span), -EINVAL);
        CHECK_INTEQ(window_set_find(&ws, "UTC", UINT64_MAX, &span), -ERANGE);
        /* The epoch was a Thursday: the first Monday is 1970-01-05. */
        CHECK_INTEQ(window_set_find(&ws, "UTC", 0, &span), 0);
        CHECK_INTEQ(span.start_usec, (4 * 86400 + 3600) * USEC_PER_SEC);
        window_set_done(&ws);
}

static const struct {
        const char *tz;
        bool valid;
} tz_cases[] = {
        { "", true },
        { "UTC", true },
        { "Europe/Berlin", true },
        { "America/Argentina/Buenos_Aires", true },
        { "Etc/GMT+5", true },
        { "Nowhere/City", false },
        { "Europe", false },                    /* a directory */
        { "leapseconds", false },               /* a file there, but not a zone */
        { "/usr/share/zoneinfo/UTC", false },   /* absolute */
        { "../zoneinfo/UTC", false },
        { "Europe/../UTC", false },
        { "Europe/Berlin ", false },
        { "Europe/Berlin\n", false },
};

static void test_timezones(void) {
        CHECK(window_timezone_is_valid(NULL));
        for (size_t i = 0; i < ELEMENTSOF(tz_cases); i++) {
                if (window_timezone_is_valid(tz_cases[i].tz) != tz_cases[i].valid)
                        fprintf(stderr, "time zone '%s'\n", tz_cases[i].tz);
                CHECK(window_timezone_is_valid(tz_cases[i].tz) == tz_cases[i].valid);
        }
}

int main(void) {
        test_parse();
        test_limits();
        test_find();
        test_local_zone();
        test_find_errors();
        test_timezones();
        TESTS_DONE();
}
