//! Value generators: how one series' value evolves from one scrape to the next.
//!
//! Each kind mimics what a real exporter reports: integer counters that only go up,
//! CPU tick counters shown with 2 decimals (`/proc/stat` counts 1/100 s), memory
//! gauges in whole kilobytes that rarely move, noisy float durations, load averages.

use rand::rngs::SmallRng;
use rand::Rng;

use super::profile::HostProfile;

/// CPU modes as `/proc/stat` names them, with their share of the busy time (the idle
/// mode takes the rest).
pub const CPU_MODES: [(&str, f64); 8] = [
    ("idle", 0.0),
    ("iowait", 0.06),
    ("irq", 0.0),
    ("nice", 0.004),
    ("softirq", 0.03),
    ("steal", 0.01),
    ("system", 0.22),
    ("user", 0.676),
];

/// How a series' next value is produced.
#[derive(Debug, Clone)]
pub enum ValueGen {
    /// A value that never changes (`up`, sizes, limits, info metrics).
    Const(f64),
    /// A counter kept in integer units and shown as `units / divisor`, growing by
    /// about `rate` units per second with relative noise `noise`.
    Counter {
        /// Accumulated units (ticks, bytes, packets, milliseconds).
        units: u64,
        /// Mean units per second.
        rate: f64,
        /// Relative standard deviation of each increment.
        noise: f64,
        /// Units per displayed unit (100 for CPU ticks, 1000 for milliseconds).
        divisor: f64,
    },
    /// A CPU-mode tick counter whose rate follows the host's busy fraction.
    Cpu {
        /// Accumulated ticks (1/100 s).
        ticks: u64,
        /// Share of the busy time this mode gets; 0 for `idle`.
        share: f64,
        /// Whether this is the idle mode (which gets the non-busy time).
        idle: bool,
    },
    /// A gauge moving in steps of `quantum` with probability `prob` per scrape,
    /// kept within `[min, max]` (memory in kilobytes, free disk space, open files).
    Steps {
        /// Current value.
        value: f64,
        /// Step size.
        quantum: f64,
        /// Probability of a change per scrape.
        prob: f64,
        /// Largest step count in one change.
        max_steps: u32,
        /// Lower bound.
        min: f64,
        /// Upper bound.
        max: f64,
    },
    /// A positive float around `mean` with log-normal noise, full precision (scrape
    /// and collector durations).
    Noisy {
        /// Typical value.
        mean: f64,
        /// Standard deviation of the log.
        sigma: f64,
    },
    /// A load average: an exponentially damped count of runnable tasks, 2 decimals.
    Load {
        /// Current value.
        value: f64,
        /// Damping time constant in seconds (60, 300, 900).
        tau: f64,
    },
    /// The host's clock in seconds (`node_time_seconds`).
    Clock,
}

