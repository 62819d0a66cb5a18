/* uring_cat: reads its stdin through io_uring (liburing) and writes what
 * it read: a program whose own I/O libgreen does not see, for greenrun
 * --check. Built only where liburing-dev is installed. */
#include <liburing.h>
#include <stdio.h>
#include <unistd.h>

int main(void)
{
    struct io_uring ring;
    char buf[4096];
    int r = io_uring_queue_init(4, &ring, 0);
    if (r < 0) {
        fprintf(stderr, "io_uring_queue_init: %d\n", r);
        return 1;
    }
    for (;;) {
        struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
        struct io_uring_cqe *cqe;
        io_uring_prep_read(sqe, 0, buf, sizeof buf, -1);
        io_uring_submit(&ring);
        if (io_uring_wait_cqe(&ring, &cqe) < 0)
            return 1;
        int n = cqe->res;
        io_uring_cqe_seen(&ring, cqe);
        if (n <= 0)
            break;
        if (write(1, buf, (size_t)n) != n)
            return 1;
    }
    io_uring_queue_exit(&ring);
    return 0;
}
