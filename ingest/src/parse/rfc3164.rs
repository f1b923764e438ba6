//! RFC 3164 (BSD syslog): `[<PRI>]TIMESTAMP SP [HOSTNAME SP] TAG[\[PID\]]: MSG`.
//!
//! TIMESTAMP is `Mmm dd hh:mm:ss` (also with a fraction, with a year after it, Cisco's
//! `Mmm dd yyyy hh:mm:ss`), or RFC 3339 as rsyslog forwards it. The hostname is missing when
//! the first word after the timestamp already ends in `:` (`sshd[42]: ...`, as a local socket
//! writes it). TAG is the first word, up to `[`, `:` or a space, as rsyslog reads it.

use memchr::memchr;
use onewall_model::{Event, Format, Value};

use super::ParseContext;
use super::fields::syslog_names;
use super::syslog::{set_host, set_message, set_pri, set_procid};
use super::timestamp::{self, Civil};

/// There was no RFC 3164 timestamp where one must be; nothing was set on the event.
#[derive(Debug)]
pub(crate) struct NoTimestamp;

/// Parse `input` (what follows `<PRI>`, or the whole line when there is none) into `event`.
pub(crate) fn parse(
    event: &mut Event,
    pri: Option<u8>,
    input: &[u8],
    ctx: &ParseContext,
) -> Result<(), NoTimestamp> {
    let (rest, civil) = read_timestamp(input).ok_or(NoTimestamp)?;
    event.format = Format::Rfc3164;
    if let Some(pri) = pri {
        set_pri(event, pri);
    }
    match civil.resolve(ctx.received, ctx.timezone) {
        Ok(t) => event.time = t,
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
    let rest = match host(rest) {
        Some((host, after)) => {
            set_host(event, host);
            skip_spaces(after)
        }
        None => rest,
    };
    let msg = tag(event, rest);
    set_message(event, msg);
    Ok(())
}

fn read_timestamp(input: &[u8]) -> Option<(&[u8], Civil)> {
    if let Some(found) = timestamp::bsd(input) {
        return Some(found);
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
        .position(|&b| matches!(b, b' ' | b'[' | b':'))
        .unwrap_or(i.len());
    if end == 0 {
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
