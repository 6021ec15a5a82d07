/* A list of FILE:LINE problems collected while parsing config, lists and credentials. */
#pragma once

#include "base/macro.h"

struct diag {
        char *file;
        unsigned line; /* 0 = the whole file */
        char *message;
};

struct diags {
        struct diag *items;
        size_t n;
        size_t allocated;
};

/* Appends a problem; never fails silently: on ENOMEM the message is replaced by a fixed text. */
void diags_add(struct diags *d, const char *file, unsigned line, const char *format, ...) _printf_(4, 5);
/* Frees the items and resets d to empty. */
void diags_clear(struct diags *d);
/* Prints each as "FILE:LINE: message" (or "FILE: message" when line is 0) to f. */
void diags_print(const struct diags *d, FILE *f);
/* Formats one item as above; returns a new string or NULL on ENOMEM. */
char *diag_format(const struct diag *d);
