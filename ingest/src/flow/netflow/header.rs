//! The fixed header of a NetFlow v5, v9 or IPFIX message, read before the parser sees it;
//! the walk over its sets; the parser's errors as flow errors.

use netflow_parser::NetflowError;

use crate::flow::FlowError;

/// The fixed header's length: 20 bytes for v9, 16 for IPFIX.
pub(super) fn header_len(version: u16) -> usize {
    if version == 9 { 20 } else { 16 }
}

/// Where the data sets of a v9 or IPFIX message start, when it is template and options
/// template sets (or none) followed by data sets only; `None` for anything else (a template
/// after data, a reserved set id, no data), which the parser takes whole.
pub(super) fn data_start(header: &Header, message: &[u8]) -> Option<usize> {
    let template = match header.version {
        9 => |id: u16| id <= 1,
        10 => |id: u16| id == 2 || id == 3,
        _ => return None,
    };
    let mut start = None;
    for (at, id, len) in Sets::new(message, header_len(header.version)) {
        if len < 4 {
            return None;
        }
        if id >= 256 {
            start.get_or_insert(at);
        } else if !(template(id) && start.is_none()) {
            return None;
        }
    }
    start
}

/// The fixed header fields the sequence accounting needs, read before the datagram is parsed.
#[derive(Debug, Clone, Copy)]
pub(super) struct Header {
    pub(super) version: u16,
    /// The message's length: the datagram's, or IPFIX's own length field.
    pub(super) length: usize,
    /// The export time (v5, v9 `unix_secs`; IPFIX `export_time`).
    pub(super) export_secs: u32,
    pub(super) count: u32,
    pub(super) seq: u32,
    pub(super) uptime: Option<u32>,
    pub(super) domain: u32,
}

impl Header {
    pub(super) fn peek(d: &[u8]) -> Result<Header, FlowError> {
        let u16_at = |i: usize| d.get(i..i + 2).map(|b| u16::from_be_bytes([b[0], b[1]]));
        let u32_at = |i: usize| {
            d.get(i..i + 4)
                .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        };
        let version = u16_at(0).ok_or_else(|| FlowError::Truncated {
            what: "netflow version".to_owned(),
            len: d.len(),
        })?;
        let truncated = |what: &str| FlowError::Truncated {
            what: what.to_owned(),
            len: d.len(),
        };
        match version {
            5 => Ok(Header {
                version,
                length: d.len(),
                export_secs: u32_at(8).ok_or_else(|| truncated("netflow v5 header"))?,
                count: u32::from(u16_at(2).ok_or_else(|| truncated("netflow v5 header"))?),
                uptime: Some(u32_at(4).ok_or_else(|| truncated("netflow v5 header"))?),
                seq: u32_at(16).ok_or_else(|| truncated("netflow v5 header"))?,
                domain: 0,
            }),
            9 => Ok(Header {
                version,
                length: d.len(),
                export_secs: u32_at(8).ok_or_else(|| truncated("netflow v9 header"))?,
                count: u32::from(u16_at(2).ok_or_else(|| truncated("netflow v9 header"))?),
                uptime: Some(u32_at(4).ok_or_else(|| truncated("netflow v9 header"))?),
                seq: u32_at(12).ok_or_else(|| truncated("netflow v9 header"))?,
                domain: u32_at(16).ok_or_else(|| truncated("netflow v9 header"))?,
            })
            .and_then(|h| check_sets(d, 20, "netflow v9 flowset").map(|()| h)),
            10 => {
                let length = usize::from(u16_at(2).unwrap_or(0));
                let header = Header {
                    version,
                    length,
                    export_secs: u32_at(4).ok_or_else(|| truncated("ipfix header"))?,
                    count: 0,
                    uptime: None,
                    seq: u32_at(8).ok_or_else(|| truncated("ipfix header"))?,
                    domain: u32_at(12).ok_or_else(|| truncated("ipfix header"))?,
                };
                if length > d.len() {
                    return Err(truncated(&format!("ipfix message of {length} bytes")));
                }
                if length < 16 {
                    return Err(FlowError::Malformed(format!(
                        "ipfix message length {length} is shorter than its header"
                    )));
                }
                check_sets(&d[..length], 16, "ipfix set")?;
                Ok(header)
            }
            v => Err(FlowError::UnsupportedVersion(v)),
        }
    }
}

/// The set headers (IPFIX sets, v9 flowsets) of a message from an offset: `(offset, id,
/// announced length)` while a 4-byte header fits. A set announcing less than its own header
/// is the last one given (the walk cannot go on from it); whether a set ends inside the
/// message is for the caller to check.
pub(in crate::flow) struct Sets<'a> {
    message: &'a [u8],
    at: usize,
}

impl<'a> Sets<'a> {
    pub(in crate::flow) fn new(message: &'a [u8], at: usize) -> Self {
        Sets { message, at }
    }
}

impl Iterator for Sets<'_> {
    type Item = (usize, u16, usize);

    fn next(&mut self) -> Option<Self::Item> {
        let (m, at) = (self.message, self.at);
        let h = m.get(at..at.checked_add(4)?)?;
        let id = u16::from_be_bytes([h[0], h[1]]);
        let len = usize::from(u16::from_be_bytes([h[2], h[3]]));
        self.at = if len < 4 { m.len() } else { at + len };
        Some((at, id, len))
    }
}

/// Walk the sets (IPFIX) or flowsets (v9) from `at`: each must announce at least its own
/// 4-byte header and end inside the message. The parser skips such sets silently; here they
/// are an error the datagram is kept with.
pub(super) fn check_sets(msg: &[u8], at: usize, what: &str) -> Result<(), FlowError> {
    for (at, id, len) in Sets::new(msg, at) {
        if len < 4 || at + len > msg.len() {
            return Err(FlowError::Malformed(format!(
                "{what} {id} at offset {at} announces {len} bytes; the message has {} after it",
                msg.len() - at
            )));
        }
    }
    Ok(())
}

/// The kind of a parser error, for the metric and the event's error text.
pub(super) fn classify(e: &NetflowError) -> FlowError {
    match e {
        NetflowError::Incomplete { available, context } => FlowError::Truncated {
            what: context.clone(),
            len: *available,
        },
        NetflowError::UnsupportedVersion { version, .. } => FlowError::UnsupportedVersion(*version),
        NetflowError::FilteredVersion { version } => FlowError::UnsupportedVersion(*version),
        NetflowError::DecodedOutputLimitExceeded { .. } => FlowError::TooLarge(e.to_string()),
        other => FlowError::Malformed(other.to_string()),
    }
}
