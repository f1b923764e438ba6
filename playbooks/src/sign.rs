//! Webhook signatures: our own HMAC-SHA256 header and the robots' signing schemes.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ring::hmac;

/// The header carrying [`generic_signature`] on generic JSON webhooks.
pub const SIGNATURE_HEADER: &str = "X-Onewall-Signature";

fn hmac_sha256(key: &[u8], msg: &[u8]) -> Vec<u8> {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    hmac::sign(&key, msg).as_ref().to_vec()
}

/// `sha256=` and the lowercase hex HMAC-SHA256 of the body under the shared secret.
pub fn generic_signature(secret: &str, body: &[u8]) -> String {
    let mac = hmac_sha256(secret.as_bytes(), body);
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256=");
    for b in mac {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// DingTalk's robot signature: HMAC-SHA256 keyed by the secret over `timestamp + "\n" +
/// secret` (timestamp in milliseconds), Base64; the caller URL-encodes it into the query as
/// `timestamp=..&sign=..`.
pub fn dingtalk_sign(secret: &str, timestamp_ms: i64) -> String {
    let msg = format!("{timestamp_ms}\n{secret}");
    BASE64.encode(hmac_sha256(secret.as_bytes(), msg.as_bytes()))
}

/// Feishu's robot signature: HMAC-SHA256 keyed by `timestamp + "\n" + secret` (timestamp in
/// seconds) over an empty message, Base64; sent in the body as `timestamp` and `sign`.
pub fn feishu_sign(secret: &str, timestamp_secs: i64) -> String {
    let key = format!("{timestamp_secs}\n{secret}");
    BASE64.encode(hmac_sha256(key.as_bytes(), b""))
}

/// Percent-encode a query value (RFC 3986 unreserved characters stay as they are).
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generic_signature_matches_rfc_4231_case_2() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        assert_eq!(
            generic_signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn robot_signatures_are_base64_of_32_bytes() {
        let d = dingtalk_sign("SECabc", 1_700_000_000_000);
        let f = feishu_sign("abc", 1_700_000_000);
        assert_eq!(BASE64.decode(&d).unwrap().len(), 32);
        assert_eq!(BASE64.decode(&f).unwrap().len(), 32);
        assert_ne!(d, f);
        assert_eq!(url_encode("a+b/c="), "a%2Bb%2Fc%3D");
    }
}
