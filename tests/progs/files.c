/* files: regular file reads and syncs from threads.
 *
 *   files DIR
 *
 * Writes a 4 MiB file in DIR, syncs it every way (fsync, fdatasync,
 * syncfs, sync_file_range), drops it from the page cache
 * (POSIX_FADV_DONTNEED after the sync) and reads it back with read in
 * odd-sized chunks, checking every byte, the final offset and EOF, while
 * another thread keeps sleeping. Bad fds give EBADF. The output is the
 * same natively and under libgreen. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SIZE (4 << 20)

static volatile int stop;

static void *idler(void *arg)
{
    (void)arg;
    struct timespec ts = {0, 10000000};
    while (!stop)
        nanosleep(&ts, NULL);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    char path[4096];
    snprintf(path, sizeof path, "%s/files.data", argv[1]);
    pthread_t t;
    pthread_create(&t, NULL, idler, NULL);
    unsigned char *buf = malloc(SIZE);
    for (size_t i = 0; i < SIZE; i++)
        buf[i] = (unsigned char)(i * 7 + i / 4096);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || write(fd, buf, SIZE) != SIZE)
        return 1;
    printf("fsync %d fdatasync %d syncfs %d sync_file_range %d\n", fsync(fd), fdatasync(fd),
           syncfs(fd), sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE));
    posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    lseek(fd, 0, SEEK_SET);
    unsigned char *back = malloc(SIZE);
    size_t got = 0;
    ssize_t r;
    while ((r = read(fd, back + got, got + 100003 > SIZE ? SIZE - got : 100003)) > 0)
        got += (size_t)r;
    printf("read back %zu bytes, same: %s, offset %ld, last read %zd\n", got,
           got == SIZE && !memcmp(buf, back, SIZE) ? "yes" : "no", (long)lseek(fd, 0, SEEK_CUR), r);
    r = read(fd, back, 10);
    printf("read at EOF: %zd\n", r);
    close(fd);
    errno = 0;
    int e = fsync(fd);
    printf("fsync closed fd: %d %s\n", e, strerror(errno));
    e = fdatasync(-1);
    printf("fdatasync -1: %d %s\n", e, strerror(errno));
    r = read(fd, back, 10);
    printf("read closed fd: %zd %s\n", r, strerror(errno));
    unlink(path);
    stop = 1;
    pthread_join(t, NULL);
    return 0;
}
