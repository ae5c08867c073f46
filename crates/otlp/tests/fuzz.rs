//! Arbitrary bodies never panic the OTLP/HTTP receiver: they are answered 200 (bytes
//! that happen to decode) or 400, never 5xx.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::*;
use opentelemetry_proto::tonic::metrics::v1::{
    exponential_histogram_data_point::Buckets, metric::Data, AggregationTemporality,
    ExponentialHistogram, ExponentialHistogramDataPoint,
};
use proptest::prelude::*;
use sightline_otlp::{convert, http_router};
use tower::ServiceExt;

fn status_for(ct: &str, body: Vec<u8>) -> StatusCode {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let req = Request::builder()
            .method("POST")
            .uri("/v1/metrics")
            .header("content-type", ct)
            .body(Body::from(body))
            .unwrap();
        http_router(RecordingSink::new(Mode::Accept))
            .oneshot(req)
            .await
            .unwrap()
            .status()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(100))]

    #[test]
    fn arbitrary_protobuf_bodies_never_panic(body in proptest::collection::vec(any::<u8>(), 0..256)) {
        let code = status_for("application/x-protobuf", body);
        prop_assert!(code == StatusCode::OK || code == StatusCode::BAD_REQUEST, "{}", code);
    }

    #[test]
    fn arbitrary_json_bodies_never_panic(body in "\\PC{0,64}") {
        let code = status_for("application/json", body.into_bytes());
        prop_assert!(code == StatusCode::OK || code == StatusCode::BAD_REQUEST, "{}", code);
    }

    #[test]
    fn any_exponential_layout_converts_or_is_rejected(
        scale in -20i32..30,
        offset in any::<i32>(),
        counts in proptest::collection::vec(0u64..1000, 0..20),
        zero_threshold in 0.0f64..10.0,
    ) {
        let p = ExponentialHistogramDataPoint {
            time_unix_nano: T_NS,
            count: 2 * counts.iter().sum::<u64>(),
            scale,
            zero_threshold,
            positive: Some(Buckets { offset, bucket_counts: counts.clone() }),
            negative: Some(Buckets { offset, bucket_counts: counts }),
            ..Default::default()
        };
        let (b, rej) = convert(request(vec![metric("e", "", Data::ExponentialHistogram(ExponentialHistogram {
            data_points: vec![p],
            aggregation_temporality: AggregationTemporality::Cumulative as i32,
        }))]));
        if rej.is_empty() {
            // Buckets are cumulative: values never decrease as `le` grows.
            let mut buckets: Vec<(f64, f64)> = b.series.iter()
                .filter(|s| s.labels.metric_name() == Some("e_bucket"))
                .map(|s| {
                    let le = s.labels.get("le").unwrap();
                    let le = if le == "+Inf" { f64::INFINITY } else { le.parse().unwrap() };
                    (le, s.samples[0].v)
                })
                .collect();
            buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
            prop_assert!(buckets.windows(2).all(|w| w[0].1 <= w[1].1), "{:?}", buckets);
        } else {
            prop_assert_eq!(rej.points, 1);
        }
    }
}
