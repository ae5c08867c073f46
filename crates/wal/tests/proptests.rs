//! Property tests: garbage on disk never panics, and truncation keeps every record
//! that lies wholly before the cut.

mod common;

use common::*;
use proptest::prelude::*;
use sightline_wal::format::encode_segment_header;
use sightline_wal::format::SegmentKind;
use sightline_wal::FsyncPolicy;

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Arbitrary bytes as a segment file (with or without a valid header in front):
    /// opening never panics, succeeds, and leaves a log that reopens cleanly.
    #[test]
    fn arbitrary_segment_bytes_never_panic(
        bytes in proptest::collection::vec(any::<u8>(), 0..2048),
        with_header in any::<bool>(),
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let mut content = Vec::new();
        if with_header {
            content.extend_from_slice(&encode_segment_header(SegmentKind::Log, 1));
        }
        content.extend_from_slice(&bytes);
        std::fs::write(seg_path(dir, 1), &content).unwrap();
        let o = opts("prop_garbage", 1024, FsyncPolicy::Never);
        let (wal, report, recs) = open_collect(dir, o.clone());
        prop_assert_eq!(report.records as usize, recs.len());
        wal.append(b"tail").unwrap();
        drop(wal);
        let (_wal, report2, recs2) = open_collect(dir, o);
        prop_assert_eq!(report2.corruption, None);
        let mut want = payloads(&recs);
        want.push(b"tail".to_vec());
        prop_assert_eq!(payloads(&recs2), want);
    }

    /// Random records, file cut at a random point: exactly the records that end at or
    /// before the cut replay.
    #[test]
    fn truncation_keeps_every_complete_record(
        records in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 1..60),
        cut_frac in 0.0f64..=1.0,
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let o = opts("prop_trunc", 1 << 20, FsyncPolicy::Never);
        let (wal, _, _) = open_collect(dir, o.clone());
        let ends: Vec<u64> = records.iter().map(|r| wal.append(r).unwrap().offset()).collect();
        drop(wal);
        let path = seg_path(dir, 1);
        let len = std::fs::metadata(&path).unwrap().len();
        let cut = (len as f64 * cut_frac) as u64;
        std::fs::OpenOptions::new().write(true).open(&path).unwrap().set_len(cut).unwrap();

        let (_wal, report, recs) = open_collect(dir, o);
        let complete = ends.iter().filter(|&&e| e <= cut).count();
        prop_assert_eq!(payloads(&recs), records[..complete].to_vec());
        let at_boundary = cut == len || (cut >= 16 && (cut == 16 || ends.contains(&cut)));
        prop_assert_eq!(report.corruption.is_none(), at_boundary);
    }

    /// One corrupted byte anywhere in a multi-segment log: exactly the records that
    /// end before it (in log order) replay, and the repaired log reopens cleanly.
    #[test]
    fn any_flipped_byte_keeps_exactly_the_prefix_before_it(
        records in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..120), 1..80),
        which in any::<prop::sample::Index>(),
        pos_frac in 0.0f64..1.0,
        xor in 1u8..=255,
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let o = opts("prop_flip", 300, FsyncPolicy::Never);
        let (wal, _, _) = open_collect(dir, o.clone());
        let lsns: Vec<_> = records.iter().map(|r| wal.append(r).unwrap()).collect();
        drop(wal);
        // Only segments that hold records (the last one may be empty).
        let mut segs: Vec<u32> = lsns.iter().map(|l| l.segment()).collect();
        segs.dedup();
        let seg = segs[which.index(segs.len())];
        let path = seg_path(dir, seg);
        let mut bytes = std::fs::read(&path).unwrap();
        let pos = ((bytes.len() as f64 * pos_frac) as usize).min(bytes.len() - 1);
        bytes[pos] ^= xor;
        std::fs::write(&path, &bytes).unwrap();

        let keep = lsns
            .iter()
            .filter(|l| l.segment() < seg || (l.segment() == seg && l.offset() <= pos as u64))
            .count();
        let (wal, report, recs) = open_collect(dir, o.clone());
        prop_assert!(report.corruption.is_some());
        prop_assert_eq!(payloads(&recs), records[..keep].to_vec());
        drop(wal);
        let (_wal, report, recs) = open_collect(dir, o);
        prop_assert_eq!(report.corruption, None);
        prop_assert_eq!(recs.len(), keep);
    }
}
