//! Torn tails and corruption: replay keeps everything before the damage, reports it,
//! repairs the log and keeps accepting appends.

mod common;

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;

use common::*;
use sightline_wal::{FsyncPolicy, Lsn, WalOptions};

/// Writes `n` records into a fresh WAL at `dir`, returning payloads and end lsns.
fn fill(dir: &Path, o: &WalOptions, n: usize) -> (Vec<Vec<u8>>, Vec<Lsn>) {
    let (wal, _, _) = open_collect(dir, o.clone());
    let mut ps = Vec::new();
    let mut lsns = Vec::new();
    for i in 0..n {
        let p = payload(i + 1);
        lsns.push(wal.append(&p).unwrap());
        ps.push(p);
    }
    wal.close().unwrap();
    (ps, lsns)
}

/// After repair, a new append must replay together with the surviving records.
fn check_appends_after_repair(dir: &Path, o: &WalOptions, survivors: &[Vec<u8>]) {
    let (wal, report, recs) = open_collect(dir, o.clone());
    assert_eq!(report.corruption, None, "repair must leave a clean log");
    assert_eq!(payloads(&recs), survivors);
    wal.append(b"after-repair").unwrap();
    drop(wal);
    let (_wal, report, recs) = open_collect(dir, o.clone());
    assert_eq!(report.corruption, None);
    let mut want = survivors.to_vec();
    want.push(b"after-repair".to_vec());
    assert_eq!(payloads(&recs), want);
}

#[test]
fn truncated_mid_record_tail() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let o = opts("torn_trunc", 1 << 20, FsyncPolicy::Never);
    let (ps, lsns) = fill(dir, &o, 50);
    let seg = lsns[49].segment();
    // Cut the last record in half.
    let cut = lsns[48].offset() + (lsns[49].offset() - lsns[48].offset()) / 2;
    let f = OpenOptions::new()
        .write(true)
        .open(seg_path(dir, seg))
        .unwrap();
    f.set_len(cut).unwrap();
    drop(f);

    let (wal, report, recs) = open_collect(dir, o.clone());
    let c = report.corruption.expect("corruption reported");
    assert_eq!(c.segment, seg);
    assert_eq!(c.offset, lsns[48].offset());
    assert_eq!(c.bytes_truncated, cut - lsns[48].offset());
    assert!(c.reason.contains("torn"), "{}", c.reason);
    assert_eq!(payloads(&recs), ps[..49].to_vec());
    drop(wal);
    check_appends_after_repair(dir, &o, &ps[..49]);
}

#[test]
fn garbage_appended_to_tail() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let o = opts("torn_garbage", 1 << 20, FsyncPolicy::Never);
    let (ps, lsns) = fill(dir, &o, 30);
    let seg = lsns[29].segment();
    let mut f = OpenOptions::new()
        .append(true)
        .open(seg_path(dir, seg))
        .unwrap();
    f.write_all(b"\x07\x00\x00\x00garbage-garbage-garbage")
        .unwrap();
    drop(f);

    let (wal, report, recs) = open_collect(dir, o.clone());
    let c = report.corruption.expect("corruption reported");
    assert_eq!((c.segment, c.offset), (seg, lsns[29].offset()));
    assert_eq!(c.bytes_truncated, 27);
    assert_eq!(payloads(&recs), ps);
    drop(wal);
    check_appends_after_repair(dir, &o, &ps);
}

#[test]
fn zero_filled_tail_is_torn() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let o = opts("torn_zero", 1 << 20, FsyncPolicy::Never);
    let (ps, lsns) = fill(dir, &o, 10);
    let seg = lsns[9].segment();
    let mut f = OpenOptions::new()
        .append(true)
        .open(seg_path(dir, seg))
        .unwrap();
    f.write_all(&[0u8; 4096]).unwrap();
    drop(f);
    let (wal, report, recs) = open_collect(dir, o.clone());
    let c = report.corruption.expect("corruption reported");
    assert!(c.reason.contains("zero"), "{}", c.reason);
    assert_eq!(c.bytes_truncated, 4096);
    assert_eq!(payloads(&recs), ps);
    drop(wal);
    check_appends_after_repair(dir, &o, &ps);
}

#[test]
fn flipped_byte_in_middle_of_last_segment() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let o = opts("flip_last", 1 << 20, FsyncPolicy::Never);
    let (ps, lsns) = fill(dir, &o, 100);
    let seg = lsns[99].segment();
    let path = seg_path(dir, seg);
    let mut bytes = std::fs::read(&path).unwrap();
    let file_len = bytes.len() as u64;
    // Flip a byte inside record 50's payload (records 0..=49 end before it).
    let start = lsns[49].offset();
    let target = (start + 9 + 1).min(lsns[50].offset() - 1) as usize;
    bytes[target] ^= 0x40;
    std::fs::write(&path, &bytes).unwrap();

    let (wal, report, recs) = open_collect(dir, o.clone());
    let c = report.corruption.expect("corruption reported");
    assert_eq!((c.segment, c.offset), (seg, start));
    assert!(c.reason.contains("checksum"), "{}", c.reason);
    assert_eq!(c.bytes_truncated, file_len - start);
    assert_eq!(payloads(&recs), ps[..50].to_vec());
    assert_eq!(metric("sightline_wal_corruptions_total", "flip_last"), 1.0);
    assert_eq!(
        metric("sightline_wal_truncated_bytes_total", "flip_last"),
        (file_len - start) as f64
    );
    drop(wal);
    check_appends_after_repair(dir, &o, &ps[..50]);
}

