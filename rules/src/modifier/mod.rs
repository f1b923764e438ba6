//! What each Sigma value modifier means, in one place: [`parse_mods`] reads a key's modifiers
//! into [`Mods`] (this file is the one list of modifier names), and each modifier's meaning
//! lives in one file:
//!
//! | modifier | meaning |
//! |---|---|
//! | `contains`, `startswith`, `endswith` | the [`Anchor`] of a text pattern (`crate::pattern`) |
//! | `all` | every value must match (`Mods::all`, read by the matcher) |
//! | `cased` | case-sensitive text (`Mods::cased`) |
//! | `neq` | the field is present and does not match (`Mods::neq`) |
//! | `exists` | presence, `true` or `false` ([`Kind::Exists`]) |
//! | `re` (`i`, `m`, `s`) | a regular expression ([`Kind::Re`], [`compare::regex`]) |
//! | `cidr` | an address in a network ([`compare::Cidr`]) |
//! | `lt`, `lte`, `gt`, `gte` | a numeric comparison ([`compare::CmpOp`]) |
//! | `minute` … `year` | a date part equal to a number ([`compare::DatePart`]) |
//! | `fieldref` | the value of another field ([`Kind::FieldRef`]) |
//! | `windash`, `base64`, `base64offset`, `utf16le`/`wide`, `utf16be`, `utf16` | value transformations ([`encode`]) |
//! | `expand` | `%name%` placeholders ([`expand`]) |
//!
//! Adding a modifier: its name goes in [`parse_mods`]; a transformation is a [`Transform`] in
//! `encode.rs`, a typed comparison a [`Kind`] whose meaning goes in `compare.rs`.

mod compare;
mod encode;
mod expand;

pub(crate) use compare::{Cidr, CmpOp, DatePart, LazyRegex, number, regex};
pub(crate) use encode::{Transform, transform};
pub use expand::Placeholders;
pub(crate) use expand::expand;

use crate::pattern::Anchor;

/// What kind of comparison the value is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Kind {
    Text,
    Re,
    Cidr,
    Cmp(CmpOp),
    Date(DatePart),
    Exists,
    FieldRef,
}

/// The modifiers of one key.
#[derive(Debug, Clone)]
pub(crate) struct Mods {
    pub(crate) anchor: Anchor,
    pub(crate) all: bool,
    pub(crate) cased: bool,
    pub(crate) neq: bool,
    pub(crate) expand: bool,
    pub(crate) kind: Kind,
    /// `re` sub-modifiers `i`, `m`, `s`.
    pub(crate) flags: (bool, bool, bool),
    pub(crate) transforms: Vec<Transform>,
}

impl Mods {
    fn plain(anchor: Anchor) -> Mods {
        Mods {
            anchor,
            all: false,
            cased: false,
            neq: false,
            expand: false,
            kind: Kind::Text,
            flags: (false, false, false),
            transforms: Vec::new(),
        }
    }

    /// A plain keyword list: substring searches.
    pub(crate) fn keywords() -> Mods {
        Mods::plain(Anchor::Anywhere)
    }
}

pub(crate) fn parse_mods<'a>(parts: impl Iterator<Item = &'a str>) -> Result<Mods, String> {
    let mut mods = Mods::plain(Anchor::Whole);
    for m in parts {
        let set_anchor = |mods: &mut Mods, a: Anchor| {
            if mods.anchor != Anchor::Whole && mods.anchor != a {
                Err(format!(
                    "modifier '{m}' conflicts with an earlier contains/startswith/endswith"
                ))
            } else {
                mods.anchor = a;
                Ok(())
            }
        };
        let set_kind = |mods: &mut Mods, k: Kind| {
            if mods.kind != Kind::Text {
                Err(format!(
                    "modifier '{m}' conflicts with an earlier type modifier"
                ))
            } else {
                mods.kind = k;
                Ok(())
            }
        };
        match m {
            "contains" => set_anchor(&mut mods, Anchor::Anywhere)?,
            "startswith" => set_anchor(&mut mods, Anchor::Start)?,
            "endswith" => set_anchor(&mut mods, Anchor::End)?,
            "all" => mods.all = true,
            "cased" => mods.cased = true,
            "neq" => mods.neq = true,
            "expand" => mods.expand = true,
            "windash" => mods.transforms.push(Transform::Windash),
            "base64" => mods.transforms.push(Transform::Base64),
            "base64offset" => mods.transforms.push(Transform::Base64Offset),
            "utf16le" | "wide" => mods.transforms.push(Transform::Utf16(encode::Utf16::Le)),
            "utf16be" => mods.transforms.push(Transform::Utf16(encode::Utf16::Be)),
            "utf16" => mods.transforms.push(Transform::Utf16(encode::Utf16::Bom)),
            "re" => set_kind(&mut mods, Kind::Re)?,
            "i" | "ignorecase" => mods.flags.0 = true,
            "m" | "multiline" => mods.flags.1 = true,
            "s" | "dotall" => mods.flags.2 = true,
            "cidr" => set_kind(&mut mods, Kind::Cidr)?,
            "exists" => set_kind(&mut mods, Kind::Exists)?,
            "fieldref" => set_kind(&mut mods, Kind::FieldRef)?,
            "" => return Err("empty modifier".into()),
            m => {
                if let Some(op) = CmpOp::parse(m) {
                    set_kind(&mut mods, Kind::Cmp(op))?
                } else if let Some(part) = DatePart::parse(m) {
                    set_kind(&mut mods, Kind::Date(part))?
                } else {
                    return Err(format!("unknown modifier '{m}'"));
                }
            }
        }
    }
    if mods.flags != (false, false, false) && mods.kind != Kind::Re {
        return Err("modifiers 'i', 'm' and 's' apply only after 're'".into());
    }
    if mods.kind != Kind::Text && !mods.transforms.is_empty() {
        return Err("windash/base64/utf16 modifiers apply only to string values".into());
    }
    Ok(mods)
}

#[cfg(test)]
mod tests;
