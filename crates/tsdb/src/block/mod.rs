//! Immutable on-disk blocks: a directory named by a sortable id holding
//! `meta.json`, `chunks/NNNNNN` segment files and an `index` file. Blocks are
//! written to `<id>.tmp`, fsync'd and renamed, so a crash never leaves a partial
//! block under a valid name. Layouts: `docs/format/block.md` and `index.md`.

pub mod index;
pub mod meta;

use crate::chunk::sample_count;
use crate::encoding::put_uvarint;
use crate::error::TsdbError;
use crate::postings;
use crate::series::{ChunkSlice, Series};
use index::{ChunkMeta, IndexReader};
use memmap2::Mmap;
pub use meta::{new_ulid, BlockCompaction, BlockMeta, BlockStats};
use sightline_model::{Labels, Matcher};
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Chunk segment file magic number.
pub const CHUNKS_MAGIC: u32 = 0x5C4C_0C01;
/// Largest chunk segment file.
pub const MAX_SEGMENT_BYTES: u64 = 512 << 20;
const SEGMENT_HEADER: usize = 8;

fn sync_dir(p: &Path) -> Result<(), TsdbError> {
    File::open(p)
        .and_then(|f| f.sync_all())
        .map_err(|e| TsdbError::io("fsync directory", p, e))
}

struct ChunkWriter {
    dir: PathBuf,
    seg: u32,
    file: Option<BufWriter<File>>,
    pos: u64,
    buf: Vec<u8>,
}

impl ChunkWriter {
    fn new(dir: PathBuf) -> Self {
        ChunkWriter {
            dir,
            seg: 0,
            file: None,
            pos: 0,
            buf: Vec::new(),
        }
    }

    fn finish_segment(&mut self) -> Result<(), TsdbError> {
        if let Some(f) = self.file.take() {
            let path = self.dir.join(format!("{:06}", self.seg));
            let f = f
                .into_inner()
                .map_err(|e| TsdbError::io("write", &path, e.into_error()))?;
            f.sync_all().map_err(|e| TsdbError::io("fsync", &path, e))?;
        }
        Ok(())
    }

    fn write(&mut self, enc: u8, data: &[u8]) -> Result<u64, TsdbError> {
        self.buf.clear();
        self.buf.push(enc);
        put_uvarint(&mut self.buf, data.len() as u64);
        let need = self.buf.len() as u64 + data.len() as u64 + 4;
        if self.file.is_none() || self.pos + need > MAX_SEGMENT_BYTES {
            self.finish_segment()?;
            self.seg += 1;
            let path = self.dir.join(format!("{:06}", self.seg));
            let f = File::create(&path).map_err(|e| TsdbError::io("create", &path, e))?;
            let mut w = BufWriter::with_capacity(1 << 16, f);
            let mut hdr = [0u8; SEGMENT_HEADER];
            hdr[..4].copy_from_slice(&CHUNKS_MAGIC.to_be_bytes());
            hdr[4] = 1;
            w.write_all(&hdr)
                .map_err(|e| TsdbError::io("write", &path, e))?;
            self.file = Some(w);
            self.pos = SEGMENT_HEADER as u64;
        }
        let r = ((self.seg as u64) << 32) | self.pos;
        let mut crc = crc32c::crc32c(&self.buf[..1]);
        crc = crc32c::crc32c_append(crc, data);
        let f = self
            .file
            .as_mut()
            .ok_or_else(|| TsdbError::Config("no chunk file".into()))?;
        let path = &self.dir;
        f.write_all(&self.buf)
            .and_then(|_| f.write_all(data))
            .and_then(|_| f.write_all(&crc.to_be_bytes()))
            .map_err(|e| TsdbError::io("write chunk", path, e))?;
        self.pos += need;
        Ok(r)
    }
}

