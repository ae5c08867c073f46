//! Per-host traits that several series share: how busy the host is over time, its
//! scrape phase and its size. Everything is a pure function of (seed, host, round) so
//! that encoder threads working on different shards agree without sharing state.

use xxhash_rust::xxh3::xxh3_64_with_seed;

/// A uniform number in `[0, 1)` derived from `(seed, a, b)`.
pub fn unit_hash(seed: u64, a: u64, b: u64) -> f64 {
    let mut buf = [0u8; 16];
    buf[..8].copy_from_slice(&a.to_le_bytes());
    buf[8..].copy_from_slice(&b.to_le_bytes());
    (xxh3_64_with_seed(&buf, seed) >> 11) as f64 / (1u64 << 53) as f64
}

/// The shared traits of one simulated host.
#[derive(Debug, Clone)]
pub struct HostProfile {
    /// Host number (0-based).
    pub index: u32,
    /// Number of CPUs.
    pub cpus: u32,
    /// Memory size in bytes.
    pub mem_bytes: u64,
    /// Offset of this target's scrapes within the interval, in ms (Prometheus spreads
    /// targets over the interval).
    pub offset_ms: i64,
    seed: u64,
    base_busy: f64,
    amplitude: f64,
    period_rounds: f64,
    phase: f64,
}

impl HostProfile {
    /// The profile of host `index` under workload seed `seed`.
    pub fn new(index: u32, seed: u64) -> Self {
        let u = |k: u64| unit_hash(seed, index as u64, 1_000_000 + k);
        let mem_gib = [16u64, 32, 64, 128][(u(1) * 4.0) as usize % 4];
        HostProfile {
            index,
            cpus: 8,
            mem_bytes: mem_gib << 30,
            offset_ms: (u(2) * 15_000.0) as i64,
            seed,
            base_busy: 0.04 + 0.36 * u(3),
            amplitude: 0.2 + 0.4 * u(4),
            period_rounds: 240.0 + 960.0 * u(5),
            phase: u(6) * std::f64::consts::TAU,
        }
    }

    /// Fraction of CPU time spent busy during `round`: a slow wave with per-round noise.
    pub fn busy(&self, round: u64) -> f64 {
        let wave = (std::f64::consts::TAU * round as f64 / self.period_rounds + self.phase).sin();
        let noise = unit_hash(self.seed, self.index as u64, round) - 0.5;
        (self.base_busy * (1.0 + self.amplitude * wave + 0.4 * noise)).clamp(0.005, 0.98)
    }

    /// Scrape timestamp of `round`: aligned start + phase, plus jitter like a real
    /// scrape loop's. Prometheus snaps timestamps that are within 2 ms of the schedule
    /// back onto it, so most scrapes land exactly on the grid and about 1 in 20 starts
    /// late by 3–30 ms (scheduling delays).
    pub fn timestamp(&self, start_ms: i64, interval_ms: i64, round: u64) -> i64 {
        let j = unit_hash(self.seed ^ 0x9e37, self.index as u64, round);
        let jitter = if j < 0.95 {
            0
        } else {
            3 + ((j - 0.95) * 20.0 * 28.0) as i64
        };
        start_ms + self.offset_ms + round as i64 * interval_ms + jitter
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_increase_and_stay_near_the_grid() {
        let h = HostProfile::new(3, 42);
        let mut prev = i64::MIN;
        let mut on_grid = 0;
        for r in 0..5000 {
            let t = h.timestamp(1_000_000, 15_000, r);
            assert!(t > prev);
            let off = t - 1_000_000 - h.offset_ms - r as i64 * 15_000;
            assert!(off == 0 || (3..=30).contains(&off), "jitter {off}");
            on_grid += (off == 0) as u32;
            prev = t;
        }
        assert!(
            (4600..4900).contains(&on_grid),
            "{on_grid} of 5000 on the grid"
        );
    }

    #[test]
    fn busy_is_a_fraction_and_deterministic() {
        let a = HostProfile::new(5, 1);
        let b = HostProfile::new(5, 1);
        for r in 0..1000 {
            let x = a.busy(r);
            assert!((0.0..1.0).contains(&x));
            assert_eq!(x, b.busy(r));
        }
    }
}
