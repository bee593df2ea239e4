/* hopsim trace-be: a JSON trace's spans as nested begin/end pairs (tracebe.c). */
#ifndef HOPSIM_CLI_TRACEBE_H
#define HOPSIM_CLI_TRACEBE_H

/* argv: TRACE.json OUT.json. Returns the exit status (0, 1 bad trace, 2 usage). */
int trace_be_main(int argc, char **argv);

#endif
