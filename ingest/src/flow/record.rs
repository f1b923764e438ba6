//! One flow record, normalised: the ECS-style fields every protocol fills, and the building of
//! its [`Event`].

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::sync::OnceLock;

use onewall_model::{Event, FieldId, Format, RegionCode, Source, Timestamp, Value};

/// Where the records of one datagram come from and what the collector's configuration tags
/// them with.
#[derive(Debug, Clone)]
pub struct FlowContext {
    /// The collector's name (`netflow` or `sflow`): the events' `source.collector`.
    pub collector: Box<str>,
    /// The region the events belong to.
    pub region: RegionCode,
    /// The exporters' department, set as `organization.name`.
    pub department: Option<Box<str>>,
}

/// The normalised part of one flow record. Counts are as exported; [`FlowRecord::finish`]
/// scales them by the sampling rate.
#[derive(Debug, Clone, Default)]
pub(crate) struct FlowRecord {
    pub src_ip: Option<IpAddr>,
    pub dst_ip: Option<IpAddr>,
    pub src_port: Option<u16>,
    pub dst_port: Option<u16>,
    pub protocol: Option<u8>,
    pub bytes: Option<u64>,
    pub packets: Option<u64>,
    /// Milliseconds since the Unix epoch.
    pub start_ms: Option<i64>,
    /// Milliseconds since the Unix epoch.
    pub end_ms: Option<i64>,
    /// When the exporter sent the record (Unix milliseconds): the event time when the record
    /// has no end time.
    pub export_ms: Option<i64>,
    pub tcp_flags: Option<u16>,
    /// 1 when unsampled.
    pub sampling_rate: u32,
}

/// The field ids of the normalised names, interned once per process.
pub(crate) struct Names {
    pub source_ip: FieldId,
    pub source_port: FieldId,
    pub destination_ip: FieldId,
    pub destination_port: FieldId,
    pub transport: FieldId,
    pub iana_number: FieldId,
    pub network_type: FieldId,
    pub bytes: FieldId,
    pub packets: FieldId,
    pub start: FieldId,
    pub end: FieldId,
    pub duration: FieldId,
    pub observer_ip: FieldId,
    pub tcp_flags: FieldId,
    pub tcp_flags_names: FieldId,
    pub sampling_rate: FieldId,
    pub event_kind: FieldId,
    pub event_category: FieldId,
    pub event_action: FieldId,
    pub exporter_version: FieldId,
    pub organization: FieldId,
}

pub(crate) fn names() -> &'static Names {
    static NAMES: OnceLock<Names> = OnceLock::new();
    NAMES.get_or_init(|| {
        // The interner takes 2^20 names; these few are interned at start-up, long before it
        // could be full, so a failure here would be a bug.
        #[allow(clippy::expect_used)]
        let id = |n: &str| FieldId::intern(n).expect("field interner has room at start-up");
        Names {
            source_ip: id("source.ip"),
            source_port: id("source.port"),
            destination_ip: id("destination.ip"),
            destination_port: id("destination.port"),
            transport: id("network.transport"),
            iana_number: id("network.iana_number"),
            network_type: id("network.type"),
            bytes: id("network.bytes"),
            packets: id("network.packets"),
            start: id("event.start"),
            end: id("event.end"),
            duration: id("event.duration"),
            observer_ip: id("observer.ip"),
            tcp_flags: id("network.tcp_flags"),
            tcp_flags_names: id("network.tcp_flags_names"),
            sampling_rate: id("flow.sampling_rate"),
            event_kind: id("event.kind"),
            event_category: id("event.category"),
            event_action: id("event.action"),
            exporter_version: id("netflow.exporter.version"),
            organization: id("organization.name"),
        }
    })
}

/// The ECS `network.transport` name of an IP protocol number.
pub fn transport_name(protocol: u8) -> Option<&'static str> {
    Some(match protocol {
        1 => "icmp",
        2 => "igmp",
        6 => "tcp",
        17 => "udp",
        41 => "ipv6",
        47 => "gre",
        50 => "esp",
        51 => "ah",
        58 => "ipv6-icmp",
        89 => "ospf",
        132 => "sctp",
        _ => return None,
    })
}

