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
//! RFC 3164 vendor variants: `Mmm dd hh:mm:ss yyyy` (H3C), `Mmm dd yyyy hh:mm:ss[:]` (Cisco),
//! `yyyy-mm-dd hh:mm:ss[,]` (Huawei, Hillstone), spaces after `>`, no timestamp (Huawei
//! `<190>HOST %%01...`), a relay's second header (the relay goes to `log.syslog.relay`),
//! trailing `\0`, the year inferred from the receive time (a December line read in January is
//! last year's) and the listener's time zone for timestamps without one.
//!
//! Text: bytes first, charset second ([`Charset`]): UTF-8 when valid, else GB18030 (GBK), or
//! the listener's configured charset. The raw bytes are always kept on the event.
//!
//! Bodies ([`BodyFormat`], in `body/`): after the header, the message is recognised (or the
//! listener's `format_hint` forces a parser) and its format named in [`LOG_FORMAT`]
//! (`log.format`: `cef`, `leef`, `fortigate`, `venustech`, `topsec`, `leadsec`, `huawei_usg`,
//! `h3c`, `sangfor`, `hillstone`, `cisco_asa`, `paloalto`, `http_access`, `http_error`,
//! `linux_auth`, `pgaudit`, `mysql_audit`, `windows`). `Event.format` stays the header format
//! (RFC 5424, RFC 3164, JSON); a record with no syslog header whose body is recognised (a bare
//! `%ASA-...` or `CEF:` line) keeps `format = unknown` and has no `parse_error`. Bodies set
//! ECS-style fields — `source.ip`/`destination.ip` (addresses), `source.port`/`destination.port`
//! (integers), `user.name`, `event.action`, `event.outcome` (`success`/`failure`),
//! `event.code`, `observer.vendor`, `observer.product`, `network.transport` (lower case),
//! `url.original`, `http.request.method`, `http.response.status_code`, `log.level` — and keep
//! the vendor's own keys under their own names (`srcip`, `SrcIPAddr`, `源IP`, `act`,
//! `cisco.message_id`, `panos.<column>`, `pgaudit.<column>`, CEF/LEEF header fields as
//! `cef.*`/`leef.*`). JSON objects of a known shape (Winlogbeat, NXLog, evtx_dump, MySQL
//! Enterprise Audit, nginx JSON) get the same treatment; Windows event data, in each of the three
//! shapes, also gives `process.command_line`, `process.executable`, `process.name`,
//! `process.pid`, `process.parent.*`, `user.name`/`user.domain`, `source.ip`/`source.port`,
//! `destination.ip`/`destination.port`, `dns.question.name`, `file.path`, `winlog.logon.type`,
//! beside `event.code`, `winlog.channel`, `host.name` and `event.provider` (the shipper's own ECS
//! fields win; the vendor keys stay). The listener's `department` is set on
//! every event as [`ORGANIZATION_NAME`] (`organization.name`); a different value the record
//! carried there is kept as [`SENT_ORGANIZATION_NAME`]. A record sets at most
//! `max_fields_per_event` fields ([`ParseContext`]); keys past it stay in the raw bytes and
//! [`FIELDS_TRUNCATED`] says how many.
//!
//! Event time: the header's, unless the body carries one that says more (CEF `rt`/`end`, LEEF
//! `devTime`, PAN-OS generated then receive time, the nginx/Apache error log stamp, a pgAudit
//! `log_line_prefix` time): a body time with a year beats a BSD header without one, an instant
//! (zone or epoch milliseconds) beats a local time, and a record without a header time takes
//! the body's. JSON records take `@timestamp` (else Sysmon's `UtcTime`), NXLog `EventTime`,
//! evtx `TimeCreated`, MySQL audit `timestamp`. Times without a zone are in the listener's.
//! Text that is neither UTF-8 nor GB18030 (or not the configured charset) keeps the record
//! with a parse error naming the first such byte (kind `invalid_encoding`).

mod body;
mod charset;
mod error_kind;
mod fields;
mod json;
mod rfc3164;
mod rfc5424;
mod syslog;
mod timestamp;

use onewall_model::{Event, Fields, RegionCode, Source, Timestamp, Value};
use time::UtcOffset;

pub use body::BodyFormat;
pub use charset::Charset;
pub use error_kind::{PARSE_ERROR_KINDS, parse_error_kind};
pub use fields::{
    FIELDS_TRUNCATED, LOG_FORMAT, ORGANIZATION_NAME, SENT_ORGANIZATION_NAME, SYSLOG_PROCID,
};
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
    /// [`ORGANIZATION_NAME`] (`organization.name`). It wins over a value the record itself
    /// carries there, which is kept as [`SENT_ORGANIZATION_NAME`].
    pub department: Option<Box<str>>,
    /// The most fields a record's parse sets (0: no bound). Keys past it stay in the raw
    /// bytes only; the event says how many in [`FIELDS_TRUNCATED`]. Default
    /// [`DEFAULT_MAX_FIELDS_PER_EVENT`].
    pub max_fields_per_event: usize,
}

/// The default bound on the fields a record's parse sets: events carry tens of fields, a
/// Windows or firewall record a few hundred at most.
pub const DEFAULT_MAX_FIELDS_PER_EVENT: usize = 1000;

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
            max_fields_per_event: DEFAULT_MAX_FIELDS_PER_EVENT,
        }
    }
}

/// Start a record's parse: bound its fields to the context's `max_fields_per_event`.
pub(crate) fn begin(event: &mut Event, ctx: &ParseContext) {
    event.fields.limit(ctx.max_fields_per_event);
}

/// End a record's parse (safe to repeat): lift the bound on its fields, noting in
/// [`FIELDS_TRUNCATED`] how many keys it refused, and make the listener's department the
/// record's, keeping a different one the record carried as [`SENT_ORGANIZATION_NAME`].
pub(crate) fn end(event: &mut Event, ctx: &ParseContext) {
    let refused = event.fields.unlimit();
    if refused > 0 {
        let earlier = match event.fields.get(FIELDS_TRUNCATED) {
            Some(Value::Int(n)) => *n,
            _ => 0,
        };
        let total = earlier.saturating_add(i64::try_from(refused).unwrap_or(i64::MAX));
        event.fields.insert(FIELDS_TRUNCATED, Value::Int(total));
    }
    stamp_department(&mut event.fields, ctx.department.as_deref());
}

/// Set `organization.name` to the listener's department, when it has one; a different value
/// already there (the sender's own) moves to [`SENT_ORGANIZATION_NAME`]. The listener's
/// department is what access control trusts, so a sender cannot choose it.
pub fn stamp_department(fields: &mut Fields, department: Option<&str>) {
    let Some(dept) = department else {
        return;
    };
    match fields.get(ORGANIZATION_NAME) {
        Some(Value::Str(v)) if &**v == dept => return,
        Some(sent) => {
            let sent = sent.clone();
            fields.insert(SENT_ORGANIZATION_NAME, sent);
        }
        None => {}
    }
    fields.insert(ORGANIZATION_NAME, Value::str(dept));
}
