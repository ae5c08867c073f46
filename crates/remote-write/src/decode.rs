//! Decoding and validation of remote_write bodies into a [`WriteBatch`].
//!
//! The body is snappy-decompressed into a per-thread scratch buffer that is reused
//! from one request to the next, then decoded with prost. Label and sample vectors
//! produced by prost are converted into the model's types in place (identical
//! layouts), so a series costs the allocations prost makes and nothing more.

use std::cell::RefCell;

use prost::Message;
use sightline_model::{
    Exemplar, Label, Labels, MetricMetadata, MetricType, Sample, TimeSeries, WriteBatch,
    METRIC_NAME,
};

use crate::limits::Limits;
use crate::proto::{v1, v2};

/// Scratch buffers bigger than this are released after use so that one huge request
/// does not pin its memory in every worker thread forever.
const KEEP_SCRATCH_BYTES: usize = 16 << 20;

/// No snappy element expands more than this (a 3-byte copy yields at most 64 bytes), so
/// a header announcing more is corrupt, and is reported as such rather than as "too
/// large" and without allocating for it.
const MAX_SNAPPY_RATIO: usize = 22;

thread_local! {
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Why a request body could not be turned into a batch.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DecodeError {
    /// The compressed body is larger than [`Limits::max_compressed_bytes`] (HTTP 413).
    #[error("request body of {size} bytes exceeds the limit of {limit} bytes")]
    BodyTooLarge {
        /// Body size in bytes.
        size: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// The decompressed body would exceed [`Limits::max_decompressed_bytes`] (HTTP 413).
    #[error("decompressed body of {size} bytes exceeds the limit of {limit} bytes")]
    DecompressedTooLarge {
        /// Decompressed size announced by the snappy header.
        size: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// The body is not snappy block-format data (HTTP 400).
    #[error("body is not snappy block-compressed data: {0}")]
    Snappy(String),
    /// The decompressed body is not the expected protobuf message (HTTP 400); invalid
    /// UTF-8 in a string field lands here too.
    #[error("body is not a valid {message} protobuf message: {reason}")]
    Protobuf {
        /// The expected message.
        message: &'static str,
        /// What prost reported.
        reason: String,
    },
    /// A series breaks the label rules (HTTP 400).
    #[error("invalid series {series}: {reason}")]
    InvalidSeries {
        /// The series as sent, formatted like Prometheus prints label sets.
        series: String,
        /// The rule it breaks.
        reason: String,
    },
}

impl DecodeError {
    /// The HTTP status a receiver answers with: 413 for size limits, 400 otherwise.
    pub fn status_code(&self) -> u16 {
        match self {
            DecodeError::BodyTooLarge { .. } | DecodeError::DecompressedTooLarge { .. } => 413,
            _ => 400,
        }
    }

    /// A short machine-friendly reason, used as a metric label.
    pub fn reason(&self) -> &'static str {
        match self {
            DecodeError::BodyTooLarge { .. } | DecodeError::DecompressedTooLarge { .. } => {
                "too_large"
            }
            DecodeError::Snappy(_) => "snappy",
            DecodeError::Protobuf { .. } => "protobuf",
            DecodeError::InvalidSeries { .. } => "invalid_series",
        }
    }
}

/// Counts gathered while decoding, for metrics and the remote_write 2.0 headers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DecodeStats {
    /// Float samples in the batch.
    pub samples: u64,
    /// Exemplars in the batch.
    pub exemplars: u64,
    /// Native histogram samples received and dropped (not supported yet).
    pub histograms: u64,
    /// Size of the decompressed protobuf body.
    pub decompressed_bytes: u64,
}

/// Decodes a snappy-compressed remote_write 1.0 `WriteRequest`.
pub fn decode_v1(body_snappy: &[u8], limits: &Limits) -> Result<WriteBatch, DecodeError> {
    decode_v1_with_stats(body_snappy, limits).map(|(b, _)| b)
}

/// Decodes a snappy-compressed remote_write 2.0 `Request`.
pub fn decode_v2(body_snappy: &[u8], limits: &Limits) -> Result<WriteBatch, DecodeError> {
    decode_v2_with_stats(body_snappy, limits).map(|(b, _)| b)
}

/// [`decode_v1`] that also returns counts (samples, exemplars, dropped histograms).
pub fn decode_v1_with_stats(
    body_snappy: &[u8],
    limits: &Limits,
) -> Result<(WriteBatch, DecodeStats), DecodeError> {
    with_decompressed(body_snappy, limits, |raw| {
        let mut stats = DecodeStats {
            decompressed_bytes: raw.len() as u64,
            ..DecodeStats::default()
        };
        let batch = crate::wire::decode_write_request(raw, limits, &mut stats)?;
        Ok((batch, stats))
    })
}

/// [`decode_v2`] that also returns counts (samples, exemplars, dropped histograms).
pub fn decode_v2_with_stats(
    body_snappy: &[u8],
    limits: &Limits,
) -> Result<(WriteBatch, DecodeStats), DecodeError> {
    with_decompressed(body_snappy, limits, |raw| {
        let req = v2::Request::decode(raw).map_err(|e| DecodeError::Protobuf {
            message: "io.prometheus.write.v2.Request",
            reason: e.to_string(),
        })?;
        let mut stats = DecodeStats {
            decompressed_bytes: raw.len() as u64,
            ..DecodeStats::default()
        };
        let batch = convert_v2(req, limits, &mut stats)?;
        Ok((batch, stats))
    })
}

/// Checks the size limits, decompresses `body` into the thread's scratch buffer and
/// runs `f` on the result.
fn with_decompressed<R>(
    body: &[u8],
    limits: &Limits,
    f: impl FnOnce(&[u8]) -> Result<R, DecodeError>,
) -> Result<R, DecodeError> {
    if body.len() > limits.max_compressed_bytes {
        return Err(DecodeError::BodyTooLarge {
            size: body.len(),
            limit: limits.max_compressed_bytes,
        });
    }
    let len = snap::raw::decompress_len(body).map_err(|e| DecodeError::Snappy(e.to_string()))?;
    if len / MAX_SNAPPY_RATIO > body.len() {
        return Err(DecodeError::Snappy(format!(
            "header announces {len} bytes, more than {} compressed bytes can hold",
            body.len()
        )));
    }
    if len > limits.max_decompressed_bytes {
        return Err(DecodeError::DecompressedTooLarge {
            size: len,
            limit: limits.max_decompressed_bytes,
        });
    }
    let run = |buf: &mut Vec<u8>| {
        if buf.len() < len {
            buf.resize(len, 0);
        }
        let n = snap::raw::Decoder::new()
            .decompress(body, &mut buf[..len])
            .map_err(|e| DecodeError::Snappy(e.to_string()))?;
        f(&buf[..n])
    };
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => {
            let out = run(&mut buf);
            if buf.capacity() > KEEP_SCRATCH_BYTES {
                *buf = Vec::new();
            }
            out
        }
        // Only reachable if `f` itself decoded another body on this thread.
        Err(_) => run(&mut Vec::new()),
    })
}

