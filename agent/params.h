/* An ordered list of request parameters (name=value) for ECS RPC calls. */
#pragma once

#include "macro.h"

struct param {
        char *name;
        char *value;
};

struct params {
        struct param *items;
        size_t n;
        size_t allocated;
};

int params_add(struct params *p, const char *name, const char *value);
int params_addf(struct params *p, const char *name, const char *format, ...) _printf_(3, 4);
/* Returns the value of the first parameter called name, or NULL. */
const char *params_get(const struct params *p, const char *name);
int params_copy(const struct params *src, struct params *ret);
/* Frees everything, wiping values (they may hold a security token). */
void params_done(struct params *p);
