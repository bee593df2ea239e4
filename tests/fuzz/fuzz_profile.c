/*
 * Fuzz target: the cost-profile parser (sim/engine/cost.c), as `--profile`
 * and the scenario's profile key load a file: arbitrary bytes through
 * cost_load, then one `cost.NAME=VALUE UNIT` override from the input's
 * first line through cost_set. A loaded profile must hold only finite,
 * non-negative values.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cost.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("profile", 0);
        if (fd < 0)
            abort();
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
        abort();
    struct cost_profile p;
    memset(&p, 0, sizeof(p));
    char err[512];
    if (cost_load(&p, path, err, sizeof(err)) == 0) {
        for (int i = 0; i < COST_COUNT; i++)
            if (!isfinite(p.value[i]) || p.value[i] < 0)
                abort();
    }
    /* one override: NAME and VALUE UNIT split at the first '=' of the first line */
    char line[256];
    size_t n = size < sizeof(line) - 1 ? size : sizeof(line) - 1;
    memcpy(line, data, n);
    line[n] = 0;
    line[strcspn(line, "\n")] = 0;
    char *eq = strchr(line, '=');
    if (eq) {
        *eq = 0;
        cost_set(&p, line, eq + 1, err, sizeof(err));
    }
    return 0;
}
