//! The TSDB's record types inside WAL payloads (the WAL itself treats payloads as
//! opaque). The first byte names the record type; byte layouts are specified in
//! `docs/format/wal-records.md`. Decoders return an error naming the problem on any
//! malformed input.

use crate::encoding::{put_str, put_uvarint, put_varint, Decbuf};
use sightline_model::{Label, Labels, MetricMetadata, MetricType, Sample};

/// Record type byte: series definitions.
pub const SERIES: u8 = 1;
/// Record type byte: float samples.
pub const SAMPLES: u8 = 2;
/// Record type byte: exemplars.
pub const EXEMPLARS: u8 = 3;
/// Record type byte: metric metadata.
pub const METADATA: u8 = 4;

/// One decoded record.
#[derive(Debug, PartialEq)]
pub enum Record {
    /// Series references and their labels.
    Series(Vec<(u32, Labels)>),
    /// `(series ref, sample)` pairs.
    Samples(Vec<(u32, Sample)>),
    /// `(series ref, t, value, exemplar labels)`.
    Exemplars(Vec<(u32, i64, f64, Labels)>),
    /// Metric family metadata.
    Metadata(Vec<MetricMetadata>),
}

/// Starts a record of type `ty` in `buf` (clearing it).
pub fn begin(buf: &mut Vec<u8>, ty: u8) {
    buf.clear();
    buf.push(ty);
}

/// Appends one series entry to a [`SERIES`] record.
pub fn put_series<'a>(
    buf: &mut Vec<u8>,
    r: u32,
    labels: impl ExactSizeIterator<Item = (&'a str, &'a str)>,
) {
    put_uvarint(buf, r as u64);
    put_uvarint(buf, labels.len() as u64);
    for (n, v) in labels {
        put_str(buf, n);
        put_str(buf, v);
    }
}

/// Appends one sample to a [`SAMPLES`] record whose header was written by
/// [`begin_samples`] with base timestamp `base`.
#[inline]
pub fn put_sample(buf: &mut Vec<u8>, base: i64, r: u32, t: i64, v: f64) {
    put_uvarint(buf, r as u64);
    put_varint(buf, t.wrapping_sub(base));
    buf.extend_from_slice(&v.to_bits().to_le_bytes());
}

/// Starts a [`SAMPLES`] record with base timestamp `base`.
pub fn begin_samples(buf: &mut Vec<u8>, base: i64) {
    begin(buf, SAMPLES);
    put_varint(buf, base);
}

/// Appends one exemplar to an [`EXEMPLARS`] record.
pub fn put_exemplar(buf: &mut Vec<u8>, r: u32, t: i64, v: f64, labels: &Labels) {
    put_uvarint(buf, r as u64);
    put_varint(buf, t);
    buf.extend_from_slice(&v.to_bits().to_le_bytes());
    put_uvarint(buf, labels.len() as u64);
    for l in labels {
        put_str(buf, &l.name);
        put_str(buf, &l.value);
    }
}

/// Appends one metadata entry to a [`METADATA`] record.
pub fn put_metadata(buf: &mut Vec<u8>, m: &MetricMetadata) {
    put_str(buf, &m.metric_family_name);
    buf.push(metric_type_byte(m.metric_type));
    put_str(buf, &m.help);
    put_str(buf, &m.unit);
}

fn metric_type_byte(t: MetricType) -> u8 {
    match t {
        MetricType::Unknown => 0,
        MetricType::Counter => 1,
        MetricType::Gauge => 2,
        MetricType::Histogram => 3,
        MetricType::GaugeHistogram => 4,
        MetricType::Summary => 5,
        MetricType::Info => 6,
        MetricType::StateSet => 7,
    }
}

