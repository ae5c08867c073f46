//! Sightline's own `/metrics`, in the Prometheus text format.
//!
//! Every crate registers its metrics once on the process-wide default registry; this
//! module renders them, plus the build info and process metrics (CPU, RSS, file
//! descriptors) that Prometheus' own dashboards expect.

use once_cell::sync::Lazy;
use prometheus::{Encoder, IntGaugeVec, TextEncoder};

static BUILD_INFO: Lazy<IntGaugeVec> = Lazy::new(|| {
    prometheus::register_int_gauge_vec!(
        "sightline_build_info",
        "A metric with a constant '1' value labeled by version and the Rust compiler.",
        &["version", "revision", "rustc"]
    )
    .expect("metric registers once")
});

/// Registers the process-wide metrics that no other module owns. Idempotent.
pub fn init() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        BUILD_INFO
            .with_label_values(&[
                env!("CARGO_PKG_VERSION"),
                option_env!("SIGHTLINE_REVISION").unwrap_or("unknown"),
                option_env!("SIGHTLINE_RUSTC").unwrap_or("unknown"),
            ])
            .set(1);
        #[cfg(target_os = "linux")]
        {
            let pc = prometheus::process_collector::ProcessCollector::for_self();
            let _ = prometheus::register(Box::new(pc));
        }
    });
}

/// Renders every registered metric in the text exposition format 0.0.4.
pub fn render() -> String {
    let families = prometheus::gather();
    let mut buf = Vec::with_capacity(64 * 1024);
    if let Err(e) = TextEncoder::new().encode(&families, &mut buf) {
        tracing::error!(error = %e, "encoding self-metrics failed");
    }
    String::from_utf8(buf).unwrap_or_default()
}
