/* thread.c: green thread life: spawn, exit, join, detach, reap. */
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "list.h"

static void all_link(green_thread *t)
{
    t->all_prev = NULL;
    t->all_next = green__s.all;
    if (green__s.all)
        green__s.all->all_prev = t;
    green__s.all = t;
}

static void all_unlink(green_thread *t)
{
    if (t->all_prev)
        t->all_prev->all_next = t->all_next;
    else if (green__s.all == t)
        green__s.all = t->all_next;
    if (t->all_next)
        t->all_next->all_prev = t->all_prev;
    t->all_prev = t->all_next = NULL;
}

/* Thread records allocated, and their count at the last trim or peak. */
static size_t records, records_mark;

/* Heap freed by ended threads lies between blocks still in use, where
 * free() cannot return it: malloc_trim does. Done once the records have
 * halved since their peak or the last trim, so a few times in any run. */
static void record_free(green_thread *t)
{
    free(t);
    if (--records <= records_mark / 2 && records_mark >= 4096) {
        malloc_trim(0);
        records_mark = records;
    }
}

static void trampoline(transfer_t from)
{
    green__thread_started(from);
    green_thread *self = green__current;
    green__tls_started(self);
    green_exit(self->fn(self->arg));
}

static int attach_stack(green_thread *t, const struct green_attr *attr)
{
    if (attr && attr->stack_addr) {
        if (attr->stack_size < GREEN_STACK_MIN || ((uintptr_t)attr->stack_addr & 15))
            return -EINVAL;
        t->stack = (struct green_stack){.base = attr->stack_addr, .size = attr->stack_size};
        return 0;
    }
    size_t size = attr && attr->stack_size ? attr->stack_size : green__s.cfg.stack_size;
    if (size < GREEN_STACK_MIN)
        return -EINVAL;
    return green__stack_alloc(&t->stack, size, attr ? attr->guard_size : 0);
}

int green_spawn(green_thread **out, void *(*fn)(void *), void *arg, const struct green_attr *attr)
{
    green_thread *t = calloc(1, sizeof *t);
    if (!t)
        return -EAGAIN;
    /* The core's own mmap and madvise: the safety net need not trap them
     * (a signal each, a few microseconds per thread made). */
    unsigned char net = green__net_open();
    int r = attach_stack(t, attr);
    if (r == 0 && (r = green__tls_alloc(t)) < 0 && t->stack.owned)
        green__stack_free(&t->stack);
    green__net_close(net);
    if (r < 0) {
        free(t);
        return r;
    }
    char *top = t->stack.base + t->stack.guard + t->stack.size;
    t->ctx = make_fcontext(top, t->stack.size, trampoline);
    t->fn = fn;
    t->arg = arg;
    if (++records > records_mark)
        records_mark = records;
    t->id = ++green__s.next_id;
    t->tid = (int)(GREEN_TID_BASE + t->id);
    t->detached = attr && attr->detached;
    t->sigmask = green__current ? green__current->sigmask : 0; /* inherited */
    green__timer_init(t);
    all_link(t);
    if (++green__s.live > green__stats.peak)
        green__stats.peak = green__s.live;
    green__slice_arm();
    green__ready(t);
    *out = t;
    return 0;
}

/* Called on another stack once t has switched away for the last time. */
void green__thread_reap(green_thread *t)
{
    /* Not preemptible (where the core is linked into the program, its
     * code would be): a joiner switched to halfway would free t first. */
    bool was = green__in_core;
    green__in_core = true;
    if (green__s.cfg.stats && t->stack.owned) {
        size_t used = green__stack_depth(&t->stack);
        if (used > green__stats.deepest)
            green__stats.deepest = used;
    }
    unsigned char net = green__net_open(); /* as in green_spawn */
    if (t->stack.owned)
        green__stack_free(&t->stack);
    t->stack.owned = false;
    green__tls_free(t);
    green__net_close(net);
    if (t->detached && t != green__s.main)
        record_free(t);
    green__in_core = was;
}

