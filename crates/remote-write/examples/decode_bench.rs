//! Micro-benchmark of remote_write 1.0 decoding: builds a request of 1000 series (10
//! labels, one sample each, like a Prometheus shard flush), then decodes it in a loop
//! and prints throughput, next to two baselines: snappy alone, and prost decoding
//! followed by conversion to the model (the straightforward implementation). Run with
//! `cargo run -p sightline-remote-write --example decode_bench --release [iterations]`
//! (or, in the shared dev profile, with
//! `--config 'profile.dev.package.sightline-remote-write.opt-level=3'`).

use std::time::Instant;

use prost::Message;
use sightline_model::{Label, Labels, Sample, TimeSeries, WriteBatch};
use sightline_remote_write::proto::v1;
use sightline_remote_write::{decode_v1, encode_snappy, Limits};

fn request(series: usize) -> v1::WriteRequest {
    let timeseries = (0..series)
        .map(|i| {
            let mut labels = vec![v1::Label {
                name: "__name__".into(),
                value: format!("node_metric_{}", i % 50),
            }];
            for l in 0..9 {
                labels.push(v1::Label {
                    name: format!("label_{l}"),
                    value: format!("value_{}_{}", l, i),
                });
            }
            labels.sort_by(|a, b| a.name.cmp(&b.name));
            v1::TimeSeries {
                labels,
                samples: vec![v1::Sample {
                    value: i as f64,
                    timestamp: 1_700_000_000_000,
                }],
                exemplars: vec![],
                histograms: vec![],
            }
        })
        .collect();
    v1::WriteRequest {
        timeseries,
        metadata: vec![],
    }
}

/// The baseline: prost structs, then a conversion into the model types.
fn prost_decode(body: &[u8]) -> Option<WriteBatch> {
    let raw = snap::raw::Decoder::new().decompress_vec(body).ok()?;
    let req = v1::WriteRequest::decode(&raw[..]).ok()?;
    let series = req
        .timeseries
        .into_iter()
        .map(|ts| TimeSeries {
            labels: Labels::from_sorted_unchecked(
                ts.labels
                    .into_iter()
                    .map(|l| Label {
                        name: l.name,
                        value: l.value,
                    })
                    .collect(),
            ),
            samples: ts
                .samples
                .into_iter()
                .map(|s| Sample {
                    t: s.timestamp,
                    v: s.value,
                })
                .collect(),
            exemplars: Vec::new(),
        })
        .collect();
    Some(WriteBatch {
        series,
        metadata: Vec::new(),
    })
}

fn report(what: &str, iterations: u32, samples: usize, start: Instant) {
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{what:>12}: {:8.1} µs/request, {:6.2} M samples/s",
        secs * 1e6 / iterations as f64,
        samples as f64 / secs / 1e6
    );
}

fn main() {
    let body = match encode_snappy(&request(1000)) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("encode failed: {e}");
            return;
        }
    };
    let limits = Limits::default();
    let iterations = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(2000u32);
    println!(
        "{iterations} requests of 1000 series, {} compressed bytes",
        body.len()
    );
    let start = Instant::now();
    let mut n = 0usize;
    for _ in 0..iterations {
        n += snap::raw::Decoder::new()
            .decompress_vec(&body)
            .map_or(0, |v| v.len());
    }
    report("snappy only", iterations, 1000 * iterations as usize, start);
    let _ = n;
    let start = Instant::now();
    let mut samples = 0usize;
    for _ in 0..iterations {
        samples += prost_decode(&body).map_or(0, |b| b.sample_count());
    }
    report("prost", iterations, samples, start);
    let start = Instant::now();
    let mut samples = 0usize;
    for _ in 0..iterations {
        match decode_v1(&body, &limits) {
            Ok(b) => samples += b.sample_count(),
            Err(e) => {
                eprintln!("decode failed: {e}");
                return;
            }
        }
    }
    report("decode_v1", iterations, samples, start);
}
