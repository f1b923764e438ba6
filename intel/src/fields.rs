//! Which event fields are checked against the indicators, and as what.
//!
//! Written in configuration as a list of names (`[intel] fields = [...]`). A name's class is
//! told by its last part (`*.ip` an address, `*.domain` and `dns.question.name` a domain,
//! `url.original`/`url.full` a URL, `*.hash.md5` ... a hash, `*.address`/`*.email` an email
//! address) or written after it (`my.field:domain`). `file.hash.*` stands for the four hash
//! names (`md5`, `sha1`, `sha256`, `sm3`).

use onewall_model::FieldId;
use serde::Deserialize;

use crate::IntelError;

/// What an event field holds, for matching.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldClass {
    /// An IPv4 or IPv6 address: matches `ip` exactly and `cidr` ranges holding it.
    Address,
    /// A host name: matches `domain` exactly and `domain-tree` at every label boundary.
    Domain,
    /// A URL: matches `url`, and its host as a domain or an address.
    Url,
    /// A file hash: matches the hash kinds of its length.
    Hash,
    /// An email address.
    Email,
}

impl FieldClass {
    pub fn as_str(self) -> &'static str {
        match self {
            FieldClass::Address => "address",
            FieldClass::Domain => "domain",
            FieldClass::Url => "url",
            FieldClass::Hash => "hash",
            FieldClass::Email => "email",
        }
    }

    fn parse(s: &str) -> Option<FieldClass> {
        [
            FieldClass::Address,
            FieldClass::Domain,
            FieldClass::Url,
            FieldClass::Hash,
            FieldClass::Email,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
    }

    /// The class a field name says, by its last part.
    pub fn of_name(name: &str) -> Option<FieldClass> {
        let last = name.rsplit('.').next().unwrap_or(name);
        match last {
            "ip" | "ips" | "address_ip" => Some(FieldClass::Address),
            "domain" | "hostname" | "registered_domain" => Some(FieldClass::Domain),
            "original" | "full" if name.starts_with("url.") || name.ends_with(".url.original") => {
                Some(FieldClass::Url)
            }
            "url" => Some(FieldClass::Url),
            "md5" | "sha1" | "sha256" | "sm3" => Some(FieldClass::Hash),
            "email" => Some(FieldClass::Email),
            "address" if name.contains("email") => Some(FieldClass::Email),
            _ if name == "dns.question.name" => Some(FieldClass::Domain),
            _ => None,
        }
    }
}

/// The hash names `*` stands for in `file.hash.*`.
pub const HASH_NAMES: [&str; 4] = ["md5", "sha1", "sha256", "sm3"];

/// The fields checked when the configuration names none (the issue's list).
pub const DEFAULT_FIELDS: [&str; 15] = [
    "source.ip",
    "destination.ip",
    "client.ip",
    "server.ip",
    "host.ip",
    "dns.question.name",
    "url.domain",
    "url.original",
    "destination.domain",
    "file.hash.*",
    "process.hash.*",
    "email.from.address",
    "email.to.address",
    "email.sender.address",
    "user.email",
];

/// The checked fields, each interned once with its class.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "Vec<String>")]
pub struct MatchFields {
    fields: Vec<(FieldId, FieldClass)>,
    /// By field id's index: 1 + the field's position in `fields`, or 0 for a field not
    /// checked (ids past the end are not checked). An event's own fields are looked up here,
    /// each once, instead of each checked field being searched for in the event.
    slots: Vec<u32>,
}

impl Default for MatchFields {
    fn default() -> Self {
        // The default names all have a class and intern unless the interner is full, when
        // the names that could not be interned are left out (no event can carry them then).
        let mut fields = Vec::new();
        for name in DEFAULT_FIELDS {
            let _ = add(&mut fields, name);
        }
        MatchFields::of(fields)
    }
}

impl MatchFields {
    /// The fields named, as the module's doc says; every name that cannot be read is named in
    /// the error.
    pub fn from_names<S: AsRef<str>>(names: &[S]) -> Result<MatchFields, IntelError> {
        let mut fields = Vec::new();
        let mut bad = Vec::new();
        for n in names {
            if let Err(e) = add(&mut fields, n.as_ref()) {
                bad.push(e);
            }
        }
        if bad.is_empty() {
            Ok(MatchFields::of(fields))
        } else {
            Err(IntelError::InvalidValue {
                kind: "field",
                value: names
                    .iter()
                    .map(|n| n.as_ref())
                    .collect::<Vec<_>>()
                    .join(","),
                reason: bad.join("; "),
            })
        }
    }

