/* Counted shared copies of strings, kept in a hash map by their text. */
#include <assert.h>
#include <stddef.h>

#include "base/hashmap.h"
#include "base/strpool.h"

struct pooled {
        size_t refs;
        char text[];
};

struct strpool {
        struct hashmap *by_text;        /* text -> struct pooled *, the key is its own text */
};

int strpool_new(struct strpool **ret) {
        struct strpool *p = calloc(1, sizeof(*p));

        if (!p || hashmap_new(&p->by_text) < 0) {
                free(p);
                return -ENOMEM;
        }
        *ret = p;
        return 0;
}

struct strpool *strpool_free(struct strpool *p) {
        if (p) {
                hashmap_free_with(p->by_text, free);
                free(p);
        }
        return NULL;
}

/* The pool's copy of s, made when there is none yet; NULL on -ENOMEM. */
static struct pooled *pooled_get(struct strpool *p, const char *s) {
        struct pooled *n = hashmap_get(p->by_text, s);
        size_t size = strlen(s) + 1;

        if (n)
                return n;
        n = malloc(offsetof(struct pooled, text) + size);
        if (!n)
                return NULL;
        n->refs = 0;
        memcpy(n->text, s, size);
        if (hashmap_put(p->by_text, n->text, n) < 0) {
                free(n);
                return NULL;
        }
        return n;
}

int strpool_set(struct strpool *p, const char **slot, const char *s) {
        struct pooled *n = NULL;

        if (s) {
                n = pooled_get(p, s);
                if (!n)
                        return -ENOMEM;
                /* Taken before the old one is let go: s may be the very copy *slot holds. */
                n->refs++;
        }
        strpool_clear(p, slot);
        *slot = n ? n->text : NULL;
        return 0;
}

void strpool_clear(struct strpool *p, const char **slot) {
        struct pooled *o;

        if (!*slot)
                return;
        o = hashmap_get(p->by_text, *slot);
        /* A string that is not this pool's own copy (a strdup() or a literal set by hand) would
         * corrupt the counts: a bug of the caller, stopped here rather than left to spread. */
        assert(o && o->text == *slot);
        *slot = NULL;
        if (--o->refs > 0)
                return;
        (void) hashmap_remove(p->by_text, o->text);
        free(o);
}

size_t strpool_size(const struct strpool *p) {
        return hashmap_size(p->by_text);
}