/// Writes a block holding `series` (sorted by labels, chunks in time order, all
/// within `[mint, maxt)`) under `parent`. Returns `None` when there is no series.
pub fn write_block(
    parent: &Path,
    series: impl IntoIterator<Item = (Labels, Vec<ChunkSlice>)>,
    mint: i64,
    maxt: i64,
    level: u32,
    sources: Vec<String>,
) -> Result<Option<BlockMeta>, TsdbError> {
    let ulid = new_ulid();
    let tmp = parent.join(format!("{ulid}.tmp"));
    let chunks_dir = tmp.join("chunks");
    fs::create_dir_all(&chunks_dir).map_err(|e| TsdbError::io("create", &chunks_dir, e))?;
    let result = (|| {
        let mut cw = ChunkWriter::new(chunks_dir.clone());
        let mut entries: Vec<(Labels, Vec<ChunkMeta>)> = Vec::new();
        let mut stats = BlockStats::default();
        for (labels, chunks) in series {
            if chunks.is_empty() {
                continue;
            }
            let mut metas = Vec::with_capacity(chunks.len());
            for c in &chunks {
                let r = cw.write(c.enc, c.data())?;
                stats.num_samples += sample_count(c.data()) as u64;
                metas.push(ChunkMeta {
                    mint: c.mint,
                    maxt: c.maxt,
                    r,
                });
            }
            stats.num_chunks += metas.len() as u64;
            entries.push((labels, metas));
        }
        cw.finish_segment()?;
        if entries.is_empty() {
            return Ok(None);
        }
        stats.num_series = entries.len() as u64;
        let idx = index::build(&entries);
        let ipath = tmp.join("index");
        let mut f = File::create(&ipath).map_err(|e| TsdbError::io("create", &ipath, e))?;
        f.write_all(&idx)
            .and_then(|_| f.sync_all())
            .map_err(|e| TsdbError::io("write", &ipath, e))?;
        let meta = BlockMeta {
            ulid: ulid.clone(),
            min_time: mint,
            max_time: maxt,
            stats,
            compaction: BlockCompaction {
                level,
                sources: if sources.is_empty() {
                    vec![ulid.clone()]
                } else {
                    sources
                },
            },
            version: 1,
        };
        let mpath = tmp.join("meta.json");
        let json = serde_json::to_vec_pretty(&meta)
            .map_err(|e| TsdbError::Config(format!("encode meta.json: {e}")))?;
        let mut f = File::create(&mpath).map_err(|e| TsdbError::io("create", &mpath, e))?;
        f.write_all(&json)
            .and_then(|_| f.sync_all())
            .map_err(|e| TsdbError::io("write", &mpath, e))?;
        sync_dir(&chunks_dir)?;
        sync_dir(&tmp)?;
        let dst = parent.join(&ulid);
        fs::rename(&tmp, &dst).map_err(|e| TsdbError::io("rename", &tmp, e))?;
        sync_dir(parent)?;
        Ok(Some(meta))
    })();
    if !matches!(result, Ok(Some(_))) {
        let _ = fs::remove_dir_all(&tmp);
    }
    result
}

/// An opened block.
pub struct Block {
    /// The block directory.
    pub dir: PathBuf,
    /// Its meta.json.
    pub meta: BlockMeta,
    index_map: Mmap,
    index: IndexReader,
    chunks: Vec<Arc<Mmap>>,
    size: u64,
}

fn map(path: &Path) -> Result<Mmap, TsdbError> {
    let f = File::open(path).map_err(|e| TsdbError::io("open", path, e))?;
    // SAFETY: block files are immutable once renamed into place; they are only
    // deleted (never modified) while mapped, which keeps the mapping valid.
    unsafe { Mmap::map(&f) }.map_err(|e| TsdbError::io("mmap", path, e))
}

impl Block {
    /// Opens and verifies the block in `dir`.
    pub fn open(dir: &Path) -> Result<Block, TsdbError> {
        let mpath = dir.join("meta.json");
        let raw = fs::read(&mpath).map_err(|e| TsdbError::io("read", &mpath, e))?;
        let meta: BlockMeta =
            serde_json::from_slice(&raw).map_err(|e| TsdbError::corrupt(&mpath, e.to_string()))?;
        if meta.version != 1 {
            return Err(TsdbError::corrupt(
                &mpath,
                format!("unsupported version {}", meta.version),
            ));
        }
        let ipath = dir.join("index");
        let index_map = map(&ipath)?;
        let index = IndexReader::parse(&index_map).map_err(|e| TsdbError::corrupt(&ipath, e))?;
        let mut size = raw.len() as u64 + index_map.len() as u64;
        let mut chunks = Vec::new();
        let cdir = dir.join("chunks");
        let mut names: Vec<String> = fs::read_dir(&cdir)
            .map_err(|e| TsdbError::io("read directory", &cdir, e))?
            .filter_map(|e| e.ok().and_then(|e| e.file_name().into_string().ok()))
            .collect();
        names.sort();
        for (i, n) in names.iter().enumerate() {
            let p = cdir.join(n);
            if n.parse::<u32>().ok() != Some(i as u32 + 1) {
                return Err(TsdbError::corrupt(&p, "unexpected chunk segment name"));
            }
            let m = map(&p)?;
            if m.len() < SEGMENT_HEADER || m[..4] != CHUNKS_MAGIC.to_be_bytes() {
                return Err(TsdbError::corrupt(&p, "bad chunk segment header"));
            }
            size += m.len() as u64;
            chunks.push(Arc::new(m));
        }
        Ok(Block {
            dir: dir.to_path_buf(),
            meta,
            index_map,
            index,
            chunks,
            size,
        })
    }

