//! Prometheus remote_write receiver: decoding and validation of WriteRequest.
