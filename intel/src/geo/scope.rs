//! An address's scope, known without any database: the special-purpose ranges of the IANA
//! IPv4 and IPv6 registries (RFC 6890 and its updates), each classed as `private` (an
//! organisation's or a host's own network: RFC 1918, shared CGNAT space, unique local IPv6,
//! loopback, link-local) or `reserved` (never a real peer on the internet: documentation,
//! benchmarking, multicast, `0.0.0.0/8`, `240.0.0.0/4`, the broadcast address ...); every
//! other address is `public`, and only those are looked up in a geo database.
//!
//! An IPv4 address written as IPv6 (`::ffff:a.b.c.d`) is classed, and looked up, as the IPv4
//! address it carries.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Where an address can be: `<side>.geo.scope` of an enriched event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// A private network's or the host's own (RFC 1918, CGNAT, ULA, loopback, link-local).
    Private,
    /// Special-purpose space that is no internet peer (documentation, multicast, reserved).
    Reserved,
    /// Everything else: an internet address, looked up in the databases.
    Public,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Private => "private",
            Scope::Reserved => "reserved",
            Scope::Public => "public",
        }
    }
}

/// The IPv4 special-purpose ranges: (network, prefix length, name, scope).
const V4: &[([u8; 4], u8, &str, Scope)] = &[
    ([0, 0, 0, 0], 8, "this-network", Scope::Reserved),
    ([10, 0, 0, 0], 8, "rfc1918", Scope::Private),
    ([100, 64, 0, 0], 10, "shared-cgnat", Scope::Private),
    ([127, 0, 0, 0], 8, "loopback", Scope::Private),
    ([169, 254, 0, 0], 16, "link-local", Scope::Private),
    ([172, 16, 0, 0], 12, "rfc1918", Scope::Private),
    ([192, 0, 0, 0], 24, "ietf-protocol", Scope::Reserved),
    ([192, 0, 2, 0], 24, "documentation", Scope::Reserved),
    ([192, 88, 99, 0], 24, "6to4-relay", Scope::Reserved),
    ([192, 168, 0, 0], 16, "rfc1918", Scope::Private),
    ([198, 18, 0, 0], 15, "benchmarking", Scope::Reserved),
    ([198, 51, 100, 0], 24, "documentation", Scope::Reserved),
    ([203, 0, 113, 0], 24, "documentation", Scope::Reserved),
    ([224, 0, 0, 0], 4, "multicast", Scope::Reserved),
    // 240.0.0.0/4 holds 255.255.255.255, the limited broadcast address.
    ([240, 0, 0, 0], 4, "reserved", Scope::Reserved),
];

/// The IPv6 special-purpose ranges: (network, prefix length, name, scope). IPv4-mapped
/// addresses are classed by the IPv4 address they carry before this table is read.
const V6: &[([u16; 8], u8, &str, Scope)] = &[
    (
        [0, 0, 0, 0, 0, 0, 0, 0],
        128,
        "unspecified",
        Scope::Reserved,
    ),
    ([0, 0, 0, 0, 0, 0, 0, 1], 128, "loopback", Scope::Private),
    (
        [0, 0, 0, 0, 0, 0, 0, 0],
        96,
        "ipv4-compatible",
        Scope::Reserved,
    ),
    (
        [0x64, 0xff9b, 1, 0, 0, 0, 0, 0],
        48,
        "local-nat64",
        Scope::Private,
    ),
    (
        [0x100, 0, 0, 0, 0, 0, 0, 0],
        64,
        "discard-only",
        Scope::Reserved,
    ),
    (
        [0x2001, 0, 0, 0, 0, 0, 0, 0],
        23,
        "ietf-protocol",
        Scope::Reserved,
    ),
    (
        [0x2001, 0xdb8, 0, 0, 0, 0, 0, 0],
        32,
        "documentation",
        Scope::Reserved,
    ),
    (
        [0x3fff, 0, 0, 0, 0, 0, 0, 0],
        20,
        "documentation",
        Scope::Reserved,
    ),
    (
        [0xfc00, 0, 0, 0, 0, 0, 0, 0],
        7,
        "unique-local",
        Scope::Private,
    ),
    (
        [0xfe80, 0, 0, 0, 0, 0, 0, 0],
        10,
        "link-local",
        Scope::Private,
    ),
    (
        [0xfec0, 0, 0, 0, 0, 0, 0, 0],
        10,
        "site-local",
        Scope::Private,
    ),
    (
        [0xff00, 0, 0, 0, 0, 0, 0, 0],
        8,
        "multicast",
        Scope::Reserved,
    ),
];

