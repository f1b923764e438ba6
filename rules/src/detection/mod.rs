//! Search identifiers (the named entries under `detection:`), compiled from YAML into
//! [`Selection`]s and matched against an event.
//!
//! - A map is an AND of its `field|modifiers: value(s)` items.
//! - A list of maps is an OR of those maps.
//! - A list of plain values (or one plain value) is a keyword search: any value contained in
//!   the event's `message` (or raw text when there is no `message`).
//! - A map key with no field name (`'|all': [...]`) is a keyword search too, with modifiers.
//!
//! Compiling is `compile.rs` (YAML and modifiers to [`ValuePattern`]s), matching an event is
//! `evaluate.rs`; what each modifier means is in `crate::modifier`. This file holds the
//! compiled form and what it tells the candidate index.

mod compile;
mod evaluate;

use onewall_model::FieldId;

use crate::clause::{self, Atom, Clause, On};
use crate::context::field_bit;
use crate::modifier::{Cidr, CmpOp, DatePart};
use crate::pattern::{Anchor, Pattern};
use crate::textset::TextSet;

/// One compiled search identifier: an OR of AND-groups.
#[derive(Debug, Clone)]
pub(crate) struct Selection {
    /// The search identifier's name, recorded on the values it matched.
    pub(super) name: Box<str>,
    pub(super) groups: Vec<Group>,
}

/// Items that must all match.
#[derive(Debug, Clone)]
pub(super) struct Group {
    pub(super) items: Vec<Item>,
    /// Fields the group cannot match without (items with no `null` value), as a
    /// [`field_bit`] mask: a quick rejection before any lookup.
    pub(super) required: u64,
}

impl Group {
    pub(super) fn new(items: Vec<Item>) -> Group {
        let required = items
            .iter()
            .filter(|i| i.values.iter().all(ValuePattern::needs_field))
            .filter_map(|i| match &i.target {
                Target::Field { id, .. } => Some(field_bit(*id)),
                Target::Keywords => None,
            })
            .fold(0, |acc, bit| acc | bit);
        Group { items, required }
    }
}

/// One `field|modifiers: values` entry (or a keyword list).
#[derive(Debug, Clone)]
pub(super) struct Item {
    pub(super) target: Target,
    /// `|all`: every value must match (else any one).
    pub(super) all: bool,
    pub(super) values: Vec<ValuePattern>,
    /// Every value is a case-insensitive string (or variants of one): a scalar field is
    /// lowercased once and compared with each.
    pub(super) text_only: bool,
    /// Many such values, any one of which may match: matched together.
    pub(super) set: Option<TextSet>,
}

#[derive(Debug, Clone)]
pub(super) enum Target {
    Field { id: FieldId, name: Box<str> },
    Keywords,
}

#[derive(Debug, Clone)]
pub(super) enum ValuePattern {
    /// `null`: the field is absent or null.
    Null,
    /// A string (or number, compared as text).
    Text { pattern: Pattern, source: Box<str> },
    /// `cased`: a case-sensitive string.
    Cased { pattern: Pattern, source: Box<str> },
    /// `re`: a regular expression, searched anywhere in the value's text.
    Regex {
        re: crate::modifier::LazyRegex,
        source: Box<str>,
        /// A lowercased literal every match contains (see [`literal::required`]), as a
        /// `contains` pattern: tried on the lowercased text first, it rules most values out
        /// without running the expression.
        need: Option<Pattern>,
    },
    /// `cidr`: an address in the network.
    Cidr { net: Cidr, source: Box<str> },
    /// `lt lte gt gte`: a numeric comparison.
    Cmp {
        op: CmpOp,
        num: f64,
        source: Box<str>,
    },
    /// `minute hour day week month year`: a date part equal to a number.
    Date {
        part: DatePart,
        num: i64,
        source: Box<str>,
    },
    /// `exists`: the field is present and not null (or, `false`, absent or null).
    Exists(bool),
    /// `fieldref`: the value equals (or contains, ...) the other field's value.
    FieldRef {
        other: FieldId,
        anchor: Anchor,
        source: Box<str>,
    },
    /// `neq`: the field is present and does not match.
    Neq(Box<ValuePattern>),
    /// Any one of several variants (`windash`, `base64offset`).
    AnyOf(Vec<ValuePattern>, Box<str>),
}

impl ValuePattern {
    /// Is this a case-insensitive string, or variants of one?
    pub(super) fn is_text(&self) -> bool {
        match self {
            ValuePattern::Text { .. } => true,
            ValuePattern::AnyOf(list, _) => list.iter().all(ValuePattern::is_text),
            _ => false,
        }
    }

