/* Help texts: the overview and one per command (help.c). */
#ifndef HOPSIM_HELP_H
#define HOPSIM_HELP_H

#include <stdio.h>

/* cmd's help (NULL: the overview); -1 (after the overview) if cmd is not a command. */
int help_print(const char *cmd, FILE *out);

#endif
