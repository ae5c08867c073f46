//! The hand-written remote_write 1.0 reader against prost: any request prost encodes
//! decodes to exactly the series, samples, exemplars and metadata it was built from.

use std::collections::BTreeMap;

use proptest::prelude::*;
use sightline_model::{Labels, MetricType};
use sightline_remote_write::proto::v1;
use sightline_remote_write::{decode_v1_with_stats, encode_snappy, Limits};

fn label_map() -> impl Strategy<Value = BTreeMap<String, String>> {
    proptest::collection::btree_map("[a-z_]{1,8}", "\\PC{0,6}", 0..6)
}

prop_compose! {
    fn arb_series()(
        mut labels in label_map(),
        name in "[a-z]{1,10}",
        samples in proptest::collection::vec((any::<i64>(), any::<f64>()), 0..5),
        exemplars in proptest::collection::vec((label_map(), any::<f64>(), any::<i64>()), 0..2),
        histograms in 0usize..2,
    ) -> v1::TimeSeries {
        labels.insert("__name__".into(), name);
        let pairs = |m: BTreeMap<String, String>| -> Vec<v1::Label> {
            m.into_iter().map(|(name, value)| v1::Label { name, value }).collect()
        };
        v1::TimeSeries {
            labels: pairs(labels),
            samples: samples.into_iter().map(|(timestamp, value)| v1::Sample { value, timestamp }).collect(),
            exemplars: exemplars
                .into_iter()
                .map(|(l, value, timestamp)| v1::Exemplar { labels: pairs(l), value, timestamp })
                .collect(),
            histograms: (0..histograms)
                .map(|i| v1::Histogram { count_int: i as u64, sum: 1.0, schema: 0, timestamp: 5 })
                .collect(),
        }
    }
}

prop_compose! {
    fn arb_metadata()(t in 0i32..9, name in "[a-z_]{0,10}", help in "\\PC{0,10}", unit in "[a-z]{0,5}") -> v1::MetricMetadata {
        v1::MetricMetadata { r#type: t, metric_family_name: name, help, unit }
    }
}

/// Bit-exact, except that prost (the encoder here) writes -0.0 as an absent field,
/// which reads back as 0.0.
fn same_f64(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a == 0.0 && b == 0.0)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn reader_matches_the_messages_prost_encodes(
        series in proptest::collection::vec(arb_series(), 0..8),
        metadata in proptest::collection::vec(arb_metadata(), 0..3),
    ) {
        let req = v1::WriteRequest { timeseries: series.clone(), metadata: metadata.clone() };
        let (batch, stats) = decode_v1_with_stats(&encode_snappy(&req).unwrap(), &Limits::default()).unwrap();
        let kept: Vec<&v1::TimeSeries> = series
            .iter()
            .filter(|s| !s.samples.is_empty() || !s.exemplars.is_empty())
            .collect();
        prop_assert_eq!(batch.series.len(), kept.len());
        prop_assert_eq!(stats.histograms as usize, series.iter().map(|s| s.histograms.len()).sum::<usize>());
        for (got, want) in batch.series.iter().zip(kept) {
            let want_labels = Labels::from_pairs(want.labels.iter().map(|l| (l.name.clone(), l.value.clone())));
            prop_assert_eq!(&got.labels, &want_labels);
            prop_assert_eq!(got.samples.len(), want.samples.len());
            for (g, w) in got.samples.iter().zip(&want.samples) {
                prop_assert_eq!(g.t, w.timestamp);
                prop_assert!(same_f64(g.v, w.value));
            }
            prop_assert_eq!(got.exemplars.len(), want.exemplars.len());
            for (g, w) in got.exemplars.iter().zip(&want.exemplars) {
                let wl = Labels::from_pairs(w.labels.iter().map(|l| (l.name.clone(), l.value.clone())));
                prop_assert_eq!(&g.labels, &wl);
                prop_assert_eq!(g.t, w.timestamp);
                prop_assert!(same_f64(g.value, w.value));
            }
        }
        prop_assert_eq!(batch.metadata.len(), metadata.len());
        for (g, w) in batch.metadata.iter().zip(&metadata) {
            prop_assert_eq!(&g.metric_family_name, &w.metric_family_name);
            prop_assert_eq!(&g.help, &w.help);
            prop_assert_eq!(&g.unit, &w.unit);
            let t = match w.r#type { 1 => MetricType::Counter, 2 => MetricType::Gauge, 3 => MetricType::Histogram,
                4 => MetricType::GaugeHistogram, 5 => MetricType::Summary, 6 => MetricType::Info,
                7 => MetricType::StateSet, _ => MetricType::Unknown };
            prop_assert_eq!(g.metric_type, t);
        }
    }
}

#[test]
fn unknown_fields_are_skipped() {
    // WriteRequest with an unknown varint field 7, an unknown fixed32 field 9 inside the
    // series, then the series itself.
    let series = v1::TimeSeries {
        labels: vec![v1::Label {
            name: "__name__".into(),
            value: "up".into(),
        }],
        samples: vec![v1::Sample {
            value: 1.0,
            timestamp: 2,
        }],
        exemplars: vec![],
        histograms: vec![],
    };
    let mut inner = prost::Message::encode_to_vec(&series);
    inner.extend_from_slice(&[(9 << 3) | 5, 1, 2, 3, 4]);
    let mut raw = vec![7 << 3, 0x96, 0x01];
    raw.push((1 << 3) | 2);
    raw.push(inner.len() as u8);
    raw.extend_from_slice(&inner);
    let body = snap::raw::Encoder::new().compress_vec(&raw).unwrap();
    let batch = sightline_remote_write::decode_v1(&body, &Limits::default()).unwrap();
    assert_eq!(batch.series.len(), 1);
    assert_eq!(batch.series[0].samples[0].t, 2);
}

#[test]
fn wrong_wire_type_and_truncation_are_protobuf_errors() {
    for raw in [
        vec![1 << 3, 5],           // timeseries as a varint
        vec![(1 << 3) | 2, 10, 1], // length past the end
        vec![0x80, 0x80],          // truncated key
    ] {
        let body = snap::raw::Encoder::new().compress_vec(&raw).unwrap();
        let err = sightline_remote_write::decode_v1(&body, &Limits::default()).unwrap_err();
        assert_eq!(err.status_code(), 400);
        assert!(
            err.to_string()
                .contains("not a valid prometheus.WriteRequest"),
            "{err}"
        );
    }
}

#[test]
fn label_count_is_limited_before_allocation() {
    // A series of 100k empty label messages: 200 kB that would become 4.8 MB of labels.
    let mut inner = Vec::new();
    for _ in 0..100_000 {
        inner.extend_from_slice(&[(1 << 3) | 2, 0]);
    }
    let mut raw = vec![(1 << 3) | 2];
    let mut n = inner.len();
    while n >= 0x80 {
        raw.push((n as u8) | 0x80);
        n >>= 7;
    }
    raw.push(n as u8);
    raw.extend_from_slice(&inner);
    let body = snap::raw::Encoder::new().compress_vec(&raw).unwrap();
    let err = sightline_remote_write::decode_v1(&body, &Limits::default()).unwrap_err();
    assert!(
        err.to_string()
            .contains("100000 labels exceed the limit of 128"),
        "{err}"
    );
}
