/*
 * "Did you mean ...?" for configuration errors: the known name closest to
 * a misspelt one, by optimal-string-alignment distance (Levenshtein plus
 * transpositions), also matching a word typed as an abbreviation of a
 * longer name. Shared by the scenario loader and the cost-profile parser.
 */
#ifndef HOPSIM_SUGGEST_H
#define HOPSIM_SUGGEST_H

#include <stddef.h>

/* The entry of the NULL-terminated `list` closest to `word`, or NULL when none is close. */
const char *suggest_nearest(const char *word, const char *const *list);

#endif
