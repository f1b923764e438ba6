//! `[federation]`: this node's parent (a city pushing to its province) and, on a parent, the
//! children it expects.

use std::path::PathBuf;
use std::time::Duration;

use onewall_model::{RegionCode, RegionTree};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct FederationConfig {
    /// The parent node's base URL (`http://province-soc:8080`); empty: this node has no parent.
    pub parent_url: String,
    /// A `collector` token the parent issued for this node's region.
    pub token: String,
    /// A file holding the token instead (first line), e.g. mode 0600.
    pub token_file: String,
    /// Up-messages per push.
    pub batch_size: usize,
    /// How long queued messages wait before a push (batching).
    pub push_interval_ms: u64,
    /// A push goes at least this often with nothing queued, so dispatches from the parent
    /// arrive within it.
    pub heartbeat_s: u64,
    /// The first wait after a failed push; it doubles up to `retry_max_ms`.
    pub retry_min_ms: u64,
    pub retry_max_ms: u64,
    /// Parent: incidents open only for an attacker seen in at least this many child regions.
    pub min_regions: usize,
    /// Parent: the child regions it expects (shown as never seen until they push).
    pub children: Vec<String>,
    /// The organisation this node belongs to (empty: its own region code, so every node is
    /// its own organisation). Indicators marked TLP AMBER+STRICT go only to a child of the
    /// same organisation.
    pub organisation: String,
}

impl Default for FederationConfig {
    fn default() -> Self {
        FederationConfig {
            parent_url: String::new(),
            token: String::new(),
            token_file: String::new(),
            batch_size: 500,
            push_interval_ms: 1000,
            heartbeat_s: 5,
            retry_min_ms: 500,
            retry_max_ms: 30_000,
            min_regions: 2,
            children: Vec::new(),
            organisation: String::new(),
        }
    }
}

impl FederationConfig {
    /// Check `[federation]` on its own: what the node runs with, or every mistake, each as
    /// `federation.key: reason`.
    pub fn check(&self, regions: &RegionTree) -> Result<FederationResolved, Vec<String>> {
        let mut errors = Vec::new();
        match resolve(self, regions, &mut errors) {
            Some(r) if errors.is_empty() => Ok(r),
            _ => Err(errors),
        }
    }
}

/// `[federation]` checked: what the node runs with.
#[derive(Debug, Clone)]
pub struct FederationResolved {
    /// The parent, when this node has one.
    pub parent: Option<ParentLink>,
    pub batch_size: usize,
    pub push_interval: Duration,
    pub heartbeat: Duration,
    pub retry_min: Duration,
    pub retry_max: Duration,
    pub min_regions: usize,
    pub children: Vec<RegionCode>,
    /// `organisation` as set, or empty (the node's region code stands for it).
    pub organisation: String,
}

/// Where and how this node pushes.
#[derive(Debug, Clone)]
pub struct ParentLink {
    /// The base URL, without a trailing slash.
    pub url: String,
    pub token: String,
}

