/* The revocation directory stays watched when it is replaced. Two inotify watches: the directory
 * itself (its files), and its parent, for the name: when the name is removed, renamed, created or
 * renamed onto (a new directory, a copy, a switched symlink), the directory watch is dropped and
 * added again for what the name is now. While that fails (the name is missing), a timer retries. */
#include <sys/inotify.h>

#include "base/log.h"
#include "daemon/listwatch.h"

#define LISTWATCH_RETRY_USEC (2 * USEC_PER_SEC)

#define LISTWATCH_DIR_MASK                                                                          \
        (IN_CREATE | IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_ATTRIB | IN_DELETE_SELF | \
         IN_MOVE_SELF | IN_ONLYDIR)
#define LISTWATCH_PARENT_MASK (IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)

struct listwatch {
        sd_event *event;
        char *path;
        char *parent;                   /* path's directory */
        char *name;                     /* path's last component */
        listwatch_cb cb;
        void *userdata;
        sd_event_source *dir_source;
        sd_event_source *parent_source;
        sd_event_source *retry_source;
        bool failure_said;              /* the watch's failure was logged (once per outage) */
};

static void listwatch_arm(struct listwatch *w);

static void drop_dir_watch(struct listwatch *w) {
        w->dir_source = sd_event_source_disable_unref(w->dir_source);
}

static int dir_cb(sd_event_source *s, const struct inotify_event *ev, void *userdata) {
        struct listwatch *w = userdata;

        if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
                log_warning("%s was removed or replaced; watching for it again", w->path);
                drop_dir_watch(w);
                listwatch_arm(w);
        }
        w->cb(w->userdata);
        return 0;
}

static int parent_cb(sd_event_source *s, const struct inotify_event *ev, void *userdata) {
        struct listwatch *w = userdata;

        if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
                w->parent_source = sd_event_source_disable_unref(w->parent_source);
                drop_dir_watch(w);
        } else if (ev->len == 0 || !streq(ev->name, w->name))
                return 0;
        else
                /* The name now stands for another directory (or none): watch what it is now. */
                drop_dir_watch(w);
        listwatch_arm(w);
        w->cb(w->userdata);
        return 0;
}

static int retry_cb(sd_event_source *s, uint64_t usec, void *userdata) {
        struct listwatch *w = userdata;

        listwatch_arm(w);
        /* The lists are read again as soon as the directory is watched again. */
        if (w->dir_source)
                w->cb(w->userdata);
        return 0;
}

static int add_watches(struct listwatch *w) {
        int r = 0;

        if (!w->parent_source)
                r = sd_event_add_inotify(w->event, &w->parent_source, w->parent, LISTWATCH_PARENT_MASK, parent_cb, w);
        if (r >= 0 && !w->dir_source)
                r = sd_event_add_inotify(w->event, &w->dir_source, w->path, LISTWATCH_DIR_MASK, dir_cb, w);
        return r;
}

/* Adds what is missing; on failure retries on a timer. */
static void listwatch_arm(struct listwatch *w) {
        int r = add_watches(w);

        if (r >= 0) {
                if (w->failure_said)
                        log_info("Watching %s again", w->path);
                w->failure_said = false;
                (void) sd_event_source_set_enabled(w->retry_source, SD_EVENT_OFF);
                return;
        }
        if (!w->failure_said)
                log_warning_errno(r, "Cannot watch %s (trying again every %u s): %m", w->path,
                                  (unsigned) (LISTWATCH_RETRY_USEC / USEC_PER_SEC));
        w->failure_said = true;
        if (sd_event_source_set_time_relative(w->retry_source, LISTWATCH_RETRY_USEC) < 0 ||
            sd_event_source_set_enabled(w->retry_source, SD_EVENT_ONESHOT) < 0)
                log_error("Cannot arm the retry of the watch on %s; lists are re-read on rescan and SIGHUP", w->path);
}

/* "/a/b/" -> "/a" and "b"; "b" -> "." and "b". */
static int split_path(const char *path, char **ret_parent, char **ret_name) {
        _cleanup_free_ char *p = strdup(path);
        char *slash;
        size_t n;

        if (!p)
                return -ENOMEM;
        for (n = strlen(p); n > 1 && p[n - 1] == '/'; n--)
                p[n - 1] = '\0';
        slash = strrchr(p, '/');
        if (!slash || slash[1] == '\0') {
                *ret_parent = strdup(slash ? "/" : ".");
                *ret_name = strdup(p);
        } else {
                *ret_name = strdup(slash + 1);
                *slash = '\0';
                *ret_parent = strdup(p[0] ? p : "/");
        }
        return *ret_parent && *ret_name ? 0 : -ENOMEM;
}

int listwatch_new(sd_event *event, const char *path, listwatch_cb cb, void *userdata, struct listwatch **ret) {
        _cleanup_(listwatch_freep) struct listwatch *w = calloc(1, sizeof(*w));
        int r;

        if (!w)
                return -ENOMEM;
        w->event = sd_event_ref(event);
        w->cb = cb;
        w->userdata = userdata;
        w->path = strdup(path);
        if (!w->path)
                return -ENOMEM;
        r = split_path(path, &w->parent, &w->name);
        if (r < 0)
                return r;
        r = sd_event_add_time_relative(event, &w->retry_source, CLOCK_MONOTONIC, LISTWATCH_RETRY_USEC, USEC_PER_MSEC,
                                       retry_cb, w);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(w->retry_source, SD_EVENT_OFF);
        listwatch_arm(w);
        *ret = TAKE_PTR(w);
        return 0;
}

struct listwatch *listwatch_free(struct listwatch *w) {
        if (!w)
                return NULL;
        sd_event_source_disable_unref(w->dir_source);
        sd_event_source_disable_unref(w->parent_source);
        sd_event_source_disable_unref(w->retry_source);
        sd_event_unref(w->event);
        free(w->path);
        free(w->parent);
        free(w->name);
        free(w);
        return NULL;
}
