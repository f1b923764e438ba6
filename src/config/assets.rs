//! `[assets]`: the registry of systems and hosts, scanner and baseline results, and what
//! alerts hit. Deadlines to fix findings by severity, when a registered host counts as
//! silent, which networks count as ours when their addresses appear in flows, how many seen
//! hosts are remembered, and how often overdue findings are checked and the roll-up is sent
//! to the parent.

use onewall_assets::AssetsConfig;
use onewall_assets::config::Deadlines;
use onewall_assets::registry::Net;
use serde::{Deserialize, Serialize};

/// Days to fix a finding, by severity, counted from when it was first found.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeadlineDays {
    pub critical: u32,
    pub high: u32,
    pub medium: u32,
    pub low: u32,
    pub informational: u32,
}

impl Default for DeadlineDays {
    fn default() -> Self {
        let d = Deadlines::default();
        DeadlineDays {
            critical: d.critical,
            high: d.high,
            medium: d.medium,
            low: d.low,
            informational: d.informational,
        }
    }
}

/// The `[assets]` section as written.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AssetsSection {
    /// Keep the registry and scan results, look up alerts' targets, track seen hosts.
    pub enabled: bool,
    /// Days to fix a finding, by severity (0: due at once).
    pub deadline_days: DeadlineDays,
    /// A registered host that sent nothing for this many hours is silent.
    pub silent_hours: u32,
    /// Addresses seen in flows count as hosts of ours (unknown when not registered) only
    /// inside these networks (CIDRs).
    pub internal_networks: Vec<String>,
    /// Seen hosts remembered at most (the least recently seen go first).
    pub max_seen: usize,
    /// Seconds between checks for overdue findings (each raises one alert).
    pub check_secs: u64,
    /// Seconds between roll-ups sent to the parent (also sent after an import, when changed).
    pub rollup_secs: u64,
}

impl Default for AssetsSection {
    fn default() -> Self {
        let d = AssetsConfig::default();
        AssetsSection {
            enabled: true,
            deadline_days: DeadlineDays::default(),
            silent_hours: d.silent_hours,
            internal_networks: vec![
                "10.0.0.0/8".into(),
                "172.16.0.0/12".into(),
                "192.168.0.0/16".into(),
                "fc00::/7".into(),
            ],
            max_seen: d.max_seen,
            check_secs: 3600,
            rollup_secs: 900,
        }
    }
}

/// `[assets]` as the node runs it.
#[derive(Debug, Clone, PartialEq)]
pub struct AssetsSettings {
    pub enabled: bool,
    /// What the pure crate needs.
    pub config: AssetsConfig,
    pub check_secs: u64,
    pub rollup_secs: u64,
}

impl AssetsSection {
    /// Every mistake, `assets.key: reason`.
    pub fn validate(&self) -> Vec<String> {
        self.resolve().err().unwrap_or_default()
    }

