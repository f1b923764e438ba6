//! Hillstone StoneOS: `SERIAL(vsys) LOGID Type@MODULE: SESSION: a:p(if)->b:p(if)(TCP), key value,
//! ...` and `NAT:` / `Admin user "x" logined through SSH, from a:p to b:p(TCP)` texts.

use super::out::{Out, ecs};

/// `a.b.c.d:port` with an optional `(iface)` or `(PROTO)` after it.
fn addr_port(s: &str) -> Option<(&str, &str, Option<&str>)> {
    let s = s.trim().trim_end_matches(',');
    let (core, paren) = match s.find('(') {
        Some(p) => (&s[..p], Some(s[p + 1..].trim_end_matches(')'))),
        None => (s, None),
    };
    let (ip, port) = core.rsplit_once(':')?;
    ip.parse::<std::net::IpAddr>().ok()?;
    Some((ip, port, paren))
}

pub(crate) fn parse(out: &mut Out<'_>, msg: &str, tag: Option<&str>) -> bool {
    let text = match msg.find("@FLOW: ").or_else(|| msg.find("@MGMT: ")) {
        Some(at) => {
            let kind_start = msg[..at].rfind([' ', '#', ',']).map_or(0, |p| p + 1);
            out.str("hillstone.type", &msg[kind_start..at]);
            out.str("hillstone.module", &msg[at + 1..at + 5]);
            msg[at + 7..].trim()
        }
        // `2019-07-30 12:50:20, WARNING@MGMT: text`: the header read `WARNING@MGMT` as the tag.
        None => match tag.and_then(|t| t.split_once('@')) {
            Some((kind, module)) if module == "MGMT" || module == "FLOW" => {
                out.str("hillstone.type", kind);
                out.str("hillstone.module", module);
                msg.trim()
            }
            _ => return false,
        },
    };
    out.observer("Hillstone", "StoneOS");
    if let Some((kind, rest)) = text.split_once(": ")
        && matches!(kind, "SESSION" | "NAT")
    {
        out.str(ecs::EVENT_ACTION, &kind.to_ascii_lowercase());
        let mut parts = rest.split(", ");
        if let Some(flow) = parts.next()
            && let Some((a, b)) = flow.split_once("->")
        {
            if let Some((ip, port, _)) = addr_port(a) {
                out.ip(ecs::SOURCE_IP, ip);
                out.int(ecs::SOURCE_PORT, port);
            }
            // `b:p(TCP)` or `b:p(iface)` then maybe `(TCP)`.
            let proto = b.rsplit('(').next().map(|p| p.trim_end_matches(')'));
            if let Some((ip, port, _)) = addr_port(b.split(')').next().unwrap_or(b)) {
                out.ip(ecs::DESTINATION_IP, ip);
                out.int(ecs::DESTINATION_PORT, port);
            }
            if let Some(p) = proto.filter(|p| matches!(*p, "TCP" | "UDP" | "ICMP")) {
                out.transport(p);
            }
        }
        for part in rest.split([',', '.']).map(str::trim) {
            if let Some(p) = part.strip_prefix("Protocol ") {
                out.transport(p);
            } else if let Some(a) = part.strip_prefix("application ") {
                out.str("network.application", a);
            } else if let Some(p) = part.strip_prefix("policy ") {
                if p == "deny" {
                    out.str(ecs::EVENT_ACTION, "deny");
                } else {
                    out.str("rule.id", p);
                }
            } else if let Some(u) = part.strip_prefix("user ") {
                let u = u.split(' ').next().unwrap_or(u);
                let name = u.split('@').next().unwrap_or("");
                if !name.is_empty() && name != "-" {
                    out.str(ecs::USER_NAME, name);
                }
            } else if let Some(a) = part.strip_prefix("snat to ") {
                if let Some((ip, port, _)) = addr_port(a) {
                    out.ip("source.nat.ip", ip);
                    out.int("source.nat.port", port);
                }
            } else if part == "session end" || part == "session start" {
                out.str("hillstone.session", part);
            }
        }
        return true;
    }
    // MGMT text: `Admin user "hillstone" logined through SSH, from a:p to b:p(TCP)`.
    out.str(ecs::EVENT_ACTION, "management");
    if let Some(p) = text.find("user \"") {
        let rest = &text[p + 6..];
        if let Some(end) = rest.find('"') {
            out.str(ecs::USER_NAME, &rest[..end]);
        }
    }
    if text.contains("logined") {
        out.outcome(true);
    } else if text.contains("failed") {
        out.outcome(false);
    }
    let words: Vec<&str> = text.split(' ').collect();
    for (k, w) in words.iter().enumerate() {
        let w = w.trim_end_matches(['.', ',']);
        if let Some((ip, port, proto)) = addr_port(w) {
            let src = k > 0 && words[k - 1] == "from";
            let (i, p) = if src {
                (ecs::SOURCE_IP, ecs::SOURCE_PORT)
            } else {
                (ecs::DESTINATION_IP, ecs::DESTINATION_PORT)
            };
            out.ip(i, ip);
            out.int(p, port);
            if let Some(proto) = proto {
                out.transport(proto);
            }
        } else if w.parse::<std::net::IpAddr>().is_ok() {
            out.ip(ecs::SOURCE_IP, w);
        }
    }
    true
}
