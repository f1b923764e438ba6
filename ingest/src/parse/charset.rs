//! Bytes first, charset second: text is read as UTF-8 when it is valid UTF-8, else as GB18030
//! (a superset of GBK and GB2312), or as the listener's configured charset. Chinese text is
//! never replaced with U+FFFD: GB18030 maps every byte sequence, and bytes that are neither
//! stay as they were in the event's raw bytes.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

/// How a listener's records are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Charset {
    /// UTF-8 when the bytes are valid UTF-8, else GB18030 (the default).
    #[default]
    Auto,
    /// UTF-8 only; invalid sequences become U+FFFD.
    Utf8,
    /// GBK / GB18030 always (GB18030 decodes every GBK byte sequence the same way).
    Gb18030,
}

impl Charset {
    pub fn as_str(self) -> &'static str {
        match self {
            Charset::Auto => "auto",
            Charset::Utf8 => "utf-8",
            Charset::Gb18030 => "gb18030",
        }
    }
}

impl fmt::Display for Charset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A charset name that is not `auto`, `utf-8`/`utf8`, `gbk`, `gb2312` or `gb18030`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown charset {0:?}: expected auto, utf-8, gbk, gb2312 or gb18030")]
pub struct UnknownCharset(pub String);

impl FromStr for Charset {
    type Err = UnknownCharset;
    fn from_str(s: &str) -> Result<Self, UnknownCharset> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(Charset::Auto),
            "utf-8" | "utf8" => Ok(Charset::Utf8),
            "gbk" | "gb2312" | "gb18030" | "cp936" => Ok(Charset::Gb18030),
            _ => Err(UnknownCharset(s.to_owned())),
        }
    }
}

/// `bytes` as text in `charset`. Borrows when the bytes are UTF-8 (or ASCII) and are read as such.
pub fn decode(bytes: &[u8], charset: Charset) -> Cow<'_, str> {
    match charset {
        Charset::Auto => match std::str::from_utf8(bytes) {
            Ok(s) => Cow::Borrowed(s),
            Err(_) => gb18030(bytes),
        },
        Charset::Utf8 => String::from_utf8_lossy(bytes),
        Charset::Gb18030 => {
            if bytes.is_ascii() {
                // ASCII reads the same in both; no copy.
                Cow::Borrowed(std::str::from_utf8(bytes).unwrap_or_default())
            } else {
                gb18030(bytes)
            }
        }
    }
}

fn gb18030(bytes: &[u8]) -> Cow<'_, str> {
    let (text, _, _) = encoding_rs::GB18030.decode(bytes);
    text
}

/// Like [`decode`], and when some bytes are not text in `charset` (neither UTF-8 nor GB18030
/// for [`Charset::Auto`]), also an error naming the first of them, counted from 1 within
/// `part` (`message`, `line`). Those bytes read as U+FFFD; the caller keeps the raw bytes.
pub fn decode_checked<'a>(
    bytes: &'a [u8],
    charset: Charset,
    part: &str,
) -> (Cow<'a, str>, Option<String>) {
    let error = |at: usize, what: &str| {
        format!(
            "invalid text: {part} byte {} (0x{:02X}) is {what}; shown as U+FFFD, raw bytes kept",
            at + 1,
            bytes[at]
        )
    };
    match charset {
        Charset::Auto => match std::str::from_utf8(bytes) {
            Ok(s) => (Cow::Borrowed(s), None),
            Err(_) => {
                let (text, bad) = gb18030_checked(bytes);
                (text, bad.map(|at| error(at, "neither UTF-8 nor GB18030")))
            }
        },
        Charset::Utf8 => match std::str::from_utf8(bytes) {
            Ok(s) => (Cow::Borrowed(s), None),
            Err(e) => (
                String::from_utf8_lossy(bytes),
                Some(error(e.valid_up_to(), "not UTF-8")),
            ),
        },
        Charset::Gb18030 if bytes.is_ascii() => (decode(bytes, charset), None),
        Charset::Gb18030 => {
            let (text, bad) = gb18030_checked(bytes);
            (text, bad.map(|at| error(at, "not GB18030")))
        }
    }
}

