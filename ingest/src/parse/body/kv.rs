//! `key=value` bodies: FortiGate, Venustech, Topsec, Leadsec (space separated, values quoted
//! when they hold spaces), Huawei USG (`Key=Value,`), H3C (`Key(code)=value;`) and Sangfor
//! (`键:值, `). Vendor keys are kept under their own names; well-known keys also set ECS fields.

use super::out::{Out, ecs};

/// Calls `f(key, value)` for each `key=value` in `s`, pairs separated by `sep` (and spaces),
/// values in double quotes may hold anything but an unescaped quote. Words without `=` are
/// skipped.
pub(crate) fn pairs<'a>(s: &'a str, sep: u8, eq: u8, mut f: impl FnMut(&'a str, &'a str)) {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && (b[i] == sep || b[i] == b' ' || b[i] == b'\t') {
            i += 1;
        }
        let key_start = i;
        while i < b.len() && b[i] != eq && b[i] != sep && b[i] != b' ' {
            i += 1;
        }
        if i >= b.len() || b[i] != eq || i == key_start {
            // A word without `=`: skip it.
            while i < b.len() && b[i] != sep && b[i] != b' ' {
                i += 1;
            }
            continue;
        }
        let key = &s[key_start..i];
        i += 1;
        if i < b.len() && b[i] == b'"' {
            let start = i + 1;
            let mut k = start;
            while k < b.len() && !(b[k] == b'"' && b[k - 1] != b'\\') {
                k += 1;
            }
            f(key, &s[start..k.min(b.len())]);
            i = k + 1;
        } else {
            let start = i;
            // Separated by `sep`; with a space separator, by a space.
            while i < b.len() && b[i] != sep {
                i += 1;
            }
            f(key, s[start..i].trim_end());
        }
    }
}

/// Sets the ECS field a vendor key stands for, if any.
fn ecs_of(out: &mut Out<'_>, key: &str, value: &str) {
    let v = value.trim();
    if v.is_empty() || v == "-" || v == "--" {
        return;
    }
    match key.to_ascii_lowercase().as_str() {
        "srcip" | "src" | "sa" | "sourceip" | "srcipaddr" | "src_ip" | "源ip" | "ip地址"
        | "userip" | "remip" | "from" => out.ip(ecs::SOURCE_IP, v),
        "dstip" | "dst" | "da" | "destinationip" | "dstipaddr" | "dst_ip" | "目的ip" | "locip" => {
            out.ip(ecs::DESTINATION_IP, v)
        }
        "srcport" | "spt" | "sourceport" | "sport" | "源端口" | "remport" => {
            out.int(ecs::SOURCE_PORT, v)
        }
        "dstport" | "dpt" | "destinationport" | "dport" | "目的端口" | "locport" => {
            out.int(ecs::DESTINATION_PORT, v)
        }
        "user" | "usrname" | "suser" | "username" | "用户" | "account" | "identity"
            if v != "(null)" && v != "N/A" =>
        {
            out.str(ecs::USER_NAME, v)
        }
        "action" | "act" | "系统动作" | "动作" | "event" | "操作" => {
            out.str(ecs::EVENT_ACTION, &v.to_lowercase())
        }
        "proto" | "protocol" | "协议" => out.transport(v),
        "url" | "request" => out.str(ecs::URL_ORIGINAL, v),
        "logid" => out.str(ecs::EVENT_CODE, v),
        _ => {}
    }
}

fn kv_fields(out: &mut Out<'_>, body: &str, sep: u8, eq: u8) -> usize {
    let mut n = 0;
    let mut found = Vec::new();
    pairs(body, sep, eq, |k, v| found.push((k, v)));
    for (k, v) in found {
        // H3C: `SrcIPAddr(1003)` is kept as `SrcIPAddr`.
        let k = match k.find('(') {
            Some(p) if k.ends_with(')') && p > 0 => &k[..p],
            _ => k,
        };
        out.str(k, v);
        ecs_of(out, k, v);
        n += 1;
    }
    n
}

/// Space-separated `key=value` (FortiGate, Venustech, Topsec, Leadsec, generic).
pub(crate) fn vendor_kv(out: &mut Out<'_>, msg: &str, vendor: &str, product: &str) -> bool {
    // Venustech: `MODULE: SerialNum=..`; Leadsec relays: `root: devid=..`.
    let body = match msg.find(": ") {
        Some(p) if !msg[..p].contains('=') => {
            let module = msg[..p].trim();
            if !module.is_empty() && !module.contains(' ') {
                out.str("event.category_name", module);
            }
            &msg[p + 2..]
        }
        _ => msg,
    };
    if kv_fields(out, body, b' ', b'=') == 0 {
        return false;
    }
    if !vendor.is_empty() {
        out.observer(vendor, product);
    }
    true
}

/// Any `Word(digits)=` in the text: H3C's field ids.
pub(crate) fn has_h3c_keys(m: &str) -> bool {
    let b = m.as_bytes();
    memchr::memmem::find_iter(b, b")=").any(|end| {
        let digits = b[..end]
            .iter()
            .rev()
            .take_while(|c| c.is_ascii_digit())
            .count();
        digits > 0 && end > digits + 1 && b[end - digits - 1] == b'('
    })
}

