/* test_greenrun.c: the greenrun command line.
 *
 * greenrun either replaces itself with the program (whose status is then
 * the result) or refuses with status 2 and one line on stderr starting
 * with "greenrun: ". Refusals must happen before the program runs, so
 * those tests also check that the program wrote nothing. */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "run.h"

/* Run greenrun with args (NULL-terminated) and extra_env, never with
 * libgreen preloaded into greenrun itself. */
static void greenrun(struct run_result *r, const char *const args[], const char *const env[])
{
    const char *argv[32] = {run_env("GREEN_GREENRUN")};
    size_t n = 1;
    for (; args[n - 1]; n++) {
        cr_assert_lt(n, sizeof argv / sizeof argv[0] - 1, "too many arguments");
        argv[n] = args[n - 1];
    }
    argv[n] = NULL;
    int rc = run_prog(r, 0, argv, env, RUN_LIMIT);
    cr_assert_eq(rc, 0, "greenrun did not finish: %s", r->err);
    cr_assert(WIFEXITED(r->status), "greenrun died: status %#x, stderr: %s", r->status, r->err);
}

static int exit_code(const struct run_result *r)
{
    return WEXITSTATUS(r->status);
}

/* greenrun refused: status 2, nothing on stdout, one line on stderr that
 * starts with "greenrun: " and contains each of the words given. */
static void assert_refused(const struct run_result *r, const char *const words[])
{
    cr_expect_eq(exit_code(r), 2, "exit status %d, expected 2; stderr: %s", exit_code(r), r->err);
    cr_expect_eq(r->out_len, 0, "the program ran: stdout %s", r->out);
    cr_expect_eq(strncmp(r->err, "greenrun: ", 10), 0, "stderr does not name greenrun: %s", r->err);
    const char *nl = strchr(r->err, '\n');
    cr_expect(nl && nl[1] == '\0', "stderr is not exactly one line: [%s]", r->err);
    for (size_t i = 0; words && words[i]; i++)
        cr_expect(strstr(r->err, words[i]), "stderr lacks '%s': %s", words[i], r->err);
}

/* A private directory for copies of programs, removed by cleanup(). */
static char tmpdir[] = "/tmp/test_greenrun.XXXXXX";

static void make_tmpdir(void)
{
    cr_assert_not_null(mkdtemp(tmpdir), "mkdtemp failed");
}

static void cleanup(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (strcmp(tmpdir + strlen(tmpdir) - 6, "XXXXXX") != 0 && system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
}

/* Copy file from to tmpdir/name with the given mode; returns the path. */
static char *copy_to_tmp(const char *from, const char *name, mode_t mode)
{
    char *to, *cmd;
    cr_assert(asprintf(&to, "%s/%s", tmpdir, name) > 0);
    cr_assert(asprintf(&cmd, "cp '%s' '%s'", from, to) > 0);
    cr_assert_eq(system(cmd), 0, "%s failed", cmd);
    free(cmd);
    cr_assert_eq(chmod(to, mode), 0, "chmod %s failed", to);
    return to;
}

static char *write_script(const char *name, const char *text)
{
    char *path;
    cr_assert(asprintf(&path, "%s/%s", tmpdir, name) > 0);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "cannot create %s", path);
    fputs(text, f);
    cr_assert_eq(fclose(f), 0);
    cr_assert_eq(chmod(path, 0755), 0);
    return path;
}

/* ---- options --------------------------------------------------------------- */

Test(greenrun, help_exits_0, .timeout = TIMEOUT)
{
    struct run_result r;
    greenrun(&r, (const char *[]){"--help", NULL}, NULL);
    cr_expect_eq(exit_code(&r), 0, "stderr: %s", r.err);
    cr_expect(strstr(r.out, "Usage: greenrun"), "no usage on stdout: %s", r.out);
    cr_expect(strstr(r.out, "--stack-size") && strstr(r.out, "--deadlock"),
              "options missing from the help: %s", r.out);
    cr_expect_eq(r.err_len, 0, "stderr: %s", r.err);
    run_free(&r);
}

Test(greenrun, version_exits_0, .timeout = TIMEOUT)
{
    struct run_result r;
    greenrun(&r, (const char *[]){"--version", NULL}, NULL);
    cr_expect_eq(exit_code(&r), 0, "stderr: %s", r.err);
#ifdef PACKAGE_VERSION
    cr_expect_str_eq(r.out, "greenrun (libgreen) " PACKAGE_VERSION "\n");
#else
    cr_expect_eq(strncmp(r.out, "greenrun (libgreen) ", 20), 0, "stdout: %s", r.out);
#endif
    cr_expect_eq(r.err_len, 0, "stderr: %s", r.err);
    run_free(&r);
}

Test(greenrun, unknown_option_is_named, .timeout = TIMEOUT)
{
    struct run_result r;
    greenrun(&r, (const char *[]){"--frobnicate", "true", NULL}, NULL);
    assert_refused(&r, (const char *[]){"--frobnicate", NULL});
    run_free(&r);
}

