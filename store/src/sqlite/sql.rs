//! Building `WHERE` clauses with numbered parameters.

use onewall_model::RegionCode;
use rusqlite::types::Value as SqlValue;

use crate::cursor::Cursor;

/// Conditions joined by `AND`, and the values their `?N` placeholders stand for.
#[derive(Debug, Default)]
pub(super) struct Conditions {
    clauses: Vec<String>,
    params: Vec<SqlValue>,
}

impl Conditions {
    /// Add a value and return its placeholder.
    pub fn bind(&mut self, v: impl Into<SqlValue>) -> String {
        self.params.push(v.into());
        format!("?{}", self.params.len())
    }

    pub fn push(&mut self, clause: String) {
        self.clauses.push(clause);
    }

    /// `column >= from` and `column < to`, for the bounds given.
    pub fn range(&mut self, column: &str, from: Option<i64>, to: Option<i64>) {
        if let Some(from) = from {
            let p = self.bind(from);
            self.push(format!("{column} >= {p}"));
        }
        if let Some(to) = to {
            let p = self.bind(to);
            self.push(format!("{column} < {p}"));
        }
    }

    /// Rows strictly after `cursor` in `(key DESC, id DESC)` order.
    pub fn after(&mut self, key_column: &str, cursor: Option<Cursor>) {
        if let Some(c) = cursor {
            // Spelled so that the `key <= ?` part alone can bound an index range.
            let k = self.bind(c.key);
            let id = self.bind(c.id.to_vec());
            self.push(format!(
                "{key_column} <= {k} AND ({key_column} < {k} OR id < {id})"
            ));
        }
    }

    /// `region` is one of `regions`; nothing when the list is empty. One parameter whatever
    /// the list's length, so the statement text (and its cached plan) stays the same.
    pub fn regions(&mut self, regions: &[RegionCode]) {
        if regions.is_empty() {
            return;
        }
        let list: Vec<String> = regions.iter().map(|r| r.get().to_string()).collect();
        let p = self.bind(format!("[{}]", list.join(",")));
        self.push(format!("region IN (SELECT value FROM json_each({p}))"));
    }

    /// The `WHERE ...` text (empty when there are no conditions).
    pub fn where_clause(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", self.clauses.join(" AND "))
        }
    }

    /// The next placeholder's number, for a value added after the conditions (the limit).
    pub fn next_placeholder(&self) -> String {
        format!("?{}", self.params.len() + 1)
    }

    /// The parameters.
    pub fn params(&self) -> &[SqlValue] {
        &self.params
    }

    /// The parameters, with `extra` appended.
    pub fn params_with(&self, extra: impl Into<SqlValue>) -> Vec<SqlValue> {
        let mut p = self.params.clone();
        p.push(extra.into());
        p
    }
}

/// An integer for SQLite from a count.
pub(super) fn int(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