void green_exit(void *retval)
{
    green_thread *self = green__current;
    green_tls_dtors();
    self->retval = retval;
    self->state = T_EXITED;
    all_unlink(self);
    while (self->joinq.head)
        green__wake(self->joinq.head->t, 0);
    if (--green__s.live == 0)
        exit(0); /* the last thread is gone: the process ends, as natively */
    green__schedule();
    abort(); /* an exited thread is never resumed */
}

int green_join(green_thread *t, void **retval, int64_t deadline)
{
    green_thread *self = green__current;
    if (deadline == 0 && t->state != T_EXITED)
        return -EBUSY; /* tryjoin: glibc says so before any other check */
    if (t == self)
        return -EDEADLK;
    if (t->detached || t->joining)
        return -EINVAL;
    while (t->state != T_EXITED) {
        if (deadline == 0)
            return -EBUSY;
        green_cancel_point(NULL, NULL);
        struct green_waiter w;
        green__waiter_add(&t->joinq, &w, self);
        t->joining = true;
        self->cancel_point = true;
        int r = green__block(W_JOIN, t, deadline, false);
        self->cancel_point = false;
        t->joining = false;
        if (r == -ETIMEDOUT && t->state != T_EXITED)
            return -ETIMEDOUT;
        if (t->state != T_EXITED) /* a cancellation ends the caller here */
            green__settle(GREEN_CALL_JOIN, r, deadline, 0, NULL, NULL);
    }
    if (retval)
        *retval = t->retval;
    green__reap_dead(); /* t itself, maybe: its record goes now */
    t->detached = true; /* joined: nobody may join it again */
    if (t != green__s.main)
        record_free(t);
    return 0;
}

int green_detach(green_thread *t)
{
    if (t->detached || t->joining)
        return -EINVAL;
    green__reap_dead(); /* t itself, maybe: it must not free t below */
    t->detached = true;
    /* Already exited and reaped: only the record is left. */
    if (t->state == T_EXITED && !t->stack.owned && t != green__s.main)
        record_free(t);
    return 0;
}

unsigned long green_thread_id(const green_thread *t)
{
    return t->id;
}

int green_thread_tid(const green_thread *t)
{
    return t->tid;
}

green_thread *green_thread_by_tid(int tid)
{
    for (green_thread *t = green__s.all; t; t = t->all_next)
        if (t->tid == tid)
            return t;
    return NULL;
}

void green_thread_set_name(green_thread *t, const char *name)
{
    strncpy(t->name, name ? name : "", sizeof t->name - 1);
    t->name[sizeof t->name - 1] = '\0';
}

const char *green_thread_name(const green_thread *t)
{
    return t->name;
}

void green_thread_info(const green_thread *t, struct green_attr *out)
{
    *out = (struct green_attr){
        .stack_addr = t->stack.base ? t->stack.base + t->stack.guard : NULL,
        .stack_size = t->stack.base ? t->stack.size : 0,
        .guard_size = t->stack.guard,
        .detached = t->detached,
    };
}

void **green_thread_userdata(green_thread *t)
{
    return &t->userdata;
}

/* After fork, in the child: the other threads do not exist there. Their
 * wait records leave every queue (their stacks are still mapped, so the
 * records can be read), their timers stop, their stacks go. */
void green__threads_drop_others(void)
{
    green_thread *self = green__current, *next;
    for (green_thread *t = green__s.all; t; t = next) {
        next = t->all_next;
        if (t == self)
            continue;
        green__unwait(t);
        if (ev_is_active(&t->timer))
            ev_timer_stop(green__s.loop, &t->timer);
        all_unlink(t);
        t->state = T_EXITED;
        t->joinq.head = t->joinq.tail = NULL;
        green__thread_reap(t);
    }
    green__s.runq.head = green__s.runq.tail = NULL;
    green__s.runq.len = 0;
    green__s.live = 1;
    green__s.outside = 0;
}
