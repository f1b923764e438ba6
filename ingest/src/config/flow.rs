//! `[flow]`: the NetFlow/IPFIX and sFlow collectors.

use std::net::SocketAddr;
use std::time::Duration;

use onewall_model::config::{ConfigError, require_positive};
use onewall_model::{RegionCode, RegionTree};
use serde::{Deserialize, Serialize};

use crate::flow::NetflowSettings;

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
            netflow: format!("0.0.0.0:{}", crate::flow::DEFAULT_NETFLOW_PORT),
            ipfix: String::new(),
            sflow: format!("0.0.0.0:{}", crate::flow::DEFAULT_SFLOW_PORT),
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

impl FlowConfig {
    /// Check `[flow]` and build the collectors' settings; every mistake names its key.
    pub fn resolve(
        &self,
        node: RegionCode,
        regions: &RegionTree,
    ) -> Result<FlowResolved, Vec<ConfigError>> {
        let cfg = self;
        let mut errors = Vec::new();
        let mut addr = |key: &str, v: &str| -> Option<SocketAddr> {
            if v.trim().is_empty() {
                return None;
            }
            v.trim()
                .parse::<SocketAddr>()
                .map_err(|_| {
                    errors.push(ConfigError::new(
                        format!("flow.{key}"),
                        format!("{v:?} is not an address like 0.0.0.0:2055"),
                    ))
                })
                .ok()
        };
        let netflow = addr("netflow", &cfg.netflow);
        let ipfix = addr("ipfix", &cfg.ipfix);
        let sflow = addr("sflow", &cfg.sflow);
        let bound: Vec<(&str, SocketAddr)> =
            [("netflow", netflow), ("ipfix", ipfix), ("sflow", sflow)]
                .into_iter()
                .filter_map(|(k, a)| a.map(|a| (k, a)))
                .collect();
        for (i, (k, a)) in bound.iter().enumerate() {
            for (k2, a2) in &bound[i + 1..] {
                if a == a2 && a.port() != 0 {
                    errors.push(ConfigError::new(
                        format!("flow.{k2}"),
                        format!("{a2} is also flow.{k}"),
                    ));
                }
            }
        }
        require_positive(
            [("flow.max_exporters", cfg.max_exporters as u64)],
            &mut errors,
        );
        let region = super::source_region("flow.region", &cfg.region, node, regions, &mut errors);
        if !errors.is_empty() {
            return Err(errors);
        }
        let department = cfg.department.trim();
        Ok(FlowResolved {
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
        })
    }
}
