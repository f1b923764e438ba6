//! The node's long-running tasks as `/healthz` reports them.
//!
//! The node supervises its listeners and pipeline stages: one that panics is counted
//! (`onewall_task_panics_total{task}`), restarted after a short backoff, and recorded here. The
//! binary installs a [`TaskHealth`] as a request extension; a router without one reports no
//! tasks. `/healthz` then answers:
//!
//! - `200` `{"status": "ok", ...}` while no task has panicked;
//! - `200` `{"status": "degraded", "tasks": {"syslog_udp": {"state": "running", "panics": 1,
//!   "last_panic": "..."}}}` once a task panicked and runs again (events it held were lost);
//! - `503` `{"status": "failed", "tasks": {...}}` while a task is down, waiting to restart, or
//!   for good (a pipeline stage that panicked: `"state": "stopped"`, the node needs a restart).
//!
//! The panic's message is logged, not shown here (it may quote the input that caused it).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use axum::http::StatusCode;
use onewall_model::Timestamp;
use serde::Serialize;

/// Whether a supervised task runs now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskState {
    /// Running (again, after a panic).
    Running,
    /// Panicked; restarts after its backoff.
    Restarting,
    /// Panicked and is not restarted (a pipeline stage: what it held stays in the spool and
    /// is stored again once the node is restarted).
    Stopped,
}

/// What `/healthz` says about a task that has panicked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskReport {
    /// Whether it runs now.
    pub state: TaskState,
    /// Panics since the node started.
    pub panics: u64,
    /// When it last panicked (RFC 3339).
    pub last_panic: String,
}

/// The supervised tasks that have panicked since the node started, by task name (a small fixed
/// set: `syslog_udp`, `syslog_tcp`, `syslog_tls`, `netflow`, `ipfix`, `sflow`, `detect`,
/// `store`, `alerts`).
#[derive(Debug, Clone, Default)]
pub struct TaskHealth {
    tasks: Arc<Mutex<BTreeMap<&'static str, TaskReport>>>,
}

impl TaskHealth {
    /// `task` panicked at `at` and waits to restart.
    pub fn panicked(&self, task: &'static str, at: Timestamp) {
        let mut tasks = self.tasks.lock().unwrap_or_else(PoisonError::into_inner);
        let report = tasks.entry(task).or_insert(TaskReport {
            state: TaskState::Restarting,
            panics: 0,
            last_panic: String::new(),
        });
        report.state = TaskState::Restarting;
        report.panics += 1;
        report.last_panic = at.to_string();
    }

    /// `task` panicked at `at` and is not restarted.
    pub fn stopped(&self, task: &'static str, at: Timestamp) {
        self.panicked(task, at);
        let mut tasks = self.tasks.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(report) = tasks.get_mut(task) {
            report.state = TaskState::Stopped;
        }
    }

    /// `task` runs again after a panic.
    pub fn restarted(&self, task: &'static str) {
        let mut tasks = self.tasks.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(report) = tasks.get_mut(task) {
            report.state = TaskState::Running;
        }
    }

    /// The tasks that have panicked, by name.
    pub fn report(&self) -> BTreeMap<&'static str, TaskReport> {
        self.tasks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The status code and `status` word of `/healthz`, and the tasks to list.
    pub fn verdict(&self) -> (StatusCode, &'static str, BTreeMap<&'static str, TaskReport>) {
        let tasks = self.report();
        if tasks.values().any(|t| t.state != TaskState::Running) {
            (StatusCode::SERVICE_UNAVAILABLE, "failed", tasks)
        } else if tasks.is_empty() {
            (StatusCode::OK, "ok", tasks)
        } else {
            (StatusCode::OK, "degraded", tasks)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stage_that_stopped_fails_until_the_node_restarts() {
        let h = TaskHealth::default();
        h.stopped("store", Timestamp::from_secs(1_773_547_200));
        let (code, status, tasks) = h.verdict();
        assert_eq!((code, status), (StatusCode::SERVICE_UNAVAILABLE, "failed"));
        assert_eq!(tasks["store"].state, TaskState::Stopped);
        assert_eq!(tasks["store"].panics, 1);
    }

    #[test]
    fn a_panic_fails_then_degrades() {
        let h = TaskHealth::default();
        assert_eq!(h.verdict().0, StatusCode::OK);
        assert_eq!(h.verdict().1, "ok");
        h.panicked("syslog_udp", Timestamp::from_secs(1_773_547_200));
        let (code, status, tasks) = h.verdict();
        assert_eq!((code, status), (StatusCode::SERVICE_UNAVAILABLE, "failed"));
        assert_eq!(tasks["syslog_udp"].state, TaskState::Restarting);
        h.restarted("syslog_udp");
        let (code, status, tasks) = h.verdict();
        assert_eq!((code, status), (StatusCode::OK, "degraded"));
        assert_eq!(tasks["syslog_udp"].panics, 1);
        assert_eq!(tasks["syslog_udp"].state, TaskState::Running);
    }
}
