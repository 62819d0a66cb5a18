/* test_check.c: greenrun --check PROGRAM, and greenrun installed under
 * another root.
 *
 * --check reads the program without running it and says in sentences
 * whether libgreen reaches it: status 0 when it does, 2 when it cannot,
 * the sentences on stdout. Each case has a program built for it
 * (tests/progs); the real musl, io_uring and Go programs are built only
 * where their compiler or library is installed, and their tests say so
 * when skipped (the detection itself is covered by crafted programs). */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "run.h"

static char tmpdir[] = "/tmp/test_check.XXXXXX";

static void make_tmpdir(void)
{
    cr_assert_not_null(mkdtemp(tmpdir), "mkdtemp failed");
}

static void cleanup(void)
{
    char *cmd;
    if (strcmp(tmpdir + strlen(tmpdir) - 6, "XXXXXX") == 0)
        return;
    cr_assert(asprintf(&cmd, "rm -rf '%s'", tmpdir) > 0);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
    free(cmd);
}

static void shell(const char *fmt, const char *a, const char *b)
{
    char *cmd;
    cr_assert(asprintf(&cmd, fmt, a, b) > 0);
    cr_assert_eq(system(cmd), 0, "%s failed", cmd);
    free(cmd);
}

/* greenrun [args...] PROGRAM with --check first; the run must end. */
static void check(struct run_result *r, const char *prog, const char *const env[])
{
    const char *argv[] = {run_env("GREEN_GREENRUN"), "--check", prog, NULL};
    run_must_finish(r, 0, argv, env, RUN_LIMIT);
    cr_assert(WIFEXITED(r->status), "greenrun died: status %#x, stderr: %s", r->status, r->err);
}

/* Status `status`, nothing on stderr, at least one line on stdout, each
 * a sentence (ends with a full stop), containing each of the words. */
static void expect_said(const struct run_result *r, int status, const char *const words[])
{
    cr_expect_eq(WEXITSTATUS(r->status), status, "status %d, expected %d; stdout: %s stderr: %s",
                 WEXITSTATUS(r->status), status, r->out, r->err);
    cr_expect_eq(r->err_len, 0, "stderr: %s", r->err);
    cr_expect(r->out_len > 0 && r->out[r->out_len - 1] == '\n', "no line: [%s]", r->out);
    for (const char *l = r->out; *l; l = strchr(l, '\n') + 1) {
        const char *nl = strchr(l, '\n');
        cr_assert_not_null(nl);
        cr_expect(nl > l && nl[-1] == '.', "not a sentence: [%.*s]", (int)(nl - l), l);
    }
    for (size_t i = 0; words[i]; i++)
        cr_expect(strstr(r->out, words[i]), "stdout lacks '%s': %s", words[i], r->out);
}

/* Skip the current test, and say why in the log (criterion prints skips
 * only when verbose). */
#define SKIP(why)                                          \
    do {                                                   \
        fprintf(stderr, "test_check: skipped: %s\n", why); \
        cr_skip_test("%s", why);                           \
    } while (0)

static const char *built(const char *name)
{
    const char *prog = run_prog_path(name);
    cr_assert_eq(access(prog, X_OK), 0, "%s was not built", prog);
    return prog;
}

/* ---- what libgreen reaches ---------------------------------------------------- */

Test(check, glibc_program_is_reached_and_not_run, .timeout = TIMEOUT)
{
    struct run_result r;
    check(&r, built("threads_basic"), NULL);
    expect_said(&r, 0,
                (const char *[]){"uses glibc: libgreen reaches it", "green threads",
                                 "MADV_GUARD_INSTALL", "pidfd", "Syscall User Dispatch",
                                 "The kernel is Linux", NULL});
    cr_expect_null(strstr(r.out, "io_uring"), "no io_uring here: %s", r.out);
    cr_expect_null(strstr(r.out, "makecontext"), "no makecontext here: %s", r.out);
    run_free(&r);
}

Test(check, program_in_path_and_script, .timeout = TIMEOUT, .init = make_tmpdir, .fini = cleanup)
{
    struct run_result r;
    check(&r, "sh", NULL);
    expect_said(&r, 0, (const char *[]){"sh is a dynamically linked program", NULL});
    run_free(&r);

    char *script;
    cr_assert(asprintf(&script, "%s/script", tmpdir) > 0);
    shell("printf '#!/bin/sh\\necho script-ran\\n' > '%s' && chmod 755 '%s'", script, script);
    check(&r, script, NULL);
    expect_said(&r, 0, (const char *[]){"is a script", "/bin/sh", "libgreen reaches it", NULL});
    cr_expect_null(strstr(r.out, "script-ran"), "the script ran: %s", r.out);
    run_free(&r);

    shell("printf '#!%s\\n' > '%s'", run_prog_path("static_hello"), script);
    check(&r, script, NULL);
    expect_said(&r, 2, (const char *[]){"is a script", "statically linked", NULL});
    run_free(&r);
    free(script);
}

