//! End-to-end tests of the database: appends, WAL replay, blocks, compaction,
//! retention, out-of-order window, exemplars, metadata, backfill and density.

use sightline_model::{
    Exemplar, Labels, MatchOp, Matcher, MetricMetadata, MetricType, Sample, TimeSeries, WriteBatch,
    STALE_NAN,
};
use sightline_tsdb::{BlockWriter, StorageConfig, Tsdb};
use std::path::Path;
use std::time::Duration;

const H: i64 = 3600 * 1000;

fn cfg() -> StorageConfig {
    StorageConfig {
        wal_fsync: sightline_wal::FsyncPolicy::Never,
        ..Default::default()
    }
}

fn ls(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs.iter().copied())
}

fn batch(series: Vec<(Labels, Vec<(i64, f64)>)>) -> WriteBatch {
    WriteBatch {
        series: series
            .into_iter()
            .map(|(labels, s)| TimeSeries {
                labels,
                samples: s.into_iter().map(|(t, v)| Sample::new(t, v)).collect(),
                exemplars: vec![],
            })
            .collect(),
        metadata: vec![],
    }
}

fn query(db: &Tsdb, mint: i64, maxt: i64, m: &[Matcher]) -> Vec<(Labels, Vec<(i64, u64)>)> {
    db.querier(mint, maxt)
        .unwrap()
        .select(m)
        .unwrap()
        .into_iter()
        .map(|s| {
            let v = s.samples().iter().map(|x| (x.t, x.v.to_bits())).collect();
            (s.labels, v)
        })
        .collect()
}

fn eq(n: &str, v: &str) -> Matcher {
    Matcher::equal(n, v)
}

#[test]
fn append_query_and_rejection_accounting() {
    let dir = tempfile::tempdir().unwrap();
    let db = Tsdb::open(dir.path(), cfg()).unwrap();
    let a = ls(&[("__name__", "up"), ("job", "a")]);
    let b = ls(&[("__name__", "up"), ("job", "b")]);
    let r = db
        .append(batch(vec![
            (a.clone(), vec![(1000, 1.0), (2000, 2.0), (3000, STALE_NAN)]),
            (b.clone(), vec![(1000, 5.0)]),
        ]))
        .unwrap();
    assert_eq!((r.accepted, r.series_created), (4, 2));
    // duplicate (identical), conflicting, out of order.
    let r = db
        .append(batch(vec![(
            a.clone(),
            vec![(3000, STALE_NAN), (3000, 7.0), (1500, 1.0)],
        )]))
        .unwrap();
    assert_eq!(
        (r.accepted, r.duplicates, r.conflicting, r.out_of_order),
        (0, 1, 1, 1)
    );
    assert!(r
        .first_error
        .unwrap()
        .contains("duplicate sample for timestamp"));
    // Too old: more than half a block range behind the head's newest sample.
    db.append(batch(vec![(b.clone(), vec![(3 * H, 1.0)])]))
        .unwrap();
    let r = db
        .append(batch(vec![(ls(&[("__name__", "x")]), vec![(10, 1.0)])]))
        .unwrap();
    assert_eq!(r.too_old, 1);

    let got = query(&db, 0, 5000, &[eq("job", "a")]);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, a);
    assert_eq!(
        got[0].1,
        vec![
            (1000, 1f64.to_bits()),
            (2000, 2f64.to_bits()),
            (3000, STALE_NAN.to_bits())
        ]
    );
    let all = query(&db, 0, 5000, &[eq("__name__", "up")]);
    assert_eq!(
        all.iter().map(|s| s.0.clone()).collect::<Vec<_>>(),
        vec![a, b]
    );
    let q = db.querier(0, i64::MAX).unwrap();
    assert_eq!(q.label_values("job", &[]).unwrap(), vec!["a", "b"]);
    assert_eq!(
        q.label_names(&[eq("job", "a")]).unwrap(),
        vec!["__name__", "job"]
    );
    // A matcher matching the empty string selects series without the label.
    let none = Matcher::new(MatchOp::Equal, "job", "").unwrap();
    assert_eq!(query(&db, 0, 10 * H, &[eq("__name__", "x"), none]).len(), 0);
    let r = db.append(batch(vec![(
        Labels::from_sorted_unchecked(vec![]),
        vec![(1, 1.0)],
    )]));
    assert!(r.is_err());
    db.close().unwrap();
}