    fn of(fields: Vec<(FieldId, FieldClass)>) -> MatchFields {
        let end = fields.iter().map(|(id, _)| id.index() as usize + 1).max();
        let mut slots = vec![0; end.unwrap_or(0)];
        for (pos, (id, _)) in fields.iter().enumerate() {
            if let Some(s) = slots.get_mut(id.index() as usize) {
                *s = pos as u32 + 1;
            }
        }
        MatchFields { fields, slots }
    }

    /// The checked fields and their classes.
    pub fn fields(&self) -> &[(FieldId, FieldClass)] {
        &self.fields
    }

    /// The position in [`MatchFields::fields`] of field `id`, if it is checked.
    #[inline]
    pub fn position(&self, id: FieldId) -> Option<usize> {
        match self.slots.get(id.index() as usize) {
            Some(&s) if s != 0 => Some(s as usize - 1),
            _ => None,
        }
    }

    pub fn len(&self) -> usize {
        self.fields.len()
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }
}

impl TryFrom<Vec<String>> for MatchFields {
    type Error = IntelError;
    fn try_from(names: Vec<String>) -> Result<Self, Self::Error> {
        MatchFields::from_names(&names)
    }
}

/// Add `spec` (`name`, `name:class`, `prefix.*`) to `fields`; the reason when it cannot be.
fn add(fields: &mut Vec<(FieldId, FieldClass)>, spec: &str) -> Result<(), String> {
    let spec = spec.trim();
    let (name, class) = match spec.rsplit_once(':') {
        Some((n, c)) => match FieldClass::parse(c.trim()) {
            Some(class) => (n.trim(), Some(class)),
            None => {
                return Err(format!(
                    "{spec}: class {c:?} is not one of address, domain, url, hash, email"
                ));
            }
        },
        None => (spec, None),
    };
    if name.is_empty() {
        return Err(format!("{spec:?}: an empty field name"));
    }
    let names: Vec<String> = match name.strip_suffix(".*") {
        Some(prefix) => HASH_NAMES.iter().map(|h| format!("{prefix}.{h}")).collect(),
        None => vec![name.to_string()],
    };
    for n in names {
        let class = class.or_else(|| FieldClass::of_name(&n)).ok_or_else(|| {
            format!(
                "{n}: cannot tell what it holds; write {n}:address (or domain, url, hash, email)"
            )
        })?;
        let id = FieldId::intern(&n).ok_or_else(|| format!("{n}: too many field names"))?;
        if !fields.iter().any(|(i, _)| *i == id) {
            fields.push((id, class));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class_of(f: &MatchFields, name: &str) -> Option<FieldClass> {
        f.fields()
            .iter()
            .find(|(id, _)| id.name() == name)
            .map(|(_, c)| *c)
    }

    #[test]
    fn the_defaults_cover_the_issue_list_with_hashes_expanded() {
        let f = MatchFields::default();
        assert_eq!(class_of(&f, "destination.ip"), Some(FieldClass::Address));
        assert_eq!(class_of(&f, "dns.question.name"), Some(FieldClass::Domain));
        assert_eq!(class_of(&f, "url.original"), Some(FieldClass::Url));
        assert_eq!(class_of(&f, "url.domain"), Some(FieldClass::Domain));
        assert_eq!(class_of(&f, "file.hash.sm3"), Some(FieldClass::Hash));
        assert_eq!(class_of(&f, "process.hash.md5"), Some(FieldClass::Hash));
        assert_eq!(class_of(&f, "email.from.address"), Some(FieldClass::Email));
        assert_eq!(class_of(&f, "user.email"), Some(FieldClass::Email));
        assert_eq!(f.len(), DEFAULT_FIELDS.len() - 2 + 2 * HASH_NAMES.len());
    }

    #[test]
    fn configuration_names_fields_with_or_without_a_class() {
        let f: MatchFields = serde_json::from_str(
            r#"["source.ip", "vendor.c2:domain", "file.hash.*", "source.ip"]"#,
        )
        .expect("fields");
        assert_eq!(f.len(), 6, "source.ip once, four hashes, vendor.c2");
        assert_eq!(class_of(&f, "vendor.c2"), Some(FieldClass::Domain));
        for (pos, (id, _)) in f.fields().iter().enumerate() {
            assert_eq!(f.position(*id), Some(pos));
        }
        let other = FieldId::intern("vendor.unchecked").expect("id");
        assert_eq!(f.position(other), None);
        let e = serde_json::from_str::<MatchFields>(r#"["vendor.thing", "a.b:colour"]"#)
            .expect_err("bad");
        let msg = e.to_string();
        assert!(msg.contains("vendor.thing: cannot tell"), "{msg}");
        assert!(msg.contains("class \"colour\""), "{msg}");
    }
}
