//! Field names (`netflow.<element>` in snake case) and the element numbers the mapping reads,
//! interned once per decoder.

use netflow_parser::V9Field;
use netflow_parser::variable_versions::ipfix::lookup::{IANAIPFixField, IPFixField};
use onewall_model::FieldId;
use onewall_model::hash::FxMap;

use super::mapping::iana_element;

/// The field ids of a protocol's elements, interned once per decoder.
///
/// Records of one template list the same elements in the same order, so the ids of the
/// previous record, by position, answer nearly every lookup with one comparison; the map
/// answers the rest (a new template, or several templates interleaved).
#[derive(Debug)]
pub(super) struct NameCache<K> {
    /// Keyed by small field enums from a fixed set of names, not chosen by senders, and
    /// looked up once per field of every record: [`FxMap`], not SipHash.
    map: FxMap<K, Option<FieldId>>,
    /// The previous record's elements by position: the element, its id, and its IANA
    /// element number for [`apply`] (0 when it has none).
    last: Vec<(K, Option<FieldId>, u16)>,
}

impl<K> Default for NameCache<K> {
    fn default() -> Self {
        NameCache {
            map: FxMap::default(),
            last: Vec::new(),
        }
    }
}

impl<K: Copy + Eq + std::hash::Hash> NameCache<K> {
    /// The id of `key`, interned by `name` the first time.
    pub(super) fn id(
        &mut self,
        key: K,
        name: impl FnOnce(K) -> Option<FieldId>,
    ) -> Option<FieldId> {
        *self.map.entry(key).or_insert_with(|| name(key))
    }

    /// The id and element number of `key`, the `pos`-th field of its record. `name` interns
    /// its name, `element` gives its number; both run once per element per decoder.
    #[inline]
    pub(super) fn get(
        &mut self,
        pos: usize,
        key: K,
        name: impl FnOnce(K) -> Option<FieldId>,
        element: impl FnOnce(K) -> u16,
    ) -> (Option<FieldId>, u16) {
        if let Some(&(k, id, el)) = self.last.get(pos)
            && k == key
        {
            return (id, el);
        }
        let id = *self.map.entry(key).or_insert_with(|| name(key));
        let el = element(key);
        if pos < self.last.len() {
            self.last[pos] = (key, id, el);
        } else if pos == self.last.len() {
            self.last.push((key, id, el));
        }
        (id, el)
    }
}

pub(super) fn v9_name(f: V9Field) -> Option<FieldId> {
    FieldId::intern(&format!("netflow.{}", snake(&format!("{f:?}"))))
}

pub(super) fn ipfix_name(f: IPFixField) -> Option<FieldId> {
    let name = match f {
        IPFixField::IANA(e) => snake(&format!("{e:?}")),
        IPFixField::Enterprise {
            enterprise_number,
            field_number,
        } => format!("enterprise_{enterprise_number}_{field_number}"),
        other => snake(&format!("{other:?}")),
    };
    FieldId::intern(&format!("netflow.{name}"))
}

/// The element number [`apply`] reads a v9 field by (the v9 field types it reads are the
/// IANA numbers); 0 for the fields it does not read.
pub(super) fn v9_element(f: V9Field) -> u16 {
    let n = u16::from(f);
    if iana_element(IANAIPFixField::from(n)) == n {
        n
    } else {
        0
    }
}

/// The IANA element number [`apply`] reads an IPFIX field by; 0 for enterprise fields.
pub(super) fn ipfix_element(f: IPFixField) -> u16 {
    match f {
        IPFixField::IANA(e) => iana_element(e),
        _ => 0,
    }
}

/// `SourceIpv4address` → `source_ipv4address`, `Cisco(AppName)` → `cisco_app_name`,
/// `Unknown(300)` → `unknown_300`.
pub(crate) fn snake(debug: &str) -> String {
    let mut out = String::with_capacity(debug.len() + 8);
    let mut prev_lower = false;
    for c in debug.chars() {
        if c.is_ascii_uppercase() {
            if prev_lower && !out.ends_with('_') {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
            prev_lower = false;
        } else if c.is_ascii_alphanumeric() {
            out.push(c);
            prev_lower = true;
        } else {
            if !out.is_empty() && !out.ends_with('_') {
                out.push('_');
            }
            prev_lower = false;
        }
    }
    while out.ends_with('_') {
        out.pop();
    }
    out
}

pub(super) fn v5_names() -> [FieldId; 13] {
    const NAMES: [&str; 13] = [
        "netflow.next_hop",
        "netflow.input",
        "netflow.output",
        "netflow.d_octets",
        "netflow.d_pkts",
        "netflow.first",
        "netflow.last",
        "netflow.tos",
        "netflow.src_as",
        "netflow.dst_as",
        "netflow.src_mask",
        "netflow.dst_mask",
        "netflow.sys_up_time",
    ];
    // Interned on the first v5 datagram, long before the interner's cap could be reached.
    #[allow(clippy::expect_used)]
    NAMES.map(|n| FieldId::intern(n).expect("field interner has room"))
}
