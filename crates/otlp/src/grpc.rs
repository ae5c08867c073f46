//! The OTLP/gRPC metrics service (`opentelemetry.proto.collector.metrics.v1.MetricsService/Export`).
//!
//! Errors use the codes OTLP exporters act on: `UNAVAILABLE` (retried with backoff)
//! when storage is temporarily unavailable, `INVALID_ARGUMENT` (dropped) for data
//! storage refuses outright, `INTERNAL` for storage failures. Gzip requests are
//! accepted, as the collector's exporter compresses by default.

use std::sync::Arc;

use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use sightline_model::{AppendError, SampleSink};
use tonic::codec::CompressionEncoding;
use tonic::{Request, Response, Status};

use crate::ingest::{ingest, partial_success};
use crate::metrics;

/// Largest accepted gRPC message (decoded), in bytes.
pub const MAX_GRPC_MESSAGE_BYTES: usize = 64 << 20;

/// The gRPC metrics service writing into a sink.
pub struct OtlpMetricsService {
    sink: Arc<dyn SampleSink>,
}

#[tonic::async_trait]
impl MetricsService for OtlpMetricsService {
    async fn export(
        &self,
        request: Request<ExportMetricsServiceRequest>,
    ) -> Result<Response<ExportMetricsServiceResponse>, Status> {
        let result = ingest(self.sink.clone(), request.into_inner()).await;
        let answer = match result {
            Ok(r) => Ok(Response::new(ExportMetricsServiceResponse {
                partial_success: partial_success(&r),
            })),
            Err(AppendError::Unavailable(m)) => Err(Status::unavailable(m)),
            Err(AppendError::Invalid(m)) => Err(Status::invalid_argument(m)),
            Err(AppendError::Storage(m)) => Err(Status::internal(m)),
        };
        let code = match &answer {
            Ok(_) => "ok".to_string(),
            Err(s) => format!("{:?}", s.code()).to_lowercase(),
        };
        metrics::REQUESTS
            .with_label_values(&["metrics", "grpc", &code])
            .inc();
        answer
    }
}

/// Builds the gRPC service for `sink`, to add to a tonic server.
pub fn grpc_service(sink: Arc<dyn SampleSink>) -> MetricsServiceServer<OtlpMetricsService> {
    MetricsServiceServer::new(OtlpMetricsService { sink })
        .accept_compressed(CompressionEncoding::Gzip)
        .send_compressed(CompressionEncoding::Gzip)
        .max_decoding_message_size(MAX_GRPC_MESSAGE_BYTES)
}