/* Its own contexts: said, and true: the coroutine waits in read while the
 * pthread writes, natively and under the shim alike. */
Test(check, makecontext_program, .timeout = TIMEOUT)
{
    struct run_result r;
    check(&r, built("ucontext_switch"), NULL);
    expect_said(&r, 0, (const char *[]){"libgreen reaches it", "makecontext", NULL});
    run_free(&r);
    assert_same((const char *const[]){"ucontext_switch", NULL});
}

Test(check, io_uring_program, .timeout = TIMEOUT)
{
    const char *prog = run_prog_path("uring_cat");
    if (access(prog, X_OK) != 0)
        SKIP("liburing-dev is not installed: uring_cat was not built, io_uring not tested");
    struct run_result r;
    check(&r, prog, NULL);
    expect_said(&r, 0,
                (const char *[]){"libgreen reaches it", "io_uring", "blocks the OS thread", NULL});
    run_free(&r);
}

/* ---- what it cannot reach ----------------------------------------------------- */

Test(check, static_program, .timeout = TIMEOUT)
{
    struct run_result r;
    check(&r, built("static_hello"), NULL);
    expect_said(&r, 2, (const char *[]){"statically linked", "cannot reach", NULL});
    cr_expect_null(strstr(r.out, "kernel"), "nothing to say of the kernel: %s", r.out);
    run_free(&r);
}

Test(check, setuid_and_setgid_programs, .timeout = TIMEOUT, .init = make_tmpdir, .fini = cleanup)
{
    const char *modes[] = {"4755", "2755"};
    for (size_t i = 0; i < 2; i++) {
        char *copy;
        cr_assert(asprintf(&copy, "%s/prog%zu", tmpdir, i) > 0);
        shell("cp '%s' '%s'", built("threads_basic"), copy);
        shell("chmod %s '%s'", modes[i], copy);
        struct stat st;
        cr_assert_eq(stat(copy, &st), 0);
        if (!(st.st_mode & (S_ISUID | S_ISGID)))
            SKIP("this file system drops the setuid and setgid bits");
        struct run_result r;
        check(&r, copy, NULL);
        expect_said(&r, 2, (const char *[]){"setuid or setgid", "cannot reach", NULL});
        run_free(&r);
        free(copy);
    }
}

Test(check, go_program_crafted, .timeout = TIMEOUT)
{
    struct run_result r;
    check(&r, built("fake_go"), NULL);
    expect_said(&r, 2, (const char *[]){"is a Go program", "cannot reach", NULL});
    run_free(&r);
}

Test(check, go_program_real, .timeout = 300, .init = make_tmpdir, .fini = cleanup)
{
    if (system("command -v go >/dev/null 2>&1") != 0)
        SKIP("no Go compiler (go) on PATH: a real Go binary is not tested "
             "(fake_go covers the detection)");
    char *bin, *cmd;
    cr_assert(asprintf(&bin, "%s/go_hello", tmpdir) > 0);
    cr_assert(
        asprintf(
            &cmd,
            "cd '%s' && HOME='%s' GOCACHE='%s/cache' go build -o '%s' '%s/tests/progs/go_hello.go'",
            tmpdir, tmpdir, tmpdir, bin, run_env("GREEN_SRCDIR")) > 0);
    cr_assert_eq(system(cmd), 0, "%s failed", cmd);
    struct run_result r;
    check(&r, bin, NULL);
    expect_said(&r, 2, (const char *[]){"is a Go program", "cannot reach", NULL});
    run_free(&r);
    free(cmd);
    free(bin);
}

Test(check, musl_program_crafted, .timeout = TIMEOUT)
{
    struct run_result r;
    check(&r, built("fake_musl"), NULL);
    expect_said(&r, 2, (const char *[]){"uses musl libc", "ld-musl", "cannot reach", NULL});
    run_free(&r);
}

