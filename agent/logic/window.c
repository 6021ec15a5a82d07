/* Maintenance windows: parsing Window= values and finding open/next windows (now passed in). */
#include <ctype.h>
#include <fcntl.h>
#include <time.h>

#include "base/strutil.h"
#include "logic/window.h"

#define WINDOW_SET_MAX 64U
#define WINDOW_TIMEZONE_MAX 255U
#define ZONEINFO_DIR "/usr/share/zoneinfo"
#define SEC_PER_DAY INT64_C(86400)
/* Occurrences are looked for from this many local days before today (a window may start the day
 * before and cross midnight; two days leave room for odd zone history) ... */
#define WINDOW_DAYS_BEFORE 2
/* ... to this many after: each weekday at least twice, even when DST skips one occurrence. */
#define WINDOW_DAYS_AFTER 15
/* Year 9999: past this, calendar arithmetic and localtime_r() stop being meaningful. */
#define WINDOW_NOW_MAX_SEC INT64_C(253402300799)

static const char *const day_names[7] = { "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun" };

/* One concrete occurrence, in seconds since the epoch. */
struct occurrence {
        int64_t start;
        int64_t end;
};

/* Parses a day name (case-insensitive) into 0 = Monday ... 6 = Sunday. */
static int parse_day(const char *s, unsigned *ret) {
        for (unsigned i = 0; i < ELEMENTSOF(day_names); i++)
                if (strcasecmp(s, day_names[i]) == 0) {
                        *ret = i;
                        return 0;
                }
        return -EINVAL;
}

/* Parses one DAYS item: "Mon" or a range "Fri..Mon" (wrapping over the week end). */
static int parse_day_item(char *item, uint8_t *days, const char **ret_error) {
        char *dots;
        unsigned first, last;

        item = strstrip(item);
        if (isempty(item)) {
                *ret_error = "empty day in the DAYS list";
                return -EINVAL;
        }
        dots = strstr(item, "..");
        if (dots)
                *dots = '\0';
        if (parse_day(strstrip(item), &first) < 0 ||
            parse_day(dots ? strstrip(dots + 2) : item, &last) < 0) {
                *ret_error = "unknown day, expected Mon, Tue, Wed, Thu, Fri, Sat, Sun or a range Mon..Fri";
                return -EINVAL;
        }
        for (unsigned d = first;; d = (d + 1) % 7) {
                *days |= (uint8_t) (1U << d);
                if (d == last)
                        return 0;
        }
}

/* Parses a comma-separated DAYS list into a bit mask (bit 0 = Monday). s is modified. */
static int parse_days(char *s, uint8_t *ret, const char **ret_error) {
        uint8_t days = 0;
        char *item = s;

        for (;;) {
                char *comma = strchr(item, ',');
                int r;

                if (comma)
                        *comma = '\0';
                r = parse_day_item(item, &days, ret_error);
                if (r < 0)
                        return r;
                if (!comma)
                        break;
                item = comma + 1;
        }
        *ret = days;
        return 0;
}

/* Parses exactly "HH:MM" (00:00 to 23:59) into minutes after midnight. */
static int parse_hhmm(const char *s, size_t len, unsigned *ret) {
        unsigned h, m;

        if (len != 5 || !isdigit((unsigned char) s[0]) || !isdigit((unsigned char) s[1]) || s[2] != ':' ||
            !isdigit((unsigned char) s[3]) || !isdigit((unsigned char) s[4]))
                return -EINVAL;
        h = (unsigned) (s[0] - '0') * 10 + (unsigned) (s[1] - '0');
        m = (unsigned) (s[3] - '0') * 10 + (unsigned) (s[4] - '0');
        if (h > 23 || m > 59)
                return -EINVAL;
        *ret = h * 60 + m;
        return 0;
}

/* Parses "HH:MM-HH:MM" into w's start and end minutes. */
static int parse_time_range(const char *s, struct window *w, const char **ret_error) {
        const char *dash = strchr(s, '-');

        if (!dash) {
                *ret_error = "missing '-' between start and end time, expected [DAYS] HH:MM-HH:MM";
                return -EINVAL;
        }
        if (parse_hhmm(s, (size_t) (dash - s), &w->start_minute) < 0 ||
            parse_hhmm(dash + 1, strlen(dash + 1), &w->end_minute) < 0) {
                *ret_error = "invalid time, expected HH:MM between 00:00 and 23:59";
                return -EINVAL;
        }
        return 0;
}