    /// Push the patterns of a text value ([`ValuePattern::is_text`]).
    pub(super) fn text_patterns<'a>(&'a self, out: &mut Vec<&'a Pattern>) {
        match self {
            ValuePattern::Text { pattern, .. } => out.push(pattern),
            ValuePattern::AnyOf(list, _) => list.iter().for_each(|v| v.text_patterns(out)),
            _ => {}
        }
    }

    /// Does a text value match `lower` (a lowercased scalar)?
    pub(super) fn text_matches(&self, lower: &str) -> bool {
        match self {
            ValuePattern::Text { pattern, .. } => pattern.matches(lower),
            ValuePattern::AnyOf(list, _) => list.iter().any(|v| v.text_matches(lower)),
            _ => false,
        }
    }

    /// Can this value match an event that lacks the field?
    pub(super) fn needs_field(&self) -> bool {
        match self {
            ValuePattern::Null | ValuePattern::Exists(false) => false,
            ValuePattern::AnyOf(v, _) => v.iter().all(ValuePattern::needs_field),
            _ => true,
        }
    }

    pub(super) fn source(&self) -> Option<&str> {
        match self {
            ValuePattern::Text { source, .. }
            | ValuePattern::Cased { source, .. }
            | ValuePattern::Regex { source, .. }
            | ValuePattern::Cidr { source, .. }
            | ValuePattern::Cmp { source, .. }
            | ValuePattern::Date { source, .. }
            | ValuePattern::FieldRef { source, .. }
            | ValuePattern::AnyOf(_, source) => Some(source),
            ValuePattern::Neq(inner) => inner.source(),
            ValuePattern::Null | ValuePattern::Exists(_) => None,
        }
    }
}

impl Selection {
    /// Fields every group needs (a [`field_bit`] mask): the selection cannot match an event
    /// lacking any of them.
    pub(crate) fn required(&self) -> u64 {
        self.groups.iter().fold(u64::MAX, |acc, g| acc & g.required)
    }

    /// Clauses (each an OR of [`Atom`]s) that all hold whenever this selection matches; empty
    /// when nothing is known. For the candidate index: sound, not complete.
    pub(crate) fn necessary(&self) -> Vec<Clause> {
        clause::any_of(self.groups.iter().map(Group::necessary).collect())
    }

    /// Push every field this selection reads.
    pub(crate) fn fields(&self, out: &mut Vec<FieldId>) {
        for item in self.groups.iter().flat_map(|g| &g.items) {
            if let Target::Field { id, .. } = &item.target {
                out.push(*id);
            }
            for v in &item.values {
                v.fields(out);
            }
        }
    }
}

impl Group {
    fn necessary(&self) -> Vec<Clause> {
        self.items.iter().flat_map(Item::necessary).collect()
    }
}

impl Item {
    /// Clauses that hold whenever this item matches.
    fn necessary(&self) -> Vec<Clause> {
        let on = match &self.target {
            Target::Field { id, .. } => On::Field(*id),
            Target::Keywords => On::Keywords,
        };
        if self.all {
            // Every value must match: each one's atoms are a clause of their own.
            self.values
                .iter()
                .filter_map(|v| {
                    let mut clause = Vec::new();
                    v.push_atoms(on, &mut clause).then_some(clause)
                })
                .collect()
        } else {
            // Any value may match: one clause of all their atoms, if each has some.
            let mut clause = Vec::with_capacity(self.values.len());
            if self.values.iter().all(|v| v.push_atoms(on, &mut clause)) {
                vec![clause]
            } else {
                Vec::new()
            }
        }
    }
}

impl ValuePattern {
    /// Push the atoms of which one holds on `on` whenever this value matches it: a literal
    /// the lowercased text must hold, else (for fields) the field's presence. False (and
    /// what it pushed is no clause) when the value can match without the field (`null`,
    /// `exists: false`) or offers nothing on keywords.
    fn push_atoms(&self, on: On, out: &mut Vec<Atom>) -> bool {
        let present = |out: &mut Vec<Atom>| match on {
            On::Field(id) => {
                out.push(Atom::present(id));
                true
            }
            On::Keywords => false,
        };
        let literal = |out: &mut Vec<Atom>, need| {
            out.push(Atom::new(on, need));
            true
        };
        match self {
            ValuePattern::Text { pattern, .. } => match pattern.necessary() {
                Some(need) => literal(out, need),
                None => present(out),
            },
            ValuePattern::AnyOf(list, _) => list.iter().all(|v| v.push_atoms(on, out)),
            ValuePattern::Regex {
                need: Some(need), ..
            } => need.necessary().is_some_and(|need| literal(out, need)),
            ValuePattern::Null | ValuePattern::Exists(false) => false,
            ValuePattern::Cased { .. }
            | ValuePattern::Regex { .. }
            | ValuePattern::Cidr { .. }
            | ValuePattern::Cmp { .. }
            | ValuePattern::Date { .. }
            | ValuePattern::Exists(true)
            | ValuePattern::FieldRef { .. }
            | ValuePattern::Neq(_) => present(out),
        }
    }

    fn fields(&self, out: &mut Vec<FieldId>) {
        match self {
            ValuePattern::FieldRef { other, .. } => out.push(*other),
            ValuePattern::Neq(inner) => inner.fields(out),
            ValuePattern::AnyOf(list, _) => list.iter().for_each(|v| v.fields(out)),
            _ => {}
        }
    }
}