/// TCP flag names, lowest bit first.
const TCP_FLAGS: [&str; 9] = ["fin", "syn", "rst", "psh", "ack", "urg", "ece", "cwr", "ns"];

fn flags_names(flags: u16) -> String {
    let mut out = String::new();
    for (bit, name) in TCP_FLAGS.iter().enumerate() {
        if flags & (1 << bit) != 0 {
            if !out.is_empty() {
                out.push(',');
            }
            out.push_str(name);
        }
    }
    out
}

impl FlowRecord {
    /// Build the event: normalised fields first, then `raw_fields` (the record's own fields
    /// under their own names). `action` is `netflow_flow` or `sflow_flow`; `version` the
    /// export protocol version (5, 9, 10 or sFlow's 5).
    #[allow(clippy::too_many_arguments)]
    pub fn finish(
        self,
        ctx: &FlowContext,
        received: Timestamp,
        peer: Option<SocketAddr>,
        observer: Option<IpAddr>,
        action: &'static str,
        version: u16,
        raw_fields: Vec<(FieldId, Value)>,
    ) -> Event {
        let n = names();
        let mut event = Event::new(
            received,
            ctx.region,
            Source {
                collector: ctx.collector.clone(),
                peer,
            },
            &[],
        );
        event.format = Format::Flow;
        event.fields.reserve(24 + raw_fields.len());
        let rate = u64::from(self.sampling_rate.max(1));
        let f = &mut event.fields;
        f.insert_id(n.event_kind, Value::str("event"));
        f.insert_id(n.event_category, Value::str("network"));
        f.insert_id(n.event_action, Value::str(action));
        if let Some(ip) = self.src_ip {
            f.insert_id(n.source_ip, Value::Ip(ip));
            f.insert_id(
                n.network_type,
                Value::str(if ip.is_ipv4() { "ipv4" } else { "ipv6" }),
            );
        }
        if let Some(p) = self.src_port {
            f.insert_id(n.source_port, Value::Int(i64::from(p)));
        }
        if let Some(ip) = self.dst_ip {
            f.insert_id(n.destination_ip, Value::Ip(ip));
        }
        if let Some(p) = self.dst_port {
            f.insert_id(n.destination_port, Value::Int(i64::from(p)));
        }
        if let Some(p) = self.protocol {
            match transport_name(p) {
                Some(name) => f.insert_id(n.transport, Value::str(name)),
                None => f.insert_id(n.transport, Value::str(p.to_string())),
            }
            f.insert_id(n.iana_number, Value::Int(i64::from(p)));
        }
        let bytes = self.bytes.map(|b| b.saturating_mul(rate));
        let packets = self.packets.map(|p| p.saturating_mul(rate));
        if let Some(b) = bytes {
            f.insert_id(n.bytes, Value::Int(clamp_i64(b)));
        }
        if let Some(p) = packets {
            f.insert_id(n.packets, Value::Int(clamp_i64(p)));
        }
        if let Some(ms) = self.start_ms {
            f.insert_id(n.start, Value::Time(Timestamp::from_millis(ms)));
        }
        if let Some(ms) = self.end_ms {
            f.insert_id(n.end, Value::Time(Timestamp::from_millis(ms)));
        }
        if let Some(ms) = self.end_ms.or(self.export_ms) {
            event.time = Timestamp::from_millis(ms);
        }
        if let (Some(s), Some(e)) = (self.start_ms, self.end_ms)
            && e >= s
        {
            f.insert_id(n.duration, Value::Int((e - s).saturating_mul(1_000_000)));
        }
        if let Some(ip) = observer {
            f.insert_id(n.observer_ip, Value::Ip(ip));
        }
        if let Some(flags) = self.tcp_flags
            && self.protocol == Some(6)
        {
            f.insert_id(n.tcp_flags, Value::Int(i64::from(flags)));
            f.insert_id(n.tcp_flags_names, Value::str(flags_names(flags)));
        }
        if rate > 1 {
            f.insert_id(n.sampling_rate, Value::Int(rate as i64));
        }
        f.insert_id(n.exporter_version, Value::Int(i64::from(version)));
        if let Some(d) = &ctx.department {
            f.insert_id(n.organization, Value::Str(d.clone()));
        }
        for (id, v) in raw_fields {
            f.insert_id(id, v);
        }
        event.raw = summary(&self, action, bytes, packets).into_bytes().into();
        event
    }
}

