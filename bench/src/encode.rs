//! Turns a [`Workload`] into ready-to-send remote_write requests, before any timing
//! starts, so the load generator is never what limits the measured server.
//!
//! Series are sharded by a hash of their labels (as Prometheus' queue manager does),
//! so every series stays in one shard and in timestamp order. Within a round each
//! shard's samples are cut into requests of at most `batch` samples, one
//! `TimeSeries` per sample as Prometheus sends them. Because a shard holds the same
//! series in the same order every round, each request slot keeps a template
//! `WriteRequest` whose labels are built once; a round only rewrites sample values
//! and timestamps before snappy-encoding.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use rand::rngs::SmallRng;
use rand::SeedableRng;
use sightline_remote_write::encode_snappy;
use sightline_remote_write::proto::v1::{Label, Sample, TimeSeries, WriteRequest};
use xxhash_rust::xxh3::xxh3_64;

use crate::procstat;
use crate::workload::gen::ValueGen;
use crate::workload::{HostProfile, Workload, WorkloadSpec};

/// One encoded request body (snappy-compressed protobuf) and what it carries.
#[derive(Debug, Clone)]
pub struct Request {
    /// The HTTP body.
    pub body: Vec<u8>,
    /// Samples inside.
    pub samples: u32,
}

/// Which samples were sent at which timestamps, to count the samples inside a time
/// range (for stores whose block metadata lacks a sample count).
#[derive(Debug, Clone)]
pub struct SentIndex {
    spec: WorkloadSpec,
    hosts: Vec<HostProfile>,
    series_per_host: Vec<u32>,
}

impl SentIndex {
    /// Samples with timestamps in `[mint, maxt]` (both inclusive, as block metadata
    /// states them; pass `maxt - 1` for a half-open range).
    pub fn samples_in(&self, mint: i64, maxt: i64) -> u64 {
        let mut n = 0u64;
        for (h, p) in self.hosts.iter().enumerate() {
            for r in 0..self.spec.rounds {
                let t = p.timestamp(self.spec.start_ms, self.spec.interval_ms, r);
                if t >= mint && t <= maxt {
                    n += self.series_per_host[h] as u64;
                }
            }
        }
        n
    }

    /// Newest timestamp sent.
    pub fn max_time(&self) -> i64 {
        let last = self.spec.rounds.saturating_sub(1);
        self.hosts
            .iter()
            .map(|p| p.timestamp(self.spec.start_ms, self.spec.interval_ms, last))
            .max()
            .unwrap_or(self.spec.start_ms)
    }
}

/// The whole load, encoded: per shard, its requests in send order.
#[derive(Debug)]
pub struct EncodedLoad {
    /// Requests per shard, oldest first.
    pub shards: Vec<Vec<Request>>,
    /// Total samples.
    pub samples: u64,
    /// Distinct series.
    pub series: u64,
    /// Protobuf bytes before compression.
    pub raw_bytes: u64,
    /// Snappy bytes on the wire.
    pub wire_bytes: u64,
    /// Wall time spent encoding.
    pub encode_wall: Duration,
    /// CPU time (all threads) spent encoding.
    pub encode_cpu: Duration,
    /// Timestamps of what was sent.
    pub index: SentIndex,
}

/// One shard's request templates and the generators of their series, slot by slot.
struct ShardPlan {
    templates: Vec<WriteRequest>,
    gens: Vec<Vec<(u32, ValueGen)>>,
}

/// One shard's requests and their raw (uncompressed) size, or why encoding failed.
type ShardOutput = Result<(Vec<Request>, u64)>;

/// Assigns each series to a shard by the hash of its labels.
pub fn shard_of(labels: &[(String, String)], shards: usize) -> usize {
    let mut buf = Vec::with_capacity(128);
    for (k, v) in labels {
        buf.extend_from_slice(k.as_bytes());
        buf.push(0xff);
        buf.extend_from_slice(v.as_bytes());
        buf.push(0xff);
    }
    (xxh3_64(&buf) % shards.max(1) as u64) as usize
}

