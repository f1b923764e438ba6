//! HTTP body splitting and JSON objects to events (Windows, MySQL, nginx shapes included) on
//! arbitrary bytes: never a panic, and every record keeps its raw bytes.

#![no_main]

use libfuzzer_sys::fuzz_target;
use onewall_ingest::{ParseContext, parse_json_object, split_http_body};
use onewall_model::{RegionCode, Source, Timestamp};

fn ctx() -> ParseContext {
    ParseContext::new(
        Timestamp::from_secs(1_773_547_200),
        RegionCode::HENAN,
        Source::new("fuzz", None),
    )
}

fuzz_target!(|data: &[u8]| {
    if let Ok(records) = split_http_body(data) {
        let ctx = ctx();
        for (raw, obj) in records {
            let e = parse_json_object(&obj, &raw, &ctx);
            assert_eq!(&*e.raw, &raw[..]);
        }
    }
});
