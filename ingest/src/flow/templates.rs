//! The data templates `netflow_parser` has reported, kept beside it so that a datagram made
//! only of data sets with known templates (an exporter's steady state) is decoded straight from
//! its bytes into events, without the parser's vector of field values per record.
//!
//! The parser stays the authority on templates: every datagram with a template or options
//! template set, a data set whose template is not known here (it may be pending in the
//! parser), or an unknown set goes through it, and what it reports is learned here. Templates
//! are kept per export stream (exporter address, protocol version and source id or
//! observation domain), expire after the same time-to-live as the parser's, follow IPFIX
//! withdrawals, and are forgotten with the exporter when it starts over. A field is decoded by
//! the parser's own [`FieldValue::from_field_type`] (numbers and addresses by a shortcut that
//! gives the same values), so both paths give the same events.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use netflow_parser::{FieldDataType, FieldValue};
use onewall_model::FieldId;

use super::netflow::header::Sets;

/// One field of a data template, with what the decoder needs to read and place it.
#[derive(Debug, Clone, Copy)]
pub(super) struct KnownField {
    pub data_type: FieldDataType,
    /// Its length in bytes; 65535 for an IPFIX variable-length field.
    pub length: u16,
    /// The event field its value goes to (`netflow.<element>`), when it has a name.
    pub id: Option<FieldId>,
    /// The IANA element number the normalised record reads it by; 0 when it does not.
    pub element: u16,
}

/// A data template.
#[derive(Debug)]
pub(super) struct KnownTemplate {
    pub fields: Arc<[KnownField]>,
    /// The fewest bytes a record takes (a variable-length field counts one).
    pub min_len: usize,
    /// No two fields go to the same event field.
    pub distinct: bool,
    learned: Instant,
}

/// The most records the parser reads from one data set (`netflow_parser`'s
/// `DEFAULT_MAX_RECORDS_PER_FLOWSET`); the rest of the set is ignored, there as here.
pub(super) const MAX_RECORDS_PER_SET: usize = 1024;

/// The most field values the parser decodes from one message
/// (`DEFAULT_MAX_DECODED_FIELD_VALUES_PER_MESSAGE`); past it the message is an error. A
/// message that could reach it goes to the parser, which reports it.
const MAX_VALUES_PER_MESSAGE: usize = 65_536;

/// An export stream: exporter, protocol version (9 or 10) and source id or observation domain.
type Stream = (SocketAddr, u16, u32);

/// The data templates of every stream.
#[derive(Debug)]
pub(super) struct KnownTemplates {
    streams: HashMap<Stream, HashMap<u16, KnownTemplate>>,
    ttl: Option<Duration>,
    max_streams: usize,
}

impl KnownTemplates {
    pub fn new(ttl: Option<Duration>, max_streams: usize) -> Self {
        KnownTemplates {
            streams: HashMap::new(),
            ttl,
            max_streams: max_streams.max(1),
        }
    }

    /// Remember template `id` of `stream` as the parser reported it. A template with no
    /// fields, or one the decoder could not size, is forgotten instead.
    pub fn learn(&mut self, stream: Stream, id: u16, fields: Vec<KnownField>) {
        let fixed = fields.iter().all(|f| f.length != 65535);
        if fields.is_empty() || (stream.1 == 9 && !fixed) {
            self.forget(stream, id);
            return;
        }
        let min_len = fields
            .iter()
            .map(|f| {
                if f.length == 65535 {
                    1
                } else {
                    usize::from(f.length)
                }
            })
            .sum::<usize>();
        if min_len == 0 {
            self.forget(stream, id);
            return;
        }
        let mut ids: Vec<FieldId> = fields.iter().filter_map(|f| f.id).collect();
        let named = ids.len();
        ids.sort_unstable_by_key(|id| id.index());
        ids.dedup();
        let distinct = ids.len() == named;
        if !self.streams.contains_key(&stream) && self.streams.len() >= self.max_streams {
            // More streams than the parser keeps: start over rather than track what it has
            // evicted. Their next datagrams go through the parser and are learned again.
            self.streams.clear();
        }
        self.streams.entry(stream).or_default().insert(
            id,
            KnownTemplate {
                fields: fields.into(),
                min_len,
                distinct,
                learned: Instant::now(),
            },
        );
    }

    /// Forget template `id` of `stream` (withdrawn, or its id now names an options template).
    pub fn forget(&mut self, stream: Stream, id: u16) {
        if let Some(t) = self.streams.get_mut(&stream) {
            t.remove(&id);
        }
    }

