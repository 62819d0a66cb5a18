/* test_stack.c: green thread stacks: sizes, caller-provided stacks,
 * overflow reports, 100,000 threads in one process, and the
 * GREEN_STACK_SIZE setting. */
#include "util.h"

#include <stdalign.h>
#include <sys/mman.h>

/* ---- overflow ------------------------------------------------------------- */

static volatile int stop_diving;

/* Recurse with a 512-byte frame until the stack runs out. */
static int dive(int depth)
{
    volatile char pad[512];
    pad[0] = (char)depth;
    if (stop_diving)
        return pad[0];
    return dive(depth + 1) + pad[0];
}

static void *run_dive(void *arg)
{
    (void)arg;
    return (void *)(intptr_t)dive(0);
}

static void overflow_child(void *stack_size)
{
    CHILD_CHECK(green_init(NULL) == 0);
    struct green_attr attr = {.stack_size = (size_t)stack_size};
    green_thread *t;
    CHILD_CHECK(green_spawn(&t, run_dive, NULL, &attr) == 0);
    green_thread_set_name(t, "deep-diver");
    green_join(t, NULL, GREEN_NEVER);
}

static void check_overflow_report(struct child *c)
{
    cr_assert(WIFSIGNALED(c->status) && WTERMSIG(c->status) == SIGSEGV,
              "the child must die by SIGSEGV; it %s; stderr:\n%s", status_str(c->status), c->out);
    char line[1024];
    const char *needles[] = {"deep-diver", "GREEN_STACK_SIZE", NULL};
    cr_assert(find_line(c->out, needles, line, sizeof line),
              "no line names the thread and GREEN_STACK_SIZE; stderr:\n%s", c->out);
}

Test(stack, overflow_of_a_default_stack_names_the_thread_and_dies_by_sigsegv, .timeout = 30)
{
    static struct child c;
    child_run(&c, overflow_child, (void *)0);
    check_overflow_report(&c);
}

Test(stack, overflow_of_a_64k_stack_names_the_thread_and_dies_by_sigsegv, .timeout = 30)
{
    static struct child c;
    child_run(&c, overflow_child, (void *)(64 * KIB));
    check_overflow_report(&c);
}

/* UBSan would report the store itself: the test is about the signal. */
__attribute__((no_sanitize_undefined)) static void *wild_write(void *arg)
{
    (void)arg;
    volatile int *volatile p = NULL;
    *p = 1;
    return NULL;
}

static void wild_child(void *arg)
{
    (void)arg;
    CHILD_CHECK(green_init(NULL) == 0);
    green_thread *t;
    CHILD_CHECK(green_spawn(&t, wild_write, NULL, NULL) == 0);
    green_join(t, NULL, GREEN_NEVER);
}

Test(stack, a_null_write_dies_by_sigsegv_without_an_overflow_report, .timeout = 30)
{
    static struct child c;
    child_run(&c, wild_child, NULL);
    cr_assert(WIFSIGNALED(c.status) && WTERMSIG(c.status) == SIGSEGV, "child %s; stderr:\n%s",
              status_str(c.status), c.out);
    cr_assert_null(strstr(c.out, "GREEN_STACK_SIZE"),
                   "a fault far from any guard page is not a stack overflow:\n%s", c.out);
}

/* A 64 KiB default from the configuration: 1 MiB of locals must overflow.
 * Not under ASan, whose frame would first be written at its far end,
 * beyond the guard page. */
__attribute__((no_sanitize_address)) static int touch_1m(void)
{
    volatile char big[1024 * 1024];
    for (size_t i = 0; i < sizeof big; i += 512)
        big[sizeof big - 1 - i] = 1;
    return big[0];
}

static void *run_touch_1m(void *arg)
{
    (void)arg;
    return (void *)(intptr_t)touch_1m();
}

