/*
 * Input files: type and size checks before use, and nameless private
 * copies (see infile.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* O_TMPFILE */
#endif
#include "infile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *kind(mode_t m)
{
    return S_ISDIR(m)    ? "a directory"
           : S_ISFIFO(m) ? "a FIFO"
           : S_ISCHR(m)  ? "a character device"
           : S_ISBLK(m)  ? "a block device"
           : S_ISSOCK(m) ? "a socket"
                         : "not a regular file";
}

int infile_open(const char *path, uint64_t min, uint64_t max, uint64_t *size, char *err,
                size_t errlen)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        goto fail;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: %s, expected a regular file", path, kind(st.st_mode));
        goto fail;
    }
    uint64_t n = (uint64_t)st.st_size;
    if (n == 0 && min > 0) {
        snprintf(err, errlen, "%s: empty file", path);
        goto fail;
    }
    if (n < min || n > max) {
        if (min == max)
            snprintf(err, errlen, "%s: %llu bytes, expected %llu", path, (unsigned long long)n,
                     (unsigned long long)min);
        else
            snprintf(err, errlen, "%s: %llu bytes, expected %llu to %llu", path,
                     (unsigned long long)n, (unsigned long long)min, (unsigned long long)max);
        goto fail;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    if (size)
        *size = n;
    return fd;
fail:
    close(fd);
    return -1;
}

int infile_tmp(char *path, size_t pathlen, char *err, size_t errlen)
{
    const char *dir = getenv("TMPDIR");
    char name[512];
    if (!dir || !*dir)
        dir = "/tmp";
    int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0) { /* a file system without O_TMPFILE: a name that lives for a moment */
        snprintf(name, sizeof name, "%s/hopsim-XXXXXX", dir);
        fd = mkostemp(name, O_CLOEXEC);
        if (fd >= 0)
            unlink(name);
    }
    if (fd < 0) {
        snprintf(err, errlen, "cannot create a temporary file in %s: %s", dir, strerror(errno));
        return -1;
    }
    snprintf(path, pathlen, "/proc/self/fd/%d", fd);
    return fd;
}

int infile_private_copy(const char *src, uint64_t min, uint64_t max, char *path, size_t pathlen,
                        char *err, size_t errlen)
{
    uint64_t size, done = 0;
    int in = infile_open(src, min, max, &size, err, errlen);
    if (in < 0)
        return -1;
    int out = infile_tmp(path, pathlen, err, errlen);
    if (out < 0) {
        close(in);
        return -1;
    }
    char buf[65536];
    while (done < size) { /* never more than the size checked: the file may grow meanwhile */
        size_t want = size - done < sizeof buf ? (size_t)(size - done) : sizeof buf;
        ssize_t n = read(in, buf, want);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            snprintf(err, errlen, "%s: %s", src, n < 0 ? strerror(errno) : "shrank while read");
            goto fail;
        }
        if (write(out, buf, (size_t)n) != n) {
            snprintf(err, errlen, "temporary copy of %s: %s", src, strerror(errno));
            goto fail;
        }
        done += (uint64_t)n;
    }
    close(in);
    return out;
fail:
    close(in);
    close(out);
    path[0] = '\0';
    return -1;
}
