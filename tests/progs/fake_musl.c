/* fake_musl: linked with musl's loader as its PT_INTERP
 * (-Wl,--dynamic-linker=/lib/ld-musl-x86_64.so.1) so that greenrun
 * --check's musl case is tested where musl-gcc is not installed. It is
 * never run: that loader need not exist. */
#include <stdio.h>

int main(void)
{
    puts("hello");
    return 0;
}
