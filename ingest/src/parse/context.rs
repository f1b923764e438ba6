//! What a parser knows about a record besides its bytes ([`ParseContext`]), and what every
//! parse does first and last (the field bound, the listener's department).

use onewall_model::{Event, Fields, RegionCode, Source, Timestamp, Value};
use time::UtcOffset;

use super::body::format::BodyFormat;
use super::charset::Charset;
use super::fields::{FIELDS_TRUNCATED, ORGANIZATION_NAME, SENT_ORGANIZATION_NAME};

/// What a parser needs to know about a record besides its bytes.
///
/// Build it with [`ParseContext::new`] and set the per-listener source tags on it: `timezone`,
/// `charset`, `format_hint` and `department`.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseContext {
    /// When this node received the record.
    pub received: Timestamp,
    /// The region the record belongs to (the collector's region).
    pub region: RegionCode,
    /// The collector and peer it came from.
    pub source: Source,
    /// The zone of timestamps that carry none (RFC 3164 `Mmm dd hh:mm:ss`). Default +08:00.
    pub timezone: UtcOffset,
    /// How text that is not ASCII is read. Default [`Charset::Auto`]: UTF-8, else GB18030.
    pub charset: Charset,
    /// The body format the listener's devices send, when auto-detection should not guess.
    /// `None` (the default) detects the format from the bytes.
    pub format_hint: Option<BodyFormat>,
    /// The department the sending devices belong to; set on every event as
    /// [`ORGANIZATION_NAME`] (`organization.name`). It wins over a value the record itself
    /// carries there, which is kept as [`SENT_ORGANIZATION_NAME`].
    pub department: Option<Box<str>>,
    /// The most fields a record's parse sets (0: no bound). Keys past it stay in the raw
    /// bytes only; the event says how many in [`FIELDS_TRUNCATED`]. Default
    /// [`DEFAULT_MAX_FIELDS_PER_EVENT`].
    pub max_fields_per_event: usize,
}

/// The default bound on the fields a record's parse sets: events carry tens of fields, a
/// Windows or firewall record a few hundred at most.
pub const DEFAULT_MAX_FIELDS_PER_EVENT: usize = 1000;

/// China Standard Time, the default zone of timestamps that carry none.
pub const DEFAULT_TIMEZONE: UtcOffset = time::macros::offset!(+8);

impl ParseContext {
    /// A context in the default time zone (+08:00).
    pub fn new(received: Timestamp, region: RegionCode, source: Source) -> Self {
        ParseContext {
            received,
            region,
            source,
            timezone: DEFAULT_TIMEZONE,
            charset: Charset::Auto,
            format_hint: None,
            department: None,
            max_fields_per_event: DEFAULT_MAX_FIELDS_PER_EVENT,
        }
    }
}

/// Start a record's parse: bound its fields to the context's `max_fields_per_event`.
pub(crate) fn begin(event: &mut Event, ctx: &ParseContext) {
    event.fields.limit(ctx.max_fields_per_event);
}

/// End a record's parse (safe to repeat): lift the bound on its fields, noting in
/// [`FIELDS_TRUNCATED`] how many keys it refused, and make the listener's department the
/// record's, keeping a different one the record carried as [`SENT_ORGANIZATION_NAME`].
pub(crate) fn end(event: &mut Event, ctx: &ParseContext) {
    let refused = event.fields.unlimit();
    if refused > 0 {
        let earlier = match event.fields.get(FIELDS_TRUNCATED) {
            Some(Value::Int(n)) => *n,
            _ => 0,
        };
        let total = earlier.saturating_add(i64::try_from(refused).unwrap_or(i64::MAX));
        event.fields.insert(FIELDS_TRUNCATED, Value::Int(total));
    }
    stamp_department(&mut event.fields, ctx.department.as_deref());
}

/// Set `organization.name` to the listener's department, when it has one; a different value
/// already there (the sender's own) moves to [`SENT_ORGANIZATION_NAME`]. The listener's
/// department is what access control trusts, so a sender cannot choose it.
pub fn stamp_department(fields: &mut Fields, department: Option<&str>) {
    let Some(dept) = department else {
        return;
    };
    match fields.get(ORGANIZATION_NAME) {
        Some(Value::Str(v)) if &**v == dept => return,
        Some(sent) => {
            let sent = sent.clone();
            fields.insert(SENT_ORGANIZATION_NAME, sent);
        }
        None => {}
    }
    fields.insert(ORGANIZATION_NAME, Value::str(dept));
}
