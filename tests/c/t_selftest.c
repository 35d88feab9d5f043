/* Cases that are wrong on purpose, registered only with EMBER_TEST_SELFTEST=1: they prove that
 * a memory checker wrapped around api_test (AddressSanitizer + UBSan, valgrind memcheck) turns
 * an error inside a forked case into that case's failure. Every one of them passes its own
 * checks: only the checker can fail it. tests/all/sanitizers.rs runs them and expects FAIL. */
#define _POSIX_C_SOURCE 200809L
#include "check.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* Keeps the compiler from proving the bad accesses away. */
static volatile unsigned char g_sink;
static volatile size_t g_index = 16;
static volatile int g_int_max = INT_MAX;

/* A library object never freed: LeakSanitizer (and valgrind's "definitely lost") must see the
 * Rust allocations behind it, which go through the same malloc. */
static void case_leak(const void *arg)
{
    (void)arg;
    ember_config *cfg = NULL;
    CHECK_RC(EMBER_OK, ember_config_new(EMBER_ROLE_SERVER, &cfg));
    cfg = NULL;
out:;
}

/* The library reads past the end of the caller's buffer because the caller lied about its
 * length: the copy into the connection goes through memcpy, which AddressSanitizer
 * intercepts (the Rust code itself is not instrumented), and valgrind sees every byte. */
static void case_overread_in_library(const void *arg)
{
    (void)arg;
    ember_config *cfg = client_config(0, 0, false);
    ember_conn *conn = NULL;
    uint8_t *small = malloc(16);
    size_t n = 0;
    CHECK(cfg && small);
    memset(small, 0x16, 16);
    CHECK_RC(EMBER_OK, ember_conn_new(cfg, "localhost", &conn));
    (void)ember_conn_feed(conn, small, 64, &n); /* whatever it answers: the read is the error */
out:
    ember_conn_free(conn);
    ember_config_free(cfg);
    free(small);
}

/* Laundered through a volatile so the compiler does not see (and refuse) the use after free. */
static unsigned char *volatile g_dangling;

static void case_use_after_free(const void *arg)
{
    (void)arg;
    unsigned char *p = malloc(32);
    if (!p)
        return;
    memset(p, 1, 32);
    g_dangling = p;
    free(p);
    g_sink = g_dangling[g_index];
}

static void case_heap_overflow(const void *arg)
{
    (void)arg;
    unsigned char *p = malloc(16);
    if (!p)
        return;
    memset(p, 1, 16);
    g_sink = p[g_index]; /* one past the end */
    free(p);
}

/* Signed overflow: only UBSan sees this one (valgrind checks memory, not arithmetic). */
static void case_undefined_behaviour(const void *arg)
{
    (void)arg;
    int x = g_int_max;
    volatile int sum = x + 1; /* kept an int: a narrowing cast would make it unsigned arithmetic */
    g_sink = (unsigned char)sum;
}

void run_selftest_cases(void)
{
    run_case(case_leak, NULL, "selftest leak");
    run_case(case_overread_in_library, NULL, "selftest overread_in_library");
    run_case(case_use_after_free, NULL, "selftest use_after_free");
    run_case(case_heap_overflow, NULL, "selftest heap_overflow");
    run_case(case_undefined_behaviour, NULL, "selftest undefined_behaviour");
}
