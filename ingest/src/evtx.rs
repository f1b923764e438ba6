//! Windows event log files (`.evtx`): records as evtx_dump-shaped JSON
//! (`{"Event":{"System":…,"EventData":…}}`, attributes under `#attributes`, exactly as
//! `evtx_dump -o json` and PyPI `evtx` print them), parsed into events by the same
//! [`crate::parse_json_object`] as the HTTP intake, so field names are the ones a node gives
//! the same JSON.
//!
//! The reading is split in two so a caller can spread it over threads: [`EvtxFile`] reads a
//! file's chunks in record order (cheap: 64 KiB copies), and [`chunk_records`] parses one chunk
//! into its records' JSON (the work). A damaged chunk or record is reported with its number
//! and the rest is read on: nothing here panics on bad input.

use std::io::{Read, Seek};
use std::sync::Arc;

pub use evtx::ParserSettings;
use evtx::{EvtxChunkData, EvtxParser, IntoIterChunks};
use onewall_model::Event;
use serde_json::{Map, Value as Json};

use crate::parse::{ParseContext, parse_json_text};

/// The first bytes of every `.evtx` file.
pub const EVTX_MAGIC: &[u8; 8] = b"ElfFile\0";

/// Whether these first bytes of a file are an EVTX file header.
pub fn is_evtx(head: &[u8]) -> bool {
    head.starts_with(EVTX_MAGIC)
}

/// The parser settings every chunk is read with: JSON attributes under `#attributes` (as
/// evtx_dump prints them), one thread (callers parallelise by chunk).
pub fn settings() -> Arc<ParserSettings> {
    Arc::new(
        ParserSettings::new()
            .separate_json_attributes(false)
            .indent(false),
    )
}

/// A chunk of a file, read and not yet parsed; or why it could not be read.
pub struct RawChunk(Result<EvtxChunkData, String>);

impl std::fmt::Debug for RawChunk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Ok(c) => write!(f, "RawChunk({:?})", c.number),
            Err(e) => write!(f, "RawChunk(error: {e})"),
        }
    }
}

impl RawChunk {
    /// The chunk's number in the file, when it was read.
    pub fn number(&self) -> Option<u64> {
        self.0.as_ref().ok().and_then(|c| c.number)
    }
}

/// An EVTX file's chunks, in record order (oldest first, as Windows reads a log that has
/// wrapped around).
pub struct EvtxFile<R: Read + Seek> {
    chunks: IntoIterChunks<R>,
}

impl<R: Read + Seek> std::fmt::Debug for EvtxFile<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EvtxFile")
    }
}

impl<R: Read + Seek + Send + 'static> EvtxFile<R> {
    /// Open a file from its reader; fails when its header is not an EVTX header.
    pub fn open(reader: R) -> Result<Self, String> {
        let parser = EvtxParser::from_read_seek(reader).map_err(|e| e.to_string())?;
        Ok(EvtxFile {
            chunks: parser.into_chunks(),
        })
    }
}

impl<R: Read + Seek + Send + 'static> Iterator for EvtxFile<R> {
    type Item = RawChunk;

    fn next(&mut self) -> Option<RawChunk> {
        self.chunks
            .next()
            .map(|c| RawChunk(c.map_err(|e| describe(&e))))
    }
}

/// One record of a chunk: its record id and its JSON text (compact), or what was wrong
/// with it.
#[derive(Debug, Clone, PartialEq)]
pub enum EvtxRecord {
    /// A record read whole.
    Json { record_id: u64, json: String },
    /// A record that could not be read (the message names its record id when known).
    Bad(String),
}

/// Records past which a chunk's walk stops reporting errors: a chunk holds at most a few
/// hundred records, so more errors than this means the walk is lost.
const MAX_ERRORS_PER_CHUNK: usize = 64;

