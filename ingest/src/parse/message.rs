//! A record's message: set as `message` in the listener's charset, then its body recognised.

use std::borrow::Cow;

use onewall_model::{Event, Value};

use super::body;
use super::charset::{Charset, decode_checked};
use super::context::ParseContext;
use super::fields::syslog_names;
use super::timestamp::TimeQuality;

/// The message of a record: set as `message` (decoded in the listener's charset), then its
/// body recognised. `process.name` (the TAG or APP-NAME) helps pick the body format.
pub(crate) fn finish(
    event: &mut Event,
    msg: &[u8],
    ctx: &ParseContext,
    bodies: bool,
    header_time: TimeQuality,
) {
    finish_text(event, msg, None, ctx, bodies, header_time);
}

/// [`finish`], given the message as text when the caller already knows it is UTF-8.
pub(crate) fn finish_text(
    event: &mut Event,
    msg: &[u8],
    utf8: Option<&str>,
    ctx: &ParseContext,
    bodies: bool,
    header_time: TimeQuality,
) {
    let msg = msg.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(msg);
    let (text, bad_text) = match utf8 {
        Some(t) if ctx.charset != Charset::Gb18030 => {
            (Cow::Borrowed(t.strip_prefix('\u{feff}').unwrap_or(t)), None)
        }
        _ => decode_checked(msg, ctx.charset, "message"),
    };
    if let Some(e) = bad_text
        && event.parse_error.is_none()
    {
        event.parse_error = Some(e.into());
    }
    let n = syslog_names();
    n.message.set(&mut event.fields, Value::str(text.as_ref()));
    if !bodies {
        return;
    }
    let tag = match event.fields.get(n.process_name.name) {
        Some(Value::Str(t)) => Some(t.clone()),
        _ => None,
    };
    body::parse_body(event, &text, tag.as_deref(), ctx, header_time);
}
