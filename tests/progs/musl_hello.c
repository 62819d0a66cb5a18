/* musl_hello: built with musl-gcc (Debian package musl-tools) where it
 * is installed: a real program of another libc for greenrun --check. */
#include <stdio.h>

int main(void)
{
    puts("hello from musl");
    return 0;
}