fn plan(workload: Workload, shards: usize, batch: usize) -> Vec<ShardPlan> {
    let mut per_shard: Vec<Vec<(u32, crate::workload::SeriesDef)>> =
        (0..shards).map(|_| Vec::new()).collect();
    for (h, def) in workload.series {
        per_shard[shard_of(&def.labels, shards)].push((h, def));
    }
    per_shard
        .into_iter()
        .map(|list| {
            let mut templates = Vec::new();
            let mut gens = Vec::new();
            for chunk in list.chunks(batch.max(1)) {
                let timeseries = chunk
                    .iter()
                    .map(|(_, d)| TimeSeries {
                        labels: d
                            .labels
                            .iter()
                            .map(|(k, v)| Label {
                                name: k.clone(),
                                value: v.clone(),
                            })
                            .collect(),
                        samples: vec![Sample::default()],
                        exemplars: Vec::new(),
                        histograms: Vec::new(),
                    })
                    .collect();
                templates.push(WriteRequest {
                    timeseries,
                    metadata: Vec::new(),
                });
                gens.push(chunk.iter().map(|(h, d)| (*h, d.gen.clone())).collect());
            }
            ShardPlan { templates, gens }
        })
        .collect()
}

/// Encodes every round of one shard.
fn encode_shard(
    mut plan: ShardPlan,
    shard: usize,
    spec: &WorkloadSpec,
    hosts: &[HostProfile],
) -> ShardOutput {
    let mut rng = SmallRng::seed_from_u64(spec.seed ^ (shard as u64).wrapping_mul(0x9e37_79b9));
    let mut out = Vec::with_capacity(plan.templates.len() * spec.rounds as usize);
    let mut raw = 0u64;
    let mut prev: Vec<i64> = hosts
        .iter()
        .map(|h| h.timestamp(spec.start_ms, spec.interval_ms, 0) - spec.interval_ms)
        .collect();
    let mut now = vec![0i64; hosts.len()];
    for r in 0..spec.rounds {
        for (h, p) in hosts.iter().enumerate() {
            now[h] = p.timestamp(spec.start_ms, spec.interval_ms, r);
        }
        for (tpl, gens) in plan.templates.iter_mut().zip(plan.gens.iter_mut()) {
            for (ts, (h, gen)) in tpl.timeseries.iter_mut().zip(gens.iter_mut()) {
                let h = *h as usize;
                let t = now[h];
                let dt = (t - prev[h]) as f64 / 1000.0;
                let value = gen.next(&mut rng, &hosts[h], r, dt, t);
                ts.samples[0] = Sample {
                    value,
                    timestamp: t,
                };
            }
            raw += prost::Message::encoded_len(tpl) as u64;
            let body = encode_snappy(tpl).context("snappy encoding")?;
            out.push(Request {
                body,
                samples: tpl.timeseries.len() as u32,
            });
        }
        prev.copy_from_slice(&now);
    }
    Ok((out, raw))
}

