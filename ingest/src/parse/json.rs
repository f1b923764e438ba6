//! JSON records: one object to an event, and an HTTP body split into objects.

use onewall_model::{Event, Format, Timestamp, Value};
use serde_json::value::RawValue;
use serde_json::{Map, Value as Json};

use super::context::{ParseContext, begin, end};
use crate::error::BodyError;

/// One record of an HTTP body: its raw bytes as sent, and the object they hold.
pub type JsonRecord = (Vec<u8>, Map<String, Json>);

use super::flatten::{TIME_FIELDS, flatten_object};

/// One JSON object as an event: `format = Json`, nested objects flattened into dotted names
/// (`{"source":{"ip":..}}` sets `source.ip`), arrays kept as one list value. The event time is
/// the first of `@timestamp`, `timestamp`, `time` that holds RFC 3339 text (that field then
/// holds the time as a typed value); otherwise the receive time, and the field stays as sent.
/// At most `ctx.max_fields_per_event` fields are set (see [`super::FIELDS_TRUNCATED`]); the
/// listener's department wins over the record's `organization.name`.
pub fn parse_json_object(obj: &Map<String, Json>, raw: &[u8], ctx: &ParseContext) -> Event {
    let mut event = json_event(raw, ctx);
    for (key, value) in obj {
        event.fields.insert_json(key, value);
    }
    let times = TIME_FIELDS.map(|name| match obj.get(name) {
        Some(Json::String(text)) => Some(text.as_str()),
        _ => None,
    });
    finish_json(event, times, ctx)
}

/// [`parse_json_object`] over the object's JSON text, flattened as it is read (no object is
/// built): the same event. `Err` with the kind of value when `text` is valid JSON but not an
/// object, or the parser's error when it is not JSON.
pub fn parse_json_text(
    text: &str,
    ctx: &ParseContext,
) -> Result<Result<Event, &'static str>, serde_json::Error> {
    let mut event = json_event(text.as_bytes(), ctx);
    let flat = match flatten_object(text, &mut event.fields)? {
        Ok(flat) => flat,
        Err(kind) => return Ok(Err(kind)),
    };
    let times = [0, 1, 2].map(|i| flat.times[i].as_deref());
    Ok(Ok(finish_json(event, times, ctx)))
}

/// A JSON record's event before its fields are set.
fn json_event(raw: &[u8], ctx: &ParseContext) -> Event {
    let mut event = Event::new(ctx.received, ctx.region, ctx.source.clone(), raw);
    event.format = Format::Json;
    begin(&mut event, ctx);
    if let Some(dept) = &ctx.department {
        event
            .fields
            .insert(super::fields::ORGANIZATION_NAME, Value::str(dept.as_ref()));
    }
    event
}

