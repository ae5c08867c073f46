//! Helpers shared by the WAL integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use sightline_wal::{FsyncPolicy, RecordSource, ReplayReport, Wal, WalOptions};

/// Options with a small segment size and a test-unique metric label.
pub fn opts(name: &str, segment_size: u64, fsync: FsyncPolicy) -> WalOptions {
    WalOptions {
        segment_size,
        fsync,
        name: name.to_string(),
    }
}

/// Opens the WAL and collects every replayed record with its source.
pub fn open_collect(
    dir: &Path,
    o: WalOptions,
) -> (Wal, ReplayReport, Vec<(RecordSource, Vec<u8>)>) {
    let mut out = Vec::new();
    let (wal, report) = Wal::open(dir, o, |src, p| out.push((src, p.to_vec()))).unwrap();
    (wal, report, out)
}

/// Only the payloads of replayed records.
pub fn payloads(recs: &[(RecordSource, Vec<u8>)]) -> Vec<Vec<u8>> {
    recs.iter().map(|(_, p)| p.clone()).collect()
}

/// A deterministic payload for record `i` whose size varies from 0 to ~300 bytes.
pub fn payload(i: usize) -> Vec<u8> {
    let len = (i * 37) % 301;
    (0..len).map(|j| (i.wrapping_mul(31) ^ j) as u8).collect()
}

/// Path of segment `i` in `dir`.
pub fn seg_path(dir: &Path, i: u32) -> PathBuf {
    dir.join(format!("{i:08}"))
}

/// Segment indices present in `dir`, ascending.
pub fn segments_on_disk(dir: &Path) -> Vec<u32> {
    let mut v: Vec<u32> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    v.sort_unstable();
    v
}

/// Current value of a `sightline_wal_*` counter or gauge for the WAL labelled `name`.
pub fn metric(metric_name: &str, name: &str) -> f64 {
    for mf in prometheus::gather() {
        if mf.name() != metric_name {
            continue;
        }
        for m in mf.get_metric() {
            if m.get_label()
                .iter()
                .any(|l| l.name() == "wal" && l.value() == name)
            {
                return match mf.get_field_type() {
                    prometheus::proto::MetricType::COUNTER => m.get_counter().get_value(),
                    prometheus::proto::MetricType::GAUGE => m.get_gauge().get_value(),
                    prometheus::proto::MetricType::HISTOGRAM => {
                        m.get_histogram().get_sample_count() as f64
                    }
                    _ => 0.0,
                };
            }
        }
    }
    0.0
}
