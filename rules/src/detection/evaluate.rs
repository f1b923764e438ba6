//! Matching a compiled search identifier against an event. The hot path: no allocation per
//! event beyond what a case-sensitive or `fieldref` comparison needs.

use onewall_model::{FieldId, MatchedField, Value};

use super::{Group, Item, Selection, Target, ValuePattern};
use crate::context::EventContext;
use crate::modifier;
use crate::pattern::Anchor;

impl Selection {
    /// Does the event match this search identifier?
    pub(crate) fn matches(&self, cx: &mut EventContext<'_>) -> bool {
        self.groups.iter().any(|g| g.matches(cx))
    }

    /// Push the field values that made this (matching) selection true.
    pub(crate) fn collect(&self, cx: &mut EventContext<'_>, out: &mut Vec<MatchedField>) {
        if let Some(group) = self.groups.iter().find(|g| g.matches(cx)) {
            for item in &group.items {
                item.collect(cx, &self.name, out);
            }
        }
    }
}

impl Group {
    pub(super) fn matches(&self, cx: &mut EventContext<'_>) -> bool {
        cx.may_have(self.required) && self.items.iter().all(|i| i.matches(cx))
    }
}

impl Item {
    fn matches(&self, cx: &mut EventContext<'_>) -> bool {
        match &self.target {
            Target::Field { id, .. } => {
                let value = cx.field(*id);
                if self.text_only {
                    match value {
                        // A string pattern never matches an absent or null field.
                        None | Some(Value::Null) => return false,
                        Some(Value::List(_)) => {}
                        Some(scalar) => {
                            let text = cx.lower(*id, scalar);
                            return if self.all {
                                self.values.iter().all(|vp| vp.text_matches(text))
                            } else if let Some(set) = &self.set {
                                set.matches(text)
                            } else {
                                self.values.iter().any(|vp| vp.text_matches(text))
                            };
                        }
                    }
                }
                let mut hits = self.values.iter().map(|vp| field_hit(cx, *id, value, vp));
                if self.all {
                    hits.all(|h| h)
                } else {
                    hits.any(|h| h)
                }
            }
            Target::Keywords => {
                let mut hits = self.values.iter().map(|vp| keyword_hit(cx, vp));
                if self.all {
                    hits.all(|h| h)
                } else {
                    hits.any(|h| h)
                }
            }
        }
    }

    fn collect(&self, cx: &mut EventContext<'_>, selection: &str, out: &mut Vec<MatchedField>) {
        match &self.target {
            Target::Field { id, name } => {
                if let Some(v) = cx.field(*id).filter(|v| !v.is_null()) {
                    out.push(MatchedField {
                        field: name.to_string(),
                        value: v.to_string(),
                        selection: Some(selection.to_owned()),
                    });
                }
            }
            Target::Keywords => {
                for vp in &self.values {
                    if let Some(source) = vp.source()
                        && keyword_hit(cx, vp)
                    {
                        out.push(MatchedField {
                            field: "keywords".into(),
                            value: source.to_string(),
                            selection: Some(selection.to_owned()),
                        });
                    }
                }
            }
        }
    }
}

fn field_hit(
    cx: &mut EventContext<'_>,
    id: FieldId,
    value: Option<&Value>,
    vp: &ValuePattern,
) -> bool {
    let present = value.filter(|v| !v.is_null());
    match vp {
        ValuePattern::Null => present.is_none(),
        ValuePattern::Exists(want) => present.is_some() == *want,
        ValuePattern::AnyOf(list, _) => list.iter().any(|p| field_hit(cx, id, value, p)),
        ValuePattern::Neq(inner) => present.is_some() && !field_hit(cx, id, value, inner),
        _ => match value {
            None => false,
            Some(v) => scalar_hit(cx, id, v, vp),
        },
    }
}

/// A typed pattern against a present value (lists: any element).
fn scalar_hit(cx: &mut EventContext<'_>, id: FieldId, v: &Value, vp: &ValuePattern) -> bool {
    match vp {
        ValuePattern::Text { pattern, .. } => cx.value_matches(id, v, pattern),
        ValuePattern::Cased { pattern, .. } => text_any(v, &mut |s| pattern.matches(s)),
        // The literal every match holds is looked for in the (cached) lowercased text first.
        ValuePattern::Regex { re, need, .. } => {
            need.as_ref().is_none_or(|p| cx.value_matches(id, v, p))
                && text_any(v, &mut |s| re.is_match(s))
        }
        ValuePattern::Cidr { net, .. } => any_scalar(v, &mut |s| net.matches(s)),
        ValuePattern::Cmp { op, num, .. } => any_scalar(v, &mut |s| {
            modifier::number(s).is_some_and(|x| op.holds(x, *num))
        }),
        ValuePattern::Date { part, num, .. } => any_scalar(v, &mut |s| part.of(s) == Some(*num)),
        ValuePattern::FieldRef { other, anchor, .. } => {
            let Some(o) = cx.field(*other).and_then(Value::to_text) else {
                return false;
            };
            let o = o.to_lowercase();
            text_any(v, &mut |s| {
                let s = s.to_lowercase();
                match anchor {
                    Anchor::Whole => s == o,
                    Anchor::Start => s.starts_with(&o),
                    Anchor::End => s.ends_with(&o),
                    Anchor::Anywhere => s.contains(&o),
                }
            })
        }
        ValuePattern::Null
        | ValuePattern::Exists(_)
        | ValuePattern::Neq(_)
        | ValuePattern::AnyOf(..) => field_hit(cx, id, Some(v), vp),
    }
}

