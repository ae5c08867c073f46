//! OTLP metrics ingest: conversion to Prometheus series per the OpenTelemetry
//! "Prometheus and OpenMetrics Compatibility" spec, served over OTLP/HTTP and
//! OTLP/gRPC.
//!
//! - [`names`] — metric/label name normalisation and unit suffixes.
//! - [`attrs`] — attribute values and lists as label values and labels.
//! - [`convert`] — OTLP metric data to a [`sightline_model::WriteBatch`].
//! - [`json`] — the OTLP/JSON encoding.
//! - [`ingest`] — convert + append on a blocking thread, shared by both transports.
//! - [`http`] — `POST /v1/metrics`.
//! - [`grpc`] — the `MetricsService` gRPC service.
//! - [`metrics`] — self-metrics.

pub mod attrs;
pub mod convert;
pub mod grpc;
pub mod http;
pub mod ingest;
pub mod json;
pub mod metrics;
pub mod names;

pub use convert::{convert, data_point_count, Rejections};
pub use grpc::{grpc_service, OtlpMetricsService};
pub use http::http_router;
