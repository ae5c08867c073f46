//! Helpers of the differential tests against the real Prometheus: the shared
//! dataset, starting both servers on it, HTTP calls, the generated query set and
//! the result comparison.
#![allow(dead_code)]

pub mod compare;
pub mod dataset;
pub mod queries;
pub mod servers;