/// A standard normal variate (Box–Muller).
pub fn normal(rng: &mut SmallRng) -> f64 {
    let u1: f64 = rng.random_range(f64::EPSILON..1.0);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Rounds to `d` decimals.
fn round_to(v: f64, d: i32) -> f64 {
    let p = 10f64.powi(d);
    (v * p).round() / p
}

impl ValueGen {
    /// A counter starting at `start` units.
    pub fn counter(start: u64, rate: f64, noise: f64, divisor: f64) -> Self {
        ValueGen::Counter {
            units: start,
            rate,
            noise,
            divisor,
        }
    }

    /// A stepping gauge starting at `value`, bounded to ±`spread` around it.
    pub fn steps(value: f64, quantum: f64, prob: f64, max_steps: u32, spread: f64) -> Self {
        ValueGen::Steps {
            value,
            quantum,
            prob,
            max_steps,
            min: (value - spread).max(0.0),
            max: value + spread,
        }
    }

    /// Advances by `dt` seconds of a scrape at `ts_ms` on `round` and returns the value.
    pub fn next(
        &mut self,
        rng: &mut SmallRng,
        host: &HostProfile,
        round: u64,
        dt: f64,
        ts_ms: i64,
    ) -> f64 {
        match self {
            ValueGen::Const(v) => *v,
            ValueGen::Counter {
                units,
                rate,
                noise,
                divisor,
            } => {
                let inc = *rate * dt * (1.0 + *noise * normal(rng));
                *units += inc.max(0.0).round() as u64;
                *units as f64 / *divisor
            }
            ValueGen::Cpu { ticks, share, idle } => {
                let busy = host.busy(round);
                let frac = if *idle { 1.0 - busy } else { busy * *share };
                let inc = 100.0 * dt * frac * (1.0 + 0.08 * normal(rng));
                *ticks += inc.max(0.0).round() as u64;
                *ticks as f64 / 100.0
            }
            ValueGen::Steps {
                value,
                quantum,
                prob,
                max_steps,
                min,
                max,
            } => {
                if rng.random_bool(*prob) {
                    let k = rng.random_range(1..=*max_steps) as f64;
                    let sign = if rng.random_bool(0.5) { 1.0 } else { -1.0 };
                    *value = (*value + sign * k * *quantum).clamp(*min, *max);
                }
                *value
            }
            ValueGen::Noisy { mean, sigma } => *mean * (*sigma * normal(rng)).exp(),
            ValueGen::Load { value, tau } => {
                let runnable = (host.busy(round) * host.cpus as f64 * (1.0 + 0.3 * normal(rng)))
                    .max(0.0)
                    .round();
                let k = (-dt / *tau).exp();
                *value = *value * k + runnable * (1.0 - k);
                round_to(*value, 2)
            }
            ValueGen::Clock => ts_ms as f64 / 1000.0 + rng.random_range(0..1000) as f64 * 1e-6,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn host() -> HostProfile {
        HostProfile::new(1, 7)
    }

    #[test]
    fn counters_never_decrease_and_keep_two_decimals() {
        let mut rng = SmallRng::seed_from_u64(3);
        let h = host();
        let mut g = ValueGen::Cpu {
            ticks: 123_456,
            share: 0.6,
            idle: false,
        };
        let mut prev = 0.0;
        for r in 0..500 {
            let v = g.next(&mut rng, &h, r, 15.0, 0);
            assert!(v >= prev, "counter went down: {prev} -> {v}");
            let cents = v * 100.0;
            assert!(
                (cents - cents.round()).abs() < 1e-6,
                "{v} has more than 2 decimals"
            );
            prev = v;
        }
    }

    #[test]
    fn idle_and_busy_modes_add_up_to_about_the_elapsed_time() {
        let mut rng = SmallRng::seed_from_u64(5);
        let h = host();
        let mut gens: Vec<ValueGen> = CPU_MODES
            .iter()
            .map(|(m, s)| ValueGen::Cpu {
                ticks: 0,
                share: *s,
                idle: *m == "idle",
            })
            .collect();
        let rounds = 400u64;
        let mut total = 0.0;
        for r in 0..rounds {
            total = gens
                .iter_mut()
                .map(|g| g.next(&mut rng, &h, r, 15.0, 0))
                .sum::<f64>();
        }
        let elapsed = rounds as f64 * 15.0;
        assert!((total / elapsed - 1.0).abs() < 0.02, "{total} vs {elapsed}");
    }

    #[test]
    fn steps_stay_within_bounds_on_the_quantum_grid() {
        let mut rng = SmallRng::seed_from_u64(9);
        let h = host();
        let start = 1024.0 * 1_000_000.0;
        let mut g = ValueGen::steps(start, 4096.0, 0.5, 8, 4096.0 * 50.0);
        for r in 0..2000 {
            let v = g.next(&mut rng, &h, r, 15.0, 0);
            assert!((v - start).abs() <= 4096.0 * 50.0);
            assert_eq!(((v - start) / 4096.0).fract(), 0.0);
        }
    }

    #[test]
    fn load_average_is_rounded_and_non_negative() {
        let mut rng = SmallRng::seed_from_u64(11);
        let h = host();
        let mut g = ValueGen::Load {
            value: 1.0,
            tau: 60.0,
        };
        for r in 0..300 {
            let v = g.next(&mut rng, &h, r, 15.0, 0);
            assert!(v >= 0.0);
            assert!(((v * 100.0) - (v * 100.0).round()).abs() < 1e-6);
        }
    }
}
