//! Append/replay roundtrips, segment cutting, checkpoints and bookkeeping.

mod common;

use common::*;
use sightline_wal::{FsyncPolicy, Lsn, RecordSource, Wal, WalError};

#[test]
fn roundtrip_across_many_segments() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("wal");
    let o = opts("rt_many", 1024, FsyncPolicy::Never);
    let (wal, report, recs) = open_collect(&dir, o.clone());
    assert_eq!(report.records, 0);
    assert!(recs.is_empty());
    assert_eq!(wal.segment_range(), (1, 1));

    let mut written = Vec::new();
    let mut last = Lsn(0);
    for i in 0..2000 {
        // Every 500th record is larger than a whole segment.
        let p = if i % 500 == 499 {
            vec![i as u8; 3000]
        } else {
            payload(i)
        };
        let lsn = wal.append(&p).unwrap();
        assert!(lsn > last, "lsn must grow");
        last = lsn;
        written.push(p);
    }
    let (first, lastseg) = wal.segment_range();
    assert_eq!(first, 1);
    assert!(lastseg > 50, "expected many segments, got {lastseg}");
    assert_eq!(
        segments_on_disk(&dir),
        (first..=lastseg).collect::<Vec<_>>()
    );
    for s in first..lastseg {
        let len = std::fs::metadata(seg_path(&dir, s)).unwrap().len();
        // A segment only exceeds the size when it holds one oversized record.
        assert!(
            len <= 1024 || len == 16 + 9 + 3000,
            "segment {s} is {len} bytes"
        );
    }
    let size: u64 = segments_on_disk(&dir)
        .iter()
        .map(|&s| std::fs::metadata(seg_path(&dir, s)).unwrap().len())
        .sum();
    assert_eq!(wal.size_bytes(), size);
    wal.close().unwrap();
    assert!(matches!(wal.append(b"x"), Err(WalError::Closed)));
    drop(wal);

    let (wal, report, recs) = open_collect(&dir, o);
    assert_eq!(report.corruption, None);
    assert_eq!(report.records, 2000);
    assert_eq!(report.segments, lastseg);
    assert_eq!(payloads(&recs), written);
    // Records arrive tagged with ascending segment indices.
    let mut prev = 0;
    for (src, _) in &recs {
        let RecordSource::Segment(s) = *src else {
            panic!("unexpected source {src:?}")
        };
        assert!(s >= prev);
        prev = s;
    }
    // A new segment is started after the last one; lsns keep growing across reopen.
    assert_eq!(wal.segment_range(), (1, lastseg + 1));
    assert!(wal.append(b"after").unwrap() > last);
}

#[test]
fn append_batch_roundtrip_across_segment_boundaries() {
    let tmp = tempfile::tempdir().unwrap();
    let o = opts("batch", 700, FsyncPolicy::Always);
    let (wal, _, _) = open_collect(tmp.path(), o.clone());
    let mut written = Vec::new();
    for b in 0..40 {
        let batch: Vec<Vec<u8>> = (0..25).map(|i| payload(b * 25 + i)).collect();
        let refs: Vec<&[u8]> = batch.iter().map(|v| v.as_slice()).collect();
        let lsn = wal.append_batch(&refs).unwrap();
        wal.sync(lsn).unwrap();
        written.extend(batch);
    }
    // An empty batch is accepted and writes nothing.
    let before = wal.size_bytes();
    wal.append_batch(&[]).unwrap();
    assert_eq!(wal.size_bytes(), before);
    drop(wal);
    let (_wal, report, recs) = open_collect(tmp.path(), o);
    assert_eq!(report.corruption, None);
    assert_eq!(payloads(&recs), written);
}

