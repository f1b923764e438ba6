//! One received record.

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;

use serde::{Serialize, Serializer};

use crate::{EventId, Fields, ModelError, RegionCode, Text, Timestamp, Value};

/// Events travel between stages in batches (hundreds to thousands) so that per-event overhead
/// stays small.
pub type EventBatch = Vec<Event>;

/// Where an event came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Source {
    /// The collector that took it in: `syslog_udp`, `syslog_tcp`, `syslog_tls`, `http`,
    /// `netflow`, `sflow`, or a configured collector name.
    pub collector: Text,
    /// The sending peer, when the transport has one.
    pub peer: Option<SocketAddr>,
}

impl Source {
    pub fn new(collector: &str, peer: Option<SocketAddr>) -> Self {
        Source {
            collector: collector.into(),
            peer,
        }
    }
}

/// How the raw bytes were read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// RFC 5424 syslog.
    Rfc5424,
    /// RFC 3164 (BSD) syslog and its vendor variants.
    Rfc3164,
    /// A JSON object.
    Json,
    /// A flow record (NetFlow, IPFIX, sFlow).
    Flow,
    /// Nothing recognised the bytes; the event keeps them raw with a parse error.
    Unknown,
}

impl Format {
    pub const ALL: &'static [Format] = &[
        Format::Rfc5424,
        Format::Rfc3164,
        Format::Json,
        Format::Flow,
        Format::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Rfc5424 => "rfc5424",
            Format::Rfc3164 => "rfc3164",
            Format::Json => "json",
            Format::Flow => "flow",
            Format::Unknown => "unknown",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Format {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, ModelError> {
        Format::ALL
            .iter()
            .copied()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| ModelError::UnknownName {
                what: "format",
                input: s.to_owned(),
                expected: "rfc5424, rfc3164, json, flow, unknown",
            })
    }
}

impl Serialize for Format {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One received record: its raw bytes as they arrived, and the fields parsed from them.
///
/// A record that does not parse is still an event: `format` is what was attempted (or
/// [`Format::Unknown`]), `raw` holds every byte, and `parse_error` says what was wrong.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    /// Time-ordered by receive time.
    pub id: EventId,
    /// When it happened, from the record itself; the receive time when the record has none.
    pub time: Timestamp,
    /// When this node received it.
    pub received: Timestamp,
    pub region: RegionCode,
    pub source: Source,
    pub format: Format,
    #[serde(serialize_with = "raw_as_text")]
    pub raw: Box<[u8]>,
    pub fields: Fields,
    /// Why the record could not be (fully) parsed; `None` when it parsed.
    pub parse_error: Option<Box<str>>,
}

fn raw_as_text<S: Serializer>(raw: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&String::from_utf8_lossy(raw))
}

impl Event {
    /// A new event received now-ish (`received`), with no fields yet; `time` starts as the
    /// receive time until a parser finds the record's own.
    pub fn new(received: Timestamp, region: RegionCode, source: Source, raw: &[u8]) -> Self {
        Event {
            id: EventId::new(received),
            time: received,
            received,
            region,
            source,
            format: Format::Unknown,
            raw: raw.into(),
            fields: Fields::new(),
            parse_error: None,
        }
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.fields.get(name)
    }

    /// The raw bytes as text (lossy for bytes that are not UTF-8).
    pub fn raw_text(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.raw)
    }
}

/// Well-known field names, ECS-style, that parsers set and the store indexes.
pub mod names {
    pub const MESSAGE: &str = "message";
    pub const HOST_NAME: &str = "host.name";
    pub const HOST_IP: &str = "host.ip";
    pub const PROCESS_NAME: &str = "process.name";
    pub const PROCESS_PID: &str = "process.pid";
    pub const SOURCE_IP: &str = "source.ip";
    pub const SOURCE_PORT: &str = "source.port";
    pub const DESTINATION_IP: &str = "destination.ip";
    pub const DESTINATION_PORT: &str = "destination.port";
    pub const USER_NAME: &str = "user.name";
    pub const EVENT_ACTION: &str = "event.action";
    pub const EVENT_OUTCOME: &str = "event.outcome";
    pub const FILE_HASH: &str = "file.hash.sha256";
    pub const DNS_QUESTION_NAME: &str = "dns.question.name";
    pub const URL_DOMAIN: &str = "url.domain";
    pub const SYSLOG_FACILITY: &str = "log.syslog.facility.code";
    pub const SYSLOG_SEVERITY: &str = "log.syslog.severity.code";
    pub const SYSLOG_PRIORITY: &str = "log.syslog.priority";
    pub const SYSLOG_VERSION: &str = "log.syslog.version";
    pub const SYSLOG_MSGID: &str = "log.syslog.msgid";
    /// Prefix of RFC 5424 structured data: `log.syslog.structured_data.<SD-ID>.<PARAM>`.
    pub const SYSLOG_SD_PREFIX: &str = "log.syslog.structured_data";
}