/* Parses "[DAYS] HH:MM-HH:MM"; the time range is the last word, DAYS everything before it. */
static int window_parse(const char *value, struct window *ret, const char **ret_error) {
        _cleanup_free_ char *copy = strdup(value);
        struct window w = { .days = 0x7f };
        char *s, *range;
        int r;

        if (!copy)
                return -ENOMEM;
        s = strstrip(copy);
        range = s + strlen(s);
        while (range > s && !isspace((unsigned char) range[-1]))
                range--;
        if (*range == '\0') {
                *ret_error = "empty window, expected [DAYS] HH:MM-HH:MM or 'always'";
                return -EINVAL;
        }
        r = parse_time_range(range, &w, ret_error);
        if (r < 0)
                return r;
        if (range > s) {
                range[-1] = '\0';
                r = parse_days(s, &w.days, ret_error);
                if (r < 0)
                        return r;
        }
        *ret = w;
        return 0;
}

int window_set_add(struct window_set *ws, const char *value, const char **ret_error) {
        struct window w, *items;
        int r;

        if (streq(value, "always")) {
                ws->always = true;
                return 0;
        }
        r = window_parse(value, &w, ret_error);
        if (r < 0)
                return r;
        if (ws->n >= WINDOW_SET_MAX) {
                *ret_error = "too many windows (at most 64)";
                return -EINVAL;
        }
        items = reallocarray(ws->items, ws->n + 1, sizeof(*items));
        if (!items)
                return -ENOMEM;
        items[ws->n++] = w;
        ws->items = items;
        return 0;
}

bool window_set_is_empty(const struct window_set *ws) {
        return !ws->always && ws->n == 0;
}

bool window_timezone_is_valid(const char *tz) {
        _cleanup_close_ int fd = -1;
        char path[sizeof(ZONEINFO_DIR) + 1 + WINDOW_TIMEZONE_MAX + 1];
        char magic[4];

        if (isempty(tz))
                return true;
        if (strlen(tz) > WINDOW_TIMEZONE_MAX || tz[0] == '/' || strstr(tz, ".."))
                return false;
        for (const char *p = tz; *p; p++)
                if (!isalnum((unsigned char) *p) && !strchr("/_+-", *p))
                        return false;
        snprintf(path, sizeof(path), ZONEINFO_DIR "/%s", tz);
        /* O_NONBLOCK: a FIFO planted under zoneinfo must not hang us; read() fails on directories. */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return false;
        /* Regular files there that are not zones (leapseconds, ...) have no TZif magic. */
        return read(fd, magic, sizeof(magic)) == (ssize_t) sizeof(magic) && memcmp(magic, "TZif", 4) == 0;
}

/* The zone conversions below use the C library's process-global TZ state: the zone is switched
 * by setting $TZ around one window_set_find() call and restored after it. That is only safe
 * because the daemon is single-threaded and nothing else reads local time meanwhile. */

/* Switches the process to zone tz (NULL/"" keeps the local zone); *ret_saved gets the old $TZ.
 * On failure nothing was changed. */
static int zone_push(const char *tz, char **ret_saved) {
        _cleanup_free_ char *value = NULL, *saved = NULL;
        const char *old = getenv("TZ");

        if (!isempty(tz)) {
                if (old && !(saved = strdup(old)))
                        return -ENOMEM;
                if (asprintf(&value, ":%s", tz) < 0)
                        return -ENOMEM;
                if (setenv("TZ", value, 1) < 0)
                        return negative_errno();
        }
        /* Also for the local zone: picks up a changed /etc/localtime. */
        tzset();
        *ret_saved = TAKE_PTR(saved);
        return 0;
}

/* Restores what zone_push() changed; frees saved. */
static void zone_pop(const char *tz, char *saved) {
        if (isempty(tz))
                return;
        if (saved)
                (void) setenv("TZ", saved, 1);
        else
                (void) unsetenv("TZ");
        free(saved);
        tzset();
}

/* The UTC offset in seconds (east positive) in effect at t in the active zone. */
static int64_t zone_offset_at(int64_t t) {
        time_t tt = (time_t) t;
        struct tm tm;

        return localtime_r(&tt, &tm) ? (int64_t) tm.tm_gmtoff : 0;
}

static int64_t zone_wall(int64_t t) {
        return t + zone_offset_at(t);
}

/* Resolves wall-clock time wall (seconds counted as if the zone were UTC) to the first instant at
 * which the clock shows it (the earlier one of an ambiguous fall-back time). When the time does
 * not exist (spring-forward gap), returns false and *ret is the first instant after the gap. */
static bool zone_resolve(int64_t wall, int64_t *ret) {
        int64_t offsets[3] = { zone_offset_at(wall - SEC_PER_DAY), zone_offset_at(wall),
                               zone_offset_at(wall + SEC_PER_DAY) };
        int64_t best = INT64_MAX, lo = INT64_MAX, hi = INT64_MIN;

        for (size_t i = 0; i < ELEMENTSOF(offsets); i++) {
                int64_t t = wall - offsets[i];
                if (zone_wall(t) == wall && t < best)
                        best = t;
                lo = t < lo ? t : lo;
                hi = t > hi ? t : hi;
        }
        if (best != INT64_MAX) {
                *ret = best;
                return true;
        }
        /* In a gap the clock jumps over wall between lo (before it) and hi (after it): search the
         * first instant whose wall-clock time is not earlier than wall. */
        while (hi - lo > 1) {
                int64_t mid = lo + (hi - lo) / 2;
                if (zone_wall(mid) >= wall)
                        hi = mid;
                else
                        lo = mid;
        }
        *ret = hi;
        return false;
}

