//! Syslog: the `<PRI>` header, format detection, and what RFC 5424 and RFC 3164 share.

use nom::Parser;
use nom::bytes::complete::take_while_m_n;
use nom::character::complete::char;
use nom::sequence::delimited;
use onewall_model::{Event, Format, Value};

use super::body;
use super::charset::decode_checked;
use super::context::{ParseContext, begin, end};
use super::fields::{ORGANIZATION_NAME, syslog_names};
use super::header::{set_message, snippet};
use super::timestamp::TimeQuality;
use super::{rfc3164, rfc5424};

/// Parse one syslog record. Never fails: a record that is not syslog becomes an event with
/// [`Format::Unknown`], its text in `message` and a `parse_error` saying what was wrong; a
/// record that is syslog but breaks part-way keeps the fields read so far and its error.
///
/// Detects RFC 5424 (`<PRI>1 TIMESTAMP HOST APP PROCID MSGID SD MSG`) and RFC 3164
/// (`<PRI>Mmm dd hh:mm:ss host tag[pid]: msg`, also without `<PRI>`, with a year, or with an
/// RFC 3339 timestamp). Trailing `\n`, `\r` and `\0` are not part of the record. The raw bytes
/// are always kept on the event.
///
/// The message is then read as text (UTF-8, else GB18030, or the listener's charset) and its
/// body recognised ([`super::BodyFormat`], named in `log.format`). A line with no syslog header
/// whose body is recognised (a bare `%ASA-...`, `CEF:...`, a FortiGate `key=value` line) keeps
/// `format = unknown` with no `parse_error`; a line that is a JSON object is read as
/// [`Format::Json`].
pub fn parse_syslog(raw: &[u8], ctx: &ParseContext) -> Event {
    parse_with(raw, ctx, true)
}

/// The syslog header only: like [`parse_syslog`], with the message kept as text and its body
/// not recognised (no `log.format`, no vendor fields). For relays and for measuring the header
/// parsers on their own.
pub fn parse_syslog_header(raw: &[u8], ctx: &ParseContext) -> Event {
    parse_with(raw, ctx, false)
}

fn parse_with(raw: &[u8], ctx: &ParseContext, bodies: bool) -> Event {
    let mut event = parse_record(raw, ctx, bodies);
    end(&mut event, ctx);
    event
}

fn parse_record(raw: &[u8], ctx: &ParseContext, bodies: bool) -> Event {
    let mut event = Event::new(ctx.received, ctx.region, ctx.source.clone(), raw);
    begin(&mut event, ctx);
    // A syslog header sets about a dozen fields: room for them and a few from the body, so the
    // vector does not grow field by field.
    event.fields.reserve(16);
    if let Some(dept) = &ctx.department {
        event
            .fields
            .insert(ORGANIZATION_NAME, Value::str(dept.as_ref()));
    }
    let line = trim_end(raw);
    match pri(line) {
        Pri::Valid(pri, rest) => match rfc5424::version(rest) {
            Some((version, rest)) => {
                rfc5424::parse(&mut event, pri, version, rest, line, ctx, bodies)
            }
            None => {
                if rfc3164::parse(&mut event, Some(pri), rest, ctx, bodies).is_err() {
                    event.format = Format::Rfc3164;
                    set_message(&mut event, rest, ctx.charset);
                    event.parse_error = Some(
                        format!(
                            "rfc3164: no timestamp after \"<{pri}>\", found {}",
                            snippet(rest)
                        )
                        .into(),
                    );
                }
            }
        },
        Pri::Invalid(reason) => unknown(
            &mut event,
            line,
            format!("not syslog: {reason}"),
            ctx,
            bodies,
        ),
        Pri::Absent => {
            let trimmed = skip_spaces(line);
            if trimmed.first() == Some(&b'{') && json_line(&mut event, trimmed, ctx) {
                return event;
            }
            if rfc3164::parse(&mut event, None, line, ctx, bodies).is_err() {
                unknown(
                    &mut event,
                    line,
                    "not syslog: missing '<PRI>' header and no RFC 3164 timestamp".to_owned(),
                    ctx,
                    bodies,
                );
            }
        }
    }
    event
}

fn skip_spaces(i: &[u8]) -> &[u8] {
    let n = i.iter().take_while(|b| matches!(b, b' ' | b'\t')).count();
    &i[n..]
}

