//! Query results: a series' labels plus references to its chunks (in blocks or
//! copied from the head), and [`SeriesIter`], which decodes them lazily, merging
//! and de-duplicating chunks that overlap in time.

use crate::chunk::ChunkIter;
use memmap2::Mmap;
use sightline_model::{Labels, Sample};
use std::sync::Arc;

/// Where a chunk's bytes live.
#[derive(Clone)]
enum Backing {
    /// Memory owned by the head (or a copy of an open head chunk).
    Owned(Arc<[u8]>),
    /// A memory-mapped block chunk file, kept alive while referenced.
    Mapped(Arc<Mmap>),
}

/// A chunk's bytes and time range, cheap to clone.
#[derive(Clone)]
pub struct ChunkSlice {
    /// First sample timestamp.
    pub mint: i64,
    /// Last sample timestamp.
    pub maxt: i64,
    /// Encoding byte (see [`crate::chunk::Encoding`]).
    pub enc: u8,
    backing: Backing,
    start: usize,
    end: usize,
}

impl std::fmt::Debug for ChunkSlice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ChunkSlice{{{}..={} enc={} len={}}}",
            self.mint,
            self.maxt,
            self.enc,
            self.end - self.start
        )
    }
}

impl ChunkSlice {
    /// A chunk held in owned memory.
    pub fn owned(mint: i64, maxt: i64, enc: u8, data: Arc<[u8]>) -> Self {
        let end = data.len();
        ChunkSlice {
            mint,
            maxt,
            enc,
            backing: Backing::Owned(data),
            start: 0,
            end,
        }
    }

    /// A chunk inside a mapped file; the caller has checked the range.
    pub(crate) fn mapped(
        mint: i64,
        maxt: i64,
        enc: u8,
        map: Arc<Mmap>,
        start: usize,
        end: usize,
    ) -> Self {
        ChunkSlice {
            mint,
            maxt,
            enc,
            backing: Backing::Mapped(map),
            start,
            end,
        }
    }

    /// The chunk bytes.
    pub fn data(&self) -> &[u8] {
        match &self.backing {
            Backing::Owned(a) => &a[self.start..self.end],
            Backing::Mapped(m) => &m[self.start..self.end],
        }
    }

    /// Decodes all samples (stopping at corruption, which is logged).
    pub fn decode_into(&self, out: &mut Vec<Sample>) {
        match ChunkIter::new(self.enc, self.data()) {
            Ok(mut it) => {
                out.extend(&mut it);
                if it.corrupt() {
                    tracing::warn!(
                        mint = self.mint,
                        maxt = self.maxt,
                        "corrupt chunk: decoding stopped early"
                    );
                }
            }
            Err(e) => tracing::warn!(error = %e, "chunk cannot be decoded"),
        }
    }
}

/// One selected series: labels and the chunks overlapping the query range.
#[derive(Clone, Debug)]
pub struct Series {
    /// The series' labels.
    pub labels: Labels,
    chunks: Vec<ChunkSlice>,
    mint: i64,
    maxt: i64,
}

impl Series {
    /// Builds a series from chunks from any sources; samples outside `[mint, maxt]`
    /// are hidden. Chunks listed later win over earlier ones at equal timestamps.
    pub fn new(labels: Labels, chunks: Vec<ChunkSlice>, mint: i64, maxt: i64) -> Self {
        Series {
            labels,
            chunks,
            mint,
            maxt,
        }
    }

    /// Labels and chunks, taken apart (merging moves chunks instead of cloning).
    pub(crate) fn into_parts(self) -> (Labels, Vec<ChunkSlice>) {
        (self.labels, self.chunks)
    }

    /// The chunks (for compaction and tests).
    pub fn chunks(&self) -> &[ChunkSlice] {
        &self.chunks
    }

    /// Iterates the samples in time order, without duplicates.
    pub fn iter(&self) -> SeriesIter<'_> {
        SeriesIter::new(self)
    }

    /// All samples in range, collected.
    pub fn samples(&self) -> Vec<Sample> {
        let mut it = self.iter();
        let mut out = Vec::new();
        while let Some(s) = it.next() {
            out.push(s);
        }
        out
    }
}

/// Iterates one series' samples, decoding chunk by chunk when chunks do not
/// overlap, or after a merge when they do.
pub struct SeriesIter<'a> {
    chunks: Vec<&'a ChunkSlice>,
    next_chunk: usize,
    buf: Vec<Sample>,
    pos: usize,
    mint: i64,
    maxt: i64,
}

