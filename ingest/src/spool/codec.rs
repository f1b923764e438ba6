//! A compact binary form of [`Event`] for the spool: every field, losslessly, so a replayed
//! event is the event that was accepted (same id, so the store ignores it if already written).
//!
//! Little-endian integers; strings and byte strings are a `u32` length and the bytes.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use onewall_model::{Event, EventId, Fields, Format, RegionCode, Source, Timestamp, Value};

/// Why a record's events could not be read back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DecodeError(pub &'static str);

/// Append `e` to `out`.
pub fn encode(e: &Event, out: &mut Vec<u8>) {
    out.extend_from_slice(&e.id.to_bytes());
    out.extend_from_slice(&e.time.0.to_le_bytes());
    out.extend_from_slice(&e.received.0.to_le_bytes());
    out.extend_from_slice(&e.region.get().to_le_bytes());
    bytes(out, e.source.collector.as_bytes());
    match e.source.peer {
        Some(p) => {
            // Written in place (no string per event): a length slot, the text, the length.
            let at = out.len();
            out.extend_from_slice(&[0; 4]);
            // Writing to a Vec cannot fail.
            let _ = write!(out, "{p}");
            let len = (out.len() - at - 4) as u32;
            out[at..at + 4].copy_from_slice(&len.to_le_bytes());
        }
        None => out.extend_from_slice(&u32::MAX.to_le_bytes()),
    }
    bytes(out, e.format.as_str().as_bytes());
    bytes(out, &e.raw);
    match &e.parse_error {
        Some(p) => bytes(out, p.as_bytes()),
        None => out.extend_from_slice(&u32::MAX.to_le_bytes()),
    }
    out.extend_from_slice(&(e.fields.len() as u32).to_le_bytes());
    for (name, value) in e.fields.iter() {
        bytes(out, name.as_bytes());
        encode_value(value, out);
    }
}

fn bytes(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(&(b.len() as u32).to_le_bytes());
    out.extend_from_slice(b);
}

fn encode_value(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Null => out.push(0),
        Value::Bool(b) => out.extend_from_slice(&[1, u8::from(*b)]),
        Value::Int(i) => {
            out.push(2);
            out.extend_from_slice(&i.to_le_bytes());
        }
        Value::Float(f) => {
            out.push(3);
            out.extend_from_slice(&f.to_bits().to_le_bytes());
        }
        Value::Str(s) => {
            out.push(4);
            bytes(out, s.as_bytes());
        }
        Value::Ip(IpAddr::V4(a)) => {
            out.push(5);
            out.extend_from_slice(&a.octets());
        }
        Value::Ip(IpAddr::V6(a)) => {
            out.push(6);
            out.extend_from_slice(&a.octets());
        }
        Value::Time(t) => {
            out.push(7);
            out.extend_from_slice(&t.0.to_le_bytes());
        }
        Value::List(items) => {
            out.push(8);
            out.extend_from_slice(&(items.len() as u32).to_le_bytes());
            for i in items {
                encode_value(i, out);
            }
        }
    }
}

/// Reads values off the front of a byte slice.
struct Reader<'a>(&'a [u8]);

const SHORT: DecodeError = DecodeError("record ends early");

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.0.len() < n {
            return Err(SHORT);
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        self.take(N)?.try_into().map_err(|_| SHORT)
    }
    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.array::<1>()?[0])
    }
    fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    fn i64(&mut self) -> Result<i64, DecodeError> {
        Ok(i64::from_le_bytes(self.array()?))
    }
    fn opt_bytes(&mut self) -> Result<Option<&'a [u8]>, DecodeError> {
        match self.u32()? {
            u32::MAX => Ok(None),
            n => self.take(n as usize).map(Some),
        }
    }
    fn bytes(&mut self) -> Result<&'a [u8], DecodeError> {
        self.opt_bytes()?
            .ok_or(DecodeError("absent where required"))
    }
    fn str(&mut self) -> Result<&'a str, DecodeError> {
        std::str::from_utf8(self.bytes()?).map_err(|_| DecodeError("text is not UTF-8"))
    }
    fn opt_str(&mut self) -> Result<Option<&'a str>, DecodeError> {
        self.opt_bytes()?
            .map(|b| std::str::from_utf8(b).map_err(|_| DecodeError("text is not UTF-8")))
            .transpose()
    }
}

/// Read `count` events from `payload`.
pub fn decode_all(payload: &[u8], count: usize) -> Result<Vec<Event>, DecodeError> {
    let mut r = Reader(payload);
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        out.push(decode_one(&mut r)?);
    }
    if !r.0.is_empty() {
        return Err(DecodeError("bytes left after the last event"));
    }
    Ok(out)
}

fn decode_one(r: &mut Reader<'_>) -> Result<Event, DecodeError> {
    let id = EventId::from_bytes(r.array()?);
    let time = Timestamp(r.i64()?);
    let received = Timestamp(r.i64()?);
    let region = RegionCode::new(r.u32()?).map_err(|_| DecodeError("bad region code"))?;
    let collector = r.str()?;
    let peer = r.opt_str()?.and_then(|p| p.parse().ok());
    let format = r
        .str()?
        .parse::<Format>()
        .map_err(|_| DecodeError("unknown format"))?;
    let raw: Box<[u8]> = r.bytes()?.into();
    let parse_error = r.opt_str()?.map(Box::from);
    let n = r.u32()? as usize;
    let mut fields = Fields::with_capacity(n.min(1024));
    for _ in 0..n {
        let name = r.str()?;
        let value = decode_value(r, 0)?;
        fields.insert(name, value);
    }
    Ok(Event {
        id,
        time,
        received,
        region,
        source: Source::new(collector, peer),
        format,
        raw,
        fields,
        parse_error,
    })
}

