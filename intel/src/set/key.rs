//! How values are stored and found: a kind code per indicator, its value's bytes, and a 32-bit
//! key per value (its kind and bytes mixed) under which the index chains every indicator of
//! that key. Keys may collide: a probe compares the stored bytes before it counts a hit.
//!
//! Lookup text from events is normalised as [`crate::Observable::parse`] normalises indicator
//! values: addresses canonical (IPv4-mapped IPv6 as IPv4), domains and email addresses lower
//! case without a trailing dot, hashes by their bytes. URLs are compared in the form
//! [`normalise_url`] gives, on both sides.

use std::borrow::Cow;
use std::net::IpAddr;

use onewall_model::IndicatorKind;

/// The kind of a stored value: the indicator kinds, with addresses and ranges split by family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub(crate) enum Code {
    Ip4 = 0,
    Ip6,
    Cidr4,
    Cidr6,
    Domain,
    Tree,
    Url,
    Md5,
    Sha1,
    Sha256,
    Sm3,
    Email,
}

impl Code {
    pub const ALL: [Code; 12] = [
        Code::Ip4,
        Code::Ip6,
        Code::Cidr4,
        Code::Cidr6,
        Code::Domain,
        Code::Tree,
        Code::Url,
        Code::Md5,
        Code::Sha1,
        Code::Sha256,
        Code::Sm3,
        Code::Email,
    ];

    pub fn from_u8(b: u8) -> Code {
        Code::ALL
            .get(usize::from(b))
            .copied()
            .unwrap_or(Code::Email)
    }

    pub fn bit(self) -> u32 {
        1 << (self as u32)
    }

    pub fn kind(self) -> IndicatorKind {
        match self {
            Code::Ip4 | Code::Ip6 => IndicatorKind::Ip,
            Code::Cidr4 | Code::Cidr6 => IndicatorKind::Cidr,
            Code::Domain => IndicatorKind::Domain,
            Code::Tree => IndicatorKind::DomainTree,
            Code::Url => IndicatorKind::Url,
            Code::Md5 => IndicatorKind::Md5,
            Code::Sha1 => IndicatorKind::Sha1,
            Code::Sha256 => IndicatorKind::Sha256,
            Code::Sm3 => IndicatorKind::Sm3,
            Code::Email => IndicatorKind::Email,
        }
    }
}

/// Codes that a field of each class can match, as bit sets (a feed without any is skipped).
pub(crate) const ADDRESS_CODES: u32 = (1 << Code::Ip4 as u32)
    | (1 << Code::Ip6 as u32)
    | (1 << Code::Cidr4 as u32)
    | (1 << Code::Cidr6 as u32);
pub(crate) const DOMAIN_CODES: u32 = (1 << Code::Domain as u32) | (1 << Code::Tree as u32);
pub(crate) const HASH_CODES: u32 = (1 << Code::Md5 as u32)
    | (1 << Code::Sha1 as u32)
    | (1 << Code::Sha256 as u32)
    | (1 << Code::Sm3 as u32);

const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;

#[inline]
fn fmix(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// The key of `bytes` of kind `code` (for ranges, `extra` is the prefix length).
#[inline]
pub(crate) fn key(code: Code, extra: u8, bytes: &[u8]) -> u32 {
    let mut h = ((code as u64) << 56) ^ (u64::from(extra) << 48) ^ bytes.len() as u64;
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        h = (h.rotate_left(5) ^ tail_word(bytes, rest.len())).wrapping_mul(K);
    }
    fmix(h) as u32
}

/// The last `r` (1 to 7) bytes of `bytes` as a little-endian word, zero above them: from one
/// overlapping 8-byte read when there are 8 bytes to read, without a call to copy the rest.
#[inline]
fn tail_word(bytes: &[u8], r: usize) -> u64 {
    match bytes.len().checked_sub(8).and_then(|s| bytes.get(s..)) {
        Some(last) => {
            let mut w = [0u8; 8];
            w.copy_from_slice(last);
            u64::from_le_bytes(w) >> (8 * (8 - r))
        }
        None => bytes
            .iter()
            .rev()
            .take(r)
            .fold(0u64, |w, &b| (w << 8) | u64::from(b)),
    }
}

/// A value's bytes as stored: addresses big-endian, ranges big-endian then the prefix, hashes
/// as bytes, text as UTF-8.
pub(crate) fn ip_bytes(a: IpAddr) -> ([u8; 16], usize) {
    let mut b = [0u8; 16];
    match a {
        IpAddr::V4(v4) => {
            b[..4].copy_from_slice(&v4.octets());
            (b, 4)
        }
        IpAddr::V6(v6) => {
            b.copy_from_slice(&v6.octets());
            (b, 16)
        }
    }
}