#[test]
fn cut_segment_starts_next_index() {
    let tmp = tempfile::tempdir().unwrap();
    let o = opts("cut", 1 << 20, FsyncPolicy::Never);
    let (wal, _, _) = open_collect(tmp.path(), o.clone());
    wal.append(b"a").unwrap();
    assert_eq!(wal.cut_segment().unwrap(), 2);
    wal.append(b"b").unwrap();
    assert_eq!(wal.cut_segment().unwrap(), 3);
    assert_eq!(wal.segment_range(), (1, 3));
    assert_eq!(segments_on_disk(tmp.path()), vec![1, 2, 3]);
    drop(wal);
    let (_wal, _, recs) = open_collect(tmp.path(), o);
    assert_eq!(
        recs,
        vec![
            (RecordSource::Segment(1), b"a".to_vec()),
            (RecordSource::Segment(2), b"b".to_vec())
        ]
    );
}

#[test]
fn checkpoint_replaces_older_segments() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let o = opts("ckpt", 512, FsyncPolicy::Always);
    let (wal, _, _) = open_collect(dir, o.clone());
    for i in 0..100 {
        wal.append(&payload(i)).unwrap();
    }
    let next = wal.cut_segment().unwrap();
    let upto = next - 1;
    // Checkpointing the segment being written is refused.
    assert!(matches!(
        wal.checkpoint(next, &mut std::iter::empty()),
        Err(WalError::InvalidCheckpoint(_))
    ));
    let cp_records: Vec<Vec<u8>> = (0..300).map(|i| format!("cp-{i}").into_bytes()).collect();
    wal.checkpoint(upto, &mut cp_records.clone().into_iter())
        .unwrap();
    assert!(dir.join(format!("checkpoint.{upto:08}")).is_dir());
    assert_eq!(segments_on_disk(dir), vec![next]);
    assert_eq!(wal.segment_range(), (next, next));
    // The same checkpoint cannot be written twice.
    assert!(matches!(
        wal.checkpoint(upto, &mut std::iter::empty()),
        Err(WalError::InvalidCheckpoint(_))
    ));
    let later: Vec<Vec<u8>> = (0..50).map(|i| format!("later-{i}").into_bytes()).collect();
    for p in &later {
        wal.append(p).unwrap();
    }
    drop(wal);

    let (wal, report, recs) = open_collect(dir, o.clone());
    assert_eq!(report.checkpoint, Some(upto));
    assert_eq!(report.corruption, None);
    assert_eq!(report.records, 350);
    let (cp, seg): (Vec<_>, Vec<_>) = recs
        .iter()
        .partition(|(s, _)| *s == RecordSource::Checkpoint);
    assert_eq!(
        cp.iter().map(|(_, p)| p.clone()).collect::<Vec<_>>(),
        cp_records
    );
    assert_eq!(
        seg.iter().map(|(_, p)| p.clone()).collect::<Vec<_>>(),
        later
    );
    assert!(seg
        .iter()
        .all(|(s, _)| matches!(s, RecordSource::Segment(i) if *i > upto)));
    // Checkpoint records come first.
    assert!(recs[..300]
        .iter()
        .all(|(s, _)| *s == RecordSource::Checkpoint));

    // A second checkpoint supersedes the first, which is deleted.
    let next2 = wal.cut_segment().unwrap();
    wal.checkpoint(next2 - 1, &mut vec![b"only".to_vec()].into_iter())
        .unwrap();
    assert!(!dir.join(format!("checkpoint.{upto:08}")).exists());
    let on_disk: u64 = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            if p.is_dir() {
                std::fs::read_dir(&p)
                    .unwrap()
                    .map(|f| f.unwrap().metadata().unwrap().len())
                    .sum::<u64>()
            } else {
                p.metadata().unwrap().len()
            }
        })
        .sum();
    assert_eq!(wal.size_bytes(), on_disk);
    drop(wal);
    let (_wal, report, recs) = open_collect(dir, o);
    assert_eq!(report.checkpoint, Some(next2 - 1));
    assert_eq!(payloads(&recs), vec![b"only".to_vec()]);
}

