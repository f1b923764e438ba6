//! `[intel]`: feeds, the fields every event is checked on, how repeated sightings fold, the
//! retro-hunt's look-back and budget, and the geo-IP databases. Read by the binary with the
//! rest of the configuration file; [`IntelConfig::validate`] reports every mistake, each
//! naming its key (`intel.feeds[1].url: ...`).

use std::collections::BTreeSet;
use std::path::PathBuf;

use onewall_model::config::ConfigError;
use onewall_model::{Severity, Tlp};
use serde::Deserialize;

use crate::geo::GeoConfig;

/// The feed name reserved for indicators added through the API.
pub const LOCAL_FEED: &str = "local";
/// The feed name reserved for STIX bundles imported through the API or the command line.
pub const IMPORT_FEED: &str = "import";

/// The feed a child node holds the indicators its parent shares in.
pub const PARENT_FEED: &str = "parent";

/// The `[intel]` section.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntelConfig {
    /// How many days of stored history a retro-hunt searches when indicators arrive.
    #[serde(default = "default_lookback_days")]
    pub lookback_days: u32,
    #[serde(default)]
    pub geo: GeoConfig,
    /// The feeds pulled (`[[intel.feeds]]`).
    #[serde(default)]
    pub feeds: Vec<FeedConfig>,
    /// The event fields checked against the indicators; empty: the default set (source,
    /// destination, client, server and host addresses, DNS question names, URL domains and
    /// URLs, file and process hashes, email addresses). `*` in a name stands for each hash
    /// (`file.hash.*`).
    #[serde(default)]
    pub fields: Vec<String>,
    /// The same indicator seen again by the same entity within this many minutes of the
    /// alert raised for it is counted in the sightings, not alerted again (0: every sighting
    /// is an alert).
    #[serde(default = "default_fold_minutes")]
    pub fold_minutes: u32,
    /// A retro-hunt reads at most this many stored events (it stops there and its receipt
    /// says so).
    #[serde(default = "default_retro_max_events")]
    pub retro_max_events: u64,
    /// A retro-hunt runs at most this many seconds.
    #[serde(default = "default_retro_max_secs")]
    pub retro_max_secs: u64,
    /// The largest STIX bundle `POST /api/v1/intel/bundles` takes, in MiB (413 past it).
    #[serde(default = "default_bundle_max_mib")]
    pub bundle_max_mib: u64,
}

impl Default for IntelConfig {
    fn default() -> Self {
        IntelConfig {
            lookback_days: default_lookback_days(),
            geo: GeoConfig::default(),
            feeds: Vec::new(),
            fields: Vec::new(),
            fold_minutes: default_fold_minutes(),
            retro_max_events: default_retro_max_events(),
            retro_max_secs: default_retro_max_secs(),
            bundle_max_mib: default_bundle_max_mib(),
        }
    }
}

fn default_lookback_days() -> u32 {
    30
}
fn default_fold_minutes() -> u32 {
    60
}
fn default_retro_max_events() -> u64 {
    10_000_000
}
fn default_retro_max_secs() -> u64 {
    600
}
fn default_bundle_max_mib() -> u64 {
    64
}

/// What a feed's documents are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FeedFormat {
    /// A STIX 2.1 bundle, from a file or a URL.
    Stix,
    /// A TAXII 2.1 collection (`collection` is its URL), polled for what was added since the
    /// last poll.
    Taxii,
    /// A MISP feed: `manifest.json` and the event files it names, under `url` or `path`.
    Misp,
    /// One value per line.
    List,
    /// Comma-separated values with a column mapping.
    Csv,
}

impl FeedFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            FeedFormat::Stix => "stix",
            FeedFormat::Taxii => "taxii",
            FeedFormat::Misp => "misp",
            FeedFormat::List => "list",
            FeedFormat::Csv => "csv",
        }
    }
}

