//! The syslog parser on arbitrary bytes, in each charset: it never panics and always keeps the
//! raw bytes; the header-only entry point agrees with it on the header fields.

#![no_main]

use libfuzzer_sys::fuzz_target;
use onewall_ingest::parse::{Charset, parse_syslog_header};
use onewall_ingest::{ParseContext, parse_syslog};
use onewall_model::{RegionCode, Source, Timestamp};

fn ctx() -> ParseContext {
    ParseContext::new(
        Timestamp::from_secs(1_773_547_200),
        RegionCode::HENAN,
        Source::new("fuzz", None),
    )
}

fuzz_target!(|data: &[u8]| {
    for charset in [Charset::Auto, Charset::Utf8, Charset::Gb18030] {
        let mut ctx = ctx();
        ctx.charset = charset;
        let e = parse_syslog(data, &ctx);
        assert_eq!(&*e.raw, data);
        let h = parse_syslog_header(data, &ctx);
        assert_eq!(&*h.raw, data);
        assert_eq!(e.get("host.name"), h.get("host.name"));
    }
});