static void config_stack_child(void *arg)
{
    (void)arg;
    struct green_config cfg = {.stack_size = 64 * KIB, .deadlock = GREEN_DEADLOCK_ABORT};
    CHILD_CHECK(green_init(&cfg) == 0);
    green_thread *t;
    CHILD_CHECK(green_spawn(&t, run_touch_1m, NULL, NULL) == 0);
    green_thread_set_name(t, "deep-diver");
    green_join(t, NULL, GREEN_NEVER);
}

Test(stack, configured_stack_size_is_the_default_for_new_threads, .timeout = 30)
{
    static struct child c;
    child_run(&c, config_stack_child, NULL);
    check_overflow_report(&c);
}

/* ---- sizes and caller stacks ----------------------------------------------- */

static void *use_32k(void *arg)
{
    (void)arg;
    volatile unsigned char buf[32 * 1024];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (unsigned char)(i * 7);
    green_yield(); /* the locals survive a switch */
    unsigned long sum = 0;
    for (size_t i = 0; i < sizeof buf; i++)
        sum += buf[i];
    return (void *)(uintptr_t)sum;
}

Test(stack, a_64k_stack_holds_32k_of_locals, .timeout = 20)
{
    GREEN_INIT();
    unsigned long want = 0;
    for (size_t i = 0; i < 32 * 1024; i++)
        want += (unsigned char)(i * 7);
    struct green_attr attr = {.stack_size = 64 * KIB};
    green_thread *t[4];
    for (int i = 0; i < 4; i++)
        cr_assert_eq(green_spawn(&t[i], use_32k, NULL, &attr), 0);
    for (int i = 0; i < 4; i++)
        cr_assert_eq((unsigned long)(uintptr_t)join_ok(t[i]), want);
}

static void *nothing(void *arg)
{
    return arg;
}

Test(stack, stack_size_below_green_stack_min_is_einval, .timeout = 20)
{
    GREEN_INIT();
    green_thread *t = NULL;
    struct green_attr attr = {.stack_size = GREEN_STACK_MIN - 1};
    cr_assert_eq(green_spawn(&t, nothing, NULL, &attr), -EINVAL);
    attr.stack_size = 4096;
    cr_assert_eq(green_spawn(&t, nothing, NULL, &attr), -EINVAL);
    attr.stack_size = GREEN_STACK_MIN;
    cr_assert_eq(green_spawn(&t, nothing, (void *)3, &attr), 0, "exactly GREEN_STACK_MIN");
    cr_assert_eq(join_ok(t), (void *)3);
    cr_assert_not(green_others_exist(), "the failed spawns left no thread behind");
}

/* Sizes whose page rounding or guard addition wraps around must fail like
 * any other stack that cannot be had. Tried in a child: a core that
 * starts a thread on a zero-byte stack crashes inside green_spawn. */
static const size_t huge_sizes[] = {SIZE_MAX, SIZE_MAX - 10, SIZE_MAX - 4095, (size_t)1 << 62};

static void huge_stack_child(void *arg)
{
    size_t size = huge_sizes[(intptr_t)arg];
    CHILD_CHECK(green_init(NULL) == 0);
    green_thread *t = NULL;
    struct green_attr attr = {.stack_size = size};
    int r = green_spawn(&t, nothing, NULL, &attr);
    fprintf(stderr, "result %d\n", r);
    _exit(0);
}

Test(stack, a_stack_too_large_to_map_is_eagain, .timeout = 20)
{
    for (size_t i = 0; i < sizeof huge_sizes / sizeof huge_sizes[0]; i++) {
        static struct child c;
        child_run(&c, huge_stack_child, (void *)(intptr_t)i);
        cr_assert(WIFEXITED(c.status) && WEXITSTATUS(c.status) == 0,
                  "green_spawn with stack_size %#zx: the child %s; stderr:\n%s", huge_sizes[i],
                  status_str(c.status), c.out);
        int r = 0;
        cr_assert_eq(sscanf(c.out, "result %d", &r), 1, "stderr: %s", c.out);
        cr_assert_eq(r, -EAGAIN, "stack_size %#zx: %d", huge_sizes[i], r);
    }
}

static uintptr_t seen_sp;