    /// Forget every template of `stream` (an IPFIX withdrawal of all templates, or the
    /// exporter started over).
    pub fn forget_stream(&mut self, stream: Stream) {
        self.streams.remove(&stream);
    }

    /// The live template `id` of `stream`.
    pub fn get(&self, stream: Stream, id: u16) -> Option<&KnownTemplate> {
        let t = self.streams.get(&stream)?.get(&id)?;
        match self.ttl {
            Some(ttl) if t.learned.elapsed() >= ttl => None,
            _ => Some(t),
        }
    }

    /// Whether every set of `message` from offset `at` is a data set with a live template of
    /// `stream`, and the message cannot reach the parser's limit of decoded values. The sets
    /// were checked to lie inside the message ([`super::netflow`]'s `check_sets`); anything
    /// else (a template, options or reserved set, an unknown template) answers `false` and the
    /// datagram goes to the parser.
    pub fn covers(&self, stream: Stream, message: &[u8], at: usize) -> bool {
        if !self.streams.contains_key(&stream) {
            return false;
        }
        let mut any = false;
        let mut values = 0usize;
        for (_, id, len) in Sets::new(message, at) {
            if id < 256 || len < 4 {
                return false;
            }
            let Some(t) = self.get(stream, id) else {
                return false;
            };
            let records = ((len - 4) / t.min_len).min(MAX_RECORDS_PER_SET);
            values += records * t.fields.len();
            if values > MAX_VALUES_PER_MESSAGE {
                return false;
            }
            any = true;
        }
        any
    }
}

/// The template ids an IPFIX message withdraws: template records with no fields in its
/// template sets (id 2; template id 2 itself withdraws them all, RFC 7011 section 8.1). A
/// record that does not read whole ends its set.
pub(super) fn ipfix_withdrawals(message: &[u8]) -> Vec<u16> {
    let u16_at = |i: usize| {
        message
            .get(i..i + 2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
    };
    let mut out = Vec::new();
    for (at, set, len) in Sets::new(message, 16) {
        if len < 4 || at + len > message.len() {
            break;
        }
        let end = at + len;
        if set == 2 {
            let mut r = at + 4;
            while r + 4 <= end {
                let (Some(id), Some(count)) = (u16_at(r), u16_at(r + 2)) else {
                    break;
                };
                r += 4;
                if count == 0 {
                    // Ids below 256 other than 2 name no template (set padding reads as 0).
                    if id == 2 || id >= 256 {
                        out.push(id);
                    }
                    continue;
                }
                for _ in 0..count {
                    match u16_at(r) {
                        Some(t) if r + 4 <= end => r += if t & 0x8000 != 0 { 8 } else { 4 },
                        _ => {
                            r = end;
                            break;
                        }
                    }
                }
            }
        }
    }
    out
}

/// A field as read: the common kinds without the parser's value, the rest as the parser
/// reads them.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Read {
    /// An unsigned number of 1, 2, 4 or 8 bytes (the parser's `DataNumber`).
    Number(u64),
    /// A duration or time in milliseconds (the parser's `Duration` in seconds or
    /// milliseconds, of 2, 4 or 8 bytes), already in milliseconds.
    Millis(u64),
    Ip(IpAddr),
    Other(FieldValue),
}

/// Read one field of `length` bytes (65535: IPFIX variable length, prefixed) from `input`, as
/// the parser would; `None` when the input ends first or the value cannot be read.
#[inline]
pub(super) fn read_field(
    input: &[u8],
    data_type: FieldDataType,
    length: u16,
) -> Option<(Read, &[u8])> {
    let (input, length) = if length == 65535 {
        variable_length(input)?
    } else {
        (input, length)
    };
    let n = usize::from(length);
    let bytes = input.get(..n)?;
    let rest = &input[n..];
    let be = |b: &[u8]| b.iter().fold(0u64, |n, &x| (n << 8) | u64::from(x));
    let value = match (data_type, length) {
        (FieldDataType::UnsignedDataNumber, 1 | 2 | 4 | 8) => Read::Number(be(bytes)),
        (FieldDataType::DurationMillis, 2 | 4 | 8) => Read::Millis(be(bytes)),
        (FieldDataType::DurationSeconds, 2 | 4 | 8) if be(bytes) <= u64::MAX / 1000 => {
            Read::Millis(be(bytes) * 1000)
        }
        (FieldDataType::Ip4Addr, 4) => Read::Ip(IpAddr::V4(Ipv4Addr::new(
            bytes[0], bytes[1], bytes[2], bytes[3],
        ))),
        (FieldDataType::Ip6Addr, 16) => {
            let mut b = [0u8; 16];
            b.copy_from_slice(bytes);
            Read::Ip(IpAddr::V6(Ipv6Addr::from(b)))
        }
        _ => {
            let (_, v) = FieldValue::from_field_type(input, data_type, length).ok()?;
            Read::Other(v)
        }
    };
    Some((value, rest))
}

