//! Structured logging setup: logfmt-style text for people, JSON for log shippers.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. `level` is a level or a tracing filter directive.
pub fn init(level: &str, format: &str) {
    let filter = EnvFilter::try_new(level).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if format == "json" {
        builder.json().flatten_event(true).init();
    } else {
        builder.with_ansi(false).init();
    }
}