static void *where_am_i(void *arg)
{
    volatile char here = 0;
    seen_sp = (uintptr_t)&here;
    green_yield();
    cr_expect_eq(green_sleep_until(in_ms(1)), 0, "a caller-stack thread can sleep");
    return arg;
}

Test(stack, a_caller_provided_stack_is_used, .timeout = 20)
{
    GREEN_INIT();
    enum { SIZE = 64 * 1024 };
    static alignas(4096) unsigned char mem[SIZE];
    struct green_attr attr = {.stack_size = SIZE, .stack_addr = mem};
    green_thread *t;
    cr_assert_eq(green_spawn(&t, where_am_i, (void *)5, &attr), 0);
    cr_assert_eq(join_ok(t), (void *)5);
    cr_assert(seen_sp >= (uintptr_t)mem && seen_sp < (uintptr_t)mem + SIZE,
              "locals at %#lx, outside the given stack [%p, %p)", (unsigned long)seen_sp,
              (void *)mem, (void *)(mem + SIZE));

    /* the same memory can serve again once the thread is joined */
    cr_assert_eq(green_spawn(&t, where_am_i, (void *)6, &attr), 0);
    cr_assert_eq(join_ok(t), (void *)6);
}

Test(stack, a_misaligned_or_too_small_caller_stack_is_einval, .timeout = 20)
{
    GREEN_INIT();
    static alignas(4096) unsigned char mem[64 * 1024 + 64];
    green_thread *t;
    struct green_attr attr = {.stack_size = 64 * 1024, .stack_addr = mem + 1};
    cr_assert_eq(green_spawn(&t, nothing, NULL, &attr), -EINVAL, "misaligned stack_addr");
    attr = (struct green_attr){.stack_size = 1024, .stack_addr = mem};
    cr_assert_eq(green_spawn(&t, nothing, NULL, &attr), -EINVAL, "caller stack below minimum");
}

/* ---- 100,000 threads --------------------------------------------------------- */

enum { MANY = 100000 };
static green_thread **many;
static green_sem gate;
static int parked, released, early;
static int64_t common_deadline;

static void *park_on_gate(void *arg)
{
    parked++;
    if (green_sem_wait(&gate, GREEN_NEVER) == 0)
        released++;
    return arg;
}

static void *park_until_deadline(void *arg)
{
    parked++;
    if (green_sleep_until(common_deadline) == 0)
        released++;
    if (green_now() < common_deadline)
        early++;
    return arg;
}

static void spawn_many(void *(*fn)(void *), const struct green_attr *attr)
{
    many = calloc(MANY, sizeof *many);
    cr_assert_not_null(many);
    for (int i = 0; i < MANY; i++) {
        int r = green_spawn(&many[i], fn, (void *)(intptr_t)i, attr);
        cr_assert_eq(r, 0, "spawn %d of %d: %d (%s)", i, MANY, r, strerror(-r));
    }
}

static void join_many(void)
{
    for (int i = 0; i < MANY; i++) {
        void *v = NULL;
        int r = green_join(many[i], &v, GREEN_NEVER);
        cr_assert_eq(r, 0, "join %d: %d", i, r);
        cr_assert_eq(v, (void *)(intptr_t)i);
    }
    free(many);
}

Test(stack, hundred_thousand_threads_with_default_stacks_park_and_finish, .timeout = 120)
{
    GREEN_INIT();
    spawn_many(park_on_gate, NULL);
    green_yield(); /* every thread runs once and parks on the gate */
    cr_assert_eq(parked, MANY, "parked %d", parked);
    cr_assert_eq(released, 0);
    for (int i = 0; i < MANY; i++)
        cr_assert_eq(green_sem_post(&gate), 0);
    join_many();
    cr_assert_eq(released, MANY);
    cr_assert_not(green_others_exist());
}

