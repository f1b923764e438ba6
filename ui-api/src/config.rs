//! `[auth]` and `[sla]` of the node's configuration: who may call the API, what is masked, the
//! login limits, and the incident SLA clocks. Each section's `validate` names every mistake;
//! [`mask_policy`], [`login_policy`] and [`sla_policy`] build what the API runs with.

use std::time::Duration;

use onewall_model::config::{ConfigError, require_positive};
use serde::{Deserialize, Serialize};

use crate::login_limit::LoginPolicy;
use crate::mask::{MaskPolicy, PiiKind};
use crate::sla::SlaPolicy;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// `/metrics` answers without a credential; `false` asks for a reading role.
    pub metrics_open: bool,
    /// HTTP collectors that have no per-collector tokens in `[http]` need a collector-role API
    /// token (`onewall tokens create --role collector`). Off by default, so shippers that send
    /// no token keep working.
    pub collectors_require_token: bool,
    /// Kinds of personal data masked for callers without the `pii` permission:
    /// `resident_id`, `mobile`, `bank_card`, `email`. Empty masks nothing.
    pub mask: Vec<String>,
    /// The most rows one export (`GET /api/v1/export/...`) sends; a larger selection answers
    /// 400 asking for narrower filters.
    pub export_max_rows: usize,
    /// Milliseconds an export without a `limit` may spend counting its rows; a selection
    /// that takes longer answers 400 asking for a `limit` or narrower filters.
    pub export_count_ms: u64,
    /// Failed logins in a row for one user name before it is locked out (429 with
    /// `Retry-After`, even for the right password). A successful login resets the count.
    pub login_max_failures_per_user: u32,
    /// Failed logins from one client address (any names) before it is locked out.
    pub login_max_failures_per_address: u32,
    /// Seconds of the first lockout; each further failure after it doubles the next.
    pub login_lockout_secs: u64,
    /// Seconds of the longest lockout; failures older than this are forgotten.
    pub login_lockout_max_secs: u64,
    /// Password checks (argon2, about 19 MiB each) that may run at once.
    pub login_concurrent_checks: usize,
    /// Seconds a login waits for a free password check before it is answered 503.
    pub login_queue_secs: u64,
    /// The most user names and client addresses whose failed logins are remembered; the one
    /// idle longest is forgotten first.
    pub login_tracked: usize,
    /// Audit rows per minute for calls without a valid credential (failed logins, calls with
    /// no or a wrong token); the rest are counted (`onewall_api_audit_suppressed_total`) and
    /// the next row written says how many were left out.
    pub audit_unauthenticated_per_minute: u32,
}

