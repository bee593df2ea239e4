/*
 * Program arguments from start_info.cmd_line: "key=value key=value".
 * The scenario's domain{ args = {...} } table becomes this string. A key
 * without '=' has the value "1". Values cannot contain spaces.
 */
#ifndef GUEST_ARGS_H
#define GUEST_ARGS_H

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
