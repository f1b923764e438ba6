//! The node's health conditions: named problems that components raise while they last and
//! clear when they are over (the spool's "disk full", for one). `/healthz` reports them.
//!
//! A node is one process, so its conditions are one process-wide set ([`Health::node`])
//! rather than a handle threaded through every component; a component only ever sets and
//! clears its own names.

use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock, PoisonError};

/// A set of named problems, each with a line saying what is wrong.
#[derive(Debug, Default)]
pub struct Health {
    problems: Mutex<BTreeMap<&'static str, String>>,
}

impl Health {
    /// This process's conditions.
    pub fn node() -> &'static Health {
        static NODE: OnceLock<Health> = OnceLock::new();
        NODE.get_or_init(Health::default)
    }

    /// Raise (or restate) the problem `name`.
    pub fn set(&self, name: &'static str, problem: String) {
        self.lock().insert(name, problem);
    }

    /// The problem `name` is over.
    pub fn clear(&self, name: &'static str) {
        self.lock().remove(name);
    }

    /// The problems now, ordered by name; empty when healthy.
    pub fn problems(&self) -> Vec<String> {
        self.lock().values().cloned().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<&'static str, String>> {
        // A map of strings cannot be left half-changed by a panic.
        self.problems.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::Health;

    #[test]
    fn problems_are_raised_restated_and_cleared_by_name() {
        let h = Health::default();
        assert!(h.problems().is_empty());
        h.set("disk_full", "disk full: 1 byte free".into());
        h.set("disk_full", "disk full: 2 bytes free".into());
        h.set("a_stage", "stage failed".into());
        assert_eq!(h.problems(), ["stage failed", "disk full: 2 bytes free"]);
        h.clear("disk_full");
        assert_eq!(h.problems(), ["stage failed"]);
    }
}
