/* `hopsim size-report`: privileged code bytes per architecture (see sizereport.c). */
#ifndef HOPSIM_SIZEREPORT_H
#define HOPSIM_SIZEREPORT_H

/* Prints the table; returns the exit code (0, or 1 if an image cannot be read). */
int size_report(const char *guest_dir);

#endif
