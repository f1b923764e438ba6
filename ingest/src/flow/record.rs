//! One flow record, normalised: the ECS-style fields every protocol fills, and the building of
//! its [`Event`].

use std::io::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::sync::OnceLock;

use onewall_model::{Event, FieldId, Fields, Format, RegionCode, Source, Text, Timestamp, Value};

/// Where the records of one datagram come from and what the collector's configuration tags
/// them with.
#[derive(Debug, Clone)]
pub struct FlowContext {
    /// The collector's name (`netflow` or `sflow`): the events' `source.collector`. Shared:
    /// each event's copy is a reference.
    pub collector: Text,
    /// The region the events belong to.
    pub region: RegionCode,
    /// The exporters' department, set as `organization.name`.
    pub department: Option<Text>,
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

/// The names of `flags` (nine bits), built once per combination: an event's copy is a pointer.
fn flags_names(flags: u16) -> Text {
    static NAMES: OnceLock<Vec<&'static str>> = OnceLock::new();
    let all = NAMES.get_or_init(|| (0..512u16).map(|f| &*Box::leak(flags_text(f))).collect());
    Text::from_static(all[usize::from(flags & 0x1ff)])
}

fn flags_text(flags: u16) -> Box<str> {
    // All nine names and their commas fit in 36 bytes: built on the stack, allocated once.
    let mut buf = [0u8; 40];
    let mut len = 0;
    for (bit, name) in TCP_FLAGS.iter().enumerate() {
        if flags & (1 << bit) != 0 {
            if len > 0 {
                buf[len] = b',';
                len += 1;
            }
            buf[len..len + name.len()].copy_from_slice(name.as_bytes());
            len += name.len();
        }
    }
    // Only ASCII names and commas were written.
    Box::from(std::str::from_utf8(&buf[..len]).unwrap_or_default())
}

/// Ids below this get a stamp in [`EventBuilder`]; the rare id above it (the interner holds up
/// to 2^20 names) is set with the checked [`Fields::insert_id`] instead.
const STAMPED_IDS: usize = 1 << 16;

/// Builds the events of one decoder, reusing its buffers from record to record.
///
/// Every field is appended with [`Fields::push_distinct`], which skips the search for an
/// earlier value. The normalised names are distinct from each other and from the record's own
/// (`netflow.<element>`, `sflow.<name>`: one snake-case segment after the prefix, where no
/// normalised name has one). Among the record's own fields a stamp per field id says whether
/// the record set that id already (a template may list a field twice; sFlow may carry two
/// packet headers); only then is the field set with the checked [`Fields::insert_id`], which
/// replaces the earlier value in place.
#[derive(Debug, Default)]
pub(crate) struct EventBuilder {
    /// `stamps[id]` equals `generation` when the current record has set field `id`.
    stamps: Vec<u32>,
    generation: u32,
    /// The current record's own fields (`netflow.*`, `sflow.*`), filled by the decoder while
    /// it reads the normalised ones, moved onto the event by [`FlowRecord::finish`].
    pub raw: Vec<(FieldId, Value)>,
    /// The event's fields when the decoder sets the record's own fields straight on them
    /// ([`EventBuilder::begin_direct`], [`EventBuilder::push_direct`]); empty otherwise.
    fields: Fields,
}

impl EventBuilder {
    /// Start a record: no raw fields yet.
    pub fn begin(&mut self) {
        self.raw.clear();
        // What a record that did not read whole left behind.
        self.fields = Fields::default();
        self.next_record();
    }

    /// Start a record whose `n` own fields the decoder sets straight on the event's fields
    /// with [`EventBuilder::push_direct`] (no copy through [`EventBuilder::raw`]).
    pub fn begin_direct(&mut self, n: usize) {
        self.begin();
        self.fields.reserve(n + NORMALISED);
    }

    /// Set one of the record's own fields on the event; `distinct` when the record's fields
    /// are known to be distinct (then no stamp is kept).
    #[inline]
    pub fn push_direct(&mut self, id: FieldId, value: Value, distinct: bool) {
        if distinct {
            self.fields.push_distinct(id, value);
        } else {
            set(
                &mut self.stamps,
                self.generation,
                &mut self.fields,
                id,
                value,
            );
        }
    }

