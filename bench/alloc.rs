//! The heap the native peer holds, counted as bench/count_alloc.c counts the C peers': the
//! usable size glibc gives each live block (`malloc_usable_size`), so the three peers'
//! figures compare. Rust's System allocator is glibc's malloc, which is what makes the
//! usable size meaningful here.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicI64, Ordering};

/// The global allocator of the bench binary: System, counting.
pub struct Counting;

static LIVE: AtomicI64 = AtomicI64::new(0);

/// Bytes of heap in use now.
pub fn live_bytes() -> i64 {
    LIVE.load(Ordering::Relaxed)
}

fn usable(ptr: *mut u8) -> i64 {
    // SAFETY: `ptr` is a live block System allocated, i.e. one glibc's malloc family made.
    unsafe { libc::malloc_usable_size(ptr.cast()) as i64 }
}

// SAFETY: every call goes to System with the caller's arguments; the counting only reads
// the blocks' sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = System.alloc(layout);
        if !ptr.is_null() {
            LIVE.fetch_add(usable(ptr), Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let ptr = System.alloc_zeroed(layout);
        if !ptr.is_null() {
            LIVE.fetch_add(usable(ptr), Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(usable(ptr), Ordering::Relaxed);
        System.dealloc(ptr, layout);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let old = usable(ptr);
        let new = System.realloc(ptr, layout, new_size);
        if !new.is_null() {
            LIVE.fetch_add(usable(new) - old, Ordering::Relaxed);
        }
        new
    }
}
