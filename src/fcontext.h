/* fcontext.h: the three context-switch entry points of Debian's
 * libboost_context.a (asm objects, C calling convention). Boost ships
 * them without a C header, so they are declared here. */
#ifndef GREEN_FCONTEXT_H
#define GREEN_FCONTEXT_H

#include <stddef.h>

typedef void *fcontext_t;
typedef struct {
    fcontext_t fctx; /* the context that jumped here */
    void *data;      /* the value it passed */
} transfer_t;

/* Suspend the running context and resume `to`, handing it vp. Returns
 * when some context jumps back here. */
transfer_t jump_fcontext(fcontext_t to, void *vp);
/* A context that will run fn on the stack whose top is stack_top. */
fcontext_t make_fcontext(void *stack_top, size_t size, void (*fn)(transfer_t));
/* Resume `to`, but first run fn on its stack. */
transfer_t ontop_fcontext(fcontext_t to, void *vp, transfer_t (*fn)(transfer_t));

#endif
