//! Request size and label limits enforced before anything reaches storage.

/// Limits a remote_write request must respect. Defaults are generous enough for
/// Prometheus' default queue configuration (max 2000 samples per request) by orders of
/// magnitude while bounding the memory a single request can take.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted (snappy-compressed) body; larger → 413.
    pub max_compressed_bytes: usize,
    /// Largest accepted decompressed body; larger → 413.
    pub max_decompressed_bytes: usize,
    /// Longest label name in bytes; longer → 400.
    pub max_label_name_len: usize,
    /// Longest label value in bytes; longer → 400.
    pub max_label_value_len: usize,
    /// Most labels one series may carry (including `__name__`); more → 400.
    pub max_labels_per_series: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_compressed_bytes: 32 << 20,
            max_decompressed_bytes: 256 << 20,
            max_label_name_len: 1024,
            max_label_value_len: 16 << 10,
            max_labels_per_series: 128,
        }
    }
}
