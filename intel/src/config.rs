//! `[intel]`: feeds, the fields every event is checked on, the retro-hunt's look-back and the
//! geo-IP databases. Read by the binary with the rest of the configuration file.

use serde::Deserialize;

use crate::geo::GeoConfig;

/// The `[intel]` section.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntelConfig {
    /// How many days of stored history a retro-hunt searches when indicators arrive.
    #[serde(default = "default_lookback_days")]
    pub lookback_days: u32,
    #[serde(default)]
    pub geo: GeoConfig,
}

impl Default for IntelConfig {
    fn default() -> Self {
        IntelConfig {
            lookback_days: default_lookback_days(),
            geo: GeoConfig::default(),
        }
    }
}

fn default_lookback_days() -> u32 {
    30
}
