//! A parse error's kind: a small fixed set, fit for a metric label beside the format
//! (`onewall_ingest_parse_errors_total{format, kind}`), read back from the error text.

/// Every kind [`parse_error_kind`] returns.
pub const PARSE_ERROR_KINDS: &[&str] = &[
    "invalid_pri",
    "no_header",
    "no_timestamp",
    "invalid_timestamp",
    "invalid_structured_data",
    "truncated_header",
    "invalid_encoding",
    "truncated_frame",
    "other",
];

/// The kind of a parse error (an event's `parse_error`), one of [`PARSE_ERROR_KINDS`].
pub fn parse_error_kind(error: &str) -> &'static str {
    if error.starts_with("not syslog: invalid '<PRI>'") {
        "invalid_pri"
    } else if error.starts_with("not syslog:") {
        "no_header"
    } else if error.starts_with("rfc3164: no timestamp") {
        "no_timestamp"
    } else if error.contains("invalid timestamp") {
        "invalid_timestamp"
    } else if error.contains("STRUCTURED-DATA") {
        "invalid_structured_data"
    } else if error.starts_with("rfc5424: header ends") || error.starts_with("rfc5424: empty") {
        "truncated_header"
    } else if error.starts_with("invalid text:") {
        "invalid_encoding"
    } else if error.starts_with("octet count ") && error.contains("the stream ended") {
        // The TCP framer's `FrameError::Truncated`, kept on the frame it cut short.
        "truncated_frame"
    } else {
        "other"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::{ParseContext, parse_syslog};
    use onewall_model::{RegionCode, Source, Timestamp};

    #[test]
    fn kinds_of_real_errors() {
        let ctx = ParseContext::new(
            Timestamp::from_secs(1_773_547_200),
            RegionCode::HENAN,
            Source::new("syslog_udp", None),
        );
        for (line, kind) in [
            (&b"<999>x"[..], "invalid_pri"),
            (b"<x>y", "invalid_pri"),
            (b"plain words", "no_header"),
            (b"<13>no header here", "no_timestamp"),
            (b"<13>1 2026-13-01T00:00:00Z h a - - -", "invalid_timestamp"),
            (
                b"<13>1 2026-03-01T00:00:00Z h a - - [x",
                "invalid_structured_data",
            ),
            (b"<13>1 2026-03-01T00:00:00Z h", "truncated_header"),
            (
                b"<13>1 2026-03-01T00:00:00Z h a - - - bad \xff byte",
                "invalid_encoding",
            ),
            (
                b"<13>Mar  1 00:00:00 h a: bad \xff byte",
                "invalid_encoding",
            ),
        ] {
            let e = parse_syslog(line, &ctx);
            let error = e.parse_error.as_deref().unwrap_or("");
            assert_eq!(parse_error_kind(error), kind, "{error}");
            assert!(PARSE_ERROR_KINDS.contains(&kind));
        }
        let cut = crate::FrameError::Truncated { count: 90, got: 12 }.to_string();
        assert_eq!(parse_error_kind(&cut), "truncated_frame");
    }
}