/// The bytes of `hex` (even length, hex digits only) into `out`; how many.
pub(crate) fn unhex(hex: &str, out: &mut [u8; 32]) -> Option<usize> {
    let h = hex.as_bytes();
    if !h.len().is_multiple_of(2) || h.len() > 64 {
        return None;
    }
    // Eight digits at a time without branches; one check of every digit's validity at the
    // end. The last (fewer than eight) digits by table.
    let mut bad = 0u64;
    let mut chunks = h.chunks_exact(8);
    let mut outs = out.chunks_exact_mut(4);
    for (c, o) in (&mut chunks).zip(&mut outs) {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        let (v, invalid) = hex_word(u64::from_le_bytes(w));
        bad |= invalid;
        o.copy_from_slice(&[v as u8, (v >> 16) as u8, (v >> 32) as u8, (v >> 48) as u8]);
    }
    let done = h.len() / 8 * 4;
    let mut bad_byte = 0u8;
    let rest = out.get_mut(done..).unwrap_or(&mut []);
    for (o, pair) in rest.iter_mut().zip(chunks.remainder().chunks_exact(2)) {
        let hi = HEX[usize::from(pair[0])];
        let lo = HEX[usize::from(pair[1])];
        bad_byte |= hi | lo;
        *o = (hi << 4) | (lo & 15);
    }
    if bad != 0 || bad_byte & 0x80 != 0 {
        return None;
    }
    Some(h.len() / 2)
}

/// Eight hex digits (little-endian, the first in the low byte) as four bytes, each in the low
/// byte of a 16-bit lane; and a word not 0 when any of the eight is not a hex digit. For an
/// ASCII byte, adding `0x80 - lo` sets its top bit from `lo` up without a carry into the next
/// byte; a byte with its top bit set is not a digit, whatever its neighbours then hold.
#[inline]
fn hex_word(x: u64) -> (u64, u64) {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const TOP: u64 = ONES * 0x80;
    let from = |x: u64, lo: u8| x.wrapping_add(ONES * (0x80 - u64::from(lo)));
    let digit = from(x, b'0') & !from(x, b'9' + 1);
    let l = x | (ONES * 0x20);
    let letter = from(l, b'a') & !from(l, b'f' + 1);
    let invalid = (x | !(digit | letter)) & TOP;
    // A digit's low four bits, plus 9 for a letter (bit 6 set): its value.
    let nibble = (x & (ONES * 0x0f)) + ((x >> 6) & ONES) * 9;
    const LANE: u64 = 0x000f_000f_000f_000f;
    let v = ((nibble & LANE) << 4) | ((nibble >> 8) & LANE);
    (v, invalid)
}

/// Each byte's value as a hex digit, 0x80 for bytes that are not one.
const HEX: [u8; 256] = {
    let mut t = [0x80u8; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        t[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

pub(crate) fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

/// A name as domains are stored: trimmed, lower case, without trailing dots.
pub(crate) fn normalise_name(s: &str) -> Cow<'_, str> {
    // Byte loops: the ends are ASCII (white space, dots), so each cut is at a character.
    let b = s.as_bytes();
    let mut start = 0;
    let mut end = b.len();
    while start < end && b.get(start).is_some_and(u8::is_ascii_whitespace) {
        start += 1;
    }
    while end > start && b.get(end - 1).is_some_and(u8::is_ascii_whitespace) {
        end -= 1;
    }
    while end > start && b.get(end - 1) == Some(&b'.') {
        end -= 1;
    }
    let t = s.get(start..end).unwrap_or("");
    if needs_lowering(t.as_bytes()) {
        Cow::Owned(t.to_lowercase())
    } else {
        Cow::Borrowed(t)
    }
}

/// Whether `b` holds an upper-case ASCII letter or any non-ASCII byte, eight bytes at a time:
/// a byte's top bit says non-ASCII; for an ASCII byte, adding `0x80 - b'A'` sets it from `A`
/// up and adding `0x80 - b'Z' - 1` from past `Z` (neither sum carries into the next byte).
#[inline]
pub(crate) fn needs_lowering(b: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const TOP: u64 = ONES * 0x80;
    let test = |x: u64| {
        let from_a = x.wrapping_add(ONES * (0x80 - u64::from(b'A')));
        let past_z = x.wrapping_add(ONES * (0x80 - u64::from(b'Z') - 1));
        (x | (from_a & !past_z)) & TOP != 0
    };
    let mut chunks = b.chunks_exact(8);
    let mut any = false;
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        any |= test(u64::from_le_bytes(w));
    }
    let r = chunks.remainder().len();
    any | (r != 0 && test(tail_word(b, r)))
}

/// `t` as an address, exactly as `IpAddr::from_str` reads it, without trying both families on
/// text that is neither: an IPv6 address holds a colon, an IPv4 one starts with a digit (and
/// has no colon), so a host name or a hash is refused after a scan for a colon.
#[inline]
pub(crate) fn parse_ip(t: &str) -> Option<IpAddr> {
    let b = t.as_bytes();
    // A loop without an early exit, not a call to search: addresses and host names are short.
    if b.iter().fold(false, |colon, &c| colon | (c == b':')) {
        t.parse::<std::net::Ipv6Addr>().ok().map(IpAddr::V6)
    } else if b.first().is_some_and(u8::is_ascii_digit) {
        t.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
    } else {
        None
    }
}

/// A URL's parts, as written (the text trimmed).
#[derive(Debug, Clone, Copy)]
pub(crate) struct UrlParts<'a> {
    /// The trimmed text.
    pub text: &'a str,
    pub scheme: Option<&'a str>,
    pub userinfo: Option<&'a str>,
    /// With an IPv6 literal's brackets.
    pub host: &'a str,
    /// `:8080`, or empty.
    pub port: &'a str,
    /// The path and query.
    pub tail: &'a str,
    /// The text had a fragment.
    pub fragment: bool,
}

