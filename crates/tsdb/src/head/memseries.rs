//! One in-memory series: its interned labels, sealed and open XOR chunks, and the
//! out-of-order buffer. Kept small because there is one per active series.

use crate::chunk::{xor::XorAppender, Encoding, SAMPLES_PER_CHUNK};
use crate::series::ChunkSlice;
use parking_lot::Mutex;
use sightline_model::Sample;
use std::sync::atomic::{AtomicBool, AtomicU32};
use std::sync::Arc;

/// Buffer size of a series' first chunk, before its data is known.
const FIRST_CHUNK_CAPACITY: usize = 64;

/// Buffer size for the chunk after one of `len` bytes holding `count` samples:
/// the same bytes per sample for a full chunk plus 1/8 headroom, so a series with
/// steady data rarely reallocates and carries little unused capacity.
fn next_chunk_capacity(len: usize, count: u16) -> usize {
    let per_full = len * SAMPLES_PER_CHUNK / usize::from(count.max(1));
    (per_full + per_full / 8).clamp(16, 4096)
}

/// A series in the head.
pub struct MemSeries {
    /// The series reference used in WAL records and postings.
    pub r: u32,
    /// `Labels::stable_hash` of the labels.
    pub hash: u64,
    /// `(name id, value id)` pairs in label-name order.
    pub labels: Box<[(u32, u32)]>,
    /// Whether the series record was written to the WAL.
    pub logged: AtomicBool,
    /// Appends that resolved this series and have not finished; garbage collection
    /// skips the series while it is non-zero.
    pub pending: AtomicU32,
    /// The samples.
    pub data: Mutex<SeriesData>,
}

/// A full chunk, immutable and shared with queries.
pub struct SealedChunk {
    /// First timestamp.
    pub mint: i64,
    /// Last timestamp.
    pub maxt: i64,
    /// XOR chunk bytes.
    pub data: Arc<[u8]>,
}

/// The chunk being appended to (its newest timestamp is the encoder's).
pub struct OpenChunk {
    /// First timestamp.
    pub mint: i64,
    /// The encoder.
    pub app: XorAppender,
}

impl OpenChunk {
    /// Last timestamp.
    pub fn maxt(&self) -> i64 {
        self.app.last_t()
    }
}

/// Mutable part of a series, behind its lock.
pub struct SeriesData {
    /// Sealed chunks in time order.
    pub sealed: Vec<SealedChunk>,
    /// The open chunk.
    pub open: Option<OpenChunk>,
    /// Newest in-order timestamp, `i64::MIN` when none.
    pub maxt: i64,
    /// Bits of the newest in-order value.
    pub last_bits: u64,
    /// Out-of-order samples (inside the window), sorted by time; boxed because
    /// most series never have any, so the empty case costs one word.
    pub ooo: Option<Box<Vec<Sample>>>,
}

/// What happened to one appended sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Appended in order.
    Appended,
    /// Stored in the out-of-order buffer.
    AppendedOoo,
    /// Identical to a stored sample.
    Duplicate,
    /// Same timestamp, different value.
    Conflict,
    /// Older than the newest sample and outside the window.
    OutOfOrder,
    /// Older than the head accepts.
    TooOld,
}

/// Head-wide limits that classify a sample.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Samples older than this are too old (data already persisted).
    pub min_valid: i64,
    /// Newest timestamp in the head (`i64::MIN` if empty).
    pub head_maxt: i64,
    /// Block range (chunk boundaries align to it).
    pub range: i64,
    /// Out-of-order window (0 = disabled).
    pub ooo_window: i64,
    /// WAL replay: samples were accepted once, so only `min_valid` and per-series
    /// order apply (records of different series are not in time order), and any
    /// older sample goes to the out-of-order buffer when the window is enabled.
    pub replay: bool,
}

impl SeriesData {
    /// Empty data.
    pub fn new() -> Self {
        SeriesData {
            sealed: Vec::new(),
            open: None,
            maxt: i64::MIN,
            last_bits: 0,
            ooo: None,
        }
    }

    /// The out-of-order samples, sorted by time.
    pub fn ooo(&self) -> &[Sample] {
        self.ooo.as_deref().map_or(&[], |v| v.as_slice())
    }

    /// True when no sample is held.
    pub fn is_empty(&self) -> bool {
        self.sealed.is_empty() && self.open.is_none() && self.ooo().is_empty()
    }

