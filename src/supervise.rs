//! Supervision of the node's long-running tasks (listeners): a task that panics is counted
//! (`onewall_task_panics_total{task}`), logged with its panic message, reported by `/healthz`
//! ([`onewall_api::health`]) and started again after a backoff (100 ms, doubling up to 10 s;
//! back to 100 ms after a minute without a panic). A task that returns is not restarted.

use std::future::Future;
use std::time::Duration;

use onewall_api::health::TaskHealth;
use onewall_model::Timestamp;
use tokio::sync::watch;
use tokio::time::Instant;
use tracing::{error, info};

/// The wait before the first restart.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// The longest wait between restarts.
const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// A task that ran this long before it panicked restarts after [`FIRST_BACKOFF`] again.
const STEADY: Duration = Duration::from_secs(60);

/// Count a panic of `task` (one of a small fixed set of names).
pub fn count_panic(task: &'static str) {
    metrics::counter!("onewall_task_panics_total", "task" => task).increment(1);
}

/// The text of a panic's payload.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "(not text)"
    }
}

/// Run the task `start` makes until it returns or `shutdown` turns true; each time it panics,
/// count and report it, wait the backoff and call `start` again. `start` fails when the task
/// cannot be made (e.g. its socket cannot be cloned): that is retried the same way.
pub async fn supervise<F, Fut>(
    task: &'static str,
    health: TaskHealth,
    mut shutdown: watch::Receiver<bool>,
    mut start: F,
) where
    F: FnMut() -> std::io::Result<Fut>,
    Fut: Future<Output = ()> + Send + 'static,
{
    // The series exists (at 0) from the start, so a dashboard can watch it.
    metrics::counter!("onewall_task_panics_total", "task" => task).increment(0);
    let mut backoff = FIRST_BACKOFF;
    let mut restarting = false;
    loop {
        let started = Instant::now();
        let failed = match start() {
            Ok(run) => {
                if restarting {
                    health.restarted(task);
                    info!(task, "task restarted");
                }
                match tokio::spawn(run).await {
                    Ok(()) => return,
                    Err(e) if e.is_panic() => {
                        let payload = e.into_panic();
                        count_panic(task);
                        error!(
                            task,
                            panic = panic_message(&*payload),
                            "task panicked; restarting it"
                        );
                        true
                    }
                    // Cancelled: the runtime is shutting down.
                    Err(_) => return,
                }
            }
            Err(e) => {
                error!(task, error = %e, "task could not be started; retrying");
                false
            }
        };
        if failed || !restarting {
            health.panicked(task, Timestamp::now());
        }
        restarting = true;
        if started.elapsed() >= STEADY {
            backoff = FIRST_BACKOFF;
        }
        tokio::select! {
            () = tokio::time::sleep(backoff) => {}
            _ = shutdown.wait_for(|stop| *stop) => return,
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use axum::http::StatusCode;

    use super::*;

    /// A task that panics twice is restarted twice, reported as failed while it waits and as
    /// degraded once it runs again; the third run ends normally and is not restarted.
    #[tokio::test]
    async fn a_panicking_task_is_restarted_and_reported() {
        let health = TaskHealth::default();
        let (_stop_tx, stop) = watch::channel(false);
        let runs = Arc::new(AtomicUsize::new(0));
        let (seen_tx, mut seen) = tokio::sync::mpsc::unbounded_channel();
        let sup = {
            let runs = runs.clone();
            tokio::spawn(supervise("syslog_udp", health.clone(), stop, move || {
                let run = runs.fetch_add(1, Ordering::SeqCst);
                let seen = seen_tx.clone();
                Ok(async move {
                    if run < 2 {
                        panic!("run {run} panics");
                    }
                    let _ = seen.send(run);
                })
            }))
        };
        // Right after the first panic the task waits its backoff: 503.
        let mut saw_failed = false;
        for _ in 0..50 {
            if health.verdict().0 == StatusCode::SERVICE_UNAVAILABLE {
                saw_failed = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(saw_failed, "a task down is reported as failed");
        assert_eq!(seen.recv().await, Some(2));
        sup.await
            .expect("the supervisor ends when its task returns");
        assert_eq!(runs.load(Ordering::SeqCst), 3);
        let (code, status, tasks) = health.verdict();
        assert_eq!((code, status), (StatusCode::OK, "degraded"));
        assert_eq!(tasks["syslog_udp"].panics, 2);
    }

    /// Shutdown during the backoff ends the supervisor without another start.
    #[tokio::test]
    async fn shutdown_stops_the_restarts() {
        let health = TaskHealth::default();
        let (stop_tx, stop) = watch::channel(false);
        let runs = Arc::new(AtomicUsize::new(0));
        let counted = runs.clone();
        let sup = tokio::spawn(supervise("syslog_tcp", health.clone(), stop, move || {
            counted.fetch_add(1, Ordering::SeqCst);
            Ok(async { panic!("always") })
        }));
        while health.report().is_empty() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        stop_tx.send(true).expect("the supervisor listens");
        sup.await.expect("the supervisor ends at shutdown");
        let after = runs.load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(runs.load(Ordering::SeqCst), after);
    }
}
