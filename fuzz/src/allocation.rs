//! A global allocator that refuses any single allocation above a limit: a reader that
//! reserves memory because an image says so (a length never checked against the image) is
//! a bug even when the memory is never touched, and libFuzzer's own `-malloc_limit_mb` works
//! only under a sanitizer. The fuzz binaries run without one (all our code is safe Rust), so
//! this guard stands in for it: above the limit it says so on stderr and aborts, which
//! libFuzzer reports as a crash and saves the input.
//!
//! The limit is [`DEFAULT_LIMIT_MB`] MiB, or `ODARCHIVE_FUZZ_MAX_ALLOC_MB` when set.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Largest single allocation by default: 256 MiB, far above what the readers need for the
/// ≤ 8 MiB images the targets make (1 MiB copy buffers, directories of a few sectors).
pub const DEFAULT_LIMIT_MB: usize = 256;

/// The limit in bytes; 0 until read from the environment.
static LIMIT: AtomicUsize = AtomicUsize::new(0);

/// The allocator the fuzz binaries use.
#[derive(Debug)]
pub struct LimitedAllocator;

fn limit() -> usize {
    match LIMIT.load(Ordering::Relaxed) {
        0 => {
            // Reading the environment allocates: below the default limit, so no recursion.
            LIMIT.store(DEFAULT_LIMIT_MB << 20, Ordering::Relaxed);
            let mb = std::env::var("ODARCHIVE_FUZZ_MAX_ALLOC_MB")
                .ok()
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or(DEFAULT_LIMIT_MB);
            LIMIT.store(mb.max(1) << 20, Ordering::Relaxed);
            mb.max(1) << 20
        }
        n => n,
    }
}

fn check(size: usize) {
    if size > limit() {
        eprintln!(
            "odarchive-fuzz: allocation of {size} bytes (limit {} MiB): a length taken from the image unchecked?",
            limit() >> 20
        );
        std::process::abort();
    }
}

// SAFETY: every call is passed on unchanged to the system allocator; the only addition is a
// size check before allocating, which never touches the memory.
unsafe impl GlobalAlloc for LimitedAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        check(layout.size());
        // SAFETY: the caller's guarantees for `layout` are passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        check(layout.size());
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` with this `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        check(new_size);
        // SAFETY: `ptr` came from `System` with this `layout`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}