#[test]
fn restart_without_close_replays_wal() {
    let dir = tempfile::tempdir().unwrap();
    let a = ls(&[("__name__", "m"), ("i", "1")]);
    let mut want = Vec::new();
    {
        let db = Tsdb::open(dir.path(), cfg()).unwrap();
        for i in 0..500 {
            let v = (i as f64) * 1.5;
            db.append(batch(vec![(a.clone(), vec![(i * 15_000, v)])]))
                .unwrap();
            want.push((i * 15_000, v.to_bits()));
        }
        // Dropped without close().
    }
    let db = Tsdb::open(dir.path(), cfg()).unwrap();
    let got = query(&db, i64::MIN, i64::MAX, &[eq("i", "1")]);
    assert_eq!(got, vec![(a.clone(), want.clone())]);
    // Appending continues in order after replay; old timestamps are out of order.
    let last = want.last().unwrap().0;
    let r = db
        .append(batch(vec![(
            a.clone(),
            vec![(last, 499.0 * 1.5), (last - 10, 3.0)],
        )]))
        .unwrap();
    assert_eq!((r.duplicates, r.out_of_order), (1, 1));
}

#[test]
fn torn_wal_tail_is_repaired() {
    let dir = tempfile::tempdir().unwrap();
    let a = ls(&[("__name__", "m")]);
    {
        let db = Tsdb::open(dir.path(), cfg()).unwrap();
        db.append(batch(vec![(a.clone(), vec![(1, 1.0), (2, 2.0)])]))
            .unwrap();
        db.close().unwrap();
    }
    let wal = dir.path().join("wal");
    let mut segs: Vec<_> = std::fs::read_dir(&wal)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| e.path())
        .collect();
    segs.sort();
    let last = segs.last().unwrap();
    let mut bytes = std::fs::read(last).unwrap();
    bytes.extend_from_slice(&[0xde, 0xad, 0xbe, 0xef, 1, 2, 3]);
    std::fs::write(last, bytes).unwrap();
    let db = Tsdb::open(dir.path(), cfg()).unwrap();
    let got = query(&db, 0, 10, &[eq("__name__", "m")]);
    assert_eq!(got[0].1.len(), 2);
    db.append(batch(vec![(a, vec![(3, 3.0)])])).unwrap();
}

fn fill(db: &Tsdb, series: usize, from: i64, to: i64, step: i64) -> Vec<(Labels, Vec<(i64, u64)>)> {
    let mut want: Vec<(Labels, Vec<(i64, u64)>)> = (0..series)
        .map(|i| {
            (
                ls(&[("__name__", "load"), ("inst", &format!("i{i:03}"))]),
                Vec::new(),
            )
        })
        .collect();
    let mut t = from;
    while t < to {
        let b: Vec<(Labels, Vec<(i64, f64)>)> = want
            .iter_mut()
            .enumerate()
            .map(|(i, (l, w))| {
                let v = ((t / step) as f64 * 0.25 + i as f64).sin();
                w.push((t, v.to_bits()));
                (l.clone(), vec![(t, v)])
            })
            .collect();
        db.append(batch(b)).unwrap();
        t += step;
    }
    want.sort_by(|a, b| a.0.cmp(&b.0));
    want
}

