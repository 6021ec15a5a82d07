/* The Alibaba Cloud regions this build knows: a misspelt RegionId is caught before any call. */
#pragma once

#include "base/macro.h"

/* A name no further than this (in single-character edits) from a known region is a misspelling
 * of it; one further away may be a region newer than this build. */
#define REGION_TYPO_DISTANCE_MAX 2U

/* The known region nearest to name, or NULL when name is a known region. *ret_distance gets the
 * number of single-character edits between them (UINT_MAX for names too long to compare). */
const char *region_nearest(const char *name, unsigned *ret_distance);

/* Describes in buf what is wrong with the RegionId name and returns true, or returns false for a
 * known region. *ret_typo is set when name is a misspelling of a known region. */
bool region_problem(const char *name, char *buf, size_t size, bool *ret_typo);
