/* The last enforcement pass in StateDirectory/last-pass.json, for keyrevokectl status: when it
 * ran and what it counted. Written atomically, mode 0600. */
#pragma once

#include "logic/health.h"

struct pass_record {
        uint64_t start_usec;            /* CLOCK_REALTIME */
        uint64_t end_usec;
        struct health_pass pass;
};

/* Replaces directory/last-pass.json with r; -errno. */
int passrecord_save(const char *directory, const struct pass_record *r);

/* Reads directory/last-pass.json: -ENOENT when no pass was recorded, -EBADMSG when it is not
 * a record, other -errno (both logged). */
int passrecord_load(const char *directory, struct pass_record *ret);
