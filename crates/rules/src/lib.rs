//! Prometheus-compatible rules and SLOs for Sightline.
//!
//! - [`file`](mod@file): rule files (`rule_files` globs), strict decoding and
//!   `promtool check rules`-style validation with file:line errors
//!   ([`file::check_files`]); [`locate`] maps YAML paths to lines.
//! - [`template`]: alert templating (a Go `text/template` subset with
//!   Prometheus' functions), parsed at load time.
//! - [`group`]: one group's evaluation: alignment, query offset, recording
//!   rules, the pending/firing/inactive alert state machine with `for` and
//!   `keep_firing_for`, `ALERTS`/`ALERTS_FOR_STATE`, stale markers, resends and
//!   the restore of `for` state after a restart.
//! - [`manager`]: [`manager::RuleManager`] runs groups on tokio and reloads them
//!   keeping state; [`api`] renders `/api/v1/rules` and `/api/v1/alerts`.
//! - [`alert`]: [`alert::OutgoingAlert`], the [`alert::AlertSender`] trait the
//!   notifier implements, and [`alert::HttpAlertSender`] for external
//!   Alertmanagers.
//! - [`slo`]: SLO configuration, generated multi-window multi-burn-rate rules,
//!   and live SLO status.
//! - [`memdb`]: an in-memory store that is both sink and queryable, for tests
//!   and dry runs.
//! - [`metrics`] holds the self-metrics.

pub mod alert;
pub mod api;
pub mod file;
pub mod group;
pub mod locate;
pub mod manager;
pub mod memdb;
pub mod metrics;
pub mod slo;
pub mod template;
