//! The block index file: symbol table, series (label refs + chunk metas), series
//! offsets, label index with postings offsets, postings lists and a table of
//! contents; every section carries a CRC32C. Layout in `docs/format/index.md`.

use crate::encoding::{put_uvarint, put_varint, Decbuf};
use crate::postings::PostingsIndex;
use sightline_model::{Label, Labels};
use std::collections::{BTreeMap, HashMap};

/// Index file magic number.
pub const INDEX_MAGIC: u32 = 0x5147_1D01;
/// Index format version.
pub const INDEX_VERSION: u8 = 1;
const SECTIONS: usize = 4;
const TOC_LEN: usize = SECTIONS * 8 + 4;

/// Where a chunk is and what it covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkMeta {
    /// First timestamp.
    pub mint: i64,
    /// Last timestamp.
    pub maxt: i64,
    /// `segment << 32 | offset` in the chunk files.
    pub r: u64,
}

/// Builds the index bytes for series given in label order.
pub fn build(series: &[(Labels, Vec<ChunkMeta>)]) -> Vec<u8> {
    // Symbols.
    let mut syms: Vec<&str> = series
        .iter()
        .flat_map(|(l, _)| l.iter().flat_map(|l| [l.name.as_str(), l.value.as_str()]))
        .collect();
    syms.sort_unstable();
    syms.dedup();
    let sym_id: HashMap<&str, u32> = syms
        .iter()
        .enumerate()
        .map(|(i, s)| (*s, i as u32))
        .collect();
    let mut symbols = Vec::new();
    put_uvarint(&mut symbols, syms.len() as u64);
    let mut prev: &str = "";
    for s in &syms {
        let shared = prev
            .bytes()
            .zip(s.bytes())
            .take_while(|(a, b)| a == b)
            .count();
        // Never split a UTF-8 character.
        let shared = (0..=shared)
            .rev()
            .find(|&i| s.is_char_boundary(i))
            .unwrap_or(0);
        put_uvarint(&mut symbols, shared as u64);
        put_uvarint(&mut symbols, (s.len() - shared) as u64);
        symbols.extend_from_slice(&s.as_bytes()[shared..]);
        prev = s;
    }
    // Series and postings.
    let mut ser = Vec::new();
    let base = series
        .iter()
        .filter_map(|(_, c)| c.first().map(|c| c.mint))
        .min()
        .unwrap_or(0);
    put_varint(&mut ser, base);
    let mut post: BTreeMap<(u32, u32), Vec<u32>> = BTreeMap::new();
    let mut pref = 0u64;
    for (id, (labels, chunks)) in series.iter().enumerate() {
        put_uvarint(&mut ser, labels.len() as u64);
        for l in labels {
            let (n, v) = (sym_id[l.name.as_str()], sym_id[l.value.as_str()]);
            put_uvarint(&mut ser, n as u64);
            put_uvarint(&mut ser, v as u64);
            post.entry((n, v)).or_default().push(id as u32);
        }
        put_uvarint(&mut ser, chunks.len() as u64);
        let mut pmaxt = base;
        for (i, c) in chunks.iter().enumerate() {
            let prev = if i == 0 { base } else { pmaxt };
            put_uvarint(&mut ser, c.mint.wrapping_sub(prev) as u64);
            put_uvarint(&mut ser, c.maxt.wrapping_sub(c.mint) as u64);
            put_uvarint(&mut ser, c.r.wrapping_sub(pref));
            pmaxt = c.maxt;
            pref = c.r;
        }
    }
    // Label index + postings.
    let mut label_index = Vec::new();
    let mut postings = Vec::new();
    let mut by_name: BTreeMap<u32, Vec<(u32, &Vec<u32>)>> = BTreeMap::new();
    for ((n, v), list) in &post {
        by_name.entry(*n).or_default().push((*v, list));
    }
    put_uvarint(&mut label_index, by_name.len() as u64);
    for (n, vals) in &by_name {
        put_uvarint(&mut label_index, *n as u64);
        put_uvarint(&mut label_index, vals.len() as u64);
        let mut pv = 0u32;
        for (v, list) in vals {
            let start = postings.len();
            put_uvarint(&mut postings, list.len() as u64);
            let mut prev = 0u32;
            for (i, id) in list.iter().enumerate() {
                put_uvarint(&mut postings, if i == 0 { *id } else { id - prev } as u64);
                prev = *id;
            }
            put_uvarint(&mut label_index, (v - pv) as u64);
            put_uvarint(&mut label_index, (postings.len() - start) as u64);
            pv = *v;
        }
    }
    let mut out =
        Vec::with_capacity(symbols.len() + ser.len() + label_index.len() + postings.len() + 100);
    out.extend_from_slice(&INDEX_MAGIC.to_be_bytes());
    out.push(INDEX_VERSION);
    let mut toc = Vec::with_capacity(TOC_LEN);
    for sec in [&symbols, &ser, &label_index, &postings] {
        toc.extend_from_slice(&(out.len() as u64).to_be_bytes());
        out.extend_from_slice(&(sec.len() as u32).to_be_bytes());
        out.extend_from_slice(sec);
        out.extend_from_slice(&crc32c::crc32c(sec).to_be_bytes());
    }
    let crc = crc32c::crc32c(&toc);
    out.extend_from_slice(&toc);
    out.extend_from_slice(&crc.to_be_bytes());
    out
}