impl<'a> UrlParts<'a> {
    pub fn parse(s: &'a str) -> UrlParts<'a> {
        let text = s.trim_ascii();
        let (t, fragment) = match text.bytes().position(|c| c == b'#') {
            Some(i) => (text.get(..i).unwrap_or(text), true),
            None => (text, false),
        };
        // The scheme: ASCII letters, digits, `+-.`, before `://`.
        let n = t
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || b"+-.".contains(b))
            .count();
        let (scheme, rest) = match t.get(n..).and_then(|r| r.strip_prefix("://")) {
            Some(rest) if n > 0 => (t.get(..n), rest),
            _ => (None, t),
        };
        let cut = rest
            .bytes()
            .position(|b| b == b'/' || b == b'?')
            .unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(cut);
        let (userinfo, host, port) = split_authority(authority);
        UrlParts {
            text,
            scheme,
            userinfo,
            host,
            port,
            tail,
            fragment,
        }
    }

    /// The host without IPv6 brackets (case as written).
    pub fn bare_host(&self) -> &'a str {
        self.host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(self.host)
    }

    /// The URL in the form URLs are compared in (see [`normalise_url`]).
    pub fn normalised(&self) -> Cow<'a, str> {
        let scheme = self.scheme.unwrap_or("http");
        let default_port = if scheme.eq_ignore_ascii_case("http") {
            ":80"
        } else if scheme.eq_ignore_ascii_case("https") {
            ":443"
        } else {
            ""
        };
        let port = if !default_port.is_empty() && self.port == default_port {
            ""
        } else {
            self.port
        };
        let host = self.host.strip_suffix('.').unwrap_or(self.host);
        let unchanged = self
            .scheme
            .is_some_and(|sc| !sc.bytes().any(|b| b.is_ascii_uppercase()))
            && host.len() == self.host.len()
            && !host.bytes().any(|b| b >= 0x80 || b.is_ascii_uppercase())
            && port.len() == self.port.len()
            && self.tail.starts_with('/')
            && !self.fragment;
        if unchanged {
            return Cow::Borrowed(self.text);
        }
        let mut out = String::with_capacity(self.text.len() + 8);
        out.push_str(&scheme.to_ascii_lowercase());
        out.push_str("://");
        if let Some(u) = self.userinfo {
            out.push_str(u);
            out.push('@');
        }
        out.push_str(&host.to_lowercase());
        out.push_str(port);
        if !self.tail.starts_with('/') {
            out.push('/');
        }
        out.push_str(self.tail);
        Cow::Owned(out)
    }
}

/// A URL in the form URLs are compared in: scheme and host in lower case, the host without a
/// trailing dot, the scheme's default port (`:80` for http, `:443` for https) dropped, the
/// fragment (`#...`) dropped, and `/` as the path when there is none; the path and query are
/// kept as written (they are case-sensitive). A URL without a scheme is compared as `http://`.
pub(crate) fn normalise_url(s: &str) -> Cow<'_, str> {
    UrlParts::parse(s).normalised()
}