#[test]
fn large_checkpoint_spans_several_files() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let o = opts("ckpt_large", 256, FsyncPolicy::Never);
    let (wal, _, _) = open_collect(dir, o.clone());
    wal.append(b"x").unwrap();
    let next = wal.cut_segment().unwrap();
    let cp: Vec<Vec<u8>> = (0..200).map(payload).collect();
    wal.checkpoint(next - 1, &mut cp.clone().into_iter())
        .unwrap();
    let files = std::fs::read_dir(dir.join(format!("checkpoint.{:08}", next - 1)))
        .unwrap()
        .count();
    assert!(files > 10, "expected many checkpoint files, got {files}");
    drop(wal);
    let (_wal, report, recs) = open_collect(dir, o);
    assert_eq!(report.corruption, None);
    assert_eq!(payloads(&recs), cp);
}

#[test]
fn leftovers_of_an_interrupted_checkpoint_are_cleaned() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let o = opts("ckpt_left", 1 << 20, FsyncPolicy::Never);
    let (wal, _, _) = open_collect(dir, o.clone());
    wal.append(b"one").unwrap();
    wal.cut_segment().unwrap();
    wal.append(b"two").unwrap();
    drop(wal);
    // A crash while writing a checkpoint leaves a .tmp directory.
    std::fs::create_dir(dir.join("checkpoint.00000001.tmp")).unwrap();
    std::fs::write(dir.join("checkpoint.00000001.tmp/00000000"), b"partial").unwrap();
    let (_wal, report, recs) = open_collect(dir, o);
    assert_eq!(report.corruption, None);
    assert_eq!(report.checkpoint, None);
    assert_eq!(payloads(&recs), vec![b"one".to_vec(), b"two".to_vec()]);
    assert!(!dir.join("checkpoint.00000001.tmp").exists());
}

#[test]
fn interval_policy_fsyncs_in_background() {
    let tmp = tempfile::tempdir().unwrap();
    let name = "interval";
    let o = opts(
        name,
        1 << 20,
        FsyncPolicy::Interval(std::time::Duration::from_millis(20)),
    );
    let (wal, _, _) = open_collect(tmp.path(), o.clone());
    let before = metric("sightline_wal_fsyncs_total", name);
    let lsn = wal.append(b"hello").unwrap();
    wal.sync(lsn).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while metric("sightline_wal_fsyncs_total", name) <= before {
        assert!(
            std::time::Instant::now() < deadline,
            "no background fsync happened"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    drop(wal);
    let (_wal, _, recs) = open_collect(tmp.path(), o);
    assert_eq!(payloads(&recs), vec![b"hello".to_vec()]);
}

#[test]
fn zero_interval_is_rejected() {
    let tmp = tempfile::tempdir().unwrap();
    let o = opts(
        "zero",
        1 << 20,
        FsyncPolicy::Interval(std::time::Duration::ZERO),
    );
    assert!(matches!(
        Wal::open(tmp.path(), o, |_, _| {}),
        Err(WalError::InvalidOptions(_))
    ));
}

#[test]
fn metrics_count_appends_and_segments() {
    let tmp = tempfile::tempdir().unwrap();
    let name = "metrics_test";
    let o = opts(name, 1 << 20, FsyncPolicy::Never);
    let (wal, _, _) = open_collect(tmp.path(), o);
    wal.append_batch(&[b"ab", b"cde"]).unwrap();
    assert_eq!(metric("sightline_wal_records_appended_total", name), 2.0);
    assert_eq!(
        metric("sightline_wal_bytes_appended_total", name),
        (9 + 2 + 9 + 3) as f64
    );
    wal.cut_segment().unwrap();
    assert_eq!(metric("sightline_wal_segments", name), 2.0);
    assert_eq!(
        metric("sightline_wal_size_bytes", name),
        wal.size_bytes() as f64
    );
}

#[test]
fn a_directory_is_opened_by_one_wal_at_a_time() {
    let tmp = tempfile::tempdir().unwrap();
    let o = opts("locked", 1 << 20, FsyncPolicy::Never);
    let (wal, _, _) = open_collect(tmp.path(), o.clone());
    assert!(matches!(
        Wal::open(tmp.path(), o.clone(), |_, _| {}),
        Err(WalError::Locked { .. })
    ));
    drop(wal);
    let (_wal, report, _) = open_collect(tmp.path(), o);
    assert_eq!(report.corruption, None);
}
