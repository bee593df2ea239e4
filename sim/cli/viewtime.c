/*
 * The view's time arguments (view.h): in the executable, since `run
 * --view-speed` is parsed before the view module is loaded.
 */
#include "view.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int view_parse_time(const char *s, simtime_t *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || !(v >= 0))
        return -1;
    static const struct {
        const char *u;
        double ps;
    } units[] = {{"ps", 1}, {"ns", 1e3}, {"us", 1e6}, {"ms", 1e9}, {"s", 1e12}, {"", 1}};
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (!strcmp(end, units[i].u)) {
            double ps = v * units[i].ps;
            if (!(ps < 1.8e19))
                return -1;
            *out = (simtime_t)(ps + 0.5);
            return 0;
        }
    return -1;
}
