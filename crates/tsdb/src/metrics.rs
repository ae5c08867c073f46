//! Self-monitoring metrics, registered once per process on the default registry
//! (tests open many databases in one process, so nothing here is per instance).

use once_cell::sync::Lazy;
use prometheus::{
    register_histogram, register_int_counter, register_int_gauge, Histogram, IntCounter, IntGauge,
};

macro_rules! gauge {
    ($name:ident, $metric:literal, $help:literal) => {
        /// See the metric's help text.
        pub static $name: Lazy<IntGauge> =
            Lazy::new(|| register_int_gauge!($metric, $help).expect("metric registers once"));
    };
}
macro_rules! counter {
    ($name:ident, $metric:literal, $help:literal) => {
        /// See the metric's help text.
        pub static $name: Lazy<IntCounter> =
            Lazy::new(|| register_int_counter!($metric, $help).expect("metric registers once"));
    };
}
macro_rules! histogram {
    ($name:ident, $metric:literal, $help:literal) => {
        /// See the metric's help text.
        pub static $name: Lazy<Histogram> = Lazy::new(|| {
            register_histogram!(
                $metric,
                $help,
                vec![0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0]
            )
            .expect("metric registers once")
        });
    };
}

gauge!(
    HEAD_SERIES,
    "sightline_tsdb_head_series",
    "Series in the head block."
);
gauge!(
    HEAD_CHUNKS,
    "sightline_tsdb_head_chunks",
    "Chunks in the head block."
);
counter!(
    SAMPLES_APPENDED,
    "sightline_tsdb_head_samples_appended_total",
    "Samples appended to the head."
);
counter!(
    OUT_OF_ORDER,
    "sightline_tsdb_out_of_order_samples_total",
    "Samples rejected as out of order."
);
counter!(
    DUPLICATES,
    "sightline_tsdb_duplicate_samples_total",
    "Samples rejected for a conflicting value at an existing timestamp."
);
counter!(
    TOO_OLD,
    "sightline_tsdb_too_old_samples_total",
    "Samples rejected as older than the head accepts."
);
counter!(
    SERIES_CREATED,
    "sightline_tsdb_series_created_total",
    "Series created in the head."
);
gauge!(
    BLOCKS_LOADED,
    "sightline_tsdb_blocks_loaded",
    "Blocks currently loaded."
);
counter!(
    COMPACTIONS,
    "sightline_tsdb_compactions_total",
    "Compactions run (head cuts and block merges)."
);
histogram!(
    COMPACTION_DURATION,
    "sightline_tsdb_compaction_duration_seconds",
    "Duration of compactions."
);
gauge!(
    BLOCKS_BYTES,
    "sightline_tsdb_storage_blocks_bytes",
    "Bytes used by loaded blocks."
);
counter!(
    RETENTION_DELETED,
    "sightline_tsdb_retention_deleted_blocks_total",
    "Blocks deleted by retention."
);
histogram!(
    WAL_REPLAY_DURATION,
    "sightline_tsdb_wal_replay_duration_seconds",
    "Duration of WAL replay at startup."
);
