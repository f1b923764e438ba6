//! nginx and Apache access logs (common, combined, vhost_combined, with extra fields after) and
//! error logs (nginx `yyyy/mm/dd hh:mm:ss [level] pid#tid: ...`, Apache `[date] [module:level]
//! [pid n] [client ip:port] ...`).

use time::UtcOffset;

use super::out::{Out, ecs};
use crate::parse::timestamp::Civil;

/// `[dd/Mon/yyyy:hh:mm:ss +zzzz]` somewhere after the client address.
pub(crate) fn looks_like_access(m: &str) -> bool {
    m.find(" [").is_some_and(|p| {
        let t = &m.as_bytes()[p + 2..];
        t.len() > 21 && t[2] == b'/' && t[6] == b'/' && t[11] == b':'
    })
}

pub(crate) fn looks_like_error(m: &str) -> bool {
    let b = m.as_bytes();
    let nginx = b.len() > 21
        && b[4] == b'/'
        && b[7] == b'/'
        && b[10] == b' '
        && b[19] == b' '
        && b[20] == b'[';
    let apache = m.starts_with('[')
        && (m.contains("] [error]")
            || m.contains("] [pid ")
            || m.contains(":error]")
            || m.contains(":info]")
            || m.contains(":warn]")
            || m.contains("] [notice]"));
    nginx || apache
}

fn month(name: &str) -> Option<u8> {
    const M: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    M.iter().position(|m| *m == name).map(|p| p as u8 + 1)
}

fn num<T: std::str::FromStr>(s: &str) -> Option<T> {
    s.parse().ok()
}

/// `25/Aug/2019:23:59:51 +0000`.
fn access_time(t: &str) -> Option<Civil> {
    let (date, zone) = t.split_once(' ')?;
    let mut p = date.splitn(4, [':', '/']);
    let (d, mo, y, rest) = (p.next()?, p.next()?, p.next()?, p.next()?);
    let mut hms = rest.splitn(3, ':');
    let zb = zone.as_bytes();
    if zb.len() != 5 {
        return None;
    }
    let sign: i8 = if zb[0] == b'-' { -1 } else { 1 };
    // `get`: five bytes are not five characters when the zone is not ASCII.
    let zh: i8 = num(zone.get(1..3)?)?;
    let zm: i8 = num(zone.get(3..5)?)?;
    Some(Civil {
        year: Some(num(y)?),
        month: month(mo)?,
        day: num(d)?,
        hour: num(hms.next()?)?,
        minute: num(hms.next()?)?,
        second: num(hms.next()?)?,
        nanos: 0,
        offset: UtcOffset::from_hms(sign * zh, sign * zm, 0).ok(),
    })
}

/// A quoted field starting at `s[0] == '"'`; returns it (escapes kept) and the rest.
fn quoted(s: &str) -> Option<(&str, &str)> {
    let body = s.strip_prefix('"')?;
    let b = body.as_bytes();
    let mut k = 0;
    while k < b.len() {
        match b[k] {
            b'\\' => k += 2,
            b'"' => return Some((&body[..k], &body[k + 1..])),
            _ => k += 1,
        }
    }
    None
}

pub(crate) fn access(out: &mut Out<'_>, msg: &str) -> bool {
    let Some(open) = msg.find(" [") else {
        return false;
    };
    let Some(close) = msg[open..].find(']').map(|p| open + p) else {
        return false;
    };
    let prefix: Vec<&str> = msg[..open].split_whitespace().collect();
    // The client is the first word that is an address (after a vhost, `-` or `host:port`).
    let Some(ip_at) = prefix
        .iter()
        .position(|w| w.parse::<std::net::IpAddr>().is_ok())
    else {
        return false;
    };
    out.ip(ecs::SOURCE_IP, prefix[ip_at]);
    if ip_at > 0 && prefix[ip_at - 1] != "-" {
        out.str("url.domain", prefix[ip_at - 1]);
    }
    let user = prefix
        .get(ip_at + 2..)
        .map(|w| w.join(" "))
        .unwrap_or_default();
    if !user.is_empty() && user.split(' ').any(|w| w != "-") {
        out.str(ecs::USER_NAME, &user);
    }
    if let Some(civil) = access_time(&msg[open + 2..close])
        && let Ok(t) = civil.resolve(out.event.received, UtcOffset::UTC)
    {
        out.event.time = t;
    }
    let mut rest = msg[close + 1..].trim_start();
    // Some formats put a `"-"` before the request.
    let mut request = None;
    while let Some((q, after)) = quoted(rest) {
        rest = after.trim_start();
        if q != "-" || rest.starts_with('"') {
            if q != "-" {
                request = Some(q);
                break;
            }
        } else {
            request = Some(q);
            break;
        }
    }
    let Some(request) = request else {
        return false;
    };
    let mut parts = request.split(' ');
    if let (Some(method), Some(url)) = (parts.next(), parts.next())
        && method.bytes().all(|c| c.is_ascii_uppercase())
        && !method.is_empty()
    {
        out.str(ecs::HTTP_METHOD, method);
        out.str(ecs::URL_ORIGINAL, url);
        if let Some(v) = parts.next().and_then(|v| v.strip_prefix("HTTP/")) {
            out.str("http.version", v);
        }
    }
    out.str("http.request.line", request);
    let mut words = rest.split(' ');
    if let Some(status) = words.next() {
        out.int(ecs::HTTP_STATUS, status);
    }
    if let Some(bytes) = words.next() {
        out.int("http.response.body.bytes", bytes);
    }
    let after_bytes = rest.splitn(3, ' ').nth(2).unwrap_or("").trim_start();
    if let Some((referrer, after)) = quoted(after_bytes) {
        if referrer != "-" {
            out.str("http.request.referrer", referrer);
        }
        if let Some((agent, _)) = quoted(after.trim_start())
            && agent != "-"
        {
            out.str("user_agent.original", agent);
        }
    }
    true
}