Test(stack, hundred_thousand_threads_with_64k_stacks_sleep_to_one_deadline, .timeout = 120)
{
    GREEN_INIT();
    struct green_attr attr = {.stack_size = 64 * KIB};
    spawn_many(park_until_deadline, &attr);
    common_deadline = in_ms(100); /* read by the threads when they first run */
    join_many();
    cr_assert_eq(parked, MANY);
    cr_assert_eq(released, MANY, "%d sleeps did not return 0", MANY - released);
    cr_assert_eq(early, 0, "%d threads woke before the deadline", early);
}

/* ---- pages given back --------------------------------------------------------- */

static long rss_kib(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    cr_assert_not_null(f);
    cr_assert_eq(fscanf(f, "%ld %ld", &pages, &resident), 2);
    fclose(f);
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static void *touch_1m_and_park(void *arg)
{
    (void)arg;
    touch_1m();
    parked++;
    green_sem_wait(&gate, GREEN_NEVER);
    return NULL;
}

Test(stack, touched_stack_pages_are_given_back_when_threads_end, .timeout = 60)
{
    GREEN_INIT();
    enum { N = 500 };
    static green_thread *t[N];
    long before = rss_kib();
    for (int i = 0; i < N; i++)
        t[i] = spawn_ok(touch_1m_and_park, NULL);
    green_yield();
    cr_assert_eq(parked, N);
    long peak = rss_kib();
    cr_assert_gt(peak - before, (long)N * 1024 / 2, "each thread holds its touched MiB");
    for (int i = 0; i < N; i++)
        green_sem_post(&gate);
    for (int i = 0; i < N; i++)
        join_ok(t[i]);
    long after = rss_kib();
    cr_assert_lt(after - before, (peak - before) / 4,
                 "stacks of ended threads keep their pages: %ld KiB before, %ld at peak, %ld after",
                 before, peak, after);
}

/* ---- page tables ------------------------------------------------------------- */

static long status_kib(const char *name)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    size_t len = strlen(name);
    long v = -1;
    cr_assert_not_null(f);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, name, len) == 0 && line[len] == ':')
            v = strtol(line + len + 1, NULL, 10);
    fclose(f);
    cr_assert_geq(v, 0, "no %s in /proc/self/status", name);
    return v;
}

/* Whether MADV_DONTNEED over whole 2 MiB ranges frees their page-table
 * pages (CONFIG_PT_RECLAIM, Linux 6.14+): 64 of them, 256 KiB. */
static bool kernel_reclaims_page_tables(void)
{
    size_t pmd = 2 * KIB * KIB, len = 65 * pmd;
    char *p =
        mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    cr_assert_neq(p, MAP_FAILED);
    char *a = (char *)(((uintptr_t)p + pmd - 1) & ~(pmd - 1));
    for (int i = 0; i < 64; i++)
        a[i * pmd] = 1;
    long touched = status_kib("VmPTE");
    madvise(a, 64 * pmd, MADV_DONTNEED);
    bool freed = status_kib("VmPTE") < touched - 128;
    munmap(p, len);
    return freed;
}

static void *park(void *arg)
{
    parked++;
    green_sem_wait(&gate, GREEN_NEVER);
    return arg;
}

/* A parked thread touches the top page of its stack, so each 8 MiB
 * stack costs a page-table page. Default stacks have the native size for
 * the first 32,768 threads (as many as natively fit) and past them are
 * compact, two to a page-table page; once joined, threads give their
 * page tables back. */
