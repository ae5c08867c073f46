//! Micro benchmark: `sum by (job) (rate(x[5m]))` as a range query at 15s step over
//! 10k series × 1h of samples at 15s, held in [`MemStorage`].
//!
//! Run: `cargo run -p sightline-promql --example bench_rate` (optionally with the
//! number of repetitions as the first argument).

use sightline_model::{Labels, Sample};
use sightline_promql::{Engine, MemStorage, Value};
use std::time::Instant;

const SERIES: usize = 10_000;
const HOUR_MS: i64 = 3_600_000;
const STEP_MS: i64 = 15_000;

fn main() {
    let reps: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(3);
    let mut db = MemStorage::new();
    for i in 0..SERIES {
        let labels = Labels::from_pairs([
            ("__name__", "x".to_string()),
            ("job", format!("job-{}", i % 10)),
            ("instance", format!("host-{i}")),
        ]);
        let rate = 1.0 + (i % 7) as f64;
        db.add(
            labels,
            (0..=HOUR_MS / STEP_MS).map(|k| Sample::new(k * STEP_MS, k as f64 * rate * 15.0)),
        );
    }
    let engine = Engine::default();
    let q = "sum by (job) (rate(x[5m]))";
    let mut best = f64::INFINITY;
    for _ in 0..reps {
        let t0 = Instant::now();
        let v = engine
            .range(&db, q, 0, HOUR_MS, STEP_MS)
            .expect("query failed");
        let dt = t0.elapsed().as_secs_f64();
        best = best.min(dt);
        let Value::Matrix(m) = v else {
            panic!("expected a matrix")
        };
        assert_eq!(m.len(), 10);
        println!("{q}: {:.1} ms ({} series out)", dt * 1e3, m.len());
    }
    println!("best of {reps}: {:.1} ms", best * 1e3);
}
