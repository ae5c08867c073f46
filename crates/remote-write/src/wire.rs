//! A hand-written protobuf reader for `prometheus.WriteRequest`, the hot path of
//! ingestion.
//!
//! It decodes straight into the model's types: each series' fields are counted in a
//! first cheap pass over its bytes so the label, sample and exemplar vectors are
//! allocated once at their exact size, and strings are copied once from the
//! decompressed buffer into the `String`s the model keeps. Unknown fields are skipped
//! as protobuf requires; a known field with the wrong wire type is an error, as in
//! prost.

use sightline_model::{Exemplar, Label, Labels, MetricMetadata, Sample, TimeSeries, WriteBatch};

use crate::decode::{checked_labels, metric_type, DecodeError, DecodeStats};
use crate::limits::Limits;

const VARINT: u8 = 0;
const I64: u8 = 1;
const LEN: u8 = 2;
const I32: u8 = 5;

/// A cursor over protobuf bytes.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

type WireResult<T> = Result<T, String>;

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    fn done(&self) -> bool {
        self.pos >= self.buf.len()
    }

    fn varint(&mut self) -> WireResult<u64> {
        let mut v: u64 = 0;
        for i in 0..10 {
            let Some(&b) = self.buf.get(self.pos) else {
                return Err("truncated varint".into());
            };
            self.pos += 1;
            if i == 9 && b > 1 {
                return Err("varint overflows 64 bits".into());
            }
            v |= u64::from(b & 0x7f) << (7 * i);
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err("varint longer than 10 bytes".into())
    }

    /// The next field number and wire type.
    fn key(&mut self) -> WireResult<(u64, u8)> {
        let k = self.varint()?;
        let field = k >> 3;
        if field == 0 {
            return Err("field number 0".into());
        }
        Ok((field, (k & 7) as u8))
    }

    fn fixed64(&mut self) -> WireResult<u64> {
        let end = self.pos + 8;
        let b = self
            .buf
            .get(self.pos..end)
            .ok_or_else(|| "truncated 64-bit field".to_string())?;
        self.pos = end;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    fn bytes(&mut self) -> WireResult<&'a [u8]> {
        let len = self.varint()?;
        let len = usize::try_from(len).map_err(|_| "length overflows".to_string())?;
        let end = self
            .pos
            .checked_add(len)
            .filter(|&e| e <= self.buf.len())
            .ok_or_else(|| "length-delimited field runs past the end".to_string())?;
        let b = &self.buf[self.pos..end];
        self.pos = end;
        Ok(b)
    }

    fn skip(&mut self, wire_type: u8) -> WireResult<()> {
        match wire_type {
            VARINT => self.varint().map(|_| ()),
            I64 => self.fixed64().map(|_| ()),
            LEN => self.bytes().map(|_| ()),
            I32 => {
                if self.pos + 4 > self.buf.len() {
                    return Err("truncated 32-bit field".into());
                }
                self.pos += 4;
                Ok(())
            }
            other => Err(format!("unsupported wire type {other}")),
        }
    }
}

fn expect(field: &str, got: u8, want: u8) -> WireResult<()> {
    if got == want {
        Ok(())
    } else {
        Err(format!(
            "{field}: invalid wire type {got} (expected {want})"
        ))
    }
}

fn string(b: &[u8], what: &str) -> WireResult<String> {
    std::str::from_utf8(b)
        .map(str::to_owned)
        .map_err(|_| format!("{what} is not valid UTF-8"))
}

fn label(b: &[u8]) -> WireResult<Label> {
    let mut r = Reader::new(b);
    let mut l = Label::default();
    while !r.done() {
        match r.key()? {
            (1, wt) => {
                expect("Label.name", wt, LEN)?;
                l.name = string(r.bytes()?, "label name")?;
            }
            (2, wt) => {
                expect("Label.value", wt, LEN)?;
                l.value = string(r.bytes()?, "label value")?;
            }
            (_, wt) => r.skip(wt)?,
        }
    }
    Ok(l)
}

fn sample(b: &[u8]) -> WireResult<Sample> {
    let mut r = Reader::new(b);
    let mut s = Sample { t: 0, v: 0.0 };
    while !r.done() {
        match r.key()? {
            (1, wt) => {
                expect("Sample.value", wt, I64)?;
                s.v = f64::from_bits(r.fixed64()?);
            }
            (2, wt) => {
                expect("Sample.timestamp", wt, VARINT)?;
                s.t = r.varint()? as i64;
            }
            (_, wt) => r.skip(wt)?,
        }
    }
    Ok(s)
}

fn exemplar(b: &[u8]) -> WireResult<Exemplar> {
    let mut r = Reader::new(b);
    let mut labels = Vec::new();
    let mut e = Exemplar {
        labels: Labels::empty(),
        value: 0.0,
        t: 0,
    };
    while !r.done() {
        match r.key()? {
            (1, wt) => {
                expect("Exemplar.labels", wt, LEN)?;
                labels.push(label(r.bytes()?)?);
            }
            (2, wt) => {
                expect("Exemplar.value", wt, I64)?;
                e.value = f64::from_bits(r.fixed64()?);
            }
            (3, wt) => {
                expect("Exemplar.timestamp", wt, VARINT)?;
                e.t = r.varint()? as i64;
            }
            (_, wt) => r.skip(wt)?,
        }
    }
    e.labels = Labels::from_vec(labels);
    Ok(e)
}