/// Formats raw labels the way Prometheus prints a series, for error messages.
fn describe(labels: &[Label]) -> String {
    let mut s = String::from("{");
    for (i, l) in labels.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        s.push_str(&l.name);
        s.push('=');
        s.push_str(&format!("{:?}", l.value));
    }
    s.push('}');
    s
}

/// Validates a series' labels as sent: sorted, unique, non-empty names, a
/// `__name__`, within limits. Labels with empty values are dropped (an empty value
/// means "absent" in Prometheus). Returns the reason for the first violation.
fn validate_labels(labels: &mut Vec<Label>, limits: &Limits) -> Result<(), String> {
    if labels.iter().any(|l| l.value.is_empty()) {
        labels.retain(|l| !l.value.is_empty());
    }
    if labels.len() > limits.max_labels_per_series {
        return Err(format!(
            "{} labels exceed the limit of {} per series",
            labels.len(),
            limits.max_labels_per_series
        ));
    }
    let mut has_name = false;
    for (i, l) in labels.iter().enumerate() {
        if l.name.is_empty() {
            return Err("label with empty name".into());
        }
        if l.name.len() > limits.max_label_name_len {
            return Err(format!(
                "label name of {} bytes exceeds the limit of {}",
                l.name.len(),
                limits.max_label_name_len
            ));
        }
        if l.value.len() > limits.max_label_value_len {
            return Err(format!(
                "value of label {:?} is {} bytes, over the limit of {}",
                l.name,
                l.value.len(),
                limits.max_label_value_len
            ));
        }
        if i > 0 {
            let prev = &labels[i - 1].name;
            if *prev == l.name {
                return Err(format!("duplicate label name {:?}", l.name));
            }
            if *prev > l.name {
                return Err(format!("labels not sorted: {:?} after {:?}", l.name, prev));
            }
        }
        has_name |= l.name == METRIC_NAME;
    }
    if !has_name {
        return Err("missing metric name (__name__ label)".into());
    }
    Ok(())
}

