//! The things alerts are about: addresses, hosts, users, hashes, domains, processes.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::event::names;
use crate::{Event, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    SourceIp,
    DestinationIp,
    Host,
    User,
    Hash,
    Domain,
    Process,
}

impl EntityKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::SourceIp => "source_ip",
            EntityKind::DestinationIp => "destination_ip",
            EntityKind::Host => "host",
            EntityKind::User => "user",
            EntityKind::Hash => "hash",
            EntityKind::Domain => "domain",
            EntityKind::Process => "process",
        }
    }
}

impl EntityKind {
    /// The entity kind a well-known field names (`source.ip` → [`EntityKind::SourceIp`],
    /// `host.ip` → [`EntityKind::Host`] ...), from [`ENTITY_FIELDS`].
    pub fn of_field(field: &str) -> Option<EntityKind> {
        ENTITY_FIELDS
            .iter()
            .find(|(_, fields)| fields.contains(&field))
            .map(|(kind, _)| *kind)
    }
}

impl fmt::Display for EntityKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One entity: a kind and its value as text.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Entity {
    pub kind: EntityKind,
    pub value: String,
}

/// Which event fields name which entity kind, most specific first: the one table of field
/// names ↔ entity kinds (alerts' entities, correlation group-by fields).
pub const ENTITY_FIELDS: &[(EntityKind, &[&str])] = &[
    (EntityKind::SourceIp, &[names::SOURCE_IP]),
    (EntityKind::DestinationIp, &[names::DESTINATION_IP]),
    (EntityKind::Host, &[names::HOST_NAME, names::HOST_IP]),
    (EntityKind::User, &[names::USER_NAME]),
    (EntityKind::Hash, &[names::FILE_HASH]),
    (
        EntityKind::Domain,
        &[names::DNS_QUESTION_NAME, names::URL_DOMAIN],
    ),
    (EntityKind::Process, &[names::PROCESS_NAME]),
];

impl Entity {
    pub fn new(kind: EntityKind, value: impl Into<String>) -> Self {
        Entity {
            kind,
            value: value.into(),
        }
    }

    /// The entities an event names through its well-known fields (one per kind at most).
    pub fn from_event(event: &Event) -> Vec<Entity> {
        let mut out = Vec::new();
        for (kind, fields) in ENTITY_FIELDS {
            let found = fields.iter().find_map(|f| match event.get(f) {
                Some(Value::Null) | None => None,
                Some(v) => v
                    .to_text()
                    .map(|t| t.into_owned())
                    .filter(|t| !t.is_empty()),
            });
            if let Some(value) = found {
                out.push(Entity { kind: *kind, value });
            }
        }
        out
    }
}

impl fmt::Display for Entity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.kind, self.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_fields_name_their_kind() {
        assert_eq!(
            EntityKind::of_field("source.ip"),
            Some(EntityKind::SourceIp)
        );
        assert_eq!(EntityKind::of_field("host.ip"), Some(EntityKind::Host));
        assert_eq!(EntityKind::of_field("url.domain"), Some(EntityKind::Domain));
        assert_eq!(EntityKind::of_field("message"), None);
    }
}