/// `%%10MODULE/sev/MNEMONIC: Key(code)=value;...` and the A2020 `(key=value ...)` lines.
pub(crate) fn h3c(out: &mut Out<'_>, msg: &str) -> bool {
    let body = mnemonic(out, msg);
    let n = if has_h3c_keys(body) {
        kv_fields(out, body, b';', b'=')
    } else {
        // Bastion host: `Login(web)(service=native ... from=172.31.255.2 login ...)`.
        let inner = body.find('(').map_or(body, |p| &body[p + 1..]);
        let inner = match inner.find("(") {
            Some(p) if inner[..p].find('=').is_none() => &inner[p + 1..],
            _ => inner,
        };
        kv_fields(out, inner.trim_end_matches(')'), b' ', b'=')
    };
    out.observer("H3C", "Comware");
    n > 0
}

/// Reads `%%NNMODULE/sev/MNEMONIC[(l)]:` when present and returns the text after it.
fn mnemonic<'a>(out: &mut Out<'_>, msg: &'a str) -> &'a str {
    let (start, skip) = match msg.find("%%") {
        Some(p) => {
            let digits = msg[p + 2..].bytes().take_while(u8::is_ascii_digit).count();
            (p + 2 + digits, 0)
        }
        None => (0, 0),
    };
    let rest = &msg[start + skip..];
    // MODULE/sev/MNEMONIC up to `:`.
    let Some(colon) = rest.find(':') else {
        return msg;
    };
    let head = &rest[..colon];
    let mut parts = head.split('/');
    if let (Some(module), Some(sev), Some(brief)) = (parts.next(), parts.next(), parts.next())
        && sev.bytes().all(|c| c.is_ascii_digit())
        && !sev.is_empty()
    {
        // H3C lines without `%%` start at the last word before `MODULE/`.
        let module = module.rsplit(' ').next().unwrap_or(module);
        let brief = brief.strip_suffix("(l)").unwrap_or(brief);
        out.str("log.module", module);
        out.int("log.severity_code", sev);
        out.str(ecs::EVENT_ACTION, &brief.to_ascii_lowercase());
        out.str("event.kind_name", brief);
        return rest[colon + 1..].trim_start();
    }
    msg
}

/// Huawei USG: `%%01SECLOG/6/SESSION_BUILT(l):IPVer=4,Protocol=udp,SourceIP=...` or free text
/// (`Built an udp session, 10.1.1.1:1 (trust) to 10.1.1.2:1 (trust).`), `key:value` SHELL lines.
pub(crate) fn huawei(out: &mut Out<'_>, msg: &str) -> bool {
    let body = if msg.contains("%%0") {
        mnemonic(out, msg)
    } else {
        msg.find("%%: ").map_or(msg, |p| &msg[p + 4..])
    };
    out.observer("Huawei", "USG");
    let body = body.trim_end_matches('.');
    if body.contains('=') {
        kv_fields(out, body, b',', b'=');
        return true;
    }
    if let Some(rest) = body.strip_prefix("Built an ") {
        // `udp session, A:P (zone) to B:P (zone)`
        let mut words = rest.split([' ', ',']).filter(|w| !w.is_empty());
        if let Some(proto) = words.next() {
            out.transport(proto);
        }
        let mut addrs = rest
            .split(' ')
            .filter(|w| w.contains(':') && w.contains('.'));
        for (ip_name, port_name) in [
            (ecs::SOURCE_IP, ecs::SOURCE_PORT),
            (ecs::DESTINATION_IP, ecs::DESTINATION_PORT),
        ] {
            if let Some((ip, port)) = addrs.next().and_then(|a| a.rsplit_once(':')) {
                out.ip(ip_name, ip);
                out.int(port_name, port);
            }
        }
        out.str(ecs::EVENT_ACTION, "session_built");
        return true;
    }
    // `access type:console vsys:root user:admin login from con0`
    for word in body.split(' ') {
        if let Some((k, v)) = word.split_once(':')
            && !k.is_empty()
        {
            out.str(k, v);
            ecs_of(out, k, v);
        }
    }
    true
}

/// Sangfor: `日志类型:WAF应用防护日志, 源IP:192.168.200.1, ...`, or `键=值;` from the EDR.
pub(crate) fn sangfor(out: &mut Out<'_>, msg: &str) -> bool {
    let Some(start) = msg.find("日志类型") else {
        return false;
    };
    let body = &msg[start..];
    out.observer("Sangfor", "AF");
    if body.starts_with("日志类型=") {
        kv_fields(out, body, b';', b'=');
        return true;
    }
    for part in body.split(", ") {
        let Some((k, v)) = part.split_once([':', '：']) else {
            continue;
        };
        let k = k.trim();
        out.str(k, v);
        ecs_of(out, k, v);
        if k == "用户名/主机" {
            out.ip(ecs::SOURCE_IP, v);
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_and_bare_values() {
        let mut v = Vec::new();
        pairs(r#"a=1 b="x y" c= d="q\"r" e"#, b' ', b'=', |k, x| {
            v.push((k, x))
        });
        assert_eq!(v, [("a", "1"), ("b", "x y"), ("c", ""), ("d", r#"q\"r"#)]);
    }

    #[test]
    fn h3c_keys() {
        assert!(has_h3c_keys("SrcIPAddr(1003)=1.2.3.4;"));
        assert!(!has_h3c_keys("a(b)=c"));
        assert!(!has_h3c_keys("(1)="));
    }
}
