//! The simulated fleet: node_exporter targets scraped every interval.
//!
//! - [`profile`]: per-host traits (busy fraction over time, scrape phase, size).
//! - [`gen`]: how each series' value evolves between scrapes.
//! - [`node`]: the series catalogue of one host.

pub mod gen;
pub mod node;
pub mod profile;

use rand::rngs::SmallRng;
use rand::SeedableRng;

pub use node::SeriesDef;
pub use profile::HostProfile;

/// What to simulate: how many hosts, from when, for how many scrape rounds.
#[derive(Debug, Clone)]
pub struct WorkloadSpec {
    /// Number of hosts (targets).
    pub hosts: u32,
    /// Timestamp of the first round, ms since the epoch.
    pub start_ms: i64,
    /// Scrape interval, ms.
    pub interval_ms: i64,
    /// Number of scrape rounds.
    pub rounds: u64,
    /// Seed of every random choice; the same seed gives the same data.
    pub seed: u64,
}

impl WorkloadSpec {
    /// A spec covering `duration_ms` up to `end_ms` (the newest round lands near it).
    pub fn ending_at(
        hosts: u32,
        end_ms: i64,
        duration_ms: i64,
        interval_ms: i64,
        seed: u64,
    ) -> Self {
        let interval_ms = interval_ms.max(1);
        let rounds = (duration_ms / interval_ms).max(1) as u64;
        WorkloadSpec {
            hosts,
            start_ms: end_ms - rounds as i64 * interval_ms,
            interval_ms,
            rounds,
            seed,
        }
    }

    /// The `instance` label of host `index`, e.g. `host-007:9100`.
    pub fn instance(&self, index: u32) -> String {
        let width = self.hosts.saturating_sub(1).to_string().len().max(3);
        format!("host-{index:0width$}:9100")
    }
}

/// The fleet: host profiles and every series with its owning host.
#[derive(Debug, Clone)]
pub struct Workload {
    /// What was asked for.
    pub spec: WorkloadSpec,
    /// One profile per host.
    pub hosts: Vec<HostProfile>,
    /// Every series, with the index of its host.
    pub series: Vec<(u32, SeriesDef)>,
}

impl Workload {
    /// Builds the fleet described by `spec` (deterministic in `spec.seed`).
    pub fn build(spec: WorkloadSpec) -> Self {
        let hosts: Vec<HostProfile> = (0..spec.hosts)
            .map(|i| HostProfile::new(i, spec.seed))
            .collect();
        let mut series = Vec::new();
        for h in &hosts {
            let mut rng = SmallRng::seed_from_u64(spec.seed.wrapping_add(h.index as u64 * 7919));
            let inst = spec.instance(h.index);
            series.extend(
                node::host_series(h, &inst, &mut rng)
                    .into_iter()
                    .map(|d| (h.index, d)),
            );
        }
        Workload {
            spec,
            hosts,
            series,
        }
    }

    /// Series count of each host, indexed by host.
    pub fn series_per_host(&self) -> Vec<u32> {
        let mut n = vec![0u32; self.hosts.len()];
        for (h, _) in &self.series {
            n[*h as usize] += 1;
        }
        n
    }

    /// Total samples the full run produces.
    pub fn total_samples(&self) -> u64 {
        self.series.len() as u64 * self.spec.rounds
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_ends_near_the_end_time_and_covers_the_duration() {
        let s = WorkloadSpec::ending_at(10, 100_000_000, 3 * 3_600_000, 15_000, 1);
        assert_eq!(s.rounds, 720);
        assert_eq!(s.start_ms + 720 * 15_000, 100_000_000);
        assert_eq!(s.instance(7), "host-007:9100");
        let big = WorkloadSpec::ending_at(5000, 0, 15_000, 15_000, 1);
        assert_eq!(big.instance(42), "host-0042:9100");
    }

    #[test]
    fn build_is_deterministic() {
        let spec = WorkloadSpec::ending_at(3, 1_000_000_000, 60_000, 15_000, 9);
        let a = Workload::build(spec.clone());
        let b = Workload::build(spec);
        assert_eq!(a.series.len(), b.series.len());
        assert!(a
            .series
            .iter()
            .zip(&b.series)
            .all(|(x, y)| x.1.labels == y.1.labels));
        assert_eq!(
            a.series_per_host().iter().sum::<u32>() as usize,
            a.series.len()
        );
    }
}
