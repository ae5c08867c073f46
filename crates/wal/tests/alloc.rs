//! The append path allocates nothing per record once its buffer has grown.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use common::*;
use sightline_wal::FsyncPolicy;

struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCS: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn steady_state_appends_do_not_allocate() {
    let tmp = tempfile::tempdir().unwrap();
    let (wal, _, _) = open_collect(tmp.path(), opts("alloc", 64 << 20, FsyncPolicy::Always));
    let payload = vec![7u8; 200];
    let batch: Vec<&[u8]> = vec![&payload; 16];
    // Warm up: grow the encode buffer to its working size.
    for _ in 0..10 {
        wal.append_batch(&batch).unwrap();
    }
    COUNTING.store(true, Ordering::SeqCst);
    for _ in 0..1000 {
        let lsn = wal.append(&payload).unwrap();
        wal.append_batch(&batch).unwrap();
        wal.sync(lsn).unwrap();
    }
    COUNTING.store(false, Ordering::SeqCst);
    assert_eq!(ALLOCS.load(Ordering::SeqCst), 0);
}
