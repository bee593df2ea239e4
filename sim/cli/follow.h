/* `hopsim follow TRACE.csv REQUEST [--svg F] [--png F]`: one request's spans (follow.c). */
#ifndef HOPSIM_FOLLOW_H
#define HOPSIM_FOLLOW_H

/* argv after the word follow; returns the exit code. */
int follow_main(int argc, char **argv);

#endif
