//! Roles and what a caller was granted.

use std::fmt;
use std::str::FromStr;

use onewall_model::RegionCode;
use serde::{Deserialize, Serialize};

/// What a user or token may do. Every role but `admin` is limited to its region subtree.
///
/// | role | may |
/// |---|---|
/// | `viewer` | read events, alerts, incidents, rules, regions, reports |
/// | `analyst` | viewer + comment, acknowledge, change status, link and unlink alerts |
/// | `responder` | analyst + assign, override the grade |
/// | `admin` | everything, including users, tokens, rule reloads and the audit log |
/// | `collector` | send events to the HTTP collectors; nothing else |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Viewer,
    Analyst,
    Responder,
    Admin,
    Collector,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Viewer,
        Role::Analyst,
        Role::Responder,
        Role::Admin,
        Role::Collector,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Analyst => "analyst",
            Role::Responder => "responder",
            Role::Admin => "admin",
            Role::Collector => "collector",
        }
    }

    /// May read security data (events, alerts, incidents, rules, reports).
    pub fn can_read(self) -> bool {
        matches!(
            self,
            Role::Viewer | Role::Analyst | Role::Responder | Role::Admin
        )
    }

    /// May comment on, acknowledge, change the status of, and link alerts to incidents.
    pub fn can_work_incidents(self) -> bool {
        matches!(self, Role::Analyst | Role::Responder | Role::Admin)
    }

    /// May assign incidents and override their grade.
    pub fn can_direct_incidents(self) -> bool {
        matches!(self, Role::Responder | Role::Admin)
    }

    /// May manage users, tokens and rules and read the audit log.
    pub fn is_admin(self) -> bool {
        self == Role::Admin
    }

    /// May send events to the HTTP collectors.
    pub fn can_ingest(self) -> bool {
        matches!(self, Role::Collector | Role::Admin)
    }

    /// May a holder of this role grant `role` to a user or token? Only what it holds itself,
    /// or less: an admin any role, other roles none (they manage no users or tokens).
    pub fn may_grant(self, role: Role) -> bool {
        let holds = |r: Role| match r {
            Role::Viewer => self.can_read(),
            Role::Analyst => self.can_work_incidents(),
            Role::Responder => self.can_direct_incidents(),
            Role::Admin => self.is_admin(),
            Role::Collector => self.can_ingest(),
        };
        self.is_admin() && holds(role)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown role {s:?}; expected viewer, analyst, responder, admin or collector"
                )
            })
    }
}

/// Whether a grant came from a user's login or an API token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SubjectKind {
    User,
    Token,
}

/// What an authenticated caller may do: its role over a region subtree.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Grant {
    /// The user name, or the token id.
    pub subject: String,
    pub kind: SubjectKind,
    pub role: Role,
    /// The root of the region subtree the caller may see.
    pub region: RegionCode,
    /// The department the caller is limited to, when set.
    pub department: Option<String>,
    /// May see personal data unmasked (always for `admin`).
    pub pii: bool,
}

impl Grant {
    /// May see personal data unmasked.
    pub fn sees_pii(&self) -> bool {
        self.pii || self.role.is_admin()
    }
}