/// GB18030 with U+FFFD for what does not decode, in one pass, and the offset of the first
/// byte that did not.
fn gb18030_checked(bytes: &[u8]) -> (Cow<'_, str>, Option<usize>) {
    let mut decoder = encoding_rs::GB18030.new_decoder_without_bom_handling();
    let cap = decoder
        .max_utf8_buffer_length(bytes.len())
        .unwrap_or(bytes.len().saturating_mul(4));
    let mut out = String::with_capacity(cap);
    let mut first_bad = None;
    let mut at = 0;
    loop {
        let (result, read) =
            decoder.decode_to_string_without_replacement(&bytes[at..], &mut out, true);
        at += read;
        match result {
            encoding_rs::DecoderResult::Malformed(bad, after) => {
                let start = at.saturating_sub(usize::from(bad) + usize::from(after));
                first_bad.get_or_insert(start);
                out.push('\u{fffd}');
            }
            encoding_rs::DecoderResult::InputEmpty => break,
            encoding_rs::DecoderResult::OutputFull => {
                out.reserve(bytes.len() - at + 16);
            }
        }
    }
    (Cow::Owned(out), first_bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_first_then_gbk() {
        assert_eq!(decode("源IP".as_bytes(), Charset::Auto), "源IP");
        // 日志类型: in GBK.
        let gbk = b"\xc8\xd5\xd6\xbe\xc0\xe0\xd0\xcd\x3a";
        assert_eq!(decode(gbk, Charset::Auto), "日志类型:");
        assert_eq!(decode(gbk, Charset::Gb18030), "日志类型:");
        assert!(decode(gbk, Charset::Utf8).contains('\u{fffd}'));
        // Short GBK can be valid UTF-8 (源 is D4 B4, also U+0534): a configured charset decides.
        assert_eq!(decode(b"\xd4\xb4", Charset::Gb18030), "源");
        assert!(matches!(
            decode(b"plain", Charset::Gb18030),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn bytes_that_are_no_text_are_named() {
        // GBK and UTF-8 decode without error.
        assert_eq!(
            decode_checked(b"\xc8\xd5\xd6\xbe", Charset::Auto, "line").1,
            None
        );
        assert_eq!(
            decode_checked("源IP".as_bytes(), Charset::Auto, "line").1,
            None
        );
        assert_eq!(decode_checked(b"plain", Charset::Utf8, "line").1, None);
        // 0xFF is neither UTF-8 nor GB18030 (0x80 is: the euro sign).
        let (text, err) = decode_checked(b"ab\xffcd", Charset::Auto, "line");
        assert_eq!(text, "ab\u{fffd}cd");
        let err = err.expect("an error");
        assert!(err.starts_with("invalid text: line byte 3 (0xFF)"), "{err}");
        assert_eq!(
            decode_checked(b"\x80", Charset::Gb18030, "line"),
            ("\u{20ac}".into(), None)
        );
        let (_, err) = decode_checked(b"\xc8\xd5x\xff", Charset::Gb18030, "line");
        assert!(err.expect("an error").contains("byte 4 (0xFF)"));
        // One pass gives the same text as the replacing decoder.
        for bytes in [&b"\xffa\x80\xc8\xd5\x81"[..], b"\xc8", b"x\xfe\xfe\xfe"] {
            assert_eq!(
                decode_checked(bytes, Charset::Gb18030, "line").0,
                encoding_rs::GB18030.decode(bytes).0
            );
        }
        let (_, err) = decode_checked(b"ok \xc8\xd5", Charset::Utf8, "line");
        assert!(
            err.expect("an error")
                .contains("byte 4 (0xC8) is not UTF-8")
        );
    }

    #[test]
    fn names() {
        assert_eq!("GBK".parse(), Ok(Charset::Gb18030));
        assert_eq!("utf8".parse(), Ok(Charset::Utf8));
        assert!("latin1".parse::<Charset>().is_err());
    }
}