pub(crate) fn error(out: &mut Out<'_>, msg: &str) -> bool {
    if !msg.starts_with('[') {
        // nginx: `2019/08/25 23:59:53 [error] 9841#9841: *103137592 text, client: ip, server: ..`
        let Some(lvl_end) = msg.get(20..).and_then(|m| m.find(']')).map(|p| 20 + p) else {
            return false;
        };
        if let Some(level) = msg.get(21..lvl_end) {
            out.str(ecs::LOG_LEVEL, level);
        }
        let rest = msg[lvl_end + 1..].trim_start();
        if let Some((pid, _)) = rest.split_once('#') {
            out.int("process.pid", pid);
        }
        if let Some(p) = rest.find("client: ") {
            let ip = rest[p + 8..].split(',').next().unwrap_or("");
            out.ip(ecs::SOURCE_IP, ip);
        }
        if let Some(p) = rest.find("request: \"") {
            let req = &rest[p + 10..];
            let mut w = req.split(' ');
            if let (Some(m), Some(u)) = (w.next(), w.next()) {
                out.str(ecs::HTTP_METHOD, m);
                out.str(ecs::URL_ORIGINAL, u);
            }
        }
        return true;
    }
    // Apache: bracketed groups.
    let mut rest = msg;
    while let Some(inner) = rest.strip_prefix('[') {
        let Some(end) = inner.find(']') else { break };
        let group = &inner[..end];
        if let Some(pid) = group.strip_prefix("pid ") {
            out.int("process.pid", pid.split(':').next().unwrap_or(pid));
        } else if let Some(client) = group.strip_prefix("client ") {
            let client = client.trim();
            match client.rsplit_once(':') {
                Some((ip, port)) if ip.parse::<std::net::IpAddr>().is_ok() => {
                    out.ip(ecs::SOURCE_IP, ip);
                    out.int(ecs::SOURCE_PORT, port);
                }
                _ => out.ip(ecs::SOURCE_IP, client),
            }
        } else if matches!(
            group.rsplit(':').next(),
            Some("error" | "warn" | "info" | "notice" | "crit" | "alert" | "emerg" | "debug")
        ) {
            let (module, level) = group.rsplit_once(':').unwrap_or(("", group));
            out.str(ecs::LOG_LEVEL, level);
            if !module.is_empty() {
                out.str("apache.error.module", module);
            }
        }
        rest = inner[end + 1..].trim_start();
    }
    // `(70014)End of file found: [client 1.1.1.1 :42114]`
    if let Some(p) = rest.find("[client ") {
        let c = &rest[p + 8..];
        let ip = c.split([' ', ']', ':']).next().unwrap_or("");
        out.ip(ecs::SOURCE_IP, ip);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A zone of five bytes that are not five ASCII characters (`éaé`) once panicked the
    /// parser (and with it the UDP listener); it is now a time that does not parse.
    #[test]
    fn a_zone_that_is_not_ascii_is_no_time() {
        assert_eq!(access_time("25/Aug/2019:23:59:51 \u{e9}a\u{e9}"), None);
        assert_eq!(access_time("25/Aug/2019:23:59:51 +\u{e9}00"), None);
        assert_eq!(access_time("25/Aug/2019:23:59:51 +00\u{e9}"), None);
        let t = access_time("25/Aug/2019:23:59:51 -0130").expect("a time");
        assert_eq!((t.day, t.hour), (25, 23));
        assert_eq!(t.offset, UtcOffset::from_hms(-1, -30, 0).ok());
    }

    #[test]
    fn an_access_line_with_such_a_zone_still_parses() {
        let mut event = onewall_model::Event::new(
            onewall_model::Timestamp::from_secs(1_773_547_200),
            onewall_model::RegionCode::HENAN,
            onewall_model::Source::new("syslog_udp", None),
            b"",
        );
        let line = "1.2.3.4 - - [25/Aug/2019:23:59:51 \u{e9}a\u{e9}] \"GET / HTTP/1.1\" 200 1";
        assert!(access(&mut Out { event: &mut event }, line));
        assert_eq!(
            event.get(ecs::URL_ORIGINAL).and_then(|v| v.as_str()),
            Some("/")
        );
        // The bad zone leaves the received time.
        assert_eq!(event.time, event.received);
    }
}