    /// Set `id` on the event being built.
    #[inline]
    fn set(&mut self, fields: &mut Fields, id: FieldId, value: Value) {
        set(&mut self.stamps, self.generation, fields, id, value);
    }

    /// A new generation: no id is stamped as set.
    fn next_record(&mut self) {
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.stamps.fill(0);
            self.generation = 1;
        }
    }
}

/// The most normalised fields [`FlowRecord::finish`] sets.
const NORMALISED: usize = 22;

/// Set `id` on `fields`: pushed when the current record (stamp `generation`) has not set it
/// yet, replaced in place when it has.
#[inline]
fn set(stamps: &mut Vec<u32>, generation: u32, fields: &mut Fields, id: FieldId, value: Value) {
    let i = id.index() as usize;
    if i >= STAMPED_IDS {
        fields.insert_id(id, value);
        return;
    }
    if i >= stamps.len() {
        stamps.resize((i + 1).next_power_of_two().min(STAMPED_IDS), 0);
    }
    if stamps[i] == generation {
        fields.insert_id(id, value);
    } else {
        stamps[i] = generation;
        fields.push_distinct(id, value);
    }
}

impl FlowRecord {
    /// Build the event: the record's own fields under their own names (set directly, or
    /// collected in `b.raw`), then the normalised ones. `action` is `netflow_flow` or `sflow_flow`; `version`
    /// the export protocol version (5, 9, 10 or sFlow's 5).
    #[allow(clippy::too_many_arguments)]
    pub fn finish(
        self,
        b: &mut EventBuilder,
        ctx: &FlowContext,
        received: Timestamp,
        peer: Option<SocketAddr>,
        observer: Option<IpAddr>,
        action: &'static str,
        version: u16,
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
        event.fields = std::mem::take(&mut b.fields);
        event.fields.reserve(NORMALISED + b.raw.len());
        let f = &mut event.fields;
        let mut raw = std::mem::take(&mut b.raw);
        for (id, v) in raw.drain(..) {
            b.set(f, id, v);
        }
        b.raw = raw;
        let rate = u64::from(self.sampling_rate.max(1));
        f.push_distinct(n.event_kind, Value::Str(Text::from_static("event")));
        f.push_distinct(n.event_category, Value::Str(Text::from_static("network")));
        f.push_distinct(n.event_action, Value::Str(Text::from_static(action)));
        if let Some(ip) = self.src_ip {
            f.push_distinct(n.source_ip, Value::Ip(ip));
            f.push_distinct(
                n.network_type,
                Value::Str(Text::from_static(if ip.is_ipv4() {
                    "ipv4"
                } else {
                    "ipv6"
                })),
            );
        }
        if let Some(p) = self.src_port {
            f.push_distinct(n.source_port, Value::Int(i64::from(p)));
        }
        if let Some(ip) = self.dst_ip {
            f.push_distinct(n.destination_ip, Value::Ip(ip));
        }
        if let Some(p) = self.dst_port {
            f.push_distinct(n.destination_port, Value::Int(i64::from(p)));
        }
        if let Some(p) = self.protocol {
            match transport_name(p) {
                Some(name) => f.push_distinct(n.transport, Value::Str(Text::from_static(name))),
                None => f.push_distinct(n.transport, Value::str(p.to_string())),
            }
            f.push_distinct(n.iana_number, Value::Int(i64::from(p)));
        }
        let bytes = self.bytes.map(|v| v.saturating_mul(rate));
        let packets = self.packets.map(|v| v.saturating_mul(rate));
        if let Some(v) = bytes {
            f.push_distinct(n.bytes, Value::Int(clamp_i64(v)));
        }
        if let Some(v) = packets {
            f.push_distinct(n.packets, Value::Int(clamp_i64(v)));
        }
        if let Some(ms) = self.start_ms {
            f.push_distinct(n.start, Value::Time(Timestamp::from_millis(ms)));
        }
        if let Some(ms) = self.end_ms {
            f.push_distinct(n.end, Value::Time(Timestamp::from_millis(ms)));
        }
        if let (Some(s), Some(e)) = (self.start_ms, self.end_ms)
            && e >= s
        {
            f.push_distinct(n.duration, Value::Int((e - s).saturating_mul(1_000_000)));
        }
        if let Some(ip) = observer {
            f.push_distinct(n.observer_ip, Value::Ip(ip));
        }
        if let Some(flags) = self.tcp_flags
            && self.protocol == Some(6)
        {
            f.push_distinct(n.tcp_flags, Value::Int(i64::from(flags)));
            f.push_distinct(n.tcp_flags_names, Value::Str(flags_names(flags)));
        }
        if rate > 1 {
            f.push_distinct(n.sampling_rate, Value::Int(rate as i64));
        }
        f.push_distinct(n.exporter_version, Value::Int(i64::from(version)));
        if let Some(d) = &ctx.department {
            f.push_distinct(n.organization, Value::Str(d.clone()));
        }
        if let Some(ms) = self.end_ms.or(self.export_ms) {
            event.time = Timestamp::from_millis(ms);
        }
        event.raw = summary(&self, action, bytes, packets);
        event
    }
}

