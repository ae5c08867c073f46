//! Admission control for every ingest path (metrics now; logs and traces later).
//!
//! Storage appends are bounded: at most `max_concurrent` run at once, and a request
//! that cannot get a slot within `queue_timeout` is refused with
//! [`AppendError::Unavailable`], which the protocol adapters turn into the "retry
//! later" answer of their protocol (HTTP 503/429, gRPC UNAVAILABLE). Senders then back
//! off instead of piling requests (and memory) onto an overloaded server, and nothing
//! already acknowledged is affected.

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use once_cell::sync::Lazy;
use prometheus::{register_int_counter_vec, register_int_gauge_vec, IntCounterVec, IntGaugeVec};
use sightline_model::{AppendError, AppendReport, SampleSink, WriteBatch};

static INFLIGHT: Lazy<IntGaugeVec> = Lazy::new(|| {
    register_int_gauge_vec!(
        "sightline_ingest_inflight_appends",
        "Appends currently holding an ingest slot.",
        &["signal"]
    )
    .expect("metric registers once")
});

static REFUSED: Lazy<IntCounterVec> = Lazy::new(|| {
    register_int_counter_vec!(
        "sightline_ingest_refused_total",
        "Ingest requests refused with 'retry later' because every slot stayed busy.",
        &["signal"]
    )
    .expect("metric registers once")
});

/// A counting semaphore with a bounded wait, usable from blocking threads.
#[derive(Debug)]
pub struct AdmissionGate {
    signal: &'static str,
    max: usize,
    queue_timeout: Duration,
    used: Mutex<usize>,
    freed: Condvar,
}

/// A held slot; released on drop.
pub struct Permit<'a> {
    gate: &'a AdmissionGate,
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        let mut used = self.gate.used.lock().unwrap_or_else(|e| e.into_inner());
        *used -= 1;
        INFLIGHT.with_label_values(&[self.gate.signal]).dec();
        self.gate.freed.notify_one();
    }
}

impl AdmissionGate {
    /// A gate for `signal` (a metric label) with `max` concurrent slots.
    pub fn new(signal: &'static str, max: usize, queue_timeout: Duration) -> Self {
        AdmissionGate {
            signal,
            max: max.max(1),
            queue_timeout,
            used: Mutex::new(0),
            freed: Condvar::new(),
        }
    }

    /// Waits up to the queue timeout for a slot.
    pub fn acquire(&self) -> Result<Permit<'_>, AppendError> {
        let deadline = Instant::now() + self.queue_timeout;
        let mut used = self.used.lock().unwrap_or_else(|e| e.into_inner());
        while *used >= self.max {
            let now = Instant::now();
            if now >= deadline {
                REFUSED.with_label_values(&[self.signal]).inc();
                return Err(AppendError::Unavailable(format!(
                    "{} ingest is at its limit of {} concurrent appends; retry later",
                    self.signal, self.max
                )));
            }
            used = self
                .freed
                .wait_timeout(used, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        *used += 1;
        INFLIGHT.with_label_values(&[self.signal]).inc();
        Ok(Permit { gate: self })
    }
}

/// A [`SampleSink`] that admits appends through an [`AdmissionGate`].
pub struct GatedSink {
    inner: Arc<dyn SampleSink>,
    gate: AdmissionGate,
}

impl GatedSink {
    /// Wraps `inner` behind `gate`.
    pub fn new(inner: Arc<dyn SampleSink>, gate: AdmissionGate) -> Self {
        GatedSink { inner, gate }
    }
}

impl SampleSink for GatedSink {
    fn append(&self, batch: WriteBatch) -> Result<AppendReport, AppendError> {
        let _permit = self.gate.acquire()?;
        self.inner.append(batch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct SlowSink(AtomicUsize);
    impl SampleSink for SlowSink {
        fn append(&self, _b: WriteBatch) -> Result<AppendReport, AppendError> {
            self.0.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(200));
            Ok(AppendReport::default())
        }
    }

    #[test]
    fn refuses_when_full_and_admits_when_freed() {
        let sink = Arc::new(GatedSink::new(
            Arc::new(SlowSink(AtomicUsize::new(0))),
            AdmissionGate::new("test", 1, Duration::from_millis(50)),
        ));
        let s2 = sink.clone();
        let t = std::thread::spawn(move || s2.append(WriteBatch::default()));
        std::thread::sleep(Duration::from_millis(30));
        let refused = sink.append(WriteBatch::default());
        assert!(
            matches!(refused, Err(AppendError::Unavailable(_))),
            "{refused:?}"
        );
        assert!(t.join().unwrap().is_ok());
        assert!(sink.append(WriteBatch::default()).is_ok());
    }
}
