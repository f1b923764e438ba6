//! The `paloalto` body parser, forced by the format hint, on arbitrary bytes behind an RFC 3164
//! header and on their own: never a panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use onewall_ingest::ParseContext;
use onewall_ingest::parse::BodyFormat;
use onewall_model::{RegionCode, Source, Timestamp};

fn ctx() -> ParseContext {
    let mut ctx = ParseContext::new(
        Timestamp::from_secs(1_773_547_200),
        RegionCode::HENAN,
        Source::new("fuzz", None),
    );
    ctx.format_hint = Some("paloalto".parse::<BodyFormat>().expect("a known format"));
    ctx
}

fuzz_target!(|data: &[u8]| {
    let ctx = ctx();
    let e = onewall_ingest::parse_syslog(data, &ctx);
    assert_eq!(&*e.raw, data);
    let mut line = b"<134>Mar 15 11:58:00 fw01 sshd[1]: ".to_vec();
    line.extend_from_slice(data);
    let e = onewall_ingest::parse_syslog(&line, &ctx);
    assert_eq!(&*e.raw, &line[..]);
});
