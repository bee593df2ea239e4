/*
 * Fuzz target: the scenario loader (sim/scenario/), through its entry point
 * scenario_load, on arbitrary script text. The script is evaluated in the
 * loader's sandbox child (its own CPU, memory and wall-clock budget); what
 * is fuzzed here is everything in this process: the hand-back of the
 * declarations and their validation. Any input must end in a loaded
 * scenario or an error message, never a crash or hang.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "scenario.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char dir[] = "/tmp/hopsim-fuzz-scenario-XXXXXX";
    static char path[sizeof(dir) + 16];
    static int ready;
    if (!ready) {
        if (!mkdtemp(dir))
            abort();
        snprintf(path, sizeof(path), "%s/s.lua", dir);
        ready = 1;
    }
    FILE *f = fopen(path, "wb");
    if (!f)
        abort();
    fwrite(data, 1, size, f);
    fclose(f);
    struct scenario *sc = calloc(1, sizeof(*sc));
    struct sc_load_opts o = {
        .image_path = dir, .profile_path = dir, .cpu_budget_s = 1, .out_dir = dir};
    char err[1024];
    if (scenario_load(sc, path, &o, err, sizeof(err)) != 0 && !err[0])
        abort(); /* a refusal always says why */
    free(sc);
    return 0;
}
