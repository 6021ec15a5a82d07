/* Aligned text tables for keyrevokectl: plain when piped, coloured on a terminal. */
#pragma once

#include "base/macro.h"

enum table_color {
        TABLE_PLAIN,
        TABLE_RED,
        TABLE_GREEN,
        TABLE_YELLOW,
        _TABLE_COLOR_MAX,
};

struct table;

/* A table whose columns have the given headers (NULL-terminated, at least one). */
int table_new(const char *const *headers, struct table **ret);

struct table *table_free(struct table *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct table *, table_free);

/* Appends the next cell; rows fill from left to right. NULL or "" shows as "-"; tabs and other
 * control characters show as spaces, so the output never holds a tab. -ENOMEM. */
int table_add(struct table *t, const char *text, enum table_color color);
int table_addf(struct table *t, enum table_color color, const char *format, ...) _printf_(3, 4);

/* Complete rows added so far. */
size_t table_rows(const struct table *t);

/* Prints the header and the rows, columns padded to their widest cell (in characters) and
 * separated by two spaces. With color, the header is bold and cells get their colour (ANSI). */
void table_print(const struct table *t, FILE *f, bool color);