impl<'a> SeriesIter<'a> {
    fn new(s: &'a Series) -> Self {
        let mut chunks: Vec<&ChunkSlice> = s
            .chunks
            .iter()
            .filter(|c| c.maxt >= s.mint && c.mint <= s.maxt)
            .collect();
        // Stable: equal mints keep source order, so later sources still win.
        chunks.sort_by_key(|c| c.mint);
        let overlapping = chunks.windows(2).any(|w| w[1].mint <= w[0].maxt);
        let mut it = SeriesIter {
            chunks,
            next_chunk: 0,
            buf: Vec::new(),
            pos: 0,
            mint: s.mint,
            maxt: s.maxt,
        };
        if overlapping {
            it.merge_all(s);
        }
        it
    }

    fn merge_all(&mut self, s: &Series) {
        // Decode in source order, tagging each sample with its source index so that
        // the later source wins on equal timestamps.
        let mut tagged: Vec<(i64, usize, f64)> = Vec::new();
        let mut tmp = Vec::new();
        for (i, c) in s.chunks.iter().enumerate() {
            if c.maxt < self.mint || c.mint > self.maxt {
                continue;
            }
            tmp.clear();
            c.decode_into(&mut tmp);
            tagged.extend(tmp.iter().map(|x| (x.t, i, x.v)));
        }
        tagged.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
        let mut out: Vec<Sample> = Vec::with_capacity(tagged.len());
        for (t, _, v) in tagged {
            if t < self.mint || t > self.maxt {
                continue;
            }
            match out.last_mut() {
                Some(last) if last.t == t => last.v = v,
                _ => out.push(Sample::new(t, v)),
            }
        }
        self.buf = out;
        self.next_chunk = self.chunks.len();
    }

    fn load_next(&mut self) -> bool {
        while self.next_chunk < self.chunks.len() {
            let c = self.chunks[self.next_chunk];
            self.next_chunk += 1;
            self.buf.clear();
            self.pos = 0;
            c.decode_into(&mut self.buf);
            let (lo, hi) = (self.mint, self.maxt);
            if c.mint < lo || c.maxt > hi {
                self.buf.retain(|s| s.t >= lo && s.t <= hi);
            }
            if !self.buf.is_empty() {
                return true;
            }
        }
        false
    }

    /// The next sample.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Option<Sample> {
        if self.pos >= self.buf.len() && !self.load_next() {
            return None;
        }
        let s = self.buf[self.pos];
        self.pos += 1;
        Some(s)
    }

    /// Advances to the first sample with timestamp `>= t` and returns it (it is
    /// consumed, like [`SeriesIter::next`]).
    pub fn seek(&mut self, t: i64) -> Option<Sample> {
        loop {
            if self.pos < self.buf.len() {
                if self.buf[self.buf.len() - 1].t >= t {
                    let i = self.pos + self.buf[self.pos..].partition_point(|s| s.t < t);
                    self.pos = i + 1;
                    return Some(self.buf[i]);
                }
                self.pos = self.buf.len();
            }
            // Skip whole chunks that end before t without decoding them.
            while self.next_chunk < self.chunks.len() && self.chunks[self.next_chunk].maxt < t {
                self.next_chunk += 1;
            }
            if !self.load_next() {
                return None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunk::encode_best;

    fn chunk(samples: &[(i64, f64)]) -> ChunkSlice {
        let s: Vec<Sample> = samples.iter().map(|(t, v)| Sample::new(*t, *v)).collect();
        let (enc, data) = encode_best(&s);
        ChunkSlice::owned(s[0].t, s[s.len() - 1].t, enc, data.into())
    }

    #[test]
    fn sequential_and_seek() {
        let s = Series::new(
            Labels::empty(),
            vec![chunk(&[(1, 1.0), (2, 2.0)]), chunk(&[(5, 5.0), (9, 9.0)])],
            2,
            9,
        );
        let got: Vec<i64> = s.samples().iter().map(|x| x.t).collect();
        assert_eq!(got, vec![2, 5, 9]);
        let mut it = s.iter();
        assert_eq!(it.seek(3).map(|x| x.t), Some(5));
        assert_eq!(it.next().map(|x| x.t), Some(9));
        assert_eq!(it.next(), None);
        let mut it = s.iter();
        assert_eq!(it.seek(10), None);
    }

    #[test]
    fn overlapping_merge_later_wins() {
        let s = Series::new(
            Labels::empty(),
            vec![
                chunk(&[(1, 1.0), (3, 3.0)]),
                chunk(&[(2, 20.0), (3, 30.0), (4, 40.0)]),
            ],
            i64::MIN,
            i64::MAX,
        );
        let got: Vec<(i64, f64)> = s.samples().iter().map(|x| (x.t, x.v)).collect();
        assert_eq!(got, vec![(1, 1.0), (2, 20.0), (3, 30.0), (4, 40.0)]);
    }
}