/// Encodes the whole workload into `shards` shards of requests of at most `batch`
/// samples, using up to `threads` encoder threads.
pub fn encode(
    workload: Workload,
    shards: usize,
    batch: usize,
    threads: usize,
) -> Result<EncodedLoad> {
    let shards = shards.max(1);
    let cpu0 = procstat::self_cpu_seconds().unwrap_or(0.0);
    let t0 = Instant::now();
    let spec = workload.spec.clone();
    let hosts = workload.hosts.clone();
    let series_per_host = workload.series_per_host();
    let series = workload.series.len() as u64;
    let plans = plan(workload, shards, batch);
    let threads = threads.clamp(1, shards);
    let mut slots: Vec<Option<ShardPlan>> = plans.into_iter().map(Some).collect();
    let mut results: Vec<Option<ShardOutput>> = (0..shards).map(|_| None).collect();
    std::thread::scope(|scope| {
        let mut handles = Vec::new();
        for t in 0..threads {
            let mine: Vec<(usize, ShardPlan)> = (0..shards)
                .filter(|s| s % threads == t)
                .filter_map(|s| slots[s].take().map(|p| (s, p)))
                .collect();
            let (spec, hosts) = (&spec, &hosts);
            handles.push(scope.spawn(move || {
                mine.into_iter()
                    .map(|(s, p)| (s, encode_shard(p, s, spec, hosts)))
                    .collect::<Vec<_>>()
            }));
        }
        for h in handles {
            match h.join() {
                Ok(done) => {
                    for (s, r) in done {
                        results[s] = Some(r);
                    }
                }
                Err(_) => {
                    // A panicking encoder leaves its shards empty; reported below.
                }
            }
        }
    });
    let mut out_shards = Vec::with_capacity(shards);
    let (mut samples, mut raw_bytes, mut wire_bytes) = (0u64, 0u64, 0u64);
    for (s, r) in results.into_iter().enumerate() {
        let (reqs, raw) = r.with_context(|| format!("encoder thread for shard {s} died"))??;
        samples += reqs.iter().map(|q| q.samples as u64).sum::<u64>();
        wire_bytes += reqs.iter().map(|q| q.body.len() as u64).sum::<u64>();
        raw_bytes += raw;
        out_shards.push(reqs);
    }
    let encode_wall = t0.elapsed();
    let encode_cpu = procstat::self_cpu_seconds().unwrap_or(0.0) - cpu0;
    Ok(EncodedLoad {
        shards: out_shards,
        samples,
        series,
        raw_bytes,
        wire_bytes,
        encode_wall,
        encode_cpu: Duration::from_secs_f64(encode_cpu.max(0.0)),
        index: SentIndex {
            spec,
            hosts,
            series_per_host,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;
    use std::collections::HashMap;

    fn decode(body: &[u8]) -> WriteRequest {
        let raw = snap::raw::Decoder::new().decompress_vec(body).unwrap();
        WriteRequest::decode(raw.as_slice()).unwrap()
    }

    #[test]
    fn every_series_gets_one_sample_per_round_in_order_within_one_shard() {
        let spec = WorkloadSpec::ending_at(3, 1_700_000_000_000, 10 * 15_000, 15_000, 4);
        let w = Workload::build(spec);
        let series = w.series.len();
        let load = encode(w, 4, 500, 2).unwrap();
        assert_eq!(load.samples, series as u64 * 10);
        assert_eq!(load.index.samples_in(i64::MIN, i64::MAX), load.samples);
        let mut last: HashMap<Vec<(String, String)>, (usize, i64, usize)> = HashMap::new();
        for (s, reqs) in load.shards.iter().enumerate() {
            for q in reqs {
                let wr = decode(&q.body);
                assert_eq!(wr.timeseries.len(), q.samples as usize);
                assert!(wr.timeseries.len() <= 500);
                for ts in wr.timeseries {
                    let key: Vec<_> = ts
                        .labels
                        .iter()
                        .map(|l| (l.name.clone(), l.value.clone()))
                        .collect();
                    let t = ts.samples[0].timestamp;
                    let e = last.entry(key).or_insert((s, i64::MIN, 0));
                    assert_eq!(e.0, s, "series moved between shards");
                    assert!(t > e.1, "out of order");
                    *e = (s, t, e.2 + 1);
                }
            }
        }
        assert_eq!(last.len(), series);
        assert!(last.values().all(|v| v.2 == 10));
    }

    #[test]
    fn samples_in_counts_a_sub_range() {
        let spec = WorkloadSpec::ending_at(2, 1_700_000_000_000, 4 * 15_000, 15_000, 4);
        let w = Workload::build(spec.clone());
        let per_host = w.series_per_host();
        let load = encode(w, 2, 2000, 1).unwrap();
        // Every host has exactly one scrape in each interval-long window after start.
        let mint = spec.start_ms;
        let maxt = spec.start_ms + 15_000 - 1;
        let expected: u64 = per_host.iter().map(|&n| n as u64).sum();
        assert_eq!(load.index.samples_in(mint, maxt), expected);
    }
}
