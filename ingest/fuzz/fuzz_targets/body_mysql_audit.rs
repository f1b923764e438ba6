//! MySQL Enterprise Audit JSON on arbitrary values: the input (as text, one value per line)
//! fills the shape's keys; bytes that are a JSON object also go through whole. Never a panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;

#[path = "../common/shape.rs"]
mod shape;

const MYSQL: &[&str] = &[
    "connection_id",
    "class",
    "event",
    "timestamp",
    "account.user",
    "login.user",
    "login.ip",
    "connection_data.status",
    "general_data.status",
    "general_data.query",
];

fuzz_target!(|data: &[u8]| {
    shape::check(MYSQL, data);
    if let Ok(Value::Object(mut obj)) = serde_json::from_slice::<Value>(data) {
        shape::check_object(&obj, data);
        obj.insert("connection_id".into(), Value::from(1));
        obj.insert("class".into(), Value::from("general"));
        shape::check_object(&obj, data);
    }
});
