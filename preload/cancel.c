/* cancel.c: deferred cancellation and cleanup handlers of green threads.
 *
 * C's pthread_cleanup_push expands to a setjmp into a buffer on the
 * caller's stack and __pthread_register_cancel(buffer); glibc keeps the
 * buffers in a list per OS thread, which all green threads would share.
 * libgreen keeps the list in the green thread's struct pthr instead
 * (linked through the buffer's spare words). To end a thread it jumps
 * into the innermost buffer: the expansion runs the handler and calls
 * __pthread_unwind_next, which jumps on to the next one and, after the
 * last, finishes the exit. C++ frames are not unwound.
 *
 * Cancellation is deferred: pthread_cancel marks the target and
 * interrupts its wait when that is a cancellation point (green_cancel).
 * Which waits are, and when they act, is the core's wait policy
 * (green_wait); this file gives it the two hooks it needs: whether a
 * cancellation is due, and ending the thread. */
#include "pthr.h"

/* glibc's __pthread_unwind_buf_t: jump buffer, then four spare words. */
struct unwind_buf {
    struct {
        long jmp[8];
        int mask_was_saved;
    } jb[1];
    void *pad[4];
};
_Static_assert(sizeof(struct unwind_buf) <= sizeof(__pthread_unwind_buf_t),
               "cleanup buffer layout");

PRELOAD_EXPORT void __pthread_register_cancel(__pthread_unwind_buf_t *buf)
{
    if (!green_self()) {
        real___pthread_register_cancel(buf);
        return;
    }
    struct pthr *p = pthr_self();
    ((struct unwind_buf *)buf)->pad[0] = p->cleanup;
    p->cleanup = buf;
}

PRELOAD_EXPORT void __pthread_unregister_cancel(__pthread_unwind_buf_t *buf)
{
    if (!green_self()) {
        real___pthread_unregister_cancel(buf);
        return;
    }
    pthr_self()->cleanup = ((struct unwind_buf *)buf)->pad[0];
}

/* glibc's longjmp, typed for a cleanup buffer (which is a jmp_buf cut
 * short after the mask flag: the saved mask is never read, as the
 * buffer was set without one). */
extern void jump_to_buf(void *jb, int val) __asm__("longjmp") __attribute__((noreturn));

void pthr_unwind(struct pthr *p)
{
    struct unwind_buf *b = p->cleanup;
    p->cleanup = b->pad[0];
    jump_to_buf(b->jb, 1);
}

/* Called by the cleanup expansion after each handler. */
PRELOAD_EXPORT void __pthread_unwind_next(__pthread_unwind_buf_t *buf)
{
    if (!green_self())
        real___pthread_unwind_next(buf);
    struct pthr *p = pthr_self();
    if (p->cleanup)
        pthr_unwind(p);
    pthr_exit(p->retval);
}

/* 1 when the caller is a green thread with an enabled cancellation
 * pending (green_cancel_point would end it), 0 otherwise. */
static int cancel_due(void)
{
    if (!green_self())
        return 0;
    struct pthr *p = pthr_self();
    return p && p->cancel_pending && p->cancel_state == PTHREAD_CANCEL_ENABLE && !p->exiting;
}

/* Acting on a cancellation is the core's (green_cancel_point, and every
 * wait that is a cancellation point): it asks cancel_due and ends
 * the thread with cancel_now. */
static void cancel_now(void)
{
    pthr_exit(PTHREAD_CANCELED);
}

__attribute__((constructor)) static void cancel_init(void)
{
    green_cancel_hooks(cancel_due, cancel_now);
}

PRELOAD_EXPORT void pthread_testcancel(void)
{
    if (!green_self()) {
        real_pthread_testcancel();
        return;
    }
    green_cancel_point(NULL, NULL);
}

PRELOAD_EXPORT int pthread_cancel(pthread_t t)
{
    if (!green_self())
        return real_pthread_cancel(t);
    green_thread *g = pthr_from_ptid(t);
    struct pthr *p = pthr_of(g);
    if (!p)
        return 0; /* it has ended; not joined yet */
    p->cancel_pending = 1;
    if (p->cancel_state == PTHREAD_CANCEL_ENABLE) {
        if (g == green_self() && p->cancel_type == PTHREAD_CANCEL_ASYNCHRONOUS)
            green_cancel_point(NULL, NULL);
        green_cancel(g);
    }
    return 0;
}

PRELOAD_EXPORT int pthread_setcancelstate(int state, int *old)
{
    if (!green_self())
        return real_pthread_setcancelstate(state, old);
    if (state != PTHREAD_CANCEL_ENABLE && state != PTHREAD_CANCEL_DISABLE)
        return EINVAL;
    struct pthr *p = pthr_self();
    if (old)
        *old = p->cancel_state;
    p->cancel_state = state;
    return 0;
}

/* Asynchronous cancellation acts only at the points deferred one does:
 * nothing preempts a green thread. */
PRELOAD_EXPORT int pthread_setcanceltype(int type, int *old)
{
    if (!green_self())
        return real_pthread_setcanceltype(type, old);
    if (type != PTHREAD_CANCEL_DEFERRED && type != PTHREAD_CANCEL_ASYNCHRONOUS)
        return EINVAL;
    struct pthr *p = pthr_self();
    if (old)
        *old = p->cancel_type;
    p->cancel_type = type;
    return 0;
}