/// A parsed index over borrowed bytes (the mapped file).
pub struct IndexReader {
    sym_buf: String,
    sym_off: Vec<u32>,
    series: (usize, usize),
    base: i64,
    /// Offset of each series entry within the series section.
    offsets: Vec<u32>,
    /// Chunk ref the first chunk ref of each entry is relative to (the previous
    /// entry's last ref).
    ref_base: Vec<u64>,
    /// name → (value sym ids ascending, postings (start, len) in the postings section)
    labels: HashMap<String, Vec<(u32, u32, u32)>>,
    postings: (usize, usize),
    num_series: u32,
}

fn section(data: &[u8], off: u64, which: &str) -> Result<(usize, usize), String> {
    let off = usize::try_from(off).map_err(|_| format!("{which} offset out of range"))?;
    let mut d = Decbuf::new(
        data.get(off..)
            .ok_or_else(|| format!("{which} offset past end"))?,
    );
    let len = d.u32_be(which)? as usize;
    let body = d.bytes(len, which)?;
    let crc = d.u32_be(which)?;
    if crc32c::crc32c(body) != crc {
        return Err(format!("{which} section checksum mismatch"));
    }
    Ok((off + 4, off + 4 + len))
}

impl IndexReader {
    /// Parses and verifies `data`, naming the first problem found.
    pub fn parse(data: &[u8]) -> Result<Self, String> {
        if data.len() < 5 + TOC_LEN {
            return Err("index file too short".into());
        }
        let mut d = Decbuf::new(data);
        if d.u32_be("magic")? != INDEX_MAGIC {
            return Err("bad index magic".into());
        }
        let v = d.u8("version")?;
        if v != INDEX_VERSION {
            return Err(format!("unsupported index version {v}"));
        }
        let toc = &data[data.len() - TOC_LEN..];
        let n = SECTIONS * 8;
        let crc = u32::from_be_bytes([toc[n], toc[n + 1], toc[n + 2], toc[n + 3]]);
        if crc32c::crc32c(&toc[..n]) != crc {
            return Err("index table of contents checksum mismatch".into());
        }
        let mut td = Decbuf::new(toc);
        let mut secs = [(0usize, 0usize); SECTIONS];
        let names = [
            "symbols",
            "series",
            "series offsets",
            "label index",
            "postings",
        ];
        for (i, s) in secs.iter_mut().enumerate() {
            let off = u64::from_be_bytes(td.bytes(8, "toc")?.try_into().map_err(|_| "toc")?);
            *s = section(data, off, names[i])?;
        }
        // Symbols.
        let mut d = Decbuf::new(&data[secs[0].0..secs[0].1]);
        let n = d.uvarint("symbol count")? as usize;
        if n > d.remaining() + 1 {
            return Err("symbol count exceeds section".into());
        }
        let mut sym_buf = String::new();
        let mut sym_off = Vec::with_capacity(n + 1);
        let mut prev_start = 0usize;
        for _ in 0..n {
            let shared = d.uvarint("symbol prefix")? as usize;
            let len = d.uvarint("symbol length")? as usize;
            let suffix = d.bytes(len, "symbol")?;
            let prev_len = sym_buf.len() - prev_start;
            if shared > prev_len {
                return Err("symbol prefix longer than previous symbol".into());
            }
            let start = sym_buf.len();
            let prefix = sym_buf[prev_start..prev_start + shared].to_string();
            sym_buf.push_str(&prefix);
            sym_buf.push_str(std::str::from_utf8(suffix).map_err(|_| "symbol is not UTF-8")?);
            sym_off.push(start as u32);
            prev_start = start;
        }
        sym_off.push(sym_buf.len() as u32);
        let mut r = IndexReader {
            sym_buf,
            sym_off,
            series: secs[1],
            base: 0,
            offsets: Vec::new(),
            ref_base: Vec::new(),
            labels: HashMap::new(),
            postings: secs[3],
            num_series: 0,
        };
        // Series: find each entry's offset (and validate every entry once).
        let body = &data[secs[1].0..secs[1].1];
        let mut d = Decbuf::new(body);
        r.base = d.varint("series base time")?;
        let mut last_ref = 0u64;
        while d.remaining() > 0 {
            r.offsets.push(d.pos() as u32);
            r.ref_base.push(last_ref);
            r.num_series += 1;
            let (_, chunks) = r.decode_series(&mut d, last_ref)?;
            if let Some(c) = chunks.last() {
                last_ref = c.r;
            }
        }
        // Label index.
        let mut d = Decbuf::new(&data[secs[2].0..secs[2].1]);
        let names = d.uvarint("label name count")?;
        let mut pos = 0u32;
        let plen = (secs[3].1 - secs[3].0) as u64;
        for _ in 0..names {
            let n = d.uvarint32("label name")?;
            let name = r.symbol(n)?.to_string();
            let cnt = d.uvarint("value count")? as usize;
            if cnt > d.remaining() {
                return Err("value count exceeds section".into());
            }
            let mut vals = Vec::with_capacity(cnt);
            let mut v = 0u32;
            for _ in 0..cnt {
                v = v
                    .checked_add(d.uvarint32("value")?)
                    .ok_or("label value symbol overflow")?;
                r.symbol(v)?;
                let len = d.uvarint32("postings length")?;
                if pos as u64 + len as u64 > plen {
                    return Err("postings range past section end".into());
                }
                vals.push((v, pos, len));
                pos += len;
            }
            r.labels.insert(name, vals);
        }
        Ok(r)
    }

