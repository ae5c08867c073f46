//! Whole-exposition conversion to a [`WriteBatch`], for backfilling a file (the CLI's
//! `sightline import openmetrics FILE`) and for tests.

use std::collections::HashMap;

use sightline_model::{Labels, MetricMetadata, Sample, TimeSeries, WriteBatch};

use super::{series_labels, Entry, Format, ParseError, Parser};

/// How [`parse_to_batch`] fills in what the exposition leaves out.
#[derive(Clone, Debug, Default)]
pub struct BatchOptions {
    /// Timestamp (ms) for samples written without one.
    pub default_timestamp_ms: i64,
    /// Labels added to every series unless the series already has them.
    pub extra_labels: Labels,
}

fn metadata_entry<'m>(
    meta: &'m mut Vec<MetricMetadata>,
    index: &mut HashMap<String, usize>,
    name: &str,
) -> &'m mut MetricMetadata {
    let i = *index.entry(name.to_string()).or_insert_with(|| {
        meta.push(MetricMetadata {
            metric_family_name: name.to_string(),
            ..Default::default()
        });
        meta.len() - 1
    });
    &mut meta[i]
}

/// Parses a whole exposition into one batch: samples grouped per series in
/// timestamp order (a later sample with the same timestamp replaces the earlier),
/// exemplars attached to their series, and one metadata entry per family.
/// OpenMetrics `_created` series are skipped, as Prometheus skips them.
pub fn parse_to_batch(
    input: &[u8],
    format: Format,
    opts: &BatchOptions,
) -> Result<WriteBatch, ParseError> {
    let mut batch = WriteBatch::default();
    let mut series_index: HashMap<Labels, usize> = HashMap::new();
    let mut meta_index: HashMap<String, usize> = HashMap::new();
    for entry in Parser::new(input, format).skip_created_series(true) {
        match entry? {
            Entry::Help { name, help } => {
                metadata_entry(&mut batch.metadata, &mut meta_index, name).help = help.into_owned()
            }
            Entry::Type { name, metric_type } => {
                metadata_entry(&mut batch.metadata, &mut meta_index, name).metric_type = metric_type
            }
            Entry::Unit { name, unit } => {
                metadata_entry(&mut batch.metadata, &mut meta_index, name).unit = unit.to_string()
            }
            Entry::Sample {
                name,
                labels,
                timestamp_ms,
                value,
                exemplar,
            } => {
                let mut ls = series_labels(&name, &labels);
                if !opts.extra_labels.is_empty() {
                    let mut b = ls.to_builder();
                    for l in opts.extra_labels.iter() {
                        if ls.get(&l.name).is_none() {
                            b.set(l.name.clone(), l.value.clone());
                        }
                    }
                    ls = b.build();
                }
                let t = timestamp_ms.unwrap_or(opts.default_timestamp_ms);
                let i = match series_index.get(&ls) {
                    Some(&i) => i,
                    None => {
                        batch.series.push(TimeSeries {
                            labels: ls.clone(),
                            ..Default::default()
                        });
                        series_index.insert(ls, batch.series.len() - 1);
                        batch.series.len() - 1
                    }
                };
                let ts = &mut batch.series[i];
                ts.samples.push(Sample::new(t, value));
                if let Some(e) = exemplar {
                    ts.exemplars.push(e.to_model(t));
                }
            }
            Entry::Eof => {}
        }
    }
    for ts in &mut batch.series {
        // Stable sort, then keep the last sample of each timestamp.
        ts.samples.sort_by_key(|s| s.t);
        let mut out: Vec<Sample> = Vec::with_capacity(ts.samples.len());
        for s in ts.samples.drain(..) {
            match out.last_mut() {
                Some(last) if last.t == s.t => *last = s,
                _ => out.push(s),
            }
        }
        ts.samples = out;
        ts.exemplars.sort_by_key(|e| e.t);
    }
    Ok(batch)
}
