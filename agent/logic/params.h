/* An ordered list of request parameters (name=value) for ECS RPC calls. */
#pragma once

#include "base/macro.h"

/* More parameters than any ECS call needs (InstanceId.1..100 plus the common ones). */
#define PARAMS_MAX 256

struct param {
        char *name;
        char *value;
};

struct params {
        struct param *items;
        size_t n;
        size_t allocated;
};

/* Appends copies of name and value; -ENOMEM, or -E2BIG past PARAMS_MAX. */
int params_add(struct params *p, const char *name, const char *value);
/* Like params_add() with a printf-formatted value. */
int params_addf(struct params *p, const char *name, const char *format, ...) _printf_(3, 4);
/* Appends name with the ids as a JSON array string (["i-1","i-2"]), as InstanceIds takes them. */
int params_add_id_array(struct params *p, const char *name, char *const *ids, size_t n);
/* Returns the value of the first parameter called name, or NULL. */
const char *params_get(const struct params *p, const char *name);
/* Deep copy into *ret (overwritten, not freed first); on failure *ret is untouched. */
int params_copy(const struct params *src, struct params *ret);
/* Frees everything, wiping values (they may hold a security token). */
void params_done(struct params *p);
