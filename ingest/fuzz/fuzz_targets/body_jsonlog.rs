//! nginx JSON access logs (the JSON shape of `http_access`) on arbitrary values: the input (as
//! text, one value per line) fills the shape's keys; bytes that are a JSON object also go
//! through whole, and as an NDJSON line behind a syslog header. Never a panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;

#[path = "../common/shape.rs"]
mod shape;

const NGINX: &[&str] = &[
    "remote_addr",
    "client_address",
    "client_port",
    "request",
    "status",
    "response_status",
    "remote_user",
    "time_local",
    "@timestamp",
];

fuzz_target!(|data: &[u8]| {
    shape::check(NGINX, data);
    if let Ok(Value::Object(obj)) = serde_json::from_slice::<Value>(data) {
        shape::check_object(&obj, data);
    }
    let mut line = b"<134>Mar 15 11:58:00 web01 nginx: ".to_vec();
    line.extend_from_slice(data);
    let e = onewall_ingest::parse_syslog(&line, &shape::ctx());
    assert_eq!(&*e.raw, &line[..]);
});
