/*
 * Counts the heap a C peer holds: malloc and friends, defined here, count the usable size
 * (malloc_usable_size) of every live block and hand the work to glibc's own allocator
 * (__libc_malloc & co., which glibc exports for exactly this).
 *
 * The program is linked with -rdynamic, so libembertls.so (Rust's System allocator),
 * libssl and libcrypto all allocate through these definitions: no LD_PRELOAD. bench/native.rs
 * counts the same way with a #[global_allocator], so the three peers' figures compare.
 *
 * Counting costs a malloc_usable_size and an atomic add per call, which weighs on a library
 * in proportion to how often it allocates (OpenSSL far more than rustls per handshake), so
 * it is off unless the heap figures are measured (heap_count_start).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>

#include "peer.h"

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void *__libc_memalign(size_t align, size_t size);
extern void __libc_free(void *p);

static long long live;
static int counting;

/* Blocks allocated before this call and freed after it make `live` too low by their size,
 * even negative; the heap figures are differences of readings all taken after it, over
 * which every allocation and free counts as if counting had always been on. */
void heap_count_start(void)
{
    __atomic_store_n(&counting, 1, __ATOMIC_RELAXED);
}

static int is_counting(void)
{
    return __atomic_load_n(&counting, __ATOMIC_RELAXED);
}

static void *counted(void *p)
{
    if (p != NULL && is_counting())
        __atomic_add_fetch(&live, (long long)malloc_usable_size(p), __ATOMIC_RELAXED);
    return p;
}

static void uncount(void *p)
{
    if (p != NULL && is_counting())
        __atomic_sub_fetch(&live, (long long)malloc_usable_size(p), __ATOMIC_RELAXED);
}

long long heap_live_bytes(void)
{
    return __atomic_load_n(&live, __ATOMIC_RELAXED);
}

void *malloc(size_t size)
{
    return counted(__libc_malloc(size));
}

void *calloc(size_t n, size_t size)
{
    return counted(__libc_calloc(n, size));
}

void free(void *p)
{
    uncount(p);
    __libc_free(p);
}

void *realloc(void *p, size_t size)
{
    if (!is_counting())
        return __libc_realloc(p, size);
    size_t old = p != NULL ? malloc_usable_size(p) : 0;
    void *q = __libc_realloc(p, size);

    if (q == NULL && p != NULL && size != 0)
        return NULL; /* failed: p is untouched */
    __atomic_sub_fetch(&live, (long long)old, __ATOMIC_RELAXED);
    return counted(q);
}

void *reallocarray(void *p, size_t n, size_t size)
{
    if (size != 0 && n > SIZE_MAX / size) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc(p, n * size);
}

void *memalign(size_t align, size_t size)
{
    return counted(__libc_memalign(align, size));
}

void *aligned_alloc(size_t align, size_t size)
{
    return memalign(align, size);
}

int posix_memalign(void **out, size_t align, size_t size)
{
    if (align < sizeof(void *) || (align & (align - 1)) != 0)
        return EINVAL;
    void *p = memalign(align, size);
    if (p == NULL)
        return ENOMEM;
    *out = p;
    return 0;
}

void *valloc(size_t size)
{
    return memalign(4096, size);
}

void *pvalloc(size_t size)
{
    return memalign(4096, (size + 4095) & ~(size_t)4095);
}