fn clamp_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// A one-line text form of the record, kept as the event's raw text so that text search finds
/// flows by address, port or protocol. Written by hand: `fmt` on addresses costs more than the
/// rest of the record.
fn summary(r: &FlowRecord, action: &str, bytes: Option<u64>, packets: Option<u64>) -> String {
    let mut s = String::with_capacity(112);
    s.push_str(action);
    s.push(' ');
    endpoint(&mut s, r.src_ip, r.src_port);
    s.push_str(" -> ");
    endpoint(&mut s, r.dst_ip, r.dst_port);
    if let Some(p) = r.protocol {
        s.push(' ');
        match transport_name(p) {
            Some(name) => s.push_str(name),
            None => {
                s.push_str("proto=");
                push_u64(&mut s, u64::from(p));
            }
        }
    }
    if let Some(b) = bytes {
        s.push_str(" bytes=");
        push_u64(&mut s, b);
    }
    if let Some(p) = packets {
        s.push_str(" packets=");
        push_u64(&mut s, p);
    }
    s
}

fn endpoint(s: &mut String, ip: Option<IpAddr>, port: Option<u16>) {
    match ip {
        Some(IpAddr::V4(a)) => {
            for (i, o) in a.octets().iter().enumerate() {
                if i > 0 {
                    s.push('.');
                }
                push_u64(s, u64::from(*o));
            }
        }
        Some(IpAddr::V6(a)) => {
            let _ = write!(s, "[{a}]");
        }
        None => s.push('-'),
    }
    if let Some(p) = port {
        s.push(':');
        push_u64(s, u64::from(p));
    }
}

fn push_u64(s: &mut String, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &b in &buf[i..] {
        s.push(char::from(b));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_names_in_bit_order() {
        assert_eq!(flags_names(0x1b), "fin,syn,psh,ack");
        assert_eq!(flags_names(0), "");
    }

    #[test]
    fn sampled_counts_are_scaled_and_the_rate_recorded() {
        let ctx = FlowContext {
            collector: "netflow".into(),
            region: RegionCode::HENAN,
            department: Some("public-security".into()),
        };
        let r = FlowRecord {
            src_ip: Some("10.0.0.1".parse().expect("ip")),
            dst_ip: Some("10.0.0.2".parse().expect("ip")),
            src_port: Some(1234),
            dst_port: Some(22),
            protocol: Some(6),
            bytes: Some(100),
            packets: Some(2),
            start_ms: Some(1_000),
            end_ms: Some(3_000),
            export_ms: Some(4_000),
            tcp_flags: Some(0x02),
            sampling_rate: 10,
        };
        let e = r.finish(
            &ctx,
            Timestamp::from_secs(10),
            None,
            None,
            "netflow_flow",
            9,
            vec![],
        );
        assert_eq!(e.get("network.bytes"), Some(&Value::Int(1000)));
        assert_eq!(e.get("network.packets"), Some(&Value::Int(20)));
        assert_eq!(e.get("flow.sampling_rate"), Some(&Value::Int(10)));
        assert_eq!(
            e.get("network.transport").and_then(|v| v.as_str()),
            Some("tcp")
        );
        assert_eq!(
            e.get("network.tcp_flags_names").and_then(|v| v.as_str()),
            Some("syn")
        );
        assert_eq!(e.get("event.duration"), Some(&Value::Int(2_000_000_000)));
        assert_eq!(e.time, Timestamp::from_millis(3_000));
        assert_eq!(
            e.get("organization.name").and_then(|v| v.as_str()),
            Some("public-security")
        );
        assert_eq!(
            e.raw_text(),
            "netflow_flow 10.0.0.1:1234 -> 10.0.0.2:22 tcp bytes=1000 packets=20"
        );
    }
}