/// A JSON object on one line (a trailing `,` as in MySQL's audit arrays is allowed).
fn json_line(event: &mut Event, line: &[u8], ctx: &ParseContext) -> bool {
    let body = line.strip_suffix(b",").unwrap_or(line);
    let Ok(obj) = serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(body) else {
        return false;
    };
    let parsed = super::json::parse_json_object(&obj, &event.raw, ctx);
    *event = parsed;
    true
}

/// The record without the line terminators and padding senders add.
fn trim_end(raw: &[u8]) -> &[u8] {
    let end = raw
        .iter()
        .rposition(|b| !matches!(b, b'\n' | b'\r' | b'\0'))
        .map_or(0, |p| p + 1);
    &raw[..end]
}

enum Pri<'a> {
    /// The priority and the input after `>`.
    Valid(u8, &'a [u8]),
    Invalid(String),
    Absent,
}

fn pri(line: &[u8]) -> Pri<'_> {
    if line.first() != Some(&b'<') {
        return Pri::Absent;
    }
    // The common shapes, read by position.
    match line {
        [b'<', d @ b'0'..=b'9', b'>', rest @ ..] => return Pri::Valid(d - b'0', rest),
        [b'<', a @ b'1'..=b'9', b @ b'0'..=b'9', b'>', rest @ ..] => {
            return Pri::Valid((a - b'0') * 10 + (b - b'0'), rest);
        }
        _ => {}
    }
    let parsed: nom::IResult<&[u8], &[u8]> = delimited(
        char('<'),
        take_while_m_n(1, 3, |b: u8| b.is_ascii_digit()),
        char('>'),
    )
    .parse(line);
    match parsed {
        Ok((rest, digits)) => {
            let value = digits
                .iter()
                .fold(0u32, |acc, b| acc * 10 + u32::from(b - b'0'));
            match u8::try_from(value) {
                Ok(p) if p <= 191 => Pri::Valid(p, rest),
                _ => Pri::Invalid(format!(
                    "invalid '<PRI>' header \"<{value}>\": priority above 191"
                )),
            }
        }
        Err(_) => Pri::Invalid(format!(
            "invalid '<PRI>' header {}: expected '<' 1 to 3 digits '>'",
            snippet(line)
        )),
    }
}