#[test]
fn head_to_block_and_restart_keep_data() {
    let dir = tempfile::tempdir().unwrap();
    let want;
    {
        let db = Tsdb::open(dir.path(), cfg()).unwrap();
        want = fill(&db, 20, 0, 5 * H, 60_000);
        db.compact().unwrap();
        let blocks = db.blocks();
        assert!(
            !blocks.is_empty(),
            "head span > 1.5 ranges must cut a block"
        );
        assert_eq!((blocks[0].min_time, blocks[0].max_time), (0, 2 * H));
        assert_eq!(
            query(&db, i64::MIN, i64::MAX, &[eq("__name__", "load")]),
            want
        );
        // Partial ranges straddling the block/head boundary.
        let part = query(&db, 2 * H - 120_000, 2 * H + 60_000, &[eq("inst", "i003")]);
        assert_eq!(part[0].1.len(), 4);
    }
    let db = Tsdb::open(dir.path(), cfg()).unwrap();
    assert_eq!(
        query(&db, i64::MIN, i64::MAX, &[eq("__name__", "load")]),
        want
    );
    db.flush_head().unwrap();
    assert_eq!(db.stats(10).head.num_series, 0);
    assert_eq!(
        query(&db, i64::MIN, i64::MAX, &[eq("__name__", "load")]),
        want
    );
    let re = Matcher::new(MatchOp::RegexMatch, "inst", "i00.*").unwrap();
    assert_eq!(query(&db, i64::MIN, i64::MAX, &[re]).len(), 10);
    db.close().unwrap();
    drop(db);
    let db = Tsdb::open(dir.path(), cfg()).unwrap();
    assert_eq!(
        query(&db, i64::MIN, i64::MAX, &[eq("__name__", "load")]),
        want
    );
}

#[test]
fn compaction_merges_aligned_blocks_and_retention_deletes() {
    let dir = tempfile::tempdir().unwrap();
    let mut bw = BlockWriter::new(dir.path(), 2 * H);
    let l = ls(&[("__name__", "bf")]);
    let samples: Vec<Sample> = (0..(14 * H / 60_000))
        .map(|i| Sample::new(i * 60_000, i as f64))
        .collect();
    // Any order.
    let mut rev = samples.clone();
    rev.reverse();
    bw.add(l.clone(), &rev);
    let metas = bw.flush().unwrap();
    assert_eq!(metas.len(), 7);
    let db = Tsdb::open(dir.path(), cfg()).unwrap();
    db.compact().unwrap();
    let blocks = db.blocks();
    // 0-6h and 6-12h merge (level 2); 12-14h is the newest and stays.
    let ranges: Vec<(i64, i64, u32)> = blocks
        .iter()
        .map(|b| (b.min_time, b.max_time, b.compaction.level))
        .collect();
    assert_eq!(
        ranges,
        vec![(0, 6 * H, 2), (6 * H, 12 * H, 2), (12 * H, 14 * H, 1)]
    );
    assert_eq!(blocks[0].compaction.sources.len(), 3);
    let got = query(&db, i64::MIN, i64::MAX, &[eq("__name__", "bf")]);
    assert_eq!(got[0].1.len(), samples.len());
    assert!(got[0]
        .1
        .iter()
        .zip(&samples)
        .all(|(a, b)| a.0 == b.t && a.1 == b.v.to_bits()));
    let first = blocks[0].ulid.clone();
    // Retention of 7h relative to the newest block end (14h) drops 0-6h.
    db.reload_config(StorageConfig {
        retention_time: sightline_model::PromDuration(Duration::from_secs(7 * 3600)),
        ..cfg()
    });
    db.compact().unwrap();
    let blocks = db.blocks();
    assert_eq!(blocks.first().unwrap().min_time, 6 * H);
    assert_eq!(blocks.len(), 2);
    assert!(
        !dir.path().join(&first).exists(),
        "expired block directory deleted"
    );
    // Size retention: a tiny limit deletes oldest blocks first.
    db.reload_config(StorageConfig {
        retention_size: Some(sightline_model::ByteSize(1)),
        ..cfg()
    });
    db.compact().unwrap();
    assert!(db.blocks().is_empty());
}

#[test]
fn backfill_is_picked_up_by_running_db() {
    let dir = tempfile::tempdir().unwrap();
    let db = Tsdb::open(dir.path(), cfg()).unwrap();
    let mut bw = BlockWriter::new(dir.path(), 2 * H);
    bw.add(
        ls(&[("__name__", "old")]),
        &[Sample::new(1000, 1.0), Sample::new(500, 0.5)],
    );
    bw.flush().unwrap();
    assert_eq!(db.reload_blocks().unwrap(), 1);
    let got = query(&db, 0, H, &[eq("__name__", "old")]);
    assert_eq!(
        got[0].1,
        vec![(500, 0.5f64.to_bits()), (1000, 1f64.to_bits())]
    );
}

