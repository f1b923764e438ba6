//! Message bodies: the vendor formats inside a syslog message (or a whole line sent without a
//! syslog header). Each recognised body sets [`LOG_FORMAT`](super::LOG_FORMAT) to its
//! [`BodyFormat`] name, ECS-style fields, and the vendor's own keys under their own names.

use std::fmt;
use std::str::FromStr;

/// A body format, by the name it has in `log.format` and in a listener's `format_hint`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BodyFormat {
    /// ArcSight CEF.
    Cef,
    /// IBM QRadar LEEF 1.0 and 2.0.
    Leef,
    /// FortiGate `key=value`.
    Fortigate,
    /// Venustech (启明星辰) `MODULE: SerialNum=.. GenTime=".." Key=Value`.
    Venustech,
    /// Topsec (天融信) NGTOS `id="NGTOS" key="value"`.
    Topsec,
    /// Leadsec (网御) `devid=.. dname=themis key=value`.
    Leadsec,
    /// Huawei USG `%%01MODULE/severity/BRIEF(l): Key=Value,`.
    HuaweiUsg,
    /// H3C Comware `%%10MODULE/severity/MNEMONIC: Key(code)=value;`.
    H3c,
    /// Sangfor AF `日志类型:..., 源IP:...`.
    Sangfor,
    /// Hillstone StoneOS `Type@MODULE: SESSION: ...`.
    Hillstone,
    /// Cisco ASA and FTD `%ASA-n-nnnnnn:`.
    CiscoAsa,
    /// Palo Alto PAN-OS CSV.
    Paloalto,
    /// nginx and Apache access logs (common, combined, vhost_combined).
    HttpAccess,
    /// nginx and Apache error logs.
    HttpError,
    /// Linux sshd, su, sudo, cron, useradd and PAM messages.
    LinuxAuth,
    /// PostgreSQL pgAudit `AUDIT: SESSION|OBJECT,...`.
    Pgaudit,
    /// MySQL Enterprise Audit JSON.
    MysqlAudit,
    /// Windows events: Winlogbeat/ECS JSON, NXLog JSON, evtx_dump JSON.
    Windows,
    /// Any other `key=value` body.
    Kv,
}

impl BodyFormat {
    pub const ALL: &'static [BodyFormat] = &[
        BodyFormat::Cef,
        BodyFormat::Leef,
        BodyFormat::Fortigate,
        BodyFormat::Venustech,
        BodyFormat::Topsec,
        BodyFormat::Leadsec,
        BodyFormat::HuaweiUsg,
        BodyFormat::H3c,
        BodyFormat::Sangfor,
        BodyFormat::Hillstone,
        BodyFormat::CiscoAsa,
        BodyFormat::Paloalto,
        BodyFormat::HttpAccess,
        BodyFormat::HttpError,
        BodyFormat::LinuxAuth,
        BodyFormat::Pgaudit,
        BodyFormat::MysqlAudit,
        BodyFormat::Windows,
        BodyFormat::Kv,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            BodyFormat::Cef => "cef",
            BodyFormat::Leef => "leef",
            BodyFormat::Fortigate => "fortigate",
            BodyFormat::Venustech => "venustech",
            BodyFormat::Topsec => "topsec",
            BodyFormat::Leadsec => "leadsec",
            BodyFormat::HuaweiUsg => "huawei_usg",
            BodyFormat::H3c => "h3c",
            BodyFormat::Sangfor => "sangfor",
            BodyFormat::Hillstone => "hillstone",
            BodyFormat::CiscoAsa => "cisco_asa",
            BodyFormat::Paloalto => "paloalto",
            BodyFormat::HttpAccess => "http_access",
            BodyFormat::HttpError => "http_error",
            BodyFormat::LinuxAuth => "linux_auth",
            BodyFormat::Pgaudit => "pgaudit",
            BodyFormat::MysqlAudit => "mysql_audit",
            BodyFormat::Windows => "windows",
            BodyFormat::Kv => "kv",
        }
    }
}