fn clamp_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// A one-line text form of the record, kept as the event's raw text so that text search finds
/// flows by address, port or protocol. Written byte by byte into a [`Line`] on the stack: `fmt`
/// on addresses costs more than the rest of the record.
fn summary(r: &FlowRecord, action: &str, bytes: Option<u64>, packets: Option<u64>) -> Box<[u8]> {
    let mut s = Line::new();
    s.push_str(action);
    s.push(b' ');
    endpoint(&mut s, r.src_ip, r.src_port);
    s.push_str(" -> ");
    endpoint(&mut s, r.dst_ip, r.dst_port);
    if let Some(p) = r.protocol {
        s.push(b' ');
        match transport_name(p) {
            Some(name) => s.push_str(name),
            None => {
                s.push_str("proto=");
                s.push_u64(u64::from(p));
            }
        }
    }
    if let Some(b) = bytes {
        s.push_str(" bytes=");
        s.push_u64(b);
    }
    if let Some(p) = packets {
        s.push_str(" packets=");
        s.push_u64(p);
    }
    Box::from(s.as_bytes())
}

/// A line of at most [`Line::CAP`] bytes on the stack; bytes past that are dropped (the
/// longest summary, two bracketed IPv6 endpoints with ports and every count, is under 200).
struct Line {
    buf: [u8; Line::CAP],
    len: usize,
}

impl Line {
    const CAP: usize = 256;

    fn new() -> Self {
        Line {
            buf: [0; Line::CAP],
            len: 0,
        }
    }

    #[inline]
    fn push(&mut self, b: u8) {
        if let Some(slot) = self.buf.get_mut(self.len) {
            *slot = b;
            self.len += 1;
        }
    }

    #[inline]
    fn push_str(&mut self, s: &str) {
        self.push_bytes(s.as_bytes());
    }

    /// Append `bytes`, as many as fit. Byte by byte: the pieces are a few bytes long, where a
    /// call to `memcpy` costs more than the copy.
    #[inline]
    fn push_bytes(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.push(b);
        }
    }

    /// `0` to `255` in decimal.
    #[inline]
    fn push_u8(&mut self, n: u8) {
        let (digits, len) = &OCTETS[usize::from(n)];
        self.push_bytes(&digits[..usize::from(*len)]);
    }

    /// `n` in decimal, two digits per division.
    fn push_u64(&mut self, mut n: u64) {
        let mut buf = [0u8; 20];
        let mut i = buf.len();
        while n >= 100 {
            let pair = usize::from((n % 100) as u8) * 2;
            n /= 100;
            i -= 2;
            buf[i] = PAIRS[pair];
            buf[i + 1] = PAIRS[pair + 1];
        }
        if n >= 10 {
            let pair = usize::from(n as u8) * 2;
            i -= 2;
            buf[i] = PAIRS[pair];
            buf[i + 1] = PAIRS[pair + 1];
        } else {
            i -= 1;
            buf[i] = b'0' + n as u8;
        }
        self.push_bytes(&buf[i..]);
    }

    fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

