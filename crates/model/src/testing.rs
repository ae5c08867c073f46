//! Test support shared by the crates that write to a [`SampleSink`]: a sink that
//! records every batch and answers as told. Compiled only with the `testing`
//! feature, which crates enable for their tests alone.

use std::sync::{Arc, Mutex};

use crate::batch::{AppendError, AppendReport, SampleSink, WriteBatch};

/// What a [`RecordingSink`] answers.
#[derive(Clone, Debug)]
pub enum Mode {
    /// Accept everything, reporting every sample and exemplar as written.
    Accept,
    /// Answer with this report.
    Report(AppendReport),
    /// Refuse with "retry later".
    Unavailable,
    /// Fail as storage would on an I/O error.
    Storage,
    /// Refuse the batch as invalid.
    Invalid,
}

/// Records every batch it receives and answers according to its [`Mode`].
pub struct RecordingSink {
    /// The batches received, in order.
    pub batches: Mutex<Vec<WriteBatch>>,
    /// How it answers.
    pub mode: Mode,
}

impl RecordingSink {
    /// A new sink answering with `mode`.
    pub fn new(mode: Mode) -> Arc<Self> {
        Arc::new(RecordingSink {
            batches: Mutex::new(Vec::new()),
            mode,
        })
    }

    /// Takes the batches received so far.
    pub fn taken(&self) -> Vec<WriteBatch> {
        std::mem::take(&mut *self.batches.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl SampleSink for RecordingSink {
    fn append(&self, batch: WriteBatch) -> Result<AppendReport, AppendError> {
        let samples = batch.sample_count() as u64;
        let exemplars = batch.series.iter().map(|s| s.exemplars.len() as u64).sum();
        self.batches
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(batch);
        match &self.mode {
            Mode::Accept => Ok(AppendReport {
                accepted: samples,
                exemplars_accepted: exemplars,
                ..Default::default()
            }),
            Mode::Report(r) => Ok(r.clone()),
            Mode::Unavailable => Err(AppendError::Unavailable("head is full".into())),
            Mode::Storage => Err(AppendError::Storage("disk full".into())),
            Mode::Invalid => Err(AppendError::Invalid("refused".into())),
        }
    }
}
