//! The part shared by the HTTP and gRPC transports: convert a request and append it
//! to the sink on a blocking thread, folding storage rejections into the partial
//! success report.

use std::sync::Arc;

use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceRequest,
};
use sightline_model::{AppendError, SampleSink};

use crate::convert::{convert, data_point_count, Rejections};
use crate::metrics;

/// Converts and stores `req`; returns what was rejected, or why nothing was stored.
/// Runs on the calling thread: call it from `spawn_blocking`.
pub fn ingest_blocking(
    sink: &dyn SampleSink,
    req: ExportMetricsServiceRequest,
) -> Result<Rejections, AppendError> {
    metrics::POINTS_RECEIVED.inc_by(data_point_count(&req));
    let (batch, mut rejections) = convert(req);
    if !batch.series.is_empty() || !batch.metadata.is_empty() {
        let report = sink.append(batch)?;
        let refused = report.rejected();
        if refused > 0 {
            let first = report.first_error.clone().unwrap_or_default();
            rejections.reject(refused, || {
                format!("{refused} samples refused by storage (first: {first})")
            });
        }
    }
    metrics::POINTS_REJECTED.inc_by(rejections.points);
    Ok(rejections)
}

/// [`ingest_blocking`] on the blocking pool.
pub async fn ingest(
    sink: Arc<dyn SampleSink>,
    req: ExportMetricsServiceRequest,
) -> Result<Rejections, AppendError> {
    tokio::task::spawn_blocking(move || ingest_blocking(sink.as_ref(), req))
        .await
        .unwrap_or_else(|e| Err(AppendError::Storage(format!("ingest task failed: {e}"))))
}

/// The partial success to report, if anything was rejected.
pub fn partial_success(r: &Rejections) -> Option<ExportMetricsPartialSuccess> {
    (!r.is_empty()).then(|| ExportMetricsPartialSuccess {
        rejected_data_points: r.points as i64,
        error_message: r.message(),
    })
}
