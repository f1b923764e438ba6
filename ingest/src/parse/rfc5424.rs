//! RFC 5424: `<PRI>VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP SD [SP MSG]`.

use onewall_model::event::names::SYSLOG_SD_PREFIX;
use onewall_model::{Event, FieldId, Format, Value};

use super::context::ParseContext;
use super::fields::syslog_names;
use super::header::{set_host, set_message, set_pri, set_procid, snippet, text};
use super::message::finish_text;
use super::timestamp::{self, TimeQuality};

/// `VERSION SP` right after `<PRI>`: one or two digits, not starting with 0.
pub(crate) fn version(i: &[u8]) -> Option<(u8, &[u8])> {
    match i {
        [d @ b'1'..=b'9', b' ', rest @ ..] => Some((d - b'0', rest)),
        [d @ b'1'..=b'9', e @ b'0'..=b'9', b' ', rest @ ..] => {
            Some(((d - b'0') * 10 + (e - b'0'), rest))
        }
        _ => None,
    }
}

/// Parse what follows `<PRI>VERSION SP` into `event`. On a broken header the fields read so
/// far stay, `message` holds the whole line and `parse_error` says what broke.
pub(crate) fn parse(
    event: &mut Event,
    pri: u8,
    version: u8,
    rest: &[u8],
    line: &[u8],
    ctx: &ParseContext,
    bodies: bool,
) {
    event.format = Format::Rfc5424;
    set_pri(event, pri);
    syslog_names()
        .version
        .set(&mut event.fields, Value::Int(i64::from(version)));
    if let Err(e) = header(event, rest, line, ctx, bodies) {
        set_message(event, line, ctx.charset);
        event.parse_error = Some(format!("rfc5424: {e}").into());
    }
}

/// The header fields after VERSION, in order.
fn header(
    event: &mut Event,
    i: &[u8],
    line: &[u8],
    ctx: &ParseContext,
    bodies: bool,
) -> Result<(), String> {
    let n = syslog_names();
    // Validated once: each field below is then borrowed from it, not checked again.
    let whole = Whole::new(line);
    let (i, ts) = field(i, "TIMESTAMP", "HOSTNAME")?;
    let header_time = if ts == b"-" {
        TimeQuality::None
    } else {
        TimeQuality::Exact
    };
    if ts != b"-" {
        let civil = match timestamp::rfc3339(ts, true) {
            Ok((b"", civil)) => civil,
            Ok((extra, _)) => {
                return Err(format!(
                    "invalid timestamp {}: unexpected {:?} after the zone",
                    snippet(ts),
                    String::from_utf8_lossy(extra)
                ));
            }
            Err(reason) => return Err(format!("invalid timestamp {}: {reason}", snippet(ts))),
        };
        event.time = civil
            .resolve(ctx.received, ctx.timezone)
            .map_err(|reason| format!("invalid timestamp {}: {reason}", snippet(ts)))?;
    }
    let (i, host) = field(i, "HOSTNAME", "APP-NAME")?;
    if host != b"-" {
        set_host(event, whole.text(host));
    }
    let (i, app) = field(i, "APP-NAME", "PROCID")?;
    if app != b"-" {
        n.process_name
            .set(&mut event.fields, Value::str(whole.text(app)));
    }
    let (i, procid) = field(i, "PROCID", "MSGID")?;
    if procid != b"-" {
        set_procid(event, procid);
    }
    let (i, msgid) = field(i, "MSGID", "STRUCTURED-DATA")?;
    if msgid != b"-" {
        n.msgid
            .set(&mut event.fields, Value::str(whole.text(msgid)));
    }
    let i = structured_data(event, i, &whole).map_err(|(at, what)| {
        // `at` is a suffix of `line`: its column there, counted from 1.
        let column = line.len() - at.len() + 1;
        format!("invalid STRUCTURED-DATA at column {column}: {what}")
    })?;
    match i {
        b"" => Ok(()),
        [b' ', msg @ ..] => {
            finish_text(event, msg, whole.utf8(msg), ctx, bodies, header_time);
            Ok(())
        }
        other => Err(format!(
            "expected a space after STRUCTURED-DATA, found {}",
            snippet(other)
        )),
    }
}

/// One header field (`name`, followed by `next`) and the single space after it.
fn field<'a>(i: &'a [u8], name: &str, next: &str) -> Result<(&'a [u8], &'a [u8]), String> {
    // Header fields are short: a plain scan beats setting up a vector search.
    match i.iter().position(|&b| b == b' ') {
        Some(end) if end > 0 => Ok((&i[end + 1..], &i[..end])),
        Some(_) => Err(format!("empty {name} (two spaces in a row)")),
        None if i.is_empty() => Err(format!("header ends before {name}")),
        None => Err(format!("header ends after {name}, expected {next}")),
    }
}

type SdError<'a> = (&'a [u8], &'static str);