/// How a feed's server is authenticated to. Secrets may be read from the environment
/// (`password_env`, `token_env`) so they stay out of the file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedAuth {
    /// HTTP basic authentication: user name (with `password` or `password_env`).
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub password_env: Option<String>,
    /// A bearer token (or `token_env`, the variable holding it).
    #[serde(default)]
    pub bearer: Option<String>,
    #[serde(default)]
    pub token_env: Option<String>,
}

/// The credential a pull sends, resolved from [`FeedAuth`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    Basic { username: String, password: String },
    Bearer(String),
}

impl FeedAuth {
    /// The credential to send, reading the environment for `*_env`; an error names the key.
    pub fn credential(&self, key: &str) -> Result<Option<Credential>, ConfigError> {
        let env = |name: &str, k: &str| {
            std::env::var(name).map_err(|_| {
                ConfigError::new(
                    format!("{key}.{k}"),
                    format!("the environment variable {name} is not set"),
                )
            })
        };
        let token = match (&self.bearer, &self.token_env) {
            (Some(t), None) => Some(t.clone()),
            (None, Some(v)) => Some(env(v, "token_env")?),
            (None, None) => None,
            (Some(_), Some(_)) => {
                return Err(ConfigError::new(
                    format!("{key}.token_env"),
                    "give bearer or token_env, not both",
                ));
            }
        };
        let password = match (&self.password, &self.password_env) {
            (Some(p), None) => Some(p.clone()),
            (None, Some(v)) => Some(env(v, "password_env")?),
            (None, None) => None,
            (Some(_), Some(_)) => {
                return Err(ConfigError::new(
                    format!("{key}.password_env"),
                    "give password or password_env, not both",
                ));
            }
        };
        match (&self.username, password, token) {
            (Some(_), _, Some(_)) => Err(ConfigError::new(
                key,
                "give basic (username, password) or a bearer token, not both",
            )),
            (Some(u), Some(p), None) => Ok(Some(Credential::Basic {
                username: u.clone(),
                password: p,
            })),
            (Some(_), None, None) => Err(ConfigError::new(
                format!("{key}.password"),
                "username needs password or password_env",
            )),
            (None, Some(_), _) => Err(ConfigError::new(
                format!("{key}.username"),
                "password needs username",
            )),
            (None, None, Some(t)) => Ok(Some(Credential::Bearer(t))),
            (None, None, None) => Ok(None),
        }
    }
}

/// One `[[intel.feeds]]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedConfig {
    /// Unique among the feeds; `local` is reserved for indicators added through the API.
    pub name: String,
    pub format: FeedFormat,
    /// A file (re-read when it changes).
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// A URL (`stix`, `misp`, `list`, `csv`).
    #[serde(default)]
    pub url: Option<String>,
    /// TAXII: the collection's URL, `{api root}/collections/{id}/`.
    #[serde(default)]
    pub collection: Option<String>,
    /// Seconds between pulls (a file is checked this often and re-read when changed).
    #[serde(default = "default_interval_secs")]
    pub interval_secs: u64,
    /// Days an indicator without its own valid-until matches after it was loaded (0: until
    /// the feed drops it).
    #[serde(default = "default_lifetime_days")]
    pub lifetime_days: u32,
    #[serde(default)]
    pub auth: FeedAuth,
    /// The confidence (0–100) of indicators whose source gives none.
    #[serde(default)]
    pub confidence: Option<u8>,
    /// The TLP of indicators whose source gives none (`CLEAR`, `GREEN`, `AMBER`,
    /// `AMBER+STRICT`, `RED`).
    #[serde(default)]
    pub tlp: Option<Tlp>,
    /// The severity of indicators whose source gives none.
    #[serde(default)]
    pub severity: Option<Severity>,
    /// How confidence decays over an indicator's life: `{ function = "linear", floor = 20 }`,
    /// `{ function = "half-life", half_life_secs = 604800 }` (none by default; the formulas
    /// are in `onewall_intel::lifetime`).
    #[serde(default)]
    pub decay: crate::lifetime::Decay,
    /// `list`/`csv`: what the values are and, for CSV, which column holds what.
    #[serde(default)]
    pub mapping: Option<crate::feed::list::ListFormat>,
}

