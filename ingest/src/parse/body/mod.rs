//! Message bodies: the vendor formats inside a syslog message (or a whole line sent without a
//! syslog header). Each recognised body sets [`LOG_FORMAT`](super::LOG_FORMAT) to its
//! [`BodyFormat`] name, ECS-style fields, and the vendor's own keys under their own names.

mod cef;
mod cisco;
pub(super) mod format;
mod hillstone;
mod jsonlog;
mod kv;
mod linux;
mod out;
mod paloalto;
mod pgaudit;
mod time;
mod web;
mod windows;

use onewall_model::Event;

pub use format::BodyFormat;
pub(crate) use jsonlog::enrich_json;
use out::Out;

use super::context::ParseContext;
use super::timestamp::TimeQuality;

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
