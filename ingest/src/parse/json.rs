//! JSON records: one object to an event, and an HTTP body split into objects.

use onewall_model::{Event, Format, Timestamp, Value};
use serde_json::value::RawValue;
use serde_json::{Map, Value as Json};

use super::context::{ParseContext, begin, end};
use crate::error::BodyError;

/// One record of an HTTP body: its raw bytes as sent, and the object they hold.
pub type JsonRecord = (Vec<u8>, Map<String, Json>);

/// Fields, in order of preference, whose RFC 3339 text is taken as the event time.
const TIME_FIELDS: [&str; 3] = ["@timestamp", "timestamp", "time"];

/// One JSON object as an event: `format = Json`, nested objects flattened into dotted names
/// (`{"source":{"ip":..}}` sets `source.ip`), arrays kept as one list value. The event time is
/// the first of `@timestamp`, `timestamp`, `time` that holds RFC 3339 text (that field then
/// holds the time as a typed value); otherwise the receive time, and the field stays as sent.
/// At most `ctx.max_fields_per_event` fields are set (see [`super::FIELDS_TRUNCATED`]); the
/// listener's department wins over the record's `organization.name`.
pub fn parse_json_object(obj: &Map<String, Json>, raw: &[u8], ctx: &ParseContext) -> Event {
    let mut event = Event::new(ctx.received, ctx.region, ctx.source.clone(), raw);
    event.format = Format::Json;
    begin(&mut event, ctx);
    if let Some(dept) = &ctx.department {
        event
            .fields
            .insert(super::fields::ORGANIZATION_NAME, Value::str(dept.as_ref()));
    }
    for (key, value) in obj {
        event.fields.insert_json(key, value);
    }
    for name in TIME_FIELDS {
        if let Some(Json::String(text)) = obj.get(name)
            && let Ok(t) = Timestamp::parse_rfc3339(text)
        {
            event.time = t;
            // Past the field bound the key may not be a field: nothing to retype then.
            if event.fields.get(name).is_some() {
                event.fields.insert(name, Value::Time(t));
            }
            break;
        }
    }
    super::body::enrich_json(&mut event, ctx);
    end(&mut event, ctx);
    event
}

/// Split an HTTP ingest body into records: one JSON object, a JSON array of objects, or NDJSON
/// (objects one per line; blank lines and `\r\n` are fine). Each record comes with its own raw
/// bytes. Any malformed part fails the whole body, with an error naming the line (or the array
/// element, counted from 1) and what was wrong. An empty array gives no records.
pub fn split_http_body(body: &[u8]) -> Result<Vec<JsonRecord>, BodyError> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let start = body.iter().position(|b| !b.is_ascii_whitespace());
    let Some(start) = start else {
        return Err(BodyError::Empty);
    };
    if body[start] == b'[' {
        return split_array(body);
    }
    let mut records = Vec::new();
    let mut stream = serde_json::Deserializer::from_slice(body).into_iter::<&RawValue>();
    let mut from = 0;
    while let Some(item) = stream.next() {
        let raw = item.map_err(|e| syntax(&e))?;
        let end = stream.byte_offset();
        let line = line_of(body, from + leading_ws(&body[from..end]));
        from = end;
        let value: Json = serde_json::from_str(raw.get()).map_err(|e| syntax(&e))?;
        match value {
            Json::Object(map) => records.push((raw.get().as_bytes().to_vec(), map)),
            other => {
                return Err(BodyError::LineNotObject {
                    line,
                    found: kind(&other),
                });
            }
        }
    }
    Ok(records)
}

fn split_array(body: &[u8]) -> Result<Vec<JsonRecord>, BodyError> {
    let elements: Vec<&RawValue> = serde_json::from_slice(body).map_err(|e| syntax(&e))?;
    let mut records = Vec::with_capacity(elements.len());
    for (k, raw) in elements.into_iter().enumerate() {
        let value: Json = serde_json::from_str(raw.get()).map_err(|e| syntax(&e))?;
        match value {
            Json::Object(map) => records.push((raw.get().as_bytes().to_vec(), map)),
            other => {
                return Err(BodyError::ElementNotObject {
                    index: k + 1,
                    found: kind(&other),
                });
            }
        }
    }
    Ok(records)
}

fn leading_ws(b: &[u8]) -> usize {
    b.iter().take_while(|b| b.is_ascii_whitespace()).count()
}

/// The 1-based line of byte `at`.
fn line_of(body: &[u8], at: usize) -> usize {
    1 + memchr::memchr_iter(b'\n', &body[..at.min(body.len())]).count()
}

fn syntax(e: &serde_json::Error) -> BodyError {
    // serde_json's message ends in " at line L column C"; keep the reason alone.
    let text = e.to_string();
    let reason = match text.rfind(" at line ") {
        Some(cut) => text[..cut].to_owned(),
        None => text,
    };
    BodyError::Syntax {
        line: e.line(),
        column: e.column(),
        reason,
    }
}

fn kind(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Split = Vec<(String, Map<String, Json>)>;

    fn split(body: &str) -> Result<Split, String> {
        split_http_body(body.as_bytes())
            .map(|v| {
                v.into_iter()
                    .map(|(raw, m)| (String::from_utf8_lossy(&raw).into_owned(), m))
                    .collect()
            })
            .map_err(|e| e.to_string())
    }

    #[test]
    fn one_object_array_and_ndjson() {
        let one = split(" {\"a\": 1}\n").expect("object");
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].0, "{\"a\": 1}");
        let pretty = split("{\n  \"a\": {\n    \"b\": 2\n  }\n}").expect("pretty object");
        assert_eq!(pretty.len(), 1);
        let arr = split("[{\"a\":1}, {\"b\":2} ]").expect("array");
        assert_eq!(arr.len(), 2);
        assert_eq!(arr[1].0, "{\"b\":2}");
        let nd = split("{\"a\":1}\r\n\r\n{\"a\":2}\n{\"a\":3}").expect("ndjson");
        assert_eq!(nd.len(), 3);
        assert_eq!(nd[2].1["a"], 3);
        assert_eq!(split("[]").expect("empty array").len(), 0);
    }

    #[test]
    fn errors_name_the_problem() {
        assert_eq!(
            split("  \r\n ").expect_err("must be refused"),
            "body is empty"
        );
        assert_eq!(
            split("{\"a\":1}\n{\"a\":2}\n{\"a\": }").expect_err("must be refused"),
            "line 3: expected value at column 7"
        );
        assert_eq!(
            split("[{\"a\":1}, 42]").expect_err("must be refused"),
            "element 2 of the array is a number, expected an object"
        );
        assert_eq!(
            split("{\"a\":1}\n\n\"x\"\n").expect_err("must be refused"),
            "line 3: value is a string, expected an object"
        );
        assert_eq!(
            split("[{\"a\":1}] x").expect_err("must be refused"),
            "line 1: trailing characters at column 11"
        );
        assert_eq!(
            split("{\"a\":1}\n{\"b\":").expect_err("must be refused"),
            "line 2: EOF while parsing a value at column 5"
        );
        assert_eq!(
            split_http_body(b"[]x")
                .map_err(|e| e.code())
                .expect_err("must be refused"),
            "invalid_argument"
        );
    }
}
