//! OTLP/gRPC through a real tonic server on 127.0.0.1:0 and a tonic client.

mod common;

use std::net::SocketAddr;

use common::*;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use opentelemetry_proto::tonic::metrics::v1::AggregationTemporality;
use sightline_model::Sample;
use sightline_otlp::grpc_service;
use tokio_stream::wrappers::TcpListenerStream;

async fn serve(sink: std::sync::Arc<RecordingSink>) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(grpc_service(sink))
            .serve_with_incoming(TcpListenerStream::new(listener)),
    );
    addr
}

async fn client(addr: SocketAddr) -> MetricsServiceClient<tonic::transport::Channel> {
    MetricsServiceClient::connect(format!("http://{addr}"))
        .await
        .unwrap()
}

#[tokio::test]
async fn grpc_export_stores_and_reports_partial_success() {
    let sink = RecordingSink::new(Mode::Accept);
    let addr = serve(sink.clone()).await;
    let mut c = client(addr)
        .await
        .send_compressed(tonic::codec::CompressionEncoding::Gzip);
    let req = request(vec![
        metric("g", "", gauge(vec![point(vec![], 2.0)])),
        metric(
            "d",
            "",
            sum(
                vec![point(vec![], 1.0)],
                AggregationTemporality::Delta as i32,
                true,
            ),
        ),
    ]);
    let resp = c.export(req).await.unwrap().into_inner();
    let p = resp.partial_success.unwrap();
    assert_eq!(p.rejected_data_points, 1);
    let b = sink.taken().remove(0);
    assert_eq!(
        find(&b, &with_base(&[("__name__", "g")])).samples,
        vec![Sample::new(T_MS, 2.0)]
    );
}

#[tokio::test]
async fn grpc_status_codes_follow_storage_errors() {
    let req = request(vec![metric("g", "", gauge(vec![point(vec![], 2.0)]))]);
    for (mode, want) in [
        (Mode::Unavailable, tonic::Code::Unavailable),
        (Mode::Storage, tonic::Code::Internal),
        (Mode::Invalid, tonic::Code::InvalidArgument),
    ] {
        let addr = serve(RecordingSink::new(mode)).await;
        let err = client(addr).await.export(req.clone()).await.unwrap_err();
        assert_eq!(err.code(), want);
    }
    let addr = serve(RecordingSink::new(Mode::Accept)).await;
    let resp = client(addr).await.export(req).await.unwrap().into_inner();
    assert_eq!(resp.partial_success, None);
}