/// The event time from the first of [`TIME_FIELDS`] whose top-level text (`times`, by
/// position) is RFC 3339, then the shape's ECS fields and the field bound's note.
fn finish_json(mut event: Event, times: [Option<&str>; 3], ctx: &ParseContext) -> Event {
    for (name, text) in TIME_FIELDS.iter().zip(times) {
        if let Some(text) = text
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

/// An HTTP ingest body as events: what [`split_http_body`] splits it into, each record through
/// [`parse_json_object`], with the same errors; the records are flattened as they are read.
pub fn parse_http_body(body: &[u8], ctx: &ParseContext) -> Result<Vec<Event>, BodyError> {
    let body = strip_bom(body);
    let mut events = Vec::new();
    each_record(body, |raw, place| {
        match parse_json_text(raw.get(), ctx).map_err(|e| syntax(&e))? {
            Ok(event) => events.push(event),
            Err(found) => return Err(not_object(body, place, found)),
        }
        Ok(())
    })?;
    Ok(events)
}

/// Split an HTTP ingest body into records: one JSON object, a JSON array of objects, or NDJSON
/// (objects one per line; blank lines and `\r\n` are fine). Each record comes with its own raw
/// bytes. Any malformed part fails the whole body, with an error naming the line (or the array
/// element, counted from 1) and what was wrong. An empty array gives no records.
pub fn split_http_body(body: &[u8]) -> Result<Vec<JsonRecord>, BodyError> {
    let body = strip_bom(body);
    let mut records = Vec::new();
    each_record(body, |raw, place| {
        match serde_json::from_str(raw.get()).map_err(|e| syntax(&e))? {
            Json::Object(map) => records.push((raw.get().as_bytes().to_vec(), map)),
            other => return Err(not_object(body, place, kind(&other))),
        }
        Ok(())
    })?;
    Ok(records)
}

fn strip_bom(body: &[u8]) -> &[u8] {
    body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body)
}

/// Where a record of a body is: its array element (from 1), or the byte its line starts at.
#[derive(Debug, Clone, Copy)]
enum Place {
    Element(usize),
    At(usize),
}

/// The record at `place` of `body` is not an object but `found`. The line is counted only
/// now: counting it for every record made a large body quadratic.
fn not_object(body: &[u8], place: Place, found: &'static str) -> BodyError {
    match place {
        Place::Element(index) => BodyError::ElementNotObject { index, found },
        Place::At(at) => BodyError::LineNotObject {
            line: line_of(body, at),
            found,
        },
    }
}

/// Each record of `body` (without its BOM) in order, with its place: the elements of a
/// top-level array, else the JSON values one after another. The first error stops.
fn each_record<'a>(
    body: &'a [u8],
    mut each: impl FnMut(&'a RawValue, Place) -> Result<(), BodyError>,
) -> Result<(), BodyError> {
    let Some(start) = body.iter().position(|b| !b.is_ascii_whitespace()) else {
        return Err(BodyError::Empty);
    };
    if body[start] == b'[' {
        let elements: Vec<&RawValue> = serde_json::from_slice(body).map_err(|e| syntax(&e))?;
        for (k, raw) in elements.into_iter().enumerate() {
            each(raw, Place::Element(k + 1))?;
        }
        return Ok(());
    }
    let mut stream = serde_json::Deserializer::from_slice(body).into_iter::<&RawValue>();
    let mut from = 0;
    while let Some(item) = stream.next() {
        let raw = item.map_err(|e| syntax(&e))?;
        let end = stream.byte_offset();
        let at = from + leading_ws(&body[from..end]);
        from = end;
        each(raw, Place::At(at))?;
    }
    Ok(())
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

    fn ctx() -> ParseContext {
        ParseContext::new(
            Timestamp::parse_rfc3339("2026-11-28T10:00:00Z").expect("time"),
            onewall_model::RegionCode::HENAN,
            onewall_model::Source::new("http", None),
        )
    }

    /// An event's fields by name (the orders of the two paths follow the object type's).
    fn sorted(e: &Event) -> Vec<(String, Value)> {
        let mut f: Vec<_> = e
            .fields
            .iter()
            .map(|(k, v)| (k.to_owned(), v.clone()))
            .collect();
        f.sort_by(|a, b| a.0.cmp(&b.0));
        f
    }

    fn corpus_records() -> Vec<String> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus");
        let mut out = Vec::new();
        for f in [
            "formats/windows-winlogbeat.ndjson",
            "formats/windows-nxlog.ndjson",
            "formats/mysql-enterprise-audit.ndjson",
        ] {
            let text = std::fs::read_to_string(dir.join(f)).unwrap_or_default();
            out.extend(
                text.lines()
                    .filter(|l| serde_json::from_str::<Map<String, Json>>(l).is_ok())
                    .map(str::to_owned),
            );
        }
        out
    }

    #[test]
    fn flattening_while_reading_gives_the_events_of_the_parsed_object() {
        let mut records: Vec<String> = [
            r#"{"a":{"b":{"c":1,"d":"x"},"e":[1,{"f":2},"g"]},"h":null,"i":true,"j":-5}"#,
            r#"{"big":18446744073709551615,"f":1.5,"e":1e2,"empty":{},"nested":{"empty":{}}}"#,
            r#"{"k\u00e9y":"v\n\"q\"","dup":1,"dup":2,"sp ace":{"x.y":"z"}}"#,
            r#"{"@timestamp":"2024-11-12T08:40:34.260Z","time":{"a":1},"timestamp":3}"#,
            r#"{"time":"not a time","timestamp":"2020-01-02T03:04:05+08:00"}"#,
            r#"{"winlog":{"channel":"Security","event_id":"4625","event_data":{"TargetUserName":"bob"}}}"#,
            r##"{"Event":{"System":{"EventID":4624,"Channel":"Security","TimeCreated":{"#attributes":{"SystemTime":"2019-03-19T23:34:04.574060Z"}}},"EventData":{"LogonType":3}}}"##,
            "{}",
        ]
        .map(str::to_owned)
        .to_vec();
        records.extend(corpus_records());
        let ctx = ctx();
        for text in &records {
            let obj: Map<String, Json> = serde_json::from_str(text).expect("object");
            let want = parse_json_object(&obj, text.as_bytes(), &ctx);
            let got = parse_json_text(text, &ctx).expect("json").expect("object");
            assert_eq!(sorted(&got), sorted(&want), "{text}");
            assert_eq!(
                (got.time, &got.raw, got.format),
                (want.time, &want.raw, want.format)
            );
        }
        let nested = parse_json_text(r#"{"a":{"b":{"c":1}},"a2":{}}"#, &ctx)
            .expect("json")
            .expect("object");
        assert_eq!(nested.fields.get("a.b.c"), Some(&Value::Int(1)));
        assert_eq!(nested.fields.get("a2"), Some(&Value::Null));
        assert_eq!(
            parse_json_text("[1]", &ctx).expect("json").map(|_| ()),
            Err("an array")
        );
        assert!(parse_json_text("{\"a\":", &ctx).is_err());
    }

    #[test]
    fn a_field_bound_counts_the_same_on_both_paths() {
        let mut ctx = ctx();
        ctx.max_fields_per_event = 3;
        let text = r#"{"a":1,"b":{"c":2,"d":3},"e":4,"f":[5],"@timestamp":"2024-11-12T08:40:34Z"}"#;
        let obj: Map<String, Json> = serde_json::from_str(text).expect("object");
        let want = parse_json_object(&obj, text.as_bytes(), &ctx);
        let got = parse_json_text(text, &ctx).expect("json").expect("object");
        assert_eq!(got.fields.len(), want.fields.len());
        assert_eq!(
            got.fields.get(super::super::FIELDS_TRUNCATED),
            want.fields.get(super::super::FIELDS_TRUNCATED)
        );
        assert_eq!(got.time, want.time, "the time is read past the bound too");
    }

    #[test]
    fn a_body_parsed_whole_gives_the_split_records_events_and_errors() {
        let ctx = ctx();
        let bodies = [
            "{\"a\":1}\r\n\r\n{\"b\":{\"c\":2}}\n{\"a\":3}",
            "[{\"a\":1}, {\"b\":2} ]",
            "\u{feff}{\"a\": 1}",
            "[]",
            "  \r\n ",
            "{\"a\":1}\n{\"a\":2}\n{\"a\": }",
            "[{\"a\":1}, 42]",
            "{\"a\":1}\n\n\"x\"\n",
            "[{\"a\":1}] x",
            "{\"a\":1}\n{\"b\":",
            "{\"a\":1}\n[1]\n",
        ];
        for body in bodies {
            let split = split_http_body(body.as_bytes()).map_err(|e| e.to_string());
            let whole = parse_http_body(body.as_bytes(), &ctx).map_err(|e| e.to_string());
            match (split, whole) {
                (Ok(records), Ok(events)) => {
                    assert_eq!(records.len(), events.len(), "{body:?}");
                    for ((raw, obj), e) in records.iter().zip(&events) {
                        let want = parse_json_object(obj, raw, &ctx);
                        assert_eq!(sorted(e), sorted(&want), "{body:?}");
                        assert_eq!(e.raw, want.raw, "{body:?}");
                    }
                }
                (Err(a), Err(b)) => assert_eq!(a, b, "{body:?}"),
                (a, b) => panic!("{body:?}: split {:?}, whole {:?}", a.is_ok(), b.is_ok()),
            }
        }
    }
}
