//! Charset decoding (auto, UTF-8, GB18030) of a syslog line, its header and its body, on
//! arbitrary bytes: never a panic, and the raw bytes are kept.

#![no_main]

use libfuzzer_sys::fuzz_target;
use onewall_ingest::parse::Charset;

#[path = "../common/shape.rs"]
mod shape;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let mut ctx = shape::ctx();
    ctx.charset = match pick % 3 {
        0 => Charset::Auto,
        1 => Charset::Utf8,
        _ => Charset::Gb18030,
    };
    let e = onewall_ingest::parse_syslog(rest, &ctx);
    assert_eq!(&*e.raw, rest);
    let mut line = b"<134>Mar 15 11:58:00 fw01 ".to_vec();
    line.extend_from_slice(rest);
    let e = onewall_ingest::parse_syslog(&line, &ctx);
    assert_eq!(&*e.raw, &line[..]);
});
