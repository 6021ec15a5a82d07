/* Aligned text tables for keyrevokectl: plain when piped, coloured on a terminal. */
#include <stdarg.h>

#include "base/table.h"

#define ANSI_BOLD "\033[1m"
#define ANSI_RESET "\033[0m"

struct table_cell {
        char *text;
        enum table_color color;
};

struct table {
        size_t n_columns;
        struct table_cell *cells; /* headers first, then the rows */
        size_t n_cells, allocated;
};

static const char *color_sequence(enum table_color c) {
        switch (c) {
        case TABLE_PLAIN:
                return "";
        case TABLE_RED:
                return "\033[31m";
        case TABLE_GREEN:
                return "\033[32m";
        case TABLE_YELLOW:
                return "\033[33m";
        case _TABLE_COLOR_MAX:
                break;
        }
        return "";
}

struct table *table_free(struct table *t) {
        if (!t)
                return NULL;
        for (size_t i = 0; i < t->n_cells; i++)
                free(t->cells[i].text);
        free(t->cells);
        free(t);
        return NULL;
}

int table_new(const char *const *headers, struct table **ret) {
        _cleanup_(table_freep) struct table *t = calloc(1, sizeof(*t));

        if (!t)
                return -ENOMEM;
        while (headers[t->n_columns])
                t->n_columns++;
        if (t->n_columns == 0)
                return -EINVAL;
        for (size_t i = 0; i < t->n_columns; i++)
                if (table_add(t, headers[i], TABLE_PLAIN) < 0)
                        return -ENOMEM;
        *ret = TAKE_PTR(t);
        return 0;
}

int table_add(struct table *t, const char *text, enum table_color color) {
        char *copy;

        if (t->n_cells == t->allocated) {
                size_t n = t->allocated ? t->allocated * 2 : 32;
                struct table_cell *c = reallocarray(t->cells, n, sizeof(*c));
                if (!c)
                        return -ENOMEM;
                t->cells = c;
                t->allocated = n;
        }
        copy = strdup(isempty(text) ? "-" : text);
        if (!copy)
                return -ENOMEM;
        for (char *p = copy; *p; p++)
                if ((unsigned char) *p < ' ' || *p == 0x7f)
                        *p = ' ';
        t->cells[t->n_cells++] = (struct table_cell){ copy, color };
        return 0;
}

int table_addf(struct table *t, enum table_color color, const char *format, ...) {
        _cleanup_free_ char *text = NULL;
        va_list ap;
        int r;

        va_start(ap, format);
        r = vasprintf(&text, format, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        return table_add(t, text, color);
}

size_t table_rows(const struct table *t) {
        return t->n_cells / t->n_columns - 1;
}

/* Characters, not bytes: UTF-8 continuation bytes do not count. */
static size_t text_width(const char *s) {
        size_t n = 0;

        for (; *s; s++)
                n += ((unsigned char) *s & 0xc0) != 0x80;
        return n;
}

static void print_row(const struct table *t, const struct table_cell *row, const size_t *widths, FILE *f, bool color,
                      bool header) {
        for (size_t i = 0; i < t->n_columns; i++) {
                const struct table_cell *c = &row[i];
                const char *on = color ? (header ? ANSI_BOLD : color_sequence(c->color)) : "";
                bool last = i + 1 == t->n_columns;

                fprintf(f, "%s%s%s", on, c->text, *on ? ANSI_RESET : "");
                if (!last)
                        fprintf(f, "%*s", (int) (widths[i] - text_width(c->text) + 2), "");
        }
        fputc('\n', f);
}

void table_print(const struct table *t, FILE *f, bool color) {
        size_t rows = t->n_cells / t->n_columns;
        _cleanup_free_ size_t *widths = calloc(t->n_columns, sizeof(size_t));

        if (!widths)
                return;
        for (size_t i = 0; i < rows * t->n_columns; i++) {
                size_t w = text_width(t->cells[i].text);
                if (w > widths[i % t->n_columns])
                        widths[i % t->n_columns] = w;
        }
        for (size_t r = 0; r < rows; r++)
                print_row(t, &t->cells[r * t->n_columns], widths, f, color, r == 0);
}