impl Default for AuthConfig {
    fn default() -> Self {
        let login = LoginPolicy::default();
        AuthConfig {
            metrics_open: true,
            collectors_require_token: false,
            mask: PiiKind::ALL.iter().map(|k| k.as_str().to_owned()).collect(),
            export_max_rows: crate::export::DEFAULT_MAX_ROWS,
            export_count_ms: crate::export::DEFAULT_COUNT_BUDGET.as_millis() as u64,
            login_max_failures_per_user: login.max_failures_per_user,
            login_max_failures_per_address: login.max_failures_per_address,
            login_lockout_secs: login.lockout.as_secs(),
            login_lockout_max_secs: login.lockout_max.as_secs(),
            login_concurrent_checks: login.concurrent_checks,
            login_queue_secs: login.queue_wait.as_secs(),
            login_tracked: login.tracked,
            audit_unauthenticated_per_minute: login.unauthenticated_audit_per_minute,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SlaConfig {
    /// Minutes to acknowledge a grade Ⅰ (critical) incident.
    pub grade_1_minutes: i64,
    /// Minutes to acknowledge a grade Ⅱ (high) incident.
    pub grade_2_minutes: i64,
    /// Minutes to acknowledge a grade Ⅲ (medium) incident.
    pub grade_3_minutes: i64,
    /// Minutes to acknowledge a grade Ⅳ (low, informational) incident.
    pub grade_4_minutes: i64,
    /// Minutes to acknowledge an incident on critical information infrastructure (when its
    /// grade's clock is not shorter).
    pub cii_minutes: i64,
    /// Host names, addresses or other entity values of critical information infrastructure.
    pub cii_assets: Vec<String>,
    /// Seconds between checks of the timers.
    pub check_secs: u64,
}

impl Default for SlaConfig {
    fn default() -> Self {
        let p = SlaPolicy::default();
        SlaConfig {
            grade_1_minutes: p.grade_minutes[0],
            grade_2_minutes: p.grade_minutes[1],
            grade_3_minutes: p.grade_minutes[2],
            grade_4_minutes: p.grade_minutes[3],
            cii_minutes: p.cii_minutes,
            cii_assets: Vec::new(),
            check_secs: p.check_every.as_secs(),
        }
    }
}

impl AuthConfig {
    /// Every mistake in `[auth]`, each naming its key.
    pub fn validate(&self) -> Vec<ConfigError> {
        let auth = self;
        let mut errors = Vec::new();
        for (i, k) in auth.mask.iter().enumerate() {
            if let Err(e) = k.parse::<PiiKind>() {
                errors.push(ConfigError::new(format!("auth.mask[{i}]"), e.to_string()));
            }
        }
        require_positive(
            [
                ("auth.export_max_rows", auth.export_max_rows as u64),
                ("auth.export_count_ms", auth.export_count_ms),
                (
                    "auth.login_max_failures_per_user",
                    u64::from(auth.login_max_failures_per_user),
                ),
                (
                    "auth.login_max_failures_per_address",
                    u64::from(auth.login_max_failures_per_address),
                ),
                ("auth.login_lockout_secs", auth.login_lockout_secs),
                ("auth.login_lockout_max_secs", auth.login_lockout_max_secs),
                (
                    "auth.login_concurrent_checks",
                    auth.login_concurrent_checks as u64,
                ),
                ("auth.login_queue_secs", auth.login_queue_secs),
                ("auth.login_tracked", auth.login_tracked as u64),
                (
                    "auth.audit_unauthenticated_per_minute",
                    u64::from(auth.audit_unauthenticated_per_minute),
                ),
            ],
            &mut errors,
        );
        if auth.login_lockout_max_secs < auth.login_lockout_secs {
            errors.push(ConfigError::new(
                "auth.login_lockout_max_secs",
                format!(
                    "{} is shorter than login_lockout_secs ({})",
                    auth.login_lockout_max_secs, auth.login_lockout_secs
                ),
            ));
        }
        if auth.login_concurrent_checks > 64 {
            errors.push(ConfigError::new(
                "auth.login_concurrent_checks",
                format!(
                    "{} is more than 64 (each check takes about 19 MiB)",
                    auth.login_concurrent_checks
                ),
            ));
        }
        errors
    }
}

impl SlaConfig {
    /// Every mistake in `[sla]`, each naming its key.
    pub fn validate(&self) -> Vec<ConfigError> {
        let mut errors = Vec::new();
        for (key, v) in [
            ("grade_1_minutes", self.grade_1_minutes),
            ("grade_2_minutes", self.grade_2_minutes),
            ("grade_3_minutes", self.grade_3_minutes),
            ("grade_4_minutes", self.grade_4_minutes),
            ("cii_minutes", self.cii_minutes),
        ] {
            if v <= 0 {
                errors.push(ConfigError::new(
                    format!("sla.{key}"),
                    "must be greater than 0",
                ));
            }
        }
        require_positive([("sla.check_secs", self.check_secs)], &mut errors);
        errors
    }
}

/// The masking policy of `[auth] mask` (already checked).
pub fn mask_policy(auth: &AuthConfig) -> MaskPolicy {
    MaskPolicy {
        kinds: auth.mask.iter().filter_map(|k| k.parse().ok()).collect(),
    }
}

/// The login limits of `[auth]` (already checked).
pub fn login_policy(auth: &AuthConfig) -> LoginPolicy {
    LoginPolicy {
        max_failures_per_user: auth.login_max_failures_per_user,
        max_failures_per_address: auth.login_max_failures_per_address,
        lockout: Duration::from_secs(auth.login_lockout_secs),
        lockout_max: Duration::from_secs(auth.login_lockout_max_secs),
        concurrent_checks: auth.login_concurrent_checks,
        queue_wait: Duration::from_secs(auth.login_queue_secs),
        tracked: auth.login_tracked,
        unauthenticated_audit_per_minute: auth.audit_unauthenticated_per_minute,
    }
}

/// The SLA policy of `[sla]`.
pub fn sla_policy(sla: &SlaConfig) -> SlaPolicy {
    SlaPolicy {
        grade_minutes: [
            sla.grade_1_minutes,
            sla.grade_2_minutes,
            sla.grade_3_minutes,
            sla.grade_4_minutes,
        ],
        cii_minutes: sla.cii_minutes,
        cii_assets: sla.cii_assets.clone(),
        check_every: Duration::from_secs(sla.check_secs),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_pass() {
        assert_eq!(AuthConfig::default().validate(), []);
        assert_eq!(SlaConfig::default().validate(), []);
    }

    #[test]
    fn every_auth_and_sla_mistake_is_named() {
        let auth = AuthConfig {
            mask: vec!["mobile".into(), "passport".into()],
            login_lockout_secs: 600,
            login_lockout_max_secs: 60,
            login_concurrent_checks: 65,
            login_tracked: 0,
            ..AuthConfig::default()
        };
        let keys: Vec<_> = auth.validate().into_iter().map(|e| e.key).collect();
        assert_eq!(
            keys,
            [
                "auth.mask[1]",
                "auth.login_tracked",
                "auth.login_lockout_max_secs",
                "auth.login_concurrent_checks"
            ]
        );
        let sla = SlaConfig {
            grade_2_minutes: 0,
            check_secs: 0,
            ..SlaConfig::default()
        };
        let e: Vec<_> = sla.validate().iter().map(ToString::to_string).collect();
        assert_eq!(
            e,
            [
                "sla.grade_2_minutes: must be greater than 0",
                "sla.check_secs: must be greater than 0"
            ]
        );
    }

    #[test]
    fn policies_follow_the_sections() {
        let auth = AuthConfig {
            mask: vec!["email".into()],
            login_lockout_secs: 5,
            ..AuthConfig::default()
        };
        assert_eq!(mask_policy(&auth).kinds.len(), 1);
        assert_eq!(login_policy(&auth).lockout, Duration::from_secs(5));
        let sla = SlaConfig {
            cii_assets: vec!["db01".into()],
            ..SlaConfig::default()
        };
        assert_eq!(sla_policy(&sla).cii_assets, ["db01"]);
    }
}
