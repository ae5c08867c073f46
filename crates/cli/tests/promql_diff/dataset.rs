//! The deterministic dataset both servers load: three hours at 15 s resolution of
//! counters with resets, noisy gauges crossing zero, classic histograms, series with
//! gaps and disappearances, and label sets of several dimensions, written as one
//! OpenMetrics file with timestamps (what `promtool tsdb create-blocks-from
//! openmetrics` and `sightline import openmetrics` both read).
//!
//! Every sample timestamp is `≡ 2 (mod 5)` seconds, every evaluation time of the
//! differential test `≡ 1 (mod 5)`, and every range, offset and step a multiple of
//! 5 s. So no sample lies on a range boundary and no subquery step lies on a
//! subquery's boundary: 2.x's closed `[t-r, t]` and 3.x's left-open `(t-r, t]`
//! windows then select the same points.
//!
//! Counters and histogram buckets start at 0 (or far above their per-scrape
//! increase), which keeps `rate`'s zero-point limit out of the range where 2.42 and
//! 3.x extrapolate differently (see `queries::EXCLUSIONS`).

use std::fmt::Write as _;

/// The query-time origin: a multiple of 5 s (and of 60 s relative to nothing in
/// particular; tests add multiples of 5 s to it).
pub const G: i64 = 1_700_000_000;
/// The evaluation-time origin of the differential test: `≡ 1 (mod 5)`.
pub const E: i64 = G + 1;
/// Timestamp (s) of the first sample: `G + 2`, off the 5 s lattice on purpose.
pub const T0: i64 = G + 2;
/// Seconds between samples.
pub const STEP: i64 = 15;
/// Samples per series (three hours).
pub const POINTS: i64 = 720;
/// Timestamp (s) of the last sample.
pub const T_LAST: i64 = T0 + (POINTS - 1) * STEP;

/// The classic histogram's bucket bounds, as written in `le`.
pub const BUCKETS: &[&str] = &[
    "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf",
];

/// A small deterministic generator (splitmix64), so both servers and every run see
/// the same data without a dependency.
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn ts(i: i64) -> i64 {
    T0 + i * STEP
}

fn labels(pairs: &[(&str, &str)]) -> String {
    let body: Vec<String> = pairs
        .iter()
        .map(|(k, v)| {
            let esc = v
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n");
            format!("{k}=\"{esc}\"")
        })
        .collect();
    format!("{{{}}}", body.join(","))
}

const JOBS: &[&str] = &["api", "web"];
const INSTANCES: &[&str] = &["a:9100", "b:9100"];

