//! Field values as the decoder reads them: numbers, addresses, absolute times, and event
//! values that lose nothing.

use std::net::IpAddr;
use std::time::Duration;

use netflow_parser::{DataNumber, FieldValue};
use onewall_model::Value;

use crate::flow::templates::Read;

/// Seconds between 1900 (NTP) and 1970 (Unix).
const NTP_UNIX_OFFSET: u64 = 2_208_988_800;

/// A field's value as the decoder reads it: from the parser ([`FieldValue`]) or from a known
/// template ([`Read`]); both give the same answers for the same bytes.
pub(crate) trait FieldRead {
    /// As a number: integers, durations in milliseconds, protocol and flag values.
    fn number(&self) -> Option<u64>;
    fn ip(&self) -> Option<IpAddr>;
    /// As an absolute time in Unix milliseconds.
    fn epoch_ms(&self) -> Option<i64>;
    /// As an event value, losing nothing.
    fn value(&self) -> Value;
}

impl FieldRead for FieldValue {
    fn number(&self) -> Option<u64> {
        number(self)
    }
    fn ip(&self) -> Option<IpAddr> {
        ip(self)
    }
    fn epoch_ms(&self) -> Option<i64> {
        epoch_ms(self)
    }
    fn value(&self) -> Value {
        to_value(self)
    }
}

impl FieldRead for Read {
    #[inline]
    fn number(&self) -> Option<u64> {
        match self {
            Read::Number(n) | Read::Millis(n) => Some(*n),
            Read::Ip(_) => None,
            Read::Other(v) => number(v),
        }
    }
    #[inline]
    fn ip(&self) -> Option<IpAddr> {
        match self {
            Read::Ip(a) => Some(*a),
            Read::Other(v) => ip(v),
            _ => None,
        }
    }
    #[inline]
    fn epoch_ms(&self) -> Option<i64> {
        match self {
            Read::Number(n) | Read::Millis(n) => i64::try_from(*n).ok(),
            Read::Ip(_) => None,
            Read::Other(v) => epoch_ms(v),
        }
    }
    #[inline]
    fn value(&self) -> Value {
        match self {
            Read::Number(n) => {
                i64::try_from(*n).map_or_else(|_| Value::str(n.to_string()), Value::Int)
            }
            Read::Millis(ms) => Value::Int(i64::try_from(*ms).unwrap_or(i64::MAX)),
            Read::Ip(a) => Value::Ip(*a),
            Read::Other(v) => to_value(v),
        }
    }
}

pub(super) fn number(v: &FieldValue) -> Option<u64> {
    match v {
        FieldValue::DataNumber(n) => n.as_u64(),
        FieldValue::Duration(d) => u64::try_from(d.as_duration().as_millis()).ok(),
        FieldValue::ProtocolType(p) => Some(u64::from(u8::from(*p))),
        FieldValue::TcpControlBits(b, _) => Some(u64::from(u16::from(*b))),
        _ => None,
    }
}

pub(super) fn ip(v: &FieldValue) -> Option<IpAddr> {
    match v {
        FieldValue::Ip4Addr(a) => Some(IpAddr::V4(*a)),
        FieldValue::Ip6Addr(a) => Some(IpAddr::V6(*a)),
        _ => None,
    }
}

/// An absolute time field as Unix milliseconds (NTP-based ones shifted from 1900).
pub(super) fn epoch_ms(v: &FieldValue) -> Option<i64> {
    use netflow_parser::variable_versions::field_value::DurationValue;
    match v {
        FieldValue::Duration(d) => {
            let dur = d.as_duration();
            let ms = match d {
                DurationValue::MicrosNtp { .. } | DurationValue::NanosNtp { .. } => dur
                    .checked_sub(Duration::from_secs(NTP_UNIX_OFFSET))?
                    .as_millis(),
                _ => dur.as_millis(),
            };
            i64::try_from(ms).ok()
        }
        FieldValue::DataNumber(n) => n.as_u64().and_then(|n| i64::try_from(n).ok()),
        _ => None,
    }
}

