//! The heap the native peer holds, counted as bench/count_alloc.c counts the C peers': the
//! usable size glibc gives each live block (`malloc_usable_size`), so the three peers'
//! figures compare. Rust's System allocator is glibc's malloc, which is what makes the
//! usable size meaningful here.
//!
//! As in count_alloc.c, counting is off until [`start_counting`]: it costs every allocation
//! a `malloc_usable_size` and an atomic add, which only the heap figures should pay.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

/// The global allocator of the bench binary: System, counting once asked to.
pub struct Counting;

static LIVE: AtomicI64 = AtomicI64::new(0);
static COUNTING: AtomicBool = AtomicBool::new(false);

/// Counts from now on. Blocks allocated before and freed after make [`live_bytes`] too low
/// by their size, even negative; the heap figures are differences of readings all taken
/// after this call, over which every allocation and free counts as if counting had always
/// been on.
pub fn start_counting() {
    COUNTING.store(true, Ordering::Relaxed);
}

/// Bytes of heap in use now.
pub fn live_bytes() -> i64 {
    LIVE.load(Ordering::Relaxed)
}

fn counting() -> bool {
    COUNTING.load(Ordering::Relaxed)
}

fn usable(ptr: *mut u8) -> i64 {
    // SAFETY: `ptr` is a live block System allocated, i.e. one glibc's malloc family made.
    unsafe { libc::malloc_usable_size(ptr.cast()) as i64 }
}

/// `ptr`, a block System just made (or null), after counting it.
fn counted(ptr: *mut u8) -> *mut u8 {
    if !ptr.is_null() && counting() {
        LIVE.fetch_add(usable(ptr), Ordering::Relaxed);
    }
    ptr
}

// SAFETY: every call goes to System with the caller's arguments; the counting only reads
// the blocks' sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        counted(System.alloc(layout))
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        counted(System.alloc_zeroed(layout))
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if counting() {
            LIVE.fetch_sub(usable(ptr), Ordering::Relaxed);
        }
        System.dealloc(ptr, layout);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !counting() {
            return System.realloc(ptr, layout, new_size);
        }
        let old = usable(ptr);
        let new = System.realloc(ptr, layout, new_size);
        if !new.is_null() {
            LIVE.fetch_add(usable(new) - old, Ordering::Relaxed);
        }
        new
    }
}
