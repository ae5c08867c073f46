//! Prometheus' response envelope and error types.
//!
//! Success: `{"status":"success","data":…,"warnings":[…],"infos":[…]}`. Failure:
//! `{"status":"error","errorType":"bad_data","error":"…"}` with the HTTP status
//! Prometheus uses for that type (bad_data 400, execution 422, timeout 503,
//! canceled 499, internal 500, not_found 404, unavailable 503).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

/// The error types of the Prometheus API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorType {
    /// Invalid parameters.
    BadData,
    /// Evaluation failed.
    Execution,
    /// Query timed out.
    Timeout,
    /// Query canceled.
    Canceled,
    /// Server error.
    Internal,
    /// Not found.
    NotFound,
    /// Temporarily unavailable.
    Unavailable,
}

impl ErrorType {
    fn as_str(self) -> &'static str {
        match self {
            ErrorType::BadData => "bad_data",
            ErrorType::Execution => "execution",
            ErrorType::Timeout => "timeout",
            ErrorType::Canceled => "canceled",
            ErrorType::Internal => "internal",
            ErrorType::NotFound => "not_found",
            ErrorType::Unavailable => "unavailable",
        }
    }

    fn status(self) -> StatusCode {
        match self {
            ErrorType::BadData => StatusCode::BAD_REQUEST,
            ErrorType::Execution => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorType::Timeout | ErrorType::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorType::Canceled => StatusCode::from_u16(499).unwrap_or(StatusCode::BAD_REQUEST),
            ErrorType::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorType::NotFound => StatusCode::NOT_FOUND,
        }
    }
}

/// An API error: its type and message.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The error type.
    pub kind: ErrorType,
    /// The message.
    pub message: String,
}

impl ApiError {
    /// A `bad_data` error.
    pub fn bad_data(message: impl Into<String>) -> Self {
        ApiError {
            kind: ErrorType::BadData,
            message: message.into(),
        }
    }

    /// An `internal` error.
    pub fn internal(message: impl Into<String>) -> Self {
        ApiError {
            kind: ErrorType::Internal,
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body =
            json!({"status": "error", "errorType": self.kind.as_str(), "error": self.message});
        (self.kind.status(), Json(body)).into_response()
    }
}

/// A success envelope around `data`.
pub fn success(data: Value) -> Response {
    Json(json!({"status": "success", "data": data})).into_response()
}

/// A success envelope with warnings.
pub fn success_with_warnings(data: Value, warnings: Vec<String>) -> Response {
    success_with_annotations(data, warnings, Vec::new())
}

/// The success body with annotations: `warnings` and `infos` are separate arrays,
/// each left out when empty, as in Prometheus 3.
pub fn annotated_body(data: Value, warnings: Vec<String>, infos: Vec<String>) -> Value {
    let mut body = serde_json::Map::new();
    body.insert("status".into(), Value::String("success".into()));
    body.insert("data".into(), data);
    if !warnings.is_empty() {
        body.insert("warnings".into(), json!(warnings));
    }
    if !infos.is_empty() {
        body.insert("infos".into(), json!(infos));
    }
    Value::Object(body)
}

/// A success envelope with PromQL warnings and infos (see [`annotated_body`]).
pub fn success_with_annotations(
    data: Value,
    warnings: Vec<String>,
    infos: Vec<String>,
) -> Response {
    Json(annotated_body(data, warnings, infos)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warnings_and_infos_are_separate_and_omitted_when_empty() {
        let b = annotated_body(json!(1), vec!["PromQL warning: w".into()], vec![]);
        assert_eq!(
            b,
            json!({"status": "success", "data": 1, "warnings": ["PromQL warning: w"]})
        );
        let b = annotated_body(json!(1), vec![], vec!["PromQL info: i".into()]);
        assert_eq!(
            b,
            json!({"status": "success", "data": 1, "infos": ["PromQL info: i"]})
        );
        assert_eq!(
            annotated_body(json!(1), vec![], vec![]),
            json!({"status": "success", "data": 1})
        );
    }
}
