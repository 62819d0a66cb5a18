/* static_hello: a statically linked program (built with -all-static).
 * The dynamic loader never runs for it, so LD_PRELOAD cannot reach it:
 * greenrun must refuse it instead of running it natively. */
#include <stdio.h>

int main(void)
{
    puts("hello from a static binary");
    return 0;
}