fn default_interval_secs() -> u64 {
    3600
}
fn default_lifetime_days() -> u32 {
    30
}

impl IntelConfig {
    /// Every mistake in `[intel]`, each naming its key.
    pub fn validate(&self) -> Vec<ConfigError> {
        let mut errors = Vec::new();
        if self.lookback_days > 3650 {
            errors.push(ConfigError::new(
                "intel.lookback_days",
                format!("{} is more than 3650 days", self.lookback_days),
            ));
        }
        if self.fold_minutes > 7 * 24 * 60 {
            errors.push(ConfigError::new(
                "intel.fold_minutes",
                format!("{} is more than a week", self.fold_minutes),
            ));
        }
        onewall_model::config::require_positive(
            [
                ("intel.retro_max_events", self.retro_max_events),
                ("intel.retro_max_secs", self.retro_max_secs),
                ("intel.bundle_max_mib", self.bundle_max_mib),
            ],
            &mut errors,
        );
        if !self.fields.is_empty()
            && let Err(e) = crate::fields::MatchFields::from_names(&self.fields)
        {
            errors.push(ConfigError::new("intel.fields", e.to_string()));
        }
        let mut names = BTreeSet::new();
        for (i, f) in self.feeds.iter().enumerate() {
            let key = format!("intel.feeds[{i}]");
            if !names.insert(f.name.as_str()) {
                errors.push(ConfigError::new(
                    format!("{key}.name"),
                    format!("{:?} names another feed too; names are unique", f.name),
                ));
            }
            errors.extend(f.validate(&key));
        }
        errors
    }
}

