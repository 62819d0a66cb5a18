/* test_file.c: file calls give the same results under libgreen.so as
 * natively (tests/progs/files.c, in a directory of its own). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "run.h"

Test(file, files_same_as_native, .timeout = TIMEOUT)
{
    char dir[] = "/tmp/green-files-XXXXXX";
    cr_assert(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
    assert_same((const char *const[]){"files", dir, NULL});
    rmdir(dir);
}