/// The whole dataset as OpenMetrics text ending in `# EOF`.
pub fn openmetrics() -> String {
    let mut rng = Rng::new(0x5167_4c69_6e65);
    let mut out = String::with_capacity(8 << 20);

    // Counters with resets: 16 series over four dimensions.
    out.push_str("# HELP diff_http_requests Requests served.\n# TYPE diff_http_requests counter\n");
    let mut idx = 0;
    for job in JOBS {
        for inst in INSTANCES {
            for method in ["GET", "POST"] {
                for code in ["200", "500"] {
                    let l = labels(&[
                        ("job", job),
                        ("instance", inst),
                        ("method", method),
                        ("code", code),
                    ]);
                    let rate = 0.2 + 8.0 * rng.unit();
                    let resets: Vec<i64> = match idx {
                        3 => vec![250],
                        7 => vec![480],
                        12 => vec![130, 555],
                        _ => vec![],
                    };
                    let mut v = 2000.0 + 1000.0 * rng.unit();
                    for i in 0..POINTS {
                        let inc = rate * STEP as f64 * (0.5 + rng.unit());
                        if resets.contains(&i) {
                            v = inc * 0.3;
                        } else if i > 0 {
                            v += inc;
                        }
                        writeln!(out, "diff_http_requests_total{l} {v} {}", ts(i)).unwrap();
                    }
                    idx += 1;
                }
            }
        }
    }

    // A sparse counter: ~10% of scrapes missing, one reset.
    out.push_str(
        "# HELP diff_jobs_processed Jobs processed.\n# TYPE diff_jobs_processed counter\n",
    );
    for (n, queue) in ["fast", "slow", "bulk"].iter().enumerate() {
        let l = labels(&[("job", "worker"), ("queue", queue)]);
        let mut v = 0.0;
        for i in 0..POINTS {
            if i > 0 {
                v += (3.0 + n as f64) * rng.unit();
            }
            if n == 1 && i == 333 {
                v = 1.5;
            }
            if rng.unit() < 0.1 {
                continue;
            }
            writeln!(out, "diff_jobs_processed_total{l} {v} {}", ts(i)).unwrap();
        }
    }

    // Noisy gauges that cross zero.
    out.push_str(
        "# HELP diff_temperature_celsius Temperature.\n# TYPE diff_temperature_celsius gauge\n",
    );
    for job in JOBS {
        for inst in INSTANCES {
            for zone in ["north", "south"] {
                let l = labels(&[("job", job), ("instance", inst), ("zone", zone)]);
                let phase = std::f64::consts::TAU * rng.unit();
                let base = 20.0 * rng.unit() - 10.0;
                let period = 1800.0 + 5400.0 * rng.unit();
                for i in 0..POINTS {
                    let t = (i * STEP) as f64;
                    let v = base
                        + 15.0 * (std::f64::consts::TAU * t / period + phase).sin()
                        + 5.0 * (rng.unit() - 0.5);
                    writeln!(out, "diff_temperature_celsius{l} {v} {}", ts(i)).unwrap();
                }
            }
        }
    }

    // Integer gauges with repeated values (count_values, changes, equality ops).
    out.push_str("# HELP diff_queue_depth Items queued.\n# TYPE diff_queue_depth gauge\n");
    for job in JOBS {
        for inst in INSTANCES {
            let l = labels(&[("job", job), ("instance", inst)]);
            let mut v: i64 = 3;
            for i in 0..POINTS {
                let r = rng.unit();
                if r < 0.2 {
                    v = (v - 1).max(0);
                } else if r > 0.8 {
                    v = (v + 1).min(9);
                }
                writeln!(out, "diff_queue_depth{l} {v} {}", ts(i)).unwrap();
            }
        }
    }

    // Gauges with gaps: one with a 20 min hole and short 2 min holes, one that
    // disappears for half an hour (longer than the 5 min lookback) and comes back.
    out.push_str("# HELP diff_gappy_gauge Sometimes absent.\n# TYPE diff_gappy_gauge gauge\n");
    for inst in ["holes", "vanishes"] {
        let l = labels(&[("job", "batch"), ("instance", inst)]);
        for i in 0..POINTS {
            let s = i * STEP;
            let absent = match inst {
                "holes" => (3600..4800).contains(&s) || (s % 1800) < 120,
                _ => (5400..7200).contains(&s) || s >= 10_200,
            };
            if absent {
                continue;
            }
            let v = (rng.unit() - 0.3) * 100.0;
            writeln!(out, "diff_gappy_gauge{l} {v} {}", ts(i)).unwrap();
        }
    }

    // Classic histograms: cumulative buckets, _sum, _count; one series resets.
    out.push_str("# HELP diff_request_duration_seconds Latency.\n# TYPE diff_request_duration_seconds histogram\n");
    let bounds: Vec<f64> = BUCKETS.iter().map(|b| b.parse::<f64>().unwrap()).collect();
    let mut hidx = 0;
    for job in JOBS {
        for inst in INSTANCES {
            let mut counts = vec![0u64; BUCKETS.len()];
            let mut sum = 0.0;
            let mut count = 0u64;
            let spread = 1.0 + 3.0 * rng.unit();
            for i in 0..POINTS {
                if hidx == 2 && i == 400 {
                    counts.iter_mut().for_each(|c| *c = 0);
                    sum = 0.0;
                    count = 0;
                }
                let n = if i == 0 {
                    0
                } else {
                    (rng.unit() * 30.0) as u64
                };
                for _ in 0..n {
                    let x = (0.001f64.ln() + rng.unit() * spread * 2.5).exp();
                    sum += x;
                    count += 1;
                    for (c, b) in counts.iter_mut().zip(&bounds) {
                        if x <= *b {
                            *c += 1;
                        }
                    }
                }
                for (c, le) in counts.iter().zip(BUCKETS) {
                    let l = labels(&[("job", job), ("instance", inst), ("le", le)]);
                    writeln!(out, "diff_request_duration_seconds_bucket{l} {c} {}", ts(i)).unwrap();
                }
                let l = labels(&[("job", job), ("instance", inst)]);
                writeln!(out, "diff_request_duration_seconds_sum{l} {sum} {}", ts(i)).unwrap();
                writeln!(
                    out,
                    "diff_request_duration_seconds_count{l} {count} {}",
                    ts(i)
                )
                .unwrap();
            }
            hidx += 1;
        }
    }

    // Extreme values: formatting and overflow edge cases.
    out.push_str("# HELP diff_extreme Edge-case values.\n# TYPE diff_extreme gauge\n");
    for (kind, v) in [
        ("tiny", "1e-300"),
        ("denormal", "5e-324"),
        ("huge", "1.7976931348623157e308"),
        ("big", "1e21"),
        ("long", "123456789012345680000"),
        ("sum", "0.30000000000000004"),
        ("third", "0.3333333333333333"),
        ("negzero", "-0"),
        ("micro", "0.0000001"),
        ("neg", "-12345.678"),
    ] {
        let l = labels(&[("kind", kind)]);
        for i in 0..POINTS {
            writeln!(out, "diff_extreme{l} {v} {}", ts(i)).unwrap();
        }
    }

    // Samples on and around 2 h block boundaries, with millisecond timestamps.
    out.push_str("# HELP diff_boundary Samples at block edges.\n# TYPE diff_boundary gauge\n");
    let l = labels(&[("edge", "block")]);
    let mut n = 0;
    for edge in [G - 800, G + 6400] {
        for ts in [
            format!("{}.999", edge - 1),
            format!("{edge}"),
            format!("{edge}.001"),
            format!("{edge}.1"),
            format!("{}.3", edge + 7),
            format!("{}.123", edge + 60),
            format!("{}.0005", edge + 90),
        ] {
            n += 1;
            writeln!(out, "diff_boundary{l} {n} {ts}").unwrap();
        }
    }

    // A constant info-style gauge whose label values need escaping.
    out.push_str("# HELP diff_build_info Build information.\n# TYPE diff_build_info gauge\n");
    let l = labels(&[
        ("job", "api"),
        ("version", "1.2.3"),
        ("path", "C:\\srv \"main\" é"),
    ]);
    for i in 0..POINTS {
        writeln!(out, "diff_build_info{l} 1 {}", ts(i)).unwrap();
    }

    out.push_str("# EOF\n");
    out
}
