//! Server wiring: HTTP listeners, ingest endpoints, reload, health and self-metrics.