    /// Number of series.
    pub fn num_series(&self) -> u32 {
        self.num_series
    }

    /// The string of symbol `id`.
    pub fn symbol(&self, id: u32) -> Result<&str, String> {
        let i = id as usize;
        if i + 1 >= self.sym_off.len() {
            return Err(format!("symbol {id} out of range"));
        }
        Ok(&self.sym_buf[self.sym_off[i] as usize..self.sym_off[i + 1] as usize])
    }

    /// Decodes series `id`: labels and chunk metas.
    pub fn series(&self, data: &[u8], id: u32) -> Result<(Labels, Vec<ChunkMeta>), String> {
        let off = *self
            .offsets
            .get(id as usize)
            .ok_or_else(|| format!("series {id} out of range"))? as usize;
        let body = &data[self.series.0..self.series.1];
        let mut d = Decbuf::new(body.get(off..).ok_or("series offset past section")?);
        self.decode_series(&mut d, self.ref_base[id as usize])
    }

    fn decode_series(
        &self,
        d: &mut Decbuf<'_>,
        ref_base: u64,
    ) -> Result<(Labels, Vec<ChunkMeta>), String> {
        let n = d.uvarint("label count")? as usize;
        if n > d.remaining() {
            return Err("label count exceeds section".into());
        }
        let mut labels = Vec::with_capacity(n);
        for _ in 0..n {
            let name = self.symbol(d.uvarint32("label name")?)?;
            let value = self.symbol(d.uvarint32("label value")?)?;
            labels.push(Label::new(name, value));
        }
        let c = d.uvarint("chunk count")? as usize;
        if c > d.remaining() {
            return Err("chunk count exceeds section".into());
        }
        let mut chunks = Vec::with_capacity(c);
        let mut prev = self.base;
        let mut r = ref_base;
        for _ in 0..c {
            let mint = prev.wrapping_add(d.uvarint("chunk mint")? as i64);
            let maxt = mint.wrapping_add(d.uvarint("chunk span")? as i64);
            r = r.wrapping_add(d.uvarint("chunk ref")?);
            chunks.push(ChunkMeta { mint, maxt, r });
            prev = maxt;
        }
        Ok((Labels::from_sorted_unchecked(labels), chunks))
    }

    fn postings_at(&self, data: &[u8], start: u32, len: u32) -> Vec<u32> {
        let s = self.postings.0 + start as usize;
        let mut d = Decbuf::new(&data[s..s + len as usize]);
        let n = d.uvarint("postings count").unwrap_or(0) as usize;
        let mut out = Vec::with_capacity(n.min(len as usize));
        let mut cur = 0u32;
        for i in 0..n {
            let Ok(x) = d.uvarint32("posting") else { break };
            cur = if i == 0 { x } else { cur.saturating_add(x) };
            if cur >= self.num_series {
                break;
            }
            out.push(cur);
        }
        out
    }