/// Any scalar in `v` (itself, or a list's elements) satisfies `f`.
fn any_scalar(v: &Value, f: &mut dyn FnMut(&Value) -> bool) -> bool {
    match v {
        Value::Null => false,
        Value::List(items) => items.iter().any(|i| any_scalar(i, f)),
        scalar => f(scalar),
    }
}

/// Any scalar in `v`, as its original (not case-folded) text, satisfies `f`.
fn text_any(v: &Value, f: &mut dyn FnMut(&str) -> bool) -> bool {
    any_scalar(v, &mut |s| s.to_text().is_some_and(|t| f(&t)))
}

fn keyword_hit(cx: &mut EventContext<'_>, vp: &ValuePattern) -> bool {
    match vp {
        ValuePattern::Text { pattern, .. } => cx.keyword_matches(pattern),
        ValuePattern::AnyOf(list, _) => list.iter().any(|p| keyword_hit(cx, p)),
        ValuePattern::Cased { pattern, .. } => cx.keyword_text(&mut |s| pattern.matches(s)),
        ValuePattern::Regex { re, need, .. } => {
            need.as_ref().is_none_or(|p| cx.keyword_matches(p))
                && cx.keyword_text(&mut |s| re.is_match(s))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use crate::{Engine, RuleSource};
    use onewall_model::{Event, RegionCode, Source, Timestamp};

    fn engine(detection: &str) -> Engine {
        let rule = format!("title: t\nid: t\ndetection:\n{detection}");
        let (engine, report) = Engine::compile([RuleSource::new("t.yml", rule.as_str())]);
        assert!(report.is_clean(), "{:?}", report.errors);
        engine
    }

    fn hits(engine: &Engine, fields: &[(&str, onewall_model::Value)], raw: &str) -> bool {
        let src = Source::new("t", None);
        let mut e = Event::new(
            Timestamp::from_secs(0),
            RegionCode::HENAN,
            src,
            raw.as_bytes(),
        );
        for (k, v) in fields {
            e.fields.insert(k, v.clone());
        }
        !engine.matching_rules(&e).is_empty()
    }

    fn s(v: &str) -> onewall_model::Value {
        onewall_model::Value::from(v)
    }

    /// A regular expression is tried only on text holding its required literal: the literal
    /// is a filter, never a match by itself (case, anchors, flags stay the expression's).
    #[test]
    fn regex_literal_prefilter_keeps_the_expression_semantics() {
        let cased = engine("  s:\n    f|re: 'Invoke-Mimi[a-z]+'\n  condition: s\n");
        assert!(hits(&cased, &[("f", s("x Invoke-Mimikatz y"))], ""));
        // The lowercased literal is present, the expression (case-sensitive) does not match.
        assert!(!hits(&cased, &[("f", s("x invoke-mimikatz y"))], ""));
        assert!(!hits(&cased, &[("f", s("Invoke-Mimi"))], ""));
        let icase = engine("  s:\n    f|re|i: 'INVOKE-MIMI[a-z]+'\n  condition: s\n");
        assert!(hits(&icase, &[("f", s("invoke-mimiKATZ"))], ""));
        // Literal text with wildcard characters and backslashes in it.
        let special = engine("  s:\n    f|re: 'a\\*b\\?c\\\\d+'\n  condition: s\n");
        assert!(hits(&special, &[("f", s("xa*b?c\\ddd"))], ""));
        assert!(!hits(&special, &[("f", s("xaxbyc\\dd"))], ""));
        assert!(!hits(&special, &[("f", s("xa*b?c\\x"))], ""));
        // Unicode case folding: the literal is found in the lowercased text.
        let unicode = engine("  s:\n    f|re|i: 'ÄRGER.ü'\n  condition: s\n");
        assert!(hits(&unicode, &[("f", s("ärgerXÜ"))], ""));
        // Anchored expression: the literal is there, the anchor fails.
        let anchored = engine("  s:\n    f|re: '^cmd\\.exe$'\n  condition: s\n");
        assert!(hits(&anchored, &[("f", s("cmd.exe"))], ""));
        assert!(!hits(&anchored, &[("f", s("xcmd.exe"))], ""));
        // A list value: the element holding the literal must be the one matching.
        let list = onewall_model::Value::List(vec![s("Invoke-x"), s("Mimikatz")]);
        assert!(!hits(&cased, &[("f", list)], ""));
        let list = onewall_model::Value::List(vec![s("a"), s("Invoke-Mimikatz")]);
        assert!(hits(&cased, &[("f", list)], ""));
        // Numbers are matched as their text.
        let number = engine("  s:\n    f|re: '^46[0-9]{2}$'\n  condition: s\n");
        assert!(hits(&number, &[("f", onewall_model::Value::Int(4688))], ""));
        assert!(!hits(
            &number,
            &[("f", onewall_model::Value::Int(4788))],
            ""
        ));
    }

    /// Keyword (field-less) regular expressions: the message when there is one, else the raw
    /// text; the literal filter reads the same text.
    #[test]
    fn keyword_regex_with_a_literal() {
        let e = engine("  k:\n    '|re': 'Mimi[kK]atz'\n  condition: k\n");
        assert!(hits(&e, &[], "run Mimikatz now"));
        assert!(!hits(&e, &[], "run mimikatz now"));
        assert!(hits(&e, &[("message", s("MimiKatz"))], "nothing"));
        assert!(!hits(&e, &[("message", s("nothing"))], "Mimikatz"));
    }
}
