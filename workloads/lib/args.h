/*
 * Program arguments from start_info.cmd_line: "key=value key=value".
 * The scenario's domain{ args = {...} } table becomes this string. A key
 * without '=' has the value "1". Values cannot contain spaces.
 */
#ifndef GUEST_ARGS_H
#define GUEST_ARGS_H

#include "hopsim/guestargs.h"

/*
 * Declarations of the arguments an image accepts (hopsim/guestargs.h): the
 * scenario loader refuses unknown names (with a did-you-mean) and bad
 * values before the run. Every arg_str/arg_int key of an image needs one.
 *
 *   ARG_INT(iodepth, 1, 64, "requests in flight");
 *   ARG_INT_STEP(bs, 512, 45056, 512, "bytes per request");
 *   ARG_ENUM(rw, "read|write|randread|randwrite|randrw", "access pattern");
 *   ARG_BOOL(verify, "check every read against the pattern written");
 *   ARG_NAMED_INT(vbd_start, "vbd#_start", 0, INT64_MAX, 0, "first sector of dom#'s window");
 */
#define ARG_DECL_(id, n, t, l, h, st, ch, he)                                                      \
    static const struct hopsim_argdecl hopsim_arg_##id __attribute__((                             \
        used, section(HOPSIM_ARGS_SECTION), aligned(8))) = {.magic = HOPSIM_ARG_MAGIC,             \
                                                            .type = (t),                           \
                                                            .name = n,                             \
                                                            .lo = (l),                             \
                                                            .hi = (h),                             \
                                                            .step = (st),                          \
                                                            .choices = ch,                         \
                                                            .help = he}
#define ARG_INT(n, l, h, he) ARG_DECL_(n, #n, HOPSIM_ARG_INT, l, h, 0, "", he)
#define ARG_INT_STEP(n, l, h, st, he) ARG_DECL_(n, #n, HOPSIM_ARG_INT, l, h, st, "", he)
#define ARG_NAMED_INT(id, n, l, h, st, he) ARG_DECL_(id, n, HOPSIM_ARG_INT, l, h, st, "", he)
#define ARG_BOOL(n, he) ARG_DECL_(n, #n, HOPSIM_ARG_BOOL, 0, 1, 0, "", he)
#define ARG_ENUM(n, ch, he) ARG_DECL_(n, #n, HOPSIM_ARG_ENUM, 0, 0, 0, ch, he)
#define ARG_STR(n, he) ARG_DECL_(n, #n, HOPSIM_ARG_STR, 0, 0, 0, "", he)
#define ARG_MAC(n, he) ARG_DECL_(n, #n, HOPSIM_ARG_MAC, 0, 0, 0, "", he)
#define ARG_LIST(n, l, h, max, he) ARG_DECL_(n, #n, HOPSIM_ARG_LIST, l, h, max, "", he)

void args_init(const char *cmdline);
/* Value of key, or def when the key is absent. */
const char *arg_str(const char *key, const char *def);
/*
 * Integer value of key (decimal, 0x hex, optional sign; true/yes = 1,
 * false/no = 0), or def when absent or not a number.
 */
long arg_int(const char *key, long def);
/* Number of arguments, and the i-th key/value (for listing). */
int arg_count(void);
const char *arg_key(int i);
const char *arg_value(int i);

#endif