/// `userinfo@host:port` into its userinfo, its host (an IPv6 literal with its brackets) and
/// `:port` (empty when there is none, or when what follows the last colon is not digits), in
/// one backward scan.
fn split_authority(a: &str) -> (Option<&str>, &str, &str) {
    let mut at = None;
    let mut colon = None;
    let mut bracket = false;
    for (i, c) in a.bytes().enumerate().rev() {
        match c {
            b'@' => {
                at = Some(i);
                break;
            }
            b']' => bracket = true,
            b':' if colon.is_none() && !bracket => colon = Some(i),
            _ => {}
        }
    }
    let host_start = at.map_or(0, |i| i + 1);
    let userinfo = at.and_then(|i| a.get(..i));
    let colon = colon.filter(|&c| {
        a.get(c + 1..)
            .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()))
    });
    let host_end = colon.unwrap_or(a.len());
    let host = a.get(host_start..host_end).unwrap_or("");
    let port = colon.and_then(|c| a.get(c..)).unwrap_or("");
    (userinfo, host, port)
}

/// Call `f` with each suffix of `name` at a label boundary (the name itself first, then the
/// names it is under, longest first) whose label count is one of `trees`' bits (bit `n` for
/// `n` labels, 63 for 63 or more); the walk ends once no held count is left. `None` from `f`
/// stops it and is returned.
#[inline]
pub(crate) fn tree_suffixes(
    name: &[u8],
    trees: u64,
    mut f: impl FnMut(&[u8]) -> Option<()>,
) -> Option<()> {
    let labels = name.iter().filter(|&&c| c == b'.').count() as u32 + 1;
    // Trees of at most as many labels as the name has.
    let fitting = trees & (u64::MAX >> (63 - labels.min(63)));
    let mut start = 0;
    let mut n = labels;
    while fitting & (u64::MAX >> (63 - n.min(63))) != 0 {
        let s = name.get(start..).unwrap_or(&[]);
        if !s.is_empty() && fitting & (1 << n.min(63)) != 0 {
            f(s)?;
        }
        match s.iter().position(|&c| c == b'.') {
            Some(d) => {
                start += d + 1;
                n -= 1;
            }
            None => break,
        }
    }
    Some(())
}