/// Parse one chunk into its records, in order. A chunk that could not be read or whose
/// header does not parse gives one [`EvtxRecord::Bad`] naming the chunk.
pub fn chunk_records(chunk: RawChunk, settings: &Arc<ParserSettings>) -> Vec<EvtxRecord> {
    let mut data = match chunk.0 {
        Ok(d) => d,
        Err(e) => return vec![EvtxRecord::Bad(e)],
    };
    let number = data.number;
    let mut chunk = match data.parse(Arc::clone(settings)) {
        Ok(c) => c,
        Err(e) => {
            return vec![EvtxRecord::Bad(format!(
                "chunk {}: {e}",
                number.map_or_else(|| "?".to_owned(), |n| n.to_string())
            ))];
        }
    };
    let mut out = Vec::new();
    let mut errors = 0;
    for record in chunk.iter() {
        match record.and_then(|r| r.into_json()) {
            Ok(r) => out.push(EvtxRecord::Json {
                record_id: r.event_record_id,
                json: r.data,
            }),
            Err(e) => {
                errors += 1;
                out.push(EvtxRecord::Bad(describe(&e)));
                if errors >= MAX_ERRORS_PER_CHUNK {
                    break;
                }
            }
        }
    }
    out
}

/// An error and its causes, `: `-separated (the crate's top-level messages name the chunk or
/// record, their sources say what was wrong).
fn describe(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let more = c.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        cause = c.source();
    }
    text
}

/// A record's JSON as an object, as the HTTP intake would receive it.
pub fn record_object(json: &str) -> Result<Map<String, Json>, String> {
    match serde_json::from_str::<Json>(json) {
        Ok(Json::Object(obj)) => Ok(obj),
        Ok(_) => Err("the record's JSON is not an object".to_owned()),
        Err(e) => Err(format!("the record's JSON does not parse: {e}")),
    }
}

/// A record's JSON as an event, exactly as the HTTP intake parses the same object: flattened
/// as its text is read, with no JSON object built first.
pub fn parse_record(json: &str, ctx: &ParseContext) -> Result<Event, String> {
    match parse_json_text(json, ctx) {
        Ok(Ok(event)) => Ok(event),
        Ok(Err(_)) => Err("the record's JSON is not an object".to_owned()),
        Err(e) => Err(format!("the record's JSON does not parse: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corpus(name: &str) -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(format!("../../shared/corpus/evtx/{name}"))
    }

    fn read_all(name: &str) -> (Vec<(u64, String)>, Vec<String>) {
        let file = std::fs::File::open(corpus(name)).expect("corpus file");
        let settings = settings();
        let (mut good, mut bad) = (Vec::new(), Vec::new());
        for chunk in EvtxFile::open(file).expect("an evtx file") {
            for r in chunk_records(chunk, &settings) {
                match r {
                    EvtxRecord::Json { record_id, json } => good.push((record_id, json)),
                    EvtxRecord::Bad(e) => bad.push(e),
                }
            }
        }
        (good, bad)
    }

    #[test]
    fn reads_every_record_of_a_clean_file_as_evtx_dump_json() {
        let (good, bad) = read_all("security.evtx");
        assert_eq!(good.len(), 2261);
        assert!(bad.is_empty(), "{bad:?}");
        let obj = record_object(&good[0].1).expect("an object");
        let system = &obj["Event"]["System"];
        assert!(
            system["EventID"].is_u64() || system["EventID"].is_object(),
            "{system}"
        );
        assert!(system["TimeCreated"]["#attributes"]["SystemTime"].is_string());
    }

    #[test]
    fn a_bad_chunk_is_reported_and_the_rest_read_on() {
        let (good, bad) = read_all("sample_with_a_bad_chunk_magic.evtx");
        // PyPI evtx stops at the bad chunk after 14 records; the chunks after it are read too.
        assert!(good.len() > 14, "{}", good.len());
        assert!(
            bad.iter().any(|e| e.contains("chunk")),
            "the bad chunk is named: {bad:?}"
        );
    }

    #[test]
    fn a_record_with_zero_data_size_is_reported_and_the_others_kept() {
        let (good, bad) = read_all("sample-with-zero-data-size-event.evtx");
        assert!(good.len() >= 2, "{}", good.len());
        assert!(!bad.is_empty());
    }

    #[test]
    fn not_an_evtx_file_is_refused() {
        assert!(!is_evtx(b"{\"a\":1}"));
        assert!(EvtxFile::open(std::io::Cursor::new(b"not a log".to_vec())).is_err());
    }
}