Test(check, musl_program_real, .timeout = TIMEOUT, .init = make_tmpdir, .fini = cleanup)
{
    if (system("command -v musl-gcc >/dev/null 2>&1") != 0)
        SKIP("musl-gcc (Debian package musl-tools) is not on PATH: a real musl "
             "program is not tested (fake_musl covers the detection)");
    char *bin, *src;
    cr_assert(asprintf(&bin, "%s/musl_hello", tmpdir) > 0);
    cr_assert(asprintf(&src, "%s/tests/progs/musl_hello.c", run_env("GREEN_SRCDIR")) > 0);
    shell("musl-gcc -o '%s' '%s'", bin, src);
    struct run_result r;
    check(&r, bin, NULL);
    expect_said(&r, 2, (const char *[]){"uses musl libc", "cannot reach", NULL});
    run_free(&r);
    free(src);
    free(bin);
}

/* The same program with its ELF class byte changed, and a file that is
 * neither ELF nor a script. */
Test(check, other_architecture_and_not_a_program, .timeout = TIMEOUT, .init = make_tmpdir,
     .fini = cleanup)
{
    char *copy;
    cr_assert(asprintf(&copy, "%s/other", tmpdir) > 0);
    shell("cp '%s' '%s'", built("threads_basic"), copy);
    FILE *f = fopen(copy, "r+");
    cr_assert_not_null(f);
    cr_assert_eq(fseek(f, 4, SEEK_SET), 0);
    cr_assert_neq(fputc(sizeof(void *) == 8 ? 1 : 2, f), EOF);
    cr_assert_eq(fclose(f), 0);
    struct run_result r;
    check(&r, copy, NULL);
    expect_said(&r, 2, (const char *[]){"another architecture", NULL});
    run_free(&r);

    shell("echo 'plain text' > '%s' && chmod 755 '%s'", copy, copy);
    check(&r, copy, NULL);
    expect_said(&r, 2, (const char *[]){"neither an ELF program nor a script", NULL});
    run_free(&r);
    free(copy);
}

Test(check, help_names_it, .timeout = TIMEOUT)
{
    struct run_result r;
    const char *argv[] = {run_env("GREEN_GREENRUN"), "--help", NULL};
    run_must_finish(&r, 0, argv, NULL, RUN_LIMIT);
    cr_expect(strstr(r.out, "--check"), "--check missing from the help: %s", r.out);
    run_free(&r);
}

/* ---- installed under another root ------------------------------------------- */

/* greenrun, libgreen.so.0 and greenrun-check copied to where `make install`
 * puts them, under a temporary root: greenrun finds the library and the
 * helper there, with no path of the build tree, as from an unpacked
 * package. */
Test(check, installed_under_another_root, .timeout = TIMEOUT, .init = make_tmpdir, .fini = cleanup)
{
    const char *dirs[][2] = {{"GREEN_BINDIR", "GREEN_GREENRUN"},
                             {"GREEN_LIBDIR", "GREEN_LIB"},
                             {"GREEN_PKGLIBEXECDIR", "GREEN_CHECK_HELPER"}};
    char *dest[3];
    for (size_t i = 0; i < 3; i++) {
        cr_assert(asprintf(&dest[i], "%s%s", tmpdir, run_env(dirs[i][0])) > 0);
        shell("mkdir -p '%1$s' && cp -L '%2$s' '%1$s'", dest[i], run_env(dirs[i][1]));
    }
    shell("mv '%s/libgreen.so' '%s/libgreen.so.0'", dest[1], dest[1]);
    char *greenrun;
    cr_assert(asprintf(&greenrun, "%s/greenrun", dest[0]) > 0);
    const char *env[] = {"GREEN_LIB", NULL};
    const char *argv[] = {greenrun, "sh", "-c", "echo $LD_PRELOAD; grep Threads /proc/self/status",
                          NULL};
    struct run_result r;
    run_must_finish(&r, 0, argv, env, RUN_LIMIT);
    char *want;
    cr_assert(asprintf(&want, "%s/libgreen.so.0\nThreads:\t1\n", dest[1]) > 0);
    cr_expect_str_eq(r.out, want, "stderr: %s", r.err);
    run_free(&r);

    const char *argv2[] = {greenrun, "--check", "sh", NULL};
    run_must_finish(&r, 0, argv2, env, RUN_LIMIT);
    expect_said(&r, 0, (const char *[]){"libgreen reaches it", NULL});
    run_free(&r);
    free(want);
    free(greenrun);
    for (size_t i = 0; i < 3; i++)
        free(dest[i]);
}