#[test]
fn out_of_order_window_accepts_and_merges() {
    let dir = tempfile::tempdir().unwrap();
    let c = StorageConfig {
        out_of_order_time_window: sightline_model::PromDuration(Duration::from_secs(600)),
        ..cfg()
    };
    let a = ls(&[("__name__", "o")]);
    {
        let db = Tsdb::open(dir.path(), c.clone()).unwrap();
        db.append(batch(vec![(
            a.clone(),
            vec![(100_000, 1.0), (300_000, 3.0)],
        )]))
        .unwrap();
        let r = db
            .append(batch(vec![(
                a.clone(),
                vec![(200_000, 2.0), (200_000, 2.0)],
            )]))
            .unwrap();
        assert_eq!((r.accepted, r.duplicates, r.out_of_order), (1, 1, 0));
        // Beyond the window (older than newest - 10m).
        db.append(batch(vec![(a.clone(), vec![(2_000_000, 4.0)])]))
            .unwrap();
        let r = db
            .append(batch(vec![(a.clone(), vec![(1_000_000, 9.0)])]))
            .unwrap();
        assert_eq!(r.too_old + r.out_of_order, 1);
        let got = query(&db, 0, i64::MAX, &[eq("__name__", "o")]);
        let ts: Vec<i64> = got[0].1.iter().map(|x| x.0).collect();
        assert_eq!(ts, vec![100_000, 200_000, 300_000, 2_000_000]);
    }
    // Replayed from the WAL, then persisted into a block.
    let db = Tsdb::open(dir.path(), c).unwrap();
    db.flush_head().unwrap();
    let got = query(&db, 0, i64::MAX, &[eq("__name__", "o")]);
    let ts: Vec<i64> = got[0].1.iter().map(|x| x.0).collect();
    assert_eq!(ts, vec![100_000, 200_000, 300_000, 2_000_000]);
}

#[test]
fn exemplars_metadata_and_stats() {
    let dir = tempfile::tempdir().unwrap();
    let a = ls(&[("__name__", "req_total"), ("job", "api")]);
    let ex = Exemplar {
        labels: ls(&[("trace_id", "abc")]),
        value: 1.0,
        t: 1000,
    };
    let md = MetricMetadata {
        metric_family_name: "req".into(),
        metric_type: MetricType::Counter,
        help: "Requests.".into(),
        unit: String::new(),
    };
    {
        let db = Tsdb::open(dir.path(), cfg()).unwrap();
        let mut b = batch(vec![(a.clone(), vec![(1000, 1.0)])]);
        b.series[0].exemplars = vec![ex.clone(), ex.clone()];
        b.metadata = vec![md.clone()];
        let r = db.append(b).unwrap();
        assert_eq!(r.exemplars_accepted, 1);
        let st = db.stats(10);
        assert_eq!(st.head.num_series, 1);
        assert_eq!(
            st.head.series_count_by_metric_name,
            vec![("req_total".to_string(), 1)]
        );
        assert_eq!(st.head.num_label_pairs, 2);
        assert!(st.wal_size_bytes > 0);
        // A head cut truncates the head and checkpoints the WAL (deleting the
        // segments written so far): exemplars and metadata of live series must
        // survive it.
        db.append(batch(vec![(a.clone(), vec![(4 * H, 2.0)])]))
            .unwrap();
        db.compact().unwrap();
        assert_eq!(db.stats(10).block_count, 1);
    }
    let db = Tsdb::open(dir.path(), cfg()).unwrap();
    let got = db.exemplars(0, 2000, &[vec![eq("job", "api")]]).unwrap();
    assert_eq!(got, vec![(a, vec![ex])]);
    assert_eq!(db.metadata(), vec![md]);
}