/// A field value as an event value, losing nothing: numbers too large for an integer and raw
/// bytes become text.
pub(crate) fn to_value(v: &FieldValue) -> Value {
    match v {
        FieldValue::DataNumber(n) => data_number(n),
        FieldValue::Float64(f) => Value::Float(*f),
        FieldValue::Duration(d) => {
            Value::Int(i64::try_from(d.as_duration().as_millis()).unwrap_or(i64::MAX))
        }
        FieldValue::Ip4Addr(a) => Value::Ip(IpAddr::V4(*a)),
        FieldValue::Ip6Addr(a) => Value::Ip(IpAddr::V6(*a)),
        FieldValue::MacAddr(b) => Value::str(crate::flow::mac(b)),
        FieldValue::String(s) => Value::str(s.value.as_str()),
        FieldValue::Vec(b) => Value::str(crate::flow::hex(b)),
        FieldValue::ProtocolType(p) => Value::Int(i64::from(u8::from(*p))),
        FieldValue::TcpControlBits(b, _) => Value::Int(i64::from(u16::from(*b))),
        // Enumerated elements keep their wire value, as exported.
        FieldValue::FlowEndReason(x) => Value::Int(i64::from(u8::from(*x))),
        FieldValue::ForwardingStatus(x) => Value::Int(i64::from(u8::from(*x))),
        FieldValue::FragmentFlags(x) => Value::Int(i64::from(u8::from(*x))),
        FieldValue::FirewallEvent(x) => Value::Int(i64::from(u8::from(*x))),
        FieldValue::IsMulticast(x) => Value::Int(i64::from(u8::from(*x))),
        FieldValue::MplsLabelExp(x) => Value::Int(i64::from(u8::from(*x))),
        FieldValue::MplsTopLabelType(x) => Value::Int(i64::from(u8::from(*x))),
        FieldValue::NatEvent(x) => Value::Int(i64::from(u8::from(*x))),
        FieldValue::NatOriginatingAddressRealm(x) => Value::Int(i64::from(u8::from(*x))),
        FieldValue::Ipv4Options(x) => Value::Int(i64::from(u32::from(*x))),
        FieldValue::Ipv6ExtensionHeaders(x) => Value::Int(i64::from(u32::from(*x))),
        FieldValue::TcpOptions(x) => {
            let n = u64::from(*x);
            i64::try_from(n).map_or_else(|_| Value::str(n.to_string()), Value::Int)
        }
        other => Value::str(inner_debug(other)),
    }
}

fn data_number(n: &DataNumber) -> Value {
    match n {
        DataNumber::U8(x) => Value::Int(i64::from(*x)),
        DataNumber::I8(x) => Value::Int(i64::from(*x)),
        DataNumber::U16(x) => Value::Int(i64::from(*x)),
        DataNumber::I16(x) => Value::Int(i64::from(*x)),
        DataNumber::U24(x) | DataNumber::U32(x) => Value::Int(i64::from(*x)),
        DataNumber::I24(x) | DataNumber::I32(x) => Value::Int(i64::from(*x)),
        DataNumber::U64(x) => {
            i64::try_from(*x).map_or_else(|_| Value::str(x.to_string()), Value::Int)
        }
        DataNumber::I64(x) => Value::Int(*x),
        DataNumber::U128(x) => {
            i64::try_from(*x).map_or_else(|_| Value::str(x.to_string()), Value::Int)
        }
        DataNumber::I128(x) => {
            i64::try_from(*x).map_or_else(|_| Value::str(x.to_string()), Value::Int)
        }
        DataNumber::Vec(b) => Value::str(crate::flow::hex(b)),
    }
}

/// `FlowEndReason(IdleTimeout)` → `IdleTimeout`.
fn inner_debug(v: &FieldValue) -> String {
    let s = format!("{v:?}");
    match (s.find('('), s.ends_with(')')) {
        (Some(i), true) => s[i + 1..s.len() - 1].to_owned(),
        _ => s,
    }
}
