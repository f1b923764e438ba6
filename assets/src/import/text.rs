//! Text files as Excel and scanners write them: UTF-8 with or without a byte-order mark, or
//! GBK (GB 18030) as Excel saves "CSV" on a Chinese Windows.

use std::borrow::Cow;

/// The text of `bytes`: UTF-8 (a leading BOM dropped) when it is valid UTF-8, else decoded as
/// GB 18030 (a superset of GBK). Undecodable bytes become U+FFFD; nothing is dropped.
pub fn decode(bytes: &[u8]) -> Cow<'_, str> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => {
            let (text, _, _) = encoding_rs::GB18030.decode(bytes);
            Cow::Owned(text.into_owned())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_bom_and_gbk() {
        assert_eq!(decode(b"\xEF\xBB\xBFa,b"), "a,b");
        let (gbk, _, _) = encoding_rs::GBK.encode("系统名称,区划代码");
        assert_eq!(decode(&gbk), "系统名称,区划代码");
    }
}
