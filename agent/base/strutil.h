/* String, number, duration and string-vector helpers (no I/O). */
#pragma once

#include "base/macro.h"

/* Parses "yes/no/true/false/on/off/1/0"; returns 1, 0 or -EINVAL. */
int parse_boolean(const char *s);

/* Parses a decimal unsigned integer in [min, max]; -EINVAL on junk, -ERANGE out of range. */
int parse_unsigned(const char *s, unsigned min, unsigned max, unsigned *ret);

/* Parses a duration: a number with an optional suffix s, sec, min, h, d (no suffix = seconds),
 * several parts may be combined ("1h 30min"). -EINVAL on junk, -ERANGE on overflow. */
int parse_duration_usec(const char *s, uint64_t *ret);

/* Strips leading and trailing whitespace in place; returns s. */
char *strstrip(char *s);

/* True when s begins with prefix. */
bool startswith(const char *s, const char *prefix);

/* Replaces *p (freed) with a copy of s (NULL for none): 1 when it changed, 0 when *p already
 * equals s, -ENOMEM (and *p unchanged). */
int free_and_strdup(char **p, const char *s);

/* True when s[0..len) is valid UTF-8 without NUL bytes. */
bool utf8_is_valid(const char *s, size_t len);

/* Single-character edits (Levenshtein) between a and b; UINT_MAX when b is longer than
 * STRUTIL_EDIT_DISTANCE_MAX_LEN. */
#define STRUTIL_EDIT_DISTANCE_MAX_LEN 64U
unsigned strutil_edit_distance(const char *a, const char *b);

/* NULL-terminated string vectors. */
char **strv_free(char **l);
DEFINE_TRIVIAL_CLEANUP_FUNC(char **, strv_free);
#define _cleanup_strv_free_ _cleanup_(strv_freep)
size_t strv_length(char *const *l);
bool strv_contains(char *const *l, const char *s);
/* A NULL-terminated copy of the n strings of l (all non-NULL); NULL on ENOMEM. */
char **strv_copy_n(char *const *l, size_t n);
/* Appends a copy of s; -ENOMEM on failure (l unchanged). */
int strv_extend(char ***l, const char *s);
/* Splits on whitespace, dropping empty words; -ENOMEM on failure. */
int strv_split_whitespace(const char *s, char ***ret);
/* Splits on a single separator character, keeping empty fields out. */
int strv_split_char(const char *s, char sep, char ***ret);
