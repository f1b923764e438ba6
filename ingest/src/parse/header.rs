//! Setting what the syslog headers (RFC 5424 and RFC 3164) share: priority, host, process id,
//! message text, and the snippet error messages quote.

use std::borrow::Cow;

use onewall_model::{Event, Value};

use super::charset::{Charset, decode};
use super::fields::syslog_names;

/// Set priority, facility and severity.
pub(crate) fn set_pri(event: &mut Event, pri: u8) {
    let n = syslog_names();
    n.priority
        .set(&mut event.fields, Value::Int(i64::from(pri)));
    n.facility
        .set(&mut event.fields, Value::Int(i64::from(pri >> 3)));
    n.severity
        .set(&mut event.fields, Value::Int(i64::from(pri & 7)));
}

/// Set `host.name`, and `host.ip` too when the name is an address.
pub(crate) fn set_host(event: &mut Event, host: Cow<'_, str>) {
    let n = syslog_names();
    // Only a name starting with a hex digit or ':' can be an address.
    let maybe_ip = host.starts_with(|c: char| c.is_ascii_hexdigit() || c == ':');
    if maybe_ip && let Ok(ip) = host.parse::<std::net::IpAddr>() {
        n.host_ip.set(&mut event.fields, Value::Ip(ip));
    }
    n.host_name.set(&mut event.fields, Value::str(host));
}

/// Set `process.pid` when the id is a number, else `log.syslog.procid`.
pub(crate) fn set_procid(event: &mut Event, procid: &[u8]) {
    let n = syslog_names();
    let numeric = !procid.is_empty() && procid.len() <= 18 && procid.iter().all(u8::is_ascii_digit);
    if numeric {
        let pid = procid
            .iter()
            .fold(0i64, |acc, b| acc * 10 + i64::from(b - b'0'));
        n.process_pid.set(&mut event.fields, Value::Int(pid));
    } else if !procid.is_empty() {
        n.procid.set(&mut event.fields, Value::str(text(procid)));
    }
}

/// Set `message`: the text without a UTF-8 byte order mark, in `charset`.
pub(crate) fn set_message(event: &mut Event, msg: &[u8], charset: Charset) {
    let msg = msg.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(msg);
    syslog_names()
        .message
        .set(&mut event.fields, Value::str(decode(msg, charset)));
}

/// UTF-8 as is, else lossy.
pub(crate) fn text(b: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(b) {
        Ok(s) => std::borrow::Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(b),
    }
}

/// The start of `text` for an error message: up to its first space, at most 40 bytes, quoted.
pub(crate) fn snippet(text: &[u8]) -> String {
    let end = memchr::memchr(b' ', text).unwrap_or(text.len());
    let cut = &text[..end.min(40)];
    let more = if cut.len() < end { "..." } else { "" };
    format!("{:?}{more}", String::from_utf8_lossy(cut))
}
