/* The revocation directory: reading every *.list in it, reporting what was loaded or rejected. */
#include <dirent.h>

#include "base/strutil.h"
#include "io/lists.h"
#include "io/report.h"
#include "io/svcuser.h"
#include "logic/regions.h"

static int compare_names(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* The list file names in directory, sorted. */
static int list_names(const char *directory, char ***ret) {
        _cleanup_strv_free_ char **names = calloc(1, sizeof(char *));
        DIR *dir;
        struct dirent *de;
        int r = 0;

        if (!names)
                return -ENOMEM;
        dir = opendir(directory);
        if (!dir)
                return negative_errno();
        while ((de = readdir(dir)))
                if (revlist_is_list_name(de->d_name) && (r = strv_extend(&names, de->d_name)) < 0)
                        break;
        closedir(dir);
        if (r < 0)
                return r;
        qsort(names, strv_length(names), sizeof(char *), compare_names);
        *ret = TAKE_PTR(names);
        return 0;
}

static void report_problems(const struct diags *d, size_t from) {
        for (size_t i = from; i < d->n; i++) {
                const struct diag *p = &d->items[i];
                struct event_fields f = { .list = p->file, .line = p->line, .error = p->message };
                if (p->line > 0)
                        report_event(EVENT_LIST_ERROR, &f, "%s:%u: %s (line ignored)", p->file, p->line, p->message);
                else
                        report_event(EVENT_LIST_ERROR, &f, "%s: %s (file ignored)", p->file, p->message);
        }
}

static void report_loaded(const struct revlist *l) {
        char entries[48];
        const char *extra[] = { entries, NULL };
        struct event_fields f = { .list = l->path, .extra = extra };

        snprintf(entries, sizeof(entries), "KEYREVOKE_ENTRIES=%zu", l->n_entries);
        report_event(EVENT_LIST_LOADED, &f, "Loaded %s: %zu entr%s", l->path, l->n_entries,
                     l->n_entries == 1 ? "y" : "ies");
}

static int lists_append(struct lists *l, struct revlist *item) {
        struct revlist **a = reallocarray(l->items, l->n + 1, sizeof(*a));
        if (!a)
                return -ENOMEM;
        l->items = a;
        l->items[l->n++] = item;
        return 0;
}

/* A region= naming a misspelt region: reported, the entry kept (its other regions still count). */
static void check_regions(const struct revlist *l, struct diags *d) {
        for (size_t i = 0; i < l->n_entries; i++)
                for (char **r = l->entries[i].regions; r && *r; r++) {
                        char text[256];
                        bool typo;

                        if (region_problem(*r, text, sizeof(text), &typo) && typo)
                                diags_add(d, l->path, l->entries[i].line, "%s", text);
                }
}

int lists_load_file(const char *path, uid_t allowed_uid, struct revlist **ret, struct diags *d) {
        int r = revlist_load(path, allowed_uid, ret, d);

        if (r < 0)
                return r;
        check_regions(*ret, d);
        r = service_user_can_open(allowed_uid, path);
        if (r < 0) {
                diags_add(d, path, 0, "the service's user %s (uid %u) cannot open it: %s, refusing", SERVICE_USER,
                          (unsigned) allowed_uid, strerror(-r));
                *ret = revlist_free(*ret);
        }
        return r;
}

int lists_load(const char *directory, uid_t allowed_uid, bool report, struct lists *ret, struct diags *d) {
        _cleanup_strv_free_ char **names = NULL;
        struct lists l = {};
        int r;

        r = list_names(directory, &names);
        if (r == -ENOMEM)
                return r;
        if (r >= 0)
                r = service_user_can_open(allowed_uid, directory);
        if (r < 0) {
                diags_add(d, directory, 0, "cannot read the revocation directory%s: %s",
                          names ? " as the service's user " SERVICE_USER : "", strerror(-r));
                if (report)
                        report_problems(d, d->n - 1);
                *ret = l;
                return 0;
        }
        for (char **name = names; *name; name++) {
                _cleanup_free_ char *path = NULL;
                struct revlist *item = NULL;
                size_t first = d->n;

                if (asprintf(&path, "%s/%s", directory, *name) < 0)
                        goto oom;
                r = lists_load_file(path, allowed_uid, &item, d);
                if (report)
                        report_problems(d, first);
                if (r < 0)
                        continue;
                if (report)
                        report_loaded(item);
                if (lists_append(&l, item) < 0) {
                        revlist_free(item);
                        goto oom;
                }
        }
        *ret = l;
        return 0;
oom:
        lists_done(&l);
        return -ENOMEM;
}

size_t lists_count_entries(const struct lists *l) {
        size_t n = 0;
        for (size_t i = 0; i < l->n; i++)
                n += l->items[i]->n_entries;
        return n;
}

void lists_done(struct lists *l) {
        for (size_t i = 0; i < l->n; i++)
                revlist_free(l->items[i]);
        free(l->items);
        *l = (struct lists) {};
}