/// The host of a URL (lower case not applied): without userinfo, port or IPv6 brackets.
#[cfg(test)]
pub(crate) fn url_host(url: &str) -> &str {
    UrlParts::parse(url).bare_host()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_normalise_scheme_host_default_port_fragment_and_empty_path() {
        assert_eq!(
            normalise_url("HTTP://Evil.Example.COM:80/Path?Q=A#frag"),
            "http://evil.example.com/Path?Q=A"
        );
        assert_eq!(normalise_url("https://x.example:443"), "https://x.example/");
        assert_eq!(
            normalise_url("https://x.example:8443/a"),
            "https://x.example:8443/a"
        );
        assert_eq!(normalise_url("x.example/a"), "http://x.example/a");
        assert_eq!(
            normalise_url("http://u:p@H.example/?a"),
            "http://u:p@h.example/?a"
        );
        assert!(matches!(
            normalise_url("http://ok.example/a"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn url_hosts_lose_userinfo_port_and_brackets() {
        assert_eq!(url_host("http://u@Host.example:8080/x"), "Host.example");
        assert_eq!(url_host("http://[2001:db8::1]:80/x"), "2001:db8::1");
        assert_eq!(url_host("10.0.0.1/x"), "10.0.0.1");
    }

    #[test]
    fn hex_reads_as_a_table_of_digits_reads_it() {
        let reference = |h: &[u8]| -> Option<Vec<u8>> {
            if !h.len().is_multiple_of(2) || h.len() > 64 {
                return None;
            }
            h.chunks(2)
                .map(|p| {
                    let d = |c: u8| (c as char).to_digit(16);
                    Some((d(p[0])? * 16 + d(p[1])?) as u8)
                })
                .collect()
        };
        let digits = b"0123456789abcdefABCDEF";
        let base: Vec<u8> = (0..64).map(|i| digits[(i * 7) % digits.len()]).collect();
        for len in [0, 2, 6, 8, 10, 32, 40, 62, 64] {
            for at in 0..len {
                for b in 0..=255u8 {
                    let mut h = base[..len].to_vec();
                    h[at] = b;
                    let want = reference(&h);
                    let mut out = [0u8; 32];
                    let got = std::str::from_utf8(&h)
                        .ok()
                        .and_then(|t| unhex(t, &mut out))
                        .map(|n| out[..n].to_vec());
                    if std::str::from_utf8(&h).is_ok() {
                        assert_eq!(got, want, "{len} {at} {b}");
                    }
                }
            }
        }
        let mut out = [0u8; 32];
        assert_eq!(unhex(&"a".repeat(66), &mut out), None);
        assert_eq!(unhex("abc", &mut out), None);
        assert_eq!(unhex("é0", &mut out), None);
    }

    #[test]
    fn keys_read_the_tail_as_zero_padded_bytes() {
        // The key of any length equals the key of the bytes read eight at a time, the last
        // word zero-padded.
        let reference = |code: Code, bytes: &[u8]| {
            let mut h = ((code as u64) << 56) ^ bytes.len() as u64;
            for c in bytes.chunks(8) {
                let mut w = [0u8; 8];
                w[..c.len()].copy_from_slice(c);
                h = (h.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
            }
            fmix(h) as u32
        };
        let text: Vec<u8> = (0u8..40).map(|i| i.wrapping_mul(37) ^ 0x5a).collect();
        for n in 0..text.len() {
            assert_eq!(
                key(Code::Domain, 0, &text[..n]),
                reference(Code::Domain, &text[..n])
            );
            assert_eq!(
                key(Code::Url, 0, &text[n..]),
                reference(Code::Url, &text[n..])
            );
        }
    }

    #[test]
    fn keys_differ_by_kind_and_prefix() {
        assert_ne!(key(Code::Domain, 0, b"a"), key(Code::Tree, 0, b"a"));
        assert_ne!(
            key(Code::Cidr4, 8, &[10, 0, 0, 0]),
            key(Code::Cidr4, 16, &[10, 0, 0, 0])
        );
        let mut b = [0u8; 32];
        assert_eq!(unhex("0aFF", &mut b), Some(2));
        assert_eq!(&b[..2], &[10, 255]);
        assert_eq!(to_hex(&b[..2]), "0aff");
        assert_eq!(unhex("0g", &mut b), None);
    }

    #[test]
    fn addresses_parse_as_the_standard_library_parses_them() {
        for t in [
            "10.0.0.1",
            "255.255.255.255",
            "256.0.0.1",
            "1.2.3",
            "01.2.3.4",
            "::",
            "::1",
            "::ffff:10.0.0.1",
            "2001:db8::1",
            "2001:db8::g",
            "[::1]",
            "1password.com",
            "example.com",
            "",
            ":",
            "1:2",
            "0",
            "1.2.3.4 ",
            "fe80::1%eth0",
        ] {
            assert_eq!(parse_ip(t), t.parse::<IpAddr>().ok(), "{t:?}");
        }
    }

    #[test]
    fn tree_suffixes_come_longest_first_at_the_held_label_counts() {
        let walk = |name: &str, trees: u64| {
            let mut got = Vec::new();
            tree_suffixes(name.as_bytes(), trees, |s| {
                got.push(String::from_utf8_lossy(s).into_owned());
                Some(())
            });
            got
        };
        let all = u64::MAX;
        assert_eq!(walk("a.b.c", all), ["a.b.c", "b.c", "c"]);
        assert_eq!(walk("a.b.c", 1 << 2), ["b.c"]);
        assert_eq!(
            walk("a.b.c", 1 << 4),
            Vec::<String>::new(),
            "no tree of 4 labels fits"
        );
        assert_eq!(walk("a..b", all), ["a..b", ".b", "b"]);
        assert_eq!(walk(".a", all), [".a", "a"]);
        let deep = vec!["x"; 70].join(".");
        assert_eq!(
            walk(&deep, 1 << 63).len(),
            70 - 62,
            "63 stands for 63 or more"
        );
        let mut first = 0;
        tree_suffixes(b"a.b.c", all, |_| {
            first += 1;
            None
        });
        assert_eq!(first, 1, "None from the callback stops the walk");
    }

    #[test]
    fn names_lower_and_lose_trailing_dots() {
        assert_eq!(normalise_name(" Example.COM.. "), "example.com");
        assert_eq!(normalise_name("example.com."), "example.com");
        assert!(matches!(
            normalise_name("a.example"),
            Cow::Borrowed("a.example")
        ));
        assert_eq!(normalise_name("ÄRGER.example"), "ärger.example");
        assert_eq!(normalise_name("..."), "");
        assert_eq!(normalise_name(" \t a.b . \n"), "a.b ");
        assert_eq!(
            normalise_name("\u{3000}a"),
            "\u{3000}a",
            "only ASCII white space is trimmed"
        );
        for b in 0..=255u8 {
            let upper = b.is_ascii_uppercase() || b >= 0x80;
            for at in 0..20 {
                let mut name = vec![b'a'; 20];
                name[at] = b;
                assert_eq!(needs_lowering(&name), upper, "{b} at {at}");
                assert_eq!(needs_lowering(&name[..=at]), upper, "{b} ending {at}");
            }
        }
        assert!(!needs_lowering(b""));
    }
}
