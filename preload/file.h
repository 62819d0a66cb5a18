/* file.h: reads of regular files for the read interposers (file.c). */
#ifndef GREEN_PRELOAD_FILE_H
#define GREEN_PRELOAD_FILE_H

#include <sys/types.h>
#include <sys/uio.h>

#include "green.h"

/* Read a regular file (or block device) as preadv does at off, or at
 * the file position when off is -1 (as readv, moving it): cached data
 * with RWF_NOWAIT, the rest on a helper thread while the calling green
 * thread waits green. Call only where green_can_block(). Returns the
 * count read (the whole request unless end of file or an error after
 * progress, as a blocking read) or -errno. */
GREEN_YIELDS __attribute__((visibility("hidden"))) ssize_t
preload_file_preadv(int fd, const struct iovec *iov, int cnt, off_t off);

#endif
