//! Text search over records that arrived in GB18030 (GBK).
//!
//! `EventQuery::text` searches the raw bytes, as sent. A record in GB18030 — what Chinese
//! devices send unless told otherwise; the parsers decode it (`ingest::parse::Charset`) — does
//! not hold the UTF-8 bytes of its own text, so both backends also look for the text's
//! GB18030 bytes. Such a byte match may straddle two characters (GB18030 is a multi-byte code
//! whose trailing bytes can lead a character too), so it counts only when the decoded text is
//! also in the event's fields (the stored JSON, where the parser put the decoded message and
//! values). UTF-8 records are matched on their raw bytes alone, as before.

/// The second form of a search text, when it has one: text that is all ASCII is the same in
/// both encodings.
pub(crate) struct Gb18030Needle {
    /// The text encoded in GB18030.
    pub gb18030: Vec<u8>,
    /// The text as it appears inside a JSON string (the stored fields are JSON).
    pub json: String,
}

impl Gb18030Needle {
    pub fn of(text: &str) -> Option<Self> {
        if text.is_ascii() {
            return None;
        }
        let (bytes, _, _) = encoding_rs::GB18030.encode(text);
        let quoted = serde_json::to_string(text).ok()?;
        let json = quoted
            .strip_prefix('"')
            .and_then(|q| q.strip_suffix('"'))?
            .to_owned();
        Some(Gb18030Needle {
            gb18030: bytes.into_owned(),
            json,
        })
    }

    /// The GB18030 bytes in upper-case hex (for SQL that cannot take them as a parameter).
    pub fn gb18030_hex(&self) -> String {
        use std::fmt::Write;
        let mut hex = String::with_capacity(self.gb18030.len() * 2);
        for b in &self.gb18030 {
            let _ = write!(hex, "{b:02X}");
        }
        hex
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_has_no_second_form_and_chinese_has_its_gbk_bytes() {
        assert!(Gb18030Needle::of("Failed password").is_none());
        let n = Gb18030Needle::of("登录 \"x\"").expect("non-ASCII");
        assert_eq!(n.gb18030, b"\xb5\xc7\xc2\xbc \"x\"");
        assert_eq!(n.gb18030_hex(), "B5C7C2BC20227822");
        assert_eq!(n.json, "登录 \\\"x\\\"");
    }
}
