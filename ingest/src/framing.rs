//! RFC 6587 framing of syslog over TCP, as an incremental decoder. Pure: no I/O.
//!
//! Each frame decides for itself: one that starts with a digit 1-9 is octet-counted
//! (`LEN SP MSG`, as `logger --octet-count` and rsyslog send it), anything else runs to the next
//! LF. Frames may follow each other with no LF between them, and a lone LF between frames (which
//! rsyslog adds after octet-counted frames) is skipped, as are empty lines.

use bytes::{Buf, Bytes, BytesMut};
use memchr::memchr;

use crate::error::FrameError;

/// The default largest frame, in bytes.
pub const DEFAULT_MAX_FRAME_LEN: usize = 64 * 1024;

/// Octet counts longer than this many digits are not counts.
const MAX_COUNT_DIGITS: usize = 10;

/// Splits a TCP byte stream into syslog frames. Feed it the connection's buffer after each read;
/// it takes complete frames off the front and leaves a partial one in place.
#[derive(Debug, Clone)]
pub struct FrameDecoder {
    max_len: usize,
    state: State,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// At a frame boundary.
    Start,
    /// Inside an LF-terminated frame; the buffer's first `scanned` bytes hold no LF.
    Lf { scanned: usize },
    /// Throwing away an oversize LF-terminated frame, up to its LF.
    DiscardLine,
    /// Throwing away the rest of an octet-counted frame above the maximum.
    Skip { remaining: usize },
    /// The stream ended inside an octet-counted frame: the buffer holds what arrived of it,
    /// to be delivered after the [`FrameError::Truncated`] that announced it.
    Cut,
}

enum Header {
    Incomplete,
    Bad,
    Count { count: usize, header_len: usize },
}

impl FrameDecoder {
    /// A decoder that accepts frames of up to `max_len` bytes.
    pub fn new(max_len: usize) -> Self {
        FrameDecoder {
            max_len: max_len.max(1),
            state: State::Start,
        }
    }

    /// The next complete frame (without its length header or LF), a recovered error, or `None`
    /// when `buf` holds no complete frame yet. Call until it returns `None`.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Option<Result<Bytes, FrameError>> {
        loop {
            match self.state {
                State::Start => {
                    let blank = buf.iter().take_while(|&&b| b == b'\n').count();
                    buf.advance(blank);
                    let first = *buf.first()?;
                    if !(b'1'..=b'9').contains(&first) {
                        self.state = State::Lf { scanned: 0 };
                        continue;
                    }
                    match octet_header(buf) {
                        Header::Incomplete => return None,
                        Header::Bad => {
                            let shown = buf.len().min(MAX_COUNT_DIGITS + 2);
                            let prefix = String::from_utf8_lossy(&buf[..shown]).into_owned();
                            self.state = State::Lf { scanned: 0 };
                            return Some(Err(FrameError::BadOctetCount { prefix }));
                        }
                        Header::Count { count, header_len } => {
                            if count > self.max_len {
                                buf.advance(header_len);
                                self.state = State::Skip { remaining: count };
                                return Some(Err(FrameError::OctetCountTooLarge {
                                    count,
                                    max: self.max_len,
                                }));
                            }
                            if buf.len() < header_len + count {
                                buf.reserve(header_len + count - buf.len());
                                return None;
                            }
                            buf.advance(header_len);
                            return Some(Ok(buf.split_to(count).freeze()));
                        }
                    }
                }
                State::Lf { scanned } => match memchr(b'\n', &buf[scanned..]) {
                    Some(pos) => {
                        let end = scanned + pos;
                        let mut line = buf.split_to(end + 1).freeze();
                        line.truncate(end);
                        self.state = State::Start;
                        if line.len() > self.max_len {
                            return Some(Err(FrameError::LineTooLong { max: self.max_len }));
                        }
                        if is_blank(&line) {
                            continue;
                        }
                        return Some(Ok(line));
                    }
                    None => {
                        if buf.len() > self.max_len {
                            buf.clear();
                            self.state = State::DiscardLine;
                            return Some(Err(FrameError::LineTooLong { max: self.max_len }));
                        }
                        self.state = State::Lf { scanned: buf.len() };
                        return None;
                    }
                },
                State::DiscardLine => match memchr(b'\n', buf) {
                    Some(pos) => {
                        buf.advance(pos + 1);
                        self.state = State::Start;
                    }
                    None => {
                        buf.clear();
                        return None;
                    }
                },
                State::Skip { remaining } => {
                    let n = remaining.min(buf.len());
                    buf.advance(n);
                    if n < remaining {
                        self.state = State::Skip {
                            remaining: remaining - n,
                        };
                        return None;
                    }
                    self.state = State::Start;
                }
                // Only after the end of the stream; `decode_eof` delivers it.
                State::Cut => return None,
            }
        }
    }

    /// Like [`FrameDecoder::decode`], at the end of the stream: a trailing frame with no LF is
    /// still delivered, and an octet-counted frame cut short is announced with
    /// [`FrameError::Truncated`] and then delivered as it came. Call until it returns `None`.
    pub fn decode_eof(&mut self, buf: &mut BytesMut) -> Option<Result<Bytes, FrameError>> {
        if self.state == State::Cut {
            self.state = State::Start;
            let rest = buf.split().freeze();
            return (!rest.is_empty()).then_some(Ok(rest));
        }
        if let Some(item) = self.decode(buf) {
            return Some(item);
        }
        let state = std::mem::replace(&mut self.state, State::Start);
        if buf.is_empty() {
            return None;
        }
        let rest = buf.split().freeze();
        match state {
            State::DiscardLine | State::Skip { .. } | State::Cut => None,
            State::Lf { .. } => (!is_blank(&rest)).then_some(Ok(rest)),
            State::Start => match octet_header(&rest) {
                Header::Count { count, header_len } => {
                    buf.extend_from_slice(&rest[header_len..]);
                    self.state = State::Cut;
                    Some(Err(FrameError::Truncated {
                        count,
                        got: rest.len() - header_len,
                    }))
                }
                // Digits alone: a short line like any other, kept unless over the maximum.
                Header::Incomplete | Header::Bad if rest.len() > self.max_len => {
                    Some(Err(FrameError::LineTooLong { max: self.max_len }))
                }
                Header::Incomplete | Header::Bad => Some(Ok(rest)),
            },
        }
    }
}

impl Default for FrameDecoder {
    fn default() -> Self {
        FrameDecoder::new(DEFAULT_MAX_FRAME_LEN)
    }
}

fn is_blank(frame: &[u8]) -> bool {
    frame.iter().all(|&b| matches!(b, b'\r' | b'\0'))
}

/// `LEN SP` at the start of `buf`, which begins with a digit 1-9.
fn octet_header(buf: &[u8]) -> Header {
    let digits = buf.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits > MAX_COUNT_DIGITS {
        return Header::Bad;
    }
    match buf.get(digits) {
        None => Header::Incomplete,
        Some(b' ') => Header::Count {
            count: buf[..digits]
                .iter()
                .fold(0usize, |acc, b| acc * 10 + usize::from(b - b'0')),
            header_len: digits + 1,
        },
        Some(_) => Header::Bad,
    }
}

#[cfg(test)]
mod tests;
