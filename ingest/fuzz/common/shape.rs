//! Shared by the JSON shape targets: a flattened-or-nested object with a shape's keys, its
//! values taken from the fuzzer's bytes, through `parse_json_object`.

#![allow(dead_code)] // each target uses a part

use onewall_ingest::{ParseContext, parse_json_object};
use onewall_model::{RegionCode, Source, Timestamp};
use serde_json::{Map, Value};

pub fn ctx() -> ParseContext {
    ParseContext::new(
        Timestamp::from_secs(1_773_547_200),
        RegionCode::HENAN,
        Source::new("fuzz", None),
    )
}

/// A value from one line of input: a number when it reads as one, else text.
fn value(line: &str) -> Value {
    match line.parse::<i64>() {
        Ok(n) => Value::from(n),
        Err(_) => match serde_json::from_str::<Value>(line) {
            Ok(v) if !v.is_string() => v,
            _ => Value::String(line.to_owned()),
        },
    }
}

/// Fill `keys` (dotted names, set flat) with the lines of `rest` and parse the object; then
/// the same nested one level (`a.b` as `{"a": {"b": ..}}`).
pub fn check(keys: &[&str], rest: &[u8]) {
    let text = String::from_utf8_lossy(rest);
    let mut lines = text.split('\n');
    let mut flat = Map::new();
    let mut nested = Map::new();
    for key in keys {
        let v = value(lines.next().unwrap_or("x"));
        flat.insert((*key).to_owned(), v.clone());
        match key.split_once('.') {
            Some((head, tail)) => {
                let inner = nested
                    .entry(head.to_owned())
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(m) = inner {
                    m.insert(tail.to_owned(), v);
                }
            }
            None => {
                nested.insert((*key).to_owned(), v);
            }
        }
    }
    check_object(&flat, rest);
    check_object(&nested, rest);
}

pub fn check_object(obj: &Map<String, Value>, raw: &[u8]) {
    let e = parse_json_object(obj, raw, &ctx());
    assert_eq!(&*e.raw, raw);
}