    /// Bytes on disk.
    pub fn size_bytes(&self) -> u64 {
        self.size
    }

    /// Bytes of the index file.
    pub fn index_bytes(&self) -> u64 {
        self.index_map.len() as u64
    }

    fn chunk(&self, c: &ChunkMeta) -> Result<ChunkSlice, String> {
        let seg = (c.r >> 32) as usize;
        let off = (c.r & 0xffff_ffff) as usize;
        let m = self
            .chunks
            .get(seg.wrapping_sub(1))
            .ok_or_else(|| format!("chunk segment {seg} missing"))?;
        let mut d = crate::encoding::Decbuf::new(m.get(off..).ok_or("chunk offset past end")?);
        let enc = d.u8("chunk encoding")?;
        let len = d.uvarint("chunk length")? as usize;
        let start = off + d.pos();
        let data = d.bytes(len, "chunk data")?;
        let crc = d.u32_be("chunk checksum")?;
        let mut want = crc32c::crc32c(&[enc]);
        want = crc32c::crc32c_append(want, data);
        if want != crc {
            return Err(format!("chunk at {seg}:{off} checksum mismatch"));
        }
        Ok(ChunkSlice::mapped(
            c.mint,
            c.maxt,
            enc,
            m.clone(),
            start,
            start + len,
        ))
    }

    /// Series matching `matchers` with chunks overlapping `[mint, maxt]`, sorted.
    pub fn select(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<Series>, TsdbError> {
        let ids = postings::select(&self.index.view(&self.index_map), matchers);
        let ipath = || self.dir.join("index");
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let (labels, metas) = self
                .index
                .series(&self.index_map, id)
                .map_err(|e| TsdbError::corrupt(ipath(), e))?;
            let in_range = |c: &&ChunkMeta| c.maxt >= mint && c.mint <= maxt;
            // Exact capacity: a select of every series holds one of these per series.
            let mut chunks = Vec::with_capacity(metas.iter().filter(in_range).count());
            for c in metas.iter().filter(in_range) {
                chunks.push(
                    self.chunk(c)
                        .map_err(|e| TsdbError::corrupt(self.dir.join("chunks"), e))?,
                );
            }
            if !chunks.is_empty() {
                out.push(Series::new(labels, chunks, mint, maxt));
            }
        }
        Ok(out)
    }

    /// Labels of matching series with a chunk overlapping `[mint, maxt]`, in label
    /// order: the series [`Block::select`] returns, without reading chunk data.
    pub fn select_labels(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<Labels>, TsdbError> {
        let ids = postings::select(&self.index.view(&self.index_map), matchers);
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let (labels, metas) = self
                .index
                .series(&self.index_map, id)
                .map_err(|e| TsdbError::corrupt(self.dir.join("index"), e))?;
            if metas.iter().any(|c| c.maxt >= mint && c.mint <= maxt) {
                out.push(labels);
            }
        }
        Ok(out)
    }

    /// Label names of matching series (all names for no matchers), sorted.
    pub fn label_names(&self, matchers: &[Matcher]) -> Result<Vec<String>, TsdbError> {
        if matchers.is_empty() {
            return Ok(self.index.label_names());
        }
        let mut names: Vec<String> = Vec::new();
        for s in self.select(matchers, i64::MIN, i64::MAX)? {
            names.extend(s.labels.iter().map(|l| l.name.clone()));
        }
        names.sort();
        names.dedup();
        Ok(names)
    }

    /// Values of `name` among matching series, sorted.
    pub fn label_values(&self, name: &str, matchers: &[Matcher]) -> Result<Vec<String>, TsdbError> {
        if matchers.is_empty() {
            return Ok(self.index.label_values(name));
        }
        let mut vals: Vec<String> = Vec::new();
        let ids = postings::select(&self.index.view(&self.index_map), matchers);
        for id in ids {
            let (labels, _) = self
                .index
                .series(&self.index_map, id)
                .map_err(|e| TsdbError::corrupt(self.dir.join("index"), e))?;
            if let Some(v) = labels.get(name) {
                vals.push(v.to_string());
            }
        }
        vals.sort();
        vals.dedup();
        Ok(vals)
    }
}