/// The address as looked up: an IPv4-mapped IPv6 address becomes the IPv4 address in it.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

/// The address's scope.
pub fn scope_of(ip: IpAddr) -> Scope {
    special_range(ip).map_or(Scope::Public, |(_, scope)| scope)
}

/// The special-purpose range holding `ip`, by name (`rfc1918`, `loopback`, `documentation`
/// ...) with its scope; `None` for a public address.
pub fn special_range(ip: IpAddr) -> Option<(&'static str, Scope)> {
    match canonical(ip) {
        IpAddr::V4(v4) => special_v4(v4),
        IpAddr::V6(v6) => special_v6(v6),
    }
}

fn special_v4(ip: Ipv4Addr) -> Option<(&'static str, Scope)> {
    let a = u32::from(ip);
    V4.iter()
        .find(|(net, len, _, _)| {
            let mask = u32::MAX.checked_shl(32 - u32::from(*len)).unwrap_or(0);
            a & mask == u32::from_be_bytes(*net) & mask
        })
        .map(|(_, _, name, scope)| (*name, *scope))
}

fn special_v6(ip: Ipv6Addr) -> Option<(&'static str, Scope)> {
    let a = u128::from(ip);
    V6.iter()
        .find(|(net, len, _, _)| {
            let mask = u128::MAX.checked_shl(128 - u32::from(*len)).unwrap_or(0);
            a & mask == u128::from(Ipv6Addr::from(*net)) & mask
        })
        .map(|(_, _, name, scope)| (*name, *scope))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(s: &str) -> Scope {
        scope_of(s.parse().unwrap_or_else(|e| panic!("{s}: {e}")))
    }

    #[test]
    fn ipv4_ranges_are_classed() {
        for private in [
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "100.64.0.1",
            "100.127.255.254",
            "127.0.0.1",
            "169.254.10.10",
        ] {
            assert_eq!(scope(private), Scope::Private, "{private}");
        }
        for reserved in [
            "0.0.0.0",
            "192.0.2.7",
            "198.51.100.1",
            "203.0.113.9",
            "198.19.1.1",
            "224.0.0.251",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
        ] {
            assert_eq!(scope(reserved), Scope::Reserved, "{reserved}");
        }
        for public in [
            "8.8.8.8",
            "1.1.1.1",
            "172.15.255.255",
            "172.32.0.0",
            "100.63.255.255",
            "100.128.0.0",
            "114.114.114.114",
            "223.255.255.255",
        ] {
            assert_eq!(scope(public), Scope::Public, "{public}");
        }
    }

    #[test]
    fn ipv6_ranges_are_classed_and_mapped_v4_is_read_as_v4() {
        assert_eq!(scope("::1"), Scope::Private);
        assert_eq!(scope("fd00::1"), Scope::Private);
        assert_eq!(scope("fc12::1"), Scope::Private);
        assert_eq!(scope("fe80::1"), Scope::Private);
        assert_eq!(scope("::"), Scope::Reserved);
        assert_eq!(scope("2001:db8::1"), Scope::Reserved);
        assert_eq!(scope("ff02::1"), Scope::Reserved);
        assert_eq!(scope("2400:3200::1"), Scope::Public);
        assert_eq!(scope("2001:4860:4860::8888"), Scope::Public);
        assert_eq!(scope("::ffff:192.168.1.1"), Scope::Private);
        assert_eq!(scope("::ffff:8.8.8.8"), Scope::Public);
        assert_eq!(
            special_range(
                "::ffff:10.0.0.1"
                    .parse()
                    .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
            ),
            Some(("rfc1918", Scope::Private))
        );
    }
}
