//! The spool's files: segment names, the record header, reading records back, the
//! `committed` file.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::codec::{self, crc32c};
use super::{SpoolError, Spooled};

/// Bytes before a record's payload.
pub const HEADER: usize = 24;
/// Largest payload a reader accepts (a guard against a damaged length).
const MAX_PAYLOAD: u32 = 1 << 30;

pub fn segment_path(dir: &Path, first: u64) -> PathBuf {
    dir.join(format!("{first:020}.seg"))
}

/// A record's header: written by [`Record::frame`], read by `Record::parse`.
#[derive(Debug, Clone, Copy)]
pub struct Record;

impl Record {
    /// Fill the header at the front of `record` (its first [`HEADER`] bytes, the payload
    /// after them, whose checksum is `payload_crc`).
    pub fn frame(first_seq: u64, count: u32, payload_crc: u32, record: &mut [u8]) {
        let len = record.len().saturating_sub(HEADER);
        let mut h = [0u8; HEADER];
        h[0..4].copy_from_slice(&(len as u32).to_le_bytes());
        h[4..8].copy_from_slice(&count.to_le_bytes());
        h[8..16].copy_from_slice(&first_seq.to_le_bytes());
        h[16..20].copy_from_slice(&payload_crc.to_le_bytes());
        let hc = crc32c(&h[0..20]);
        h[20..24].copy_from_slice(&hc.to_le_bytes());
        if let Some(front) = record.get_mut(..HEADER) {
            front.copy_from_slice(&h);
        }
    }

    /// (payload length, count, first sequence number, payload checksum), or `None` when the
    /// header's own checksum fails.
    fn parse(h: &[u8; HEADER]) -> Option<(u32, u32, u64, u32)> {
        let u32_at = |i: usize| u32::from_le_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
        if crc32c(&h[0..20]) != u32_at(20) {
            return None;
        }
        let mut seq = [0u8; 8];
        seq.copy_from_slice(&h[8..16]);
        Some((u32_at(0), u32_at(4), u64::from_le_bytes(seq), u32_at(16)))
    }
}

/// Write a framed record (header and payload, see [`Record::frame`]) with one system call.
pub fn write_record(file: &mut File, record: &[u8]) -> std::io::Result<()> {
    file.write_all(record)
}

pub fn open_append(dir: &Path, first: u64) -> Result<File, SpoolError> {
    let path = segment_path(dir, first);
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| SpoolError::io(&path, "opening for append", e))
}

/// The segment files in `dir` and their sizes.
pub fn list_segments(dir: &Path) -> Result<BTreeMap<u64, u64>, SpoolError> {
    let mut out = BTreeMap::new();
    let entries = std::fs::read_dir(dir).map_err(|e| SpoolError::io(dir, "listing", e))?;
    for entry in entries {
        let entry = entry.map_err(|e| SpoolError::io(dir, "listing", e))?;
        let name = entry.file_name();
        let Some(first) = name
            .to_str()
            .and_then(|n| n.strip_suffix(".seg"))
            .and_then(|n| n.parse::<u64>().ok())
        else {
            continue;
        };
        let len = entry
            .metadata()
            .map_err(|e| SpoolError::io(&entry.path(), "reading size", e))?
            .len();
        out.insert(first, len);
    }
    Ok(out)
}

/// Read the last segment to its last whole record, cut anything after it (a write a crash
/// interrupted), and return (its length, the sequence number after its last event).
pub fn recover_tail(dir: &Path, first: u64) -> Result<(u64, u64), SpoolError> {
    let path = segment_path(dir, first);
    let len = std::fs::metadata(&path)
        .map_err(|e| SpoolError::io(&path, "reading size", e))?
        .len();
    let mut r = SegmentReader::open(dir, first, 0)?;
    let mut next = first;
    loop {
        let at = r.offset();
        match r.next_header(len) {
            Ok(Some((plen, count, seq, pcrc))) => {
                let mut payload = vec![0u8; plen as usize];
                if r.read_exact(&mut payload).is_err() || crc32c(&payload) != pcrc {
                    truncate(&path, at, len)?;
                    return Ok((at, next));
                }
                next = seq + u64::from(count);
            }
            Ok(None) | Err(_) => {
                if at < len {
                    truncate(&path, at, len)?;
                }
                return Ok((at, next));
            }
        }
    }
}

fn truncate(path: &Path, at: u64, len: u64) -> Result<(), SpoolError> {
    tracing::warn!(path = %path.display(), at, cut = len - at,
        "spool: the last segment ends in a partial record (an interrupted write); cutting it");
    let f = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| SpoolError::io(path, "opening to truncate", e))?;
    f.set_len(at)
        .map_err(|e| SpoolError::io(path, "truncating", e))
}

