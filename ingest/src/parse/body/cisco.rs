//! Cisco ASA and FTD: `%ASA-6-302013: Built inbound TCP connection ...`. Every message sets
//! `cisco.message_id` and `log.level`; the common ids also set addresses, ports, user, action.

use super::out::{Out, ecs};

/// `[iface:]ip/port`, `[iface/]ip(port)` or `ip`: the address and the port, when present.
fn endpoint(token: &str) -> Option<(&str, Option<&str>)> {
    let t = token.trim_matches(|c: char| matches!(c, ',' | ';' | '"' | '\''));
    // `iface/ip(port)` (106100).
    if let Some(open) = t.find('(')
        && t.ends_with(')')
    {
        let port = &t[open + 1..t.len() - 1];
        let addr = &t[..open];
        let addr = addr.rsplit('/').next().unwrap_or(addr);
        return addr
            .parse::<std::net::IpAddr>()
            .is_ok()
            .then_some((addr, Some(port)));
    }
    let (addr, port) = match t.rsplit_once('/') {
        Some((a, p)) if p.bytes().all(|c| c.is_ascii_alphanumeric()) => (a, Some(p)),
        _ => (t, None),
    };
    if addr.parse::<std::net::IpAddr>().is_ok() {
        return Some((addr, port));
    }
    let (_, ip) = addr.split_once(':')?;
    ip.parse::<std::net::IpAddr>().is_ok().then_some((ip, port))
}

fn set_endpoint(out: &mut Out<'_>, token: &str, source: bool) -> bool {
    let Some((ip, port)) = endpoint(token) else {
        return false;
    };
    let (ip_name, port_name) = if source {
        (ecs::SOURCE_IP, ecs::SOURCE_PORT)
    } else {
        (ecs::DESTINATION_IP, ecs::DESTINATION_PORT)
    };
    out.ip(ip_name, ip);
    if let Some(p) = port {
        out.int(port_name, p);
    }
    true
}

/// The word after `key` in `words`.
fn after<'a>(words: &[&'a str], key: &str) -> Option<&'a str> {
    let k = words.iter().position(|w| *w == key)?;
    words.get(k + 1).copied()
}

/// `name = value :` as 113004/113005 write it.
fn colon_field<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    let start = text.find(name)? + name.len();
    let rest = text[start..].trim_start().strip_prefix('=')?.trim_start();
    Some(rest.split(" :").next().unwrap_or(rest).trim())
}

pub(crate) fn parse(out: &mut Out<'_>, msg: &str) -> bool {
    let Some(at) = msg.find("%ASA-").or_else(|| msg.find("%FTD-")) else {
        return false;
    };
    let product = if msg[at..].starts_with("%ASA") {
        "ASA"
    } else {
        "FTD"
    };
    let head = &msg[at + 5..];
    let end = head.find([':', ' ']).unwrap_or(head.len());
    let Some((sev, id)) = head[..end].split_once('-') else {
        return false;
    };
    out.observer("Cisco", product);
    out.int("log.syslog.severity.code", sev);
    out.str("cisco.message_id", id);
    out.str(ecs::EVENT_CODE, id);
    let text = head[end..].trim_start_matches(':').trim();
    let words: Vec<&str> = text.split_whitespace().collect();
    match id {
        "106023" | "106001" | "106006" | "106015" => deny(out, id, &words),
        "302013" | "302014" | "302015" | "302016" | "302020" | "302021" => {
            connection(out, text, &words)
        }
        "106100" => access_list(out, &words),
        "113004" | "113005" | "113012" | "113015" => aaa(out, text),
        "605004" | "605005" => login(out, id, &words),
        "710003" => to_device_denied(out, &words),
        "111008" | "111009" | "111010" => command(out, &words),
        _ => other(out, text, &words),
    }
    true
}

/// A connection denied by an access list or policy (106001, 106006, 106015, 106023).
fn deny(out: &mut Out<'_>, id: &str, words: &[&str]) {
    out.str(ecs::EVENT_ACTION, "deny");
    out.outcome(false);
    let proto = if id == "106023" || id == "106015" {
        words.get(1)
    } else {
        words
            .iter()
            .find(|w| w.eq_ignore_ascii_case("tcp") || w.eq_ignore_ascii_case("udp"))
    };
    if let Some(p) = proto {
        out.transport(p);
    }
    let (s, d) = if id == "106023" {
        ("src", "dst")
    } else {
        ("from", "to")
    };
    if let Some(t) = after(words, s) {
        set_endpoint(out, t, true);
    }
    if let Some(t) = after(words, d) {
        set_endpoint(out, t, false);
    }
    if let Some(acl) = after(words, "access-group") {
        out.str("cisco.acl", acl.trim_matches('"'));
    }
}

