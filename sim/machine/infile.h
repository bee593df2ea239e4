/*
 * Input files a user or a scenario names (flash images, guest ELFs, disk
 * images to check): checked for type and size before anything reads them,
 * and private copies that never have a name on disk.
 */
#ifndef HOPSIM_INFILE_H
#define HOPSIM_INFILE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Open `path` read-only without blocking (a FIFO does not hang the open):
 * it must be a regular file of min..max bytes. Returns the fd (size in
 * *size), or -1 with "PATH: what is wrong" in err (a directory, a device,
 * a FIFO, empty, too large).
 */
int infile_open(const char *path, uint64_t min, uint64_t max, uint64_t *size, char *err,
                size_t errlen);

/*
 * A temporary file without a name ($TMPDIR or /tmp; O_TMPFILE, else
 * mkstemp and unlink at once), so nothing is left behind however the
 * process ends. Returns the fd, and in `path` "/proc/self/fd/N", a name
 * other code can open it by while the fd is open; -1 with err on failure.
 */
int infile_tmp(char *path, size_t pathlen, char *err, size_t errlen);

/* infile_tmp holding a copy of the regular file `src` of min..max bytes; -1 with err. */
int infile_private_copy(const char *src, uint64_t min, uint64_t max, char *path, size_t pathlen,
                        char *err, size_t errlen);

#endif