/// Writes node_exporter-like data and reports bytes per sample on disk.
#[test]
fn node_exporter_like_density() {
    let dir = tempfile::tempdir().unwrap();
    let db = Tsdb::open(dir.path(), cfg()).unwrap();
    let step = 15_000i64;
    let points = 120i64; // 1000 series x 120 = 120k samples (30 minutes)
    let t0 = 1_700_000_000_000i64 / (2 * H) * (2 * H);
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    // Per series: kind and state.
    struct S {
        l: Labels,
        kind: u8,
        v: f64,
        rate: f64,
    }
    let mut series = Vec::new();
    for inst in 0..10 {
        let host = format!("host-{inst:02}:9100");
        for cpu in 0..8 {
            for mode in [
                "user", "system", "idle", "iowait", "irq", "softirq", "steal", "nice",
            ] {
                series.push(S {
                    l: ls(&[
                        ("__name__", "node_cpu_seconds_total"),
                        ("cpu", &cpu.to_string()),
                        ("instance", &host),
                        ("job", "node"),
                        ("mode", mode),
                    ]),
                    kind: if mode == "steal" || mode == "nice" {
                        3
                    } else {
                        0
                    },
                    v: (next() % 1_000_000) as f64 / 100.0,
                    rate: if mode == "idle" { 14.5 } else { 0.3 },
                });
            }
        }
        for dev in ["eth0", "lo"] {
            for m in [
                "node_network_receive_bytes_total",
                "node_network_transmit_bytes_total",
                "node_network_receive_packets_total",
            ] {
                series.push(S {
                    l: ls(&[
                        ("__name__", m),
                        ("device", dev),
                        ("instance", &host),
                        ("job", "node"),
                    ]),
                    kind: 1,
                    v: (next() % 1_000_000_000) as f64,
                    rate: 20_000.0,
                });
            }
        }
        for m in [
            "node_memory_MemFree_bytes",
            "node_memory_Cached_bytes",
            "node_memory_Buffers_bytes",
            "node_load1",
            "node_load5",
        ] {
            series.push(S {
                l: ls(&[("__name__", m), ("instance", &host), ("job", "node")]),
                kind: 2,
                v: if m.starts_with("node_load") {
                    1.25
                } else {
                    4e9
                },
                rate: 0.0,
            });
        }
        for fs in 0..25 {
            series.push(S {
                l: ls(&[
                    ("__name__", "node_filesystem_size_bytes"),
                    ("instance", &host),
                    ("job", "node"),
                    ("mountpoint", &format!("/mnt/{fs}")),
                ]),
                kind: 3,
                v: 1e11,
                rate: 0.0,
            });
        }
    }
    series.truncate(1000);
    assert_eq!(series.len(), 1000);
    for p in 0..points {
        let t = t0 + p * step;
        let mut b = Vec::with_capacity(series.len());
        for s in series.iter_mut() {
            let r = next();
            match s.kind {
                // CPU seconds: centisecond (USER_HZ) counters at a steady rate with a few ticks of jitter.
                0 => s.v = ((s.v + s.rate * 15.0) * 100.0 + (r % 4) as f64).round() / 100.0,
                // Byte/packet counters: steady rate with +-5% jitter.
                1 => s.v += (s.rate * 15.0 * 0.95) + (r % (s.rate as u64 * 3 / 10)) as f64,
                // Gauges with small noise (memory moves in 4KiB pages).
                2 => {
                    if s.v > 100.0 {
                        s.v += ((r % 129) as f64 - 64.0) * 4096.0
                    } else {
                        s.v = ((s.v * 100.0) + (r % 11) as f64 - 5.0).round() / 100.0
                    }
                }
                _ => {}
            }
            b.push((s.l.clone(), vec![(t, s.v)]));
        }
        db.append(batch(b)).unwrap();
    }
    db.flush_head().unwrap();
    db.compact().unwrap();
    let blocks = db.blocks();
    let samples: u64 = blocks.iter().map(|b| b.stats.num_samples).sum();
    assert_eq!(samples, 120_000);
    let (mut chunk_bytes, mut index_bytes) = (0u64, 0u64);
    for b in &blocks {
        chunk_bytes += dir_size(&dir.path().join(&b.ulid).join("chunks"));
        index_bytes += std::fs::metadata(dir.path().join(&b.ulid).join("index"))
            .unwrap()
            .len();
    }
    let bytes = chunk_bytes + index_bytes;
    println!("chunks {chunk_bytes} bytes, index {index_bytes} bytes");
    let bps = bytes as f64 / samples as f64;
    println!(
        "node_exporter-like data: {bytes} bytes for {samples} samples = {bps:.3} bytes/sample"
    );
    assert!(bps <= 1.0, "{bps:.3} bytes/sample");
}