Test(stack, default_stacks_past_native_share_page_tables_and_give_them_back, .timeout = 120)
{
    GREEN_INIT();
    enum { NATIVE = 32768, MORE = 8192, N = NATIVE + MORE };
    green_thread **t = calloc(N, sizeof *t);
    cr_assert_not_null(t);
    bool reclaims = kernel_reclaims_page_tables();
    long before = status_kib("VmPTE");
    for (int i = 0; i < NATIVE; i++)
        t[i] = spawn_ok(park, NULL);
    green_yield();
    long native = status_kib("VmPTE");
    for (int i = NATIVE; i < N; i++)
        t[i] = spawn_ok(park, NULL);
    green_yield();
    cr_assert_eq(parked, N);
    long peak = status_kib("VmPTE");
    cr_assert_geq(native - before, NATIVE * 3, "native-size stacks: %ld KiB of page tables for %d",
                  native - before, NATIVE);
    cr_assert_leq(peak - native, MORE * 5 / 2, "%ld KiB of page tables for %d more threads",
                  peak - native, MORE);
    for (int i = 0; i < N; i++)
        green_sem_post(&gate);
    for (int i = 0; i < N; i++)
        join_ok(t[i]);
    free(t);
    long after = status_kib("VmPTE");
    if (!reclaims)
        cr_skip("this kernel keeps emptied page tables (no CONFIG_PT_RECLAIM)");
#ifdef GREEN_SANITIZE
    cr_skip("ASan's shadow memory of the stacks keeps page tables of its own");
#endif
    /* The hot pools' 2 x 64 stacks keep theirs, and the upper levels
     * (a page per GiB of address space) stay. */
    cr_assert_leq(after - before, (peak - before) / 16,
                  "page tables of joined threads are kept: %ld KiB before, %ld at peak, %ld after",
                  before, peak, after);
}

/* ---- GREEN_STACK_SIZE ------------------------------------------------------------ */

static int stack_env(const char *value, struct green_config *cfg, char *err, size_t errlen)
{
    unsetenv("GREEN_DEADLOCK");
    if (value)
        setenv("GREEN_STACK_SIZE", value, 1);
    else
        unsetenv("GREEN_STACK_SIZE");
    memset(cfg, 0, sizeof *cfg);
    memset(err, 0, errlen);
    return green_config_from_env(cfg, err, errlen);
}

Test(config, stack_size_accepts_plain_numbers_and_k_m_g_suffixes, .timeout = 20)
{
    static const struct {
        const char *text;
        size_t bytes;
    } ok[] = {
        {"65536", 65536},        {"256K", 256 * KIB},      {"8M", 8 * KIB * KIB},
        {"1G", KIB * KIB * KIB}, {"16K", GREEN_STACK_MIN},
    };
    struct green_config cfg;
    char err[256];
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        int r = stack_env(ok[i].text, &cfg, err, sizeof err);
        cr_assert_eq(r, 0, "GREEN_STACK_SIZE=%s: %d (%s)", ok[i].text, r, err);
        cr_assert_eq(cfg.stack_size, ok[i].bytes, "GREEN_STACK_SIZE=%s gave %zu", ok[i].text,
                     cfg.stack_size);
    }
    cr_assert_eq(stack_env(NULL, &cfg, err, sizeof err), 0, "unset is fine");
}

Test(config, stack_size_garbage_too_small_or_too_big_is_einval_and_named, .timeout = 20)
{
    static const char *const bad[] = {
        "abc", "12Q", "64KB?", "-64K", "1K", "16383", "99999999999999999999", "20000000000G",
    };
    struct green_config cfg;
    char err[256];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int r = stack_env(bad[i], &cfg, err, sizeof err);
        cr_assert_eq(r, -EINVAL, "GREEN_STACK_SIZE=%s: %d, cfg.stack_size %zu", bad[i], r,
                     cfg.stack_size);
        cr_assert(strstr(err, "GREEN_STACK_SIZE"), "GREEN_STACK_SIZE=%s: message \"%s\"", bad[i],
                  err);
        cr_assert_null(strchr(err, '\n'), "one line without newline: \"%s\"", err);
    }
}

Test(config, error_message_respects_errlen, .timeout = 20)
{
    struct green_config cfg;
    char err[32];
    memset(err, 'X', sizeof err);
    setenv("GREEN_STACK_SIZE", "abc", 1);
    unsetenv("GREEN_DEADLOCK");
    cr_assert_eq(green_config_from_env(&cfg, err, 8), -EINVAL);
    cr_assert_lt(strnlen(err, 8), (size_t)8, "the message is terminated within errlen");
    for (size_t i = 8; i < sizeof err; i++)
        cr_assert_eq(err[i], 'X', "byte %zu past errlen was written", i);
}