/// Turns validated raw labels into a [`Labels`], or the error naming the series.
pub(crate) fn checked_labels(
    mut labels: Vec<Label>,
    limits: &Limits,
) -> Result<Labels, DecodeError> {
    match validate_labels(&mut labels, limits) {
        Ok(()) => Ok(Labels::from_sorted_unchecked(labels)),
        Err(reason) => Err(DecodeError::InvalidSeries {
            series: describe(&labels),
            reason,
        }),
    }
}

fn to_model_samples(samples: Vec<v1::Sample>) -> Vec<Sample> {
    samples
        .into_iter()
        .map(|s| Sample {
            t: s.timestamp,
            v: s.value,
        })
        .collect()
}

pub(crate) fn metric_type(code: i32) -> MetricType {
    match code {
        1 => MetricType::Counter,
        2 => MetricType::Gauge,
        3 => MetricType::Histogram,
        4 => MetricType::GaugeHistogram,
        5 => MetricType::Summary,
        6 => MetricType::Info,
        7 => MetricType::StateSet,
        _ => MetricType::Unknown,
    }
}

/// Resolves (name, value) symbol reference pairs into labels.
fn resolve_refs(
    symbols: &[String],
    refs: &[u32],
    what: &str,
    max_labels: usize,
) -> Result<Vec<Label>, DecodeError> {
    if refs.len() / 2 > max_labels {
        return Err(DecodeError::InvalidSeries {
            series: format!("<{what} with {} label references>", refs.len()),
            reason: format!("labels exceed the limit of {max_labels} per series"),
        });
    }
    if !refs.len().is_multiple_of(2) {
        return Err(DecodeError::InvalidSeries {
            series: format!("<{what} with {} label references>", refs.len()),
            reason: "odd number of label references (must be name/value pairs)".into(),
        });
    }
    let sym = |r: u32| {
        symbols
            .get(r as usize)
            .cloned()
            .ok_or_else(|| DecodeError::InvalidSeries {
                series: format!("<{what}>"),
                reason: format!(
                    "symbol reference {r} out of range (the table has {} symbols)",
                    symbols.len()
                ),
            })
    };
    let mut out = Vec::with_capacity(refs.len() / 2);
    for pair in refs.chunks_exact(2) {
        out.push(Label {
            name: sym(pair[0])?,
            value: sym(pair[1])?,
        });
    }
    Ok(out)
}

fn convert_v2(
    req: v2::Request,
    limits: &Limits,
    stats: &mut DecodeStats,
) -> Result<WriteBatch, DecodeError> {
    let symbols = req.symbols;
    let mut series = Vec::with_capacity(req.timeseries.len());
    let mut metadata: Vec<MetricMetadata> = Vec::new();
    for ts in req.timeseries {
        let labels = checked_labels(
            resolve_refs(
                &symbols,
                &ts.labels_refs,
                "series",
                limits.max_labels_per_series,
            )?,
            limits,
        )?;
        stats.histograms += ts.histograms.len() as u64;
        if let Some(md) = ts.metadata {
            let name = labels.metric_name().unwrap_or_default();
            let known = metadata
                .last()
                .is_some_and(|m| m.metric_family_name == name);
            if !known && (md.r#type != 0 || md.help_ref != 0 || md.unit_ref != 0) {
                let sym = |r: u32| symbols.get(r as usize).cloned().unwrap_or_default();
                metadata.push(MetricMetadata {
                    metric_family_name: name.to_string(),
                    metric_type: metric_type(md.r#type),
                    help: sym(md.help_ref),
                    unit: sym(md.unit_ref),
                });
            }
        }
        if ts.samples.is_empty() && ts.exemplars.is_empty() {
            continue;
        }
        stats.samples += ts.samples.len() as u64;
        stats.exemplars += ts.exemplars.len() as u64;
        let mut exemplars = Vec::with_capacity(ts.exemplars.len());
        for e in ts.exemplars {
            exemplars.push(Exemplar {
                labels: Labels::from_vec(resolve_refs(
                    &symbols,
                    &e.labels_refs,
                    "exemplar",
                    limits.max_labels_per_series,
                )?),
                value: e.value,
                t: e.timestamp,
            });
        }
        series.push(TimeSeries {
            labels,
            samples: to_model_samples(ts.samples),
            exemplars,
        });
    }
    Ok(WriteBatch { series, metadata })
}