fn metric_type_from(b: u8) -> MetricType {
    match b {
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

fn get_labels(d: &mut Decbuf<'_>) -> Result<Labels, String> {
    let n = d.uvarint("label count")? as usize;
    if n > d.remaining() {
        return Err(format!("label count {n} exceeds record size"));
    }
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        let name = d.str("label name")?;
        let value = d.str("label value")?;
        v.push(Label::new(name, value));
    }
    let l = Labels::from_sorted_unchecked(v);
    l.validate_sorted()?;
    Ok(l)
}

/// Decodes a payload.
pub fn decode(payload: &[u8]) -> Result<Record, String> {
    let mut d = Decbuf::new(payload);
    let ty = d.u8("record type")?;
    match ty {
        SERIES => {
            let mut out = Vec::new();
            while d.remaining() > 0 {
                let r = d.uvarint32("series ref")?;
                out.push((r, get_labels(&mut d)?));
            }
            Ok(Record::Series(out))
        }
        SAMPLES => {
            let base = d.varint("base timestamp")?;
            let mut out = Vec::with_capacity(d.remaining() / 11);
            while d.remaining() > 0 {
                let r = d.uvarint32("series ref")?;
                let t = base.wrapping_add(d.varint("timestamp")?);
                let v = f64::from_bits(d.u64_le("value")?);
                out.push((r, Sample::new(t, v)));
            }
            Ok(Record::Samples(out))
        }
        EXEMPLARS => {
            let mut out = Vec::new();
            while d.remaining() > 0 {
                let r = d.uvarint32("series ref")?;
                let t = d.varint("timestamp")?;
                let v = f64::from_bits(d.u64_le("value")?);
                out.push((r, t, v, get_labels(&mut d)?));
            }
            Ok(Record::Exemplars(out))
        }
        METADATA => {
            let mut out = Vec::new();
            while d.remaining() > 0 {
                let name = d.str("metric family name")?.to_string();
                let ty = metric_type_from(d.u8("metric type")?);
                let help = d.str("help")?.to_string();
                let unit = d.str("unit")?.to_string();
                out.push(MetricMetadata {
                    metric_family_name: name,
                    metric_type: ty,
                    help,
                    unit,
                });
            }
            Ok(Record::Metadata(out))
        }
        t => Err(format!("unknown record type {t}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sightline_model::STALE_NAN;

    #[test]
    fn records_roundtrip() {
        let mut b = Vec::new();
        begin(&mut b, SERIES);
        put_series(&mut b, 7, [("__name__", "up"), ("job", "x")].into_iter());
        assert_eq!(
            decode(&b).unwrap(),
            Record::Series(vec![(
                7,
                Labels::from_pairs([("__name__", "up"), ("job", "x")])
            )])
        );

        begin_samples(&mut b, 1000);
        put_sample(&mut b, 1000, 7, 1015, 1.5);
        put_sample(&mut b, 1000, 8, 990, STALE_NAN);
        match decode(&b).unwrap() {
            Record::Samples(s) => {
                assert_eq!(s.len(), 2);
                assert_eq!(s[0], (7, Sample::new(1015, 1.5)));
                assert_eq!(s[1].1.t, 990);
                assert_eq!(s[1].1.v.to_bits(), STALE_NAN.to_bits());
            }
            r => panic!("{r:?}"),
        }

        begin(&mut b, EXEMPLARS);
        let el = Labels::from_pairs([("trace_id", "abc")]);
        put_exemplar(&mut b, 3, 5, 2.0, &el);
        assert_eq!(
            decode(&b).unwrap(),
            Record::Exemplars(vec![(3, 5, 2.0, el)])
        );

        begin(&mut b, METADATA);
        let m = MetricMetadata {
            metric_family_name: "http_requests".into(),
            metric_type: MetricType::Counter,
            help: "Requests.".into(),
            unit: String::new(),
        };
        put_metadata(&mut b, &m);
        assert_eq!(decode(&b).unwrap(), Record::Metadata(vec![m]));
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(decode(&[]).is_err());
        assert!(decode(&[9]).is_err());
        assert!(decode(&[SERIES, 1, 200]).is_err());
        assert!(decode(&[SAMPLES, 0, 1, 0, 1]).is_err());
    }
}