    /// Number of chunks (sealed + open).
    pub fn chunk_count(&self) -> usize {
        self.sealed.len() + usize::from(self.open.is_some())
    }

    /// Oldest timestamp held.
    pub fn mint(&self) -> Option<i64> {
        let a = self
            .sealed
            .first()
            .map(|c| c.mint)
            .or(self.open.as_ref().map(|o| o.mint));
        let b = self.ooo().first().map(|s| s.t);
        match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Classifies and stores one sample. Returns the outcome and whether a new
    /// chunk was started.
    #[inline]
    pub fn append(&mut self, t: i64, v: f64, lim: &Limits) -> (Outcome, bool) {
        if t < lim.min_valid {
            return (Outcome::TooOld, false);
        }
        let in_window = lim.ooo_window > 0
            && (lim.replay
                || (lim.head_maxt != i64::MIN
                    && t >= lim.head_maxt.saturating_sub(lim.ooo_window)));
        if self.maxt == i64::MIN || t > self.maxt {
            if !lim.replay
                && lim.head_maxt != i64::MIN
                && t < lim.head_maxt.saturating_sub(lim.range / 2)
                && !in_window
            {
                return (Outcome::TooOld, false);
            }
            return (Outcome::Appended, self.append_in_order(t, v, lim.range));
        }
        if t == self.maxt {
            return if v.to_bits() == self.last_bits {
                (Outcome::Duplicate, false)
            } else {
                (Outcome::Conflict, false)
            };
        }
        if !in_window {
            return (Outcome::OutOfOrder, false);
        }
        let ooo = self.ooo.get_or_insert_with(Default::default);
        match ooo.binary_search_by(|s| s.t.cmp(&t)) {
            Ok(i) if ooo[i].v.to_bits() == v.to_bits() => (Outcome::Duplicate, false),
            Ok(_) => (Outcome::Conflict, false),
            Err(i) => {
                ooo.insert(i, Sample::new(t, v));
                (Outcome::AppendedOoo, false)
            }
        }
    }

    fn append_in_order(&mut self, t: i64, v: f64, range: i64) -> bool {
        let mut created = false;
        let cut = match &self.open {
            Some(o) => {
                o.app.count() as usize >= SAMPLES_PER_CHUNK
                    || t >= (o.mint.div_euclid(range).saturating_add(1)).saturating_mul(range)
            }
            None => true,
        };
        if cut {
            let mut cap = FIRST_CHUNK_CAPACITY;
            if let Some(o) = self.open.take() {
                cap = next_chunk_capacity(o.app.bytes().len(), o.app.count());
                // Exact growth: a series holds only a few sealed chunks, and the
                // default doubling would leave most of the vector unused.
                if self.sealed.len() == self.sealed.capacity() {
                    self.sealed.reserve_exact(1);
                }
                self.sealed.push(SealedChunk {
                    mint: o.mint,
                    maxt: o.maxt(),
                    data: Arc::from(o.app.into_bytes()),
                });
            }
            self.open = Some(OpenChunk {
                mint: t,
                app: XorAppender::with_capacity(cap),
            });
            created = true;
        }
        if let Some(o) = self.open.as_mut() {
            o.app.append(t, v);
        }
        self.maxt = t;
        self.last_bits = v.to_bits();
        created
    }

    /// True when [`SeriesData::chunks_in`] would return a chunk for `[mint, maxt]`.
    pub fn overlaps(&self, mint: i64, maxt: i64) -> bool {
        let ooo = self.ooo();
        self.sealed.iter().any(|c| c.maxt >= mint && c.mint <= maxt)
            || self
                .open
                .as_ref()
                .is_some_and(|o| o.maxt() >= mint && o.mint <= maxt)
            || ooo.partition_point(|s| s.t < mint) < ooo.partition_point(|s| s.t <= maxt)
    }

    /// Chunks overlapping `[mint, maxt]` as query slices (the open chunk and the
    /// out-of-order buffer are copied, sealed chunks shared).
    pub fn chunks_in(&self, mint: i64, maxt: i64, out: &mut Vec<ChunkSlice>) {
        let xor = Encoding::Xor as u8;
        for c in &self.sealed {
            if c.maxt >= mint && c.mint <= maxt {
                out.push(ChunkSlice::owned(c.mint, c.maxt, xor, c.data.clone()));
            }
        }
        if let Some(o) = &self.open {
            if o.maxt() >= mint && o.mint <= maxt {
                out.push(ChunkSlice::owned(
                    o.mint,
                    o.maxt(),
                    xor,
                    Arc::from(o.app.bytes()),
                ));
            }
        }
        let ooo = self.ooo();
        let lo = ooo.partition_point(|s| s.t < mint);
        let hi = ooo.partition_point(|s| s.t <= maxt);
        for part in ooo[lo..hi].chunks(u16::MAX as usize) {
            let mut app = XorAppender::new();
            for s in part {
                app.append(s.t, s.v);
            }
            out.push(ChunkSlice::owned(
                part[0].t,
                part[part.len() - 1].t,
                xor,
                Arc::from(app.into_bytes()),
            ));
        }
    }

    /// Drops everything older than `mint` (chunks never straddle an aligned
    /// boundary, so whole chunks go). Returns the number of chunks removed.
    pub fn truncate_before(&mut self, mint: i64) -> usize {
        let before = self.chunk_count();
        self.sealed.retain(|c| c.maxt >= mint);
        self.sealed.shrink_to_fit();
        if self.open.as_ref().is_some_and(|o| o.maxt() < mint) {
            self.open = None;
        }
        if let Some(ooo) = self.ooo.as_mut() {
            ooo.retain(|s| s.t >= mint);
            if ooo.is_empty() {
                self.ooo = None;
            } else {
                ooo.shrink_to_fit();
            }
        }
        before - self.chunk_count()
    }

    /// Approximate heap bytes held, for statistics.
    pub fn heap_bytes(&self) -> usize {
        self.sealed.iter().map(|c| c.data.len() + 16).sum::<usize>()
            + self.open.as_ref().map_or(0, |o| o.app.heap_bytes())
            + self.sealed.capacity() * std::mem::size_of::<SealedChunk>()
            + self.ooo.as_ref().map_or(0, |v| 24 + v.capacity() * 16)
    }
}

impl Default for SeriesData {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunk::sample_count;

