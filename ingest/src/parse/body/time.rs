//! The event time a body carries: CEF `rt`/`end`, LEEF `devTime`, PAN-OS generated and
//! receive time, the nginx and Apache error log stamp, a pgAudit `log_line_prefix` time.
//!
//! It becomes the event time only when it says more than the header's
//! ([`TimeQuality`]): a body time with a year beats a BSD header without one, an instant (a
//! zone, or epoch milliseconds) beats a local time, and a record with no header takes it
//! whatever it is. A time without a zone is in the listener's time zone.

use onewall_model::{Event, Timestamp};
use time::UtcOffset;

use super::format::BodyFormat;
use crate::parse::context::ParseContext;
use crate::parse::timestamp::{self, Civil, TimeQuality};

/// Set the body's time on `event` when it says more than the header's (`header`).
pub(crate) fn apply(
    event: &mut Event,
    format: BodyFormat,
    msg: &str,
    ctx: &ParseContext,
    header: TimeQuality,
) {
    if header == TimeQuality::Exact {
        return;
    }
    if let Some((t, quality)) = body_time(event, format, msg, ctx)
        && quality > header
    {
        event.time = t;
    }
}

fn body_time(
    event: &Event,
    format: BodyFormat,
    msg: &str,
    ctx: &ParseContext,
) -> Option<(Timestamp, TimeQuality)> {
    let from_fields = |names: &[&str]| {
        names.iter().find_map(|n| {
            let text = event.get(n)?.as_str()?;
            parse_time(text, ctx)
        })
    };
    match format {
        BodyFormat::Cef => from_fields(&["rt", "deviceReceiptTime", "end", "endTime"]),
        BodyFormat::Leef => from_fields(&["devTime"]),
        BodyFormat::Paloalto => from_fields(&["panos.time_generated", "panos.receive_time"]),
        BodyFormat::HttpError => error_log_time(msg, ctx),
        BodyFormat::Pgaudit => {
            let prefix = &msg[..msg.find("AUDIT: ")?];
            leading_time(prefix.trim_start(), ctx)
        }
        _ => None,
    }
}

/// nginx `2019/08/25 23:59:53 [error] ...` or Apache `[Wed Oct 11 14:32:52 2000] [error] ...`.
fn error_log_time(msg: &str, ctx: &ParseContext) -> Option<(Timestamp, TimeQuality)> {
    let msg = msg.trim_start();
    if let Some(inner) = msg.strip_prefix('[') {
        return parse_time(&inner[..inner.find(']')?], ctx);
    }
    parse_time(msg.get(..19)?, ctx)
}

/// A time at the start of `text` followed by a space (and maybe a zone name): a pgAudit
/// `log_line_prefix` such as `2026-03-15 11:58:00.123 CST [1234]: ...`.
fn leading_time(text: &str, ctx: &ParseContext) -> Option<(Timestamp, TimeQuality)> {
    let (rest, civil) = timestamp::iso_space(text.as_bytes())?;
    let rest = std::str::from_utf8(rest).ok()?;
    let zone_word = rest
        .trim_start()
        .split([' ', '[', ':'])
        .next()
        .unwrap_or("");
    let civil = match zone_name(zone_word) {
        Some(Zone::Offset(o)) => civil.with_offset(o),
        Some(Zone::Local) | None => civil,
    };
    resolve(civil, ctx)
}

/// One time value as devices write it: epoch seconds or milliseconds, RFC 3339,
/// `yyyy-mm-dd hh:mm:ss`, `yyyy/mm/dd hh:mm:ss`, `Mmm dd yyyy hh:mm:ss`, `Mmm dd hh:mm:ss`
/// (also after a weekday, `Wed Oct 11 14:32:52 2000`), each optionally with a fraction and a
/// zone (`Z`, `+08:00`, `UTC`, `CEST` ...). `None` when the text is none of these.
pub(crate) fn parse_time(text: &str, ctx: &ParseContext) -> Option<(Timestamp, TimeQuality)> {
    let text = text.trim();
    if text.bytes().all(|b| b.is_ascii_digit()) {
        let n: i64 = text.parse().ok()?;
        return match text.len() {
            13 => Some((Timestamp::from_millis(n), TimeQuality::Exact)),
            10 => Some((Timestamp::from_secs(n), TimeQuality::Exact)),
            _ => None,
        };
    }
    let b = text.as_bytes();
    let (rest, civil) = timestamp::rfc3339(b, false)
        .ok()
        .or_else(|| timestamp::iso_space(b))
        .or_else(|| timestamp::slash_space(b))
        .or_else(|| timestamp::bsd(b))
        .or_else(|| timestamp::bsd(skip_weekday(b)))?;
    let rest = std::str::from_utf8(rest).ok()?.trim();
    let civil = if rest.is_empty() {
        civil
    } else if civil.offset.is_some() {
        return None;
    } else {
        match zone_name(rest)? {
            Zone::Offset(o) => civil.with_offset(o),
            Zone::Local => civil,
        }
    };
    resolve(civil, ctx)
}

fn resolve(civil: Civil, ctx: &ParseContext) -> Option<(Timestamp, TimeQuality)> {
    let t = civil.resolve(ctx.received, ctx.timezone).ok()?;
    Some((t, civil.quality()))
}