Test(greenrun, no_program, .timeout = TIMEOUT)
{
    struct run_result r;
    greenrun(&r, (const char *[]){NULL}, NULL);
    assert_refused(&r, NULL);
    run_free(&r);
}

Test(greenrun, missing_program, .timeout = TIMEOUT)
{
    struct run_result r;
    greenrun(&r, (const char *[]){"/nonexistent/prog", NULL}, NULL);
    assert_refused(&r, NULL);
    cr_expect_str_eq(r.err, "greenrun: /nonexistent/prog: not found\n");
    run_free(&r);

    greenrun(&r, (const char *[]){"no-such-program-in-path", NULL}, NULL);
    assert_refused(&r, NULL);
    cr_expect_str_eq(r.err, "greenrun: no-such-program-in-path: not found\n");
    run_free(&r);
}

Test(greenrun, program_not_executable, .timeout = TIMEOUT, .init = make_tmpdir, .fini = cleanup)
{
    char *path = write_script("plain", "#!/bin/sh\necho ran\n");
    cr_assert_eq(chmod(path, 0644), 0);
    struct run_result r;
    greenrun(&r, (const char *[]){path, NULL}, NULL);
    assert_refused(&r, (const char *[]){"not found", NULL});
    run_free(&r);
    free(path);
}

Test(greenrun, bad_stack_size, .timeout = TIMEOUT)
{
    const char *bad[] = {"", "12Q", "1.5M", "-1", "K", "1KK", "8Mi", "16383", "2048G"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct run_result r;
        greenrun(&r, (const char *[]){"--stack-size", bad[i], "true", NULL}, NULL);
        assert_refused(&r, (const char *[]){"--stack-size", NULL});
        run_free(&r);
    }
    struct run_result r;
    greenrun(&r, (const char *[]){"--stack-size", NULL}, NULL);
    assert_refused(&r, (const char *[]){"--stack-size", NULL});
    run_free(&r);
}

Test(greenrun, bad_deadlock_mode, .timeout = TIMEOUT)
{
    struct run_result r;
    greenrun(&r, (const char *[]){"--deadlock", "maybe", "true", NULL}, NULL);
    assert_refused(&r, (const char *[]){"--deadlock", "maybe", NULL});
    run_free(&r);
}