impl fmt::Display for BodyFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A format name that is not one of [`BodyFormat::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown format {0:?}: expected one of cef, leef, fortigate, venustech, topsec, leadsec, huawei_usg, h3c, sangfor, hillstone, cisco_asa, paloalto, http_access, http_error, linux_auth, pgaudit, mysql_audit, windows, kv"
)]
pub struct UnknownFormat(pub String);

impl FromStr for BodyFormat {
    type Err = UnknownFormat;
    fn from_str(s: &str) -> Result<Self, UnknownFormat> {
        let lower = s.to_ascii_lowercase().replace('-', "_");
        BodyFormat::ALL
            .iter()
            .copied()
            .find(|f| f.as_str() == lower)
            .ok_or_else(|| UnknownFormat(s.to_owned()))
    }
}

mod cef;
mod cisco;
mod hillstone;
mod jsonlog;
mod kv;
mod linux;
mod paloalto;
mod pgaudit;
mod time;
mod web;
mod windows;

use std::net::IpAddr;

use onewall_model::{Event, Value};

use super::ParseContext;
use super::fields::LOG_FORMAT;
use super::timestamp::TimeQuality;

pub(crate) use jsonlog::enrich_json;

/// ECS names the body parsers set.
pub(crate) mod ecs {
    pub const SOURCE_IP: &str = "source.ip";
    pub const SOURCE_PORT: &str = "source.port";
    pub const DESTINATION_IP: &str = "destination.ip";
    pub const DESTINATION_PORT: &str = "destination.port";
    pub const USER_NAME: &str = "user.name";
    pub const EVENT_ACTION: &str = "event.action";
    pub const EVENT_OUTCOME: &str = "event.outcome";
    pub const EVENT_CODE: &str = "event.code";
    pub const OBSERVER_VENDOR: &str = "observer.vendor";
    pub const OBSERVER_PRODUCT: &str = "observer.product";
    pub const NETWORK_TRANSPORT: &str = "network.transport";
    pub const URL_ORIGINAL: &str = "url.original";
    pub const HTTP_METHOD: &str = "http.request.method";
    pub const HTTP_STATUS: &str = "http.response.status_code";
    pub const LOG_LEVEL: &str = "log.level";
}

/// Sets fields on an event: typed ECS values, and vendor keys as text.
pub(crate) struct Out<'e> {
    pub event: &'e mut Event,
}

impl Out<'_> {
    pub fn str(&mut self, name: &str, value: &str) {
        if name == super::fields::syslog_names().message.name {
            return;
        }
        self.event.fields.insert(name, Value::str(value));
    }

    /// An address, when `value` is one (`[v6]` and a trailing `%zone` are not).
    pub fn ip(&mut self, name: &str, value: &str) {
        if let Ok(ip) = value.trim().parse::<IpAddr>() {
            self.event.fields.insert(name, Value::Ip(ip));
        }
    }

    /// An integer, when `value` is one.
    pub fn int(&mut self, name: &str, value: &str) {
        if let Ok(n) = value.trim().parse::<i64>() {
            self.event.fields.insert(name, Value::Int(n));
        }
    }

    /// `network.transport`, lower case; IANA numbers 1, 6, 17 and 58 by name.
    pub fn transport(&mut self, value: &str) {
        let v = value.trim();
        let name = match v {
            "1" => "icmp",
            "6" => "tcp",
            "17" => "udp",
            "58" => "ipv6-icmp",
            "" => return,
            _ => {
                let lower = v.to_ascii_lowercase();
                self.event
                    .fields
                    .insert(ecs::NETWORK_TRANSPORT, Value::str(lower));
                return;
            }
        };
        self.event
            .fields
            .insert(ecs::NETWORK_TRANSPORT, Value::str(name));
    }

    pub fn outcome(&mut self, success: bool) {
        let v = if success { "success" } else { "failure" };
        self.event.fields.insert(ecs::EVENT_OUTCOME, Value::str(v));
    }

    pub fn observer(&mut self, vendor: &str, product: &str) {
        self.str(ecs::OBSERVER_VENDOR, vendor);
        self.str(ecs::OBSERVER_PRODUCT, product);
    }

    fn format(&mut self, f: BodyFormat) {
        self.event.fields.insert(LOG_FORMAT, Value::str(f.as_str()));
    }
}

/// Recognise the body of a record (the syslog MSG, or a whole line without a header) and set
/// its fields. `tag` is the RFC 3164 TAG or RFC 5424 APP-NAME when there was one. Returns the
/// format recognised, `None` when the body is plain text. The body's own time (CEF `rt`, PAN-OS
/// generated time ...) becomes the event time when it says more than the header's
/// (`header_time`; see `time.rs`).
pub(crate) fn parse_body(
    event: &mut Event,
    msg: &str,
    tag: Option<&str>,
    ctx: &ParseContext,
    header_time: TimeQuality,
) -> Option<BodyFormat> {
    let mut out = Out { event };
    let hinted = ctx
        .format_hint
        .filter(|&hint| parse_as(&mut out, hint, msg, tag, ctx));
    let found = match hinted {
        Some(hint) => hint,
        None => {
            let found = detect(msg, tag)?;
            if !parse_as(&mut out, found, msg, tag, ctx) {
                return None;
            }
            found
        }
    };
    out.format(found);
    time::apply(out.event, found, msg, ctx, header_time);
    Some(found)
}

/// `%%01MODULE/` somewhere in the text (Huawei's `%%` and two-digit version).
fn huawei_mnemonic(m: &str) -> bool {
    memchr::memmem::find_iter(m.as_bytes(), b"%%").any(|p| {
        m.as_bytes()
            .get(p + 2..p + 4)
            .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
    })
}

/// A cheap look at the text to pick the parser.
fn detect(msg: &str, tag: Option<&str>) -> Option<BodyFormat> {
    let m = msg.trim_start();
    if m.starts_with("CEF:") {
        return Some(BodyFormat::Cef);
    }
    if m.starts_with("LEEF:") {
        return Some(BodyFormat::Leef);
    }
    if m.starts_with('{') {
        return None;
    }
    if m.contains("%ASA-") || m.contains("%FTD-") {
        return Some(BodyFormat::CiscoAsa);
    }
    if let Some(t) = tag
        && linux::is_auth_program(t)
    {
        return Some(BodyFormat::LinuxAuth);
    }
    if m.contains("日志类型") {
        return Some(BodyFormat::Sangfor);
    }
    if kv::has_h3c_keys(m) || tag.is_some_and(|t| t.starts_with("H3C")) {
        return Some(BodyFormat::H3c);
    }
    if huawei_mnemonic(m) || m.starts_with("%%: ") || m.contains(" %%: ") {
        return Some(BodyFormat::HuaweiUsg);
    }
    if m.contains("@FLOW: ")
        || m.contains("@MGMT: ")
        || tag.is_some_and(|t| t.ends_with("@MGMT") || t.ends_with("@FLOW"))
    {
        return Some(BodyFormat::Hillstone);
    }
    if m.contains("SerialNum=") && m.contains("GenTime=") {
        return Some(BodyFormat::Venustech);
    }
    if m.starts_with("id=\"NGTOS\"") || m.starts_with("id=\"ngtos\"") {
        return Some(BodyFormat::Topsec);
    }
    if m.contains("dname=themis") || m.starts_with("devid=") {
        return Some(BodyFormat::Leadsec);
    }
    if m.contains("devname=") && m.contains("logid=") {
        return Some(BodyFormat::Fortigate);
    }
    if m.contains("AUDIT: SESSION,") || m.contains("AUDIT: OBJECT,") {
        return Some(BodyFormat::Pgaudit);
    }
    if paloalto::looks_like(m) {
        return Some(BodyFormat::Paloalto);
    }
    if web::looks_like_access(m) {
        return Some(BodyFormat::HttpAccess);
    }
    if web::looks_like_error(m) {
        return Some(BodyFormat::HttpError);
    }
    if linux::looks_like(m) {
        return Some(BodyFormat::LinuxAuth);
    }
    None
}

fn parse_as(
    out: &mut Out<'_>,
    f: BodyFormat,
    msg: &str,
    tag: Option<&str>,
    ctx: &ParseContext,
) -> bool {
    match f {
        BodyFormat::Cef => cef::cef(out, msg.trim_start()),
        BodyFormat::Leef => cef::leef(out, msg.trim_start()),
        BodyFormat::CiscoAsa => cisco::parse(out, msg),
        BodyFormat::Paloalto => paloalto::parse(out, msg.trim_start()),
        BodyFormat::HttpAccess => web::access(out, msg),
        BodyFormat::HttpError => web::error(out, msg),
        BodyFormat::LinuxAuth => linux::parse(out, msg, tag),
        BodyFormat::Pgaudit => pgaudit::parse(out, msg),
        BodyFormat::Hillstone => hillstone::parse(out, msg, tag),
        BodyFormat::Sangfor => kv::sangfor(out, msg),
        BodyFormat::H3c => kv::h3c(out, msg),
        BodyFormat::HuaweiUsg => kv::huawei(out, msg),
        BodyFormat::Venustech => kv::vendor_kv(out, msg, "Venustech", "TianQing"),
        BodyFormat::Topsec => kv::vendor_kv(out, msg, "Topsec", "NGTOS"),
        BodyFormat::Leadsec => kv::vendor_kv(out, msg, "Leadsec", "Firewall"),
        BodyFormat::Fortigate => kv::vendor_kv(out, msg, "Fortinet", "FortiGate"),
        BodyFormat::Kv => kv::vendor_kv(out, msg, "", ""),
        BodyFormat::MysqlAudit | BodyFormat::Windows => {
            let _ = ctx;
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::Charset;
    use onewall_model::{RegionCode, Source, Timestamp};
    use proptest::prelude::*;

    fn ctx(hint: Option<BodyFormat>) -> ParseContext {
        let mut c = ParseContext::new(
            Timestamp::from_secs(1_773_547_200),
            RegionCode::HENAN,
            Source::new("syslog_udp", None),
        );
        c.format_hint = hint;
        c
    }

    #[test]
    fn format_names_round_trip() {
        for f in BodyFormat::ALL {
            assert_eq!(f.as_str().parse::<BodyFormat>(), Ok(*f));
        }
        assert!("syslog-ng".parse::<BodyFormat>().is_err());
        assert_eq!("Cisco-ASA".parse(), Ok(BodyFormat::CiscoAsa));
    }

    proptest! {
        /// No text panics any body parser, whichever the hint forces.
        #[test]
        fn no_text_panics_a_body_parser(
            text in "[ -~\\t\u{4e00}-\u{4e20}]{0,120}",
            tag in proptest::option::of("[a-zA-Z@()]{1,10}"),
            k in 0usize..BodyFormat::ALL.len(),
        ) {
            let ctx = ctx(Some(BodyFormat::ALL[k]));
            let mut e = Event::new(ctx.received, ctx.region, ctx.source.clone(), text.as_bytes());
            parse_body(&mut e, &text, tag.as_deref(), &ctx, TimeQuality::None);
            let mut e = Event::new(ctx.received, ctx.region, ctx.source.clone(), text.as_bytes());
            parse_body(&mut e, &text, tag.as_deref(), &ParseContext { format_hint: None, ..ctx }, TimeQuality::None);
        }

        /// Prefixes that pick a parser, followed by anything.
        #[test]
        fn no_prefixed_text_panics(
            prefix in prop::sample::select(vec![
                "CEF:0|", "LEEF:2.0|a|b|c|d|^|", "%ASA-6-302013: ", "%%01SECLOG/6/X(l):",
                "日志类型:", "1,2023/06/16 10:41:44,1,TRAFFIC,", "1.2.3.4 - - [", "[pid ",
                "2019/08/25 23:59:53 [", "NOTICE:  AUDIT: SESSION,", "a@FLOW: SESSION: ",
                "SerialNum=1 GenTime=", "devname=a logid=", "Failed password for ",
                "1.2.3.4 - - [25/Aug/2019:23:59:51 ", "%%10MOD/5/X: a(1)=", "pam_unix(",
                "message repeated 2 times: [ ", "CEF:0|a|b|c|d|e|5|", "[Wed Oct 11 14:32:52 2000] [",
                "日志类型=", "2026-03-15 11:58:00 CST [1]: AUDIT: SESSION,",
            ]),
            // ASCII and any other character, so byte offsets land inside multi-byte ones.
            rest in "([ -~]|\\PC){0,80}",
        ) {
            let text = format!("{prefix}{rest}");
            let ctx = ctx(None);
            let mut e = Event::new(ctx.received, ctx.region, ctx.source.clone(), text.as_bytes());
            parse_body(&mut e, &text, Some("sshd"), &ctx, TimeQuality::None);
        }

        /// Any bytes, alone and behind a header, read as every format in every charset.
        #[test]
        fn no_bytes_panic_any_format_or_charset(
            body in proptest::collection::vec(any::<u8>(), 0..200),
            k in 0usize..=BodyFormat::ALL.len(),
            cs in 0usize..3,
        ) {
            let mut c = ctx(BodyFormat::ALL.get(k).copied());
            c.charset = [Charset::Auto, Charset::Utf8, Charset::Gb18030][cs];
            let mut line = b"<134>Mar 15 11:58:00 fw01 sshd[1]: ".to_vec();
            line.extend_from_slice(&body);
            let e = crate::parse::parse_syslog(&line, &c);
            prop_assert_eq!(&*e.raw, &line[..]);
            let e = crate::parse::parse_syslog(&body, &c);
            prop_assert_eq!(&*e.raw, &body[..]);
        }

        /// The JSON shapes (Windows, MySQL audit, nginx JSON) with any values in their keys.
        #[test]
        fn no_values_panic_the_json_shapes(
            shape in 0usize..5,
            values in proptest::collection::vec("([ -~]|\\PC){0,30}", 12),
        ) {
            const SHAPES: [&[&str]; 5] = [
                &["winlog.channel", "winlog.event_id", "winlog.provider_name",
                  "winlog.event_data.UtcTime", "winlog.event_data.User",
                  "winlog.event_data.ProcessId", "winlog.event_data.IpAddress",
                  "winlog.event_data.Protocol", "winlog.event_data.Image"],
                &["EventID", "SourceName", "Channel", "EventType", "EventTime",
                  "NewProcessId", "AccountName", "IpPort", "SourceIp"],
                &["Event.System.EventID", "Event.System.TimeCreated.#attributes.SystemTime",
                  "Event.System.Computer", "Event.EventData.User", "Event.EventData.ProcessId"],
                &["connection_id", "class", "event", "timestamp", "account.user", "login.ip",
                  "connection_data.status", "general_data.status"],
                &["remote_addr", "client_port", "request", "status", "remote_user"],
            ];
            let mut obj = serde_json::Map::new();
            for (key, v) in SHAPES[shape].iter().zip(&values) {
                let value = v.parse::<i64>().map_or_else(|_| serde_json::Value::from(v.as_str()), serde_json::Value::from);
                obj.insert((*key).to_owned(), value);
            }
            let raw = serde_json::to_vec(&obj).expect("a JSON object");
            let e = crate::parse::parse_json_object(&obj, &raw, &ctx(None));
            prop_assert_eq!(&*e.raw, &raw[..]);
        }
    }
}
