//! Pure parsers: bytes in, an [`onewall_model::Event`] out. No I/O, no async runtime.
//!
//! - [`parse_syslog`] reads RFC 5424 and RFC 3164 (BSD) syslog and never fails: what it cannot
//!   read becomes an event with [`onewall_model::Format::Unknown`] and a `parse_error`.
//! - [`parse_json_object`] turns one JSON object into an event with flattened dotted fields.
//! - [`split_http_body`] splits an HTTP body (one object, an array of objects, or NDJSON) into
//!   records, failing the whole body on the first malformed part.
//!
//! Syslog fields (names from `onewall_model::event::names` where it has them):
//! `log.syslog.priority`, `log.syslog.facility.code`, `log.syslog.severity.code` (integers),
//! `log.syslog.version` (integer, RFC 5424 only), `host.name` (and `host.ip` when the host is an
//! address), `process.name` (APP-NAME, or the RFC 3164 tag), `process.pid` (integer) or
//! [`SYSLOG_PROCID`] (a process id that is not a number), `log.syslog.msgid`,
//! `log.syslog.structured_data.<SD-ID>.<PARAM>` (a list when a param repeats), `message`.
//!
//! A later format (a vendor's key=value dialect, CEF, GBK text) slots in as another module here
//! with the same shape: `fn(&[u8], &ParseContext) -> Event`.

mod body;
mod charset;
mod fields;
mod json;
mod rfc3164;
mod rfc5424;
mod syslog;
mod timestamp;

use onewall_model::{RegionCode, Source, Timestamp};
use time::UtcOffset;

pub use body::BodyFormat;
pub use charset::Charset;
pub use fields::{LOG_FORMAT, ORGANIZATION_NAME, SYSLOG_PROCID};
pub use json::{JsonRecord, parse_json_object, split_http_body};
pub use syslog::{parse_syslog, parse_syslog_header};

/// What a parser needs to know about a record besides its bytes.
///
/// Build it with [`ParseContext::new`] and set the per-listener source tags on it: `timezone`,
/// `charset`, `format_hint` and `department`.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseContext {
    /// When this node received the record.
    pub received: Timestamp,
    /// The region the record belongs to (the collector's region).
    pub region: RegionCode,
    /// The collector and peer it came from.
    pub source: Source,
    /// The zone of timestamps that carry none (RFC 3164 `Mmm dd hh:mm:ss`). Default +08:00.
    pub timezone: UtcOffset,
    /// How text that is not ASCII is read. Default [`Charset::Auto`]: UTF-8, else GB18030.
    pub charset: Charset,
    /// The body format the listener's devices send, when auto-detection should not guess.
    /// `None` (the default) detects the format from the bytes.
    pub format_hint: Option<BodyFormat>,
    /// The department the sending devices belong to; set on every event as
    /// [`ORGANIZATION_NAME`] (`organization.name`).
    pub department: Option<Box<str>>,
}

/// China Standard Time, the default zone of timestamps that carry none.
pub const DEFAULT_TIMEZONE: UtcOffset = time::macros::offset!(+8);

impl ParseContext {
    /// A context in the default time zone (+08:00).
    pub fn new(received: Timestamp, region: RegionCode, source: Source) -> Self {
        ParseContext {
            received,
            region,
            source,
            timezone: DEFAULT_TIMEZONE,
            charset: Charset::Auto,
            format_hint: None,
            department: None,
        }
    }
}
