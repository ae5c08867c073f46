//! Micro-benchmark of remote_write 1.0 decoding: builds a request of 1000 series (10
//! labels, one sample each, like a Prometheus shard flush), then decodes it in a loop
//! and prints throughput. Run with
//! `cargo run -p sightline-remote-write --example decode_bench --release`.

use std::time::Instant;

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
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{iterations} requests of {} compressed bytes: {:.1} µs/request, {:.2} M samples/s",
        body.len(),
        secs * 1e6 / iterations as f64,
        samples as f64 / secs / 1e6
    );
}
