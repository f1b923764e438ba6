//! Reading one input into units of work, by its content: EVTX (one unit per chunk), JSON
//! (objects, arrays, NDJSON, pretty-printed: split into records without parsing them), gzip
//! (by its magic bytes, around any of these) and text lines (syslog) otherwise. Units are
//! parsed on the worker threads; reading stays streaming, so memory does not grow with the
//! file (a gzipped EVTX file is the exception: it is unpacked in memory, as EVTX needs to
//! seek).

use std::io::{BufRead, BufReader, Read, Seek};
use std::path::PathBuf;

use onewall_ingest::evtx::{EvtxFile, RawChunk, is_evtx};

/// What can be read. (An upload endpoint would add bytes held in memory or a spooled file.)
#[derive(Debug)]
pub enum Input {
    Path(PathBuf),
}

impl Input {
    /// How hits and errors name it.
    pub fn name(&self) -> String {
        match self {
            Input::Path(p) => p.display().to_string(),
        }
    }

    fn open(&self) -> std::io::Result<Box<dyn Source>> {
        Ok(match self {
            Input::Path(p) => Box::new(std::fs::File::open(p)?),
        })
    }
}

/// A readable, seekable input.
pub trait Source: Read + Seek + Send {}
impl<T: Read + Seek + Send> Source for T {}

/// What a unit holds for the workers to parse.
#[derive(Debug)]
pub enum Work {
    /// One EVTX chunk.
    Evtx(Box<RawChunk>),
    /// JSON records, each with the line it starts on.
    Json(Vec<(usize, Vec<u8>)>),
    /// Text lines (syslog, or a JSON object on a line of its own), each with its line number.
    Lines(Vec<(usize, Vec<u8>)>),
}

/// The kind of content an input was found to hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Evtx,
    Json,
    Lines,
}

/// Records per unit of JSON or text.
const RECORDS_PER_UNIT: usize = 1024;
/// A JSON record larger than this stops the file: it is not JSON records, or not ours to read.
const MAX_RECORD: usize = 64 << 20;

/// Read `input`, handing each unit to `send` in order; `send` returning false stops the
/// reading. Fails when the input cannot be opened or read.
pub fn read(input: &Input, send: &mut dyn FnMut(Work) -> bool) -> Result<Kind, String> {
    let file = input.open().map_err(|e| format!("cannot open: {e}"))?;
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let head = reader.fill_buf().map_err(|e| format!("cannot read: {e}"))?;
    if head.starts_with(&[0x1f, 0x8b]) {
        let gz = flate2::bufread::MultiGzDecoder::new(reader);
        let mut inner = BufReader::with_capacity(1 << 16, gz);
        let head = inner
            .fill_buf()
            .map_err(|e| format!("cannot unpack gzip: {e}"))?;
        if is_evtx(head) {
            let mut bytes = Vec::new();
            inner
                .read_to_end(&mut bytes)
                .map_err(|e| format!("cannot unpack gzip: {e}"))?;
            return read_evtx(Box::new(std::io::Cursor::new(bytes)), send);
        }
        return read_text(&mut inner, send);
    }
    if is_evtx(head) {
        let mut file = reader.into_inner();
        file.rewind().map_err(|e| format!("cannot read: {e}"))?;
        return read_evtx(file, send);
    }
    read_text(&mut reader, send)
}

fn read_evtx(file: Box<dyn Source>, send: &mut dyn FnMut(Work) -> bool) -> Result<Kind, String> {
    let chunks = EvtxFile::open(file).map_err(|e| format!("not a readable EVTX file: {e}"))?;
    for chunk in chunks {
        if !send(Work::Evtx(Box::new(chunk))) {
            break;
        }
    }
    Ok(Kind::Evtx)
}

/// JSON when the first character is `{` or `[` (after a byte order mark), else lines.
fn read_text(r: &mut dyn BufRead, send: &mut dyn FnMut(Work) -> bool) -> Result<Kind, String> {
    let head = r.fill_buf().map_err(|e| format!("cannot read: {e}"))?;
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let first = head.iter().find(|b| !b.is_ascii_whitespace());
    if matches!(first, Some(b'{' | b'[')) {
        let mut split = JsonSplitter::new(r);
        let mut unit = Vec::new();
        while let Some(record) = split.next_record()? {
            unit.push(record);
            if unit.len() == RECORDS_PER_UNIT && !send(Work::Json(std::mem::take(&mut unit))) {
                return Ok(Kind::Json);
            }
        }
        if !unit.is_empty() {
            send(Work::Json(unit));
        }
        return Ok(Kind::Json);
    }
    let mut unit = Vec::new();
    let mut line_no = 0;
    loop {
        let mut line = Vec::new();
        let n = r
            .read_until(b'\n', &mut line)
            .map_err(|e| format!("cannot read line {}: {e}", line_no + 1))?;
        if n == 0 {
            break;
        }
        line_no += 1;
        while matches!(line.last(), Some(b'\n' | b'\r')) {
            line.pop();
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        unit.push((line_no, line));
        if unit.len() == RECORDS_PER_UNIT && !send(Work::Lines(std::mem::take(&mut unit))) {
            return Ok(Kind::Lines);
        }
    }
    if !unit.is_empty() {
        send(Work::Lines(unit));
    }
    Ok(Kind::Lines)
}

/// Splits a stream of JSON into records without parsing them: top-level values one after
/// another (NDJSON, pretty-printed, concatenated), and the elements of a top-level array.
/// It follows strings and nesting only, so a record is found in one pass over its bytes;
/// whether it is valid JSON is for the parser to say.
struct JsonSplitter<'a> {
    r: &'a mut dyn BufRead,
    line: usize,
    /// Inside a top-level array.
    in_array: bool,
}

