/* An ordered list of request parameters (name=value) for ECS RPC calls. */
#include <jansson.h>
#include <stdarg.h>

#include "logic/params.h"

/* Makes room for one more item; -E2BIG past PARAMS_MAX. */
static int params_reserve(struct params *p) {
        struct param *items;
        size_t a;

        if (p->n >= PARAMS_MAX)
                return -E2BIG;
        if (p->n < p->allocated)
                return 0;
        a = p->allocated ? p->allocated * 2 : 16;
        items = reallocarray(p->items, a, sizeof(*items));
        if (!items)
                return -ENOMEM;
        p->items = items;
        p->allocated = a;
        return 0;
}

/* Appends name and value, taking ownership of both (freed on failure too; NULL = ENOMEM). */
static int params_add_take(struct params *p, char *name, char *value) {
        int r = params_reserve(p);

        if (r >= 0 && (!name || !value))
                r = -ENOMEM;
        if (r < 0) {
                free(name);
                erase_and_free(value);
                return r;
        }
        p->items[p->n++] = (struct param) { .name = name, .value = value };
        return 0;
}

int params_add(struct params *p, const char *name, const char *value) {
        return params_add_take(p, strdup(name), strdup(value));
}

int params_addf(struct params *p, const char *name, const char *format, ...) {
        char *value;
        va_list ap;
        int r;

        va_start(ap, format);
        r = vasprintf(&value, format, ap);
        va_end(ap);
        return params_add_take(p, strdup(name), r < 0 ? NULL : value);
}

int params_add_id_array(struct params *p, const char *name, char *const *ids, size_t n) {
        json_t *a = json_array();
        _cleanup_free_ char *s = NULL;

        for (size_t i = 0; a && i < n; i++)
                if (json_array_append_new(a, json_string(ids[i])) < 0)
                        json_decref(TAKE_PTR(a));
        s = a ? json_dumps(a, JSON_COMPACT) : NULL;
        json_decref(a);
        return s ? params_add(p, name, s) : -ENOMEM;
}

const char *params_get(const struct params *p, const char *name) {
        for (size_t i = 0; i < p->n; i++)
                if (streq(p->items[i].name, name))
                        return p->items[i].value;
        return NULL;
}

int params_copy(const struct params *src, struct params *ret) {
        struct params c = {};

        for (size_t i = 0; i < src->n; i++) {
                int r = params_add(&c, src->items[i].name, src->items[i].value);
                if (r < 0) {
                        params_done(&c);
                        return r;
                }
        }
        *ret = c;
        return 0;
}

void params_done(struct params *p) {
        for (size_t i = 0; i < p->n; i++) {
                free(p->items[i].name);
                erase_and_free(p->items[i].value);
        }
        free(p->items);
        *p = (struct params) {};
}