/// Check `[federation]`; every mistake names its key.
pub fn resolve(
    c: &FederationConfig,
    regions: &RegionTree,
    errors: &mut Vec<String>,
) -> Option<FederationResolved> {
    let before = errors.len();
    let parent = if c.parent_url.trim().is_empty() {
        if !c.token.is_empty() || !c.token_file.is_empty() {
            errors.push(
                "federation.token: set, but federation.parent_url is empty (no parent)".into(),
            );
        }
        None
    } else {
        let url = c.parent_url.trim().trim_end_matches('/').to_owned();
        let ok = url
            .strip_prefix("http://")
            .or_else(|| url.strip_prefix("https://"))
            .is_some_and(|rest| !rest.is_empty() && !rest.contains(char::is_whitespace));
        if !ok {
            errors.push(format!(
                "federation.parent_url: {:?} is not an http:// or https:// URL",
                c.parent_url
            ));
        }
        let token = match (c.token.trim(), c.token_file.trim()) {
            ("", "") => {
                errors.push(
                    "federation.token: a parent_url needs a token or token_file (a collector \
                     token the parent issued for this region)"
                        .into(),
                );
                String::new()
            }
            (t, "") => t.to_owned(),
            ("", f) => match std::fs::read_to_string(PathBuf::from(f)) {
                Ok(text) => {
                    let t = text.lines().next().unwrap_or("").trim().to_owned();
                    if t.is_empty() {
                        errors.push(format!("federation.token_file: {f} is empty"));
                    }
                    t
                }
                Err(e) => {
                    errors.push(format!("federation.token_file: reading {f}: {e}"));
                    String::new()
                }
            },
            _ => {
                errors.push("federation.token: give token or token_file, not both".into());
                String::new()
            }
        };
        Some(ParentLink { url, token })
    };
    let mut zero = Vec::new();
    onewall_model::config::require_positive(
        [
            ("federation.batch_size", c.batch_size as u64),
            ("federation.push_interval_ms", c.push_interval_ms),
            ("federation.heartbeat_s", c.heartbeat_s),
            ("federation.retry_min_ms", c.retry_min_ms),
            ("federation.retry_max_ms", c.retry_max_ms),
            ("federation.min_regions", c.min_regions as u64),
        ],
        &mut zero,
    );
    errors.extend(zero.iter().map(ToString::to_string));
    if c.retry_max_ms < c.retry_min_ms {
        errors.push(format!(
            "federation.retry_max_ms: {} is less than retry_min_ms ({})",
            c.retry_max_ms, c.retry_min_ms
        ));
    }
    let mut children = Vec::new();
    for (i, code) in c.children.iter().enumerate() {
        match code.parse::<RegionCode>() {
            Ok(r) if regions.contains(r) => children.push(r),
            Ok(r) => errors.push(format!(
                "federation.children[{i}]: {r} is not a known region (add it under [[regions]])"
            )),
            Err(e) => errors.push(format!("federation.children[{i}]: {e}")),
        }
    }
    (errors.len() == before).then(|| FederationResolved {
        parent,
        batch_size: c.batch_size,
        push_interval: Duration::from_millis(c.push_interval_ms),
        heartbeat: Duration::from_secs(c.heartbeat_s),
        retry_min: Duration::from_millis(c.retry_min_ms),
        retry_max: Duration::from_millis(c.retry_max_ms),
        min_regions: c.min_regions,
        children,
        organisation: c.organisation.trim().to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> RegionTree {
        RegionTree::builtin()
    }

    fn check(c: &FederationConfig) -> Vec<String> {
        let mut errors = Vec::new();
        resolve(c, &tree(), &mut errors);
        errors
    }

    #[test]
    fn defaults_have_no_parent() {
        let mut errors = Vec::new();
        let r = resolve(&FederationConfig::default(), &tree(), &mut errors).unwrap();
        assert!(errors.is_empty(), "{errors:?}");
        assert!(r.parent.is_none());
        assert_eq!(r.min_regions, 2);
    }

    #[test]
    fn mistakes_name_their_keys() {
        let c = FederationConfig {
            parent_url: "ftp://x".into(),
            children: vec!["41010".into(), "990000".into()],
            retry_min_ms: 10,
            retry_max_ms: 5,
            ..Default::default()
        };
        let errors = check(&c);
        let all = errors.join("\n");
        assert!(all.contains("federation.parent_url: \"ftp://x\""), "{all}");
        assert!(
            all.contains("federation.token: a parent_url needs"),
            "{all}"
        );
        assert!(all.contains("federation.children[0]"), "{all}");
        assert!(all.contains("federation.children[1]: 990000"), "{all}");
        assert!(all.contains("federation.retry_max_ms"), "{all}");
    }

    #[test]
    fn every_mistake_is_reported_with_its_key() {
        let c = FederationConfig {
            token: "owt_x".into(),
            batch_size: 0,
            heartbeat_s: 0,
            min_regions: 0,
            children: vec!["x".into()],
            ..Default::default()
        };
        let errors = c.check(&tree()).unwrap_err();
        assert_eq!(errors.len(), 5, "{errors:?}");
        for e in &errors {
            assert!(e.starts_with("federation.") && e.contains(": "), "{e}");
        }
        assert!(errors.contains(&"federation.batch_size: must be greater than 0".to_owned()));
        assert!(FederationConfig::default().check(&tree()).is_ok());
    }

    #[test]
    fn token_file_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("t");
        std::fs::write(&f, "secret\n").unwrap();
        let c = FederationConfig {
            parent_url: "http://127.0.0.1:9/".into(),
            token_file: f.display().to_string(),
            ..Default::default()
        };
        let mut errors = Vec::new();
        let r = resolve(&c, &tree(), &mut errors).unwrap();
        let p = r.parent.unwrap();
        assert_eq!(p.url, "http://127.0.0.1:9");
        assert_eq!(p.token, "secret");
    }
}