/// A connection built or torn down (302013–302021).
fn connection(out: &mut Out<'_>, text: &str, words: &[&str]) {
    let built = words.first() == Some(&"Built");
    out.str(ecs::EVENT_ACTION, if built { "built" } else { "teardown" });
    if let Some(p) = words.iter().find(|w| matches!(**w, "TCP" | "UDP" | "ICMP")) {
        out.transport(p);
    }
    if let Some(dir) = words.get(1).filter(|w| w.ends_with("bound")) {
        out.str("network.direction", dir);
    }
    if words.contains(&"faddr") {
        if let Some(t) = after(words, "faddr") {
            set_endpoint(out, t.split('(').next().unwrap_or(t), true);
        }
        if let Some(t) = after(words, "laddr") {
            set_endpoint(out, t, false);
        }
    } else {
        // `for` names the outside end: the source of an inbound connection, the
        // destination of an outbound one.
        let outbound = words.get(1) == Some(&"outbound");
        if let Some(t) = after(words, "for") {
            set_endpoint(out, t, !outbound);
        }
        if let Some(t) = after(words, "to") {
            set_endpoint(out, t, outbound);
        }
    }
    if let Some(conn) = after(words, "connection").filter(|c| c.bytes().all(|b| b.is_ascii_digit()))
    {
        out.str("cisco.connection_id", conn);
    }
    if let Some(b) = after(words, "bytes") {
        out.int("network.bytes", b);
    }
    // A user in parentheses after the source: `(2.2.2.2/62197)(DOMAIN\user)`.
    if let Some(p) = text.find(")(") {
        let rest = &text[p + 2..];
        if let Some(close) = rest.find(')') {
            out.str(ecs::USER_NAME, &rest[..close]);
        }
    }
}

/// An access list permitting or denying a flow (106100).
fn access_list(out: &mut Out<'_>, words: &[&str]) {
    // access-list NAME permitted|denied PROTO IFACE/IP(PORT) -> IFACE/IP(PORT) ...
    if let Some(acl) = words.get(1) {
        out.str("cisco.acl", acl);
    }
    if let Some(a) = words.get(2) {
        let allowed = *a == "permitted";
        out.str(ecs::EVENT_ACTION, if allowed { "permit" } else { "deny" });
        out.outcome(allowed);
    }
    if let Some(p) = words.get(3) {
        out.transport(p);
    }
    if let Some(t) = words.get(4) {
        set_endpoint(out, t, true);
    }
    if let Some(t) = words.get(6) {
        set_endpoint(out, t, false);
    }
}

/// An AAA authentication, successful or not (113004, 113005, 113012, 113015).
fn aaa(out: &mut Out<'_>, text: &str) {
    let ok = text.contains("Successful");
    out.str(ecs::EVENT_ACTION, "authentication");
    out.outcome(ok);
    if let Some(u) = colon_field(text, ": user =") {
        out.str(ecs::USER_NAME, u);
    }
    if let Some(s) = colon_field(text, "server =") {
        out.ip(ecs::DESTINATION_IP, s);
    }
    if let Some(ip) = colon_field(text, "user IP =") {
        out.ip(ecs::SOURCE_IP, ip);
    }
    if let Some(r) = colon_field(text, "reason =") {
        out.str("event.reason", r);
    }
}

/// A management login, successful or not (605004, 605005).
fn login(out: &mut Out<'_>, id: &str, words: &[&str]) {
    let ok = id == "605005";
    out.str(ecs::EVENT_ACTION, "login");
    out.outcome(ok);
    if let Some(t) = after(words, "from") {
        set_endpoint(out, t, true);
    }
    if let Some(t) = after(words, "to") {
        set_endpoint(out, t, false);
    }
    if let Some(u) = after(words, "user") {
        out.str(ecs::USER_NAME, u.trim_matches('"'));
    }
}

/// A connection to the device itself denied (710003).
fn to_device_denied(out: &mut Out<'_>, words: &[&str]) {
    out.str(ecs::EVENT_ACTION, "deny");
    out.outcome(false);
    if let Some(p) = words.first() {
        out.transport(p);
    }
    if let Some(t) = after(words, "from") {
        set_endpoint(out, t, true);
    }
    if let Some(t) = after(words, "to") {
        set_endpoint(out, t, false);
    }
}

/// A command a user ran (111008–111010).
fn command(out: &mut Out<'_>, words: &[&str]) {
    if let Some(u) = after(words, "User") {
        out.str(ecs::USER_NAME, u.trim_matches(|c| c == '\'' || c == ','));
    }
    out.str(ecs::EVENT_ACTION, "command");
    if let Some(ip) = after(words, "IP") {
        out.ip(ecs::SOURCE_IP, ip.trim_end_matches(','));
    }
}

/// Any other message: FTD key-value events, else `from`/`to` endpoints and the action word.
fn other(out: &mut Out<'_>, text: &str, words: &[&str]) {
    // `SrcIP: a, DstIP: b, SrcPort: n, DstPort: m, Protocol: tcp` (FTD file events).
    if text.contains("SrcIP: ") {
        for part in text.split(", ") {
            if let Some((k, v)) = part.split_once(": ") {
                out.str(k, v);
                match k {
                    "SrcIP" => out.ip(ecs::SOURCE_IP, v),
                    "DstIP" => out.ip(ecs::DESTINATION_IP, v),
                    "SrcPort" => out.int(ecs::SOURCE_PORT, v),
                    "DstPort" => out.int(ecs::DESTINATION_PORT, v),
                    "Protocol" => out.transport(v),
                    _ => {}
                }
            }
        }
    } else {
        if let Some(t) = after(words, "from") {
            set_endpoint(out, t, true);
        }
        if let Some(t) = after(words, "to") {
            set_endpoint(out, t, false);
        }
    }
    if let Some(first) = words.first() {
        let a = first.to_ascii_lowercase();
        if matches!(a.as_str(), "deny" | "built" | "teardown") {
            out.str(ecs::EVENT_ACTION, &a);
        }
    }
}
