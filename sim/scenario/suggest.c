/*
 * Nearest-name suggestions (see suggest.h). Names longer than 63 bytes are
 * never suggested; words under 3 characters only match exactly, since any
 * short word is one edit away from almost anything.
 */
#include "suggest.h"

#include <string.h>

static size_t edit_distance(const char *a, size_t la, const char *b, size_t lb)
{
    size_t d[64][64];
    if (la > 63 || lb > 63)
        return (size_t)-1;
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++) {
        for (size_t j = 1; j <= lb; j++) {
            size_t best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < best)
                best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    }
    return d[la][lb];
}

const char *suggest_nearest(const char *word, const char *const *list)
{
    size_t len = strlen(word), limit = len < 3 ? 0 : len / 3 > 1 ? len / 3 : 1;
    size_t best = (size_t)-1;
    const char *found = NULL;
    for (; *list; list++) {
        size_t lc = strlen(*list), d = edit_distance(word, len, *list, lc);
        if (lc > len && len >= 3) { /* typed as an abbreviation of a longer name */
            size_t dp = edit_distance(word, len, *list, len);
            d = dp < d ? dp : d;
        }
        if (d < best) {
            best = d;
            found = *list;
        }
    }
    return best <= limit ? found : NULL;
}
