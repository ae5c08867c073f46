//! Property tests: arbitrary bodies never panic the receiver and are answered 400
//! unless they happen to be a valid (usually empty) request.

mod common;

use axum::http::StatusCode;
use common::*;
use proptest::prelude::*;
use sightline_remote_write::{decode_v1, decode_v2, router, Limits};

fn status_for(body: Vec<u8>, ct: Option<&str>) -> StatusCode {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let sink = RecordingSink::new(Mode::Accept);
        send(router(sink, Limits::default()), post(body, ct))
            .await
            .0
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(100))]

    #[test]
    fn raw_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let ok = decode_v1(&body, &Limits::default()).is_ok();
        let code = status_for(body, Some("application/x-protobuf"));
        if ok {
            prop_assert_eq!(code, StatusCode::NO_CONTENT);
        } else {
            prop_assert_eq!(code, StatusCode::BAD_REQUEST);
        }
    }

    #[test]
    fn snappy_of_arbitrary_bytes_never_panics(raw in proptest::collection::vec(any::<u8>(), 0..512), v2 in any::<bool>()) {
        let body = snap::raw::Encoder::new().compress_vec(&raw).unwrap();
        let (ok, ct) = if v2 {
            (decode_v2(&body, &Limits::default()).is_ok(), "application/x-protobuf;proto=io.prometheus.write.v2.Request")
        } else {
            (decode_v1(&body, &Limits::default()).is_ok(), "application/x-protobuf")
        };
        let code = status_for(body, Some(ct));
        if ok {
            prop_assert_eq!(code, StatusCode::NO_CONTENT);
        } else {
            prop_assert_eq!(code, StatusCode::BAD_REQUEST);
        }
    }
}

#[test]
fn most_random_snappy_payloads_are_rejected() {
    // Sanity check of the property above: garbage that is not a protobuf is a 400.
    let body = snap::raw::Encoder::new()
        .compress_vec(&[0x0a, 0x05, 0x0a, 0x03, 0xff, 0xff])
        .unwrap();
    assert_eq!(status_for(body, None), StatusCode::BAD_REQUEST);
}
