//! `[flow]`: the NetFlow/IPFIX and sFlow collectors.

use std::net::SocketAddr;
use std::time::Duration;

use onewall_ingest::flow::NetflowSettings;
use onewall_model::{RegionCode, RegionTree};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct FlowConfig {
    /// NetFlow v5, v9 and IPFIX listen address (UDP); "" disables it.
    pub netflow: String,
    /// A second NetFlow/IPFIX address, e.g. IPFIX's registered port `0.0.0.0:4739`; ""
    /// (the default) disables it.
    pub ipfix: String,
    /// sFlow v5 listen address (UDP); "" disables it.
    pub sflow: String,
    /// Seconds a v9/IPFIX template lives without being refreshed; 0 keeps it until replaced.
    pub template_ttl_secs: u64,
    /// Most exporters (export streams) whose templates and sequence numbers are kept.
    pub max_exporters: usize,
    /// GB/T 2260 code of the region the exporters are in; empty means the node's region.
    pub region: String,
    /// Department the exporters belong to (a tag on every flow event); empty for none.
    pub department: String,
}

impl Default for FlowConfig {
    fn default() -> Self {
        FlowConfig {
            netflow: format!("0.0.0.0:{}", onewall_ingest::flow::DEFAULT_NETFLOW_PORT),
            ipfix: String::new(),
            sflow: format!("0.0.0.0:{}", onewall_ingest::flow::DEFAULT_SFLOW_PORT),
            template_ttl_secs: 1800,
            max_exporters: 10_000,
            region: String::new(),
            department: String::new(),
        }
    }
}

/// `[flow]` checked.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowResolved {
    pub netflow: Option<SocketAddr>,
    pub ipfix: Option<SocketAddr>,
    pub sflow: Option<SocketAddr>,
    pub region: RegionCode,
    pub department: Option<Box<str>>,
    pub settings: NetflowSettings,
}

/// Check `[flow]`, pushing each mistake as `flow.key: reason`.
pub(super) fn resolve(
    cfg: &FlowConfig,
    node: Option<RegionCode>,
    regions: &RegionTree,
    errors: &mut Vec<String>,
) -> FlowResolved {
    let mut addr = |key: &str, v: &str| -> Option<SocketAddr> {
        if v.trim().is_empty() {
            return None;
        }
        v.trim()
            .parse::<SocketAddr>()
            .map_err(|_| {
                errors.push(format!(
                    "flow.{key}: {v:?} is not an address like 0.0.0.0:2055"
                ))
            })
            .ok()
    };
    let netflow = addr("netflow", &cfg.netflow);
    let ipfix = addr("ipfix", &cfg.ipfix);
    let sflow = addr("sflow", &cfg.sflow);
    let bound: Vec<(&str, SocketAddr)> = [("netflow", netflow), ("ipfix", ipfix), ("sflow", sflow)]
        .into_iter()
        .filter_map(|(k, a)| a.map(|a| (k, a)))
        .collect();
    for (i, (k, a)) in bound.iter().enumerate() {
        for (k2, a2) in &bound[i + 1..] {
            if a == a2 && a.port() != 0 {
                errors.push(format!("flow.{k2}: {a2} is also flow.{k}"));
            }
        }
    }
    if cfg.max_exporters == 0 {
        errors.push("flow.max_exporters: must be greater than 0".into());
    }
    let region = super::source_region("flow.region", &cfg.region, node, regions, errors)
        .unwrap_or(RegionCode::HENAN);
    let department = cfg.department.trim();
    FlowResolved {
        netflow,
        ipfix,
        sflow,
        region,
        department: (!department.is_empty()).then(|| department.into()),
        settings: NetflowSettings {
            template_ttl: (cfg.template_ttl_secs > 0)
                .then(|| Duration::from_secs(cfg.template_ttl_secs)),
            max_exporters: cfg.max_exporters.max(1),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::super::{defaults, parse};

    #[test]
    fn defaults_listen_on_the_registered_ports() {
        let r = defaults().expect("defaults");
        assert_eq!(r.flow.netflow.map(|a| a.port()), Some(2055));
        assert_eq!(r.flow.sflow.map(|a| a.port()), Some(6343));
        assert_eq!(r.flow.ipfix, None);
        assert_eq!(r.flow.region, r.region);
        assert_eq!(
            r.flow.settings.template_ttl,
            Some(std::time::Duration::from_secs(1800))
        );
    }

    #[test]
    fn every_flow_mistake_is_named() {
        let text = "version = 1\n[flow]\nnetflow = \"0.0.0.0:99999\"\nipfix = \"127.0.0.1:6343\"\nsflow = \"127.0.0.1:6343\"\nmax_exporters = 0\nregion = \"419999\"\nports = 1\n";
        let e = parse(text).expect_err("mistakes").0;
        for want in [
            "flow.ports: unknown key",
            "flow.netflow: \"0.0.0.0:99999\" is not an address",
            "flow.sflow: 127.0.0.1:6343 is also flow.ipfix",
            "flow.max_exporters: must be greater than 0",
            "flow.region: 419999",
        ] {
            assert!(e.iter().any(|l| l.starts_with(want)), "{want}: {e:#?}");
        }
    }

    #[test]
    fn tags_and_addresses_are_read() {
        let text = "version = 1\n[flow]\nnetflow = \"\"\nipfix = \"127.0.0.1:4739\"\nregion = \"410100\"\ndepartment = \" netops \"\ntemplate_ttl_secs = 0\n";
        let r = parse(text).expect("config");
        assert_eq!(r.flow.netflow, None);
        assert_eq!(r.flow.ipfix.map(|a| a.port()), Some(4739));
        assert_eq!(r.flow.region.to_string(), "410100");
        assert_eq!(r.flow.department.as_deref(), Some("netops"));
        assert_eq!(r.flow.settings.template_ttl, None);
    }
}
