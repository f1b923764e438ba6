//! Palo Alto PAN-OS syslog CSV: `FUTURE_USE,receive_time,serial,TYPE,subtype,...`, with the
//! column layouts of TRAFFIC, THREAT, SYSTEM, CONFIG, USERID, GLOBALPROTECT, AUTH and HIPMATCH.
//! Columns are kept as `panos.<name>` (PAN-OS field names); the usual ones also set ECS fields.

use super::out::{Out, ecs};

const TYPES: [&str; 10] = [
    "TRAFFIC",
    "THREAT",
    "SYSTEM",
    "CONFIG",
    "USERID",
    "GLOBALPROTECT",
    "AUTH",
    "HIPMATCH",
    "DECRYPTION",
    "CORRELATION",
];

/// CSV fields: `"` quotes a field, `""` inside is a quote.
pub(crate) fn csv(s: &str) -> Vec<std::borrow::Cow<'_, str>> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        if i < b.len() && b[i] == b'"' {
            let mut text = String::new();
            let mut k = i + 1;
            let mut start = k;
            while k < b.len() {
                if b[k] == b'"' {
                    if b.get(k + 1) == Some(&b'"') {
                        text.push_str(&s[start..=k]);
                        k += 2;
                        start = k;
                        continue;
                    }
                    break;
                }
                k += 1;
            }
            text.push_str(&s[start..k.min(b.len())]);
            out.push(std::borrow::Cow::Owned(text));
            // Skip to the comma after the closing quote.
            i = match s[k.min(s.len())..].find(',') {
                Some(p) => k + p,
                None => b.len(),
            };
        } else {
            let end = s[i..].find(',').map_or(b.len(), |p| i + p);
            out.push(std::borrow::Cow::Borrowed(&s[i..end]));
            i = end;
        }
        if i >= b.len() {
            break;
        }
        i += 1;
    }
    out
}

/// `1,2023/06/16 10:41:44,serial,TYPE,`.
pub(crate) fn looks_like(m: &str) -> bool {
    let mut it = m.splitn(5, ',');
    let (Some(_), Some(time), Some(_), Some(kind)) = (it.next(), it.next(), it.next(), it.next())
    else {
        return false;
    };
    time.len() == 19 && time.as_bytes()[4] == b'/' && TYPES.contains(&kind)
}

const COMMON: [&str; 7] = [
    "future_use1",
    "receive_time",
    "serial",
    "type",
    "subtype",
    "future_use2",
    "time_generated",
];

const TRAFFIC: [&str; 27] = [
    "src",
    "dst",
    "natsrc",
    "natdst",
    "rule",
    "srcuser",
    "dstuser",
    "app",
    "vsys",
    "from",
    "to",
    "inbound_if",
    "outbound_if",
    "logset",
    "future_use3",
    "sessionid",
    "repeatcnt",
    "sport",
    "dport",
    "natsport",
    "natdport",
    "flags",
    "proto",
    "action",
    "bytes",
    "bytes_sent",
    "bytes_received",
];

const THREAT_TAIL: [&str; 5] = ["misc", "threatid", "category", "severity", "direction"];

const SYSTEM: [&str; 8] = [
    "vsys",
    "eventid",
    "object",
    "future_use3",
    "future_use4",
    "module",
    "severity",
    "opaque",
];

const CONFIG: [&str; 7] = ["host", "vsys", "cmd", "admin", "client", "result", "path"];

const USERID: [&str; 4] = ["vsys", "ip", "user", "datasourcename"];

const GLOBALPROTECT: [&str; 11] = [
    "vsys",
    "eventid",
    "stage",
    "auth_method",
    "tunnel_type",
    "srcuser",
    "srcregion",
    "machinename",
    "public_ip",
    "public_ipv6",
    "private_ip",
];

const AUTH: [&str; 5] = ["vsys", "ip", "user", "normalize_user", "object"];

const HIPMATCH: [&str; 6] = ["srcuser", "vsys", "machinename", "os", "src", "matchname"];

pub(crate) fn parse(out: &mut Out<'_>, msg: &str) -> bool {
    if !looks_like(msg) {
        return false;
    }
    let cols = csv(msg.trim_end());
    let kind = cols.get(3).map(|c| c.to_string()).unwrap_or_default();
    let tail: Vec<&str> = match kind.as_str() {
        "TRAFFIC" => TRAFFIC.to_vec(),
        "THREAT" => TRAFFIC[..24]
            .iter()
            .chain(THREAT_TAIL.iter())
            .copied()
            .collect(),
        "SYSTEM" => SYSTEM.to_vec(),
        "CONFIG" => CONFIG.to_vec(),
        "USERID" => USERID.to_vec(),
        "GLOBALPROTECT" => GLOBALPROTECT.to_vec(),
        "AUTH" => AUTH.to_vec(),
        "HIPMATCH" => HIPMATCH.to_vec(),
        _ => Vec::new(),
    };
    out.observer("Palo Alto Networks", "PAN-OS");
    let mut name_buf = String::new();
    for (name, value) in COMMON.iter().chain(tail.iter()).zip(&cols) {
        if name.starts_with("future_use") || value.is_empty() {
            continue;
        }
        name_buf.clear();
        name_buf.push_str("panos.");
        name_buf.push_str(name);
        out.str(&name_buf, value);
        match *name {
            "src" | "ip" => out.ip(ecs::SOURCE_IP, value),
            "dst" => out.ip(ecs::DESTINATION_IP, value),
            "sport" => out.int(ecs::SOURCE_PORT, value),
            "dport" => out.int(ecs::DESTINATION_PORT, value),
            "proto" => out.transport(value),
            "action" => out.str(ecs::EVENT_ACTION, value),
            "srcuser" | "user" | "admin" => out.str(ecs::USER_NAME, value),
            "public_ip" => out.ip(ecs::SOURCE_IP, value),
            "host" => out.ip(ecs::SOURCE_IP, value),
            "eventid" if kind == "SYSTEM" => out.str(ecs::EVENT_ACTION, value),
            "misc" => out.str(ecs::URL_ORIGINAL, value),
            "result" => out.outcome(value.eq_ignore_ascii_case("succeeded")),
            _ => {}
        }
    }
    if kind == "SYSTEM"
        && let Some(desc) = cols.get(14)
    {
        // `... for user 'user1'.`
        if let Some(p) = desc.find("for user '") {
            let rest = &desc[p + 10..];
            if let Some(end) = rest.find('\'') {
                out.str(ecs::USER_NAME, &rest[..end]);
            }
        }
        if let Some(sub) = cols.get(8) {
            match sub.as_ref() {
                "auth-success" => out.outcome(true),
                "auth-fail" => out.outcome(false),
                _ => {}
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_fields() {
        let f = csv(r#"a,"b,c",,"d""e",f"#);
        assert_eq!(f, ["a", "b,c", "", "d\"e", "f"]);
        assert_eq!(csv("x,\"unterminated"), ["x", "unterminated"]);
    }
}