/// No syslog header: the whole line is the message. When its body is recognised the event has
/// no parse error, else `error`.
fn unknown(event: &mut Event, line: &[u8], error: String, ctx: &ParseContext, bodies: bool) {
    event.format = Format::Unknown;
    let (text, bad_text) = decode_checked(line, ctx.charset, "line");
    syslog_names()
        .message
        .set(&mut event.fields, Value::str(text.as_ref()));
    if !bodies || body::parse_body(event, &text, None, ctx, TimeQuality::None).is_none() {
        event.parse_error = Some(error.into());
    } else if let Some(e) = bad_text {
        event.parse_error = Some(e.into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use onewall_model::{RegionCode, Source, Timestamp};
    use proptest::prelude::*;

    fn ctx() -> ParseContext {
        ParseContext::new(
            Timestamp::from_secs(1_773_547_200),
            RegionCode::HENAN,
            Source::new("syslog_udp", None),
        )
    }

    #[test]
    fn empty_and_terminator_only_records_are_unknown() {
        for raw in [&b""[..], b"\n", b"\r\n\0"] {
            let e = parse_syslog(raw, &ctx());
            assert_eq!(e.format, Format::Unknown);
            assert_eq!(&*e.raw, raw);
            assert!(e.parse_error.is_some());
            assert_eq!(e.get("message"), Some(&Value::str("")));
        }
    }

    #[test]
    fn snippets_are_short_and_quoted() {
        assert_eq!(snippet(b"abc def"), "\"abc\"");
        assert_eq!(snippet(&[b'x'; 50]), format!("\"{}\"...", "x".repeat(40)));
    }

    proptest! {
        #[test]
        fn any_bytes_make_an_event_that_keeps_them(raw in proptest::collection::vec(any::<u8>(), 0..300)) {
            let e = parse_syslog(&raw, &ctx());
            prop_assert_eq!(&*e.raw, &raw[..]);
        }

        #[test]
        fn any_text_after_a_5424_header_parses(
            host in "[!-~]{1,20}", app in "[!-~]{1,20}", msg in "\\PC{0,80}",
        ) {
            let line = format!("<14>1 2026-03-15T04:00:00Z {host} {app} - - - {msg}");
            let e = parse_syslog(line.as_bytes(), &ctx());
            prop_assert_eq!(e.format, Format::Rfc5424);
            prop_assert_eq!(e.parse_error.as_deref(), None);
            let host_field = if host == "-" { None } else { Some(Value::str(host.as_str())) };
            prop_assert_eq!(e.get("host.name").cloned(), host_field);
            let msg = msg.trim_end_matches(['\n', '\r', '\0']);
            let msg = msg.strip_prefix('\u{feff}').unwrap_or(msg);
            prop_assert_eq!(e.get("message").and_then(Value::as_str), Some(msg));
        }

        /// Round trip: a valid RFC 5424 line built from generated parts parses back into
        /// exactly those parts.
        #[test]
        fn rfc5424_round_trip(
            pri in 0u8..=191,
            (y, mo, d, h, mi, s) in (1970i32..2100, 1u8..=12, 1u8..=28, 0u8..24, 0u8..60, 0u8..60),
            micros in proptest::option::of(0u32..1_000_000),
            zone_min in -720i32..=840,
            host in proptest::option::of("[!-~&&[^-]][!-~]{0,30}"),
            app in proptest::option::of("[a-zA-Z][a-zA-Z0-9_.]{0,20}"),
            pid in proptest::option::of(1i64..1_000_000),
            msgid in proptest::option::of("[A-Z][A-Z0-9]{0,10}"),
            params in proptest::collection::vec(("[a-z]{1,8}", "[ -~]{0,20}"), 0..4),
            msg in proptest::option::of("[ -~]{0,60}"),
        ) {
            let zone = if zone_min == 0 {
                "Z".to_owned()
            } else {
                let sign = if zone_min < 0 { '-' } else { '+' };
                format!("{sign}{:02}:{:02}", zone_min.abs() / 60, zone_min.abs() % 60)
            };
            let frac = micros.map(|m| format!(".{m:06}")).unwrap_or_default();
            let ts = format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{frac}{zone}");
            // Names unique within the element so each param is one field.
            let mut seen = std::collections::BTreeMap::new();
            for (k, v) in &params {
                seen.insert(k.clone(), v.clone());
            }
            let sd = if seen.is_empty() {
                "-".to_owned()
            } else {
                let body: String = seen
                    .iter()
                    .map(|(k, v)| {
                        let esc = v.replace('\\', "\\\\").replace('"', "\\\"").replace(']', "\\]");
                        format!(" {k}=\"{esc}\"")
                    })
                    .collect();
                format!("[ex@32473{body}]")
            };
            let opt = |o: &Option<String>| o.clone().unwrap_or_else(|| "-".to_owned());
            let line = format!(
                "<{pri}>1 {ts} {} {} {} {} {sd}{}",
                opt(&host),
                opt(&app),
                pid.map_or("-".to_owned(), |p| p.to_string()),
                opt(&msgid),
                msg.as_ref().map(|m| format!(" {m}")).unwrap_or_default(),
            );
            let e = parse_syslog(line.as_bytes(), &ctx());
            prop_assert_eq!(e.format, Format::Rfc5424, "{}", line);
            prop_assert_eq!(e.parse_error.as_deref(), None, "{}", line);
            prop_assert_eq!(e.get("log.syslog.priority"), Some(&Value::Int(i64::from(pri))));
            prop_assert_eq!(e.time, Timestamp::parse_rfc3339(&ts).expect("generated time"));
            prop_assert_eq!(e.get("host.name").and_then(Value::as_str), host.as_deref());
            prop_assert_eq!(e.get("process.name").and_then(Value::as_str), app.as_deref());
            prop_assert_eq!(e.get("process.pid").cloned(), pid.map(Value::Int));
            prop_assert_eq!(e.get("log.syslog.msgid").and_then(Value::as_str), msgid.as_deref());
            for (k, v) in &seen {
                let name = format!("log.syslog.structured_data.ex@32473.{k}");
                prop_assert_eq!(e.get(&name).and_then(Value::as_str), Some(v.as_str()));
            }
            if let Some(m) = &msg {
                prop_assert_eq!(e.get("message").and_then(Value::as_str), Some(m.trim_end_matches(['\n', '\r', '\0'])));
            }
        }

        #[test]
        fn any_text_after_a_3164_header_is_the_message(msg in "[ -~]{0,80}") {
            let line = format!("<38>Mar 15 11:58:00 web01 sshd[7]: {msg}");
            let e = parse_syslog(line.as_bytes(), &ctx());
            prop_assert_eq!(e.format, Format::Rfc3164);
            prop_assert_eq!(e.parse_error.as_deref(), None);
            prop_assert_eq!(e.get("process.pid"), Some(&Value::Int(7)));
            prop_assert_eq!(e.get("message").and_then(Value::as_str), Some(msg.as_str()));
        }
    }
}
