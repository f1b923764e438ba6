//! The resolved `[assets]` settings (the binary reads the section and checks it): deadlines
//! by severity, the silence threshold, the networks whose addresses count as ours when seen
//! in flows, and how much the seen-host table holds.

use onewall_model::{Severity, Timestamp};

use crate::registry::Net;

/// Days to fix a finding, by severity, counted from when it was first found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadlines {
    /// Days for a critical finding.
    pub critical: u32,
    /// Days for a high one.
    pub high: u32,
    /// Days for a medium one.
    pub medium: u32,
    /// Days for a low one.
    pub low: u32,
    /// Days for an informational one.
    pub informational: u32,
}

impl Default for Deadlines {
    /// 7, 15, 30, 90 and 180 days.
    fn default() -> Self {
        Deadlines {
            critical: 7,
            high: 15,
            medium: 30,
            low: 90,
            informational: 180,
        }
    }
}

impl Deadlines {
    /// Days to fix a finding of severity `s`.
    pub fn days(&self, s: Severity) -> u32 {
        match s {
            Severity::Critical => self.critical,
            Severity::High => self.high,
            Severity::Medium => self.medium,
            Severity::Low => self.low,
            Severity::Informational => self.informational,
        }
    }

    /// Seconds to fix a finding of severity `s`.
    pub fn secs(&self, s: Severity) -> i64 {
        i64::from(self.days(s)) * 86_400
    }

    /// When a finding of severity `s` first found at `found` must be fixed by.
    pub fn due(&self, s: Severity, found: Timestamp) -> Timestamp {
        found.add_secs(self.secs(s))
    }
}

/// The resolved `[assets]` settings.
#[derive(Debug, Clone, PartialEq)]
pub struct AssetsConfig {
    /// Days to fix a finding, by severity.
    pub deadlines: Deadlines,
    /// A registered host that sent nothing for this many hours is silent.
    pub silent_hours: u32,
    /// Addresses seen in flows count as hosts of ours (unknown when not registered) only
    /// inside these networks. Default: the private ranges (10/8, 172.16/12, 192.168/16,
    /// fc00::/7).
    pub internal_networks: Vec<Net>,
    /// At most this many seen hosts are remembered (the least recently seen go first).
    pub max_seen: usize,
}

impl AssetsConfig {
    /// Whether an address seen in a flow counts as a host of ours (inside
    /// `internal_networks`).
    pub fn is_internal(&self, ip: std::net::IpAddr) -> bool {
        self.internal_networks.iter().any(|n| contains(n, ip))
    }
}

/// Whether `net` holds `ip` (same family, same leading `prefix` bits).
fn contains(net: &Net, ip: std::net::IpAddr) -> bool {
    use std::net::IpAddr;
    match (net.addr, ip) {
        (IpAddr::V4(n), IpAddr::V4(a)) => {
            let bits = u32::from(net.prefix.min(32));
            let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
            u32::from(n) & mask == u32::from(a) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(a)) => {
            let bits = u32::from(net.prefix.min(128));
            let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
            u128::from(n) & mask == u128::from(a) & mask
        }
        _ => false,
    }
}

impl Default for AssetsConfig {
    fn default() -> Self {
        let net = |a: [u8; 4], prefix| Net {
            addr: std::net::IpAddr::from(a),
            prefix,
        };
        AssetsConfig {
            deadlines: Deadlines::default(),
            silent_hours: 24,
            internal_networks: vec![
                net([10, 0, 0, 0], 8),
                net([172, 16, 0, 0], 12),
                net([192, 168, 0, 0], 16),
                Net {
                    addr: std::net::IpAddr::V6(std::net::Ipv6Addr::new(
                        0xfc00, 0, 0, 0, 0, 0, 0, 0,
                    )),
                    prefix: 7,
                },
            ],
            max_seen: 200_000,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_networks_default_to_the_private_ranges() {
        let c = AssetsConfig::default();
        for ip in ["10.2.3.4", "172.31.255.1", "192.168.0.9", "fd12::1"] {
            assert!(c.is_internal(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["172.32.0.1", "8.8.8.8", "2001:db8::1", "11.0.0.1"] {
            assert!(!c.is_internal(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn deadlines_count_days_from_the_first_finding() {
        let d = Deadlines::default();
        let t0 = Timestamp::from_secs(1_000);
        assert_eq!(d.due(Severity::Critical, t0), t0.add_secs(7 * 86_400));
        assert_eq!(
            d.due(Severity::Informational, t0),
            t0.add_secs(180 * 86_400)
        );
        assert!(d.days(Severity::High) < d.days(Severity::Medium));
    }
}