/// RFC 7011 section 7: one length byte, or 255 and two more; zero is not a length.
fn variable_length(input: &[u8]) -> Option<(&[u8], u16)> {
    let (&first, rest) = input.split_first()?;
    let (rest, len) = if first == 255 {
        let b = rest.get(..2)?;
        (&rest[2..], u16::from_be_bytes([b[0], b[1]]))
    } else {
        (rest, u16::from(first))
    };
    if len == 0 || usize::from(len) > rest.len() {
        return None;
    }
    Some((rest, len))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::flow::netflow::values::FieldRead;

    /// What the decoder takes from a field: its event value, number, address and time.
    fn seen(
        v: &impl FieldRead,
    ) -> (
        onewall_model::Value,
        Option<u64>,
        Option<IpAddr>,
        Option<i64>,
    ) {
        (v.value(), v.number(), v.ip(), v.epoch_ms())
    }

    fn same(input: &[u8], data_type: FieldDataType, length: u16) {
        let ours = read_field(input, data_type, length).map(|(v, rest)| (seen(&v), rest.len()));
        let parser = FieldValue::from_field_type(input, data_type, length)
            .ok()
            .map(|(rest, v)| (seen(&v), rest.len()));
        assert_eq!(ours, parser, "{data_type:?} of {length} bytes");
    }

    #[test]
    fn the_shortcuts_read_what_the_parser_reads() {
        let bytes: Vec<u8> = (1..=40u8).map(|b| b.wrapping_mul(37)).collect();
        for t in [
            FieldDataType::UnsignedDataNumber,
            FieldDataType::SignedDataNumber,
            FieldDataType::Ip4Addr,
            FieldDataType::Ip6Addr,
            FieldDataType::MacAddr,
            FieldDataType::DurationMillis,
            FieldDataType::DurationSeconds,
            FieldDataType::Vec,
        ] {
            for len in [0u16, 1, 2, 3, 4, 6, 8, 16] {
                same(&bytes, t, len);
                same(&bytes[..3], t, len);
            }
        }
    }

    #[test]
    fn withdrawals_are_found_among_definitions() {
        let mut m = vec![0u8, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        // A template set: 300 with one plain and one enterprise field, 301 withdrawn, then
        // "withdraw all".
        let set: &[u8] = &[
            0, 2, 0, 32, //
            1, 44, 0, 2, 0, 8, 0, 4, 0x80, 1, 0, 4, 0, 0, 0, 9, //
            1, 45, 0, 0, //
            0, 2, 0, 0, //
            0, 0, 0, 0, // padding
        ];
        m.extend_from_slice(set);
        let n = m.len() as u16;
        m[2..4].copy_from_slice(&n.to_be_bytes());
        assert_eq!(ipfix_withdrawals(&m), vec![301, 2]);
        // A data set announcing more than the message holds ends the walk.
        m.extend_from_slice(&[1, 44, 0, 200]);
        assert_eq!(ipfix_withdrawals(&m), vec![301, 2]);
    }

    #[test]
    fn variable_lengths_are_prefixed_and_never_zero() {
        let short = [3u8, b'a', b'b', b'c', 9];
        let (v, rest) = read_field(&short, FieldDataType::Vec, 65535).expect("short form");
        assert_eq!(v, Read::Other(FieldValue::Vec(b"abc".to_vec())));
        assert_eq!(rest, &[9]);
        let mut long = vec![255u8, 1, 0];
        long.extend(std::iter::repeat_n(b'x', 256));
        let (v, rest) = read_field(&long, FieldDataType::Vec, 65535).expect("long form");
        assert!(matches!(v, Read::Other(FieldValue::Vec(b)) if b.len() == 256));
        assert!(rest.is_empty());
        assert!(read_field(&[0u8, 1], FieldDataType::Vec, 65535).is_none());
        assert!(read_field(&[5u8, 1], FieldDataType::Vec, 65535).is_none());
    }
}