fn dir_size(p: &Path) -> u64 {
    std::fs::read_dir(p)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum()
}

#[test]
fn concurrent_appends_queries_and_compaction() {
    let dir = tempfile::tempdir().unwrap();
    let db = Tsdb::open(dir.path(), cfg()).unwrap();
    let step = 60_000;
    let n = 4 * H / step; // 4h per series: forces a head cut while writing
                          // Writers move in lockstep: one far ahead would make the others' samples too
                          // old (more than half a block range behind the head), as in Prometheus.
    let barrier = std::sync::Barrier::new(4);
    std::thread::scope(|s| {
        for w in 0..4 {
            let db = &db;
            let barrier = &barrier;
            s.spawn(move || {
                for i in 0..n {
                    barrier.wait();
                    let b = (0..10)
                        .map(|k| {
                            let l = ls(&[
                                ("__name__", "c"),
                                ("w", &w.to_string()),
                                ("k", &k.to_string()),
                            ]);
                            (l, vec![(i * step, i as f64)])
                        })
                        .collect();
                    let r = db.append(batch(b)).unwrap();
                    assert_eq!(r.accepted, 10, "{:?}", r.first_error);
                }
            });
        }
        s.spawn(|| {
            for _ in 0..20 {
                db.compact().unwrap();
                let q = db.querier(i64::MIN, i64::MAX).unwrap();
                for series in q.select(&[eq("__name__", "c")]).unwrap() {
                    // Whatever is visible is a gap-free prefix 0, 1, 2, ...
                    let s = series.samples();
                    assert!(s
                        .iter()
                        .enumerate()
                        .all(|(i, x)| x.t == i as i64 * step && x.v == i as f64));
                }
            }
        });
    });
    db.compact().unwrap();
    assert!(!db.blocks().is_empty());
    let got = query(&db, i64::MIN, i64::MAX, &[eq("__name__", "c")]);
    assert_eq!(got.len(), 40);
    assert!(got.iter().all(|(_, s)| s.len() == n as usize));
    drop(db);
    // Everything survives a restart (blocks + checkpoint + WAL tail).
    let db = Tsdb::open(dir.path(), cfg()).unwrap();
    let got = query(&db, i64::MIN, i64::MAX, &[eq("__name__", "c")]);
    assert!(got.iter().all(|(_, s)| s.len() == n as usize));
}

#[test]
fn select_labels_lists_the_series_select_returns() {
    let dir = tempfile::tempdir().unwrap();
    let db = Tsdb::open(dir.path(), cfg()).unwrap();
    fill(&db, 12, 0, 5 * H, 60_000);
    // A series only in the head, and one only in the oldest range.
    db.append(batch(vec![(
        ls(&[("__name__", "late")]),
        vec![(5 * H, 1.0)],
    )]))
    .unwrap();
    db.compact().unwrap();
    assert!(!db.blocks().is_empty());
    let labels_of = |mint: i64, maxt: i64, m: &[Matcher]| -> Vec<Labels> {
        query(&db, mint, maxt, m)
            .into_iter()
            .map(|(l, _)| l)
            .collect()
    };
    let ranges = [
        (i64::MIN, i64::MAX),
        (0, H),
        (2 * H - 60_000, 2 * H + 60_000),
        (5 * H, 6 * H),
        (7 * H, 8 * H),
    ];
    let matchers: [Vec<Matcher>; 3] = [
        vec![],
        vec![eq("__name__", "load")],
        vec![Matcher::new(MatchOp::RegexMatch, "inst", "i00.*").unwrap()],
    ];
    for (mint, maxt) in ranges {
        for m in &matchers {
            let got = db.querier(mint, maxt).unwrap().select_labels(m).unwrap();
            assert_eq!(got, labels_of(mint, maxt, m), "range {mint}..{maxt}, {m:?}");
        }
    }
    let all = db
        .querier(i64::MIN, i64::MAX)
        .unwrap()
        .select_labels(&[])
        .unwrap();
    assert_eq!(all.len(), 13);
    assert!(db
        .querier(7 * H, 8 * H)
        .unwrap()
        .select_labels(&[])
        .unwrap()
        .is_empty());
}
