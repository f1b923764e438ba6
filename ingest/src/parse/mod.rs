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
mod context;
mod error_kind;
mod fields;
mod flatten;
mod header;
mod json;
mod message;
mod rfc3164;
mod rfc5424;
mod syslog;
mod timestamp;

pub use body::BodyFormat;
pub use charset::Charset;
pub use context::{DEFAULT_MAX_FIELDS_PER_EVENT, DEFAULT_TIMEZONE, ParseContext, stamp_department};
pub use error_kind::{PARSE_ERROR_KINDS, parse_error_kind};
pub use fields::{
    FIELDS_TRUNCATED, LOG_FORMAT, ORGANIZATION_NAME, SENT_ORGANIZATION_NAME, SYSLOG_PROCID,
};
pub use json::{JsonRecord, parse_http_body, parse_json_object, parse_json_text, split_http_body};
pub use syslog::{parse_syslog, parse_syslog_header};