fn metadata(b: &[u8]) -> WireResult<MetricMetadata> {
    let mut r = Reader::new(b);
    let mut m = MetricMetadata::default();
    while !r.done() {
        match r.key()? {
            (1, wt) => {
                expect("MetricMetadata.type", wt, VARINT)?;
                m.metric_type = metric_type(r.varint()? as i32);
            }
            (2, wt) => {
                expect("MetricMetadata.metric_family_name", wt, LEN)?;
                m.metric_family_name = string(r.bytes()?, "metric family name")?;
            }
            (4, wt) => {
                expect("MetricMetadata.help", wt, LEN)?;
                m.help = string(r.bytes()?, "help")?;
            }
            (5, wt) => {
                expect("MetricMetadata.unit", wt, LEN)?;
                m.unit = string(r.bytes()?, "unit")?;
            }
            (_, wt) => r.skip(wt)?,
        }
    }
    Ok(m)
}

/// The fields of one `TimeSeries`, before label validation.
struct RawSeries {
    labels: Vec<Label>,
    samples: Vec<Sample>,
    exemplars: Vec<Exemplar>,
    histograms: u64,
}

fn series(b: &[u8], max_labels: usize) -> WireResult<RawSeries> {
    // Pass 1: count repeated fields to size the vectors exactly.
    let (mut nl, mut ns, mut ne) = (0usize, 0usize, 0usize);
    let mut r = Reader::new(b);
    while !r.done() {
        let (f, wt) = r.key()?;
        match (f, wt) {
            (1, LEN) => nl += 1,
            (2, LEN) => ns += 1,
            (3, LEN) => ne += 1,
            _ => {}
        }
        r.skip(wt)?;
    }
    if nl > max_labels {
        // Checked before allocating: empty label messages are 2 bytes each.
        return Err(format!(
            "{nl} labels exceed the limit of {max_labels} per series"
        ));
    }
    // Pass 2: decode.
    let mut out = RawSeries {
        labels: Vec::with_capacity(nl),
        samples: Vec::with_capacity(ns),
        exemplars: Vec::with_capacity(ne),
        histograms: 0,
    };
    let mut r = Reader::new(b);
    while !r.done() {
        match r.key()? {
            (1, wt) => {
                expect("TimeSeries.labels", wt, LEN)?;
                out.labels.push(label(r.bytes()?)?);
            }
            (2, wt) => {
                expect("TimeSeries.samples", wt, LEN)?;
                out.samples.push(sample(r.bytes()?)?);
            }
            (3, wt) => {
                expect("TimeSeries.exemplars", wt, LEN)?;
                out.exemplars.push(exemplar(r.bytes()?)?);
            }
            (4, wt) => {
                expect("TimeSeries.histograms", wt, LEN)?;
                r.bytes()?;
                out.histograms += 1;
            }
            (_, wt) => r.skip(wt)?,
        }
    }
    Ok(out)
}

fn proto_err(reason: String) -> DecodeError {
    DecodeError::Protobuf {
        message: "prometheus.WriteRequest",
        reason,
    }
}

/// Decodes and validates an uncompressed `prometheus.WriteRequest`.
pub(crate) fn decode_write_request(
    raw: &[u8],
    limits: &Limits,
    stats: &mut DecodeStats,
) -> Result<WriteBatch, DecodeError> {
    let mut n_series = 0usize;
    let mut r = Reader::new(raw);
    while !r.done() {
        let (f, wt) = r.key().map_err(proto_err)?;
        if f == 1 && wt == LEN {
            n_series += 1;
        }
        r.skip(wt).map_err(proto_err)?;
    }
    let mut batch = WriteBatch {
        series: Vec::with_capacity(n_series),
        metadata: Vec::new(),
    };
    let mut r = Reader::new(raw);
    let mut index = 0usize;
    while !r.done() {
        match r.key().map_err(proto_err)? {
            (1, wt) => {
                expect("WriteRequest.timeseries", wt, LEN).map_err(proto_err)?;
                let b = r.bytes().map_err(proto_err)?;
                let s = series(b, limits.max_labels_per_series)
                    .map_err(|e| proto_err(format!("timeseries[{index}]: {e}")))?;
                index += 1;
                let labels = checked_labels(s.labels, limits)?;
                stats.histograms += s.histograms;
                if s.samples.is_empty() && s.exemplars.is_empty() {
                    continue;
                }
                stats.samples += s.samples.len() as u64;
                stats.exemplars += s.exemplars.len() as u64;
                batch.series.push(TimeSeries {
                    labels,
                    samples: s.samples,
                    exemplars: s.exemplars,
                });
            }
            (3, wt) => {
                expect("WriteRequest.metadata", wt, LEN).map_err(proto_err)?;
                let b = r.bytes().map_err(proto_err)?;
                batch.metadata.push(metadata(b).map_err(proto_err)?);
            }
            (_, wt) => r.skip(wt).map_err(proto_err)?,
        }
    }
    Ok(batch)
}