    /// Label names, sorted.
    pub fn label_names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.labels.keys().cloned().collect();
        v.sort();
        v
    }

    /// Values of `name`, sorted.
    pub fn label_values(&self, name: &str) -> Vec<String> {
        self.labels
            .get(name)
            .map(|vals| {
                vals.iter()
                    .filter_map(|(v, _, _)| self.symbol(*v).ok().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A [`PostingsIndex`] view over the mapped bytes.
    pub fn view<'a>(&'a self, data: &'a [u8]) -> IndexView<'a> {
        IndexView { r: self, data }
    }
}

/// An [`IndexReader`] paired with its bytes.
pub struct IndexView<'a> {
    r: &'a IndexReader,
    data: &'a [u8],
}

impl PostingsIndex for IndexView<'_> {
    fn all_postings(&self) -> Vec<u32> {
        (0..self.r.num_series).collect()
    }

    fn postings(&self, name: &str, value: &str) -> Vec<u32> {
        let Some(vals) = self.r.labels.get(name) else {
            return Vec::new();
        };
        match vals.binary_search_by(|(v, _, _)| self.r.symbol(*v).unwrap_or("").cmp(value)) {
            Ok(i) => self.r.postings_at(self.data, vals[i].1, vals[i].2),
            Err(_) => Vec::new(),
        }
    }

    fn for_each_value(&self, name: &str, f: &mut dyn FnMut(&str)) {
        if let Some(vals) = self.r.labels.get(name) {
            for (v, _, _) in vals {
                if let Ok(s) = self.r.symbol(*v) {
                    f(s);
                }
            }
        }
    }

    fn values_with_prefix(&self, name: &str, prefix: &str) -> Vec<String> {
        let Some(vals) = self.r.labels.get(name) else {
            return Vec::new();
        };
        let sym = |v: u32| self.r.symbol(v).unwrap_or("");
        let start = vals.partition_point(|(v, _, _)| sym(*v) < prefix);
        vals[start..]
            .iter()
            .map(|(v, _, _)| sym(*v))
            .take_while(|s| s.starts_with(prefix))
            .map(str::to_string)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::postings::select;
    use sightline_model::{MatchOp, Matcher};

    fn sample_index() -> (Vec<(Labels, Vec<ChunkMeta>)>, Vec<u8>) {
        let mut series = Vec::new();
        for i in 0..50u64 {
            let l = Labels::from_pairs([
                (
                    "__name__",
                    if i % 2 == 0 { "node_cpu" } else { "node_mem" }.to_string(),
                ),
                ("instance", format!("host-{i:02}")),
                ("zone", "é-1".to_string()),
            ]);
            let chunks = (0..3)
                .map(|c| ChunkMeta {
                    mint: -1000 + (c as i64) * 100,
                    maxt: -1000 + (c as i64) * 100 + 50,
                    r: (1 << 32) + 8 + i * 300 + c * 100,
                })
                .collect();
            series.push((l, chunks));
        }
        series.sort_by(|a, b| a.0.cmp(&b.0));
        let data = build(&series);
        (series, data)
    }

    #[test]
    fn index_roundtrip_and_postings() {
        let (series, data) = sample_index();
        let r = IndexReader::parse(&data).unwrap();
        assert_eq!(r.num_series(), 50);
        for (i, (l, c)) in series.iter().enumerate() {
            assert_eq!(r.series(&data, i as u32).unwrap(), (l.clone(), c.clone()));
        }
        let v = r.view(&data);
        let ids = select(&v, &[Matcher::equal("__name__", "node_cpu")]);
        assert_eq!(ids.len(), 25);
        assert!(ids
            .iter()
            .all(|&i| series[i as usize].0.get("__name__") == Some("node_cpu")));
        let pre = Matcher::new(MatchOp::RegexMatch, "instance", "host-1.*").unwrap();
        assert_eq!(select(&v, &[pre]).len(), 10);
        assert_eq!(r.label_names(), vec!["__name__", "instance", "zone"]);
        assert_eq!(r.label_values("zone"), vec!["é-1"]);
    }

    #[test]
    fn corruption_is_detected_not_panicking() {
        let (_, data) = sample_index();
        for i in (0..data.len()).step_by(7) {
            let mut bad = data.clone();
            bad[i] ^= 0x40;
            assert!(IndexReader::parse(&bad).is_err(), "flip at {i} undetected");
        }
        assert!(IndexReader::parse(&data[..data.len() - 3]).is_err());
        assert!(IndexReader::parse(&[]).is_err());
    }
}
