/*
 * Command-line arguments (see args.h). The command line is copied once at
 * start-up into a private buffer and split in place into key/value pairs.
 */
#include "args.h"
#include "str.h"

#include <xen/xen.h>

#define MAX_ARGS 64

static char argbuf[MAX_GUEST_CMDLINE];
static const char *keys[MAX_ARGS], *vals[MAX_ARGS];
static int nargs;

void args_init(const char *cmdline)
{
    strlcpy(argbuf, cmdline, sizeof(argbuf));
    char *p = argbuf;
    while (*p && nargs < MAX_ARGS) {
        while (*p == ' ' || *p == '\t' || *p == '\n')
            *p++ = 0;
        if (!*p)
            break;
        keys[nargs] = p;
        vals[nargs] = "1";
        while (*p && *p != ' ' && *p != '\t' && *p != '\n' && *p != '=')
            p++;
        if (*p == '=') {
            *p++ = 0;
            vals[nargs] = p;
            while (*p && *p != ' ' && *p != '\t' && *p != '\n')
                p++;
        }
        nargs++;
    }
}

const char *arg_str(const char *key, const char *def)
{
    /* The last occurrence wins, like a later --set. */
    for (int i = nargs - 1; i >= 0; i--)
        if (!strcmp(keys[i], key))
            return vals[i];
    return def;
}

long arg_int(const char *key, long def)
{
    const char *v = arg_str(key, NULL);
    if (!v || !*v)
        return def;
    if (!strcmp(v, "true") || !strcmp(v, "yes"))
        return 1;
    if (!strcmp(v, "false") || !strcmp(v, "no"))
        return 0;
    char *end;
    long n = strtol(v, &end, 0);
    return *end ? def : n;
}

int arg_count(void)
{
    return nargs;
}

const char *arg_key(int i)
{
    return i >= 0 && i < nargs ? keys[i] : NULL;
}

const char *arg_value(int i)
{
    return i >= 0 && i < nargs ? vals[i] : NULL;
}
