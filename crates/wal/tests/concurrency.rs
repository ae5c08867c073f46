//! Many threads appending and syncing: nothing is lost and group commit shares fsyncs.

mod common;

use std::collections::HashSet;
use std::sync::Arc;

use common::*;
use sightline_wal::FsyncPolicy;

#[test]
fn eight_threads_append_and_sync_always() {
    const THREADS: usize = 8;
    const PER_THREAD: usize = 150;
    let tmp = tempfile::tempdir().unwrap();
    let name = "group_commit";
    let o = opts(name, 16 << 10, FsyncPolicy::Always);
    let (wal, _, _) = open_collect(tmp.path(), o.clone());
    let wal = Arc::new(wal);
    let fsyncs_before = metric("sightline_wal_fsyncs_total", name);

    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let wal = Arc::clone(&wal);
            std::thread::spawn(move || {
                for i in 0..PER_THREAD {
                    let p = format!("t{t}-r{i}");
                    let lsn = wal.append(p.as_bytes()).unwrap();
                    wal.sync(lsn).unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let syncs = (THREADS * PER_THREAD) as f64;
    let fsyncs = metric("sightline_wal_fsyncs_total", name) - fsyncs_before;
    eprintln!("group commit: {fsyncs} fsyncs for {syncs} syncs");
    assert!(fsyncs > 0.0);
    assert!(
        fsyncs < syncs,
        "group commit should share fsyncs: {fsyncs} fsyncs for {syncs} syncs"
    );
    drop(wal);

    let (_wal, report, recs) = open_collect(tmp.path(), o);
    assert_eq!(report.corruption, None);
    assert_eq!(recs.len(), THREADS * PER_THREAD);
    let got: HashSet<String> = recs
        .iter()
        .map(|(_, p)| String::from_utf8(p.clone()).unwrap())
        .collect();
    assert_eq!(got.len(), THREADS * PER_THREAD);
    // Each thread's records replay in the order it appended them.
    for t in 0..THREADS {
        let prefix = format!("t{t}-");
        let order: Vec<usize> = recs
            .iter()
            .filter_map(|(_, p)| {
                let s = std::str::from_utf8(p).unwrap();
                s.strip_prefix(&prefix)?.strip_prefix('r')?.parse().ok()
            })
            .collect();
        assert_eq!(order, (0..PER_THREAD).collect::<Vec<_>>());
    }
}

#[test]
fn sync_of_already_durable_lsn_does_not_fsync() {
    let tmp = tempfile::tempdir().unwrap();
    let name = "synced_fast_path";
    let (wal, _, _) = open_collect(tmp.path(), opts(name, 1 << 20, FsyncPolicy::Always));
    let a = wal.append(b"a").unwrap();
    let b = wal.append(b"b").unwrap();
    wal.sync(b).unwrap();
    let n = metric("sightline_wal_fsyncs_total", name);
    wal.sync(a).unwrap();
    wal.sync(b).unwrap();
    assert_eq!(metric("sightline_wal_fsyncs_total", name), n);
    // A record in a segment that was cut since is durable through the cut.
    let c = wal.append(b"c").unwrap();
    wal.cut_segment().unwrap();
    let n = metric("sightline_wal_fsyncs_total", name);
    wal.sync(c).unwrap();
    assert_eq!(metric("sightline_wal_fsyncs_total", name), n);
}
