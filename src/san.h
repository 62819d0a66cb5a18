/* san.h: telling AddressSanitizer about the switches between green
 * stacks (a build with configure --enable-sanitizers defines
 * GREEN_SANITIZE; elsewhere these functions are empty).
 *
 * ASan assumes one stack per OS thread. Announced switches let it check
 * each access against the stack it is on and clear the right stack when
 * a function does not return (longjmp, exit). ASan's fake frames
 * (detect_stack_use_after_return) are not kept per green thread: run
 * with that option off, its default. */
#ifndef GREEN_SAN_H
#define GREEN_SAN_H

#include "internal.h"

#ifdef GREEN_SANITIZE
#include <sanitizer/common_interface_defs.h>

/* The OS thread's own stack, where main runs: ASan reports its bounds
 * at the first switch away from it. */
static const void *main_bottom;
static size_t main_size;

/* Before the running thread jumps to next. */
static inline void san_switch_begin(green_thread *next)
{
    if (next == green__s.main)
        __sanitizer_start_switch_fiber(NULL, main_bottom, main_size);
    else
        __sanitizer_start_switch_fiber(NULL, next->stack.base + next->stack.guard,
                                       next->stack.size);
}

/* First thing after a jump, on the thread jumped to; prev ran before. */
static inline void san_switch_end(green_thread *prev)
{
    const void *bottom;
    size_t size;
    __sanitizer_finish_switch_fiber(NULL, &bottom, &size);
    if (prev == green__s.main) {
        main_bottom = bottom;
        main_size = size;
    }
}
#else
static inline void san_switch_begin(green_thread *next)
{
    (void)next;
}

static inline void san_switch_end(green_thread *prev)
{
    (void)prev;
}
#endif

#endif