    fn lim(range: i64, ooo_window: i64, head_maxt: i64) -> Limits {
        Limits {
            min_valid: i64::MIN,
            head_maxt,
            range,
            ooo_window,
            replay: false,
        }
    }

    #[test]
    fn sealed_chunks_take_exact_room_and_next_buffers_are_sized_from_the_last() {
        let mut d = SeriesData::new();
        for i in 0..360i64 {
            let (o, _) = d.append(i * 15_000, (i * 7) as f64, &lim(1 << 40, 0, i64::MIN));
            assert_eq!(o, Outcome::Appended);
        }
        assert_eq!(d.sealed.len(), 2);
        assert_eq!(d.sealed.capacity(), 2);
        let full = d.sealed[1].data.len();
        let open = d.open.as_ref().unwrap();
        assert_eq!(open.app.count(), 120);
        assert!(open.app.heap_bytes() <= full + full / 8 + 16);
        assert_eq!(open.maxt(), 359 * 15_000);
        let mut out = Vec::new();
        d.chunks_in(i64::MIN, i64::MAX, &mut out);
        let samples: usize = out.iter().map(|c| sample_count(c.data()) as usize).sum();
        assert_eq!(samples, 360);
    }

    #[test]
    fn out_of_order_buffer_exists_only_while_needed() {
        let mut d = SeriesData::new();
        let l = lim(1 << 40, 1000, 5000);
        d.append(5000, 1.0, &l);
        assert!(d.ooo.is_none());
        assert_eq!(d.append(4500, 2.0, &l).0, Outcome::AppendedOoo);
        assert_eq!(d.append(4500, 2.0, &l).0, Outcome::Duplicate);
        assert_eq!(d.ooo(), &[Sample::new(4500, 2.0)]);
        assert_eq!(d.mint(), Some(4500));
        d.truncate_before(4800);
        assert!(d.ooo.is_none());
        assert_eq!(d.mint(), Some(5000));
    }

    #[test]
    fn next_capacity_scales_a_short_chunk_to_a_full_one() {
        assert_eq!(next_chunk_capacity(100, 120), 112);
        assert_eq!(next_chunk_capacity(100, 60), 225);
        assert_eq!(next_chunk_capacity(0, 0), 16);
        assert_eq!(next_chunk_capacity(1 << 20, 1), 4096);
    }
}