/// `-` or one or more `[SD-ID *(SP PARAM-NAME="PARAM-VALUE")]`; sets one field per param.
fn structured_data<'a>(
    event: &mut Event,
    i: &'a [u8],
    whole: &Whole<'_>,
) -> Result<&'a [u8], SdError<'a>> {
    if let Some(rest) = i.strip_prefix(b"-") {
        return Ok(rest);
    }
    if i.first() != Some(&b'[') {
        return Err((i, "expected '-' or '['"));
    }
    let mut i = i;
    // `log.syslog.structured_data.<SD-ID>.` once per element, the param name appended to it.
    let mut name: Vec<u8> = Vec::with_capacity(64);
    while let Some(rest) = i.strip_prefix(b"[") {
        let (rest, id) = sd_name(rest).ok_or((rest, "expected an SD-ID"))?;
        name.clear();
        name.extend_from_slice(SYSLOG_SD_PREFIX.as_bytes());
        name.push(b'.');
        name.extend_from_slice(id);
        name.push(b'.');
        let element_len = name.len();
        let mut rest = rest;
        loop {
            match rest {
                [b']', after @ ..] => {
                    rest = after;
                    break;
                }
                [b' ', after @ ..] => {
                    let (after, param) = sd_name(after).ok_or((after, "expected a PARAM-NAME"))?;
                    let after = after.strip_prefix(b"=").ok_or((after, "expected '='"))?;
                    let after = after.strip_prefix(b"\"").ok_or((after, "expected '\"'"))?;
                    let (after, value) = param_value(after, whole)?;
                    name.truncate(element_len);
                    name.extend_from_slice(param);
                    add_param(event, &name, value);
                    rest = after;
                }
                [] => return Err((rest, "unterminated SD-ELEMENT, expected ']'")),
                _ => return Err((rest, "expected ' ' or ']'")),
            }
        }
        i = rest;
    }
    Ok(i)
}

/// SD-NAME: 1 to 32 printable US-ASCII characters except `=`, space, `]` and `"`.
fn sd_name(i: &[u8]) -> Option<(&[u8], &[u8])> {
    let head = &i[..i.len().min(32)];
    let n = head
        .iter()
        .position(|&b| !(33..=126).contains(&b) || matches!(b, b'=' | b']' | b'"'))
        .unwrap_or(head.len());
    (n > 0).then(|| (&i[n..], &i[..n]))
}

/// PARAM-VALUE after its opening quote, up to the closing one; `\"`, `\\` and `\]` unescaped,
/// any other backslash kept as written (RFC 5424 section 6.3.3).
fn param_value<'a>(i: &'a [u8], whole: &Whole<'_>) -> Result<(&'a [u8], Value), SdError<'a>> {
    // Most values hold no backslash: one look for the end, no copy until the value is built.
    let Some(end) = memchr::memchr2(b'"', b'\\', i) else {
        return Err((&i[i.len()..], "unterminated PARAM-VALUE, expected '\"'"));
    };
    if i[end] == b'"' {
        return Ok((&i[end + 1..], Value::str(whole.text(&i[..end]))));
    }
    let mut out = Vec::with_capacity(i.len().min(256));
    let mut k = 0;
    while k < i.len() {
        match i[k] {
            b'"' => return Ok((&i[k + 1..], Value::str(text(&out)))),
            b'\\' if matches!(i.get(k + 1), Some(b'"' | b'\\' | b']')) => {
                out.push(i[k + 1]);
                k += 2;
            }
            b => {
                out.push(b);
                k += 1;
            }
        }
    }
    Err((&i[i.len()..], "unterminated PARAM-VALUE, expected '\"'"))
}

/// The record's line, and the same as text when it is all UTF-8 (the common case): parts of
/// it are then borrowed as text without being validated one by one.
struct Whole<'a> {
    line: &'a [u8],
    utf8: Option<&'a str>,
}

impl<'a> Whole<'a> {
    fn new(line: &'a [u8]) -> Self {
        Whole {
            line,
            utf8: std::str::from_utf8(line).ok(),
        }
    }

    /// `part`, a slice of the line, as the same slice of its text; `None` when the line is not
    /// UTF-8 or `part` does not lie within it on character boundaries.
    fn utf8(&self, part: &[u8]) -> Option<&'a str> {
        let start = (part.as_ptr() as usize).checked_sub(self.line.as_ptr() as usize)?;
        self.utf8?.get(start..start.checked_add(part.len())?)
    }

    /// `part` as text: borrowed from the line's, else validated (lossy) on its own.
    fn text<'p>(&self, part: &'p [u8]) -> std::borrow::Cow<'p, str>
    where
        'a: 'p,
    {
        match self.utf8(part) {
            Some(t) => std::borrow::Cow::Borrowed(t),
            None => text(part),
        }
    }
}

thread_local! {
    /// Recently seen structured-data field names and their ids: a source sends the same few
    /// SD-IDs and params on every record, so most lookups end here without hashing.
    static SD_NAMES: std::cell::RefCell<Vec<(Box<[u8]>, FieldId)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

const SD_NAME_CACHE: usize = 64;

fn sd_field_id(name: &[u8]) -> Option<FieldId> {
    SD_NAMES.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some((_, id)) = cache.iter().find(|(n, _)| **n == *name) {
            return Some(*id);
        }
        let id = FieldId::intern(&String::from_utf8_lossy(name))?;
        if cache.len() >= SD_NAME_CACHE {
            cache.remove(0);
        }
        cache.push((name.into(), id));
        Some(id)
    })
}

/// A param repeated within its element becomes a list of its values.
fn add_param(event: &mut Event, name: &[u8], value: Value) {
    let Some(id) = sd_field_id(name) else {
        // The interner is full: keep the name as text.
        let name = String::from_utf8_lossy(name);
        let value = match event.fields.remove(&name) {
            None => value,
            Some(Value::List(mut l)) => {
                l.push(value);
                Value::List(l)
            }
            Some(old) => Value::List(vec![old, value]),
        };
        event.fields.insert(&name, value);
        return;
    };
    let value = match event.fields.get_id(id) {
        None => value,
        Some(Value::List(l)) => {
            let mut l = l.clone();
            l.push(value);
            Value::List(l)
        }
        Some(old) => Value::List(vec![old.clone(), value]),
    };
    event.fields.insert_id(id, value);
}