    /// The node's settings, or every mistake.
    pub fn resolve(&self) -> Result<AssetsSettings, Vec<String>> {
        let mut errors = Vec::new();
        let mut internal = Vec::new();
        for (i, n) in self.internal_networks.iter().enumerate() {
            match parse_net(n) {
                Some(net) => internal.push(net),
                None => errors.push(format!(
                    "assets.internal_networks[{i}]: {n:?} is not an address or CIDR"
                )),
            }
        }
        if self.silent_hours == 0 {
            errors.push("assets.silent_hours: must be at least 1".into());
        }
        if self.max_seen == 0 {
            errors.push("assets.max_seen: must be at least 1".into());
        }
        if self.check_secs == 0 {
            errors.push("assets.check_secs: must be at least 1".into());
        }
        if self.rollup_secs == 0 {
            errors.push("assets.rollup_secs: must be at least 1".into());
        }
        let d = &self.deadline_days;
        for (key, days) in [
            ("critical", d.critical),
            ("high", d.high),
            ("medium", d.medium),
            ("low", d.low),
            ("informational", d.informational),
        ] {
            // Ten years: anything longer is a typo, and the seconds must not overflow.
            if days > 3650 {
                errors.push(format!(
                    "assets.deadline_days.{key}: {days} days is more than ten years"
                ));
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(AssetsSettings {
            enabled: self.enabled,
            config: AssetsConfig {
                deadlines: Deadlines {
                    critical: d.critical,
                    high: d.high,
                    medium: d.medium,
                    low: d.low,
                    informational: d.informational,
                },
                silent_hours: self.silent_hours,
                internal_networks: internal,
                max_seen: self.max_seen,
            },
            check_secs: self.check_secs,
            rollup_secs: self.rollup_secs,
        })
    }
}

/// An address or CIDR (`10.0.0.0/8`, `fc00::/7`, `192.0.2.1`), the address masked to its
/// prefix. Parsed here rather than by the registry's own reader so that the configuration
/// check does not depend on it.
pub fn parse_net(s: &str) -> Option<Net> {
    use std::net::IpAddr;
    let s = s.trim();
    let (addr, prefix) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    let addr: IpAddr = addr.parse().ok()?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix {
        Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max)?,
        None => max,
    };
    let addr = match addr {
        IpAddr::V4(a) => {
            let mask = u32::MAX.checked_shl(u32::from(32 - prefix)).unwrap_or(0);
            IpAddr::V4((u32::from(a) & mask).into())
        }
        IpAddr::V6(a) => {
            let mask = u128::MAX.checked_shl(u32::from(128 - prefix)).unwrap_or(0);
            IpAddr::V6((u128::from(a) & mask).into())
        }
    };
    Some(Net { addr, prefix })
}

/// Whether `ip` lies in one of `nets`.
pub fn in_nets(nets: &[Net], ip: std::net::IpAddr) -> bool {
    nets.iter().any(|n| match (n.addr, ip) {
        (std::net::IpAddr::V4(net), std::net::IpAddr::V4(a)) => {
            let mask = u32::MAX
                .checked_shl(u32::from(32 - n.prefix.min(32)))
                .unwrap_or(0);
            u32::from(a) & mask == u32::from(net)
        }
        (std::net::IpAddr::V6(net), std::net::IpAddr::V6(a)) => {
            let mask = u128::MAX
                .checked_shl(u32::from(128 - n.prefix.min(128)))
                .unwrap_or(0);
            u128::from(a) & mask == u128::from(net)
        }
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn bad_values_name_their_key() {
        let s = AssetsSection {
            internal_networks: vec!["10.0.0.0/8".into(), "10.0.0.0/33".into(), "lan".into()],
            silent_hours: 0,
            check_secs: 0,
            deadline_days: DeadlineDays {
                high: 99_999,
                ..DeadlineDays::default()
            },
            ..AssetsSection::default()
        };
        let e = s.validate();
        for says in [
            "assets.internal_networks[1]: \"10.0.0.0/33\"",
            "assets.internal_networks[2]: \"lan\"",
            "assets.silent_hours:",
            "assets.check_secs:",
            "assets.deadline_days.high:",
        ] {
            assert!(e.iter().any(|x| x.starts_with(says)), "{says} in {e:?}");
        }
        assert_eq!(e.len(), 5, "{e:?}");
    }

    #[test]
    fn the_defaults_are_the_crates_and_networks_match() {
        let s = AssetsSection::default().resolve().unwrap();
        assert_eq!(s.config, AssetsConfig::default());
        let nets = &s.config.internal_networks;
        assert!(in_nets(nets, "10.9.8.7".parse().unwrap()));
        assert!(in_nets(nets, "172.31.0.1".parse().unwrap()));
        assert!(!in_nets(nets, "172.32.0.1".parse().unwrap()));
        assert!(in_nets(nets, "fd00::1".parse().unwrap()));
        assert!(!in_nets(nets, "203.0.113.9".parse().unwrap()));
        assert_eq!(parse_net("10.1.2.3/24").unwrap().to_string(), "10.1.2.0/24");
    }
}
