/* api_test PKI_DIR [FILTER...]: exercises the whole embertls C API in-process.
 *
 * Prints one line per case ("ok   name" or "FAIL name", failed checks above it) and ends with
 * "N passed, M failed"; the exit status is 1 when a case failed, 2 on a usage error.
 * With FILTERs, only the cases whose name matches one of them run: the name contains the
 * filter, or, for a filter with a wildcard (*, ?, [), the whole name matches it as fnmatch(3)
 * says ("fault *TLSv1.3*"). Each case runs in a forked child so a crash or a hang (killed by an
 * alarm) costs that case only; EMBER_TEST_NOFORK=1 runs them in-process, for a debugger. A
 * case still running after 20 s (EMBER_TEST_CASE_TIMEOUT=seconds changes it, e.g. under
 * valgrind) has hung: it is killed and fails.
 *
 * A child's exit status is its verdict, so a memory checker that makes the exit status non-zero
 * when it finds an error (AddressSanitizer, LeakSanitizer at exit, UBSan with halt_on_error,
 * valgrind --error-exitcode) fails the case it found the error in. EMBER_TEST_SELFTEST=1 adds
 * the "selftest" cases, which make such errors on purpose (t_selftest.c): they must FAIL. */
#define _POSIX_C_SOURCE 200809L
#include "check.h"

#include <errno.h>
#include <fnmatch.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* A hang guard, not a timing assertion: the slowest case takes well under a second. */
static unsigned g_case_timeout_s = 20;

static atomic_int g_check_failures; /* atomic: checks also run in helper threads */
static int g_passed, g_failed;
static char **g_filters; /* NULL-terminated; NULL or empty: every case */
static bool g_nofork;

void check_failed(const char *file, int line, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    printf("    %s:%d: %s\n", file, line, msg);
    fflush(stdout);
    atomic_fetch_add(&g_check_failures, 1);
}

static bool run_in_child(case_fn fn, const void *arg)
{
    pid_t pid = fork();
    if (pid < 0) {
        perror("    fork");
        return false;
    }
    if (pid == 0) {
        alarm(g_case_timeout_s);
        fn(arg);
        /* exit, not _exit: leak checkers (LeakSanitizer) report at exit. stdout was flushed
         * before the fork, so nothing is written twice. */
        exit(atomic_load(&g_check_failures) == 0 ? 0 : 1);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            perror("    waitpid");
            return false;
        }
    }
    if (WIFEXITED(status))
        return WEXITSTATUS(status) == 0;
    if (WTERMSIG(status) == SIGALRM)
        printf("    hung: killed after %u s\n", g_case_timeout_s);
    else
        printf("    crashed: signal %d (%s)\n", WTERMSIG(status), strsignal(WTERMSIG(status)));
    return false;
}

void run_case(case_fn fn, const void *arg, const char *name_fmt, ...)
{
    char name[256];
    va_list ap;
    va_start(ap, name_fmt);
    vsnprintf(name, sizeof name, name_fmt, ap);
    va_end(ap);
    if (g_filters && *g_filters) {
        bool wanted = false;
        for (char **f = g_filters; *f && !wanted; f++)
            wanted = strpbrk(*f, "*?[") ? fnmatch(*f, name, 0) == 0 : strstr(name, *f) != NULL;
        if (!wanted)
            return;
    }

    fflush(stdout);
    atomic_store(&g_check_failures, 0);
    bool ok;
    if (g_nofork) {
        fn(arg);
        ok = atomic_load(&g_check_failures) == 0;
    } else {
        ok = run_in_child(fn, arg);
    }
    printf("%s %s\n", ok ? "ok  " : "FAIL", name);
    fflush(stdout);
    if (ok)
        g_passed++;
    else
        g_failed++;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s PKI_DIR [FILTER...]\n", argv[0]);
        return 2;
    }
    g_pki_dir = argv[1];
    g_filters = argv + 2;
    const char *nofork = getenv("EMBER_TEST_NOFORK");
    g_nofork = nofork && *nofork && strcmp(nofork, "0") != 0;
    const char *timeout = getenv("EMBER_TEST_CASE_TIMEOUT");
    if (timeout && atoi(timeout) > 0)
        g_case_timeout_s = (unsigned)atoi(timeout);
    /* A peer that vanishes must surface as an error code, not kill the process. */
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);

    printf("# %s, PKI in %s\n", ember_version(), g_pki_dir);
    run_api_cases();
    run_trust_cases();
    run_mtls_cases();
    run_transport_cases();
    run_failure_cases();
    run_revocation_cases();
    run_session_cases();
    run_trace_cases();
    run_misuse_cases();
    run_fault_cases();
    run_lifetime_cases();
    const char *selftest = getenv("EMBER_TEST_SELFTEST");
    if (selftest && *selftest && strcmp(selftest, "0") != 0)
        run_selftest_cases();

    printf("%d passed, %d failed\n", g_passed, g_failed);
    return g_failed > 0 ? 1 : 0;
}
