//! Memory profile of the head under a node_exporter-like load: appends the same
//! shape of data as `bench/` (hosts × ~536 series, 15 s scrapes, one sample per
//! `TimeSeries`, 2000 samples per batch) and reports live heap bytes per series at
//! each phase, measured by a counting global allocator, plus struct sizes and RSS.
//!
//! `cargo run --release -p sightline-tsdb --example mem_profile -- [hosts] [hours]`

use sightline_model::{Labels, Sample, TimeSeries, WriteBatch};
use sightline_tsdb::head::memseries::{MemSeries, OpenChunk, SealedChunk, SeriesData};
use sightline_tsdb::head::Head;
use sightline_tsdb::{StorageConfig, Tsdb};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering::Relaxed};
use std::time::Duration;

/// Counts live heap bytes and allocations, and the peak of live bytes.
struct Counting;
static LIVE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);
static COUNT: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = System.alloc(l);
        if !p.is_null() {
            let now = LIVE.fetch_add(l.size() as isize, Relaxed) + l.size() as isize;
            PEAK.fetch_max(now, Relaxed);
            COUNT.fetch_add(1, Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        System.dealloc(p, l);
        LIVE.fetch_sub(l.size() as isize, Relaxed);
        COUNT.fetch_sub(1, Relaxed);
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        let q = System.realloc(p, l, new);
        if !q.is_null() {
            let now = LIVE.fetch_add(new as isize - l.size() as isize, Relaxed) + new as isize
                - l.size() as isize;
            PEAK.fetch_max(now, Relaxed);
        }
        q
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn proc_kb(field: &str) -> i64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(-1)
}

/// Splitmix64: deterministic noise without a dependency.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// How one series' value moves.
#[derive(Clone, Copy)]
enum Kind {
    /// Counter in hundredths (CPU seconds).
    Ticks,
    /// Counter growing by noisy integer amounts (bytes, packets).
    Bytes,
    /// Gauge that is almost always constant.
    Constant,
    /// Full-precision float (durations).
    Float,
}

fn host_series(h: u32) -> Vec<(Labels, Kind)> {
    let inst = format!("host-{h:03}:9100");
    let mut out = Vec::new();
    let mut add = |name: &str, extra: &[(&str, &str)], k: Kind| {
        let mut v: Vec<(String, String)> = vec![
            ("__name__".into(), name.into()),
            ("instance".into(), inst.clone()),
            ("job".into(), "node".into()),
        ];
        v.extend(extra.iter().map(|(a, b)| (a.to_string(), b.to_string())));
        v.sort();
        out.push((Labels::from_pairs(v), k));
    };
    let modes = [
        "idle", "iowait", "irq", "nice", "softirq", "steal", "system", "user",
    ];
    for c in 0..8 {
        let c = c.to_string();
        for m in modes {
            add(
                "node_cpu_seconds_total",
                &[("cpu", &c), ("mode", m)],
                Kind::Ticks,
            );
        }
    }
    for i in 0..50 {
        add(&format!("node_memory_field{i}_bytes"), &[], Kind::Constant);
    }
    for mp in ["/", "/boot", "/home", "/var"] {
        for f in [
            "avail",
            "free",
            "size",
            "files",
            "files_free",
            "readonly",
            "device_error",
        ] {
            add(
                &format!("node_filesystem_{f}_bytes"),
                &[
                    ("device", "/dev/sda1"),
                    ("fstype", "ext4"),
                    ("mountpoint", mp),
                ],
                Kind::Constant,
            );
        }
    }
    for d in ["sda", "sdb", "nvme0n1"] {
        for i in 0..16 {
            add(
                &format!("node_disk_stat{i}_total"),
                &[("device", d)],
                Kind::Bytes,
            );
        }
    }
    for d in ["eth0", "eth1", "lo"] {
        for i in 0..20 {
            add(
                &format!("node_network_stat{i}_total"),
                &[("device", d)],
                Kind::Bytes,
            );
        }
    }
    for i in 0..220 {
        let k = match i % 4 {
            0 => Kind::Float,
            1 => Kind::Bytes,
            _ => Kind::Constant,
        };
        add(&format!("node_misc_metric_{i}"), &[], k);
    }
    out
}

fn value(k: Kind, s: u64, round: u64) -> f64 {
    let n = mix(s ^ (round << 20));
    match k {
        Kind::Ticks => (round * 1500 + n % 300) as f64 / 100.0,
        Kind::Bytes => (round * 40_000 + n % 30_000) as f64,
        Kind::Constant => ((s % 1000) * 4096 + u64::from(n.is_multiple_of(50)) * 4096) as f64,
        Kind::Float => (n % 1_000_000) as f64 / 7919.0,
    }
}

fn report(what: &str, series: usize) {
    let live = LIVE.load(Relaxed);
    println!(
        "{what:<44} live heap {:>11} B = {:>6} B/series; allocations {:>9}; peak heap {:>11} B; VmRSS {:>7} kB; VmHWM {:>7} kB",
        live,
        live / series.max(1) as isize,
        COUNT.load(Relaxed),
        PEAK.load(Relaxed),
        proc_kb("VmRSS:"),
        proc_kb("VmHWM:"),
    );
}

/// Rounds of every series, in time order, cut into batches of 2000 samples.
fn load(
    series: &[(Labels, Kind)],
    rounds: std::ops::Range<u64>,
    start: i64,
    mut sink: impl FnMut(WriteBatch),
) {
    let interval = 15_000i64;
    let mut batch = Vec::with_capacity(2000);
    for round in rounds {
        for (i, (l, k)) in series.iter().enumerate() {
            let host = i / 536;
            let jitter = if mix(i as u64 ^ round).is_multiple_of(20) {
                3 + (mix(round) % 27) as i64
            } else {
                0
            };
            let t = start + round as i64 * interval + (host as i64 * 37) % interval + jitter;
            batch.push(TimeSeries {
                labels: l.clone(),
                samples: vec![Sample::new(t, value(*k, i as u64, round))],
                exemplars: vec![],
            });
            if batch.len() == 2000 {
                sink(WriteBatch {
                    series: std::mem::take(&mut batch),
                    metadata: vec![],
                });
                batch.reserve(2000);
            }
        }
    }
    if !batch.is_empty() {
        sink(WriteBatch {
            series: batch,
            metadata: vec![],
        });
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let hosts: u32 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(20);
    let hours: u64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(3);
    println!("struct sizes: MemSeries {} B, SeriesData {} B, SealedChunk {} B, OpenChunk {} B, Labels {} B",
        std::mem::size_of::<MemSeries>(), std::mem::size_of::<SeriesData>(),
        std::mem::size_of::<SealedChunk>(), std::mem::size_of::<OpenChunk>(),
        std::mem::size_of::<Labels>());
    let series: Vec<(Labels, Kind)> = (0..hosts).flat_map(host_series).collect();
    let n = series.len();
    println!("{n} series, {hours}h of 15 s scrapes");
    let start = 1_700_000_000_000i64 / 3_600_000 * 3_600_000;
    let rounds = hours * 240;
    let base = LIVE.load(Relaxed);
    report("generator labels (baseline)", n);

    // Part 1: the head alone (no WAL), 1h chunk range, up to 1.5h of data.
    {
        let head = Head::new(3_600_000, 0, 100_000);
        load(&series, 0..1, start, |b| {
            head.append(&b, None).unwrap();
        });
        let after1 = LIVE.load(Relaxed);
        println!(
            "head, 1 sample per series: {} B/series above baseline",
            (after1 - base) / n as isize
        );
        load(&series, 1..360, start, |b| {
            head.append(&b, None).unwrap();
        });
        let after360 = LIVE.load(Relaxed);
        println!(
            "head, 360 samples per series (1.5h): {} B/series above baseline ({} B/series of it for samples 2..360), {} chunks",
            (after360 - base) / n as isize,
            (after360 - after1) / n as isize,
            head.num_chunks()
        );
        report("head only, 1.5h", n);
        let all = head.select(&[], i64::MIN, i64::MAX);
        let (mut bytes, mut chunks) = (0usize, 0usize);
        for s in &all {
            for c in s.chunks() {
                bytes += c.data().len();
                chunks += 1;
            }
        }
        println!(
            "head chunk payload: {} B/series in {} chunks ({:.2} B/sample); rest of the growth is buffer slack and per-chunk overhead",
            bytes / n,
            chunks,
            bytes as f64 / (n * 360) as f64
        );
    }
    report("head dropped", n);

    // Part 2: cutting 1h of head into a block (flush_head), peak heap above the
    // steady state while doing it.
    {
        let dir = std::env::temp_dir().join(format!("sightline-mem-flush-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let cfg = StorageConfig {
            min_block_duration: sightline_model::PromDuration(Duration::from_secs(3600)),
            wal_fsync: sightline_wal::FsyncPolicy::Interval(Duration::from_secs(1)),
            ..Default::default()
        };
        let db = Tsdb::open(&dir, cfg).unwrap();
        load(&series, 0..239, start, |b| {
            db.append(b).unwrap();
        });
        let before = LIVE.load(Relaxed);
        report("tsdb with 1h in the head", n);
        PEAK.store(before, Relaxed);
        db.flush_head().unwrap();
        println!(
            "flush_head (1h block + truncate + checkpoint): transient peak {} B/series above the head",
            (PEAK.load(Relaxed) - before) / n as isize
        );
        report("tsdb after flush_head", n);
        db.close().unwrap();
        drop(db);
        let _ = std::fs::remove_dir_all(&dir);
    }
    report("flush test dropped", n);

    // Part 3: the whole database (WAL, compaction) with 1h blocks.
    let dir = std::env::temp_dir().join(format!("sightline-mem-profile-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let cfg = StorageConfig {
        min_block_duration: sightline_model::PromDuration(Duration::from_secs(3600)),
        max_block_duration: Some(sightline_model::PromDuration(Duration::from_secs(3600))),
        wal_fsync: sightline_wal::FsyncPolicy::Interval(Duration::from_secs(1)),
        ..Default::default()
    };
    PEAK.store(LIVE.load(Relaxed), Relaxed);
    let db = Tsdb::open(&dir, cfg).unwrap();
    let mut peak_load = 0isize;
    let mut last_blocks = 0;
    load(&series, 0..rounds, start, |b| {
        db.append(b).unwrap();
        let nb = db.blocks().len();
        if nb != last_blocks {
            last_blocks = nb;
            report(&format!("tsdb: {nb} block(s) written"), n);
        }
        peak_load = peak_load.max(LIVE.load(Relaxed));
    });
    std::thread::sleep(Duration::from_secs(2));
    db.compact().unwrap();
    report("tsdb: end of load", n);
    println!(
        "tsdb: peak live heap {} B/series above baseline (peak seen between batches: {} B/series)",
        (PEAK.load(Relaxed) - base) / n as isize,
        (peak_load - base) / n as isize
    );
    // What `/api/v1/series` does: select every series over the whole range.
    let before = LIVE.load(Relaxed);
    PEAK.store(before, Relaxed);
    let q = db.querier(i64::MIN, i64::MAX).unwrap();
    let all = q.select(&[]).unwrap();
    let held = LIVE.load(Relaxed) - before;
    let peak = PEAK.load(Relaxed) - before;
    println!(
        "select all {} series over all blocks + head: result holds {} B/series, peak {} B/series above the steady state",
        all.len(),
        held / n as isize,
        peak / n as isize
    );
    drop(all);
    let before = LIVE.load(Relaxed);
    PEAK.store(before, Relaxed);
    let labels = q.select_labels(&[]).unwrap();
    println!(
        "select_labels of all {} series: result holds {} B/series, peak {} B/series above the steady state",
        labels.len(),
        (LIVE.load(Relaxed) - before) / n as isize,
        (PEAK.load(Relaxed) - before) / n as isize
    );
    drop(labels);
    db.close().unwrap();
    drop(db);
    let _ = std::fs::remove_dir_all(&dir);
}