impl FeedConfig {
    /// Every mistake of this feed (at `key`, `intel.feeds[N]`).
    pub fn validate(&self, key: &str) -> Vec<ConfigError> {
        let mut errors = Vec::new();
        let err = |k: &str, reason: String| ConfigError::new(format!("{key}.{k}"), reason);
        let name_ok = !self.name.is_empty()
            && self.name.len() <= 64
            && self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !name_ok {
            errors.push(err(
                "name",
                format!("{:?}: 1 to 64 letters, digits, '-', '_' or '.'", self.name),
            ));
        } else if self.name == LOCAL_FEED || self.name == IMPORT_FEED || self.name == PARENT_FEED {
            errors.push(err(
                "name",
                format!(
                    "{:?} is reserved (local: indicators added through the API; import: bundles imported; parent: what the parent node shares)",
                    self.name
                ),
            ));
        }
        let source_count = [
            self.path.is_some(),
            self.url.is_some(),
            self.collection.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        match self.format {
            FeedFormat::Taxii => {
                if self.collection.is_none() {
                    errors.push(err(
                        "collection",
                        "a taxii feed needs the collection's URL".into(),
                    ));
                }
                if self.path.is_some() || self.url.is_some() {
                    errors.push(err(
                        "url",
                        "a taxii feed is read from its collection only (no path or url)".into(),
                    ));
                }
            }
            _ => {
                if self.collection.is_some() {
                    errors.push(err(
                        "collection",
                        format!(
                            "only a taxii feed has a collection, not {}",
                            self.format.as_str()
                        ),
                    ));
                }
                if source_count != 1 {
                    errors.push(err("path", "give exactly one of path or url".into()));
                }
            }
        }
        for (k, url) in [("url", &self.url), ("collection", &self.collection)] {
            if let Some(u) = url
                && !(u.starts_with("http://") || u.starts_with("https://"))
            {
                errors.push(err(k, format!("{u:?} is not an http:// or https:// URL")));
            }
        }
        if self.interval_secs == 0 || self.interval_secs > 7 * 86_400 {
            errors.push(err(
                "interval_secs",
                format!("{} is not between 1 and 604800", self.interval_secs),
            ));
        }
        if self.confidence.is_some_and(|c| c > 100) {
            errors.push(err("confidence", "must be 0 to 100".into()));
        }
        let lists = matches!(self.format, FeedFormat::List | FeedFormat::Csv);
        if self.mapping.is_some() && !lists {
            errors.push(err(
                "mapping",
                "only list and csv feeds have a mapping".into(),
            ));
        }
        if self.format == FeedFormat::Csv && self.mapping.as_ref().is_none_or(|m| m.csv.is_none()) {
            errors.push(err(
                "mapping",
                "a csv feed needs its columns: mapping = { csv = { value = 1, ... } }".into(),
            ));
        }
        if let Err(e) = self.auth.credential(&format!("{key}.auth")) {
            errors.push(e);
        }
        errors
    }

    /// Where the feed is read from, for the API and logs.
    pub fn source(&self) -> String {
        self.collection
            .clone()
            .or_else(|| self.url.clone())
            .or_else(|| self.path.as_ref().map(|p| p.display().to_string()))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> IntelConfig {
        let v: serde_json::Value = serde_json::from_str(text).expect("json");
        serde_json::from_value(v).expect("config")
    }

    #[test]
    fn defaults_and_a_taxii_feed_read() {
        let c = parse(
            r#"{"feeds": [{"name": "cti", "format": "taxii",
                "collection": "https://taxii.example/api1/collections/abc/",
                "interval_secs": 60, "tlp": "GREEN",
                "auth": {"username": "u", "password": "p"}}]}"#,
        );
        assert_eq!(c.fold_minutes, 60);
        assert_eq!(c.lookback_days, 30);
        assert!(c.validate().is_empty(), "{:?}", c.validate());
        assert_eq!(c.feeds[0].tlp, Some(Tlp::Green));
        assert_eq!(
            c.feeds[0].auth.credential("k").expect("auth"),
            Some(Credential::Basic {
                username: "u".into(),
                password: "p".into()
            })
        );
    }

    #[test]
    fn every_mistake_names_its_key() {
        let c = parse(
            r#"{"fold_minutes": 99999, "feeds": [
                {"name": "local", "format": "stix", "path": "/x", "url": "http://y"},
                {"name": "a", "format": "taxii", "interval_secs": 0},
                {"name": "a", "format": "list", "url": "ftp://x", "confidence": 101,
                 "auth": {"bearer": "t", "token_env": "X"}}]}"#,
        );
        let text: Vec<String> = c.validate().iter().map(ToString::to_string).collect();
        let want = [
            "intel.fold_minutes:",
            "intel.feeds[0].name: \"local\" is reserved",
            "intel.feeds[0].path: give exactly one",
            "intel.feeds[1].collection: a taxii feed needs",
            "intel.feeds[1].interval_secs:",
            "intel.feeds[2].name: \"a\" names another feed",
            "intel.feeds[2].url: \"ftp://x\" is not",
            "intel.feeds[2].confidence:",
            "intel.feeds[2].auth.token_env: give bearer or token_env",
        ];
        for w in want {
            assert!(text.iter().any(|t| t.starts_with(w)), "{w} in {text:#?}");
        }
    }

    #[test]
    fn secrets_come_from_the_environment() {
        let a = FeedAuth {
            token_env: Some("ONEWALL_TEST_NO_SUCH_VARIABLE_42".into()),
            ..FeedAuth::default()
        };
        let e = a.credential("intel.feeds[0].auth").expect_err("unset");
        assert_eq!(e.key, "intel.feeds[0].auth.token_env");
        let a = FeedAuth {
            token_env: Some("PATH".into()),
            ..FeedAuth::default()
        };
        assert!(matches!(a.credential("k"), Ok(Some(Credential::Bearer(_)))));
    }
}
