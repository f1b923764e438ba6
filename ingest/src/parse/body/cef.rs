//! ArcSight CEF (`CEF:Version|Vendor|Product|Version|SignatureID|Name|Severity|Extension`) and
//! IBM LEEF (`LEEF:1.0|Vendor|Product|Version|EventID|attrs` with TAB between attributes,
//! `LEEF:2.0|...|EventID|DelimiterChar|attrs`).

use std::borrow::Cow;

use super::out::{Out, ecs};

/// Splits `s` at unescaped `|` into at most `n` parts, the last holding the rest.
fn header_fields(s: &str, n: usize) -> Vec<&str> {
    let b = s.as_bytes();
    let mut parts = Vec::with_capacity(n);
    let mut start = 0;
    let mut i = 0;
    while i < b.len() && parts.len() + 1 < n {
        match b[i] {
            b'\\' => i += 2,
            b'|' => {
                parts.push(&s[start..i]);
                start = i + 1;
                i += 1;
            }
            _ => i += 1,
        }
    }
    parts.push(&s[start.min(s.len())..]);
    parts
}

fn unescape_header(s: &str) -> Cow<'_, str> {
    if !s.contains('\\') {
        return Cow::Borrowed(s);
    }
    Cow::Owned(s.replace("\\|", "|").replace("\\\\", "\\"))
}

fn unescape_value(s: &str) -> Cow<'_, str> {
    if !s.contains('\\') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some(c @ ('=' | '\\' | '|')) => out.push(c),
            Some(c) => {
                out.push('\\');
                out.push(c);
            }
            None => out.push('\\'),
        }
    }
    Cow::Owned(out)
}

/// The CEF extension: `key=value` pairs where a value runs up to the space before the next key.
fn extension(s: &str) -> Vec<(&str, &str)> {
    let b = s.as_bytes();
    // Starts of keys: positions of unescaped `=` and the word before each.
    let mut keys: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' {
            i += 2;
            continue;
        }
        if b[i] == b'=' {
            let ks = b[..i].iter().rposition(|&c| c == b' ').map_or(0, |p| p + 1);
            let key = &b[ks..i];
            let valid = !key.is_empty()
                && key.iter().all(|c| {
                    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-' | b'[' | b']')
                });
            if valid && keys.last().is_none_or(|&(_, eq)| ks > eq) {
                keys.push((ks, i));
            }
        }
        i += 1;
    }
    let mut out = Vec::with_capacity(keys.len());
    for (k, &(ks, eq)) in keys.iter().enumerate() {
        let end = keys.get(k + 1).map_or(b.len(), |&(next, _)| next);
        out.push((&s[ks..eq], s[(eq + 1).min(end)..end].trim_end_matches(' ')));
    }
    out
}

fn ecs_key(out: &mut Out<'_>, key: &str, value: &str) {
    if value.is_empty() {
        return;
    }
    match key {
        "src" => out.ip(ecs::SOURCE_IP, value),
        "dst" => out.ip(ecs::DESTINATION_IP, value),
        "spt" => out.int(ecs::SOURCE_PORT, value),
        "dpt" => out.int(ecs::DESTINATION_PORT, value),
        "suser" | "usrName" => out.str(ecs::USER_NAME, value),
        "duser" => out.str("destination.user.name", value),
        "act" | "action" => out.str(ecs::EVENT_ACTION, &value.to_lowercase()),
        "proto" => out.transport(value),
        "request" | "url" => out.str(ecs::URL_ORIGINAL, value),
        "requestMethod" => out.str(ecs::HTTP_METHOD, value),
        "shost" => out.str("source.domain", value),
        "dhost" => out.str("destination.domain", value),
        "fname" => out.str("file.name", value),
        _ => {}
    }
}

/// `CEF:0|...`.
pub(crate) fn cef(out: &mut Out<'_>, msg: &str) -> bool {
    let Some(rest) = msg.strip_prefix("CEF:") else {
        return false;
    };
    let parts = header_fields(rest, 8);
    if parts.len() < 7 {
        return false;
    }
    let names = [
        "cef.version",
        "cef.device_vendor",
        "cef.device_product",
        "cef.device_version",
        "cef.signature_id",
        "cef.name",
        "cef.severity",
    ];
    for (name, value) in names.iter().zip(&parts) {
        out.str(name, &unescape_header(value));
    }
    out.str(ecs::OBSERVER_VENDOR, &unescape_header(parts[1]));
    out.str(ecs::OBSERVER_PRODUCT, &unescape_header(parts[2]));
    out.str("observer.version", &unescape_header(parts[3]));
    out.str(ecs::EVENT_CODE, &unescape_header(parts[4]));
    out.int("event.severity", parts[6]);
    if let Some(ext) = parts.get(7) {
        for (k, v) in extension(ext) {
            let v = unescape_value(v);
            out.str(k, &v);
            ecs_key(out, k, &v);
        }
    }
    true
}

/// `LEEF:1.0|Vendor|Product|Version|EventID|attrs` and `LEEF:2.0|...|EventID|delim|attrs`.
pub(crate) fn leef(out: &mut Out<'_>, msg: &str) -> bool {
    let Some(rest) = msg.strip_prefix("LEEF:") else {
        return false;
    };
    let v2 = rest.starts_with('2');
    let parts = header_fields(rest, if v2 { 7 } else { 6 });
    if parts.len() < 5 {
        return false;
    }
    let names = [
        "leef.version",
        "leef.vendor",
        "leef.product",
        "leef.product_version",
        "leef.event_id",
    ];
    for (name, value) in names.iter().zip(&parts) {
        out.str(name, value);
    }
    out.observer(parts[1], parts[2]);
    out.str("observer.version", parts[3]);
    out.str(ecs::EVENT_CODE, parts[4]);
    let (delim, attrs) = if v2 {
        let d = parts.get(5).copied().unwrap_or("");
        let d = match d {
            "" => "\t".to_owned(),
            x if x.starts_with("0x") || x.starts_with("x") => {
                let hex = x.trim_start_matches('0').trim_start_matches('x');
                u32::from_str_radix(hex, 16)
                    .ok()
                    .and_then(char::from_u32)
                    .map_or_else(|| "\t".to_owned(), String::from)
            }
            x => x.to_owned(),
        };
        (d, parts.get(6).copied().unwrap_or(""))
    } else {
        ("\t".to_owned(), parts.get(5).copied().unwrap_or(""))
    };
    let pairs: Vec<(&str, &str)> = if attrs.contains(delim.as_str()) {
        attrs
            .split(delim.as_str())
            .filter_map(|p| p.split_once('='))
            .collect()
    } else {
        // Non-compliant senders (Aruba ClearPass) separate attributes with spaces.
        extension(attrs)
    };
    for (k, v) in pairs {
        let k = k.trim();
        if k.is_empty() {
            continue;
        }
        out.str(k, v);
        ecs_key(out, k, v);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extension_values_run_to_the_next_key() {
        assert_eq!(
            extension("msg=File is infected act=blocked src=ip\\=1"),
            [
                ("msg", "File is infected"),
                ("act", "blocked"),
                ("src", "ip\\=1")
            ]
        );
        assert_eq!(
            extension("src= dst=2.1.2.2"),
            [("src", ""), ("dst", "2.1.2.2")]
        );
    }

    #[test]
    fn escaped_pipes_stay_in_their_field() {
        let f = header_fields(r"1|a\|b|c", 3);
        assert_eq!(f, ["1", r"a\|b", "c"]);
    }
}
