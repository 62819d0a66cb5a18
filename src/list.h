/* list.h: the FIFO wait queue (intrusive, doubly linked). */
#ifndef GREEN_LIST_H
#define GREEN_LIST_H

#include "internal.h"

static inline void waitq_push(struct green_waitq *q, struct green_waiter *w)
{
    w->q = q;
    w->next = NULL;
    w->prev = q->tail;
    if (q->tail)
        q->tail->next = w;
    else
        q->head = w;
    q->tail = w;
}

static inline void waitq_remove(struct green_waiter *w)
{
    struct green_waitq *q = w->q;
    if (!q)
        return;
    if (w->prev)
        w->prev->next = w->next;
    else
        q->head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    else
        q->tail = w->prev;
    w->q = NULL;
    w->prev = w->next = NULL;
}

#endif