fn endpoint(s: &mut Line, ip: Option<IpAddr>, port: Option<u16>) {
    match ip {
        Some(IpAddr::V4(a)) => {
            let [a, b, c, d] = a.octets();
            s.push_u8(a);
            s.push(b'.');
            s.push_u8(b);
            s.push(b'.');
            s.push_u8(c);
            s.push(b'.');
            s.push_u8(d);
        }
        Some(IpAddr::V6(a)) => {
            let mut v6 = Vec::with_capacity(48);
            let _ = write!(v6, "[{a}]");
            for b in v6 {
                s.push(b);
            }
        }
        None => s.push(b'-'),
    }
    if let Some(p) = port {
        s.push(b':');
        s.push_u64(u64::from(p));
    }
}

/// `00` to `99`, two ASCII digits each.
const PAIRS: [u8; 200] = {
    let mut t = [0u8; 200];
    let mut n = 0;
    while n < 100 {
        t[2 * n] = b'0' + (n / 10) as u8;
        t[2 * n + 1] = b'0' + (n % 10) as u8;
        n += 1;
    }
    t
};

/// `0` to `255` in decimal, each as its digits padded to three bytes, and the digit count.
const OCTETS: [([u8; 3], u8); 256] = {
    let mut t = [([0u8; 3], 0u8); 256];
    let mut n = 0;
    while n < 256 {
        let (h, te, o) = ((n / 100) as u8, (n / 10 % 10) as u8, (n % 10) as u8);
        t[n] = if n >= 100 {
            ([b'0' + h, b'0' + te, b'0' + o], 3)
        } else if n >= 10 {
            ([b'0' + te, b'0' + o, 0], 2)
        } else {
            ([b'0' + o, 0, 0], 1)
        };
        n += 1;
    }
    t
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_addresses_are_written_as_decimal_text() {
        let mut s = Line::new();
        for n in [
            0u64,
            7,
            10,
            99,
            100,
            255,
            1009,
            65535,
            4_294_967_296,
            u64::MAX,
        ] {
            s.push_u64(n);
            s.push(b' ');
        }
        for n in [0u8, 9, 10, 99, 100, 255] {
            s.push_u8(n);
            s.push(b' ');
        }
        endpoint(&mut s, Some("10.200.0.7".parse().expect("ip")), Some(443));
        s.push(b' ');
        endpoint(&mut s, Some("2001:db8::1".parse().expect("ip")), None);
        s.push(b' ');
        endpoint(&mut s, None, Some(0));
        assert_eq!(
            std::str::from_utf8(s.as_bytes()).expect("ascii"),
            "0 7 10 99 100 255 1009 65535 4294967296 18446744073709551615 \
             0 9 10 99 100 255 10.200.0.7:443 [2001:db8::1] -:0"
        );
        let mut full = Line::new();
        for _ in 0..300 {
            full.push(b'x');
        }
        assert_eq!(full.as_bytes().len(), Line::CAP);
    }

    #[test]
    fn flag_names_in_bit_order() {
        assert_eq!(&*flags_names(0x1b), "fin,syn,psh,ack");
        assert_eq!(&*flags_names(0), "");
        assert_eq!(&*flags_names(0x1ff), "fin,syn,rst,psh,ack,urg,ece,cwr,ns");
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
        let mut b = EventBuilder::default();
        b.begin();
        let raw_id = FieldId::intern("netflow.test_raw").expect("room");
        b.raw.push((raw_id, Value::Int(1)));
        // Twice in one record (a template listing a field twice): the later value wins.
        b.raw.push((raw_id, Value::Int(2)));
        let e = r.finish(
            &mut b,
            &ctx,
            Timestamp::from_secs(10),
            None,
            None,
            "netflow_flow",
            9,
        );
        assert_eq!(e.get("netflow.test_raw"), Some(&Value::Int(2)));
        assert_eq!(
            e.fields
                .iter()
                .filter(|(k, _)| *k == "netflow.test_raw")
                .count(),
            1
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
