//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod windows;

use onewall_model::{Event, RegionCode, Source, Timestamp};

/// The repository's `testdata/rules` folder.
pub fn testdata() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/rules")
}

/// An event with these flat dotted fields (a JSON object) and, when given, this raw text.
/// Without raw text, the raw bytes are a syslog-like line built from the fields.
pub fn event(fields: &serde_json::Value, raw: Option<&str>) -> Event {
    let raw = match raw {
        Some(r) => r.to_owned(),
        None => {
            let tag = fields["process.name"].as_str().unwrap_or("-");
            let msg = fields["message"].as_str().unwrap_or("");
            format!("<38>Nov 28 10:00:00 host {tag}: {msg}")
        }
    };
    let mut ev = Event::new(
        Timestamp::from_secs(1_764_324_000),
        RegionCode::HENAN,
        Source::new("test", None),
        raw.as_bytes(),
    );
    ev.fields.insert_json("", fields);
    ev
}
