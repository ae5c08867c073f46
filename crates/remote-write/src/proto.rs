//! Wire messages of Prometheus remote_write 1.0 (`prometheus.WriteRequest`) and 2.0
//! (`io.prometheus.write.v2.Request`), written by hand as prost messages so that the
//! crate needs no protoc or build script.
//!
//! Only the fields the receiver uses are declared in full; prost skips the others
//! (e.g. most native histogram fields), which also keeps decoding cheap.

/// remote_write 1.0 wire messages.
pub mod v1 {
    /// The request body (after snappy decompression).
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct WriteRequest {
        /// The series and their samples.
        #[prost(message, repeated, tag = "1")]
        pub timeseries: Vec<TimeSeries>,
        /// Metric metadata (type, help, unit) sent alongside.
        #[prost(message, repeated, tag = "3")]
        pub metadata: Vec<MetricMetadata>,
    }

    /// One series with its samples, exemplars and native histograms.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct TimeSeries {
        /// Sorted, unique labels including `__name__`.
        #[prost(message, repeated, tag = "1")]
        pub labels: Vec<Label>,
        /// Float samples, oldest first.
        #[prost(message, repeated, tag = "2")]
        pub samples: Vec<Sample>,
        /// Exemplars.
        #[prost(message, repeated, tag = "3")]
        pub exemplars: Vec<Exemplar>,
        /// Native histogram samples (not stored yet: counted as unsupported).
        #[prost(message, repeated, tag = "4")]
        pub histograms: Vec<Histogram>,
    }

    /// A `name="value"` pair.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Label {
        /// Label name.
        #[prost(string, tag = "1")]
        pub name: String,
        /// Label value.
        #[prost(string, tag = "2")]
        pub value: String,
    }

    /// A float sample.
    #[derive(Clone, Copy, PartialEq, prost::Message)]
    pub struct Sample {
        /// The value.
        #[prost(double, tag = "1")]
        pub value: f64,
        /// Milliseconds since the epoch.
        #[prost(int64, tag = "2")]
        pub timestamp: i64,
    }

    /// An exemplar.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Exemplar {
        /// Exemplar labels (e.g. `trace_id`).
        #[prost(message, repeated, tag = "1")]
        pub labels: Vec<Label>,
        /// Observed value.
        #[prost(double, tag = "2")]
        pub value: f64,
        /// Milliseconds since the epoch.
        #[prost(int64, tag = "3")]
        pub timestamp: i64,
    }

    /// The parts of a native histogram sample the receiver reads (to count and report
    /// them); the bucket fields are skipped by the decoder.
    #[derive(Clone, Copy, PartialEq, prost::Message)]
    pub struct Histogram {
        /// Observation count (integer histograms).
        #[prost(uint64, tag = "1")]
        pub count_int: u64,
        /// Sum of observations.
        #[prost(double, tag = "3")]
        pub sum: f64,
        /// Bucket schema.
        #[prost(sint32, tag = "4")]
        pub schema: i32,
        /// Milliseconds since the epoch.
        #[prost(int64, tag = "15")]
        pub timestamp: i64,
    }

    /// Metadata of one metric family.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct MetricMetadata {
        /// 0 unknown, 1 counter, 2 gauge, 3 histogram, 4 gaugehistogram, 5 summary,
        /// 6 info, 7 stateset.
        #[prost(int32, tag = "1")]
        pub r#type: i32,
        /// Family name.
        #[prost(string, tag = "2")]
        pub metric_family_name: String,
        /// Help text.
        #[prost(string, tag = "4")]
        pub help: String,
        /// Unit.
        #[prost(string, tag = "5")]
        pub unit: String,
    }
}

/// remote_write 2.0 wire messages.
pub mod v2 {
    /// The request body: a symbol table and series referring into it.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Request {
        /// Interned strings; index 0 must be the empty string.
        #[prost(string, repeated, tag = "4")]
        pub symbols: Vec<String>,
        /// The series.
        #[prost(message, repeated, tag = "5")]
        pub timeseries: Vec<TimeSeries>,
    }

    /// One series: label references, samples, exemplars, metadata.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct TimeSeries {
        /// Pairs of (name, value) indices into `symbols`.
        #[prost(uint32, repeated, tag = "1")]
        pub labels_refs: Vec<u32>,
        /// Float samples, oldest first.
        #[prost(message, repeated, tag = "2")]
        pub samples: Vec<super::v1::Sample>,
        /// Native histogram samples (not stored yet).
        #[prost(message, repeated, tag = "3")]
        pub histograms: Vec<super::v1::Histogram>,
        /// Exemplars.
        #[prost(message, repeated, tag = "4")]
        pub exemplars: Vec<Exemplar>,
        /// Type, help and unit of the series' family.
        #[prost(message, optional, tag = "5")]
        pub metadata: Option<Metadata>,
        /// When the counter started, in ms (0 = unset).
        #[prost(int64, tag = "6")]
        pub created_timestamp: i64,
    }

    /// An exemplar whose labels are symbol references.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Exemplar {
        /// Pairs of (name, value) indices into `symbols`.
        #[prost(uint32, repeated, tag = "1")]
        pub labels_refs: Vec<u32>,
        /// Observed value.
        #[prost(double, tag = "2")]
        pub value: f64,
        /// Milliseconds since the epoch.
        #[prost(int64, tag = "3")]
        pub timestamp: i64,
    }

    /// Series metadata with symbol references.
    #[derive(Clone, Copy, PartialEq, prost::Message)]
    pub struct Metadata {
        /// Same numbering as v1's metric type.
        #[prost(int32, tag = "1")]
        pub r#type: i32,
        /// Help text reference.
        #[prost(uint32, tag = "3")]
        pub help_ref: u32,
        /// Unit reference.
        #[prost(uint32, tag = "4")]
        pub unit_ref: u32,
    }
}
