//! RFC 3164 (BSD syslog): `[<PRI>]TIMESTAMP SP [HOSTNAME SP] TAG[\[PID\]]: MSG`.
//!
//! TIMESTAMP is `Mmm dd hh:mm:ss` (also with a fraction, with a year after it, Cisco's
//! `Mmm dd yyyy hh:mm:ss`), or RFC 3339 as rsyslog forwards it. The hostname is missing when
//! the first word after the timestamp already ends in `:` (`sshd[42]: ...`, as a local socket
//! writes it). TAG is the first word, up to `[`, `:` or a space, as rsyslog reads it.
//!
//! Vendor variants: `yyyy-mm-dd hh:mm:ss` (Huawei, Hillstone, optionally followed by `,`),
//! `Mmm dd hh:mm:ss yyyy` (H3C), `Mmm dd yyyy hh:mm:ss:` (Cisco), spaces after `>` or before the
//! timestamp, no timestamp at all after `<PRI>` (Huawei `<190>USG6000E %%01...`), and a relay's
//! second header (`Mmm dd hh:mm:ss relay Mmm dd hh:mm:ss host ...`): the inner header gives the
//! time and host, the relay's name goes to `log.syslog.relay`. A message starting with `CEF:`,
//! `LEEF:` or `%`, or whose first word has a comma (CSV such as PAN-OS), has no TAG.

use memchr::memchr;
use onewall_model::{Event, Format, Value};

use super::context::ParseContext;
use super::fields::syslog_names;
use super::header::{set_host, set_pri, set_procid, text};
use super::message::finish;
use super::timestamp::{self, Civil, TimeQuality};

/// There was no RFC 3164 timestamp where one must be; nothing was set on the event.
#[derive(Debug)]
pub(crate) struct NoTimestamp;

/// Parse `input` (what follows `<PRI>`, or the whole line when there is none) into `event`.
pub(crate) fn parse(
    event: &mut Event,
    pri: Option<u8>,
    input: &[u8],
    ctx: &ParseContext,
    bodies: bool,
) -> Result<(), NoTimestamp> {
    let input = skip_spaces(input);
    let Some((rest, civil)) = read_timestamp(input) else {
        let Some(pri) = pri else {
            return Err(NoTimestamp);
        };
        // No timestamp after `<PRI>`: `HOST %%...` as Huawei sends it.
        let (host, after) = host(input).ok_or(NoTimestamp)?;
        let after = skip_spaces(after);
        if host.starts_with(b"%") || !after.starts_with(b"%%") {
            return Err(NoTimestamp);
        }
        event.format = Format::Rfc3164;
        set_pri(event, pri);
        set_host(event, text(host));
        let rest = after;
        let msg = tag(event, rest);
        finish(event, msg, ctx, bodies, TimeQuality::None);
        return Ok(());
    };
    event.format = Format::Rfc3164;
    if let Some(pri) = pri {
        set_pri(event, pri);
    }
    let mut header_time = TimeQuality::None;
    match civil.resolve(ctx.received, ctx.timezone) {
        Ok(t) => {
            event.time = t;
            header_time = civil.quality();
        }
        Err(reason) => {
            let text = &input[..input.len() - rest.len()];
            event.parse_error = Some(
                format!(
                    "rfc3164: invalid timestamp {:?}: {reason}",
                    String::from_utf8_lossy(text)
                )
                .into(),
            );
        }
    }
    let rest = skip_spaces(rest);
    let mut rest = match host(rest) {
        Some((host, after)) => {
            set_host(event, text(host));
            skip_spaces(after)
        }
        None => rest,
    };
    // A relay's header before the device's own: the inner one is the record's.
    if let Some((after, inner)) = read_timestamp(rest)
        && let Some((host_name, after_host)) = host(skip_spaces(after))
    {
        if let Some(relay) = event.fields.remove(syslog_names().host_name.name) {
            event.fields.remove(syslog_names().host_ip.name);
            event.fields.insert(SYSLOG_RELAY, relay);
        }
        if let Ok(t) = inner.resolve(ctx.received, ctx.timezone) {
            event.time = t;
            header_time = inner.quality();
        }
        set_host(event, text(host_name));
        rest = skip_spaces(after_host);
    }
    let msg = tag(event, rest);
    finish(event, msg, ctx, bodies, header_time);
    Ok(())
}

/// The relay that forwarded a record with its own header in front (the first of two headers).
pub const SYSLOG_RELAY: &str = "log.syslog.relay";

fn read_timestamp(input: &[u8]) -> Option<(&[u8], Civil)> {
    if let Some(found) = timestamp::bsd(input) {
        return Some(found);
    }
    if let Some((rest, civil)) = timestamp::iso_space(input) {
        let rest = rest.strip_prefix(b",").unwrap_or(rest);
        if rest.is_empty() || rest[0] == b' ' {
            return Some((rest, civil));
        }
    }
    match timestamp::rfc3339(input, false) {
        Ok((rest, civil)) if rest.is_empty() || rest[0] == b' ' => Some((rest, civil)),
        _ => None,
    }
}

fn skip_spaces(i: &[u8]) -> &[u8] {
    let n = i.iter().take_while(|&&b| b == b' ').count();
    &i[n..]
}

/// The hostname, unless the first word is already the tag (ends in `:`).
fn host(i: &[u8]) -> Option<(&[u8], &[u8])> {
    let end = memchr(b' ', i).unwrap_or(i.len());
    let word = &i[..end];
    if word.is_empty() || word.ends_with(b":") {
        return None;
    }
    // A lone word is a message, not a host.
    if end == i.len() {
        return None;
    }
    Some((word, &i[end..]))
}

/// Read `TAG[PID]:` and return the message after it (and after one space).
fn tag<'a>(event: &mut Event, i: &'a [u8]) -> &'a [u8] {
    let end = i
        .iter()
        .position(|&b| matches!(b, b' ' | b'[' | b':' | b','))
        .unwrap_or(i.len());
    // A word with a comma is no TAG: the message is CSV (PAN-OS `1,2026/03/15 ...`).
    if end == 0
        || i.get(end) == Some(&b',')
        || i.starts_with(b"%")
        || i.starts_with(b"CEF:")
        || i.starts_with(b"LEEF:")
    {
        return i;
    }
    let (name, mut rest) = i.split_at(end);
    let mut pid: Option<&[u8]> = None;
    if let Some(after) = rest.strip_prefix(b"[")
        && let Some(close) = memchr(b']', after)
    {
        pid = Some(&after[..close]);
        rest = &after[close + 1..];
    }
    // A word that runs into the end, with no `:` or `[pid]`, is a one-word message.
    if rest.is_empty() && pid.is_none() {
        return i;
    }
    syslog_names()
        .process_name
        .set(&mut event.fields, Value::str(String::from_utf8_lossy(name)));
    if let Some(pid) = pid {
        set_procid(event, pid);
    }
    let rest = rest.strip_prefix(b":").unwrap_or(rest);
    rest.strip_prefix(b" ").unwrap_or(rest)
}