/// `Wed ` before a BSD time.
fn skip_weekday(b: &[u8]) -> &[u8] {
    match b {
        [a, b2, c, b' ', rest @ ..] if [a, b2, c].iter().all(|x| x.is_ascii_alphabetic()) => rest,
        _ => b,
    }
}

enum Zone {
    Offset(UtcOffset),
    /// A zone name that cannot be told apart (`CST` is China and US Central): the listener's.
    Local,
}

/// A zone written after a time: `Z`, `+0800`, `+08:00`, or a name.
fn zone_name(word: &str) -> Option<Zone> {
    if let Some((rest, Ok(o))) = timestamp::zone_offset(word.as_bytes())
        && rest.is_empty()
    {
        return Some(Zone::Offset(o));
    }
    let hours = match word.to_ascii_uppercase().as_str() {
        "UTC" | "GMT" | "UT" => 0,
        "WET" => 0,
        "CET" | "WEST" | "BST" => 1,
        "CEST" | "EET" => 2,
        "EEST" | "MSK" => 3,
        "HKT" | "SGT" | "AWST" => 8,
        "JST" | "KST" => 9,
        "CST" | "IST" | "EST" | "EDT" | "PST" | "PDT" | "MST" | "MDT" | "CDT" => {
            return Some(Zone::Local);
        }
        _ => return None,
    };
    UtcOffset::from_hms(hours, 0, 0).ok().map(Zone::Offset)
}

#[cfg(test)]
mod tests {
    use super::*;
    use onewall_model::{RegionCode, Source};

    fn ctx() -> ParseContext {
        ParseContext::new(
            Timestamp::from_secs(1_773_547_200),
            RegionCode::HENAN,
            Source::new("syslog_udp", None),
        )
    }

    fn at(s: &str) -> Timestamp {
        Timestamp::parse_rfc3339(s).expect("test time")
    }

    #[test]
    fn the_shapes_devices_write() {
        let c = ctx();
        let exact = TimeQuality::Exact;
        let local = TimeQuality::Local;
        for (text, want) in [
            (
                "1629500007043",
                Some((at("2021-08-20T22:53:27.043Z"), exact)),
            ),
            ("1629500007", Some((at("2021-08-20T22:53:27Z"), exact))),
            (
                "2023/06/16 10:41:44",
                Some((at("2023-06-16T10:41:44+08:00"), local)),
            ),
            (
                "2024-03-15 12:00:00",
                Some((at("2024-03-15T12:00:00+08:00"), local)),
            ),
            (
                "2024-03-15T12:00:00Z",
                Some((at("2024-03-15T12:00:00Z"), exact)),
            ),
            (
                "Feb 28 2021 18:20:54",
                Some((at("2021-02-28T18:20:54+08:00"), local)),
            ),
            (
                "May 01 2025 18:00:02.009 CEST",
                Some((at("2025-05-01T18:00:02.009+02:00"), exact)),
            ),
            (
                "Feb 28 2021 18:20:54 UTC",
                Some((at("2021-02-28T18:20:54Z"), exact)),
            ),
            (
                "Feb 28 2021 18:20:54 +0530",
                Some((at("2021-02-28T18:20:54+05:30"), exact)),
            ),
            (
                "Feb 28 2021 18:20:54 CST",
                Some((at("2021-02-28T18:20:54+08:00"), local)),
            ),
            (
                "Wed Oct 11 14:32:52 2000",
                Some((at("2000-10-11T14:32:52+08:00"), local)),
            ),
            (
                "Fri Sep 09 10:42:29.902022 2011",
                Some((at("2011-09-09T10:42:29.902022+08:00"), local)),
            ),
            (
                "Mar 14 10:00:00",
                Some((at("2026-03-14T10:00:00+08:00"), TimeQuality::NoYear)),
            ),
            ("yesterday", None),
            ("12345", None),
            ("Feb 28 2021 18:20:54 nonsense", None),
            ("2026-02-30 00:00:00", None),
        ] {
            assert_eq!(parse_time(text, &c), want, "{text}");
        }
    }

    #[test]
    fn pgaudit_prefix_and_error_logs() {
        let c = ctx();
        assert_eq!(
            leading_time(
                "2026-03-15 11:58:00.5 UTC [1234]: [1-1] user=app LOG:  ",
                &c
            ),
            Some((at("2026-03-15T11:58:00.5Z"), TimeQuality::Exact))
        );
        assert_eq!(
            leading_time("2026-03-15 11:58:00 CST [1234]: ", &c),
            Some((at("2026-03-15T11:58:00+08:00"), TimeQuality::Local))
        );
        assert_eq!(leading_time("NOTICE:  ", &c), None);
        assert_eq!(
            error_log_time("2019/08/25 23:59:53 [error] 9841#9841: x", &c),
            Some((at("2019-08-25T23:59:53+08:00"), TimeQuality::Local))
        );
        assert_eq!(
            error_log_time(
                "[Wed Oct 11 14:32:52 2000] [error] [client 127.0.0.1] x",
                &c
            ),
            Some((at("2000-10-11T14:32:52+08:00"), TimeQuality::Local))
        );
    }
}