impl<'a> JsonSplitter<'a> {
    fn new(r: &'a mut dyn BufRead) -> Self {
        JsonSplitter {
            r,
            line: 1,
            in_array: false,
        }
    }

    /// Skip what lies between records; the next byte, not consumed, or `None` at the end.
    fn skip_between(&mut self) -> Result<Option<u8>, String> {
        loop {
            let buf = self
                .r
                .fill_buf()
                .map_err(|e| format!("cannot read line {}: {e}", self.line))?;
            if buf.is_empty() {
                return Ok(None);
            }
            let mut used = 0;
            let mut found = None;
            for &b in buf {
                match b {
                    b'\n' => self.line += 1,
                    b' ' | b'\t' | b'\r' => {}
                    // A byte order mark (EF BB BF) at the start.
                    0xEF | 0xBB | 0xBF if !self.in_array => {}
                    b',' if self.in_array => {}
                    b'[' if !self.in_array => self.in_array = true,
                    b']' if self.in_array => self.in_array = false,
                    _ => {
                        found = Some(b);
                        break;
                    }
                }
                used += 1;
            }
            self.r.consume(used);
            if found.is_some() {
                return Ok(found);
            }
        }
    }

    /// The next record and the line it starts on.
    fn next_record(&mut self) -> Result<Option<(usize, Vec<u8>)>, String> {
        if self.skip_between()?.is_none() {
            return Ok(None);
        }
        let start = self.line;
        let mut out = Vec::new();
        let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
        loop {
            let buf = self
                .r
                .fill_buf()
                .map_err(|e| format!("cannot read line {}: {e}", self.line))?;
            if buf.is_empty() {
                // Cut short: the parser will say what is wrong with it.
                return Ok(Some((start, out)));
            }
            let mut used = 0;
            let mut done = false;
            for &b in buf {
                used += 1;
                if in_string {
                    out.push(b);
                    match (escaped, b) {
                        (true, _) => escaped = false,
                        (false, b'\\') => escaped = true,
                        (false, b'"') => in_string = false,
                        _ => {}
                    }
                    if b == b'\n' {
                        self.line += 1;
                    }
                    continue;
                }
                match b {
                    b'"' => in_string = true,
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => depth = depth.saturating_sub(1),
                    b'\n' => self.line += 1,
                    _ => {}
                }
                // A scalar at the top ends at whitespace or a comma; an object at its close.
                let scalar_end = depth == 0
                    && matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b',')
                    && !out.is_empty();
                if scalar_end {
                    used -= 1;
                    if b == b'\n' {
                        self.line -= 1;
                    }
                    done = true;
                    break;
                }
                out.push(b);
                if depth == 0 && matches!(b, b'}' | b']') {
                    done = true;
                    break;
                }
            }
            self.r.consume(used);
            if done {
                return Ok(Some((start, out)));
            }
            if out.len() > MAX_RECORD {
                return Err(format!(
                    "the JSON record starting on line {start} is longer than {} MiB",
                    MAX_RECORD >> 20
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(text: &str) -> Vec<(usize, String)> {
        let mut r = std::io::Cursor::new(text.as_bytes().to_vec());
        let mut s = JsonSplitter::new(&mut r);
        let mut out = Vec::new();
        while let Some((line, rec)) = s.next_record().expect("reads") {
            out.push((line, String::from_utf8(rec).expect("utf-8")));
        }
        out
    }

    #[test]
    fn splits_ndjson_arrays_and_pretty_printed_objects() {
        assert_eq!(
            split("{\"a\":1}\n{\"b\":\"}\\\"{\"}\n"),
            [(1, "{\"a\":1}".into()), (2, "{\"b\":\"}\\\"{\"}".into())]
        );
        assert_eq!(
            split("[\n  {\"a\": [1, 2]},\n  {\"b\": {}}\n]\n"),
            [(2, "{\"a\": [1, 2]}".into()), (3, "{\"b\": {}}".into())]
        );
        assert_eq!(
            split("{\n  \"a\": 1\n}\n{\n  \"b\": 2\n}"),
            [
                (1, "{\n  \"a\": 1\n}".into()),
                (4, "{\n  \"b\": 2\n}".into())
            ]
        );
    }

    #[test]
    fn a_scalar_or_a_truncated_record_is_a_record_for_the_parser_to_refuse() {
        assert_eq!(
            split("{\"a\":1}\n42\n{\"b\""),
            [
                (1, "{\"a\":1}".into()),
                (2, "42".into()),
                (3, "{\"b\"".into())
            ]
        );
    }
}