#[test]
fn corruption_in_middle_segment_drops_later_segments() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let o = opts("flip_middle", 400, FsyncPolicy::Never);
    let (ps, lsns) = fill(dir, &o, 200);
    let segs = segments_on_disk(dir);
    assert!(segs.len() > 6, "{segs:?}");
    // A middle segment holding at least two records.
    let records_in =
        |s: u32| -> Vec<usize> { (0..200).filter(|&i| lsns[i].segment() == s).collect() };
    let pos = (2..segs.len() - 2)
        .find(|&k| records_in(segs[k]).len() >= 2)
        .expect("a middle segment with two records");
    let bad = segs[pos];
    let later: u64 = segs[pos + 1..]
        .iter()
        .map(|&s| std::fs::metadata(seg_path(dir, s)).unwrap().len())
        .sum();
    // Where the bad segment's second record starts.
    let in_bad = records_in(bad);
    let first_in_bad = in_bad[0];
    let damage_at = lsns[first_in_bad].offset();
    let path = seg_path(dir, bad);
    let mut bytes = std::fs::read(&path).unwrap();
    let bad_len = bytes.len() as u64;
    bytes[damage_at as usize + 2] ^= 0xff; // length field of the second record
    std::fs::write(&path, &bytes).unwrap();

    let (wal, report, recs) = open_collect(dir, o.clone());
    let c = report.corruption.expect("corruption reported");
    assert_eq!((c.segment, c.offset), (bad, damage_at));
    assert_eq!(c.bytes_truncated, bad_len - damage_at + later);
    assert_eq!(payloads(&recs), ps[..=first_in_bad].to_vec());
    // Later segments are gone; the new segment follows the repaired one.
    assert_eq!(wal.segment_range(), (1, bad + 1));
    assert_eq!(segments_on_disk(dir), (1..=bad + 1).collect::<Vec<_>>());
    drop(wal);
    check_appends_after_repair(dir, &o, &ps[..=first_in_bad]);
}

#[test]
fn damaged_segment_header_removes_the_segment() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let o = opts("bad_header", 300, FsyncPolicy::Never);
    let (ps, lsns) = fill(dir, &o, 60);
    let segs = segments_on_disk(dir);
    let bad = segs[segs.len() / 2];
    let path = seg_path(dir, bad);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[1] = b'?';
    std::fs::write(&path, &bytes).unwrap();
    let survivors: Vec<Vec<u8>> = (0..60)
        .filter(|&i| lsns[i].segment() < bad)
        .map(|i| ps[i].clone())
        .collect();
    let (wal, report, recs) = open_collect(dir, o.clone());
    let c = report.corruption.expect("corruption reported");
    assert_eq!((c.segment, c.offset), (bad, 0));
    assert!(c.reason.contains("magic"), "{}", c.reason);
    assert_eq!(payloads(&recs), survivors);
    assert_eq!(wal.segment_range(), (1, bad));
    drop(wal);
    check_appends_after_repair(dir, &o, &survivors);
}

#[test]
fn missing_middle_segment_is_a_gap() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let o = opts("gap", 300, FsyncPolicy::Never);
    let (ps, lsns) = fill(dir, &o, 60);
    let segs = segments_on_disk(dir);
    let gone = segs[3];
    std::fs::remove_file(seg_path(dir, gone)).unwrap();
    let survivors: Vec<Vec<u8>> = (0..60)
        .filter(|&i| lsns[i].segment() < gone)
        .map(|i| ps[i].clone())
        .collect();
    let (wal, report, recs) = open_collect(dir, o.clone());
    let c = report.corruption.expect("corruption reported");
    assert_eq!(c.segment, gone + 1);
    assert!(c.reason.contains("missing"), "{}", c.reason);
    assert_eq!(payloads(&recs), survivors);
    drop(wal);
    check_appends_after_repair(dir, &o, &survivors);
}

#[test]
fn damaged_checkpoint_is_reported_and_later_segments_still_replay() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let o = opts("bad_ckpt", 1 << 20, FsyncPolicy::Never);
    let (wal, _, _) = open_collect(dir, o.clone());
    wal.append(b"old").unwrap();
    let next = wal.cut_segment().unwrap();
    let cp: Vec<Vec<u8>> = (0..10).map(|i| format!("cp{i}").into_bytes()).collect();
    wal.checkpoint(next - 1, &mut cp.clone().into_iter())
        .unwrap();
    wal.append(b"new").unwrap();
    drop(wal);
    let file = dir.join(format!("checkpoint.{:08}/00000000", next - 1));
    let mut bytes = std::fs::read(&file).unwrap();
    let n = bytes.len();
    bytes[n - 1] ^= 1; // last checkpoint record
    std::fs::write(&file, &bytes).unwrap();
    let (_wal, report, recs) = open_collect(dir, o);
    let c = report.corruption.expect("corruption reported");
    assert_eq!(c.segment, next - 1);
    assert!(c.reason.starts_with("checkpoint."), "{}", c.reason);
    let mut want = cp[..9].to_vec();
    want.push(b"new".to_vec());
    assert_eq!(payloads(&recs), want);
}

#[test]
fn empty_and_short_segment_files() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let o = opts("short", 1 << 20, FsyncPolicy::Never);
    let (ps, _) = fill(dir, &o, 5);
    // A crash right after creating the next segment leaves it empty or header-short.
    std::fs::write(seg_path(dir, 2), b"").unwrap();
    std::fs::write(seg_path(dir, 3), b"SLW").unwrap();
    let (wal, report, recs) = open_collect(dir, o.clone());
    let c = report.corruption.expect("corruption reported");
    assert_eq!((c.segment, c.offset), (2, 0));
    assert_eq!(c.bytes_truncated, 3);
    assert_eq!(payloads(&recs), ps);
    drop(wal);
    check_appends_after_repair(dir, &o, &ps);
}