fn decode_value(r: &mut Reader<'_>, depth: u32) -> Result<Value, DecodeError> {
    if depth > 64 {
        return Err(DecodeError("values nested too deep"));
    }
    Ok(match r.u8()? {
        0 => Value::Null,
        1 => Value::Bool(r.u8()? != 0),
        2 => Value::Int(r.i64()?),
        3 => Value::Float(f64::from_bits(u64::from_le_bytes(r.array()?))),
        4 => Value::Str(r.str()?.into()),
        5 => Value::Ip(IpAddr::V4(Ipv4Addr::from(r.array::<4>()?))),
        6 => Value::Ip(IpAddr::V6(Ipv6Addr::from(r.array::<16>()?))),
        7 => Value::Time(Timestamp(r.i64()?)),
        8 => {
            let n = r.u32()? as usize;
            let mut items = Vec::with_capacity(n.min(1024));
            for _ in 0..n {
                items.push(decode_value(r, depth + 1)?);
            }
            Value::List(items)
        }
        _ => return Err(DecodeError("unknown value tag")),
    })
}

/// Lookup tables for CRC-32C, slicing by 8: `TABLES[0]` is the classic byte-at-a-time table,
/// `TABLES[k][b]` the CRC of byte `b` followed by `k` zero bytes.
const TABLES: [[u32; 256]; 8] = {
    let mut t = [[0u32; 256]; 8];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ 0x82F6_3B78
            } else {
                c >> 1
            };
            k += 1;
        }
        t[0][i] = c;
        i += 1;
    }
    let mut i = 0;
    while i < 256 {
        let mut k = 1;
        while k < 8 {
            let prev = t[k - 1][i];
            t[k][i] = (prev >> 8) ^ t[0][(prev & 0xff) as usize];
            k += 1;
        }
        i += 1;
    }
    t
};

/// CRC-32C (Castagnoli), the checksum of spool records. Eight bytes per step (slicing by 8):
/// the byte-at-a-time loop was about half of a spool append's time.
pub fn crc32c(data: &[u8]) -> u32 {
    let t = &TABLES;
    let mut crc = !0u32;
    let mut words = data.chunks_exact(8);
    for w in &mut words {
        let lo = u32::from_le_bytes([w[0], w[1], w[2], w[3]]) ^ crc;
        let hi = u32::from_le_bytes([w[4], w[5], w[6], w[7]]);
        crc = t[7][(lo & 0xff) as usize]
            ^ t[6][((lo >> 8) & 0xff) as usize]
            ^ t[5][((lo >> 16) & 0xff) as usize]
            ^ t[4][(lo >> 24) as usize]
            ^ t[3][(hi & 0xff) as usize]
            ^ t[2][((hi >> 8) & 0xff) as usize]
            ^ t[1][((hi >> 16) & 0xff) as usize]
            ^ t[0][(hi >> 24) as usize];
    }
    for &b in words.remainder() {
        crc = t[0][((crc ^ u32::from(b)) & 0xff) as usize] ^ (crc >> 8);
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The byte-at-a-time definition the sliced version must equal.
    fn crc32c_bytewise(data: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in data {
            crc = TABLES[0][((crc ^ u32::from(b)) & 0xff) as usize] ^ (crc >> 8);
        }
        !crc
    }

    #[test]
    fn crc32c_sliced_equals_bytewise_at_every_length_and_alignment() {
        let data: Vec<u8> = (0..300u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        for start in 0..8 {
            for end in start..data.len() {
                let part = &data[start..end];
                assert_eq!(crc32c(part), crc32c_bytewise(part), "bytes {start}..{end}");
            }
        }
    }

    #[test]
    fn crc32c_check_value() {
        // The standard check value of CRC-32C over "123456789".
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
    }

    #[test]
    fn events_round_trip() {
        let mut e = Event::new(
            Timestamp(1_700_000_000_123_456_789),
            RegionCode::new(410100).unwrap(),
            Source::new("syslog_tcp", Some("10.1.2.3:514".parse().unwrap())),
            b"raw \xff bytes",
        );
        e.time = Timestamp(1_600_000_000_000_000_000);
        e.format = Format::Rfc5424;
        e.parse_error = Some("bad header".into());
        e.fields.insert("host.name", Value::str("web01"));
        e.fields.insert("process.pid", Value::Int(-42));
        e.fields.insert("ratio", Value::Float(0.25));
        e.fields.insert("ok", Value::Bool(true));
        e.fields
            .insert("source.ip", Value::Ip("2001:db8::1".parse().unwrap()));
        e.fields
            .insert("host.ip", Value::Ip("10.0.0.1".parse().unwrap()));
        e.fields.insert("seen", Value::Time(Timestamp(5)));
        e.fields.insert("none", Value::Null);
        e.fields.insert(
            "tags",
            Value::List(vec![Value::str("a"), Value::List(vec![Value::Int(1)])]),
        );
        let plain = Event::new(
            Timestamp(1),
            RegionCode::new(410000).unwrap(),
            Source::new("http", None),
            b"",
        );
        let mut buf = Vec::new();
        encode(&e, &mut buf);
        encode(&plain, &mut buf);
        let back = decode_all(&buf, 2).unwrap();
        assert_eq!(back, vec![e, plain]);
    }

    #[test]
    fn truncated_records_are_errors() {
        let e = Event::new(
            Timestamp(1),
            RegionCode::new(410000).unwrap(),
            Source::new("http", None),
            b"hello",
        );
        let mut buf = Vec::new();
        encode(&e, &mut buf);
        for cut in 0..buf.len() {
            assert!(decode_all(&buf[..cut], 1).is_err(), "cut at {cut}");
        }
        assert!(decode_all(&buf, 2).is_err());
    }
}
