/* fake_go: a C program that carries the section a Go linker writes into
 * every Go binary (.go.buildinfo), so that greenrun --check's Go case is
 * tested where no Go compiler is installed. Never run under the shim. */
#include <stdio.h>

__attribute__((used, section(".go.buildinfo"))) static const char buildinfo[32] =
    "\xff Go buildinf:";

int main(void)
{
    puts(buildinfo + 2);
    return 0;
}