/// Delete the segments whose every event is before `committed`: those followed by a segment
/// starting at or before it. `keep` (the active segment) is never deleted.
pub fn delete_committed(
    dir: &Path,
    segments: &mut BTreeMap<u64, u64>,
    committed: u64,
    keep: Option<u64>,
) {
    let firsts: Vec<u64> = segments.keys().copied().collect();
    for pair in firsts.windows(2) {
        let (this, next) = (pair[0], pair[1]);
        if next <= committed && Some(this) != keep {
            let path = segment_path(dir, this);
            match std::fs::remove_file(&path) {
                Ok(()) => {
                    segments.remove(&this);
                }
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "spool: cannot delete a committed segment")
                }
            }
        }
    }
}

const COMMITTED: &str = "committed";

/// The committed sequence number, 0 when none was written.
pub fn read_committed(dir: &Path) -> Result<u64, SpoolError> {
    let path = dir.join(COMMITTED);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(SpoolError::io(&path, "reading", e)),
    };
    if bytes.len() == 12 && crc32c(&bytes[..8]).to_le_bytes() == bytes[8..12] {
        let mut seq = [0u8; 8];
        seq.copy_from_slice(&bytes[..8]);
        Ok(u64::from_le_bytes(seq))
    } else {
        // Replaying from the start is safe (the store ignores ids it holds); losing is not.
        tracing::warn!(path = %path.display(), "spool: committed file is damaged; replaying every segment");
        Ok(0)
    }
}

/// Write the committed sequence number (to a new file renamed over the old one).
pub fn write_committed(dir: &Path, seq: u64) -> Result<(), SpoolError> {
    let path = dir.join(COMMITTED);
    let tmp = dir.join("committed.tmp");
    let mut buf = seq.to_le_bytes().to_vec();
    buf.extend_from_slice(&crc32c(&seq.to_le_bytes()).to_le_bytes());
    std::fs::write(&tmp, &buf).map_err(|e| SpoolError::io(&tmp, "writing", e))?;
    std::fs::rename(&tmp, &path).map_err(|e| SpoolError::io(&path, "renaming", e))
}

/// Reads records of one segment from an offset.
#[derive(Debug)]
pub struct SegmentReader {
    file: std::io::BufReader<File>,
    segment: u64,
    offset: u64,
}

/// Why a record could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("reading: {0}")]
    Io(#[from] std::io::Error),
    #[error("header checksum mismatch")]
    Header,
    #[error("payload checksum mismatch")]
    Payload,
    #[error("payload: {0}")]
    Decode(#[from] codec::DecodeError),
}

impl SegmentReader {
    pub fn open(dir: &Path, segment: u64, offset: u64) -> Result<SegmentReader, SpoolError> {
        let path = segment_path(dir, segment);
        let mut f = File::open(&path).map_err(|e| SpoolError::io(&path, "opening", e))?;
        f.seek(SeekFrom::Start(offset))
            .map_err(|e| SpoolError::io(&path, "seeking", e))?;
        Ok(SegmentReader {
            file: std::io::BufReader::with_capacity(1 << 20, f),
            segment,
            offset,
        })
    }

    pub fn segment(&self) -> u64 {
        self.segment
    }

    pub fn offset(&self) -> u64 {
        self.offset
    }

    fn read_exact(&mut self, buf: &mut [u8]) -> std::io::Result<()> {
        self.file.read_exact(buf)?;
        self.offset += buf.len() as u64;
        Ok(())
    }

    /// The next header if a whole one lies before `end`; `Ok(None)` at `end`.
    fn next_header(&mut self, end: u64) -> Result<Option<(u32, u32, u64, u32)>, ReadError> {
        if self.offset + HEADER as u64 > end {
            return Ok(None);
        }
        let mut h = [0u8; HEADER];
        self.read_exact(&mut h)?;
        let parsed = Record::parse(&h).ok_or(ReadError::Header)?;
        if parsed.0 > MAX_PAYLOAD || self.offset + u64::from(parsed.0) > end {
            return Err(ReadError::Header);
        }
        Ok(Some(parsed))
    }

    /// The next whole record before `end`, decoded; `Ok(None)` at `end`.
    pub fn next_record(&mut self, end: u64) -> Result<Option<Spooled>, ReadError> {
        let Some((plen, count, first_seq, pcrc)) = self.next_header(end)? else {
            return Ok(None);
        };
        let mut payload = vec![0u8; plen as usize];
        self.read_exact(&mut payload)?;
        if crc32c(&payload) != pcrc {
            return Err(ReadError::Payload);
        }
        let events = codec::decode_all(&payload, count as usize)?;
        Ok(Some(Spooled { first_seq, events }))
    }
}
