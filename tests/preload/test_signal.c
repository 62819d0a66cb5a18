/* test_signal.c: signal handlers, masks and waits give the same results
 * under libgreen.so as natively; an alarm interrupts a Python sleep. */
#include <criterion/criterion.h>

#include "run.h"

Test(signal, signals_same_as_native, .timeout = TIMEOUT)
{
    assert_same((const char *const[]){"signals", NULL});
}

/* signal.alarm interrupts time.sleep after about 1 s, not 10. */
Test(signal, python_alarm_interrupts_sleep, .timeout = TIMEOUT)
{
    need_python();
    const char *code = "import signal, threading, time\n"
                       "class Alarm(Exception): pass\n"
                       "def h(s, f): raise Alarm()\n"
                       "signal.signal(signal.SIGALRM, h)\n"
                       "stop = threading.Event()\n"
                       "other = threading.Thread(target=stop.wait); other.start()\n"
                       "signal.alarm(1)\n"
                       "try:\n    time.sleep(10); print('not interrupted')\n"
                       "except Alarm:\n    print('interrupted')\n"
                       "stop.set(); other.join()\n";
    struct run_result r;
    run_ok(&r, 1, (const char *const[]){PYTHON, "-c", code, NULL}, NULL);
    cr_expect_str_eq(r.out, "interrupted\n", "stderr: %s", r.err);
    cr_expect_lt(r.elapsed, 5.0, "alarm(1) ended sleep(10) after %.2f s", r.elapsed);
    run_free(&r);
}
