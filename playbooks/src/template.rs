//! A very small template language: `{{name}}` is replaced by the variable `name`.
//!
//! No loops, no conditions, no escaping rules beyond those the caller applies: messages are
//! short, and a heavy engine would not earn its build time. Unknown names are caught when a
//! playbook is loaded ([`Template::names`]), so rendering never fails.

use std::collections::BTreeMap;

/// Variables a template is rendered with: dotted names (`incident.title`) to text.
pub type Vars = BTreeMap<String, String>;

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Var(String),
}

impl Template {
    /// Parse `text`; an unclosed `{{` or an empty or malformed name is an error naming it.
    pub fn parse(text: &str) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find("{{") {
            if start > 0 {
                parts.push(Part::Text(rest[..start].to_owned()));
            }
            let after = &rest[start + 2..];
            let Some(end) = after.find("}}") else {
                return Err(format!(
                    "unclosed {{{{ at byte {}",
                    text.len() - rest.len() + start
                ));
            };
            let name = after[..end].trim();
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
            {
                return Err(format!("{{{{{name}}}}} is not a variable name"));
            }
            parts.push(Part::Var(name.to_owned()));
            rest = &after[end + 2..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_owned()));
        }
        Ok(Template { parts })
    }

    /// The variable names used, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Var(n) => Some(n.as_str()),
            Part::Text(_) => None,
        })
    }

    /// Render with `vars`; a name not in `vars` renders as nothing.
    pub fn render(&self, vars: &Vars) -> String {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Text(t) => out.push_str(t),
                Part::Var(n) => {
                    if let Some(v) = vars.get(n) {
                        out.push_str(v);
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_chinese_text_and_variables() {
        let t = Template::parse("【{{incident.grade}}级】{{ incident.title }} — {{node.name}}")
            .unwrap();
        let mut v = Vars::new();
        v.insert("incident.grade".into(), "Ⅱ".into());
        v.insert("incident.title".into(), "暴力破解".into());
        assert_eq!(t.render(&v), "【Ⅱ级】暴力破解 — ");
        assert_eq!(
            t.names().collect::<Vec<_>>(),
            ["incident.grade", "incident.title", "node.name"]
        );
    }

    #[test]
    fn malformed_templates_are_errors() {
        assert!(Template::parse("a {{b").unwrap_err().contains("unclosed"));
        assert!(
            Template::parse("{{}}")
                .unwrap_err()
                .contains("not a variable")
        );
        assert!(
            Template::parse("{{a b}}")
                .unwrap_err()
                .contains("not a variable")
        );
        assert_eq!(
            Template::parse("plain").unwrap().render(&Vars::new()),
            "plain"
        );
    }
}