Test(greenrun, bad_diagnostic_options, .timeout = TIMEOUT)
{
    const char *const cases[][3] = {
        {"--dump-signal", "NOPE", "--dump-signal"},
        {"--dump-signal", "KILL", "--dump-signal"},
        {"--dump-signal", "9", "--dump-signal"},
        {"--watchdog", "12x", "--watchdog"},
        {"--watchdog", "99999999", "--watchdog"},
        {"--helpers", "0", "--helpers"},
        {"--helpers", "2x", "--helpers"},
        {"--helpers", "1025", "--helpers"},
        {"--trace", "", "--trace"},
        {"--stats=", NULL, "--stats"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct run_result r;
        if (cases[i][1])
            greenrun(&r, (const char *[]){cases[i][0], cases[i][1], "true", NULL}, NULL);
        else
            greenrun(&r, (const char *[]){cases[i][0], "true", NULL}, NULL);
        assert_refused(&r, (const char *[]){cases[i][2], NULL});
        run_free(&r);
    }
}

Test(greenrun, missing_library, .timeout = TIMEOUT)
{
    struct run_result r;
    greenrun(&r, (const char *[]){"true", NULL},
             (const char *[]){"GREEN_LIB=/nonexistent/libgreen.so", NULL});
    assert_refused(&r, (const char *[]){"/nonexistent/libgreen.so", NULL});
    run_free(&r);
}

/* ---- programs LD_PRELOAD cannot reach ---------------------------------------- */

Test(greenrun, refuses_static_binary, .timeout = TIMEOUT)
{
    struct run_result r;
    const char *prog = run_prog_path("static_hello");
    cr_assert_eq(access(prog, X_OK), 0, "%s was not built", prog);
    greenrun(&r, (const char *[]){prog, NULL}, NULL);
    assert_refused(&r, (const char *[]){"static", "cannot reach", NULL});
    run_free(&r);
}

Test(greenrun, refuses_script_with_static_interpreter, .timeout = TIMEOUT, .init = make_tmpdir,
     .fini = cleanup)
{
    char *text;
    cr_assert(asprintf(&text, "#!%s\n", run_prog_path("static_hello")) > 0);
    char *path = write_script("script", text);
    struct run_result r;
    greenrun(&r, (const char *[]){path, NULL}, NULL);
    assert_refused(&r, (const char *[]){"static", "interpreter", NULL});
    run_free(&r);
    free(path);
    free(text);
}

Test(greenrun, refuses_setuid_and_setgid, .timeout = TIMEOUT, .init = make_tmpdir, .fini = cleanup)
{
    if (access("/bin/true", R_OK | X_OK) != 0)
        cr_skip_test("no /bin/true to copy");
    char *suid = copy_to_tmp("/bin/true", "suid_true", 04755);
    char *sgid = copy_to_tmp("/bin/true", "sgid_true", 02755);
    struct stat st;
    cr_assert_eq(stat(suid, &st), 0);
    if (!(st.st_mode & S_ISUID))
        cr_skip_test("this file system drops the setuid bit");
    struct run_result r;
    greenrun(&r, (const char *[]){suid, NULL}, NULL);
    assert_refused(&r, (const char *[]){"setuid", "cannot reach", NULL});
    run_free(&r);
    cr_assert_eq(stat(sgid, &st), 0);
    if (st.st_mode & S_ISGID) {
        greenrun(&r, (const char *[]){sgid, NULL}, NULL);
        assert_refused(&r, (const char *[]){"setgid", "cannot reach", NULL});
        run_free(&r);
    }
    free(suid);
    free(sgid);
}

/* ---- running the program ------------------------------------------------------ */

Test(greenrun, prepends_libgreen_once_and_keeps_ld_preload, .timeout = TIMEOUT)
{
    /* greenrun canonicalises the directory, not the file: libgreen.so
     * stays the name preloaded, not the libgreen.so.0.0.0 it links to. */
    char dir[PATH_MAX], *lib;
    const char *name = strrchr(run_env("GREEN_LIB"), '/');
    cr_assert_not_null(name);
    cr_assert(asprintf(&lib, "%.*s", (int)(name - run_env("GREEN_LIB")), run_env("GREEN_LIB")) > 0);
    cr_assert_not_null(realpath(lib, dir), "no %s", lib);
    free(lib);
    cr_assert(asprintf(&lib, "%s%s", dir, name) > 0);
    /* The other entry does not exist: the loader says so on stderr and
     * goes on, which is all this test needs. An older libgreen.so entry,
     * the same one and a separator of each kind must not survive. */
    char *env;
    cr_assert(asprintf(&env, "LD_PRELOAD=/old/libgreen.so /nonexistent/libother.so:%s:", lib) > 0);
    struct run_result r;
    greenrun(&r, (const char *[]){"sh", "-c", "echo \"$LD_PRELOAD\"", NULL},
             (const char *[]){env, NULL});
    char *want;
    cr_assert(asprintf(&want, "%s:/nonexistent/libother.so\n", lib) > 0);
    cr_expect_eq(exit_code(&r), 0, "stderr: %s", r.err);
    cr_expect_str_eq(r.out, want);
    run_free(&r);
    free(want);
    free(env);

    greenrun(&r, (const char *[]){"sh", "-c", "echo \"$LD_PRELOAD\"", NULL}, NULL);
    cr_assert(asprintf(&want, "%s\n", lib) > 0);
    cr_expect_str_eq(r.out, want, "stderr: %s", r.err);
    run_free(&r);
    free(want);
    free(lib);
}

Test(greenrun, options_set_the_environment, .timeout = TIMEOUT)
{
    struct run_result r;
    greenrun(&r,
             (const char *[]){"--stack-size", "64K", "--deadlock=hang", "--", "sh", "-c",
                              "echo \"$GREEN_STACK_SIZE $GREEN_DEADLOCK\"", NULL},
             NULL);
    cr_expect_eq(exit_code(&r), 0, "stderr: %s", r.err);
    cr_expect_str_eq(r.out, "64K hang\n");
    run_free(&r);
    greenrun(&r,
             (const char *[]){"--stats", "--dump-signal", "usr2", "--watchdog=250", "--trace",
                              "/dev/null", "--quiet", "--", "sh", "-c",
                              "echo \"$GREEN_STATS $GREEN_DUMP_SIGNAL $GREEN_WATCHDOG "
                              "$GREEN_TRACE $GREEN_QUIET\"",
                              NULL},
             NULL);
    cr_expect_eq(exit_code(&r), 0, "stderr: %s", r.err);
    cr_expect_str_eq(r.out, "1 usr2 250 /dev/null 1\n");
    run_free(&r);
    greenrun(&r, (const char *[]){"--stats=/dev/null", "sh", "-c", "echo \"$GREEN_STATS\"", NULL},
             NULL);
    cr_expect_str_eq(r.out, "/dev/null\n");
    run_free(&r);
    greenrun(&r, (const char *[]){"--helpers", "5", "sh", "-c", "echo \"$GREEN_HELPERS\"", NULL},
             NULL);
    cr_expect_str_eq(r.out, "5\n", "stderr: %s", r.err);
    run_free(&r);
}

Test(greenrun, arguments_and_status_pass_through, .timeout = TIMEOUT)
{
    struct run_result r;
    greenrun(&r,
             (const char *[]){"sh", "-c", "printf '%s|' \"$@\"; exit 7", "sh", "a b", "", "*",
                              "--help", NULL},
             NULL);
    cr_expect_eq(exit_code(&r), 7, "stderr: %s", r.err);
    cr_expect_str_eq(r.out, "a b||*|--help|");
    run_free(&r);
}
