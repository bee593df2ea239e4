/*
 * Guest argument declarations: each image says, in its ELF, which
 * arguments (start_info.cmd_line "key=value" pairs, from a scenario's
 * domain{ args = {...} }) it accepts, so the scenario loader can refuse a
 * misspelt name or a bad value before anything runs.
 *
 * The guest declares them with the ARG_* macros of workloads/lib/args.h;
 * each becomes one struct hopsim_argdecl in the section
 * HOPSIM_ARGS_SECTION, which the linker script keeps out of the loaded
 * image (a non-allocated section: it costs the guest no memory). An image
 * without the section declares nothing and is not checked.
 *
 * Included by host C and freestanding guest C alike.
 */
#ifndef HOPSIM_GUESTARGS_H
#define HOPSIM_GUESTARGS_H

#include <stdint.h>

#define HOPSIM_ARGS_SECTION ".hopsim.args"
#define HOPSIM_ARG_MAGIC 0x47524148u /* "HARG" */

enum hopsim_arg_type {
    HOPSIM_ARG_INT = 1,  /* integer in [lo, hi], a multiple of step (0: any); as arg_int parses */
    HOPSIM_ARG_BOOL = 2, /* 0 1 true false yes no */
    HOPSIM_ARG_ENUM = 3, /* one of choices, "a|b|c" */
    HOPSIM_ARG_STR = 4,  /* any one word */
    HOPSIM_ARG_MAC = 5,  /* xx:xx:xx:xx:xx:xx, unicast */
    HOPSIM_ARG_LIST = 6, /* comma-separated integers, each in [lo, hi], at most step of them */
};

/*
 * One declaration, 256 bytes. name may hold one '#', standing for a decimal
 * number (blkback's "vbd#_start": one per frontend domain id).
 */
struct hopsim_argdecl {
    uint32_t magic;
    uint32_t type;
    char name[32];
    int64_t lo, hi, step;
    char choices[80];
    char help[112];
};

#endif
