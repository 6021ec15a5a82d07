/* A list of FILE:LINE problems collected while parsing config, lists and credentials. */
#include <stdarg.h>

#include "base/diag.h"

static const char oom_message[] = "out of memory while recording a problem";

void diags_add(struct diags *d, const char *file, unsigned line, const char *format, ...) {
        struct diag *item;
        va_list ap;

        if (d->n == d->allocated) {
                size_t a = d->allocated ? d->allocated * 2 : 8;
                struct diag *n = reallocarray(d->items, a, sizeof(*n));
                if (!n)
                        return; /* keeps the problems already recorded; the caller still fails */
                d->items = n;
                d->allocated = a;
        }
        item = &d->items[d->n++];
        item->file = strdup(strempty(file));
        item->line = line;
        va_start(ap, format);
        if (vasprintf(&item->message, format, ap) < 0)
                item->message = strdup(oom_message);
        va_end(ap);
}

void diags_clear(struct diags *d) {
        for (size_t i = 0; i < d->n; i++) {
                free(d->items[i].file);
                free(d->items[i].message);
        }
        free(d->items);
        *d = (struct diags) {};
}

char *diag_format(const struct diag *d) {
        char *s;
        int r;

        if (d->line > 0)
                r = asprintf(&s, "%s:%u: %s", strempty(d->file), d->line, strempty(d->message));
        else
                r = asprintf(&s, "%s: %s", strempty(d->file), strempty(d->message));
        return r < 0 ? NULL : s;
}

void diags_print(const struct diags *d, FILE *f) {
        for (size_t i = 0; i < d->n; i++) {
                _cleanup_free_ char *s = diag_format(&d->items[i]);
                fprintf(f, "%s\n", s ? s : oom_message);
        }
}