/* The occurrence of w that starts on local day `day` (days since 1970-01-01); false when the start
 * does not exist that day. An end inside a gap becomes the first instant after the gap. */
static bool window_occurrence(const struct window *w, int64_t day, struct occurrence *ret) {
        int64_t end_day = w->end_minute > w->start_minute ? day : day + 1;
        struct occurrence o;

        if (!zone_resolve(day * SEC_PER_DAY + w->start_minute * 60, &o.start))
                return false;
        (void) zone_resolve(end_day * SEC_PER_DAY + w->end_minute * 60, &o.end);
        /* Only a zone skipping whole days can get here; such an occurrence is dropped. */
        if (o.end <= o.start)
                return false;
        *ret = o;
        return true;
}

static int occurrence_compare(const void *a, const void *b) {
        const struct occurrence *x = a, *y = b;

        return x->start < y->start ? -1 : x->start > y->start;
}

/* Collects the occurrences of every window from a few days before now's local day to two weeks
 * after it, sorted by start. Runs with the zone already active. */
static int window_set_collect(const struct window_set *ws, int64_t now, struct occurrence **ret,
                              size_t *ret_n) {
        int64_t wall = zone_wall(now);
        int64_t today = wall / SEC_PER_DAY - (wall % SEC_PER_DAY < 0); /* rounded down */
        size_t n = 0, max = ws->n * (WINDOW_DAYS_BEFORE + 1 + WINDOW_DAYS_AFTER);
        _cleanup_free_ struct occurrence *occ = calloc(max, sizeof(*occ));

        if (!occ)
                return -ENOMEM;
        for (int64_t day = today - WINDOW_DAYS_BEFORE; day <= today + WINDOW_DAYS_AFTER; day++) {
                /* 1970-01-01 was a Thursday: day 0 is weekday 3 with Monday = 0. */
                unsigned weekday = (unsigned) (((day + 3) % 7 + 7) % 7);

                for (size_t i = 0; i < ws->n; i++)
                        if ((ws->items[i].days & (1U << weekday)) &&
                            window_occurrence(&ws->items[i], day, &occ[n]))
                                n++;
        }
        qsort(occ, n, sizeof(*occ), occurrence_compare);
        *ret = TAKE_PTR(occ);
        *ret_n = n;
        return 0;
}

/* Merges overlapping or touching occurrences and picks the span containing now (1) or the next one
 * (0); -ENOENT when none is left in the searched range. */
static int occurrences_pick(const struct occurrence *occ, size_t n, int64_t now, struct occurrence *ret) {
        for (size_t i = 0; i < n;) {
                struct occurrence span = occ[i++];

                while (i < n && occ[i].start <= span.end) {
                        span.end = occ[i].end > span.end ? occ[i].end : span.end;
                        i++;
                }
                if (span.end <= now)
                        continue;
                *ret = span;
                return span.start <= now ? 1 : 0;
        }
        return -ENOENT;
}

static uint64_t sec_to_usec(int64_t s) {
        return s <= 0 ? 0 : (uint64_t) s * USEC_PER_SEC;
}

int window_set_find(const struct window_set *ws, const char *tz, uint64_t now_usec,
                    struct window_span *ret) {
        _cleanup_free_ struct occurrence *occ = NULL;
        int64_t now = (int64_t) (now_usec / USEC_PER_SEC);
        struct occurrence span;
        char *saved;
        size_t n;
        int r;

        if (window_set_is_empty(ws))
                return -ENOENT;
        if (ws->always) {
                *ret = (struct window_span) { .start_usec = now_usec, .end_usec = UINT64_MAX };
                return 1;
        }
        if (now > WINDOW_NOW_MAX_SEC)
                return -ERANGE;
        if (!window_timezone_is_valid(tz))
                return -EINVAL;
        r = zone_push(tz, &saved);
        if (r < 0)
                return r;
        r = window_set_collect(ws, now, &occ, &n);
        zone_pop(tz, saved);
        if (r < 0)
                return r;
        /* Whole seconds: an occurrence starting this second is already open. */
        r = occurrences_pick(occ, n, now, &span);
        if (r < 0)
                return r;
        *ret = (struct window_span) {
                .start_usec = sec_to_usec(span.start),
                .end_usec = sec_to_usec(span.end),
        };
        return r;
}

void window_set_done(struct window_set *ws) {
        free(ws->items);
        *ws = (struct window_set) {};
}
